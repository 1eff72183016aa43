package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"seatledger/commands"
)

// credentialVectors is testdata/vectors/credentials.json: the shape of an
// installation credential as docs/formats.md states it to clients.
type credentialVectors struct {
	Pattern   string `json:"pattern"`
	MaxLength int    `json:"max_length"`
	Refused   []struct {
		Name       string `json:"name"`
		Credential string `json:"credential"`
		// RefusedBy is "pattern" when the shape alone refuses it (a
		// client can tell), "ledger" when only the ledger can.
		RefusedBy string `json:"refused_by"`
	} `json:"refused"`
}

// Rule ACT-1: the credentials real activations answer have the documented
// shape — the installation's ID, the activation's generation and a token —
// and a new activation answers a new one of the same shape; the refused
// examples are refused.
func TestVectors_installation_credential_shape_ACT1(t *testing.T) {
	raw, err := os.ReadFile("../testdata/vectors/credentials.json")
	if err != nil {
		t.Fatal(err)
	}
	var v credentialVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(v.Pattern)
	for _, r := range v.Refused {
		byShape := !pattern.MatchString(r.Credential) || len(r.Credential) > v.MaxLength
		if want := map[string]bool{"pattern": true, "ledger": false}; want[r.RefusedBy] != byShape || (r.RefusedBy != "pattern" && r.RefusedBy != "ledger") {
			t.Errorf("refused credential %q: refused_by %q, but the pattern alone refuses it: %v", r.Name, r.RefusedBy, byShape)
		}
	}
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		check := func(a commands.Activation, generation int) {
			t.Helper()
			m := pattern.FindStringSubmatch(a.Credential)
			if m == nil || len(a.Credential) > v.MaxLength {
				t.Fatalf("credential %q does not have the documented shape %s (≤ %d characters)", a.Credential, v.Pattern, v.MaxLength)
			}
			if m[1] != a.Installation.ID() || m[2] != strconv.Itoa(generation) {
				t.Errorf("credential %q names installation %s generation %s, want %s generation %d", a.Credential, m[1], m[2], a.Installation.ID(), generation)
			}
		}
		first := e.activate(t, key, farm("srv-1"))
		check(first, 1)
		i, err := e.h.Installations.Authenticate(ctx, first.Credential)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.h.Installations.DeactivateSelf(ctx, installer, i); err != nil {
			t.Fatal(err)
		}
		second := e.activate(t, key, farm("srv-1"))
		check(second, 2)
		if second.Credential == first.Credential {
			t.Error("a new activation answered the old credential")
		}
		refused := []string{first.Credential} // retired by the second activation
		for _, r := range v.Refused {
			refused = append(refused, r.Credential)
		}
		// The real credential with its token's last symbol changed.
		c := second.Credential
		refused = append(refused, c[:len(c)-1]+strings.Map(func(r rune) rune {
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, c[len(c)-1:]))
		for _, bad := range refused {
			if _, err := e.h.Installations.Authenticate(ctx, bad); !errors.Is(err, commands.ErrCredential) {
				t.Errorf("credential %q: %v, want refused", bad, err)
			}
		}
	})
}
