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

// Rule MEM-2: the account a person last used is remembered per person,
// not per session: a session signed in later, on any browser, and one
// already open both see the latest; another person's is their own.
func TestSessions_remember_the_last_account_per_person_MEM2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		s := session.New(sqldbtest.Open(t, target), clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)))
		open, _, err := s.Create(ctx, "ada", false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.LastAccount(ctx, "ada"); err != nil || got != "" {
			t.Fatalf("a person who used no account yet: %q, %v", got, err)
		}
		if got, err := s.Lookup(ctx, open); err != nil || got.LastAccount != "" {
			t.Fatalf("lookup before any account was used: %+v, %v", got, err)
		}
		for _, acc := range []string{"acme", "beta"} {
			if err := s.RememberAccount(ctx, "ada", acc); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RememberAccount(ctx, "bob", "acme"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LastAccount(ctx, "ada"); err != nil || got != "beta" {
			t.Fatalf("LastAccount = %q, %v; want the latest, beta", got, err)
		}
		later, _, _ := s.Create(ctx, "ada", true)
		for _, c := range []string{open, later} {
			if got, err := s.Lookup(ctx, c); err != nil || got.LastAccount != "beta" || got.PersonID != "ada" {
				t.Errorf("lookup = %+v, %v; want ada's last account, beta", got, err)
			}
		}
		if err := s.Delete(ctx, open); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LastAccount(ctx, "ada"); err != nil || got != "beta" {
			t.Errorf("signing out forgot the account: %q, %v", got, err)
		}
	})
}
