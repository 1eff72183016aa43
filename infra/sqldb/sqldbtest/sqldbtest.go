// Package sqldbtest gives tests throwaway, migrated databases of every SQL
// engine the ledger runs on, so that each read-side and store test runs on
// SQLite and PostgreSQL alike.
package sqldbtest

import (
	"context"
	"path/filepath"
	"testing"

	"seatledger/infra/postgres/pgtest"
	"seatledger/infra/sqldb"
)

// SQLite returns the target of a new SQLite file in a temporary folder.
func SQLite(tb testing.TB) sqldb.Target {
	return sqldb.Target{Engine: sqldb.SQLite, DSN: filepath.Join(tb.TempDir(), "ledger.db")}
}

// Postgres returns the target of a new PostgreSQL database, dropped when
// tb ends (see pgtest.NewDatabase for when it skips).
func Postgres(tb testing.TB) sqldb.Target {
	return sqldb.Target{Engine: sqldb.Postgres, DSN: pgtest.NewDatabase(tb)}
}

// Open opens target, applies the migrations, and closes it when tb ends.
// Each call is a new connection pool, as another process would open.
func Open(tb testing.TB, target sqldb.Target) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := sqldb.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	return db
}

// ForEachEngine runs fn as parallel subtests "sqlite" and "postgres", each
// with the target of a new, empty database of that engine.
func ForEachEngine(t *testing.T, fn func(t *testing.T, target sqldb.Target)) {
	t.Helper()
	for name, newTarget := range map[string]func(testing.TB) sqldb.Target{"sqlite": SQLite, "postgres": Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newTarget(t))
		})
	}
}
