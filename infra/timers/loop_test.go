package timers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
	"seatledger/infra/timers"
)

// counter counts handler invocations per timer ID.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounter() *counter { return &counter{n: map[string]int{}} }

func (c *counter) handle(_ context.Context, t timers.Timer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[t.ID]++
	return nil
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := 0
	for _, n := range c.n {
		sum += n
	}
	return sum
}

// Rule X-3: days of grace run in seconds. The loop polls once an hour
// here, so only the clock's move can wake it in time.
func TestLoop_fires_at_once_when_the_simulated_clock_passes_the_due_time(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		clk := clock.NewSimulated(start)
		schedule(t, db, timers.Timer{ID: "grace/inst-1", Kind: "overuse.grace_ended", Due: start.Add(7 * 24 * time.Hour), Payload: payload(map[string]string{"installation": "inst-1"})})
		loop := newLoop(t, db, clk, "a", time.Hour)
		c := newCounter()
		var got timers.Timer
		loop.Handle("overuse.grace_ended", func(ctx context.Context, tm timers.Timer) error {
			got = tm
			return c.handle(ctx, tm)
		})
		if n, err := loop.FireDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("FireDue before the due time = %d, %v", n, err)
		}
		runLoop(t, loop)
		moved, _ := clk.Advance(7*24*time.Hour + time.Minute)
		eventually(t, "the timer fires", func() bool { return c.get("grace/inst-1") == 1 })
		if got.Kind != "overuse.grace_ended" || string(got.Payload) != `{"installation":"inst-1"}` || !got.Due.Equal(start.Add(7*24*time.Hour)) {
			t.Errorf("handler got %+v", got)
		}
		eventually(t, "the timer is marked fired", func() bool { return readTimer(t, db, "grace/inst-1").Status == "fired" })
		if row := readTimer(t, db, "grace/inst-1"); row.FiredAt != moved.UnixMicro() || row.Attempts != 1 {
			t.Errorf("stored %+v, want fired at the simulated %v after 1 attempt", row, moved)
		}
		clk.Advance(time.Hour)
		if n, err := loop.FireDue(context.Background()); err != nil || n != 0 {
			t.Errorf("FireDue after firing = %d, %v: a timer fires once", n, err)
		}
	})
}

// On the real clock the loop wakes at the next due time, not the next poll.
func TestLoop_wakes_for_the_next_due_time_on_the_real_clock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		c := newCounter()
		loop := newLoop(t, db, clock.Real{}, "a", time.Hour)
		loop.Handle("k", c.handle)
		runLoop(t, loop)
		schedule(t, db, timers.Timer{ID: "soon", Kind: "k", Due: time.Now().Add(200 * time.Millisecond)})
		loop.Wake() // as the process that scheduled it would
		eventually(t, "the timer fires", func() bool { return c.get("soon") == 1 })
	})
}

// Timers fire exactly once even with several ledgerd processes on one
// database: two loops, each with its own connections, race for them.
func TestLoop_two_loops_on_one_database_fire_each_timer_exactly_once(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		const n = 150
		db := open()
		clk := clock.NewSimulated(start)
		for i := range n {
			schedule(t, db, timers.Timer{ID: fmt.Sprintf("t-%03d", i), Kind: "k", Due: start.Add(time.Duration(i%10) * time.Minute)})
		}
		c := newCounter()
		var byLoop [2]atomic.Int32
		for i, name := range []string{"a", "b"} {
			loop := newLoop(t, open(), clk, name, 10*time.Millisecond)
			loop.Handle("k", func(ctx context.Context, tm timers.Timer) error {
				byLoop[i].Add(1)
				time.Sleep(time.Millisecond) // hold the claim a while, so the loops overlap
				return c.handle(ctx, tm)
			})
			runLoop(t, loop)
		}
		clk.Advance(time.Hour)
		eventually(t, "every timer fired", func() bool { return c.total() >= n })
		for i := range n {
			id := fmt.Sprintf("t-%03d", i)
			eventually(t, id+" is marked fired", func() bool { return readTimer(t, db, id).Status == "fired" })
		}
		for i := range n {
			if got := c.get(fmt.Sprintf("t-%03d", i)); got != 1 {
				t.Errorf("timer t-%03d fired %d times", i, got)
			}
		}
		if c.total() != n {
			t.Errorf("%d handler runs for %d timers", c.total(), n)
		}
		t.Logf("loop a fired %d, loop b %d", byLoop[0].Load(), byLoop[1].Load())
	})
}

