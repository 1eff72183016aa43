package timers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// start is the simulated time the tests begin at.
var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// deadline bounds every wait on a condition: generous, so that a slow
// machine does not fail a correct test.
const deadline = 30 * time.Second

// forEachEngine runs fn on a migrated SQLite file and a migrated
// PostgreSQL database (skipped visibly when the server is down, unless
// CI=true). open returns a new connection pool on the same database, as
// another process (or a restarted one) would open.
func forEachEngine(t *testing.T, fn func(t *testing.T, open func() *sqldb.DB)) {
	t.Helper()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		fn(t, func() *sqldb.DB { return sqldbtest.Open(t, target) })
	})
}

func schedule(t *testing.T, db *sqldb.DB, tm timers.Timer) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := timers.Schedule(ctx, projection.WrapTx(tx, db.Engine), tm); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func cancelTimer(t *testing.T, db *sqldb.DB, id string) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := timers.Cancel(ctx, projection.WrapTx(tx, db.Engine), id); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func newLoop(t *testing.T, db *sqldb.DB, clk clock.Clock, name string, poll time.Duration) *timers.Loop {
	t.Helper()
	l, err := timers.New(timers.Config{
		DB: db, Clock: clk, Poll: poll, Name: name,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runLoop runs l until the returned stop is called (or the test ends).
func runLoop(t *testing.T, l *timers.Loop) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(ctx)
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// timerRow is a timer's stored state.
type timerRow struct {
	Status    string
	Attempts  int
	LastError string
	FiredAt   int64
}

func readTimer(t *testing.T, db *sqldb.DB, id string) timerRow {
	t.Helper()
	var r timerRow
	err := db.QueryRowContext(context.Background(), db.Rebind(`SELECT status, attempts, last_error, fired_at FROM timers WHERE id = ?`), id).
		Scan(&r.Status, &r.Attempts, &r.LastError, &r.FiredAt)
	if err != nil {
		t.Fatalf("read timer %s: %v", id, err)
	}
	return r
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

func payload(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func wrap(tx projection.Statements, db *sqldb.DB) projections.Tx {
	return projection.WrapTx(tx, db.Engine)
}
