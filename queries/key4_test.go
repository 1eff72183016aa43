package queries_test

import (
	"context"
	"maps"
	"testing"

	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// Rule KEY-4 lives once, in subscription.Allocation, and three places
// count with it: the aggregate (what the commands decide on), the
// licenses read model (the quotas the portal shows) and the finance
// reconciliation (its fold of the log). After every event of a history
// that creates, resizes, expires (KEY-3) and deletes (KEY-6) sublicenses,
// buys seats, and — through events that bypassed the commands — reserves
// more than was bought, the three agree on every key's quota, the seats
// reserved and the primary key's remainder. A copy of the arithmetic
// that drifted (an expired key still counted, a deleted one forgotten, a
// clamp at zero) fails here.
func TestKEY4_aggregate_read_model_and_reconciliation_agree(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newTestLog(t, target, projections.Licenses{})
		const id = "key4"
		in40 := t0.AddDate(0, 0, 40)
		history := []any{
			subscription.Purchased{SubscriptionID: id, OrderID: "o-1", OrderDigest: "d1", ProductID: "farms", Seats: 10,
				Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard,
				Start: t0, End: t0.AddDate(1, 0, 0), PrimaryKey: sealed("k4-primary")},
			subscription.Registered{AccountID: "acc-1", By: "p-1"},
			subscription.SublicenseCreated{Key: sealed("k4-lab"), Name: "Lab", Quota: 3, ExpiresAt: &in40, By: "p-1"},
			subscription.SublicenseCreated{Key: sealed("k4-office"), Name: "Office", Quota: 4, By: "p-1"},
			subscription.SeatsAdded{OrderID: "o-2", OrderDigest: "d2", Seats: 5},
			subscription.SublicenseChanged{KeyID: "k4-office", Quota: 6, By: "p-1"},
			subscription.SublicenseGraceStarted{KeyID: "k4-lab", KeyName: "Lab", ExpiresAt: in40},
			subscription.SublicenseExpired{KeyID: "k4-lab", KeyName: "Lab", ExpiresAt: in40, Quota: 3},
			subscription.SublicenseCreated{Key: sealed("k4-annex"), Name: "Annex", Quota: 2, By: "p-1"},
			// Not through the commands, which refuse it: 6 + 2 + 12 of 15.
			subscription.SublicenseCreated{Key: sealed("k4-rogue"), Name: "Rogue", Quota: 12, By: "p-1"},
			subscription.SublicenseDeleted{KeyID: "k4-office", By: "p-1"},
			subscription.SeatsAdded{OrderID: "o-3", OrderDigest: "d3", Seats: 1},
			subscription.SublicenseDeleted{KeyID: "k4-rogue", By: "p-1"},
		}
		var agg subscription.Subscription
		overAllocated := false
		for _, e := range history {
			l.One(subscription.StreamID(id), e)
			agg = agg.Evolve(e)
			l.Rebuild()
			alloc := agg.Allocation()
			overAllocated = overAllocated || alloc.Primary() < 0

			want := map[string]int{}
			for _, k := range agg.Keys() {
				want[k.ID] = k.Quota
			}
			if want[agg.PrimaryKey().ID] != alloc.Primary() {
				t.Fatalf("after %T: the aggregate's primary quota %d is not its allocation's %d", e, want[agg.PrimaryKey().ID], alloc.Primary())
			}

			shown := map[string]int{}
			rows, err := l.DB.Select(ctx, `SELECT key_id, quota FROM lic_keys WHERE subscription_id = ?`, id)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var key string
				var quota int
				if err := rows.Scan(&key, &quota); err != nil {
					t.Fatal(err)
				}
				shown[key] = quota
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if !maps.Equal(shown, want) {
				t.Errorf("after %T: read model quotas %v, aggregate %v", e, shown, want)
			}

			rec, err := queries.Reconcile(ctx, scanOf(l), l.Registry, queries.ReconciliationQuery{
				Period: queries.Period{From: t0, To: t0.AddDate(2, 0, 0)}, SubscriptionID: id})
			if err != nil {
				t.Fatal(err)
			}
			s := rec.Subscriptions[0]
			folded := map[string]int{}
			for _, k := range s.Keys {
				if k.DeletedAt == nil {
					folded[k.KeyID] = k.Quota
				}
			}
			if !maps.Equal(folded, want) || s.SublicenseSeats != alloc.Reserved() || s.PrimaryRemainder != alloc.Primary() ||
				s.SeatsPurchased != alloc.Seats() {
				t.Errorf("after %T: reconciliation quotas %v, reserved %d, remainder %d of %d; aggregate %v, reserved %d, primary %d of %d",
					e, folded, s.SublicenseSeats, s.PrimaryRemainder, s.SeatsPurchased, want, alloc.Reserved(), alloc.Primary(), alloc.Seats())
			}
		}
		if !overAllocated {
			t.Fatal("the history never reserved more than was bought")
		}
		// The history ends where the hand computation says: 16 seats, the
		// annex's 2 reserved, 14 on the primary key.
		if a := agg.Allocation(); a.Seats() != 16 || a.Reserved() != 2 || a.Primary() != 14 {
			t.Fatalf("final allocation: %d seats, %d reserved, %d primary; want 16, 2, 14", a.Seats(), a.Reserved(), a.Primary())
		}
	})
}
