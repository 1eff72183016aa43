package queries_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// Sizes of the installations benchmarks' read models.
const (
	benchFarms        = 5_000   // of the listed account
	benchOtherFarms   = 5_000   // of 50 other accounts
	benchFarmSubs     = 50      // the account's subscriptions; the first 5 expired
	benchExportRows   = 100_000 // farms of the exporting account
	benchExportPerSQL = 200     // rows per INSERT statement
)

// benchEngines are the engines every benchmark runs on.
var benchEngines = []struct {
	name   string
	target func(testing.TB) sqldb.Target
}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}}

// modelBuilder applies synthesized events through projections in large
// transactions (a rebuild of a real log applies the same events).
type modelBuilder struct {
	tb    testing.TB
	db    *sqldb.DB
	ps    []projections.Projection
	reg   *event.Registry
	pos   uint64
	batch []event.Record
}

// add queues payload on stream, recorded pos seconds after t0; every
// 5,000 events are applied in one transaction.
func (m *modelBuilder) add(stream string, payload any) {
	name, _ := m.reg.NameOf(payload)
	data, v, err := m.reg.Encode(name, payload)
	if err != nil {
		m.tb.Fatal(err)
	}
	m.pos++
	m.batch = append(m.batch, event.Record{Position: m.pos, StreamID: stream, Type: name, SchemaVersion: v, Data: data,
		RecordedAt: t0.Add(time.Duration(m.pos) * time.Second)})
	if len(m.batch) == 5_000 {
		m.flush()
	}
}

// flush applies the queued events.
func (m *modelBuilder) flush() {
	ctx := context.Background()
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		m.tb.Fatal(err)
	}
	defer tx.Rollback()
	stx := projection.WrapTx(tx, m.db.Engine)
	for _, rec := range m.batch {
		for _, p := range m.ps {
			if err := p.Apply(ctx, stx, rec); err != nil {
				m.tb.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		m.tb.Fatal(err)
	}
	m.batch = m.batch[:0]
}

// farmsModel is a read model of benchFarms farms of account "acc-bench"
// on benchFarmSubs subscriptions (5 of them expired), and benchOtherFarms
// of other accounts, each farm activated and with two usage reports on
// two days; one in 20 deactivated, one suspended, one pending a
// deactivation; license ends spread from t0−30d to t0+370d, so that at
// t0+10d about 2.5% are expired and 15% expiring.
func farmsModel(tb testing.TB, target sqldb.Target) *sqldb.DB {
	tb.Helper()
	start := time.Now()
	m := &modelBuilder{tb: tb, db: sqldbtest.Open(tb, target), reg: events.Registry(),
		ps: []projections.Projection{projections.Licenses{}, projections.Installations{}}}
	m.add(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5})
	for s := range benchFarmSubs {
		id := fmt.Sprintf("bench-sub-%02d", s)
		m.add(subscription.StreamID(id), subscription.Purchased{SubscriptionID: id, OrderID: id + "-o1", OrderDigest: "d", ProductID: "farms",
			Seats: 1000, Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard,
			Start: t0, End: at(365 * day), AutoRenew: true, PrimaryKey: sealed(id + "-k0")})
		m.add(subscription.StreamID(id), subscription.Registered{AccountID: "acc-bench", By: "p-1"})
		if s < 5 {
			m.add(subscription.StreamID(id), subscription.Expired{End: at(-30 * day)})
		}
	}
	for i := range benchFarms + benchOtherFarms {
		account := "acc-bench"
		if i >= benchFarms {
			account = fmt.Sprintf("acc-other-%02d", i%50)
		}
		benchFarm(m, i, account)
	}
	m.flush()
	tb.Logf("%s: %d events applied in %s", target.Engine, m.pos, time.Since(start).Round(time.Millisecond))
	return m.db
}

// benchFarm adds farm i's events.
func benchFarm(m *modelBuilder, i int, account string) {
	id := fmt.Sprintf("farm-%05d", i)
	stream := installation.StreamID(id)
	sub := fmt.Sprintf("bench-sub-%02d", i%benchFarmSubs)
	a := farmActivated(id, fmt.Sprintf("Farm %05d", (i*7919)%(benchFarms+benchOtherFarms)), fmt.Sprintf("%s-k%d", sub, i),
		sub, account, 100, at(time.Duration(i%400-30)*day))
	m.add(stream, a)
	m.add(stream, installation.UsageReported{Seats: i % 90, ObservedAt: at(day), Current: true, Quota: 100})
	m.add(stream, installation.UsageReported{Seats: i % 70, ObservedAt: at(2 * day), Current: true, Quota: 100})
	switch i % 20 {
	case 0:
		m.add(stream, installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Online})
	case 1:
		m.add(stream, installation.Suspended{Seats: 120, Quota: 100})
	case 2:
		m.add(stream, installation.DeactivationRequested{By: "p-1"})
	}
}

