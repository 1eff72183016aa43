package queries_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// Size of the benchmark's read model.
const (
	benchSubscriptions = 10_000
	benchKeysPerSub    = 10 // the primary and 9 sublicenses: 100,000 keys
	benchSubsPerTx     = 1_000
)

// licensesModel fills a licenses read model with benchSubscriptions
// subscriptions of 1,000 accounts, each with benchKeysPerSub keys, two
// orders and a license administrator, by applying synthesized events
// through projections.Licenses in a few large transactions (a rebuild of
// a real log would apply the same events, one transaction per batch).
func licensesModel(tb testing.TB, target sqldb.Target) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(tb, target)
	reg := event.NewRegistry()
	subscription.Register(reg)
	product.Register(reg)
	var pos uint64
	record := func(stream string, payload any) event.Record {
		name, _ := reg.NameOf(payload)
		data, v, err := reg.Encode(name, payload)
		if err != nil {
			tb.Fatal(err)
		}
		pos++
		return event.Record{Position: pos, StreamID: stream, Type: name, SchemaVersion: v, Data: data,
			RecordedAt: t0.Add(time.Duration(pos) * time.Second)}
	}
	apply := func(recs []event.Record) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		stx := projection.WrapTx(tx, db.Engine)
		for _, rec := range recs {
			if err := (projections.Licenses{}).Apply(ctx, stx, rec); err != nil {
				tx.Rollback()
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	apply([]event.Record{
		record(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5}),
		record(product.StreamID("proxy"), product.Defined{ProductID: "proxy", Name: "MDM Proxy", Model: product.ManagedComputers, MajorVersion: 7}),
	})
	var recs []event.Record
	for i := range benchSubscriptions {
		id := benchSubscription(i)
		stream := subscription.StreamID(id)
		prod := []string{"farms", "proxy"}[i%2]
		end := t0.AddDate(1, 0, i%365)
		recs = append(recs,
			record(stream, subscription.Purchased{SubscriptionID: id, OrderID: id + "-o1", OrderDigest: "d", ProductID: prod,
				Seats: 1000, Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard,
				Start: t0, End: end, AutoRenew: true, PrimaryKey: sealed(id + "-k0")}),
			record(stream, subscription.Registered{AccountID: fmt.Sprintf("acc-%04d", i%1000), By: "p-1"}),
			record(stream, subscription.SeatsAdded{OrderID: id + "-o2", OrderDigest: "d", Seats: 100}),
		)
		for k := 1; k < benchKeysPerSub; k++ {
			var expires *time.Time
			if k%3 == 0 {
				e := end.AddDate(0, -k, 0)
				expires = &e
			}
			recs = append(recs, record(stream, subscription.SublicenseCreated{Key: sealed(fmt.Sprintf("%s-k%d", id, k)),
				Name: fmt.Sprintf("Site %d", (k*7919+i)%100), Quota: 10 + k, ExpiresAt: expires, By: "p-1"}))
		}
		recs = append(recs, record(stream, subscription.AdministratorGranted{KeyID: id + "-k1", PersonID: fmt.Sprintf("p-%d", i%50), By: "p-1"}))
		if (i+1)%benchSubsPerTx == 0 {
			apply(recs)
			recs = recs[:0]
		}
	}
	if len(recs) > 0 {
		apply(recs)
	}
	var keys int
	if err := db.SelectRow(ctx, `SELECT COUNT(*) FROM lic_keys`).Scan(&keys); err != nil || keys != benchSubscriptions*benchKeysPerSub {
		tb.Fatalf("%d keys in the read model, want %d (%v)", keys, benchSubscriptions*benchKeysPerSub, err)
	}
	tb.Logf("%s: %d events applied in %s", target.Engine, pos, time.Since(start).Round(time.Millisecond))
	return db
}

func benchSubscription(i int) string { return fmt.Sprintf("sub-%05d", i) }

// BenchmarkSubscriptionDetails reads a random subscription's page (terms,
// orders, 10 keys with their administrators) out of 10,000 subscriptions
// and 100,000 keys, its keys sorted by a random column of KEY-7 or the
// default order. Target: p99 ≤ 10 ms. It reports p50 and p99.
func BenchmarkSubscriptionDetails(b *testing.B) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			db := licensesModel(b, engine.target(b))
			ctx := context.Background()
			sorts := append([]string{""}, queries.KeySorts...)
			for _, s := range queries.KeySorts {
				sorts = append(sorts, "-"+s)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var lat []time.Duration
			for b.Loop() {
				id := benchSubscription(rng.IntN(benchSubscriptions))
				sort := sorts[rng.IntN(len(sorts))]
				start := time.Now()
				d, err := queries.SubscriptionDetails(ctx, db, id, sort, t0)
				lat = append(lat, time.Since(start))
				if err != nil || len(d.Keys) != benchKeysPerSub || len(d.Orders) != 2 {
					b.Fatalf("%s by %q: %d keys, %d orders, %v", id, sort, len(d.Keys), len(d.Orders), err)
				}
			}
			reportPercentiles(b, lat)
		})
	}
}
