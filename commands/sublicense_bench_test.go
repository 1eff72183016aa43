package commands_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/subscription"
	"seatledger/infra/eventstore"
)

// BenchmarkCreateSublicense creates sublicenses from 32 concurrent
// clients across 256 registered subscriptions of 100,000 seats, as the
// portal's users do all day. Each creation appends the key's stream and
// the subscription's event under its exact version (KEY-4). Target on
// PostgreSQL: ≥ 2,000 creations/s. It reports creations/s.
func BenchmarkCreateSublicense(b *testing.B) {
	forEachEngineB(b, func(b *testing.B, h *commands.Set, _ eventstore.Store) {
		ctx := context.Background()
		if _, err := h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme}); err != nil {
			b.Fatal(err)
		}
		catalogB(b, h)
		const subscriptions = 256
		subs := make([]string, subscriptions)
		for i := range subs {
			p, err := h.Orders.Purchase(ctx, backOffice, subscription.Order{ID: fmt.Sprintf("bench-%d", i), ProductID: "ras", Seats: 100_000,
				Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: p.Key, AccountID: "acc-1"}); err != nil {
				b.Fatal(err)
			}
			subs[i] = p.SubscriptionID
		}
		var next, conflicts atomic.Int64
		b.SetParallelism(16) // 32 clients on 2 CPUs
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sub := subs[next.Add(1)%subscriptions]
				for {
					_, err := h.Subscriptions.CreateSublicense(ctx, as("ada"), sub, subscription.Sublicense{Name: "Branch", Quota: 1})
					if err == nil {
						break
					}
					if !isConflict(err) {
						b.Error(err)
						return
					}
					conflicts.Add(1) // lost five races: the client retries
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creations/s")
		b.ReportMetric(float64(conflicts.Load()), "retries")
	})
}

func catalogB(b *testing.B, h *commands.Set) {
	b.Helper()
	if _, err := h.Orders.DefineProduct(context.Background(), backOffice, productRAS); err != nil {
		b.Fatal(err)
	}
}
