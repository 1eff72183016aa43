package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstorebench"
)

// BenchmarkAppend measures single-event appends to distinct streams with
// exact expected versions, fsync on (synchronous=FULL), at 1, 8 and 32
// concurrent writers, with store-assigned and with caller-chosen event IDs.
// Target: ≥ 20,000 appends/s at 32 writers.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		writers   int
		callerIDs bool
	}{{1, false}, {8, false}, {32, false}, {32, true}} {
		b.Run(fmt.Sprintf("writers=%d/caller-ids=%v", c.writers, c.callerIDs), func(b *testing.B) {
			s := openTestStore(b, clock.Real{})
			b.ResetTimer()
			rep, err := eventstorebench.Append(context.Background(), s, c.writers, time.Hour, int64(b.N), c.callerIDs)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rep.PerSecond(), "appends/s")
			b.ReportMetric(float64(rep.P99.Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkReplay reads a 200,000-event log into a no-op projection.
// Target: ≥ 200,000 events/s.
func BenchmarkReplay(b *testing.B) {
	s := openTestStore(b, clock.Real{})
	if err := eventstorebench.Fill(context.Background(), s, 200_000, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := eventstorebench.Replay(context.Background(), s, 2000, 2)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rep.PerSecond(), "events/s")
	}
}

// BenchmarkLiveSubscription measures append-to-handler latency at 1,000
// appends/s. Target: p99 under 50 ms.
func BenchmarkLiveSubscription(b *testing.B) {
	s := openTestStore(b, clock.Real{})
	for b.Loop() {
		rep, err := eventstorebench.LiveLatency(context.Background(), s, 1000, 3*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.P99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(rep.P50.Microseconds())/1000, "p50-ms")
	}
}
