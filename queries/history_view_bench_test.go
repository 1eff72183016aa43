package queries_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/subscription"
	"seatledger/projections"
	"seatledger/queries"
)

// BenchmarkHistoryView reads the first page of the history panel (20
// entries) as people read it and as raw events, of the two histories
// that cost the most: a subscription of 100 sublicenses, whose every
// event folds and compares 100 keys, and a farm of 5,000 usage reports
// that change nothing seen, which the view counts as one run (reading up
// to its bound of 100 events a page). "raw" is Audit.History of 20
// events; "view" is Audit.HistoryView of 20 entries with its names.
//
//	go test -run XXX -bench BenchmarkHistoryView -benchtime 200x ./queries
func BenchmarkHistoryView(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			l := newTestLog(b, e.target(b), projections.Directory{}, projections.Licenses{}, projections.Installations{})
			sub := subscription.StreamID("s-bench")
			l.Append(sub, purchased("s-bench", "farms", 1000, subscription.Year, subscription.Online, at(365*day)),
				subscription.Registered{AccountID: "acc-1", By: "p-ada"})
			keys := make([]any, 100)
			for i := range keys {
				keys[i] = subscription.SublicenseCreated{Key: sealed(fmt.Sprintf("key-bench-%03d", i)), Name: fmt.Sprintf("Site %d", i), Quota: 5, By: "p-ada"}
			}
			l.Append(sub, keys...)
			farm := installation.StreamID("inst-bench")
			l.Append(farm, farmActivated("inst-bench", "Bench", "key-s-bench-p", "s-bench", "acc-1", 50, at(365*day)))
			for range 5 {
				reports := make([]any, 1000)
				for i := range reports {
					reports[i] = installation.UsageReported{Seats: 12, Quota: 50, ObservedAt: l.Clock.Now(), Current: true}
				}
				l.Append(farm, reports...)
			}
			l.Rebuild()
			a := newAudit(l, 1024)
			cases := []struct {
				name string
				kind queries.EntityKind
				id   string
			}{{"subscription", queries.KindSubscription, "s-bench"}, {"farm", queries.KindInstallation, "inst-bench"}}
			took := map[string][]time.Duration{}
			b.ResetTimer()
			for range b.N {
				for _, c := range cases {
					start := time.Now()
					if _, err := a.History(ctx, c.kind, c.id, queries.HistoryQuery{Limit: 20}); err != nil {
						b.Fatal(err)
					}
					took[c.name+"-raw"] = append(took[c.name+"-raw"], time.Since(start))
					start = time.Now()
					v, err := a.HistoryView(ctx, l.DB, c.kind, c.id, queries.HistoryQuery{Limit: 20}, "p-ada")
					took[c.name+"-view"] = append(took[c.name+"-view"], time.Since(start))
					if err != nil || len(v.Entries) == 0 {
						b.Fatalf("%s: %v, %d entries", c.name, err, len(v.Entries))
					}
				}
			}
			b.StopTimer()
			for _, name := range slices.Sorted(maps.Keys(took)) {
				d := took[name]
				slices.Sort(d)
				b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-p50-ms")
				b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, name+"-p99-ms")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
