package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// world is an event store and a read store with some projections on the
// simulated clock: tests append events and run the projections.
type world struct {
	t     *testing.T
	db    *sqldb.DB
	store eventstore.Store
	clk   *clock.Simulated
	rt    *projection.Runtime
	reg   *event.Registry
}

func newWorld(t *testing.T, target sqldb.Target, ps ...projections.Projection) *world {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(t0)
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: ps})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, db: db, store: store, clk: clk, rt: rt, reg: events.Registry()}
}

// appended is an appended event: its ID and when it was recorded.
type appended struct {
	id string
	at time.Time
}

// append appends payloads to stream, a minute after the last append.
func (w *world) append(stream string, payloads ...any) []appended {
	w.t.Helper()
	if _, err := w.clk.Advance(time.Minute); err != nil {
		w.t.Fatal(err)
	}
	evs := make([]event.Proposed, len(payloads))
	out := make([]appended, len(payloads))
	for i, p := range payloads {
		name, ok := w.reg.NameOf(p)
		if !ok {
			w.t.Fatalf("%T is not registered", p)
		}
		data, v, err := w.reg.Encode(name, p)
		if err != nil {
			w.t.Fatal(err)
		}
		out[i] = appended{id: fmt.Sprintf("00000000-0000-7000-8000-%012d", w.clk.Now().Unix()%1_000_000*10+int64(i)), at: w.clk.Now()}
		evs[i] = event.Proposed{ID: out[i].id, Type: name, SchemaVersion: v, Data: data,
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}
	}
	if _, err := w.store.Append(context.Background(), stream, event.Any(), evs...); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// one appends a single payload to stream.
func (w *world) one(stream string, payload any) appended {
	w.t.Helper()
	return w.append(stream, payload)[0]
}

// run replays projections names over the whole log.
func (w *world) run(names ...string) {
	w.t.Helper()
	for _, name := range names {
		if err := w.rt.Rebuild(context.Background(), name, nil); err != nil {
			w.t.Fatal(err)
		}
	}
}

// sentMail is a scheduled mail timer: its ID and payload.
type sentMail struct {
	id   string
	mail projections.Mail
}

// mails returns the mail the notifier scheduled (the outbox: the timers
// table) whose template starts with prefix, by timer ID.
func (w *world) mails(prefix string) []sentMail {
	w.t.Helper()
	rows, err := w.db.Select(context.Background(), `SELECT id, payload FROM timers WHERE kind = ? ORDER BY id`, projections.TimerKindMail)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []sentMail
	for rows.Next() {
		var s sentMail
		var payload string
		if err := rows.Scan(&s.id, &payload); err != nil {
			w.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(payload), &s.mail); err != nil {
			w.t.Fatal(err)
		}
		if strings.HasPrefix(s.mail.Template, prefix) {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}
