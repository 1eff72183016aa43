package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// Rule MEM-1: sessions end by sign-out, by idle time, or after the "keep
// me signed in" lifetime; the table holds only hashes of the cookie.
func TestSessions_MEM1(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		db := sqldbtest.Open(t, target)
		clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		s := session.New(db, clk)
		short, _, err := s.Create(ctx, "ada", false)
		if err != nil {
			t.Fatal(err)
		}
		long, _, _ := s.Create(ctx, "ada", true)
		other, _, _ := s.Create(ctx, "bob", false)
		if got, err := s.Lookup(ctx, short); err != nil || got.PersonID != "ada" {
			t.Fatalf("lookup = %+v, %v", got, err)
		}
		var n int
		if err := db.SelectRow(ctx, `SELECT count(*) FROM sessions WHERE id_hash = ?`, short).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the cookie's value is stored as is (%d rows, %v)", n, err)
		}
		for _, c := range []string{"", "guess", short + "x"} {
			if _, err := s.Lookup(ctx, c); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("lookup %q: %v", c, err)
			}
		}
		// Activity keeps a short session alive; idleness ends it.
		clk.Advance(session.IdleTimeout - time.Hour)
		if _, err := s.Lookup(ctx, short); err != nil {
			t.Fatalf("active session ended: %v", err)
		}
		clk.Advance(session.IdleTimeout - time.Minute)
		if _, err := s.Lookup(ctx, short); err != nil {
			t.Fatalf("touched session ended early: %v", err)
		}
		clk.Advance(session.IdleTimeout)
		if _, err := s.Lookup(ctx, short); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("idle session lives on: %v", err)
		}
		if _, err := s.Lookup(ctx, long); err != nil {
			t.Fatalf("kept-signed-in session ended: %v", err)
		}
		if err := s.DeleteAllOf(ctx, "ada", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, long); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("DeleteAllOf left a session")
		}
		if err := s.Delete(ctx, other); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, other); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("a signed-out session lives on")
		}
		if _, err := s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
