package queries_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/queries"
)

// The reconciliation benchmark's log: benchReconSubs subscriptions of
// two keys each (the primary and one sublicense), a farm on each key, and
// usage reports every 20 minutes up to LEDGER_BENCH_RECONCILE_EVENTS
// events (default 1,000,000; the target is 10,000,000). Set
// LEDGER_BENCH_RECONCILE_DB to a SQLite file to keep the log between
// runs (it is built once, when the file has no events).
const (
	benchReconSubs     = 10_000
	benchReconPerCall  = 100 // reports per append: one installation's next 100
	benchReconWriters  = 4
	benchReconPageSize = 2000 // as ledgerd scans (cmd/ledgerd/finance.go)
	benchReconReaders  = 2
)

// BenchmarkReconcile reconciles the whole log (every event is in the
// period) and prints the time, the events per second and the peak heap.
// Target: 10,000 subscriptions and 10,000,000 events under 60 s, flat
// memory.
//
//	LEDGER_BENCH_RECONCILE_EVENTS=10000000 go test -run '^$' -bench BenchmarkReconcile -benchtime 1x -timeout 2h ./queries
func BenchmarkReconcile(b *testing.B) {
	want := 1_000_000
	if v := os.Getenv("LEDGER_BENCH_RECONCILE_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("LEDGER_BENCH_RECONCILE_EVENTS=%q: a number of events", v)
		}
		want = n
	}
	ctx := context.Background()
	target := sqldbtest.SQLite(b)
	if path := os.Getenv("LEDGER_BENCH_RECONCILE_DB"); path != "" {
		target = sqldb.Target{Engine: sqldb.SQLite, DSN: path}
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewSimulated(start)
	s, err := storage.Open(ctx, storage.Options{Database: target, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	head, err := s.Store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if head == 0 {
		t0 := time.Now()
		if err := buildReconLog(ctx, s.Store, clk, want); err != nil {
			b.Fatal(err)
		}
		if head, err = s.Store.Head(ctx); err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		fmt.Printf("built %d events in %s: %.0f events/s\n", head, el.Round(time.Second), float64(head)/el.Seconds())
	}
	reg := events.Registry()
	period := queries.Period{From: start, To: start.AddDate(10, 0, 0)}
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var (
			ms       runtime.MemStats
			peak     uint64
			pages    int
			read     uint64
			baseline uint64
		)
		runtime.ReadMemStats(&ms)
		baseline = ms.HeapInuse
		scan := func(ctx context.Context, fn func([]event.Record) error) error {
			return eventstore.ScanLog(ctx, s.Store, 0, head, benchReconPageSize, benchReconReaders, func(page []event.Record) error {
				read += uint64(len(page))
				if pages++; pages%32 == 0 {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
				return fn(page)
			})
		}
		t0 := time.Now()
		rec, err := queries.Reconcile(ctx, scan, reg, queries.ReconciliationQuery{Period: period})
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		b.ReportMetric(float64(read)/el.Seconds(), "events/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		fmt.Printf("reconciled %d subscriptions, %d events in %s: %.0f events/s; heap %.1f MB before, peak %.1f MB; "+
			"%d incidents, %d exceptions, total peak %d seats\n",
			rec.Total.Subscriptions, read, el.Round(time.Millisecond), float64(read)/el.Seconds(),
			float64(baseline)/(1<<20), float64(peak)/(1<<20), rec.Total.OveruseIncidents, len(rec.Exceptions), rec.Total.Peak)
		if rec.Total.Subscriptions != benchReconSubs || read != head {
			b.Fatalf("reconciled %d subscriptions from %d of %d events", rec.Total.Subscriptions, read, head)
		}
	}
}

// reconBenchFarm is one farm of the benchmark log and its key's quota.
type reconBenchFarm struct {
	id    string
	quota int
	seats int
}

// buildReconLog appends the benchmark's log straight through the store:
// the events the commands write for a purchase, a sublicense and two
// activations per subscription, then usage reports, each append carrying
// one installation's next benchReconPerCall reports, from
// benchReconWriters writers at once.
func buildReconLog(ctx context.Context, s eventstore.Store, clk *clock.Simulated, total int) error {
	reg := events.Registry()
	encode := func(payloads ...any) []event.Proposed {
		out := make([]event.Proposed, len(payloads))
		for i, p := range payloads {
			name, _ := reg.NameOf(p)
			data, v, err := reg.Encode(name, p)
			if err != nil {
				panic(err)
			}
			out[i] = event.Proposed{Type: name, SchemaVersion: v, Data: data,
				Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "bench"}, Command: "Bench"}}
		}
		return out
	}
	type appendJob struct {
		stream string
		events []event.Proposed
	}
	run := func(jobs func(emit func(appendJob))) error {
		ch := make(chan appendJob, 4*benchReconWriters)
		var (
			wg       sync.WaitGroup
			firstErr atomic.Value
		)
		for range benchReconWriters {
			wg.Go(func() {
				for j := range ch {
					if _, err := s.Append(ctx, j.stream, event.Any(), j.events...); err != nil {
						firstErr.CompareAndSwap(nil, err)
					}
				}
			})
		}
		jobs(func(j appendJob) { ch <- j })
		close(ch)
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return err
		}
		return nil
	}

	farms := make([]reconBenchFarm, 0, 2*benchReconSubs)
	now := clk.Now()
	err := run(func(emit func(appendJob)) {
		for i := range benchReconSubs {
			sub := fmt.Sprintf("bench-sub-%05d", i)
			seats := 10 + i%40
			quota := seats / 3
			keys := []struct {
				id    string
				quota int
			}{{sub + "-p", seats - quota}, {sub + "-k", quota}}
			for _, k := range keys {
				emit(appendJob{licensekey.StreamID(k.id), encode(licensekey.Issued{KeyID: k.id, SubscriptionID: sub})})
			}
			emit(appendJob{subscription.StreamID(sub), encode(
				subscription.Purchased{SubscriptionID: sub, OrderID: "order-" + sub, OrderDigest: "d", ProductID: "ras", Seats: seats,
					Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard, Start: now,
					End: now.AddDate(1, 0, 0), AutoRenew: true, PrimaryKey: subscription.SealedKey{KeyID: keys[0].id, Lookup: []byte("l"), Sealed: []byte("s"), Hint: "HINT0"}},
				subscription.Registered{AccountID: fmt.Sprintf("bench-acc-%04d", i%2000), By: "bench"},
				subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: keys[1].id, Lookup: []byte("l"), Sealed: []byte("s"), Hint: "HINT1"},
					Name: "Branch", Quota: quota, By: "bench"})})
			for n, k := range keys {
				idn := installation.Identity{Kind: installation.Farm, ServerID: fmt.Sprintf("srv-%05d-%d", i, n), FarmName: "Farm", AppVersion: "19.2"}
				id := installation.ID(idn.Server(), k.id)
				emit(appendJob{licensekey.StreamID(k.id), encode(licensekey.Bound{InstallationID: id})})
				emit(appendJob{installation.StreamID(id), encode(installation.Activated{InstallationID: id, Identity: idn, Mode: installation.Online,
					KeyID: k.id, KeyHint: "HINT", SubscriptionID: sub, ProductID: "ras", Model: product.ConcurrentUsers, Generation: 1,
					License: installation.LicenseOf(k.id, "HINT", now, now.AddDate(1, 0, 0), k.quota, 0, false)})})
				farms = append(farms, reconBenchFarm{id: id, quota: k.quota, seats: k.quota / 2})
			}
		}
	})
	if err != nil {
		return err
	}
	head, err := s.Head(ctx)
	if err != nil {
		return err
	}
	// Rounds: every farm appends its next benchReconPerCall reports, 20
	// minutes apart; the clock then moves on by as much. Usage wanders
	// below the quota and now and then above it.
	perRound := len(farms) * benchReconPerCall
	rounds := max(1, (total-int(head)+perRound-1)/perRound)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range rounds {
		roundStart := clk.Now()
		err := run(func(emit func(appendJob)) {
			for f := range farms {
				fm := &farms[f]
				payloads := make([]any, benchReconPerCall)
				for j := range payloads {
					switch r := rng.IntN(1000); {
					case r < 2: // a spike above the quota
						fm.seats = fm.quota + 1 + rng.IntN(3)
					case r < 500:
						fm.seats = max(0, min(fm.quota, fm.seats+rng.IntN(3)-1))
					}
					payloads[j] = installation.UsageReported{Seats: fm.seats, ObservedAt: roundStart.Add(time.Duration(j) * 20 * time.Minute),
						Current: true, Quota: fm.quota}
				}
				emit(appendJob{installation.StreamID(fm.id), encode(payloads...)})
			}
		})
		if err != nil {
			return err
		}
		if _, err := clk.Advance(benchReconPerCall * 20 * time.Minute); err != nil {
			return err
		}
		fmt.Printf("built round %d of %d\n", round+1, rounds)
	}
	return nil
}
