package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// The configured engine gets its own event store, on a migrated database,
// and what was appended is there after a reopen (a restart).
func TestOpen_picks_the_event_store_of_the_configured_engine(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		opts := storage.Options{Database: target, Clock: clock.Real{}}
		s, err := storage.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.DB.Engine != target.Engine {
			t.Fatalf("opened %s for a %s target", s.DB.Engine, target.Engine)
		}
		res, err := s.Store.Append(ctx, "storage-1", event.NoStream(), eventstoretest.NewEvent("test.stored", 1))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := storage.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if head, err := again.Store.Head(ctx); err != nil || head != res.Position {
			t.Fatalf("after reopening, head = %d, %v; want %d", head, err, res.Position)
		}
	})
}

func TestOpen_refuses_KurrentDB_with_SQLite_read_models(t *testing.T) {
	t.Parallel()
	_, err := storage.Open(context.Background(), storage.Options{
		Database: sqldbtest.SQLite(t), EventStoreURL: "esdb://localhost:2113?tls=false", Clock: clock.Real{},
	})
	if err == nil || !strings.Contains(err.Error(), "need a PostgreSQL database") {
		t.Fatalf("err = %v", err)
	}
}

// Issue 20: a reader of a ledger opens it with Existing: a database that
// holds no ledger (no SQLite file, or no tables) is refused and nothing is
// created or migrated; once ledgerd (Open) migrated it, it opens.
func TestOpen_Existing_refuses_what_holds_no_ledger_and_changes_nothing(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		existing := storage.Options{Database: target, Clock: clock.Real{}, Existing: true}
		for range 2 { // the first refusal created and migrated nothing
			_, err := storage.Open(ctx, existing)
			if !errors.Is(err, sqldb.ErrNoLedger) || !strings.Contains(err.Error(), "no ledger database at "+target.Redacted()) {
				t.Fatalf("an empty %s database: %v", target.Engine, err)
			}
		}
		s, err := storage.Open(ctx, storage.Options{Database: target, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = storage.Open(ctx, existing)
		if err != nil {
			t.Fatalf("a migrated database: %v", err)
		}
		s.Close()
	})
}
