package timers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
	"seatledger/infra/timers"
)

// chain is a stand-in for a process manager and the effects it reacts
// to: firing a "chain" timer records a firing, and — like an event that
// a projection turns into the next timer — asks for a follow-up due
// Step later, which only Settle schedules (as the real process managers
// schedule only once they have applied the event).
type chain struct {
	t   *testing.T
	db  *sqldb.DB
	clk clock.Clock

	mu      sync.Mutex
	fired   []firing
	pending []timers.Timer
	fail    map[string]int // timer ID → failures left
}

type firing struct {
	ID       string
	Due, Now time.Time
}

type link struct {
	Left int           `json:"left"`
	Step time.Duration `json:"step"`
}

func newChain(t *testing.T, db *sqldb.DB, clk clock.Clock) *chain {
	return &chain{t: t, db: db, clk: clk, fail: map[string]int{}}
}

func (c *chain) handle(_ context.Context, tm timers.Timer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail[tm.ID] > 0 {
		c.fail[tm.ID]--
		return errors.New("database is locked")
	}
	c.fired = append(c.fired, firing{ID: tm.ID, Due: tm.Due, Now: c.clk.Now()})
	var l link
	if err := json.Unmarshal(tm.Payload, &l); err != nil {
		return err
	}
	if l.Left > 0 {
		c.pending = append(c.pending, timers.Timer{ID: tm.ID + "+", Kind: "chain", Due: tm.Due.Add(l.Step),
			Payload: payload(link{Left: l.Left - 1, Step: l.Step})})
	}
	return nil
}

// settle schedules the follow-ups asked for so far.
func (c *chain) settle(context.Context) error {
	c.mu.Lock()
	next := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, tm := range next {
		schedule(c.t, c.db, tm)
	}
	return nil
}

func (c *chain) firings() []firing {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.fired)
}

// stepLoop is a loop whose Settle is c's.
func stepLoop(t *testing.T, db *sqldb.DB, clk clock.Clock, c *chain) *timers.Loop {
	t.Helper()
	l, err := timers.New(timers.Config{DB: db, Clock: clk, Poll: time.Hour, Name: "step",
		Backoff: func(int) time.Duration { return time.Hour }, Settle: c.settle,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l.Handle("chain", c.handle)
	return l
}

// plan schedules two chains of timers and a lone one: the grace's end of
// one farm that leads to its deactivation and its 20-minute
// re-validations, and another farm's, interleaved with it.
func plan(t *testing.T, db *sqldb.DB) {
	schedule(t, db, timers.Timer{ID: "a", Kind: "chain", Due: start.Add(time.Hour), Payload: payload(link{Left: 5, Step: 20 * time.Minute})})
	schedule(t, db, timers.Timer{ID: "b", Kind: "chain", Due: start.Add(90 * time.Minute), Payload: payload(link{Left: 3, Step: 30 * time.Minute})})
	schedule(t, db, timers.Timer{ID: "c", Kind: "chain", Due: start.Add(3 * time.Hour), Payload: payload(link{})})
}

// Rule X-6: an advance steps through the due timers in due order, each
// seeing now = its due time, and the timers they cause before the new
// time fire in the same advance. One jump of five hours fires exactly
// what fifty steps of six minutes fire, in the same order, each at its
// due time, and it returns with the clock at the new time.
func TestAdvance_one_jump_fires_what_small_steps_fire_at_their_due_times_X6(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		ctx := context.Background()
		run := func(steps int, by time.Duration) ([]firing, int) {
			db := open()
			// Each run has a table of its own: the engine's database is shared.
			if _, err := db.ExecContext(ctx, `DELETE FROM timers`); err != nil {
				t.Fatal(err)
			}
			clk := clock.NewSimulated(start)
			c := newChain(t, db, clk)
			loop := stepLoop(t, db, clk, c)
			plan(t, db)
			fired := 0
			for range steps {
				to := clk.Now().Add(by)
				done, err := loop.Advance(ctx, clk, by)
				if err != nil {
					t.Fatal(err)
				}
				if !clk.Now().Equal(to) || !done.To.Equal(to) {
					t.Fatalf("after an advance to %v the clock is at %v", to, clk.Now())
				}
				fired += done.Fired
			}
			return c.firings(), fired
		}
		jump, n1 := run(1, 5*time.Hour)
		steps, n2 := run(50, 6*time.Minute)
		if len(jump) != 1+5+1+3+1 || n1 != len(jump) || n2 != len(steps) {
			t.Fatalf("the jump fired %d timers (%d counted), the steps %d (%d counted), want 11: %+v", len(jump), n1, len(steps), n2, jump)
		}
		if !reflect.DeepEqual(jump, steps) {
			t.Fatalf("X-6 one jump fired\n%+v\nsmall steps fired\n%+v", jump, steps)
		}
		for i, f := range jump {
			if !f.Now.Equal(f.Due) {
				t.Errorf("X-6 timer %s due %v ran at %v", f.ID, f.Due, f.Now)
			}
			if i > 0 && f.Due.Before(jump[i-1].Due) {
				t.Errorf("X-6 timer %s (due %v) fired after %s (due %v)", f.ID, f.Due, jump[i-1].ID, jump[i-1].Due)
			}
		}
		if last := jump[len(jump)-1]; last.ID != "c" || !last.Due.Equal(start.Add(3*time.Hour)) {
			t.Errorf("the last timer is %+v", last)
		}
	})
}

