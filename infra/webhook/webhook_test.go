package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/infra/clock"
	"seatledger/infra/logtest"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/webhook"
)

const deadline = 30 * time.Second

var key = func() secret.Key {
	k, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return k
}()

// Issue 22 (SSRF): loopback, private, link-local, CGNAT, unspecified and
// multicast addresses are refused, IPv4-mapped ones too; public ones pass.
func TestRefused_internal_addresses(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1"} {
		if !webhook.Refused(netip.MustParseAddr(s)) {
			t.Errorf("%s is not refused", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"} {
		if webhook.Refused(netip.MustParseAddr(s)) {
			t.Errorf("%s is refused", s)
		}
	}
}

// env is a migrated database with one account's feed in it, and the
// endpoints the test adds.
type env struct {
	t     *testing.T
	db    *sqldb.DB
	clock clock.Clock
	mu    sync.Mutex
	pos   int64
}

func newEnv(t *testing.T, clk clock.Clock) *env {
	t.Helper()
	return &env{t: t, db: sqldbtest.Open(t, sqldbtest.SQLite(t)), clock: clk, pos: 100}
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.ExecContext(context.Background(), e.db.Rebind(q), args...); err != nil {
		e.t.Fatal(err)
	}
}

// endpoint adds endpoint id of account acme delivering to url, from the
// feed's current end on.
func (e *env) endpoint(id, url string) {
	e.t.Helper()
	e.mu.Lock()
	pos := e.pos
	e.mu.Unlock()
	e.exec(`INSERT INTO webhook_endpoints (endpoint_id, account_id, url, secret_nonce, created_at, created_by, created_position)
		VALUES (?, 'acme', ?, ?, 0, 'p1', ?)`, id, url, "nonce-"+id, pos)
}

// event appends an event to acme's feed and returns its event ID.
func (e *env) event(typ string) string {
	e.t.Helper()
	e.mu.Lock()
	e.pos++
	pos := e.pos
	e.mu.Unlock()
	id := fmt.Sprintf("ev-%d", pos)
	e.exec(`INSERT INTO feed_events (account_id, position, event_id, type, subject_kind, subject_id, occurred_at, recorded_at, data)
		VALUES ('acme', ?, ?, ?, 'account', 'acme', 0, 0, '{"n":1}')`, pos, id, typ)
	return id
}

type disabled struct{ endpoint, event string }

func (e *env) worker(allowPrivate bool, giveUp time.Duration, off chan<- disabled) *webhook.Worker {
	return e.workerWith(webhook.Config{AllowHTTP: true, AllowPrivate: allowPrivate, GiveUpAfter: giveUp}, off)
}

func (e *env) workerWith(cfg webhook.Config, off chan<- disabled) *webhook.Worker {
	e.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := webhook.New(webhook.Config{DB: e.db, Clock: e.clock, Tokens: key, AllowHTTP: cfg.AllowHTTP, AllowPrivate: cfg.AllowPrivate,
		MaxPayload: cfg.MaxPayload, Retention: cfg.Retention, Concurrency: cfg.Concurrency,
		Timeout: 3 * time.Second, Poll: 10 * time.Millisecond, Schedule: []time.Duration{time.Millisecond}, GiveUpAfter: cfg.GiveUpAfter,
		Logger: cfg.Logger,
		Disable: func(_ context.Context, acc, id, ev string, _ time.Time, _ string) (uint64, error) {
			off <- disabled{id, ev}
			e.exec(`UPDATE webhook_endpoints SET enabled = 0, switched_position = 999999 WHERE endpoint_id = ?`, id)
			return 999999, nil
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return w
}

type row struct {
	Outcome string
	Status  int
	Error   string
	EventID string
}

func (e *env) log(endpoint string) []row {
	e.t.Helper()
	rows, err := e.db.QueryContext(context.Background(), e.db.Rebind(`SELECT outcome, status, error, event_id FROM webhook_deliveries
		WHERE endpoint_id = ? ORDER BY delivery_id`), endpoint)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Outcome, &r.Status, &r.Error, &r.EventID); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver records what it is sent.
type receiver struct {
	mu    sync.Mutex
	got   []*http.Request
	ids   []string
	body  [][]byte
	srv   *httptest.Server
	reply func(n int) int // the status of the n'th request (0-based)
}

func newReceiver(t *testing.T, reply func(n int) int) *receiver {
	r := &receiver{reply: reply}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, req)
		r.body = append(r.body, b)
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		r.mu.Unlock()
		w.WriteHeader(r.reply(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// Issue 22 (SSRF): without the setting, an endpoint on 127.0.0.1 — named
// by its address or by a host name that resolves to it — gets nothing;
// the delivery log says why. The check runs in the dialer after name
// resolution, so no DNS answer gets past it.
func TestWorker_refuses_loopback_without_the_setting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.Real{})
	r := newReceiver(t, func(int) int { return 200 })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.srv.URL, "http://"))
	e.endpoint("by-ip", r.srv.URL)
	e.endpoint("by-name", "http://localhost:"+port+"/")
	e.event("member.joined")
	e.worker(false, time.Hour, make(chan disabled, 4))
	for _, id := range []string{"by-ip", "by-name"} {
		eventually(t, id+" logged a refusal", func() bool { return len(e.log(id)) > 0 })
		if l := e.log(id)[0]; l.Outcome != "failed" || l.Status != 0 || !strings.Contains(l.Error, "refused to connect") {
			t.Errorf("%s: %+v, want a refusal", id, l)
		}
	}
	if r.count() != 0 {
		t.Errorf("the receiver got %d requests", r.count())
	}
}

// Issue 22: a redirect is never followed; the 3xx is a failed delivery,
// retried like any other.
func TestWorker_does_not_follow_redirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.Real{})
	target := newReceiver(t, func(int) int { return 200 })
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, target.srv.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	e.endpoint("w1", redirect.URL)
	e.event("member.joined")
	e.worker(true, time.Hour, make(chan disabled, 4))
	eventually(t, "two attempts logged", func() bool { return len(e.log("w1")) >= 2 })
	for _, l := range e.log("w1") {
		if l.Outcome != "failed" || l.Status != http.StatusTemporaryRedirect || !strings.Contains(l.Error, "redirects are not followed") {
			t.Errorf("attempt %+v, want a failed 307", l)
		}
	}
	if target.count() != 0 {
		t.Errorf("the redirect's target got %d requests", target.count())
	}
}

