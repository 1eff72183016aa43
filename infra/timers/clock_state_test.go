package timers_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
	"seatledger/infra/timers"
)

// A restarted ledgerd --clock=simulated resumes the simulated time it had.
func TestSimulatedTime_is_restored_after_a_restart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		ctx := context.Background()
		db := open()
		if _, ok, err := timers.LoadSimulatedTime(ctx, db); err != nil || ok {
			t.Fatalf("load from an empty database = %v, %v", ok, err)
		}
		clk, err := timers.RestoreSimulated(ctx, db, start)
		if err != nil || !clk.Now().Equal(start) {
			t.Fatalf("first start at %v, %v; want %v", clk.Now(), err, start)
		}
		kctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- timers.KeepSimulatedTime(kctx, db, clk, slog.New(slog.DiscardHandler)) }()
		moved, _ := clk.Advance(30 * 24 * time.Hour)
		eventually(t, "the moved time is saved", func() bool {
			saved, ok, err := timers.LoadSimulatedTime(ctx, db)
			return err == nil && ok && saved.Equal(moved)
		})
		cancel()
		<-done

		if err := timers.SaveSimulatedTime(ctx, db, start); err != nil {
			t.Fatal(err)
		}
		restarted, err := timers.RestoreSimulated(ctx, open(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if !restarted.Now().Equal(moved) {
			t.Errorf("restarted at %v, want the saved %v (a late save of an earlier time never moves it back)", restarted.Now(), moved)
		}
	})
}

// Rule X-8: two processes on one database run on one simulated time: an
// advance through either moves the other's clock too, and a later save of
// an earlier time never moves either back.
func TestSimulatedTime_is_shared_by_the_processes_on_one_database_X8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *sqldb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var clocks []*clock.Simulated
		for range 2 {
			db := open()
			clk, err := timers.RestoreSimulated(ctx, db, start)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- timers.KeepSimulatedTime(ctx, db, clk, slog.New(slog.DiscardHandler)) }()
			t.Cleanup(func() { cancel(); <-done })
			clocks = append(clocks, clk)
		}
		a, b := clocks[0], clocks[1]
		at, _ := a.Advance(7 * 24 * time.Hour)
		eventually(t, "b follows a's advance", func() bool { return b.Now().Equal(at) })
		bt, _ := b.Advance(time.Hour)
		eventually(t, "a follows b's advance", func() bool { return a.Now().Equal(bt) })
		if !bt.Equal(at.Add(time.Hour)) {
			t.Fatalf("b advanced from %v to %v, want an hour after a's %v", at, bt, at)
		}
	})
}
