package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// Settings of `ledger bench ingest`.
const (
	// ingestProduct is the product the benchmark's subscriptions are of,
	// defined (again) by every run.
	ingestProduct = "bench-ingest"
	// ingestSeats is each subscription's seats; reports stay within them.
	ingestSeats = 50
	// ingestPause is how long an installation waits after a failed
	// connection before it tries again, so that a server that went away
	// is not hammered in a tight loop.
	ingestPause = 100 * time.Millisecond
	// settleTimeout bounds the wait for the server's projections to
	// catch up with the log before its CPU time is read.
	settleTimeout = time.Minute
)

func newBenchIngestCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Drive a running ledgerd with usage reports from many installations over HTTP",
		Long: `Measure usage-report ingest of a running ledgerd from another process, over
HTTP, as installations would load it: --installations installations each send
one report after the other, on keep-alive connections, for --duration. It
prints the accepted reports per second, their latency percentiles, the failed
reports by status, and the server's CPU time per accepted report (from its
/metrics, where the server exposes process_cpu_seconds_total), ending with one
name=value line per figure. The CPU is read once the server's projections have
caught up with the reports (seatledger_projection_lag_events, waited for up to
a minute), so that it counts their work too; ingest_projection_catchup_s is
how long that took. It is the ledgerd process's CPU only: a PostgreSQL
server's own work is not in it.

The server is --url or $LEDGER_URL; the admin token is $LEDGER_ADMIN_TOKEN.
Before the load the benchmark sets up, through the API, what the reports need,
and all of it stays in the ledger (an event log forgets nothing): the product
bench-ingest, one purchase of 50 seats per installation (orders bench-RUN-N),
a person bench-RUN@bench.invalid whose business account "Ingest benchmark RUN"
registers the keys, and one farm activated with each key. Run it against a
ledger meant for measuring, not a customer's.

The server bounds each installation's reports (ledgerd's
--installation-call-limit, 10 at once then one a minute by default); start it
with --installation-call-limit=off, or most reports are refused with 429.`,
		Example: "  LEDGER_ADMIN_TOKEN=… ledger bench ingest --url http://127.0.0.1:8080 --installations 64 --duration 30s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, name := range []string{"database-url", "eventstore-url"} {
				if cmd.Flags().Changed(name) {
					return usagef("--%s: bench ingest measures a running server; give its --url", name)
				}
			}
			n, _ := cmd.Flags().GetInt("installations")
			duration, _ := cmd.Flags().GetDuration("duration")
			if n < 1 || n > 4096 {
				return usagef("--installations must be from 1 to 4096")
			}
			if duration <= 0 {
				return usagef("--duration must be positive")
			}
			admin, err := newAdminClient(cmd, a)
			if err != nil {
				return err
			}
			api := newIngestAPI(admin.base, n)
			ctx := cmd.Context()
			fmt.Fprintf(a.stdout, "server: %s\n", admin.base.Redacted())
			fmt.Fprintf(a.stderr, "setting up %d installations …\n", n)
			run, creds, err := api.setUp(ctx, admin.token, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "run: %s (orders bench-%s-0 … bench-%s-%d)\n", run, run, run, n-1)
			// The set-up's projection work is done before the load, and
			// the load's after it, before the server's CPU is read again.
			before, _, err := api.settle(ctx, settleTimeout)
			if err != nil {
				return err
			}
			rep := api.load(ctx, run, creds, duration)
			after, settled, err := api.settle(ctx, settleTimeout)
			if err != nil {
				return err
			}
			cpuErr := errors.Join(before.cpuErr, after.cpuErr)
			printIngest(a, n, rep, after.cpuSeconds-before.cpuSeconds, cpuErr, settled, after.lag)
			return nil
		},
	}
	addServerFlags(cmd)
	cmd.Flags().Int("installations", 64, "installations reporting at once, each on a subscription and connection of its own")
	cmd.Flags().Duration("duration", 30*time.Second, "how long to send reports")
	return cmd
}

