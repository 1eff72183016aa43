package projection

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// A stopped projection degrades only itself (issue 16): the runtime
// remembers which projections are halted at an event they cannot apply,
// so that every read that depends on one can answer "unavailable" naming
// it without a database round trip, while writes, the other projections
// and the reads that do not need it go on. Events are never skipped: the
// operator fixes the cause and Retry resumes the projection at the event
// it stopped at.

// stoppedFresh is how long a remembered halt (or its absence) is trusted
// before the checkpoint is read again, to see halts and retries made by
// other processes; this process's own Halt and Retry update it at once.
const stoppedFresh = time.Second

// stoppedState is what an entry remembers of its projection's halt.
type stoppedState struct {
	failure *Failure // nil: running
	checked time.Time
}

// remember records f (nil: running) as entry e's state as of now.
func (e *entry) remember(f *Failure) {
	e.stopped.Store(&stoppedState{failure: f, checked: time.Now()})
}

// Stopped returns where projection name is stopped and why, or nil while
// it runs. It answers from memory when that is at most a second old, so
// reads may ask it on every request. Reasons hold internal detail (a
// database's message): for operators, not for clients.
func (r *Runtime) Stopped(ctx context.Context, name string) (*Failure, error) {
	e, err := r.entry(name)
	if err != nil {
		return nil, err
	}
	if st := e.stopped.Load(); st != nil && time.Since(st.checked) < stoppedFresh {
		return st.failure, nil
	}
	cp, err := r.readCheckpoint(ctx, name)
	if err != nil {
		return nil, err
	}
	e.remember(cp.failure)
	return cp.failure, nil
}

// ErrNotStopped is returned by Retry for a projection that is running.
var ErrNotStopped = fmt.Errorf("projection: not stopped; nothing to retry")

// Retry resumes projection name, stopped at an event it could not apply,
// once the operator has fixed the cause (`ledger projections retry NAME`):
// its subscription delivers that same event again within the
// subscriber's HaltedPoll, in this process or whichever one runs it. If
// the event still fails, the projection stops there again after its
// retries. It returns the failure it cleared, or ErrNotStopped.
func (r *Runtime) Retry(ctx context.Context, name string) (Failure, error) {
	e, err := r.entry(name)
	if err != nil {
		return Failure{}, err
	}
	cp, err := r.readCheckpoint(ctx, name)
	if err != nil {
		return Failure{}, err
	}
	if cp.failure == nil {
		return Failure{}, fmt.Errorf("%w: projection %s is %s at position %d", ErrNotStopped, name, cp.state, cp.position)
	}
	if err := r.Resume(ctx, name); err != nil {
		return Failure{}, err
	}
	e.remember(nil)
	return *cp.failure, nil
}

// stoppedCache is the field entry keeps for Stopped.
type stoppedCache = atomic.Pointer[stoppedState]
