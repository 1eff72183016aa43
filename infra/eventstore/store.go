// Package eventstore defines the contract every event-store backend of the
// ledger fulfils (SQLite, PostgreSQL, KurrentDB), and the machinery the SQL
// backends share: input validation, the group committer that coalesces
// concurrent appends into one transaction, and the catch-up-then-live
// subscription loop. The contract suite lives in eventstoretest.
package eventstore

import (
	"context"
	"errors"
	"time"

	"seatledger/domain/event"
)

// Store is an append-only log of streams of events.
//
// Every method is safe for concurrent use.
type Store interface {
	// Append writes events at the end of stream if its version satisfies
	// expected. It returns a *event.ConflictError (matching
	// event.ErrConflict) when it does not, and writes nothing. Appending
	// events whose IDs are all already stored, as the same run of one
	// stream, returns that first append's result and writes nothing; any
	// other reuse of IDs matches event.ErrDuplicateID. Bad input matches
	// ErrInvalid.
	Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error)
	// ReadStream returns up to limit events of stream with version >=
	// from, in version order. An unknown stream has no events.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error)
	// ReadAll returns up to limit events with global position > after, in
	// position order; fewer is not the log's end (only none is). The
	// records may be shared with other readers (see Tail): treat them as
	// read-only.
	ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error)
	// Subscribe calls handle for every event with position > after, in
	// order: first those already stored, then new ones as they are
	// appended, until ctx ends (it then returns ctx's error) or handle
	// fails (it returns that error). It never skips an event.
	Subscribe(ctx context.Context, after uint64, handle func(event.Record) error) error
	// Head returns the global position of the last stored event (0: none).
	Head(ctx context.Context) (uint64, error)
	// Close finishes appends in flight and releases the store.
	Close() error
}

// ErrInvalid is matched by an append refused for bad input (no stream, no
// events, a malformed ID, type, payload or actor). Nothing was written.
var ErrInvalid = errors.New("eventstore: invalid append")

// ErrUnavailable is matched by an append or read that failed because the
// database could not be reached (restarting, failing over to a standby)
// for longer than the store waits for it. An append that fails with it
// may or may not have been stored: retrying it with the same event IDs
// settles which (rule X-4).
var ErrUnavailable = errors.New("eventstore: the database is unavailable")

// ErrClosed is returned by an append to a closed store.
var ErrClosed = errors.New("eventstore: store is closed")

// AsOf bounds a read to what was true at a point of the log's history: at
// or before a global position, or recorded at or before a time. The zero
// value is unbounded.
type AsOf struct {
	Position   uint64
	RecordedAt time.Time
}

// Includes reports whether r lies within the bound.
func (a AsOf) Includes(r event.Record) bool {
	if a.Position > 0 && r.Position > a.Position {
		return false
	}
	if !a.RecordedAt.IsZero() && r.RecordedAt.After(a.RecordedAt) {
		return false
	}
	return true
}

// StreamReader is the part of Store that reads one stream.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error)
}

// pageSize is how many events the helpers read at a time.
const pageSize = 512

// ForEachInStream calls fn for each event of stream, in version order, that
// lies within asOf, reading page by page so memory stays flat. It stops at
// the first event beyond the bound: positions and recorded times never
// decrease along a stream.
func ForEachInStream(ctx context.Context, r StreamReader, stream string, asOf AsOf, fn func(event.Record) error) error {
	from := uint64(1)
	for {
		page, err := r.ReadStream(ctx, stream, from, pageSize)
		if err != nil {
			return err
		}
		for _, rec := range page {
			if !asOf.Includes(rec) {
				return nil
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		from = page[len(page)-1].Version + 1
	}
}

// ReadStreamAsOf returns the events of stream that lie within asOf: the
// history an auditor folds to see the stream's state at that point.
func ReadStreamAsOf(ctx context.Context, r StreamReader, stream string, asOf AsOf) ([]event.Record, error) {
	var out []event.Record
	err := ForEachInStream(ctx, r, stream, asOf, func(rec event.Record) error {
		out = append(out, rec)
		return nil
	})
	return out, err
}

// VerifyStream re-computes stream's hash chain from its first event and
// returns the number of events verified, or a *event.ChainError naming the
// first event that does not follow.
func VerifyStream(ctx context.Context, r StreamReader, stream string) (uint64, error) {
	v := event.NewChainVerifier(stream)
	err := ForEachInStream(ctx, r, stream, AsOf{}, v.Next)
	return v.Version(), err
}
