package queries_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

// BenchmarkMembers lists a page of 50 members of an account with 10,000,
// as the portal does: the first page, a search, a role filter, and a page
// deep in the list. Target: p99 ≤ 10 ms. It reports p50 and p99.
func BenchmarkMembers(b *testing.B) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			db := directory(b, engine.target(b), 10_000)
			deep, err := queries.Members(context.Background(), db, queries.MembersFilter{AccountID: "acc-1", Limit: 200,
				After: "last50\x1ffirst"})
			if err != nil || len(deep.Members) == 0 {
				b.Fatalf("deep page: %v", err)
			}
			for _, c := range []struct {
				name string
				f    queries.MembersFilter
			}{
				{"first-page", queries.MembersFilter{AccountID: "acc-1"}},
				{"search", queries.MembersFilter{AccountID: "acc-1", Search: "first123"}},
				{"admins", queries.MembersFilter{AccountID: "acc-1", Role: "admin"}},
				{"blocked-search", queries.MembersFilter{AccountID: "acc-1", Status: "blocked", Search: "last4"}},
				{"deep-page", queries.MembersFilter{AccountID: "acc-1", After: "last50\x1ffirst"}},
			} {
				b.Run(c.name, func(b *testing.B) {
					ctx := context.Background()
					var lat []time.Duration
					for b.Loop() {
						start := time.Now()
						if _, err := queries.Members(ctx, db, c.f); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					reportPercentiles(b, lat)
				})
			}
		})
	}
}

// reportPercentiles adds p50 and p99 latency (ms) to the benchmark's output.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
