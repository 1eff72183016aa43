package licensekey_test

import (
	"errors"
	"testing"

	"seatledger/domain/licensekey"
)

// Rule KEY-9: a key's stream names the one subscription that issued it.
func TestIssue_KEY9(t *testing.T) {
	t.Parallel()
	evs, err := licensekey.Key{}.Issue("k1", "sub-1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	k := licensekey.Key{}.Evolve(evs[0])
	if k.SubscriptionID() != "sub-1" {
		t.Fatalf("key %+v", k)
	}
	if evs, err := k.Issue("k1", "sub-1"); err != nil || len(evs) != 0 {
		t.Errorf("issuing again to the same subscription: %v %v", evs, err)
	}
	if _, err := k.Issue("k1", "sub-2"); !errors.Is(err, licensekey.ErrTaken) {
		t.Errorf("issuing to another subscription: %v", err)
	}
}
