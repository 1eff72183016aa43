package projections

import (
	"context"
	"encoding/json"
	"time"

	"seatledger/domain/event"
)

// Timer is a durable "at Due, do Kind" that a process manager schedules
// from its Apply, in the same transaction as its checkpoint, so that the
// schedule is as atomic as any other row it writes.
type Timer struct {
	// ID names the timer. The process manager derives it from what causes
	// the timer (e.g. "overuse-grace/" + installation ID + "/" + event ID),
	// so that replaying the same event schedules the same timer, and a
	// timer handler can derive the IDs of the events it appends from it.
	ID string
	// Kind selects the handler that fires the timer.
	Kind string
	// Due is when the timer fires, in ledger time (the simulated clock when
	// it runs).
	Due time.Time
	// Payload is what the handler needs, as JSON (nil: null).
	Payload json.RawMessage
	// Attempts is how many times firing was tried before; set by the timer
	// loop when it hands the timer to a handler, ignored when scheduling.
	Attempts int
}

// Scheduler stores and cancels timers inside a projection's transaction.
// It is implemented in infra.
type Scheduler interface {
	// Schedule stores t, or moves a pending timer with the same ID to t's
	// due time, kind and payload. A timer that already fired is never
	// armed again: its ID is spent, so a replay cannot fire it twice.
	Schedule(ctx context.Context, tx Tx, t Timer) error
	// Cancel stops the pending timer id; cancelling a fired or unknown
	// timer does nothing.
	Cancel(ctx context.Context, tx Tx, id string) error
}

// EventID returns the ID of the step'th event a handler appends when t
// fires: a name-based (version 5) UUID of the timer's ID and step. A
// handler that runs twice for the same timer (after a crash) proposes the
// same event IDs, and the event store's idempotent append (rule X-4) turns
// the second run into a no-op: the effect happens exactly once.
func (t Timer) EventID(step string) string {
	return event.NameUUID(timerNamespace[:], "timer/"+t.ID+"/"+step)
}

// timerNamespace is the UUID namespace of timer-derived event IDs (the RFC
// 4122 URL namespace; the "timer/" prefix keeps them apart from others).
var timerNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
