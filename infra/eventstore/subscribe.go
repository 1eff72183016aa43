package eventstore

import (
	"context"
	"sync"
	"time"

	"seatledger/domain/event"
)

// Notifier wakes everyone waiting for the log to grow. Wait returns a
// channel that Broadcast closes; take the channel before reading the log,
// then wait on it, and no append can slip between the two.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewNotifier returns a Notifier with nobody waiting.
func NewNotifier() *Notifier { return &Notifier{ch: make(chan struct{})} }

// Wait returns a channel closed at the next Broadcast.
func (n *Notifier) Wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

// Broadcast wakes every current waiter.
func (n *Notifier) Broadcast() {
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
		woken := wake.Wait() // before reading: an append after the read closes it
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
		if len(page) == pageSize {
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-woken:
		case <-timer.C:
		}
	}
}
