package storage_test

import (
	"context"
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
