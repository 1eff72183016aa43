package subscription_test

import (
	"errors"
	"strings"
	"testing"

	"seatledger/domain/subscription"
)

// FuzzParseKey feeds license keys as people type them (KEY-9, issue 16):
// ParseKey never panics, refuses with ErrKeyFormat, and what it accepts
// is canonical (five groups of five) and parses to itself.
func FuzzParseKey(f *testing.F) {
	key, err := subscription.NewKey(make([]byte, 15))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{key, strings.ToLower(key), strings.ReplaceAll(key, "-", " "), "7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5",
		"", "\xff", "OOOOO-IIIII-LLLLL-00000-1111Z", strings.Repeat("0", 100)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		canonical, err := subscription.ParseKey(raw)
		if err != nil {
			if !errors.Is(err, subscription.ErrKeyFormat) {
				t.Fatalf("ParseKey(%q): unexpected error %v", raw, err)
			}
			return
		}
		if len(canonical) != 29 || strings.Count(canonical, "-") != 4 {
			t.Fatalf("ParseKey(%q) = %q, not canonical", raw, canonical)
		}
		if again, err := subscription.ParseKey(canonical); err != nil || again != canonical {
			t.Fatalf("ParseKey(%q) = %q, %v", canonical, again, err)
		}
	})
}
