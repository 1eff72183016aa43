package projection

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/projections"
)

var stats = projections.StreamStats{}

func TestRuntime_catches_up_then_applies_live_events(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.append(t, "license.issued", 7)
		e.append(t, "seat.added", 5)
		head := e.append(t, "license.issued", 3)
		rt := newRuntime(t, e.db, e.store, stats)
		run(t, rt, e.store, 3)
		waitFor(t, rt, "stream_stats", head)
		checkStats(t, e.db, e.store, head)

		e.append(t, "seat.added", 2)
		head = e.append(t, "installation.activated", 4)
		waitFor(t, rt, "stream_stats", head)
		checkStats(t, e.db, e.store, head)
		if cp := checkpointOf(t, rt, "stream_stats"); cp != head {
			t.Errorf("checkpoint %d, want the head %d", cp, head)
		}
	})
}

// Rule: the checkpoint moves in the same transaction as the rows. A crash
// between Apply and commit leaves neither; the restarted process applies
// the event once.
func TestRuntime_crash_before_commit_applies_nothing_and_restart_applies_once(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.append(t, "license.issued", 5)
		crashAt := e.append(t, "seat.added", 1)
		head := e.append(t, "license.issued", 4)

		rt := oneByOne(newRuntime(t, e.db, e.store, stats)) // the crash point is one event's commit
		reached := make(chan struct{})
		rt.beforeCommit = func(ctx context.Context, name string, rec event.Record) error {
			if rec.Position != crashAt {
				return nil
			}
			close(reached) // Apply and the checkpoint update are done, uncommitted
			<-ctx.Done()   // the process dies here
			return ctx.Err()
		}
		p := run(t, rt, e.store, 3)
		select {
		case <-reached:
		case <-time.After(deadline):
			t.Fatal("the pipeline never reached the crash point")
		}
		p.Stop()

		if cp := checkpointOf(t, rt, "stream_stats"); cp != crashAt-1 {
			t.Fatalf("checkpoint %d after the crash, want %d: it moved without its rows", cp, crashAt-1)
		}
		checkStats(t, e.db, e.store, crashAt-1) // the crashed event left no row behind

		// Restart: a new process, its own connections.
		db2 := e.reopen(t)
		rt2 := newRuntime(t, db2, e.store, stats)
		run(t, rt2, e.store, 3)
		waitFor(t, rt2, "stream_stats", head)
		checkStats(t, db2, e.store, head) // counts exact: nothing applied twice
	})
}

// A failure after Apply rolls the event back; the retry applies it once.
func TestRuntime_failure_after_apply_is_rolled_back_and_retried_once(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		failAt := e.append(t, "license.issued", 3)
		head := e.append(t, "seat.added", 3)
		rt := oneByOne(newRuntime(t, e.db, e.store, stats)) // the failure is one event's commit
		var failures atomic.Int32
		rt.beforeCommit = func(ctx context.Context, name string, rec event.Record) error {
			if rec.Position == failAt && failures.Add(1) <= 2 {
				return errors.New("disk full")
			}
			return nil
		}
		run(t, rt, e.store, 5)
		waitFor(t, rt, "stream_stats", head)
		checkStats(t, e.db, e.store, head)
		if n := failures.Load(); n != 3 {
			t.Errorf("commit of the failing event tried %d times, want 3", n)
		}
	})
}

// flaky wraps StreamStats with a failure for one event type, on demand.
type flaky struct {
	stats    projections.StreamStats // not embedded: flaky applies one event at a time
	failType string
	failing  atomic.Bool
	mu       sync.Mutex
	applied  map[uint64]int
}

func (f *flaky) Apply(ctx context.Context, tx projections.Tx, rec event.Record) error {
	if rec.Type == f.failType && f.failing.Load() {
		return errors.New("unknown seat kind \"floating\"")
	}
	f.mu.Lock()
	f.applied[rec.Position]++
	f.mu.Unlock()
	return f.stats.Apply(ctx, tx, rec)
}

func (f *flaky) Name() string     { return f.stats.Name() }
func (f *flaky) Tables() []string { return f.stats.Tables() }

