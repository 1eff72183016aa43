package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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

// The webhook benchmark's settings (go test … -args, or the Makefile's
// bench-webhooks variables).
var (
	hookBenchDuration = flag.Duration("webhooks.duration", 10*time.Second, "BenchmarkWebhookDelivery: how long the usage reports are sent")
	hookBenchRate     = flag.Int("webhooks.rate", 1000, "BenchmarkWebhookDelivery: usage reports (feed events) per second")
	hookBenchDrain    = flag.Duration("webhooks.drain", 3*time.Minute, "BenchmarkWebhookDelivery: how long to wait after the load for the live endpoints' deliveries")
)

// The webhook benchmark's shape (issue 22): 100 endpoints, one of which
// never answers, each on an account of its own (an account keeps at most
// ten, and one event of an account is then one delivery), each account
// with hookBenchInstalls installations reporting.
const (
	hookBenchEndpoints = 100
	hookBenchInstalls  = 2
	hookBenchSenders   = 64 // concurrent HTTP clients of the load generator
)

// BenchmarkWebhookDelivery measures webhook delivery under ingest load
// (issue 22): 100 accounts with one webhook endpoint each, every endpoint
// a real HTTP receiver on 127.0.0.1 except one that accepts the
// connection and never answers (each attempt waits for the worker's 10 s
// timeout, then the retry schedule); usage reports are sent open-loop at
// -webhooks.rate per second (default 1,000) for -webhooks.duration
// (default 10 s), spread evenly over the accounts' installations, and
// every report is a feed event of its account, so one delivery. The
// worker runs with its production settings (poll 1 s, 8 endpoints at
// once, 10 s timeout).
//
// Sub-benchmarks per engine: "webhooks" and "none" (the same accounts and
// load without endpoints), for the ingest figures side by side. Metrics:
//
//	ingest-reports/s, ingest-p50-ms, ingest-p99-ms  the reports answered per second, and their latency from the
//	                                                moment the schedule sent them (a late send counts)
//	delivery-p50-ms, delivery-p99-ms                the live endpoints' deliveries, from the event's recorded_at to its
//	                                                arrival at the receiver
//	deliveries/s                                    live deliveries from the load's start to the last arrival
//	drain-s                                         how long after the load's end the last live delivery arrived
//	undelivered                                     live deliveries still missing after -webhooks.drain
//
//	go test -run '^$' -bench BenchmarkWebhookDelivery -benchtime 1x ./cmd/ledgerd
func BenchmarkWebhookDelivery(b *testing.B) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			for _, hooks := range []bool{true, false} {
				name := "none"
				if hooks {
					name = "webhooks"
				}
				b.Run(name, func(b *testing.B) {
					for range b.N {
						hookBenchRun(b, engine.target(b), hooks)
					}
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}

// hookArrivals records what the live receivers got: for each delivery of
// a usage report, the time from its recorded_at to its arrival.
type hookArrivals struct {
	mu        sync.Mutex
	latencies []time.Duration
	last      time.Time
	seen      map[string]bool // endpoint/webhook-id: a repeat is not counted twice
}

func (a *hookArrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.latencies)
}

// hookReceivers starts n-1 live receivers, which answer 204 at once, and
// one that accepts the request and never answers until the benchmark
// ends; it returns their URLs, the dead one last.
func hookReceivers(b *testing.B, n int, got *hookArrivals) []string {
	b.Helper()
	stop := make(chan struct{})
	var urls []string
	for i := range n - 1 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			arrived := time.Now()
			var ev struct {
				Type       string    `json:"type"`
				RecordedAt time.Time `json:"recorded_at"`
			}
			if err := json.Unmarshal(body, &ev); err != nil {
				b.Errorf("a delivery is not the feed's JSON: %v", err)
			}
			w.WriteHeader(http.StatusNoContent)
			if ev.Type != "installation.usage_reported" {
				return
			}
			key := strconv.Itoa(i) + "/" + r.Header.Get("webhook-id")
			got.mu.Lock()
			defer got.mu.Unlock()
			if got.seen[key] {
				return
			}
			got.seen[key] = true
			got.latencies = append(got.latencies, arrived.Sub(ev.RecordedAt))
			got.last = arrived
		}))
		b.Cleanup(srv.Close)
		urls = append(urls, srv.URL+"/hook")
	}
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // holds the delivery until the worker gives up on it
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	b.Cleanup(dead.Close)
	b.Cleanup(func() { close(stop) }) // before dead.Close, which waits for its handlers
	return append(urls, dead.URL+"/hook")
}