// BenchmarkInstallationsList lists a page of 50 farms of an account with
// 5,000 (of 10,000 farms in all) with a random status filter (INST-2) and
// sort, on the first page or one further down found by earlier
// iterations. Target: p99 ≤ 15 ms. It reports p50 and p99.
func BenchmarkInstallationsList(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine.name, func(b *testing.B) {
			db := farmsModel(b, engine.target(b))
			ctx := context.Background()
			var sorts []string
			for _, s := range queries.InstallationSorts {
				sorts = append(sorts, s, "-"+s)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			cursors := map[string][]string{} // per filter and sort: "" and the Next pages seen
			var lat []time.Duration
			for b.Loop() {
				f := queries.InstallationsFilter{AccountID: "acc-bench", Kind: "farm", Now: instNow,
					Status: queries.InstallationStatuses[rng.IntN(len(queries.InstallationStatuses))], Sort: sorts[rng.IntN(len(sorts))]}
				combo := f.Status + " " + f.Sort
				seen := append(cursors[combo], "")
				f.After = seen[rng.IntN(len(seen))]
				start := time.Now()
				page, err := queries.Installations(ctx, db, f)
				lat = append(lat, time.Since(start))
				if err != nil || (f.After == "" && len(page.Installations) == 0) {
					b.Fatalf("%+v: %d rows, %v", f, len(page.Installations), err)
				}
				if page.Next != "" {
					cursors[combo] = append(cursors[combo], page.Next)
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

// exportModel is a read model of benchExportRows farms of account
// "acc-export", inserted directly in SQL in one transaction (applying
// their events would take minutes and test the projection, not the
// export).
func exportModel(tb testing.TB, target sqldb.Target) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	db := sqldbtest.Open(tb, target)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const columns = `installation_id, account_id, subscription_id, key_id, key_hint, product_id, kind, server_id, farm_name,
		sort_name, app_version, status, generation, activated_at, last_report_at, last_observed_at, current_usage, peak_usage,
		quota, notes, license_end`
	row := `(?` + strings.Repeat(`, ?`, strings.Count(columns, ",")) + `)`
	stmt := db.Rebind(`INSERT INTO inst_installations (` + columns + `) VALUES ` +
		strings.TrimSuffix(strings.Repeat(row+`, `, benchExportPerSQL), `, `))
	args := make([]any, 0, benchExportPerSQL*(strings.Count(columns, ",")+1))
	for i := range benchExportRows {
		name := fmt.Sprintf("Farm %06d, hall %d", (i*7919)%benchExportRows, i%7)
		status := []string{"active", "active", "active", "suspended", "deactivated"}[i%5]
		args = append(args, fmt.Sprintf("export-%06d", i), "acc-export", "sub-export", fmt.Sprintf("key-%06d", i),
			fmt.Sprintf("H%04d", i%10_000), "farms", "farm", fmt.Sprintf("SRV-%06d", i), name, strings.ToLower(name), "5.1.2",
			status, 1, at(time.Duration(i)*time.Second).UnixMicro(), at(day).UnixMicro(), at(day).UnixMicro(), i%50, i%80,
			100, []string{"", "rack 4", `say "hi", then leave`}[i%3], at(365*day).UnixMicro())
		if (i+1)%benchExportPerSQL == 0 {
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				tb.Fatal(err)
			}
			args = args[:0]
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s: %d installations inserted in %s", target.Engine, benchExportRows, time.Since(start).Round(time.Millisecond))
	return db
}

// lineCounter counts the bytes and lines written to it.
type lineCounter struct{ bytes, lines int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += len(p)
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// heapPeak samples the heap in use every millisecond until stopped, and
// returns the highest it saw.
func heapPeak() (stop func() uint64) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkExportInstallationsCSV exports all 100,000 farms of an account
// as CSV with every column (INST-3), to a writer that counts. It reports
// rows/s; the peak heap in use while exporting (sampled every ms) and its
// growth over the heap before, which stay flat whatever the number of
// rows; the bytes allocated per row (garbage, not kept); and, for
// comparison, the heap the same rows take when held in a slice.
func BenchmarkExportInstallationsCSV(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine.name, func(b *testing.B) {
			db := exportModel(b, engine.target(b))
			ctx := context.Background()
			f := queries.InstallationsFilter{AccountID: "acc-export", Kind: "farm"}
			held := heldRowsMB(b, db, f)
			base := heapInUse()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := heapPeak()
			var elapsed time.Duration
			for b.Loop() {
				var w lineCounter
				start := time.Now()
				if err := queries.ExportInstallationsCSV(ctx, db, f, nil, &w); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				if w.lines != benchExportRows+1 {
					b.Fatalf("%d lines exported, want %d", w.lines, benchExportRows+1)
				}
			}
			peak := stop()
			runtime.ReadMemStats(&after)
			mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
			rows := float64(benchExportRows) * float64(b.N)
			b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
			b.ReportMetric(mb(peak), "peak-heap-MB")
			b.ReportMetric(mb(peak-min(peak, base)), "heap-growth-MB")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/rows, "alloc-B/row")
			b.ReportMetric(held, "held-rows-MB")
		})
	}
}

// heldRowsMB is the heap (MB) that the rows f selects take when read
// into one slice, a page of 500 at a time: what a non-streaming export
// would hold.
func heldRowsMB(b *testing.B, db *sqldb.DB, f queries.InstallationsFilter) float64 {
	b.Helper()
	base := heapInUse()
	all := make([]queries.InstallationSummary, 0, benchExportRows)
	f.Limit = queries.MaxInstallationsPage
	for {
		page, err := queries.Installations(context.Background(), db, f)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, page.Installations...)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	held := heapInUse()
	if len(all) != benchExportRows {
		b.Fatalf("%d rows held, want %d", len(all), benchExportRows)
	}
	runtime.KeepAlive(all)
	return float64(held-min(held, base)) / (1 << 20)
}
