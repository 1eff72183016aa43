package secret_test

import (
	"context"
	"testing"

	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// The key is generated once and shared by every process on the database;
// tokens differ by purpose and subject.
func TestLoad_shares_one_key_per_database(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		a, err := secret.Load(ctx, sqldbtest.Open(t, target))
		if err != nil {
			t.Fatal(err)
		}
		b, err := secret.Load(ctx, sqldbtest.Open(t, target)) // another process
		if err != nil {
			t.Fatal(err)
		}
		if a.Token("invitation", "i-1") != b.Token("invitation", "i-1") {
			t.Fatal("two processes derive different tokens")
		}
		other, _ := secret.Load(ctx, sqldbtest.Open(t, sqldbtest.SQLite(t)))
		for name, tok := range map[string]string{
			"another purpose":  a.Token("password-reset", "i-1"),
			"another subject":  a.Token("invitation", "i-2"),
			"another database": other.Token("invitation", "i-1"),
			"a shifted split":  a.Token("invitatio", "ni-1"),
		} {
			if tok == a.Token("invitation", "i-1") {
				t.Errorf("%s derives the same token", name)
			}
		}
		if len(a.Token("x", "y")) != 43 {
			t.Errorf("token %q is not 256 bits in base64url", a.Token("x", "y"))
		}
	})
}

func TestNew_refuses_short_keys(t *testing.T) {
	t.Parallel()
	if _, err := secret.New(make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}
