package passwords_test

import (
	"testing"

	"seatledger/infra/argon2id"
	"seatledger/infra/passwords"
)

// Rule MEM-1: common and easily guessed passwords are refused.
func TestGuessable_MEM1(t *testing.T) {
	t.Parallel()
	p := passwords.New(argon2id.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1})
	hints := []string{"ada", "lovelace", "ada@example.com"}
	for pw, want := range map[string]bool{
		"password":               true, // on the list
		"PassWord":               true, // on the list, whatever the case
		"123456789012":           true, // a sequence
		"qwertyuiopasdf":         true, // a keyboard row
		"adalovelace1815":        true, // the person's name and a year
		"aaaaaaaaaaaaaaaa":       true, // a repeat
		"correct horse battery":  false,
		"Zq8!mW2#rT5^vB":         false,
		"tangerine-vault-orbit7": false,
	} {
		if got := p.Guessable(pw, hints); got != want {
			t.Errorf("Guessable(%q) = %v, want %v", pw, got, want)
		}
	}
	h, err := p.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Verify("correct horse battery", h); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}