// Timers are rows, not goroutines: a process that dies while firing one
// leaves it pending, and the next process fires it.
func TestLoop_timer_survives_a_crash_while_firing_and_a_restart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		clk := clock.NewSimulated(start)
		schedule(t, db, timers.Timer{ID: "renewal/sub-1", Kind: "renewal.due", Due: start})
		schedule(t, db, timers.Timer{ID: "renewal/sub-2", Kind: "renewal.due", Due: start.Add(time.Hour)})

		first := newLoop(t, db, clk, "first", 10*time.Millisecond)
		entered := make(chan struct{})
		var once sync.Once
		first.Handle("renewal.due", func(ctx context.Context, tm timers.Timer) error {
			once.Do(func() { close(entered) })
			<-ctx.Done() // the process dies mid-handler
			return ctx.Err()
		})
		stopFirst := runLoop(t, first)
		select {
		case <-entered:
		case <-time.After(deadline):
			t.Fatal("the first loop never ran the handler")
		}
		stopFirst()
		if st := readTimer(t, db, "renewal/sub-1").Status; st != "pending" {
			t.Fatalf("after the crash the timer is %s, want pending", st)
		}

		restarted := open() // a new process: new connections, new loop
		clk2 := clock.NewSimulated(start.Add(2 * time.Hour))
		c := newCounter()
		second := newLoop(t, restarted, clk2, "second", 10*time.Millisecond)
		second.Handle("renewal.due", c.handle)
		runLoop(t, second)
		eventually(t, "the restarted loop fires both timers", func() bool {
			return readTimer(t, restarted, "renewal/sub-1").Status == "fired" && readTimer(t, restarted, "renewal/sub-2").Status == "fired"
		})
		if c.get("renewal/sub-1") != 1 || c.get("renewal/sub-2") != 1 {
			t.Errorf("restarted loop ran the handlers %v times", c.n)
		}
	})
}

func TestLoop_failing_handler_is_retried_with_backoff_until_it_succeeds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		clk := clock.NewSimulated(start)
		schedule(t, db, timers.Timer{ID: "flaky", Kind: "flaky", Due: start})
		schedule(t, db, timers.Timer{ID: "broken", Kind: "broken", Due: start})
		loop := newLoop(t, db, clk, "a", 20*time.Millisecond)
		var calls atomic.Int32
		loop.Handle("flaky", func(context.Context, timers.Timer) error {
			if calls.Add(1) <= 2 {
				return errors.New("mail server unavailable")
			}
			return nil
		})
		loop.Handle("broken", func(context.Context, timers.Timer) error { return errors.New("boom") })
		runLoop(t, loop)

		eventually(t, "the flaky timer fires", func() bool { return readTimer(t, db, "flaky").Status == "fired" })
		if row := readTimer(t, db, "flaky"); row.Attempts != 3 || row.LastError != "" || calls.Load() != 3 {
			t.Errorf("flaky timer %+v after %d calls, want fired on the 3rd attempt", row, calls.Load())
		}
		eventually(t, "the broken timer is retried", func() bool { return readTimer(t, db, "broken").Attempts >= 2 })
		row := readTimer(t, db, "broken")
		if row.Status != "pending" || !strings.Contains(row.LastError, "boom") {
			t.Errorf("broken timer %+v, want pending with its last error", row)
		}
		b, err := loop.Backlog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b.Pending != 1 || b.Due != 1 || b.Failing != 1 {
			t.Errorf("backlog %+v, want the broken timer pending, due and failing", b)
		}
	})
}

func TestSchedule_reschedules_cancels_and_never_rearms_a_fired_timer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		clk := clock.NewSimulated(start)
		c := newCounter()
		loop := newLoop(t, db, clk, "a", time.Hour)
		loop.Handle("k", c.handle)
		fire := func() int {
			t.Helper()
			n, err := loop.FireDue(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		schedule(t, db, timers.Timer{ID: "moved", Kind: "k", Due: start.Add(time.Hour)})
		schedule(t, db, timers.Timer{ID: "moved", Kind: "k", Due: start.Add(2 * time.Hour)}) // grace extended
		schedule(t, db, timers.Timer{ID: "cancelled", Kind: "k", Due: start.Add(time.Hour)})
		cancelTimer(t, db, "cancelled")
		clk.Advance(90 * time.Minute)
		if n := fire(); n != 0 {
			t.Errorf("%d timers fired before the moved due time", n)
		}
		clk.Advance(time.Hour)
		if n := fire(); n != 1 || c.get("moved") != 1 {
			t.Errorf("fired %d (moved: %d), want the moved timer", n, c.get("moved"))
		}
		if st := readTimer(t, db, "cancelled").Status; st != "cancelled" || c.get("cancelled") != 0 {
			t.Errorf("cancelled timer is %s and ran %d times", st, c.get("cancelled"))
		}
		firedAt := readTimer(t, db, "moved").FiredAt
		// A rebuild replays the event that scheduled it: the ID is spent.
		schedule(t, db, timers.Timer{ID: "moved", Kind: "k", Due: start.Add(2 * time.Hour)})
		cancelTimer(t, db, "moved")
		if n := fire(); n != 0 {
			t.Errorf("a replayed schedule fired %d timers again", n)
		}
		if row := readTimer(t, db, "moved"); row.Status != "fired" || row.FiredAt != firedAt {
			t.Errorf("replayed timer %+v, want it still fired at %d", row, firedAt)
		}

		schedule(t, db, timers.Timer{ID: "orphan", Kind: "nobody-handles-this", Due: start})
		if n := fire(); n != 0 {
			t.Errorf("a timer without handler fired")
		}
		if row := readTimer(t, db, "orphan"); row.Status != "pending" || !strings.Contains(row.LastError, "no handler") {
			t.Errorf("timer without handler %+v, want pending with the reason", row)
		}

		tx, _ := db.BeginTx(context.Background(), nil)
		defer tx.Rollback()
		err := timers.Scheduler{}.Schedule(context.Background(), wrap(tx, db), timers.Timer{Kind: "k", Payload: []byte("{")})
		if !errors.Is(err, timers.ErrInvalid) || !strings.Contains(err.Error(), "no ID") || !strings.Contains(err.Error(), "not JSON") {
			t.Errorf("scheduling a bad timer = %v", err)
		}
	})
}
