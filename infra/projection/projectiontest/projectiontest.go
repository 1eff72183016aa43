// Package projectiontest gives the tests of projections and queries a
// real event store and read store with some projections, on the
// simulated clock: they append events and rebuild the read models from
// the log.
package projectiontest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/projections"
)

// Start is when the simulated clock of a Log starts.
var Start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Log is an event store and a read store running some projections.
type Log struct {
	TB       testing.TB
	DB       *sqldb.DB
	Store    eventstore.Store
	Clock    *clock.Simulated
	Runtime  *projection.Runtime
	Registry *event.Registry // every event of the ledger
	names    []string
	appended int
}

// New opens a Log on a new, migrated database of target running ps.
func New(tb testing.TB, target sqldb.Target, ps ...projections.Projection) *Log {
	tb.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(tb, target)
	clk := clock.NewSimulated(Start)
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: ps})
	if err != nil {
		tb.Fatal(err)
	}
	l := &Log{TB: tb, DB: db, Store: store, Clock: clk, Runtime: rt, Registry: events.Registry()}
	for _, p := range ps {
		l.names = append(l.names, p.Name())
	}
	return l
}

// Appended is an appended event: its ID and when it was recorded.
type Appended struct {
	ID string
	At time.Time
}

// Append appends payloads to stream one minute after the previous append.
func (l *Log) Append(stream string, payloads ...any) []Appended {
	l.TB.Helper()
	return l.AppendAt(stream, time.Time{}, payloads...)
}

// One appends a single payload to stream.
func (l *Log) One(stream string, payload any) Appended {
	l.TB.Helper()
	return l.Append(stream, payload)[0]
}

// AppendAt appends payloads to stream one minute after the previous
// append, effective at effective (zero: when recorded). Each event's ID
// is a name-based UUID of its place in the test, the same on every run.
func (l *Log) AppendAt(stream string, effective time.Time, payloads ...any) []Appended {
	l.TB.Helper()
	return l.append(stream, event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}, EffectiveAt: effective}, payloads...)
}

// AppendBy appends payloads to stream one minute after the previous
// append, caused by actor through command.
func (l *Log) AppendBy(stream string, actor event.Actor, command string, payloads ...any) []Appended {
	l.TB.Helper()
	return l.append(stream, event.Metadata{Actor: actor, Command: command, CorrelationID: "corr-" + command}, payloads...)
}

func (l *Log) append(stream string, meta event.Metadata, payloads ...any) []Appended {
	l.TB.Helper()
	if _, err := l.Clock.Advance(time.Minute); err != nil {
		l.TB.Fatal(err)
	}
	evs := make([]event.Proposed, len(payloads))
	out := make([]Appended, len(payloads))
	for i, p := range payloads {
		name, ok := l.Registry.NameOf(p)
		if !ok {
			l.TB.Fatalf("%T is not a registered event", p)
		}
		data, v, err := l.Registry.Encode(name, p)
		if err != nil {
			l.TB.Fatal(err)
		}
		l.appended++
		out[i] = Appended{ID: event.NameUUID(nil, "projectiontest/"+strconv.Itoa(l.appended)), At: l.Clock.Now()}
		evs[i] = event.Proposed{ID: out[i].ID, Type: name, SchemaVersion: v, Data: data, Metadata: meta}
	}
	if _, err := l.Store.Append(context.Background(), stream, event.Any(), evs...); err != nil {
		l.TB.Fatal(err)
	}
	return out
}

// Rebuild replays the whole log into the projections names, or into
// every projection of l when none is named.
func (l *Log) Rebuild(names ...string) {
	l.TB.Helper()
	if len(names) == 0 {
		names = l.names
	}
	for _, name := range names {
		if err := l.Runtime.Rebuild(context.Background(), name, nil); err != nil {
			l.TB.Fatal(err)
		}
	}
}
