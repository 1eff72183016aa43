package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
)

// Issue 21, rules: a batch committed without a read first
// while the store is the file's only writer (eventstoretest's scenario),
// with stores on one file as processes would open it.
func TestAppend_without_a_read_first_while_the_only_writer_X4_X8(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	eventstoretest.RunWithoutReadFirst(t, func() eventstoretest.ExpectingStore {
		db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := sqldb.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, db, Config{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return eventstoretest.ExpectingStore{Store: s, Expected: s.batches.expected.Load}
	})
}
