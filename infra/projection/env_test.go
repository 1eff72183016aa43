package projection

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/postgres"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/sqlite"
	"seatledger/infra/watermill"
	"seatledger/projections"
)

// start is the simulated time the tests' stores begin at.
var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// deadline bounds every wait on a condition: generous, so that a slow
// machine does not fail a correct test.
const deadline = 30 * time.Second

// env is one engine's database and event store sharing it.
type env struct {
	db    *sqldb.DB
	store eventstore.Store
	clk   *clock.Simulated
	// reopen returns a second connection pool on the same database, as a
	// restarted process would open.
	reopen func(t *testing.T) *sqldb.DB
}

// forEachEngine runs fn on SQLite and on PostgreSQL (skipped visibly when
// the server is down, unless CI=true).
func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		e := &env{clk: clock.NewSimulated(start)}
		e.reopen = func(t *testing.T) *sqldb.DB { return sqldbtest.Open(t, target) }
		e.db = e.reopen(t)
		var (
			s   eventstore.Store
			err error
		)
		if target.Engine == sqldb.SQLite {
			s, err = sqlite.Open(context.Background(), e.db, sqlite.Config{Clock: e.clk, PollInterval: 50 * time.Millisecond})
		} else {
			s, err = postgres.Open(context.Background(), target.DSN, postgres.Config{Clock: e.clk, PollInterval: 50 * time.Millisecond})
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		e.store = s
		fn(t, e)
	})
}

var actor = event.Actor{Kind: event.ActorProcess, ID: "projection-test"}

// appendEvents appends n events of type typ, each to a new stream, and
// returns the position of the last one.
// The clock moves a second before each, so recorded times differ.
func (e *env) append(t *testing.T, typ string, n int) uint64 {
	t.Helper()
	var res event.AppendResult
	for i := range n {
		if _, err := e.clk.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		var err error
		res, err = e.store.Append(context.Background(), typ+"-"+uuid.NewString()[:8], event.NoStream(), event.Proposed{
			ID: uuid.NewString(), Type: typ, SchemaVersion: 1, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			Metadata: event.Metadata{Actor: actor, Command: "Test", CorrelationID: "corr"},
		})
		if err != nil {
			t.Fatalf("append %s: %v", typ, err)
		}
	}
	return res.Position
}

// appendMany appends n events of type typ in appends of up to 100 events
// to one stream each, and returns the position of the last one.
func (e *env) appendMany(t *testing.T, typ string, n int) uint64 {
	t.Helper()
	var res event.AppendResult
	for n > 0 {
		batch := make([]event.Proposed, min(n, 100))
		for i := range batch {
			batch[i] = event.Proposed{
				ID: uuid.NewString(), Type: typ, SchemaVersion: 1, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
				Metadata: event.Metadata{Actor: actor, Command: "Test"},
			}
		}
		if _, err := e.clk.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		var err error
		if res, err = e.store.Append(context.Background(), typ+"-"+uuid.NewString()[:8], event.NoStream(), batch...); err != nil {
			t.Fatalf("append %s: %v", typ, err)
		}
		n -= len(batch)
	}
	return res.Position
}

func newRuntime(t *testing.T, db *sqldb.DB, store eventstore.Store, ps ...projections.Projection) *Runtime {
	t.Helper()
	rt, err := New(context.Background(), Config{
		DB: db, Log: store, Projections: ps, RebuildBatch: 100, WaitPoll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// pipeline is the read side running: the log subscriber, the router and
// the runtime's handlers.
type pipeline struct {
	rt     *Runtime
	cancel context.CancelFunc
	done   chan error
	stop   sync.Once
}

// run starts rt's handlers behind a router; stop (or the test's end)
// stops them.
func run(t *testing.T, rt *Runtime, store eventstore.Store, retries int) *pipeline {
	t.Helper()
	router, err := watermill.NewRouter(watermill.RouterConfig{
		Halter: rt, MaxRetries: retries, RetryInitialInterval: time.Millisecond, RetryMaxInterval: 5 * time.Millisecond,
		Logger: wm.NopLogger{},
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := watermill.NewSubscriber(watermill.SubscriberConfig{
		Log: store, Checkpoints: rt, RedeliveryDelay: time.Millisecond, HaltedPoll: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.AddHandlers(router, sub)
	ctx, cancel := context.WithCancel(context.Background())
	p := &pipeline{rt: rt, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- router.Run(ctx) }()
	select {
	case <-router.Running():
	case <-time.After(deadline):
		t.Fatal("router did not start")
	}
	t.Cleanup(p.Stop)
	return p
}

// Stop stops the pipeline and waits for its handlers to end.
func (p *pipeline) Stop() {
	p.stop.Do(func() {
		p.cancel()
		<-p.done
	})
}

func waitFor(t *testing.T, rt *Runtime, name string, position uint64) {
	t.Helper()
	if err := rt.WaitFor(context.Background(), name, position, deadline); err != nil {
		t.Fatal(err)
	}
}

// typeStats is one row of event_type_stats.
type typeStats struct {
	Count                  int64
	FirstPosition, LastPos uint64
	FirstAt, LastAt        int64
}

// readStats returns event_type_stats by event type.
func readStats(t *testing.T, db *sqldb.DB) map[string]typeStats {
	t.Helper()
	rows, err := db.QueryContext(context.Background(),
		`SELECT event_type, event_count, first_position, first_recorded_at, last_position, last_recorded_at FROM event_type_stats`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]typeStats{}
	for rows.Next() {
		var (
			typ string
			s   typeStats
		)
		if err := rows.Scan(&typ, &s.Count, &s.FirstPosition, &s.FirstAt, &s.LastPos, &s.LastAt); err != nil {
			t.Fatal(err)
		}
		out[typ] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedStats folds the log up to position upTo the way StreamStats
// should have: the oracle the table is checked against.
func expectedStats(t *testing.T, s eventstore.Store, upTo uint64) map[string]typeStats {
	t.Helper()
	out := map[string]typeStats{}
	var after uint64
	for {
		page, err := s.ReadAll(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Position > upTo {
				return out
			}
			st, ok := out[r.Type]
			if !ok {
				st = typeStats{FirstPosition: r.Position, FirstAt: r.RecordedAt.UnixMicro()}
			}
			st.Count++
			st.LastPos, st.LastAt = r.Position, r.RecordedAt.UnixMicro()
			out[r.Type] = st
			after = r.Position
		}
		if len(page) == 0 {
			return out
		}
	}
}

func checkStats(t *testing.T, db *sqldb.DB, s eventstore.Store, upTo uint64) {
	t.Helper()
	got, want := readStats(t, db), expectedStats(t, s, upTo)
	if len(got) != len(want) {
		t.Fatalf("event_type_stats has %d types %v, want %d %v", len(got), got, len(want), want)
	}
	for typ, w := range want {
		if got[typ] != w {
			t.Errorf("event_type_stats[%s] = %+v, want %+v", typ, got[typ], w)
		}
	}
}

func checkpointOf(t *testing.T, rt *Runtime, name string) uint64 {
	t.Helper()
	cp, err := rt.Checkpoint(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return cp.Position
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
