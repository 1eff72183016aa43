package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/product"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/infra/httpapi"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// installationsUnderLoad is how many simulated installations report at
// once in the ingest benchmark (issue 5's target: 64).
const installationsUnderLoad = 64

// BenchmarkUsageIngest measures usage reports end to end: 64 simulated
// installations, each activated over HTTP with a key of its own, report
// as fast as the real ledgerd answers, over HTTP, on the same machine
// (rules USE-1, USE-2). b.N is the total number of reports. It reports
// reports/s and the latency percentiles, and on PostgreSQL also the rate
// of raw single-row INSERT commits by as many clients in the same run
// (pgbench's simple-insert workload) and the ratio of the two.
//
// cpu-ms/report is the CPU budget per report (issue 21): the process's
// user and system CPU time (getrusage) from the first report until the
// projections have applied the last one, divided by the reports. The
// process holds the server and the load generator both, so the figure is
// an upper bound of the server's own; `ledger bench ingest` measures the
// server alone from another process. allocs/report and B/report count
// the heap allocations of the same span the same way (runtime.MemStats):
// unlike the times, they hardly move with the machine's other load.
// appends/batch and batch-ms are the group committer's: how many appends
// one transaction carried, and how long it took from its start to its
// commit (from /metrics).
//
//	go test -run XXX -bench BenchmarkUsageIngest -benchtime 40000x ./cmd/ledgerd
func BenchmarkUsageIngest(b *testing.B) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			target := engine.target(b)
			m := benchServer(b, target)
			creds := activateFleet(b, m, installationsUnderLoad)
			base := "http://" + m.Addr()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: installationsUnderLoad, MaxConnsPerHost: installationsUnderLoad}}

			latencies := make([][]time.Duration, len(creds))
			var sent, failed atomic.Int64
			settleProjections(b, m) // the activations' projection work is not the reports'
			cpu0 := processCPU(b)
			batches0 := scrapeBatches(b, base)
			var mem0, mem1 runtime.MemStats
			runtime.ReadMemStats(&mem0)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for n, cred := range creds {
				wg.Go(func() {
					for i := 0; sent.Add(1) <= int64(b.N); i++ {
						t0 := time.Now()
						if err := postReport(client, base, cred, n, i); err != nil {
							failed.Add(1)
							b.Error(err)
							return
						}
						latencies[n] = append(latencies[n], time.Since(t0))
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			settleProjections(b, m)
			cpu := processCPU(b) - cpu0
			batches := scrapeBatches(b, base).minus(batches0)
			runtime.ReadMemStats(&mem1)
			all := slices.Concat(latencies...)
			slices.Sort(all)
			rate := float64(len(all)) / elapsed.Seconds()
			b.ReportMetric(rate, "reports/s")
			b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-ms")
			if len(all) > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(all)), "cpu-ms/report")
				b.ReportMetric(float64(mem1.Mallocs-mem0.Mallocs)/float64(len(all)), "allocs/report")
				b.ReportMetric(float64(mem1.TotalAlloc-mem0.TotalAlloc)/float64(len(all)), "B/report")
			}
			if batches.count > 0 {
				b.ReportMetric(batches.appends/batches.count, "appends/batch")
				b.ReportMetric(1000*batches.seconds/batches.count, "batch-ms")
			}
			b.ReportMetric(0, "ns/op")
			if failed.Load() > 0 {
				b.Fatalf("%d reports failed", failed.Load())
			}
			if target.Engine == sqldb.Postgres {
				inserts := rawInsertRate(b, target, installationsUnderLoad, 3*time.Second)
				b.ReportMetric(inserts, "raw-insert-commits/s")
				b.ReportMetric(rate/inserts, "ratio")
			}
		})
	}
}

// batchTotals are the group committer's running totals, from /metrics.
type batchTotals struct{ count, appends, seconds float64 }

func (t batchTotals) minus(u batchTotals) batchTotals {
	return batchTotals{t.count - u.count, t.appends - u.appends, t.seconds - u.seconds}
}

