package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/sqlite"
)

// openTestDB opens a migrated SQLite database in a temporary folder.
func openTestDB(t testing.TB) *sqldb.DB { return sqldbtest.Open(t, sqldbtest.SQLite(t)) }

func openTestStore(t testing.TB, clk clock.Clock) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), openTestDB(t), sqlite.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the shared contract suite, which checks rule X-1 (who,
// why and when travel with every event) and rule X-2 (hash chains, and
// reading a stream as of a past position or time).
func TestContract(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T, clk clock.Clock) eventstore.Store {
		return openTestStore(t, clk)
	}, eventstoretest.Options{ContiguousPositions: true})
}

// Two processes on one file: each store's cached stream heads must never
// let it accept a stale expected version or chain onto a stale hash.
func TestTwoStores_on_one_file_never_trust_stale_heads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	open := func() *sqlite.Store {
		db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := sqldb.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, db, sqlite.Config{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	ev := func() event.Proposed { return eventstoretest.NewEvent("test.shared", 1) }
	if _, err := a.Append(ctx, "shared", event.NoStream(), ev()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "shared", event.Exact(1), ev()); err != nil { // b moves the stream behind a's back
		t.Fatal(err)
	}
	_, err := a.Append(ctx, "shared", event.Exact(1), ev())
	var ce *event.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("a appended on a stale version: err = %v", err)
	}
	if _, err := a.Append(ctx, "shared", event.Exact(2), ev()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "other", event.Any(), ev()); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Append(ctx, "shared", event.Any(), ev()); err != nil || res.LastVersion != 4 {
		t.Fatalf("append after the other store moved the log: %+v, %v", res, err)
	}
	if n, err := eventstore.VerifyStream(ctx, a, "shared"); err != nil || n != 4 {
		t.Fatalf("chain across two writers: %d events, %v", n, err)
	}
}

// Rule X-8: two stores on one file, as two processes would open it.
func TestShared(t *testing.T) {
	eventstoretest.RunShared(t, func(t *testing.T, clk clock.Clock) (eventstore.Store, eventstore.Store) {
		target := sqldbtest.SQLite(t)
		open := func() eventstore.Store {
			s, err := sqlite.Open(context.Background(), sqldbtest.Open(t, target), sqlite.Config{Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open()
	})
}
