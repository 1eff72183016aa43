package timers_test

import (
	"context"
	"testing"
	"time"

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
		go func() { done <- timers.KeepSimulatedTime(kctx, db, clk) }()
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
