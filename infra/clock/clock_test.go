package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// rule X-3: time is an input; the simulated clock moves only when told.
func TestSimulated_moves_only_when_advanced(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := NewSimulated(start)
	if !c.Now().Equal(start) {
		t.Fatalf("now = %v, want %v", c.Now(), start)
	}
	changed := c.Changed()
	if _, err := c.Advance(7 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed was not signalled by Advance")
	}
	if got, want := c.Now(), start.AddDate(0, 0, 7); !got.Equal(want) {
		t.Fatalf("now = %v, want %v", got, want)
	}
	if _, err := c.Advance(-time.Second); err == nil {
		t.Fatal("advancing backwards succeeded")
	}
	if err := c.Set(start); err == nil {
		t.Fatal("setting the clock into the past succeeded")
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "0d": 0, "30s": 30 * time.Second,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "7x", "1d2", "seven days"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestSleep_waits_or_ends_with_its_context(t *testing.T) {
	t.Parallel()
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v after its duration, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context = %v, want context.Canceled", err)
	}
}
