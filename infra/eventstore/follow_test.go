package eventstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"seatledger/domain/event"
)

// countingLog is a LogReader over records held in memory that counts its
// reads, and those that found nothing.
type countingLog struct {
	mu           sync.Mutex
	recs         []event.Record
	reads, empty int
	// during, if set, runs inside the next read, before it looks (a commit
	// landing while the follower reads).
	during func()
}

func (l *countingLog) add(position uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, event.Record{Position: position})
}

func (l *countingLog) ReadAll(_ context.Context, after uint64, limit int) ([]event.Record, error) {
	l.mu.Lock()
	during := l.during
	l.during = nil
	l.mu.Unlock()
	if during != nil {
		during()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	var out []event.Record
	for _, r := range l.recs {
		if r.Position > after && len(out) < limit {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		l.empty++
	}
	return out, nil
}

func (l *countingLog) counts() (reads, empty int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads, l.empty
}

// Issue 21: a follower whose read found commits made since it last looked
// is not sent back to the log by their wake-ups, which it has read
// already: it waits for news. A wake that tells no head (a listener that
// was away) still makes it read.
func TestFollow_reads_again_only_for_news(t *testing.T) {
	log, wake := &countingLog{}, NewNotifier()
	handled := make(chan uint64, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log.add(1)
	wake.Advance(1)
	log.during = func() { // commit 2 lands while the first read runs
		log.add(2)
		wake.Advance(2)
	}
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, log, wake, time.Hour, 0, func(r event.Record) error {
			handled <- r.Position
			return nil
		})
	}()
	waitFor := func(want uint64) {
		t.Helper()
		select {
		case got := <-handled:
			if got != want {
				t.Fatalf("handled %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("position %d was not handled", want)
		}
	}
	eventuallyReads := func(min int) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if reads, _ := log.counts(); reads >= min {
				return
			}
		}
		t.Fatalf("fewer than %d reads", min)
	}
	waitFor(1)
	waitFor(2)
	time.Sleep(50 * time.Millisecond) // time enough for a needless read
	if reads, empty := log.counts(); empty != 0 {
		t.Errorf("%d of %d reads found nothing: the follower read again for a commit it had read", empty, reads)
	}

	reads, _ := log.counts()
	wake.Broadcast()
	eventuallyReads(reads + 1)

	log.add(3)
	wake.Advance(3)
	waitFor(3)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Follow ended with %v, want context.Canceled", err)
	}
}