// printIngest prints a run's figures: a sentence, then name=value lines.
func printIngest(a *app, n int, rep ingestReport, cpuSeconds float64, cpuErr error, settled time.Duration, lag float64) {
	fmt.Fprintf(a.stdout, "%d reports in %s from %d installations: %.0f reports/s; latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n",
		rep.ok(), rep.elapsed.Round(time.Millisecond), n, rep.perSecond(), ms(rep.percentile(50)), ms(rep.percentile(95)), ms(rep.percentile(99)))
	out := []any{"ingest_installations", n, "ingest_reports", rep.ok(), "ingest_reports_per_s", rep.perSecond(),
		"ingest_p50_ms", fmt.Sprintf("%.2f", ms(rep.percentile(50))), "ingest_p95_ms", fmt.Sprintf("%.2f", ms(rep.percentile(95))),
		"ingest_p99_ms", fmt.Sprintf("%.2f", ms(rep.percentile(99))), "ingest_errors", rep.failed()}
	statuses := make([]string, 0, len(rep.errors))
	for s := range rep.errors {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	for _, s := range statuses {
		fmt.Fprintf(a.stdout, "%d reports failed: %s\n", rep.errors[s], s)
		out = append(out, "ingest_errors_"+s, rep.errors[s])
	}
	if rep.errors["429"] > 0 {
		fmt.Fprintf(a.stdout, "the server limits installations' reports: start it with --installation-call-limit=off to measure ingest\n")
	}
	if lag > 0 {
		fmt.Fprintf(a.stdout, "the server's projections were still %.0f events behind %s after the load\n", lag, settled.Round(time.Millisecond))
	} else {
		fmt.Fprintf(a.stdout, "the server's projections caught up %s after the load\n", settled.Round(time.Millisecond))
	}
	out = append(out, "ingest_projection_catchup_s", fmt.Sprintf("%.2f", settled.Seconds()))
	switch {
	case cpuErr != nil:
		fmt.Fprintf(a.stdout, "server CPU not measured: %s\n", oneLine(cpuErr))
	case rep.ok() > 0:
		fmt.Fprintf(a.stdout, "server CPU %.2f s: %.3f ms per report\n", cpuSeconds, cpuSeconds*1000/float64(rep.ok()))
		out = append(out, "ingest_server_cpu_ms_per_report", fmt.Sprintf("%.3f", cpuSeconds*1000/float64(rep.ok())))
	}
	figures(a.stdout, out...)
}

// ingestAPI calls the server's API for the ingest benchmark.
type ingestAPI struct{ *apiClient }

func newIngestAPI(base *url.URL, installations int) *ingestAPI {
	// One keep-alive connection per installation, as the installations
	// of a real deployment would hold.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = installations + 4
	tr.MaxIdleConnsPerHost = installations + 4
	tr.MaxConnsPerHost = installations + 4
	return &ingestAPI{&apiClient{base: base, http: &http.Client{Transport: tr, Timeout: requestTimeout}}}
}

// do is apiClient.do with the request named in a refusal.
func (api *ingestAPI) do(ctx context.Context, c apiCall, out any) (*http.Response, error) {
	resp, err := api.apiClient.do(ctx, c, out)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	return resp, nil
}

// setUp creates, through the API, what n installations need to report:
// the product, a purchase per installation, a person whose business
// account registers the keys (SUB-7), and an activation with each key
// (ACT-1). It returns the run's name and the installations' credentials.
func (api *ingestAPI) setUp(ctx context.Context, adminToken string, n int) (string, []string, error) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	run := hex.EncodeToString(rnd[:])
	var pw [18]byte
	_, _ = rand.Read(pw[:])
	password, email := hex.EncodeToString(pw[:]), "bench-"+run+"@bench.invalid"

	if _, err := api.do(ctx, apiCall{method: http.MethodPut, path: "/v1/products/" + ingestProduct, bearer: adminToken, want: http.StatusOK,
		body: map[string]any{"name": "Ingest benchmark", "model": "concurrent_users", "major_version": 19}}, nil); err != nil {
		return "", nil, err
	}
	keys := make([]string, n)
	for i := range n {
		var order struct {
			Key string `json:"key"`
		}
		if _, err := api.do(ctx, apiCall{method: http.MethodPost, path: "/v1/orders", bearer: adminToken, want: http.StatusCreated,
			body: map[string]any{"kind": "purchase", "order_id": fmt.Sprintf("bench-%s-%d", run, i), "product_id": ingestProduct,
				"seats": ingestSeats, "period": "1y", "channel": "online", "support_plan": "standard"}}, &order); err != nil {
			return "", nil, err
		}
		keys[i] = order.Key
	}

	if _, err := api.do(ctx, apiCall{method: http.MethodPost, path: "/v1/signup", want: http.StatusCreated,
		body: map[string]any{"first_name": "Ingest", "last_name": "Benchmark", "email": email, "password": password, "accept_terms": true}}, nil); err != nil {
		return "", nil, err
	}
	// A person's API token registers the keys.
	token, err := api.personalToken(ctx, email, password, "ledger bench ingest "+run)
	if err != nil {
		return "", nil, err
	}
	var accountID string
	for i, key := range keys {
		body, want := map[string]any{"key": key, "account_id": accountID}, http.StatusOK
		if i == 0 { // the first key creates the business account
			body, want = map[string]any{"key": key, "company": map[string]any{"name": "Ingest benchmark " + run, "country": "CH",
				"zip": "8000", "phone": "+41 44 000 00 00"}}, http.StatusCreated
		}
		var reg struct {
			AccountID string `json:"account_id"`
		}
		if _, err := api.do(ctx, apiCall{method: http.MethodPost, path: "/v1/keys/register", bearer: token, want: want, body: body}, &reg); err != nil {
			return "", nil, err
		}
		if i == 0 {
			accountID = reg.AccountID
		}
	}

	creds := make([]string, n)
	for i, key := range keys {
		var act struct {
			Credential string `json:"credential"`
		}
		if _, err := api.do(ctx, apiCall{method: http.MethodPost, path: "/v1/installations/activations", want: http.StatusOK,
			body: map[string]any{"key": key, "identity": map[string]any{"kind": "farm", "server_id": fmt.Sprintf("bench-%s-%d", run, i),
				"farm_name": fmt.Sprintf("Ingest benchmark %d", i), "app_version": "19.2"}}}, &act); err != nil {
			return "", nil, err
		}
		if act.Credential == "" {
			return "", nil, fmt.Errorf("activation %d: the server sent no credential", i)
		}
		creds[i] = act.Credential
	}
	return run, creds, nil
}

