package timers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"seatledger/infra/clock"
)

// Stepper is a clock that can be set forward: the simulated clock.
type Stepper interface {
	clock.Clock
	// Set moves the clock to t, which must not be before its time.
	Set(t time.Time) error
}

var _ Stepper = (*clock.Simulated)(nil)

// Advanced is what an Advance did.
type Advanced struct {
	// From and To are the clock's times before and after.
	From, To time.Time
	// Fired counts the timers that fired on the way.
	Fired int
	// Retrying names the deliveries (HandleDelivery) that failed on the
	// way; the loop retries them with its backoff.
	Retrying []string
}

// ErrStopped is matched by the error of an Advance that stopped on the
// way (a *StoppedError).
var ErrStopped = errors.New("timers: the clock advance stopped")

// StoppedError says where an Advance stopped and why: a timer that kept
// failing, or process managers that did not catch up. The clock stays at
// At, the effects before it are recorded, and advancing again resumes.
type StoppedError struct {
	// At is the clock's time where it stopped.
	At time.Time
	// Timer and Kind name the timer that failed; empty when the process
	// managers did not catch up.
	Timer, Kind string
	// Err is the cause.
	Err error
}

func (e *StoppedError) Error() string {
	if e.Timer == "" {
		return fmt.Sprintf("timers: the clock advance stopped at %s: %v", e.At.UTC().Format(time.RFC3339), e.Err)
	}
	return fmt.Sprintf("timers: the clock advance stopped at %s: timer %s (%s) failed: %v",
		e.At.UTC().Format(time.RFC3339), e.Timer, e.Kind, e.Err)
}

// Unwrap returns the cause.
func (e *StoppedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrStopped) true.
func (e *StoppedError) Is(target error) bool { return target == ErrStopped }

// advanceAttempts is how often an Advance tries an effect's timer before
// it stops there: a passing failure (a lost race, a busy database) is
// retried at once, a lasting one stops the advance rather than record
// later effects before this one.
const advanceAttempts = 3

// Advance moves clk on by d — from its time when this advance's turn
// comes: advances run one at a time — through every timer due on the
// way, in due order (rule X-6): it sets clk to the next timer's due time, fires it
// (its handler decides at that time and records it as the effects'
// effective time), lets the process managers schedule what its events
// cause (Config.Settle), and goes on from there, so a timer that a fired
// one schedules before to fires in its turn within the same advance.
// One jump over a day thus records the same events, at the same times, as
// a day of small steps. It returns once every timer due by the new time
// has fired, with clk at it.
//
// Timers already due are fired first, at the current time. A delivery
// that fails is left for the loop's retries and named in Retrying; an
// effect's timer that fails advanceAttempts times, or process managers
// that do not catch up, stop the advance with a *StoppedError, clk at
// the time it stopped. While an advance runs, this process's loop fires
// nothing.
func (l *Loop) Advance(ctx context.Context, clk Stepper, d time.Duration) (Advanced, error) {
	l.firing.Lock()
	defer l.firing.Unlock()
	if d < 0 {
		return Advanced{}, fmt.Errorf("timers: cannot advance the clock back by %s", -d)
	}
	to := clk.Now().Add(d)
	res := Advanced{From: clk.Now(), To: to}
	stopped := func(t Timer, err error) error {
		return &StoppedError{At: clk.Now(), Timer: t.ID, Kind: t.Kind, Err: err}
	}
	// Events recorded before the advance may still have timers to
	// schedule (a report that began a grace).
	if err := l.settle(ctx); err != nil {
		return res, stopped(Timer{}, err)
	}
	var skip []string // deliveries that failed: the loop retries them
	failures := map[string]int{}
	for {
		next, ok, err := l.nextDue(ctx, pick{due: to, skip: skip})
		if err != nil {
			return res, err
		}
		if !ok {
			break
		}
		if next.After(clk.Now()) {
			if err := clk.Set(next); err != nil {
				return res, err
			}
		}
		t, found, herr, err := l.fireNext(ctx, pick{due: clk.Now(), skip: skip}, time.Now())
		switch {
		case err != nil:
			return res, err
		case !found:
			// Another process's loop holds it, or fired it meanwhile.
			if err := clock.Sleep(ctx, 10*time.Millisecond); err != nil {
				return res, err
			}
			continue
		case herr != nil && l.isDelivery(t.Kind):
			skip = append(skip, t.ID)
			res.Retrying = append(res.Retrying, t.ID)
			continue
		case herr != nil:
			if failures[t.ID]++; failures[t.ID] >= advanceAttempts {
				return res, stopped(t, herr)
			}
			if err := clock.Sleep(ctx, time.Duration(failures[t.ID])*50*time.Millisecond); err != nil {
				return res, err
			}
			continue
		}
		res.Fired++
		if err := l.settle(ctx); err != nil {
			return res, stopped(Timer{}, err)
		}
	}
	if err := clk.Set(to); err != nil {
		return res, err
	}
	return res, nil
}

// nextDue returns the due time of the first timer p picks.
func (l *Loop) nextDue(ctx context.Context, p pick) (time.Time, bool, error) {
	where, args := p.where()
	var due sql.NullInt64
	if err := l.db.QueryRowContext(ctx, l.db.Rebind(`SELECT MIN(due_at) FROM timers WHERE `+where), args...).Scan(&due); err != nil {
		return time.Time{}, false, fmt.Errorf("timers: next due timer: %w", err)
	}
	if !due.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(due.Int64).UTC(), true, nil
}

func (l *Loop) isDelivery(kind string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.deliveries[kind]
}
