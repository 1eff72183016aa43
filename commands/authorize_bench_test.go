package commands_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// BenchmarkAuthorize is the authorization decision of one request: the
// cached account of 10,000 members brought up to its stream's version
// (one read that finds no new event) and the policy asked. Target:
// median ≤ 50 µs. It reports p50 and p99 in µs.
func BenchmarkAuthorize(b *testing.B) {
	forEachEngineB(b, func(b *testing.B, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		if _, err := h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme}); err != nil {
			b.Fatal(err)
		}
		for batch := range 20 {
			evs := make([]event.Proposed, 500)
			for i := range evs {
				evs[i] = event.Proposed{Type: account.TypeMemberJoined, SchemaVersion: 1,
					Data:     fmt.Appendf(nil, `{"person_id":"p-%d"}`, batch*500+i),
					Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "bench"}}}
			}
			if _, err := store.Append(ctx, account.StreamID("acc-1"), event.Any(), evs...); err != nil {
				b.Fatal(err)
			}
		}
		member := event.Actor{Kind: event.ActorPerson, ID: "p-4242"}
		if err := h.Accounts.Authorize(ctx, member, "acc-1", account.ActionView); err != nil {
			b.Fatal(err) // also warms the cache
		}
		var lat []time.Duration
		for b.Loop() {
			start := time.Now()
			if err := h.Accounts.Authorize(ctx, member, "acc-1", account.ActionView); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
	})
}

// forEachEngineB gives fn the write side (a commands.Set) on an empty event store of
// every SQL engine, for benchmarks.
func forEachEngineB(b *testing.B, fn func(b *testing.B, h *commands.Set, store eventstore.Store)) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			target := engine.target(b)
			db := sqldbtest.Open(b, target)
			clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			store, err := storage.OpenStore(context.Background(), db, storage.Options{Database: target, Clock: clk})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			fn(b, newSet(b, commands.Config{Store: store, Registry: registry(), Clock: clk, Keys: keys}), store)
		})
	}
}
