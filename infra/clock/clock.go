// Package clock provides the ledger's time source: the wall clock, and a
// simulated clock that moves only when told, so that days of grace periods
// run in seconds in tests and demos (rule X-3).
package clock

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Clock tells the ledger's current time.
type Clock interface {
	Now() time.Time
}

// Real is the wall clock, in UTC.
type Real struct{}

// Now returns the wall-clock time in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// Simulated is a clock that stands still until advanced. It is safe for
// concurrent use. Time never moves backwards.
type Simulated struct {
	mu      sync.Mutex
	now     time.Time
	changed chan struct{}
}

// NewSimulated returns a simulated clock set to start (UTC).
func NewSimulated(start time.Time) *Simulated {
	return &Simulated{now: start.UTC(), changed: make(chan struct{})}
}

// Now returns the simulated time.
func (s *Simulated) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the clock forward by d and returns the new time.
func (s *Simulated) Advance(d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, fmt.Errorf("clock: cannot go back %s", -d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	close(s.changed)
	s.changed = make(chan struct{})
	return s.now, nil
}

// Set moves the clock to t, which must not be before the current time.
func (s *Simulated) Set(t time.Time) error {
	s.mu.Lock()
	d := t.Sub(s.now)
	s.mu.Unlock()
	_, err := s.Advance(d)
	return err
}

// Changed returns a channel closed at the next move of the clock, so that
// timer loops wake at once when simulated time passes a deadline.
func (s *Simulated) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// ParseDuration extends time.ParseDuration with whole days ("7d", "1d12h"),
// the unit people use for grace periods.
func ParseDuration(s string) (time.Duration, error) {
	var days int
	rest := s
	for i, c := range s {
		if c == 'd' {
			if _, err := fmt.Sscanf(s[:i], "%d", &days); err != nil || days < 0 || fmt.Sprint(days) != s[:i] {
				return 0, fmt.Errorf("clock: bad duration %q", s)
			}
			rest = s[i+1:]
			break
		}
		if c < '0' || c > '9' {
			break
		}
	}
	d := time.Duration(days) * 24 * time.Hour
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("clock: bad duration %q", s)
		}
		d += more
	}
	if s == "" {
		return 0, fmt.Errorf("clock: empty duration")
	}
	return d, nil
}

// Sleep waits d of wall time, or until ctx ends, and returns ctx's error
// then. Pauses between retries and polls are wall time whatever clock the
// ledger runs on: a simulated clock does not make a database come back
// sooner.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
