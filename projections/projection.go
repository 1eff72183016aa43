// Package projections turns the event log into read models and holds the
// process managers' reactions to events and to time. A projection is plain
// Go: a name, the tables it owns, and an Apply that updates them for one
// event through the small Tx interface below, handing the event to the
// projection's typed handler for its type (see on). The runtime in infra
// opens the transaction, calls Apply, and stores the projection's
// checkpoint in the same transaction, so Apply never thinks about
// delivery, retries or crashes.
package projections

import (
	"context"

	"seatledger/domain/event"
)

// Projection is a read model (or a process manager) fed by the global log
// in position order, one event at a time.
//
// Apply must be deterministic given the read model's current rows and the
// event: a rebuild replays the whole log through it from position zero and
// must reproduce what live processing built. It must not read the wall
// clock (use the event's RecordedAt or Effective time) and must not cause
// effects outside tx (schedule a timer instead, see Scheduler).
type Projection interface {
	// Name identifies the projection: its checkpoint row, its watermill
	// topic and the name operators type (ledger projections rebuild NAME).
	// It is stable across releases.
	Name() string
	// Tables lists the tables the projection owns. A rebuild empties them
	// before replaying the log.
	Tables() []string
	// Apply updates the read model for rec inside tx. An error rolls the
	// whole transaction back (rows and checkpoint); the runtime retries and
	// then stops the projection at rec rather than skip it.
	Apply(ctx context.Context, tx Tx, rec event.Record) error
}

// Tx is the read store a projection writes in: one SQL transaction. Queries
// use ? placeholders (the runtime adapts them to the engine) and the SQL
// that SQLite and PostgreSQL share (INSERT … ON CONFLICT … DO UPDATE works
// on both). Pass times as Unix microseconds (int64): the one encoding both
// engines store and compare alike.
type Tx interface {
	// Exec runs a statement that returns no rows.
	Exec(ctx context.Context, query string, args ...any) error
	// QueryRow runs a query expected to return at most one row. Its Scan
	// returns sql.ErrNoRows when there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a query that returns any number of rows. The caller
	// closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Row is one result row of Tx.QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the result rows of Tx.Query, read as database/sql's: Next,
// Scan each row, then Err and Close.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Selective is implemented by a projection that applies only the events
// of some types and ignores the rest. The runtime then passes over a run
// of other events without a transaction of its own: under a flood of
// events for one projection (usage reports) the others would otherwise
// each commit, and wait for the disk, for every batch.
type Selective interface {
	// EventTypes returns the types of the events the projection applies,
	// sorted. Each projection here derives them from its table of typed
	// handlers, so they are exactly the events it handles.
	EventTypes() []string
}
