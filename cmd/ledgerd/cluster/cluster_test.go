// Package cluster holds the cluster test of rule X-8 (make test-cluster):
// three ledgerd processes behind a client that spreads a mixed workload
// over them, on a PostgreSQL primary with a synchronous streaming-
// replication standby, with kill -9 of ledgerd processes and one kill -9
// of the primary followed by the promotion of the standby.
package cluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"seatledger/infra/timers"
	"seatledger/projections"
)

const (
	adminToken = "cluster-admin-token-0123456789"
	password   = "correct horse battery"
	// processes is how many ledgerd processes serve the database.
	processes = 3
	// faultsFor is how long the mixed workload runs under faults.
	faultsFor = 30 * time.Second
	// workers is how many clients send the mixed workload at once.
	workers = 8
	// throughputFor is how long each usage-report throughput run lasts.
	throughputFor = 6 * time.Second
)

// TestCluster_three_processes_a_standby_kill9_and_failover_X8 is rule
// X-8's proof on one machine. It checks that every acknowledged write is
// in the log; that no request failed with a 5xx (a request cut off by the
// kill of its own process is a connection failure, retried elsewhere);
// that every read model equals a rebuild from the log; that each timer's
// effects were recorded once and each mail written once; and that
// `ledger verify` passes against a checkpoint saved before the faults. It
// prints the acknowledged writes, the failover time (primary killed →
// first successful write) and usage reports/s with one and with three
// processes.
func TestCluster_three_processes_a_standby_kill9_and_failover_X8(t *testing.T) {
	if os.Getenv("LEDGER_CLUSTER_TEST") != "1" {
		t.Skip("the cluster test starts PostgreSQL clusters and ledgerd processes: run it with make test-cluster (LEDGER_CLUSTER_TEST=1)")
	}
	base, err := os.MkdirTemp("", "ledger-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil { // the postgres user walks through it
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first: runs last, after every process is gone
		if t.Failed() && os.Getenv("LEDGER_CLUSTER_KEEP") != "" {
			t.Logf("kept %s", base)
			return
		}
		os.RemoveAll(base)
	})
	start := time.Now()
	ledgerdBin, ledgerBin := build(t, filepath.Join(base, "bin"))
	primary, standby := replicatedPair(t, filepath.Join(base, "pg"))
	t.Cleanup(func() { primary.kill(); standby.kill() })
	primary.exec(t, "postgres", "CREATE DATABASE ledger")
	dbURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/ledger?sslmode=disable&target_session_attrs=read-write",
		primary.port, standby.port)

	// One set of secrets for every process: the same files, the same
	// environment (the first process creates the files).
	shared, mailDir, logDir := filepath.Join(base, "shared"), filepath.Join(base, "mail"), filepath.Join(base, "logs")
	for _, d := range []string{shared, mailDir, logDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := []string{
		"LEDGER_DATABASE_URL=" + dbURL, "LEDGER_CLOCK=simulated", "LEDGER_CLOCK_START=2026-03-01T09:00:00Z",
		"LEDGER_ADMIN_TOKEN=" + adminToken, "LEDGER_SECRET_KEY=" + base64.StdEncoding.EncodeToString(secret),
		"LEDGER_KEYRING_FILE=" + filepath.Join(shared, "keyring.secret"),
		"LEDGER_MDM_CA_CERT=" + filepath.Join(shared, "mdm-ca.crt"), "LEDGER_MDM_CA_KEY=" + filepath.Join(shared, "mdm-ca.key"),
		"LEDGER_OFFLINE_KEY=" + filepath.Join(shared, "offline-signing.key"), "LEDGER_AUDIT_KEY=" + filepath.Join(shared, "audit-signing.key"),
		"LEDGER_MAIL_DIR=" + mailDir, "LEDGER_PUBLIC_URL=http://ledger.example", "LEDGER_LOG_LEVEL=warn",
		"LEDGER_LEASE_TTL=2s", "LEDGER_CHECKPOINT_INTERVAL=500ms", "LEDGER_FAILOVER_TIMEOUT=30s",
		// The workload comes from one address, retries a trial on the
		// same server through a failover and measures reports/s: the
		// limits on anonymous trials and on an installation's reports
		// would answer it 429, so they are lifted as for a load test.
		"LEDGER_TRIAL_LIMIT=off", "LEDGER_TRIAL_SERVER_LIMIT=off", "LEDGER_INSTALLATION_CALL_LIMIT=off",
	}
	procs := make([]*process, processes)
	for i := range procs {
		procs[i] = &process{i: i, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), bin: ledgerdBin, env: env, logDir: logDir}
	}
	t.Cleanup(func() {
		for _, p := range procs {
			p.kill9()
		}
		if t.Failed() {
			dumpLogs(t, logDir)
		}
	})
	for _, p := range procs { // one after the other: the first creates the secret files
		p.start(t)
	}
	out := newOutcome()
	c := &client{http: &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, procs: procs, out: out}
	fleet := setUp(t, c)
	t.Logf("set up in %s: %d processes on a primary and its synchronous standby", time.Since(start).Round(time.Millisecond), processes)

	// Usage reports/s with one and with three processes, before the
	// faults: each installation sends its reports to one process (its
	// connection, kept alive through the load balancer), or each report to
	// the next process (round robin per request).
	one := reportRate(t, c, fleet.trials, "one", func(n, i int) int { return 0 })
	three := reportRate(t, c, fleet.trials, "sticky", func(n, i int) int { return n % processes })
	roundRobin := reportRate(t, c, fleet.trials, "round-robin", func(n, i int) int { return (n + i) % processes })

	// The auditor's checkpoint, saved before the faults.
	time.Sleep(time.Second) // a checkpoint interval or two
	checkpoint := c.must(t, 0, 200, "GET", "/v1/audit/checkpoint", adminToken, nil).raw
	publicKey := c.must(t, 1, 200, "GET", "/v1/audit/public-key", "", nil).raw
	for _, f := range []struct{ name, text string }{{"cp.txt", checkpoint}, {"key.txt", publicKey}} {
		if err := os.WriteFile(filepath.Join(base, f.name), []byte(f.text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	kills, failover := runFaults(t, c, fleet, primary, standby)
	for _, p := range procs {
		if !p.up.Load() {
			p.start(t)
		}
	}
	db := connect(t, standby.url("ledger"))
	head := quiesce(t, db)

	// The checks.
	checkAnswers(t, out)
	checkAcknowledged(t, db, out)
	mails := checkTimersAndMail(t, db, mailDir)
	for _, p := range procs {
		p.stop(t)
	}
	tables := checkReadModels(t, db, ledgerBin, dbURL)
	verify := exec.Command(ledgerBin, "verify", "--checkpoint", filepath.Join(base, "cp.txt"), "--public-key", filepath.Join(base, "key.txt"),
		"--database-url", dbURL)
	if b, err := verify.CombinedOutput(); err != nil {
		t.Errorf("ledger verify against the checkpoint saved before the faults: %v\n%s", err, b)
	}

	byKind := map[string]int{}
	for _, a := range out.acked {
		byKind[a.kind]++
	}
	kinds := make([]string, 0, len(byKind))
	for k, n := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	t.Logf("acknowledged writes: %d (%s), all in the log of %d events", len(out.acked), strings.Join(kinds, ", "), head)
	t.Logf("faults: %d kill -9 of ledgerd processes (%d requests cut off, retried elsewhere), the primary killed and the standby promoted",
		kills, out.connFailed)
	t.Logf("failover time (primary killed → first successful write): %s", failover.Round(time.Millisecond))
	t.Logf("usage reports/s: %.0f with 1 process, %.0f with %d processes (%.0f sending each report to the next process)",
		one, three, processes, roundRobin)
	t.Logf("read models equal to a rebuild from the log: %d tables; mails written once: %d; ledger verify: passed", tables, mails)
	t.Logf("answers by status: %v; run took %s", out.statuses, time.Since(start).Round(time.Second))
}

// fleet is what setUp made: accounts with people, subscriptions, keys,
// installations and tickets, and trial installations for the throughput runs.
type fleet struct {
	accounts []account
	trials   []string // credentials
	emails   atomic.Int64
}

// installations returns the credentials of the accounts' installations.
func (f *fleet) installations() []string {
	var out []string
	for _, a := range f.accounts {
		out = append(out, a.installations...)
	}
	return out
}

type account struct {
	id, sub, token string
	keys           []string // sublicense key IDs
	installations  []string // credentials
	ticket         string
}

// setUp makes the fleet through the processes in turn.
func setUp(t *testing.T, c *client) *fleet {
	t.Helper()
	c.must(t, 0, 200, "PUT", "/v1/products/ras", adminToken, map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	f := &fleet{}
	for i := range 4 {
		p := i % processes
		email := fmt.Sprintf("admin%d@example.com", i)
		c.must(t, p, 201, "POST", "/v1/signup", "", map[string]any{"first_name": "Admin", "last_name": fmt.Sprint(i), "email": email,
			"password": password, "accept_terms": true})
		token := apiToken(t, c, p, email)
		bought := c.must(t, p, 201, "POST", "/v1/orders", adminToken, map[string]any{"kind": "purchase", "order_id": fmt.Sprintf("cluster-%d", i),
			"product_id": "ras", "seats": 40, "period": "1y", "channel": "online", "support_plan": "standard"})
		reg := c.must(t, p, 201, "POST", "/v1/keys/register", token, map[string]any{"key": bought.str("key"),
			"company": map[string]any{"name": fmt.Sprintf("Cluster %d AG", i), "country": "CH", "zip": "8000", "phone": "+41 44 000 00 00"}})
		a := account{id: reg.str("account_id"), sub: bought.str("subscription_id"), token: token}
		keys := []string{bought.str("key")}
		for k := range 2 {
			sl := c.must(t, p, 201, "POST", "/v1/subscriptions/"+a.sub+"/keys", token, map[string]any{"name": fmt.Sprintf("Site %d", k), "quota": 5})
			a.keys = append(a.keys, sl.str("key_id"))
			keys = append(keys, sl.str("key"))
		}
		for k, key := range keys {
			act := c.must(t, p, 200, "POST", "/v1/installations/activations", "", map[string]any{"key": key, "identity": map[string]any{
				"kind": "farm", "server_id": fmt.Sprintf("srv-%d-%d", i, k), "farm_name": fmt.Sprintf("Farm %d-%d", i, k), "app_version": "19.2"}})
			a.installations = append(a.installations, act.str("credential"))
		}
		a.ticket = c.must(t, p, 201, "POST", "/v1/accounts/"+a.id+"/tickets", token, map[string]any{"product_id": "ras", "category": "technical",
			"description": "The farm reports odd numbers.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
		f.accounts = append(f.accounts, a)
	}
	for i := range 32 {
		act := c.must(t, i%processes, 200, "POST", "/v1/installations/trials", "", map[string]any{"product_id": "ras", "identity": map[string]any{
			"kind": "farm", "server_id": fmt.Sprintf("bench-%d", i), "farm_name": fmt.Sprintf("Bench %d", i), "app_version": "19.2"}})
		f.trials = append(f.trials, act.str("credential"))
	}
	return f
}

// apiToken signs email in (a browser session on process p) and returns a
// personal API token for the scripts' calls.
func apiToken(t *testing.T, c *client, p int, email string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &client{http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, procs: c.procs, out: c.out}
	browser.must(t, p, 200, "POST", "/v1/session", "", map[string]any{"email": email, "password": password})
	return browser.must(t, p, 201, "POST", "/v1/me/tokens", "", map[string]any{"name": "cluster"}).str("token")
}

// reportRate sends usage reports from one client per credential, as fast
// as the processes answer, for throughputFor, report i of installation n
// to process route(n, i); it returns reports/s.
func reportRate(t *testing.T, c *client, creds []string, run string, route func(n, i int) int) float64 {
	t.Helper()
	var done atomic.Int64
	deadline := time.Now().Add(throughputFor)
	start := time.Now()
	var wg sync.WaitGroup
	for n, cred := range creds {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				a, err := c.do(route(n, i), "POST", "/v1/installation/usage", cred, fmt.Sprintf("tp-%s-%d-%d", run, n, i),
					map[string]any{"seats": (n + i) % 5})
				if err != nil || a.status != 200 {
					t.Errorf("throughput report: %v %d %s", err, a.status, a.raw)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// runFaults runs the mixed workload for faultsFor while ledgerd processes
// are killed with SIGKILL and started again, and once the primary is
// killed and the standby promoted. It returns the number of ledgerd kills
// and the failover time.
func runFaults(t *testing.T, c *client, f *fleet, primary, standby *pgServer) (int, time.Duration) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { work(t, c, f, w, stop) })
	}
	wg.Go(func() { // the clock advances, through any process
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			sent := time.Now()
			for i := n; ; i++ {
				a, err := c.do(i%processes, "POST", "/admin/clock/advance", adminToken, "", map[string]any{"by": "2h"})
				if err == nil && a.status == 200 {
					c.out.acknowledge("clock advance", a.position, "", sent)
					fired, _ := a.body["timers_fired"].(float64)
					t.Logf("clock advanced by 2h through ledgerd %d in %s, %d timers fired on the way", i%processes,
						time.Since(sent).Round(time.Millisecond), int(fired))
					break
				}
				if err == nil && a.status < 500 {
					t.Errorf("clock advance: %d %s", a.status, a.raw)
					break
				}
				time.Sleep(100 * time.Millisecond) // cut off (or a 5xx, recorded): the next process
			}
		}
	})
	kills := 0
	began := time.Now()
	var failover time.Duration
	primaryAt := began.Add(faultsFor * 2 / 5)
	for next := began.Add(3 * time.Second); time.Since(began) < faultsFor; next = next.Add(4 * time.Second) {
		if c.out.primaryAt.IsZero() && time.Now().After(primaryAt) {
			killed := time.Now()
			c.out.mu.Lock()
			c.out.primaryAt = killed
			c.out.mu.Unlock()
			primary.kill()
			standby.promote(t)
			t.Logf("primary killed at +%s, standby promoted %s later", killed.Sub(began).Round(time.Millisecond),
				time.Since(killed).Round(time.Millisecond))
		}
		time.Sleep(time.Until(next))
		p := c.procs[mrand.IntN(len(c.procs))]
		p.kill9()
		kills++
		time.Sleep(time.Duration(300+mrand.IntN(700)) * time.Millisecond)
		p.start(t)
	}
	close(stop)
	wg.Wait()
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	if c.out.firstAfter.IsZero() {
		t.Fatal("no write succeeded after the primary was killed")
	}
	failover = c.out.firstAfter.Sub(c.out.primaryAt)
	return kills, failover
}

// work is one client of the mixed workload: usage reports with
// idempotency keys (retried, with the same key, on another process when
// cut off), trial activations, sublicense changes, sign-ups and ticket
// replies, each sent to a random process.
func work(t *testing.T, c *client, f *fleet, w int, stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		a := f.accounts[mrand.IntN(len(f.accounts))]
		sent := time.Now()
		switch op := mrand.IntN(100); {
		case op < 55:
			// An installation reports one report after another: each worker
			// reports for installations of its own.
			var mine []string
			for i, cred := range f.installations() {
				if i%workers == w {
					mine = append(mine, cred)
				}
			}
			cred := mine[mrand.IntN(len(mine))]
			if ans, ok := retried(t, c, "POST", "/v1/installation/usage", cred, fmt.Sprintf("w%d-%d", w, n), map[string]any{"seats": mrand.IntN(6)}); ok {
				c.out.acknowledge("usage report", ans.position, "installation-"+ans.str("installation_id"), sent)
			}
		case op < 65:
			body := map[string]any{"product_id": "ras", "identity": map[string]any{"kind": "farm", "server_id": fmt.Sprintf("trial-%d-%d", w, n),
				"farm_name": "Trial", "app_version": "19.2"}}
			if ans, ok := retried(t, c, "POST", "/v1/installations/trials", "", "", body); ok { // the same server again is the same activation
				c.out.acknowledge("activation", ans.position, "installation-"+ans.str("installation_id"), sent)
			}
		case op < 75:
			key := a.keys[mrand.IntN(len(a.keys))]
			ans, err := c.do(mrand.IntN(processes), "PATCH", "/v1/subscriptions/"+a.sub+"/keys/"+key, a.token, "", map[string]any{"quota": 1 + mrand.IntN(6)})
			switch {
			case err != nil: // cut off: not retried, a change is not idempotent
			case ans.status == 200:
				c.out.acknowledge("sublicense change", ans.position, "subscription-"+a.sub, sent)
			case ans.status == 409: // a lost race or no change: answered, nothing written
			case ans.status < 500:
				t.Errorf("sublicense change: %d %s", ans.status, ans.raw)
			}
		case op < 85:
			email := fmt.Sprintf("person%d@example.com", f.emails.Add(1))
			ans, err := c.do(mrand.IntN(processes), "POST", "/v1/signup", "", "", map[string]any{"first_name": "Pat", "last_name": "Cluster",
				"email": email, "password": password, "accept_terms": true})
			switch {
			case err != nil:
			case ans.status == 201:
				c.out.acknowledge("sign-up", ans.position, "person-"+ans.str("person_id"), sent)
			case ans.status < 500:
				t.Errorf("sign-up: %d %s", ans.status, ans.raw)
			}
		default:
			ans, err := c.do(mrand.IntN(processes), "POST", "/v1/tickets/"+a.ticket+"/replies", adminToken, "",
				map[string]any{"body": fmt.Sprintf("Reply %d-%d from support.", w, n), "agent": "sam"})
			switch {
			case err != nil:
			case ans.status == 201:
				c.out.acknowledge("ticket reply", ans.position, "ticket-"+a.ticket, sent)
			case ans.status == 409 && ans.problem == "conflict": // lost the race to other replies several times: answered, nothing written
			case ans.status < 500:
				t.Errorf("ticket reply: %d %s", ans.status, ans.raw)
			}
		}
	}
}

// retried sends an idempotent request to a random process and, while it
// is cut off or answered with a 5xx, sends it again, the same, to another
// process: the answer is the original one or a fresh success, never a
// second effect (rule X-4).
func retried(t *testing.T, c *client, method, path, bearer, key string, body any) (answer, bool) {
	first := mrand.IntN(processes)
	for attempt := 0; attempt < 200; attempt++ {
		a, err := c.do((first+attempt)%processes, method, path, bearer, key, body)
		switch {
		case err != nil || a.status >= 500:
			time.Sleep(100 * time.Millisecond)
			continue
		case a.status == 409 && a.problem == "conflict":
			continue // lost races with a timer's or another report's decision: asked again, as a client does
		case a.status == 200 || a.status == 201:
			return a, true
		default:
			t.Errorf("%s %s: %d %s", method, path, a.status, a.raw)
			return a, false
		}
	}
	t.Errorf("%s %s: never answered", method, path)
	return answer{}, false
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// quiesce waits until every projection has applied the whole log and no
// timer is due, twice in a row a second apart, and returns the log head.
func quiesce(t *testing.T, db *pgx.Conn) uint64 {
	t.Helper()
	ctx := context.Background()
	var last uint64
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		var head, behind, due int64
		err := db.QueryRow(ctx, `SELECT (SELECT position FROM log_head WHERE id = 1),
			(SELECT count(*) FROM projection_checkpoints WHERE position <> (SELECT position FROM log_head WHERE id = 1) OR status <> 'live'),
			(SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= (SELECT simulated_at FROM clock_state WHERE id = 1))`).
			Scan(&head, &behind, &due)
		if err != nil {
			t.Fatal(err)
		}
		if behind == 0 && due == 0 && uint64(head) == last {
			return last
		}
		last = uint64(head)
		if time.Now().After(deadline) {
			t.Fatalf("the ledger does not settle: head %d, %d projections behind or stopped, %d timers due", head, behind, due)
		}
	}
}

// checkAnswers: no request failed but those cut off by a kill of their
// own process.
func checkAnswers(t *testing.T, out *outcome) {
	t.Helper()
	for _, s := range out.connWrong {
		t.Errorf("connection failure to a process that was not killed: %s", s)
	}
	for _, s := range out.fiveXX {
		t.Errorf("5xx: %s", s)
	}
}

// checkAcknowledged: every acknowledged write is in the log, at the
// position it was acknowledged with, in its stream.
func checkAcknowledged(t *testing.T, db *pgx.Conn, out *outcome) {
	t.Helper()
	ctx := context.Background()
	for _, a := range out.acked {
		if a.position == 0 {
			continue // a write that records nothing (a clock advance without effects)
		}
		var stream string
		if err := db.QueryRow(ctx, `SELECT stream_id FROM events WHERE position = $1`, int64(a.position)).Scan(&stream); err != nil {
			t.Errorf("acknowledged %s at position %d is not in the log: %v", a.kind, a.position, err)
			continue
		}
		if a.stream != "" && stream != a.stream {
			t.Errorf("acknowledged %s at position %d: the log holds %s there, want %s", a.kind, a.position, stream, a.stream)
		}
	}
}

// checkTimersAndMail: each timer's effects are in the log once, and each
// mail was written once. It returns the number of mails.
func checkTimersAndMail(t *testing.T, db *pgx.Conn, mailDir string) int {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT e.correlation_id, e.stream_id, e.type, count(*) FROM events e
		JOIN timers tm ON tm.id = e.correlation_id GROUP BY 1, 2, 3 HAVING count(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, stream, typ string
		var n int
		if err := rows.Scan(&id, &stream, &typ, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("timer %s recorded %d %s events in %s", id, n, typ, stream)
	}
	rows.Close()
	var fired int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM timers WHERE kind = $1 AND status = 'fired'`, projections.TimerKindMail).Scan(&fired); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
	seen := map[string]int{}
	for _, f := range files {
		seen[messageID(t, f)]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("mail %s was written %d times", id, n)
		}
	}
	if len(seen) != fired {
		t.Errorf("%d mails written, %d mail timers fired", len(seen), fired)
	}
	return len(seen)
}

// messageID returns the Message-ID header of an .eml file.
func messageID(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-ID") {
			return strings.TrimSpace(v)
		}
	}
	t.Errorf("%s has no Message-ID", path)
	return path
}

// checkReadModels dumps every projection's tables, rebuilds each
// projection from the log with `ledger projections rebuild`, and compares
// the tables with the dumps. It returns the number of tables compared.
func checkReadModels(t *testing.T, db *pgx.Conn, ledgerBin, dbURL string) int {
	t.Helper()
	ps := projections.All(timers.Scheduler{})
	before := map[string][]string{}
	for _, p := range ps {
		for _, table := range p.Tables() {
			before[table] = dumpTable(t, db, table)
		}
	}
	for _, p := range ps {
		cmd := exec.Command(ledgerBin, "projections", "rebuild", p.Name(), "--database-url", dbURL)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ledger projections rebuild %s: %v\n%s", p.Name(), err, b)
		}
	}
	for table, rows := range before {
		after := dumpTable(t, db, table)
		if strings.Join(after, "\n") != strings.Join(rows, "\n") {
			t.Errorf("read model table %s differs from its rebuild from the log:\nlive (%d rows):\n%s\nrebuilt (%d rows):\n%s",
				table, len(rows), sample(rows), len(after), sample(after))
		}
	}
	return len(before)
}

func sample(rows []string) string {
	if len(rows) > 20 {
		rows = append(rows[:20:20], "…")
	}
	return strings.Join(rows, "\n")
}

// dumpTable returns every row of table, as text, sorted.
func dumpTable(t *testing.T, db *pgx.Conn, table string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT * FROM `+pgx.Identifier{table}.Sanitize())
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if f, ok := v.(float64); ok && f == math.Trunc(f) {
				vals[i] = int64(f)
			}
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// dumpLogs prints the tail of each ledgerd log, for a failed run.
func dumpLogs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 {
			continue
		}
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("--- %s ---\n%s", filepath.Base(f), b)
	}
}
