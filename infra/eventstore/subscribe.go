package eventstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"seatledger/domain/event"
)

// Notifier wakes everyone waiting for the log to grow. Wait returns a
// channel that Broadcast closes; take the channel before reading the log,
// then wait on it, and no append can slip between the two.
//
// It also keeps the highest log head it was told of (Advance), by this
// process's commits or another's: a follower whose read stopped short of
// it reads on instead of waiting.
type Notifier struct {
	mu   sync.Mutex
	ch   chan struct{}
	head atomic.Uint64
	// unheard counts the wakes that told no head (Broadcast): something
	// may have changed that nobody can say.
	unheard atomic.Uint64
}

// NewNotifier returns a Notifier with nobody waiting.
func NewNotifier() *Notifier { return &Notifier{ch: make(chan struct{})} }

// Wait returns a channel closed at the next Broadcast.
func (n *Notifier) Wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

// Advance records that the log reaches at least head, and wakes every
// current waiter.
func (n *Notifier) Advance(head uint64) {
	for {
		cur := n.head.Load()
		if head <= cur || n.head.CompareAndSwap(cur, head) {
			break
		}
	}
	n.wake()
}

// Head returns the highest log head Advance was told of (0: none).
func (n *Notifier) Head() uint64 { return n.head.Load() }

// Broadcast wakes every current waiter without telling a head: the log
// may have grown in a way nobody can say (commits made while a listener
// was away), so a follower reads again.
func (n *Notifier) Broadcast() {
	n.unheard.Add(1)
	n.wake()
}

// Unheard counts the Broadcasts so far.
func (n *Notifier) Unheard() uint64 { return n.unheard.Load() }

func (n *Notifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.ch)
	n.ch = make(chan struct{})
}

// LogReader is the part of Store that reads the global log.
type LogReader interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error)
}

// Follow implements Store.Subscribe for backends whose log can be read by
// position: it reads pages after the checkpoint until it is caught up, then
// waits for wake (or for poll to pass, which covers appends by other
// processes that nobody signals) and reads again.
func Follow(ctx context.Context, r LogReader, wake *Notifier, poll time.Duration, after uint64, handle func(event.Record) error) error {
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		woken, unheard := wake.Wait(), wake.Unheard() // before reading: an append after the read closes it
		page, err := r.ReadAll(ctx, after, pageSize)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		for _, rec := range page {
			if err := handle(rec); err != nil {
				return err
			}
			after = rec.Position
		}
		// A full page, or a page that stopped short of a head this process
		// was told of, is not the end: a read may be answered from this
		// process's own latest commits (Tail), which end before the events
		// another process appended after them.
		if len(page) == pageSize || (len(page) > 0 && after < wake.Head()) {
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		timer.Reset(poll)
		if err := awaitNews(ctx, wake, woken, unheard, after, timer.C); err != nil {
			return err
		}
	}
}

// awaitNews waits until the log may hold events after after that the
// follower has not read: a head past it was told, a wake told no head
// (Broadcast, counted by Unheard since unheard), or poll passed. A wake
// by commits the follower has read already (they closed woken while it
// read on) is no news: it waits again instead of reading the database
// for nothing, which every follower of the log did after most batches
// (issue 21).
func awaitNews(ctx context.Context, wake *Notifier, woken <-chan struct{}, unheard, after uint64, poll <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll:
			return nil
		case <-woken:
		}
		if after < wake.Head() || wake.Unheard() != unheard {
			return nil
		}
		woken = wake.Wait() // before looking again: a wake after the look closes it
		if after < wake.Head() || wake.Unheard() != unheard {
			return nil
		}
	}
}
