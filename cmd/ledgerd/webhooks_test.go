package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/infra/mail/mailtest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/webhook"
	"seatledger/queries"
)

// hookRequest is one request a webhook receiver got.
type hookRequest struct {
	id, timestamp, signature string
	body                     []byte
	status                   int // what the receiver answered
	envelope                 struct {
		queries.FeedEvent
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
}

// hookReceiver is a real HTTP receiver: it records every request and
// answers 503 while failing, else 204.
type hookReceiver struct {
	mu      sync.Mutex
	got     []hookRequest
	failing bool
	srv     *httptest.Server
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := hookRequest{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
			signature: r.Header.Get("webhook-signature"), body: body}
		if err := json.Unmarshal(body, &req.envelope); err != nil {
			t.Errorf("a delivery's body is not the feed's JSON: %v: %s", err, body)
		}
		h.mu.Lock()
		req.status = http.StatusNoContent
		if h.failing {
			req.status = http.StatusServiceUnavailable
		}
		h.got = append(h.got, req)
		h.mu.Unlock()
		w.WriteHeader(req.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setFailing(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = on
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// delivered returns the names (data.name) of the requests answered 2xx,
// in order.
func (h *hookReceiver) delivered() []string {
	var out []string
	for _, r := range h.requests() {
		if r.status < 300 {
			out = append(out, r.envelope.Data.Name)
		}
	}
	return out
}

// signedBy reports whether one of the space-separated signatures of r
// verifies with secret (whsec_ and base64), as a Standard Webhooks
// receiver checks it: HMAC-SHA256 over "id.timestamp.body".
func (r hookRequest) signedBy(secret string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(r.signature) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// webhookLedger starts ledgerd on target with the real clock and the
// settings that let webhooks reach the test's receiver on 127.0.0.1
// over http; start may be called again after Close, on the same
// database, key files and SMTP server: a restart.
func webhookLedger(t *testing.T, target sqldb.Target) (start func() *Main, smtp *mailtest.Server) {
	smtp = mailtest.Start(t, "ledger", "smtp-secret")
	env := testEnv(t, "LEDGER_DATABASE_URL", target.DSN, "LEDGER_SMTP_URL", smtp.URL("ledger", "smtp-secret"),
		"LEDGER_PUBLIC_URL", "http://portal.example", "LEDGER_CLOCK", "real", "LEDGER_CLOCK_START", "",
		"LEDGER_WEBHOOK_ALLOW_HTTP", "on", "LEDGER_WEBHOOK_ALLOW_PRIVATE", "on")
	start = func() *Main {
		logs := &syncBuffer{}
		m := NewMain()
		m.Getenv, m.LogOutput, m.PasswordParams = env, logs, &cheap
		m.Webhooks = webhook.Config{Poll: 20 * time.Millisecond, Schedule: []time.Duration{100 * time.Millisecond}}
		validateExchanges(t, m)
		if err := m.ParseFlags(nil); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(t.Context()); err != nil {
			m.Close()
			t.Fatalf("Run: %v\n%s", err, logs)
		}
		t.Cleanup(func() {
			m.Close()
			if s := logs.String(); strings.Contains(s, "whsec_") {
				t.Error("a webhook secret reached the log")
			}
		})
		return m
	}
	return start, smtp
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 22, end to end on SQLite and PostgreSQL: an admin adds an
// endpoint (its secret shown once) for one event type; a real receiver
// gets each such event of the account, and no other, with the feed's
// event ID as webhook-id and a signature that verifies; while it fails,
// the same event is retried (same webhook-id) and the next waits; across
// a restart of ledgerd the retries go on and the events arrive in order.
// The delivery log tells each attempt, a resend repeats a delivery with
// its webhook-id, a rotation signs with both secrets, and a disabled
// endpoint resumes where it stopped once enabled (X-1: every change by
// the admin).
func TestWebhooks_signed_in_order_retried_across_a_restart(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		start, _ := webhookLedger(t, target)
		m := start()
		_, ada, _, acc, sub := installationsAccount(t, m, "ras", 10)
		recv := newHookReceiver(t)
		hooks := "/v1/accounts/" + acc + "/webhooks"

		// Bad input names the field and changes nothing.
		bad := ada.must(400, "POST", hooks, map[string]any{"url": "ftp://hooks.example.com/"})
		if !strings.Contains(bad.raw, `"name":"url"`) {
			t.Errorf("a bad URL: %s, want invalid_params naming url", bad.raw)
		}
		bad = ada.must(400, "POST", hooks, map[string]any{"url": recv.srv.URL, "types": []string{"subscription.renamed", "no.such_event"}})
		if !strings.Contains(bad.raw, `"name":"types[1]"`) {
			t.Errorf("an unknown type: %s, want invalid_params naming types[1]", bad.raw)
		}

		created := ada.must(201, "POST", hooks, map[string]any{"url": recv.srv.URL + "/in", "types": []string{"subscription.renamed"}})
		hookID, secret := created.str("id"), created.str("secret")
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("secret %q is not whsec_…", secret)
		}
		listed := ada.must(200, "GET", hooks, nil)
		if strings.Contains(listed.raw, secret) || strings.Contains(listed.raw, strings.TrimPrefix(secret, "whsec_")) {
			t.Error("the list shows the secret again")
		}
		hook := hooks + "/" + hookID

		rename := func(c *client, name string) {
			t.Helper()
			c.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": name})
		}
		for _, n := range []string{"Hook 1", "Hook 2", "Hook 3"} {
			rename(ada, n)
			// Another type of event, which the endpoint does not take.
			ada.must(200, "PUT", "/v1/accounts/"+acc+"/profile", map[string]any{"name": "Acme " + n, "country": "DE", "zip": "8200", "phone": "+41 52 672 20 30"})
		}
		waitUntil(t, "three deliveries", func() bool { return len(recv.delivered()) == 3 })

		// The receiver fails: Hook 4 is retried, Hook 5 waits behind it.
		recv.setFailing(true)
		rename(ada, "Hook 4")
		rename(ada, "Hook 5")
		// Retried, as the delivery log tells (not only the receiver: an
		// attempt the receiver saw is in the log once it is answered).
		waitUntil(t, "Hook 4 retried", func() bool {
			var log queries.WebhookDeliveryPage
			if err := json.Unmarshal([]byte(ada.must(200, "GET", hook+"/deliveries?limit=100", nil).raw), &log); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, d := range log.Deliveries {
				if d.Outcome == "failed" && d.Status == 503 {
					n++
				}
			}
			return n >= 3
		})

		// Restart on the same database while it fails; it recovers.
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		recv.setFailing(false)
		m = start()
		ada2 := newClient(t, m)
		ada2.bearer = ada.bearer
		waitUntil(t, "five deliveries after the restart", func() bool { return len(recv.delivered()) == 5 })

		all := recv.requests()
		if got := recv.delivered(); !slices.Equal(got, []string{"Hook 1", "Hook 2", "Hook 3", "Hook 4", "Hook 5"}) {
			t.Fatalf("delivered %v, want Hook 1 to 5 in order", got)
		}
		// Strict order: nothing of Hook 5 before Hook 4 was taken.
		firstHook5 := slices.IndexFunc(all, func(r hookRequest) bool { return r.envelope.Data.Name == "Hook 5" })
		lastHook4 := -1
		for i, r := range all {
			if r.envelope.Data.Name == "Hook 4" {
				lastHook4 = i
			}
		}
		if firstHook5 < lastHook4 {
			t.Errorf("Hook 5 was sent (request %d) before Hook 4 was delivered (request %d)", firstHook5, lastHook4)
		}
		// The webhook-id is the feed's event ID, the same on each retry.
		feed := ada2.must(200, "GET", "/v1/accounts/"+acc+"/events?types=subscription.renamed", nil)
		var page queries.FeedPage
		if err := json.Unmarshal([]byte(feed.raw), &page); err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{} // name → event ID
		for _, e := range page.Events {
			var d struct{ Name string }
			_ = json.Unmarshal(e.Data, &d)
			ids[d.Name] = e.EventID
		}
		for i, r := range all {
			if r.id == "" || r.id != ids[r.envelope.Data.Name] || r.id != r.envelope.EventID {
				t.Errorf("request %d (%s): webhook-id %q, want the feed's event ID %q", i, r.envelope.Data.Name, r.id, ids[r.envelope.Data.Name])
			}
			if r.envelope.Type != "subscription.renamed" {
				t.Errorf("request %d is a %s, which the endpoint does not take", i, r.envelope.Type)
			}
			if !r.signedBy(secret) {
				t.Errorf("request %d (%s): signature %q does not verify with the secret", i, r.envelope.Data.Name, r.signature)
			}
		}

		// The delivery log: Hook 4's failed attempts (503) and its delivery.
		var log queries.WebhookDeliveryPage
		if err := json.Unmarshal([]byte(ada2.must(200, "GET", hook+"/deliveries?limit=100", nil).raw), &log); err != nil {
			t.Fatal(err)
		}
		var failed, deliveredHook4 int
		var hook2 queries.WebhookDelivery
		for _, d := range log.Deliveries {
			switch {
			case d.EventID == ids["Hook 4"] && d.Outcome == "failed" && d.Status == 503:
				failed++
			case d.EventID == ids["Hook 4"] && d.Outcome == "delivered" && d.Status == 204 && d.Attempt > 1:
				deliveredHook4++
			case d.EventID == ids["Hook 2"] && d.Outcome == "delivered":
				hook2 = d
			}
		}
		if failed < 3 || deliveredHook4 != 1 || hook2.ID == "" {
			t.Errorf("log: %d failed attempts of Hook 4 (want ≥ 3), %d deliveries of it after retries (want 1), Hook 2 %+v:\n%s",
				failed, deliveredHook4, hook2, ada2.must(200, "GET", hook+"/deliveries?limit=100", nil).raw)
		}

		// Resend: Hook 2 again, with its webhook-id.
		ada2.must(202, "POST", hook+"/deliveries/"+hook2.ID+"/resend", nil)
		waitUntil(t, "the resend", func() bool { return len(recv.delivered()) == 6 })
		if last := recv.requests()[len(recv.requests())-1]; last.id != ids["Hook 2"] || !last.signedBy(secret) {
			t.Errorf("the resend carried %q (%s), want Hook 2's %q, signed", last.id, last.envelope.Data.Name, ids["Hook 2"])
		}

		// Rotation: for a day both secrets sign.
		rotated := ada2.must(200, "POST", hook+"/rotate-secret", nil).str("secret")
		if rotated == secret || !strings.HasPrefix(rotated, "whsec_") {
			t.Fatalf("rotated secret %q", rotated)
		}
		rename(ada2, "Hook 6")
		waitUntil(t, "Hook 6", func() bool { return len(recv.delivered()) == 7 })
		if last := recv.requests()[len(recv.requests())-1]; !last.signedBy(secret) || !last.signedBy(rotated) || len(strings.Fields(last.signature)) != 2 {
			t.Errorf("after a rotation: signatures %q, want one by each secret", last.signature)
		}

		// Disabled, an endpoint gets nothing; enabled, it resumes there.
		ada2.must(200, "POST", hook+"/disable", nil)
		if w := ada2.must(200, "GET", hook, nil); w.body["enabled"] != false || w.str("disabled_reason") != "admin" {
			t.Errorf("after disable: %s", w.raw)
		}
		rename(ada2, "Hook 7")
		ada2.must(200, "POST", hook+"/enable", nil)
		waitUntil(t, "Hook 7 after enable", func() bool { return len(recv.delivered()) == 8 })
		if got := recv.delivered(); got[7] != "Hook 7" {
			t.Errorf("after enable: %v", got)
		}

		// The filter changes, then the endpoint goes.
		ada2.must(200, "PATCH", hook, map[string]any{"types": []string{}})
		if w := ada2.must(200, "GET", hook, nil); !strings.Contains(w.raw, `"types":[]`) {
			t.Errorf("after PATCH types []: %s", w.raw)
		}
		ada2.must(200, "DELETE", hook, nil)
		ada2.must(404, "GET", hook, nil)
	})
}

// Issue 22: an endpoint failing for the whole retry period is disabled
// by the delivery worker (a process, X-1), and the account's admins are
// mailed; the API tells why it is disabled. (The period is shortened for
// the test; the schedule is the worker's own.)
func TestWebhooks_failing_endpoint_is_disabled_and_admins_mailed(t *testing.T) {
	target := sqldbtest.SQLite(t)
	smtp := mailtest.Start(t, "ledger", "smtp-secret")
	env := testEnv(t, "LEDGER_DATABASE_URL", target.DSN, "LEDGER_SMTP_URL", smtp.URL("ledger", "smtp-secret"),
		"LEDGER_PUBLIC_URL", "http://portal.example", "LEDGER_CLOCK", "real", "LEDGER_CLOCK_START", "",
		"LEDGER_WEBHOOK_ALLOW_HTTP", "on", "LEDGER_WEBHOOK_ALLOW_PRIVATE", "on")
	m := NewMain()
	m.Getenv, m.LogOutput, m.PasswordParams = env, &syncBuffer{}, &cheap
	m.Webhooks = webhook.Config{Poll: 20 * time.Millisecond, Schedule: []time.Duration{50 * time.Millisecond}, GiveUpAfter: 300 * time.Millisecond}
	validateExchanges(t, m)
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	_, ada, _, acc, sub := installationsAccount(t, m, "ras", 10)
	recv := newHookReceiver(t)
	recv.setFailing(true)
	hook := "/v1/accounts/" + acc + "/webhooks/" + ada.must(201, "POST", "/v1/accounts/"+acc+"/webhooks", map[string]any{"url": recv.srv.URL}).str("id")
	ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Doomed"})
	msg := smtp.WaitFor(t, "ada@example.com", "Webhook endpoint disabled after failing deliveries", 30*time.Second)
	if !strings.Contains(msg.Body, recv.srv.URL) || !strings.Contains(msg.Body, "HTTP 503") {
		t.Errorf("the mail does not name the endpoint and its error:\n%s", msg.Body)
	}
	waitUntil(t, "the endpoint shows disabled", func() bool {
		w := ada.must(200, "GET", hook, nil)
		return w.body["enabled"] == false && w.str("disabled_reason") == "failing"
	})
	var log queries.WebhookDeliveryPage
	if err := json.Unmarshal([]byte(ada.must(200, "GET", hook+"/deliveries", nil).raw), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Deliveries) == 0 || log.Deliveries[0].Outcome != "gave_up" {
		t.Errorf("the newest log row is not gave_up: %+v", log.Deliveries)
	}
	// Enabled again, the same event is delivered once the receiver is back.
	n := len(recv.requests())
	recv.setFailing(false)
	ada.must(200, "POST", hook+"/enable", nil)
	waitUntil(t, "the event delivered after enable", func() bool { return len(recv.delivered()) == 1 })
	if got := recv.requests(); got[len(got)-1].id != got[n-1].id {
		t.Errorf("after enable the endpoint got %s, want the event it gave up on (%s)", got[len(got)-1].id, got[n-1].id)
	}
}

// Issue 22: an event is delivered within moments of the account feed
// applying it, not at the worker's next poll: the worker is woken by the
// feed's progress (here the poll is an hour).
func TestWebhooks_delivered_when_the_feed_moves_not_at_the_next_poll(t *testing.T) {
	m := NewMain()
	m.Getenv = testEnv(t, "LEDGER_DATABASE_URL", sqldbtest.SQLite(t).DSN, "LEDGER_WEBHOOK_ALLOW_HTTP", "on", "LEDGER_WEBHOOK_ALLOW_PRIVATE", "on")
	m.LogOutput, m.PasswordParams = &syncBuffer{}, &cheap
	m.Webhooks = webhook.Config{Poll: time.Hour}
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	_, ada, _, acc, sub := installationsAccount(t, m, "ras", 10)
	recv := newHookReceiver(t)
	ada.must(201, "POST", "/v1/accounts/"+acc+"/webhooks", map[string]any{"url": recv.srv.URL + "/in", "types": []string{"subscription.renamed"}})
	time.Sleep(100 * time.Millisecond) // the first pass after the endpoint's creation is over
	for i, name := range []string{"Soon 1", "Soon 2"} {
		sent := time.Now()
		ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": name})
		waitUntil(t, name+" delivered", func() bool { return len(recv.delivered()) == i+1 })
		if took := time.Since(sent); took > 10*time.Second {
			t.Errorf("%s delivered %v after the rename: at a poll, not when the feed moved", name, took)
		}
	}
}