// The log is never skipped: a projection that cannot apply an event stops
// there, says where and why in its status, and applies it first once
// resumed.
func TestRuntime_poisoned_event_stops_the_projection_at_that_event(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		before := e.append(t, "license.issued", 4)
		bad := e.append(t, "seat.floating_added", 1)
		e.append(t, "license.issued", 3)
		badRec, err := e.store.ReadAll(context.Background(), bad-1, 1)
		if err != nil {
			t.Fatal(err)
		}
		p := &flaky{failType: "seat.floating_added", applied: map[uint64]int{}}
		p.failing.Store(true)
		rt := oneByOne(newRuntime(t, e.db, e.store, p)) // counts every Apply, rolled back or not
		run(t, rt, e.store, 2)

		var st Status
		eventually(t, "the projection is marked failed", func() bool {
			all, err := rt.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			st = all[0]
			return st.State == StateFailed
		})
		f := st.Failure
		if f == nil || f.Position != bad || f.StreamID != badRec[0].StreamID || f.Version != 1 || f.EventType != "seat.floating_added" ||
			!strings.Contains(f.Reason, "floating") {
			t.Fatalf("status failure %+v, want position %d stream %s version 1 and the reason", f, bad, badRec[0].StreamID)
		}
		if st.Position != before {
			t.Errorf("stopped at checkpoint %d, want %d (the event before the bad one)", st.Position, before)
		}
		head := e.append(t, "license.issued", 2)
		if err := rt.WaitFor(context.Background(), "stream_stats", head, deadline); !errors.Is(err, ErrFailed) ||
			!strings.Contains(err.Error(), badRec[0].StreamID) {
			t.Errorf("WaitFor on a failed projection = %v, want an ErrFailed naming the event", err)
		}
		checkStats(t, e.db, e.store, before) // nothing after the bad event was applied
		if cp := checkpointOf(t, rt, "stream_stats"); cp != before {
			t.Errorf("checkpoint %d while failed, want %d", cp, before)
		}

		p.failing.Store(false) // the fix is deployed
		if err := rt.Resume(context.Background(), "stream_stats"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, rt, "stream_stats", head)
		checkStats(t, e.db, e.store, head)
		p.mu.Lock()
		defer p.mu.Unlock()
		for pos, n := range p.applied {
			if n != 1 {
				t.Errorf("position %d applied %d times", pos, n)
			}
		}
		all, _ := rt.Status(context.Background())
		if all[0].State != StateLive || all[0].Failure != nil || all[0].Lag != 0 {
			t.Errorf("status after resuming = %+v", all[0])
		}
	})
}

// A rebuild replays the log from zero in batches and reproduces exactly
// the table live processing built; live processing then carries on.
func TestRuntime_rebuild_reproduces_the_live_table(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.appendMany(t, "license.issued", 150)
		e.appendMany(t, "seat.added", 120)
		head := e.appendMany(t, "installation.activated", 80)
		rt := newRuntime(t, e.db, e.store, stats)
		run(t, rt, e.store, 3)
		waitFor(t, rt, "stream_stats", head)
		live := readStats(t, e.db)

		var calls [][2]uint64
		err := rt.Rebuild(context.Background(), "stream_stats", func(done, total uint64) {
			calls = append(calls, [2]uint64{done, total})
		})
		if err != nil {
			t.Fatal(err)
		}
		rebuilt := readStats(t, e.db)
		if len(rebuilt) != len(live) {
			t.Fatalf("rebuilt %v, live %v", rebuilt, live)
		}
		for typ, row := range live {
			if rebuilt[typ] != row {
				t.Errorf("rebuilt %s = %+v, live built %+v", typ, rebuilt[typ], row)
			}
		}
		// 350 events at 100 per transaction: the start and four batches.
		if len(calls) != 5 || calls[0] != [2]uint64{0, head} || calls[len(calls)-1] != [2]uint64{head, head} {
			t.Errorf("progress calls %v, want (0,%d), four batches, ending (%d,%d)", calls, head, head, head)
		}
		for i := 1; i < len(calls); i++ {
			if calls[i][0] <= calls[i-1][0] {
				t.Errorf("progress went from %v to %v", calls[i-1], calls[i])
			}
		}
		st, _ := rt.Status(context.Background())
		if st[0].State != StateLive || st[0].Position != head {
			t.Errorf("status after rebuild = %+v", st[0])
		}

		head = e.append(t, "seat.added", 5)
		waitFor(t, rt, "stream_stats", head)
		checkStats(t, e.db, e.store, head)
	})
}

// A rebuild clears a failure once the projection can apply the event.
func TestRuntime_rebuild_clears_a_failure(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.append(t, "license.issued", 3)
		e.append(t, "seat.floating_added", 1)
		head := e.append(t, "license.issued", 3)
		p := &flaky{failType: "seat.floating_added", applied: map[uint64]int{}}
		p.failing.Store(true)
		rt := newRuntime(t, e.db, e.store, p)
		if err := rt.Rebuild(context.Background(), "stream_stats", nil); !errors.Is(err, ErrFailed) {
			t.Fatalf("rebuild over a bad event = %v, want ErrFailed", err)
		}
		st, _ := rt.Status(context.Background())
		if st[0].State != StateFailed || st[0].Failure.EventType != "seat.floating_added" || st[0].Position != 3 {
			t.Fatalf("status = %+v", st[0])
		}
		p.failing.Store(false)
		if err := rt.Rebuild(context.Background(), "stream_stats", nil); err != nil {
			t.Fatal(err)
		}
		checkStats(t, e.db, e.store, head)
		st, _ = rt.Status(context.Background())
		if st[0].State != StateLive || st[0].Failure != nil || st[0].Position != head {
			t.Errorf("status after the second rebuild = %+v", st[0])
		}
	})
}