// hookBenchAccounts makes n business accounts, each with per
// subscriptions of 50 seats whose keys activate a farm each; it returns
// the accounts and each one's installation credentials.
func hookBenchAccounts(b *testing.B, m *Main, n, per int) (accounts []string, creds [][]string) {
	b.Helper()
	ctx := context.Background()
	h := m.people.commands
	office := commands.Meta{Actor: staff.AdminToken}
	admin := commands.Meta{Actor: hookBenchAdmin}
	if _, err := h.Orders.DefineProduct(ctx, office, product.Defined{ProductID: "ras", Name: "RAS", Model: product.ConcurrentUsers, MajorVersion: 19}); err != nil {
		b.Fatal(err)
	}
	for a := range n {
		acc := fmt.Sprintf("hook-bench-%03d", a)
		if _, err := h.Accounts.CreateBusinessAccount(ctx, admin, commands.CreateBusinessAccount{AccountID: acc,
			Company: account.Company{Name: "Bench " + acc, Country: "CH", ZIP: "8000", Phone: "+41 44 000 00 00"}}); err != nil {
			b.Fatal(err)
		}
		var mine []string
		for i := range per { // a key activates one farm: a subscription each
			p, err := h.Orders.Purchase(ctx, office, subscription.Order{ID: fmt.Sprintf("order-%s-%d", acc, i), ProductID: "ras", Seats: 50,
				Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.Subscriptions.RegisterKey(ctx, admin, commands.RegisterKey{Key: p.Key, AccountID: acc}); err != nil {
				b.Fatal(err)
			}
			body, _ := json.Marshal(map[string]any{"key": p.Key, "identity": map[string]any{"kind": "farm",
				"server_id": fmt.Sprintf("srv-%s-%d", acc, i), "farm_name": fmt.Sprintf("Farm %d", i), "app_version": "19.2"}})
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
				b.Fatalf("activation %s/%d: %d %v", acc, i, resp.StatusCode, err)
			}
			mine = append(mine, answer.Credential)
		}
		accounts, creds = append(accounts, acc), append(creds, mine)
	}
	return accounts, creds
}

// hookBenchAdmin is the admin of the benchmark's accounts.
var hookBenchAdmin = event.Actor{Kind: event.ActorPerson, ID: "hook-bench-admin"}

// hookBenchRun boots ledgerd on target, makes the accounts (and with
// hooks their endpoints), sends the load and reports the figures.
func hookBenchRun(b *testing.B, target sqldb.Target, hooks bool) {
	logs := &syncBuffer{}
	m := NewMain()
	m.Getenv = testEnv(b, "LEDGER_DATABASE_URL", target.DSN, "LEDGER_LOG_LEVEL", "warn", "LEDGER_CLOCK", "real", "LEDGER_CLOCK_START", "",
		"LEDGER_WEBHOOK_ALLOW_HTTP", "on", "LEDGER_WEBHOOK_ALLOW_PRIVATE", "on")
	m.LogOutput, m.PasswordParams = logs, &cheap
	m.Limits = &httpapi.Limits{} // the load is the benchmark's, not a per-installation limit's
	if err := m.ParseFlags(nil); err != nil {
		b.Fatal(err)
	}
	if err := m.Run(b.Context()); err != nil {
		m.Close()
		b.Fatalf("Run: %v\n%s", err, logs)
	}
	defer m.Close()

	accounts, creds := hookBenchAccounts(b, m, hookBenchEndpoints, hookBenchInstalls)
	got := &hookArrivals{seen: map[string]bool{}}
	if hooks {
		urls := hookReceivers(b, hookBenchEndpoints, got)
		for i, acc := range accounts {
			if _, err := m.people.commands.Webhooks.CreateWebhook(context.Background(), commands.Meta{Actor: hookBenchAdmin}, acc,
				commands.WebhookInput{URL: urls[i]}); err != nil {
				b.Fatal(err)
			}
		}
	}
	settleProjections(b, m)

	// The load: report k goes to installation k mod all, at start + k/rate.
	type sender struct {
		cred      string
		install   int
		liveHooks bool // its account's endpoint is a live one
	}
	var all []sender
	for i := range hookBenchInstalls {
		for a := range accounts {
			all = append(all, sender{cred: creds[a][i], install: a*hookBenchInstalls + i, liveHooks: a < hookBenchEndpoints-1})
		}
	}
	rate, total := *hookBenchRate, int(float64(*hookBenchRate)*hookBenchDuration.Seconds())
	expected := 0
	for k := range total {
		if all[k%len(all)].liveHooks {
			expected++
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: hookBenchSenders, MaxConnsPerHost: hookBenchSenders}}
	base := "http://" + m.Addr()
	jobs := make(chan int, total)
	latencies := make([][]time.Duration, hookBenchSenders)
	var failed atomic.Int64
	var lastAnswer atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range hookBenchSenders {
		wg.Go(func() {
			for k := range jobs {
				due := start.Add(time.Duration(k) * time.Second / time.Duration(rate))
				s := all[k%len(all)]
				if err := postReport(client, base, s.cred, s.install, k); err != nil {
					if failed.Add(1) == 1 {
						b.Error(err)
					}
					continue
				}
				now := time.Now()
				latencies[w] = append(latencies[w], now.Sub(due))
				for old := lastAnswer.Load(); now.UnixNano() > old && !lastAnswer.CompareAndSwap(old, now.UnixNano()); old = lastAnswer.Load() {
				}
			}
		})
	}
	for k := range total {
		time.Sleep(time.Until(start.Add(time.Duration(k) * time.Second / time.Duration(rate))))
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	loadEnd := time.Unix(0, lastAnswer.Load())
	ingest := slices.Concat(latencies...)
	slices.Sort(ingest)
	b.ReportMetric(float64(len(ingest))/loadEnd.Sub(start).Seconds(), "ingest-reports/s")
	b.ReportMetric(float64(percentile(ingest, 50).Microseconds())/1000, "ingest-p50-ms")
	b.ReportMetric(float64(percentile(ingest, 99).Microseconds())/1000, "ingest-p99-ms")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d reports failed", n, total)
	}
	if !hooks {
		b.StopTimer()
		return
	}

	// The live endpoints' deliveries: wait for all of them (or the drain
	// bound), then their latencies.
	deadline := time.Now().Add(*hookBenchDrain)
	for got.count() < expected && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	got.mu.Lock()
	defer got.mu.Unlock()
	delivered := slices.Clone(got.latencies)
	slices.Sort(delivered)
	b.ReportMetric(float64(percentile(delivered, 50).Microseconds())/1000, "delivery-p50-ms")
	b.ReportMetric(float64(percentile(delivered, 99).Microseconds())/1000, "delivery-p99-ms")
	if len(delivered) > 0 {
		b.ReportMetric(float64(len(delivered))/got.last.Sub(start).Seconds(), "deliveries/s")
		b.ReportMetric(max(0, got.last.Sub(loadEnd).Seconds()), "drain-s")
	}
	b.ReportMetric(float64(expected-len(delivered)), "undelivered")
	if expected > len(delivered) {
		b.Logf("%d of %d live deliveries missing after %s; the server's warnings:\n%s", expected-len(delivered), expected, *hookBenchDrain, logs)
	}
}
