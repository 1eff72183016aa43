// Package storage opens the ledger's database and event store as the
// configuration names them: the one switch over the three backends, shared
// by ledgerd and the ledger CLI.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/kurrent"
	"seatledger/infra/postgres"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqlite"
)

// Options says what to open.
type Options struct {
	// Database holds the read models, and the events unless EventStoreURL is set.
	Database sqldb.Target
	// EventStoreURL, if set, keeps the events in KurrentDB.
	EventStoreURL string
	// Clock stamps recorded times. Required.
	Clock clock.Clock
	// Observer, if set, is told about committed batches (SQL backends).
	Observer eventstore.CommitObserver
	// Logger receives backend log lines. Default slog.Default().
	Logger *slog.Logger
	// Existing opens only a ledger that is there: a SQLite file that does
	// not exist, or a database without the ledger's tables or with
	// migrations missing, is refused (sqldb.ErrNoLedger) and nothing is
	// created or migrated. For the readers of a ledger: the CLI's audit,
	// export, reconciliation and projection commands.
	Existing bool
	// FailoverTimeout is how long PostgreSQL appends, reads and new
	// connections wait for the database when it is away (a restart, a
	// failover to the standby). Default 30s; negative: fail at once.
	FailoverTimeout time.Duration
}

// Storage is an open database with its event store.
type Storage struct {
	DB    *sqldb.DB
	Store eventstore.Store
}

// Open opens and migrates the database (or, with Existing, checks that it
// is migrated), then opens the event store. On error everything opened is
// closed again.
func Open(ctx context.Context, o Options) (*Storage, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.EventStoreURL != "" && o.Database.Engine != sqldb.Postgres {
		return nil, errors.New("storage: with a KurrentDB event store the read models need a PostgreSQL database")
	}
	open := sqldb.Open
	if o.Existing {
		open = sqldb.OpenExisting
	}
	db, err := open(ctx, o.Database)
	if err != nil {
		return nil, err
	}
	if o.FailoverTimeout != 0 {
		db.SetFailoverTimeout(o.FailoverTimeout)
	}
	if o.Existing {
		err = sqldb.CheckMigrated(ctx, db, o.Database)
	} else {
		_, err = sqldb.Migrate(ctx, db)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	store, err := OpenStore(ctx, db, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Storage{DB: db, Store: store}, nil
}

// OpenStore opens the event store o names on the already open and
// migrated db. It returns a nil interface (not a typed nil) on error.
func OpenStore(ctx context.Context, db *sqldb.DB, o Options) (eventstore.Store, error) {
	switch {
	case o.EventStoreURL != "":
		s, err := kurrent.Open(ctx, o.EventStoreURL, kurrent.Config{Clock: o.Clock, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		return s, nil
	case db.Engine == sqldb.Postgres:
		s, err := postgres.Open(ctx, o.Database.DSN, postgres.Config{Clock: o.Clock, Observer: o.Observer, FailoverTimeout: o.FailoverTimeout})
		if err != nil {
			return nil, err
		}
		return s, nil
	case db.Engine == sqldb.SQLite:
		s, err := sqlite.Open(ctx, db, sqlite.Config{Clock: o.Clock, Observer: o.Observer})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("storage: no event store for engine %s", db.Engine)
}

// Close closes the event store (finishing appends in flight), then the database.
func (s *Storage) Close() error {
	return errors.Join(s.Store.Close(), s.DB.Close())
}
