package argon2id_test

import (
	"errors"
	"strings"
	"testing"

	"seatledger/infra/argon2id"
)

// fast keeps the tests quick; production uses argon2id.Default.
var fast = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1}}

// Rule MEM-1: passwords are stored only as slow salted hashes.
func TestHash_is_salted_and_verifies_MEM1(t *testing.T) {
	t.Parallel()
	a, err := fast.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fast.Hash("correct horse battery")
	if a == b || !strings.HasPrefix(a, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(a, "horse") {
		t.Fatalf("hashes %q and %q", a, b)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := fast.Verify(pw, a); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// A hash made with other parameters still verifies: they travel in the string.
	slow := argon2id.Hasher{Params: argon2id.Default}
	if ok, err := slow.Verify("correct horse battery", a); err != nil || !ok {
		t.Errorf("verifying with other defaults: %v, %v", ok, err)
	}
}

func TestVerify_refuses_malformed_hashes(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := fast.Verify("pw", bad); !errors.Is(err, argon2id.ErrMalformed) {
			t.Errorf("Verify(%q) err = %v", bad, err)
		}
	}
}
