package subscription_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"seatledger/domain/subscription"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, subscription.KeyRandomBytes)
	_, _ = rand.Read(b)
	k, err := subscription.NewKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Rule KEY-9: keys are unguessable and carry a check symbol that catches
// every single mistyped symbol before any lookup.
func TestKey_checksum_catches_typos_KEY9(t *testing.T) {
	t.Parallel()
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	for range 50 {
		key := newKey(t)
		if len(key) != 29 || strings.Count(key, "-") != 4 {
			t.Fatalf("key %q is not five groups of five", key)
		}
		if got, err := subscription.ParseKey(" " + strings.ToLower(strings.ReplaceAll(key, "-", "")) + " "); err != nil || got != key {
			t.Fatalf("ParseKey(lower, no dashes) = %q, %v; want %q", got, err, key)
		}
		// Every substitution of one symbol is caught.
		for i := range key {
			if key[i] == '-' {
				continue
			}
			for _, r := range alphabet {
				if byte(r) == key[i] {
					continue
				}
				typo := key[:i] + string(r) + key[i+1:]
				if _, err := subscription.ParseKey(typo); !errors.Is(err, subscription.ErrKeyFormat) {
					t.Fatalf("typo %q of %q parsed", typo, key)
				}
			}
		}
	}
	for _, bad := range []string{"", "ABC", "U" + newKey(t)[1:], newKey(t) + "X"} {
		if _, err := subscription.ParseKey(bad); !errors.Is(err, subscription.ErrKeyFormat) {
			t.Errorf("ParseKey(%q) = %v", bad, err)
		}
	}
}

// Rule KEY-9: what people read out loud still parses (O for 0, I or L for 1).
func TestKey_reads_lookalikes_KEY9(t *testing.T) {
	t.Parallel()
	for range 20 {
		key := newKey(t)
		spoken := strings.NewReplacer("0", "O", "1", "l").Replace(key)
		if got, err := subscription.ParseKey(spoken); err != nil || got != key {
			t.Fatalf("ParseKey(%q) = %q, %v; want %q", spoken, got, err, key)
		}
	}
}