func TestRuntime_WaitFor_returns_once_reached_and_times_out_otherwise(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		head := e.append(t, "license.issued", 3)
		rt := newRuntime(t, e.db, e.store, stats)

		err := rt.WaitFor(context.Background(), "stream_stats", head, 50*time.Millisecond)
		var late *NotCaughtUpError
		if !errors.As(err, &late) || !errors.Is(err, ErrNotCaughtUp) || late.Want != head || late.Reached != 0 {
			t.Fatalf("WaitFor with nothing running = %v, want a NotCaughtUpError", err)
		}
		if err := rt.WaitFor(context.Background(), "nope", 1, time.Second); !errors.Is(err, ErrUnknown) {
			t.Errorf("WaitFor of an unknown projection = %v", err)
		}
		st, _ := rt.Status(context.Background())
		if st[0].Lag != head || st[0].Head != head {
			t.Errorf("status before running = %+v, want lag %d", st[0], head)
		}

		waited := make(chan error, 1)
		go func() { waited <- rt.WaitFor(context.Background(), "stream_stats", head, deadline) }()
		run(t, rt, e.store, 3)
		if err := <-waited; err != nil {
			t.Fatalf("WaitFor while the projection catches up = %v", err)
		}
		if err := rt.WaitFor(context.Background(), "stream_stats", head, 0); err != nil {
			t.Errorf("WaitFor of a position already reached = %v", err)
		}
	})
}

// oneByOne makes rt apply one event per transaction, for tests that count
// every Apply call or hook one event's commit.
func oneByOne(rt *Runtime) *Runtime {
	rt.cfg.LiveBatch = 1
	return rt
}

// A projection that is behind applies the events already in the log in
// batches, one commit per batch, and ends exactly where one event per
// transaction would.
func TestRuntime_live_processing_batches_events_already_in_the_log(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		head := e.append(t, "license.issued", 600)
		rt := newRuntime(t, e.db, e.store, stats)
		var commits atomic.Int32
		rt.beforeCommit = func(context.Context, string, event.Record) error {
			commits.Add(1)
			return nil
		}
		run(t, rt, e.store, 3)
		waitFor(t, rt, "stream_stats", head)
		checkStats(t, e.db, e.store, head)
		if n := commits.Load(); n > 10 {
			t.Errorf("%d commits for 600 events behind, want a few batches of up to 256", n)
		}
		live := e.append(t, "seat.added", 1) // and a live event still arrives on its own
		waitFor(t, rt, "stream_stats", live)
		checkStats(t, e.db, e.store, live)
	})
}

// A bad event among those read ahead does not fail the batch's good
// events: the batch falls back to the delivered event alone, and the
// projection stops exactly at the bad event, with everything before it
// applied once.
func TestRuntime_bad_event_read_ahead_stops_the_projection_exactly_there(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		before := e.append(t, "license.issued", 40)
		bad := e.append(t, "seat.floating_added", 1)
		e.append(t, "license.issued", 40)
		p := &flaky{failType: "seat.floating_added", applied: map[uint64]int{}}
		p.failing.Store(true)
		rt := newRuntime(t, e.db, e.store, p)
		run(t, rt, e.store, 2)
		eventually(t, "the projection is marked failed", func() bool {
			all, err := rt.Status(context.Background())
			return err == nil && all[0].State == StateFailed
		})
		all, _ := rt.Status(context.Background())
		if f := all[0].Failure; f == nil || f.Position != bad || all[0].Position != before {
			t.Fatalf("status %+v, want failed at %d with checkpoint %d", all[0], bad, before)
		}
		checkStats(t, e.db, e.store, before)
	})
}

// batchFlaky is flaky applying a run of events at once
// (projections.BatchApplier), as the installations and the account feed do.
type batchFlaky struct {
	*flaky
	batches atomic.Int32
}

func (b *batchFlaky) ApplyBatch(ctx context.Context, tx projections.Tx, records []event.Record) error {
	b.batches.Add(1)
	for _, rec := range records {
		if err := b.Apply(ctx, tx, rec); err != nil {
			return err
		}
	}
	return nil
}

// Issue 21: a projections.BatchApplier is given the delivered event and
// those read ahead at once; a bad event among them fails the run, and the
// projection still stops exactly at it, with everything before it applied.
func TestRuntime_batch_applier_stops_exactly_at_a_bad_event_read_ahead(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		before := e.append(t, "license.issued", 40)
		bad := e.append(t, "seat.floating_added", 1)
		e.append(t, "license.issued", 40)
		p := &batchFlaky{flaky: &flaky{failType: "seat.floating_added", applied: map[uint64]int{}}}
		p.failing.Store(true)
		rt := newRuntime(t, e.db, e.store, p)
		run(t, rt, e.store, 2)
		eventually(t, "the projection is marked failed", func() bool {
			all, err := rt.Status(context.Background())
			return err == nil && all[0].State == StateFailed
		})
		all, _ := rt.Status(context.Background())
		if f := all[0].Failure; f == nil || f.Position != bad || all[0].Position != before {
			t.Fatalf("status %+v, want failed at %d with checkpoint %d", all[0], bad, before)
		}
		checkStats(t, e.db, e.store, before)
		if p.batches.Load() == 0 {
			t.Error("the runtime never applied a run of events at once")
		}
	})
}