// Issue 22: a dead endpoint (it never answers) holds up only itself:
// the live endpoint of the same account gets every event, in order,
// while the dead one's first request still hangs.
func TestWorker_dead_endpoint_does_not_delay_a_live_one(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.Real{})
	hang := make(chan struct{})
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-hang:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); dead.Close() })
	live := newReceiver(t, func(int) int { return 204 })
	e.endpoint("dead", dead.URL)
	e.endpoint("live", live.srv.URL)
	var want []string
	for range 5 {
		want = append(want, e.event("ticket.opened"))
	}
	e.worker(true, time.Hour, make(chan disabled, 4))
	eventually(t, "the live endpoint got every event", func() bool { return live.count() == len(want) })
	live.mu.Lock()
	got := strings.Join(live.ids, ",")
	live.mu.Unlock()
	if got != strings.Join(want, ",") {
		t.Errorf("live got %s, want %s in order", got, strings.Join(want, ","))
	}
	if n := len(e.log("dead")); n != 0 {
		t.Errorf("the dead endpoint's hanging request was logged already (%d rows): the test proves nothing", n)
	}
}

// Issue 22: more endpoints with events than the worker delivers to at
// once all get them. Each pass used to start the endpoints in ID order
// until the slots were full, whether they had anything to deliver or not,
// so with Concurrency 1 the first endpoint took the slot on every pass and
// the second never got an event (found by BenchmarkWebhookDelivery: 8 of
// 100 endpoints delivered to).
func TestWorker_endpoints_beyond_the_concurrency_are_not_starved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.Real{})
	var recv []*receiver
	for i := range 3 {
		r := newReceiver(t, func(int) int { return 204 })
		e.endpoint(fmt.Sprintf("ep-%d", i), r.srv.URL)
		recv = append(recv, r)
	}
	e.workerWith(webhook.Config{AllowHTTP: true, AllowPrivate: true, GiveUpAfter: time.Hour, Concurrency: 1}, make(chan disabled, 4))
	got := func(n int) bool {
		for _, r := range recv {
			if r.count() != n {
				return false
			}
		}
		return true
	}
	// Each round's event reaches every endpoint within a few polls (10 ms
	// each), while the first has nothing left.
	for round := 1; round <= 3; round++ {
		e.event("ticket.opened")
		sent := time.Now()
		eventually(t, fmt.Sprintf("every endpoint got event %d", round), func() bool { return got(round) })
		if d := time.Since(sent); d > 2*time.Second {
			t.Errorf("event %d took %s to reach every endpoint", round, d)
		}
	}
}

