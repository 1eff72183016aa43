package projection

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// graceTimers is a small process manager: every overuse starts a seven-day
// grace timer, scheduled in the projection's own transaction.
type graceTimers struct{ scheduler projections.Scheduler }

func (graceTimers) Name() string     { return "grace_timers" }
func (graceTimers) Tables() []string { return nil }

func (g graceTimers) Apply(ctx context.Context, tx projections.Tx, rec event.Record) error {
	if rec.Type != "installation.overused" {
		return nil
	}
	return g.scheduler.Schedule(ctx, tx, projections.Timer{
		ID: "overuse-grace/" + rec.ID, Kind: "overuse.grace_ended", Due: rec.RecordedAt.Add(7 * 24 * time.Hour), Payload: rec.Data,
	})
}

// A timer scheduled by a projection exists if and only if its checkpoint
// moved: a crash before the commit leaves no timer, and the restarted
// projection schedules it once.
func TestRuntime_timer_is_scheduled_atomically_with_the_checkpoint(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		overuse := e.append(t, "installation.overused", 1)
		head := e.append(t, "license.issued", 2)
		pm := graceTimers{scheduler: timers.Scheduler{}}

		rt := newRuntime(t, e.db, e.store, pm)
		reached := make(chan struct{})
		rt.beforeCommit = func(ctx context.Context, _ string, rec event.Record) error {
			if rec.Position == overuse {
				close(reached)
				<-ctx.Done() // the process dies with the timer written, uncommitted
				return ctx.Err()
			}
			return nil
		}
		p := run(t, rt, e.store, 3)
		select {
		case <-reached:
		case <-time.After(deadline):
			t.Fatal("the pipeline never reached the crash point")
		}
		p.Stop()
		if n := countTimers(t, e); n != 0 {
			t.Fatalf("%d timers after a crash before the commit, want none", n)
		}

		rt2 := newRuntime(t, e.reopen(t), e.store, pm)
		run(t, rt2, e.store, 3)
		waitFor(t, rt2, "grace_timers", head)
		if n := countTimers(t, e); n != 1 {
			t.Fatalf("%d timers after the restart, want 1", n)
		}

		loop, err := timers.New(timers.Config{DB: e.db, Clock: e.clk, Poll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var fired atomic.Int32
		loop.Handle("overuse.grace_ended", func(context.Context, timers.Timer) error {
			fired.Add(1)
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = loop.Run(ctx)
		}()
		defer func() {
			cancel()
			<-done
		}()
		e.clk.Advance(8 * 24 * time.Hour)
		eventually(t, "the grace timer fires", func() bool { return fired.Load() == 1 })
	})
}

func countTimers(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM timers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
