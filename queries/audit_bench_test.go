package queries_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/queries"
)

// benchStreamEvents is the length of the stream the as-of benchmark reads.
const benchStreamEvents = 100_000

// BenchmarkAuditStateAsOf reads the state of one installation whose stream
// holds 100,000 events (an activation and usage reports, a year of them)
// as of random log positions and recorded times (issue 7's target: p99 ≤
// 50 ms). Snapshots are taken as the stream grows, as ledgerd's snapshot
// worker takes them (Audit.TakeSnapshot at every 1,024th version);
// "fold_ms" is one read folding the whole stream, without snapshots.
//
//	go test -run XXX -bench BenchmarkAuditStateAsOf -benchtime 2000x ./queries
func BenchmarkAuditStateAsOf(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			l := newTestLog(b, e.target(b))
			stream := installation.StreamID("inst-bench")
			l.Append(stream, farmActivated("inst-bench", "Bench", "key-b", "s-b", "acc-1", 50, at(365*day)))
			rng := rand.New(rand.NewPCG(3, 5))
			const batch = 1_000
			for n := 1; n < benchStreamEvents; n += batch {
				evs := make([]any, min(batch, benchStreamEvents-n))
				for i := range evs {
					evs[i] = installation.UsageReported{Seats: rng.IntN(60), Quota: 50, ObservedAt: l.Clock.Now(), Current: true}
				}
				l.Append(stream, evs...)
			}
			head, err := l.Store.Head(ctx)
			if err != nil {
				b.Fatal(err)
			}
			first, last := t0, l.Clock.Now()
			start := time.Now()
			if _, err := (&queries.Audit{Log: l.Store, Registry: l.Registry}).State(ctx, queries.KindInstallation, "inst-bench", queries.AsOf{}); err != nil {
				b.Fatal(err)
			}
			fold := time.Since(start)
			a := &queries.Audit{Log: l.Store, Registry: l.Registry, Snapshots: l.DB}
			for v := uint64(1024); v <= benchStreamEvents; v += 1024 {
				if err := a.TakeSnapshot(ctx, stream, v); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				q := queries.AsOf{Position: 1 + rng.Uint64N(head)}
				if i%2 == 1 {
					q = queries.AsOf{RecordedAt: first.Add(time.Duration(rng.Int64N(int64(last.Sub(first)))))}
				}
				start := time.Now()
				st, err := a.State(ctx, queries.KindInstallation, "inst-bench", q)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if st.Exists && (len(st.Streams) != 1 || st.Streams[0].Version == 0) {
					b.Fatalf("state %+v", st)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(fold.Microseconds())/1000, "fold_ms")
		})
	}
}
