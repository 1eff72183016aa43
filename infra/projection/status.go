package projection

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is a projection's condition.
type State struct{ s string }

// The states of a projection.
var (
	// StateLive: applying events as they come (possibly catching up).
	StateLive = State{"live"}
	// StateFailed: stopped at an event it could not apply (see Failure).
	StateFailed = State{"failed"}
	// StateRebuilding: being replayed from position zero.
	StateRebuilding = State{"rebuilding"}
)

// String returns the state's stable name.
func (s State) String() string { return s.s }

func parseState(s string) State {
	for _, st := range []State{StateLive, StateFailed, StateRebuilding} {
		if st.s == s {
			return st
		}
	}
	return State{s}
}

// Failure names the event a failed projection stopped at, and why.
type Failure struct {
	Position  uint64
	StreamID  string
	Version   uint64
	EventType string
	Reason    string
}

// Status is where a projection stands.
type Status struct {
	Name string
	// Position is the position of the last event applied.
	Position uint64
	// Head is the log's last position when the status was read.
	Head uint64
	// Lag is Head - Position: the events still to apply (positions are
	// contiguous on the SQL event stores; on KurrentDB it is an upper bound).
	Lag uint64
	// State is live, failed or rebuilding.
	State State
	// Failure is set when State is StateFailed.
	Failure *Failure
	// UpdatedAt is when the checkpoint last changed (zero: never).
	UpdatedAt time.Time
}

// Status returns every projection's status, in configuration order.
func (r *Runtime) Status(ctx context.Context) ([]Status, error) {
	head, err := r.cfg.Log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection: status: read log head: %w", err)
	}
	out := make([]Status, 0, len(r.order))
	for _, e := range r.order {
		name := e.p.Name()
		cp, err := r.readCheckpoint(ctx, name)
		if err != nil {
			return nil, err
		}
		if cp.state != StateFailed { // events passed over count as applied
			cp.position = max(cp.position, e.applied.Load())
		}
		st := Status{Name: name, Position: cp.position, Head: head, State: cp.state, Failure: cp.failure}
		if cp.position < head {
			st.Lag = head - cp.position
		}
		if cp.updatedAt.UnixMicro() != 0 {
			st.UpdatedAt = cp.updatedAt
		}
		out = append(out, st)
	}
	return out, nil
}

// ErrFailed is matched by every *FailedError.
var ErrFailed = errors.New("projection: failed")

// FailedError is returned by WaitFor and Rebuild for a projection that is
// stopped at an event it cannot apply.
type FailedError struct {
	Name    string
	Failure Failure
}

func (e *FailedError) Error() string {
	f := e.Failure
	return fmt.Sprintf("projection %s is stopped at position %d (stream %q version %d, %s): %s; fix the cause, then resume or rebuild it",
		e.Name, f.Position, f.StreamID, f.Version, f.EventType, f.Reason)
}

// Is makes errors.Is(err, ErrFailed) true.
func (e *FailedError) Is(target error) bool { return target == ErrFailed }

// ErrNotCaughtUp is matched by every *NotCaughtUpError.
var ErrNotCaughtUp = errors.New("projection: not caught up")

// NotCaughtUpError is returned by WaitFor when the projection did not
// reach the position in time.
type NotCaughtUpError struct {
	Name          string
	Want, Reached uint64
	Waited        time.Duration
}

func (e *NotCaughtUpError) Error() string {
	return fmt.Sprintf("projection %s reached position %d, not %d, within %s: its read model does not show that write yet",
		e.Name, e.Reached, e.Want, e.Waited)
}

// Is makes errors.Is(err, ErrNotCaughtUp) true.
func (e *NotCaughtUpError) Is(target error) bool { return target == ErrNotCaughtUp }

// WaitFor blocks until projection name has applied the event at position
// (its checkpoint is at least position), so that a query after a command
// reads its own writes. It returns a *NotCaughtUpError after timeout, a
// *FailedError at once if the projection is stopped at a failure, and
// ctx's error if ctx ends first.
func (r *Runtime) WaitFor(ctx context.Context, name string, position uint64, timeout time.Duration) error {
	e, err := r.entry(name)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTimer(r.cfg.WaitPoll)
	defer poll.Stop()
	for {
		woken := r.progress.Wait() // before reading: a move after the read wakes us
		cp, err := r.readCheckpoint(ctx, name)
		if err != nil {
			return err
		}
		if cp.position >= position || (cp.state != StateFailed && e.applied.Load() >= position) {
			return nil
		}
		if cp.state == StateFailed {
			return &FailedError{Name: name, Failure: *cp.failure}
		}
		poll.Reset(r.cfg.WaitPoll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if last, err := r.readCheckpoint(ctx, name); err == nil {
				if last.position >= position {
					return nil
				}
				cp = last
			}
			return &NotCaughtUpError{Name: name, Want: position, Reached: cp.position, Waited: timeout}
		case <-woken:
		case <-poll.C:
		}
	}
}

// Moved returns a channel closed at the next move of any projection's
// checkpoint in this process (queries.Progress): live followers of a read
// model wake on it rather than poll. Moves made by other processes do not
// close it; those followers poll for them.
func (r *Runtime) Moved() <-chan struct{} { return r.progress.Wait() }