// Issue 22: a delivery failing from some time on is retried until it has
// failed for GiveUpAfter; then the endpoint is disabled with that event
// named, and nothing later is sent. Signatures verify with the secret
// the admin was shown (Standard Webhooks: HMAC-SHA256 over
// "id.timestamp.body" with the base64 of whsec_…).
func TestWorker_gives_up_after_failing_for_GiveUpAfter(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, sim)
	r := newReceiver(t, func(int) int { return 503 })
	e.endpoint("w1", r.srv.URL)
	first := e.event("member.joined")
	e.event("member.joined")
	off := make(chan disabled, 1)
	e.worker(true, 72*time.Hour, off)
	eventually(t, "a first failure", func() bool { return r.count() >= 1 })
	if _, err := sim.Advance(71 * time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second failure", func() bool { return r.count() >= 2 })
	select {
	case d := <-off:
		t.Fatalf("disabled after 71 hours: %+v", d)
	default:
	}
	if _, err := sim.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-off:
		if d.endpoint != "w1" || d.event != first {
			t.Errorf("disabled %+v, want w1 at %s", d, first)
		}
	case <-time.After(deadline):
		t.Fatal("not disabled after 72 hours of failures")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	secret := commands.FormatWebhookSecret(commands.WebhookSecret(key, "w1", "nonce-w1"))
	for i, id := range r.ids {
		if id != first {
			t.Errorf("request %d delivered %s, want only %s (in order)", i, id, first)
		}
		req := r.got[i]
		if !verifies(secret, req.Header, r.body[i]) {
			t.Errorf("request %d: signature %q does not verify", i, req.Header.Get("webhook-signature"))
		}
	}
	l := e.log("w1")
	if l[len(l)-1].Outcome != "gave_up" {
		t.Errorf("last log row %+v, want gave_up", l[len(l)-1])
	}
}

// verifies checks a request's signature as a Standard Webhooks receiver
// does: the base64 HMAC-SHA256 of "id.timestamp.body" under the decoded
// whsec_ secret, among the header's space-separated "v1," signatures.
func verifies(secret string, h http.Header, body []byte) bool {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return json.Valid(body)
		}
	}
	return false
}

