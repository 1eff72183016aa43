package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqlite"
)

// OpenTestDB opens a migrated SQLite database in a temporary folder.
func openTestDB(t testing.TB) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := sqldb.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db
}

func openTestStore(t testing.TB, clk clock.Clock) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), openTestDB(t), sqlite.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T, clk clock.Clock) eventstore.Store {
		return openTestStore(t, clk)
	}, eventstoretest.Options{ContiguousPositions: true})
}