// scrapeBatches reads the committed batches' totals from the server's
// /metrics: how many, the appends they held, the time they took.
func scrapeBatches(b testing.TB, base string) batchTotals {
	b.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	var t batchTotals
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "seatledger_eventstore_batch_appends_count":
			t.count = v
		case "seatledger_eventstore_batch_appends_sum":
			t.appends = v
		case `seatledger_eventstore_append_seconds_sum{result="ok"}`:
			t.seconds = v
		}
	}
	return t
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b testing.TB) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settleProjections waits until every projection has applied the log's
// last event.
func settleProjections(b testing.TB, m *Main) {
	b.Helper()
	head := logHead(b, m)
	for _, name := range m.readSide.runtime.Names() {
		if err := m.readSide.runtime.WaitFor(context.Background(), name, head, time.Minute); err != nil {
			b.Fatalf("projection %s: %v", name, err)
		}
	}
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// benchServer boots ledgerd on target for a benchmark.
func benchServer(b testing.TB, target sqldb.Target) *Main {
	b.Helper()
	logs := &syncBuffer{}
	m := NewMain()
	m.Getenv = testEnv(b, "LEDGER_DATABASE_URL", target.DSN, "LEDGER_LOG_LEVEL", "warn")
	m.LogOutput, m.PasswordParams = logs, &cheap
	m.Limits = &httpapi.Limits{} // each installation reports as fast as it can: no per-installation limit
	// The collector as ledgerd's main sets it (tuneGC; the load generator in
	// this process shares it), restored after the benchmark.
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	tuneGC(os.Getenv)
	b.Cleanup(func() { debug.SetGCPercent(gc) })
	if err := m.ParseFlags(nil); err != nil {
		b.Fatal(err)
	}
	if err := m.Run(b.Context()); err != nil {
		m.Close()
		b.Fatalf("Run: %v\n%s", err, logs)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// activateFleet buys n subscriptions of 50 seats, registers them to one
// business account, and activates one farm with each key over HTTP; it
// returns their credentials.
func activateFleet(b testing.TB, m *Main, n int) []string {
	b.Helper()
	ctx := context.Background()
	h := m.people.commands
	office := commands.Meta{Actor: staff.AdminToken}
	admin := commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: "bench-admin"}}
	if _, err := h.Orders.DefineProduct(ctx, office, product.Defined{ProductID: "ras", Name: "RAS", Model: product.ConcurrentUsers, MajorVersion: 19}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.Accounts.CreateBusinessAccount(ctx, admin, commands.CreateBusinessAccount{AccountID: "bench-account",
		Company: account.Company{Name: "Bench AG", Country: "CH", ZIP: "8000", Phone: "+41 44 000 00 00"}}); err != nil {
		b.Fatal(err)
	}
	creds := make([]string, n)
	for i := range n {
		p, err := h.Orders.Purchase(ctx, office, subscription.Order{ID: fmt.Sprintf("bench-%d", i), ProductID: "ras", Seats: 50,
			Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.Subscriptions.RegisterKey(ctx, admin, commands.RegisterKey{Key: p.Key, AccountID: "bench-account"}); err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"key": p.Key, "identity": map[string]any{"kind": "farm",
			"server_id": fmt.Sprintf("srv-%03d", i), "farm_name": fmt.Sprintf("Farm %d", i), "app_version": "19.2"}})
		resp, err := http.Post("http://"+m.Addr()+"/v1/installations/activations", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var answer struct {
			Credential string `json:"credential"`
		}
		err = json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("activation %d: %d %v", i, resp.StatusCode, err)
		}
		creds[i] = answer.Credential
	}
	return creds
}

// postReport sends report i of installation n: a count that stays within
// its 50 seats, with an idempotency key, as a product would.
func postReport(client *http.Client, base, cred string, n, i int) error {
	body := `{"seats":` + strconv.Itoa((n+i)%50) + `}`
	req, err := http.NewRequest(http.MethodPost, base+"/v1/installation/usage", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Idempotency-Key", "r-"+strconv.Itoa(n)+"-"+strconv.Itoa(i))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("report %d of installation %d: %d %s", i, n, resp.StatusCode, raw)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// rawInsertRate measures what PostgreSQL commits of single-row INSERTs
// with clients connections for d (pgbench's simple-insert workload): the
// ceiling any event append on this machine is held against.
func rawInsertRate(b *testing.B, target sqldb.Target, clients int, d time.Duration) float64 {
	b.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(b, target)
	db.SetMaxOpenConns(clients)
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_raw_insert (id bigserial PRIMARY KEY, installation int NOT NULL,
		seats int NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	var commits atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := db.ExecContext(ctx, `INSERT INTO bench_raw_insert (installation, seats) VALUES ($1, $2)`, c, 1); err != nil {
					b.Error(err)
					return
				}
				commits.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(commits.Load()) / time.Since(start).Seconds()
}