// Issue 22: the days an endpoint was disabled by an admin do not count
// towards giving up; enabled again, it is tried at once and gets its
// full retry period.
func TestWorker_time_disabled_does_not_count_towards_giving_up(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, sim)
	r := newReceiver(t, func(int) int { return 500 })
	e.endpoint("w1", r.srv.URL)
	e.event("member.joined")
	off := make(chan disabled, 1)
	e.worker(true, 72*time.Hour, off)
	eventually(t, "a first failure", func() bool { return len(e.log("w1")) == 1 })
	e.exec(`UPDATE webhook_endpoints SET enabled = 0, switched_position = 500 WHERE endpoint_id = 'w1'`)
	if _, err := sim.Advance(96 * time.Hour); err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE webhook_endpoints SET enabled = 1, switched_position = 600 WHERE endpoint_id = 'w1'`)
	eventually(t, "a try after the enable", func() bool { return len(e.log("w1")) == 2 })
	if l := e.log("w1")[1]; l.Outcome != "failed" {
		t.Errorf("the first try after 4 days disabled: %+v, want failed (not gave_up)", l)
	}
	select {
	case d := <-off:
		t.Errorf("disabled for failing: %+v", d)
	default:
	}
}

// Issue 22 (bounded payloads): an event whose envelope exceeds
// MaxPayload is sent without its data, marked data_omitted, still signed
// and with its webhook-id; the receiver reads the data from the feed.
func TestWorker_bounds_the_payload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.Real{})
	r := newReceiver(t, func(int) int { return 200 })
	e.endpoint("w1", r.srv.URL)
	id := e.event("member.joined")
	e.exec(`UPDATE feed_events SET data = ? WHERE event_id = ?`, `{"note":"`+strings.Repeat("x", 600)+`"}`, id)
	e.workerWith(webhook.Config{AllowHTTP: true, AllowPrivate: true, GiveUpAfter: time.Hour, MaxPayload: 512}, make(chan disabled, 1))
	eventually(t, "a delivery", func() bool { return r.count() == 1 })
	r.mu.Lock()
	defer r.mu.Unlock()
	var got struct {
		EventID     string          `json:"event_id"`
		Data        json.RawMessage `json:"data"`
		DataOmitted bool            `json:"data_omitted"`
	}
	if err := json.Unmarshal(r.body[0], &got); err != nil {
		t.Fatal(err)
	}
	if len(r.body[0]) > 512 || got.EventID != id || string(got.Data) != "null" || !got.DataOmitted {
		t.Errorf("a %d-byte body %s, want at most 512 bytes without data", len(r.body[0]), r.body[0])
	}
	secret := commands.FormatWebhookSecret(commands.WebhookSecret(key, "w1", "nonce-w1"))
	if !verifies(secret, r.got[0].Header, r.body[0]) {
		t.Error("the bounded body's signature does not verify")
	}
}

// Issue 22: without LEDGER_WEBHOOK_ALLOW_HTTP an http:// endpoint (made
// while the setting was on) gets nothing; the log says why.
func TestWorker_refuses_plain_http_without_the_setting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.Real{})
	r := newReceiver(t, func(int) int { return 200 })
	e.endpoint("w1", r.srv.URL)
	e.event("member.joined")
	e.workerWith(webhook.Config{AllowPrivate: true, GiveUpAfter: time.Hour}, make(chan disabled, 1))
	eventually(t, "a refusal logged", func() bool { return len(e.log("w1")) > 0 })
	if l := e.log("w1")[0]; l.Outcome != "failed" || !strings.Contains(l.Error, "plain http://") || r.count() != 0 {
		t.Errorf("%+v, %d requests; want a refusal and none", l, r.count())
	}
}

// A worker stopped while its prune waits for the database (here: behind
// another write transaction of the process) stops quietly: a cancelled
// prune is no warning (it printed two at every quick stop of ledgerd).
func TestWorker_stopped_while_pruning_logs_no_warning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clock.NewSimulated(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)))
	hold, err := e.db.BeginTx(context.Background(), nil) // the write lock, and on SQLite the gate
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hold.Rollback() })
	var logs logtest.Buffer
	w, err := webhook.New(webhook.Config{DB: e.db, Clock: e.clock, Tokens: key, Poll: time.Hour,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Disable: func(context.Context, string, string, string, time.Time, string) (uint64, error) { return 0, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // the first pass prunes, and waits
	cancel()
	<-done
	_ = hold.Rollback()
	if strings.Contains(logs.String(), "prune") {
		t.Fatalf("a stop during the prune logged:\n%s", logs.String())
	}
}

// Issue 22 (retention): the delivery log keeps 90 days by default, or
// Retention; older attempts are pruned, newer ones kept.
func TestWorker_prunes_the_delivery_log_after_the_retention(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, sim)
	for i, age := range []time.Duration{91 * 24 * time.Hour, 89 * 24 * time.Hour} {
		e.exec(`INSERT INTO webhook_deliveries (delivery_id, endpoint_id, account_id, event_id, event_type, position, attempt, outcome, attempted_at)
			VALUES (?, 'w1', 'acme', 'ev', 'member.joined', 1, 1, 'delivered', ?)`, fmt.Sprintf("dl_%d", i), sim.Now().Add(-age).UnixMicro())
	}
	e.worker(true, time.Hour, make(chan disabled, 1))
	eventually(t, "the 91-day-old attempt pruned", func() bool { return len(e.log("w1")) == 1 })
	var id string
	if err := e.db.QueryRowContext(context.Background(), `SELECT delivery_id FROM webhook_deliveries`).Scan(&id); err != nil || id != "dl_1" {
		t.Errorf("kept %q (%v), want the 89-day-old dl_1", id, err)
	}
}