// ingestReport is what a load run measured.
type ingestReport struct {
	latencies []time.Duration // of the accepted reports, sorted
	errors    map[string]int  // failed reports by status ("transport": no answer)
	elapsed   time.Duration
}

func (r ingestReport) ok() int { return len(r.latencies) }

func (r ingestReport) failed() int {
	n := 0
	for _, c := range r.errors {
		n += c
	}
	return n
}

func (r ingestReport) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok()) / r.elapsed.Seconds()
}

func (r ingestReport) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, len(r.latencies)*p/100)]
}

// load has each installation send reports, one after the other, until d
// has passed; reports in flight then are waited for and counted.
func (api *ingestAPI) load(ctx context.Context, run string, creds []string, d time.Duration) ingestReport {
	endpoint := api.base.JoinPath("/v1/installation/usage").String()
	type result struct {
		latencies []time.Duration
		errors    map[string]int
	}
	results := make([]result, len(creds))
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for n, cred := range creds {
		wg.Go(func() {
			res := result{errors: map[string]int{}}
			auth := "Bearer " + cred
			prefix := "bench-" + run + "-" + strconv.Itoa(n) + "-"
			for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
				body := `{"seats":` + strconv.Itoa((n+i)%ingestSeats) + `}`
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
				if err != nil {
					res.errors["transport"]++
					break
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", auth)
				req.Header.Set("Idempotency-Key", prefix+strconv.Itoa(i))
				t0 := time.Now()
				resp, err := api.http.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						res.errors["transport"]++
						time.Sleep(ingestPause)
					}
					continue
				}
				// Read to the end, so that the connection is reused.
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(t0)
				switch {
				case err != nil:
					res.errors["transport"]++
				case resp.StatusCode == http.StatusOK:
					res.latencies = append(res.latencies, took)
				default:
					res.errors[strconv.Itoa(resp.StatusCode)]++
				}
			}
			results[n] = res
		})
	}
	wg.Wait()
	rep := ingestReport{elapsed: time.Since(start), errors: map[string]int{}}
	for _, r := range results {
		rep.latencies = append(rep.latencies, r.latencies...)
		for s, c := range r.errors {
			rep.errors[s] += c
		}
	}
	slices.Sort(rep.latencies)
	return rep
}

// serverFigures are what the benchmark reads from the server's /metrics.
type serverFigures struct {
	cpuSeconds float64 // process_cpu_seconds_total
	cpuErr     error   // why there is no CPU figure
	lag        float64 // events the projections are behind the log, together
}

// scrape reads the server's /metrics.
func (api *ingestAPI) scrape(ctx context.Context) (serverFigures, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.base.JoinPath("/metrics").String(), nil)
	if err != nil {
		return serverFigures{}, err
	}
	resp, err := api.http.Do(req)
	if err != nil {
		return serverFigures{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverFigures{}, fmt.Errorf("GET /metrics answered %s", resp.Status)
	}
	f := serverFigures{cpuErr: errors.New("the server's /metrics has no process_cpu_seconds_total")}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			f.cpuSeconds, f.cpuErr = strconv.ParseFloat(strings.TrimSpace(v), 64)
		} else if strings.HasPrefix(line, "seatledger_projection_lag_events{") {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				f.lag += v
			}
		}
	}
	return f, sc.Err()
}

// settle waits, up to max, until the server's projections have applied
// the reports, so that the CPU they took counts too; it returns the last
// figures and how long it waited.
func (api *ingestAPI) settle(ctx context.Context, max time.Duration) (serverFigures, time.Duration, error) {
	start := time.Now()
	for {
		f, err := api.scrape(ctx)
		if err != nil || f.lag == 0 || time.Since(start) >= max {
			return f, time.Since(start), err
		}
		select {
		case <-ctx.Done():
			return f, time.Since(start), ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
