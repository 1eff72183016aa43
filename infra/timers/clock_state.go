package timers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
)

// LoadSimulatedTime returns the simulated time last saved in db, and false
// if none was ever saved.
func LoadSimulatedTime(ctx context.Context, db *sqldb.DB) (time.Time, bool, error) {
	var us int64
	err := db.QueryRowContext(ctx, `SELECT simulated_at FROM clock_state WHERE id = 1`).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("timers: load simulated time: %w", err)
	}
	return time.UnixMicro(us).UTC(), true, nil
}

// SaveSimulatedTime stores t as the simulated time. It never moves the
// stored time back (the simulated clock never goes back either), so
// concurrent or late saves are harmless.
func SaveSimulatedTime(ctx context.Context, db *sqldb.DB, t time.Time) error {
	_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO clock_state (id, simulated_at, saved_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET simulated_at = excluded.simulated_at, saved_at = excluded.saved_at
		WHERE clock_state.simulated_at <= excluded.simulated_at`),
		t.UnixMicro(), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("timers: save simulated time %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// RestoreSimulated returns a simulated clock at the time saved in db, or
// at start if none was saved (a first run), so that a restarted
// ledgerd --clock=simulated resumes the time it had instead of jumping
// back to start and leaving timers it fired due again.
func RestoreSimulated(ctx context.Context, db *sqldb.DB, start time.Time) (*clock.Simulated, error) {
	saved, ok, err := LoadSimulatedTime(ctx, db)
	if err != nil {
		return nil, err
	}
	if ok {
		start = saved
	}
	clk := clock.NewSimulated(start)
	if err := SaveSimulatedTime(ctx, db, clk.Now()); err != nil {
		return nil, err
	}
	return clk, nil
}

// followEvery is how often KeepSimulatedTime looks for a move of the
// simulated clock made by another process.
const followEvery = 25 * time.Millisecond

// KeepSimulatedTime keeps clk and the database's simulated time together
// until ctx ends (it then returns ctx's error): it saves clk's time every
// time it moves, and moves clk on to the saved time whenever another
// process advanced it (rule X-8: every ledgerd on one database runs on
// one simulated time, whichever of them was told to advance it). Neither
// ever goes back, so the processes settle on the latest time any of them
// reached. A save or a look that fails (the database is restarting or
// failing over) is logged and tried again; it never stops the server. The
// admin endpoint that advances the clock may also call SaveSimulatedTime
// itself, to have the new time stored before it answers.
func KeepSimulatedTime(ctx context.Context, db *sqldb.DB, clk *clock.Simulated, log *slog.Logger) error {
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	var saved time.Time
	failing := false
	for {
		moved := clk.Changed() // before saving: a move during the save is not missed
		err := func() error {
			if now := clk.Now(); now.After(saved) {
				if err := SaveSimulatedTime(ctx, db, now); err != nil {
					return err
				}
				saved = now
			}
			latest, ok, err := LoadSimulatedTime(ctx, db)
			if err != nil {
				return err
			}
			if ok && latest.After(clk.Now()) {
				saved = latest
				return clk.Set(latest) // another process advanced it
			}
			return nil
		}()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("keeping the simulated time in step with the database failed; trying again", "error", err)
			failing = true
		case err == nil && failing:
			log.Info("the simulated time is in step with the database again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		case <-tick.C:
		}
	}
}
