// Package timers keeps the process managers' durable timers in the SQL
// read store (SQLite or PostgreSQL through infra/sqldb): scheduled inside a
// projection's transaction, fired by a Loop through handlers registered by
// kind, exactly once even with several ledgerd processes on one
// PostgreSQL, and surviving restarts because they are rows, not
// goroutines. It also persists the simulated clock (LoadSimulatedTime,
// SaveSimulatedTime), so that timers due in simulated time stay due after
// a restart of ledgerd --clock=simulated.
//
// Exactly once: a timer is marked fired in the same transaction that
// claimed it (PostgreSQL) or under a claim only its loop can complete
// (SQLite), so it is recorded as fired once. Its handler can still run
// twice if a process dies after the handler's effect but before that mark.
// Handlers must therefore be idempotent, and they are by construction:
// they dispatch commands whose event IDs are derived from the timer
// (projections.Timer.EventID), so the event store's idempotent append
// makes the second run a no-op.
package timers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"seatledger/projections"
)

// Timer is a durable "at Due, do Kind"; see projections.Timer.
type Timer = projections.Timer

// Scheduler implements projections.Scheduler over the timers table.
type Scheduler struct{}

var _ projections.Scheduler = Scheduler{}

// Schedule implements projections.Scheduler; see the package function.
func (Scheduler) Schedule(ctx context.Context, tx projections.Tx, t Timer) error {
	return Schedule(ctx, tx, t)
}

// Cancel implements projections.Scheduler; see the package function.
func (Scheduler) Cancel(ctx context.Context, tx projections.Tx, id string) error {
	return Cancel(ctx, tx, id)
}

// ErrInvalid is matched by the error of Schedule for a timer without ID,
// kind or due time, or with a payload that is not JSON.
var ErrInvalid = errors.New("timers: invalid timer")

// Schedule stores t in tx (normally the transaction of the projection that
// decided it, so that the timer exists if and only if the checkpoint
// moved). Scheduling an ID again moves the pending timer to t's due time,
// kind and payload, and re-arms a cancelled one; a timer that already
// fired is never armed again, so replaying the log (a rebuild) cannot
// fire it twice.
func Schedule(ctx context.Context, tx projections.Tx, t Timer) error {
	var errs []error
	if t.ID == "" {
		errs = append(errs, errors.New("no ID"))
	}
	if t.Kind == "" {
		errs = append(errs, errors.New("no kind"))
	}
	if t.Due.IsZero() {
		errs = append(errs, errors.New("no due time"))
	}
	payload := t.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	if !json.Valid(payload) {
		errs = append(errs, errors.New("payload is not JSON"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w %q: %w", ErrInvalid, t.ID, errors.Join(errs...))
	}
	err := tx.Exec(ctx, `INSERT INTO timers (id, kind, due_at, payload) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, payload = excluded.payload,
			status = 'pending', claimed_by = '', claimed_until = 0
		WHERE timers.status <> 'fired'`,
		t.ID, t.Kind, t.Due.UnixMicro(), string(payload))
	if err != nil {
		return fmt.Errorf("timers: schedule %s (%s) at %s: %w", t.ID, t.Kind, t.Due.UTC().Format("2006-01-02T15:04:05Z"), err)
	}
	return nil
}

// Cancel stops the pending timer id in tx. Cancelling a timer that fired,
// was cancelled or does not exist does nothing.
func Cancel(ctx context.Context, tx projections.Tx, id string) error {
	if err := tx.Exec(ctx, `UPDATE timers SET status = 'cancelled' WHERE id = ? AND status = 'pending'`, id); err != nil {
		return fmt.Errorf("timers: cancel %s: %w", id, err)
	}
	return nil
}