// An advance does not stop for a delivery (mail) that fails: the loop
// retries it later. An effect's timer that keeps failing stops the
// advance at its due time, with what came before it recorded; advancing
// again resumes from there (rule X-6).
func TestAdvance_stops_at_an_effect_that_keeps_failing_not_at_a_delivery_X6(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		ctx := context.Background()
		db := open()
		clk := clock.NewSimulated(start)
		c := newChain(t, db, clk)
		loop := stepLoop(t, db, clk, c)
		mailed := 0
		loop.HandleDelivery("mail", func(context.Context, timers.Timer) error {
			mailed++
			return errors.New("SMTP server unavailable")
		})
		schedule(t, db, timers.Timer{ID: "m", Kind: "mail", Due: start.Add(10 * time.Minute)})
		schedule(t, db, timers.Timer{ID: "a", Kind: "chain", Due: start.Add(20 * time.Minute), Payload: payload(link{})})
		schedule(t, db, timers.Timer{ID: "b", Kind: "chain", Due: start.Add(time.Hour), Payload: payload(link{})})
		schedule(t, db, timers.Timer{ID: "c", Kind: "chain", Due: start.Add(2 * time.Hour), Payload: payload(link{})})
		c.fail["b"] = 10

		done, err := loop.Advance(ctx, clk, 3*time.Hour)
		var stopped *timers.StoppedError
		if !errors.As(err, &stopped) || !errors.Is(err, timers.ErrStopped) || stopped.Timer != "b" {
			t.Fatalf("advance past a broken effect: %+v, %v", done, err)
		}
		if want := start.Add(time.Hour); !clk.Now().Equal(want) || !stopped.At.Equal(want) {
			t.Errorf("the clock stopped at %v (reported %v), want b's due time %v", clk.Now(), stopped.At, want)
		}
		if got := c.firings(); len(got) != 1 || got[0].ID != "a" || mailed != 1 || len(done.Retrying) != 1 || done.Retrying[0] != "m" {
			t.Errorf("before the stop: fired %+v, mailed %d, retrying %v", got, mailed, done.Retrying)
		}
		if st := readTimer(t, db, "c").Status; st != "pending" {
			t.Errorf("the timer after the stop is %s", st)
		}
		c.fail["b"] = 0 // the database is back
		if _, err := loop.Advance(ctx, clk, start.Add(3*time.Hour).Sub(clk.Now())); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range c.firings() {
			ids = append(ids, f.ID)
			if !f.Now.Equal(f.Due) {
				t.Errorf("X-6 timer %s due %v ran at %v", f.ID, f.Due, f.Now)
			}
		}
		if !slices.Equal(ids, []string{"a", "b", "c"}) || !clk.Now().Equal(start.Add(3*time.Hour)) {
			t.Errorf("after resuming: fired %v, clock %v", ids, clk.Now())
		}
		if _, err := loop.Advance(ctx, clk, -time.Hour); err == nil {
			t.Error("an advance back in time was accepted")
		}
	})
}

// Rule X-6 on the real clock: timers that fell due while no process ran
// fire in due order once one starts, each handed its due time, and the
// timers they cause fall due from those times, not from when the
// process noticed.
func TestFireDue_late_timers_fire_in_due_order_with_their_successors_X6(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		db := open()
		clk := clock.Real{}
		c := newChain(t, db, clk)
		loop := stepLoop(t, db, clk, c)
		down := time.Now().Add(-5 * time.Hour).Truncate(time.Microsecond)
		schedule(t, db, timers.Timer{ID: "a", Kind: "chain", Due: down, Payload: payload(link{Left: 3, Step: time.Hour})})
		schedule(t, db, timers.Timer{ID: "b", Kind: "chain", Due: down.Add(90 * time.Minute), Payload: payload(link{})})
		if _, err := loop.FireDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range c.firings() {
			got = append(got, f.ID+"@"+f.Due.Sub(down).String())
		}
		if want := []string{"a@0s", "a+@1h0m0s", "b@1h30m0s", "a++@2h0m0s", "a+++@3h0m0s"}; !slices.Equal(got, want) {
			t.Errorf("late timers fired %v, want %v", got, want)
		}
	})
}
