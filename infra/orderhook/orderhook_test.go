package orderhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/infra/orderhook"
	"seatledger/infra/timers"
)

// Sender.Handle is what the timer loop calls for the order system's timers.
var _ timers.Handler = (*orderhook.Sender)(nil).Handle

var secret = []byte("whsec-0123456789abcdef0123456789")

// delivery is one request the fake order system received.
type delivery struct {
	method string
	header http.Header
	body   []byte
}

// orderSystem is a real HTTP server that records deliveries and answers
// each with the next of statuses (200 once they run out).
type orderSystem struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []delivery
	statuses   []int
}

func startOrderSystem(t *testing.T, statuses ...int) *orderSystem {
	t.Helper()
	o := &orderSystem{statuses: statuses}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.deliveries = append(o.deliveries, delivery{r.Method, r.Header.Clone(), body})
		status := http.StatusOK
		if len(o.statuses) > 0 {
			status, o.statuses = o.statuses[0], o.statuses[1:]
		}
		o.mu.Unlock()
		w.WriteHeader(status)
		if status >= 300 {
			_, _ = io.WriteString(w, "renewal service unavailable"+strings.Repeat(".", 500))
		}
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *orderSystem) received() []delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]delivery(nil), o.deliveries...)
}

func newSender(t *testing.T, cfg orderhook.Config) *orderhook.Sender {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := orderhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func renewalTimer() timers.Timer {
	return timers.Timer{
		ID:      "renewal-request/sub-1/2027-03-01",
		Kind:    "order.renewal_requested",
		Due:     time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC),
		Payload: []byte(`{"subscription_id":"sub-1","order_id":"o-1","period_end":"2027-03-01T00:00:00Z"}`),
	}
}

func TestHandle_delivers_the_payload_once_signed(t *testing.T) {
	t.Parallel()
	o := startOrderSystem(t)
	s := newSender(t, orderhook.Config{URL: o.URL + "/hooks/seatledger", Secret: secret})
	tm := renewalTimer()
	if err := s.Handle(context.Background(), tm); err != nil {
		t.Fatal(err)
	}
	got := o.received()
	if len(got) != 1 {
		t.Fatalf("the order system received %d deliveries; want 1", len(got))
	}
	d := got[0]
	if d.method != http.MethodPost || !bytes.Equal(d.body, tm.Payload) {
		t.Errorf("received %s %s; want POST of the payload as is", d.method, d.body)
	}
	for name, want := range map[string]string{
		"Content-Type":                 "application/json",
		orderhook.HeaderIdempotencyKey: tm.ID,
		orderhook.HeaderEvent:          tm.Kind,
	} {
		if got := d.header.Get(name); got != want {
			t.Errorf("%s: %q; want %q", name, got, want)
		}
	}
	sig := d.header.Get(orderhook.HeaderSignature)
	if !strings.HasPrefix(sig, "t=") || !strings.Contains(sig, ",v1=") {
		t.Fatalf("signature header %q", sig)
	}
	if err := orderhook.Verify(secret, sig, d.body, time.Now(), time.Minute); err != nil {
		t.Errorf("Verify refuses the delivery: %v", err)
	}
}

func TestHandle_without_a_secret_sends_no_signature(t *testing.T) {
	t.Parallel()
	o := startOrderSystem(t)
	s := newSender(t, orderhook.Config{URL: o.URL})
	if err := s.Handle(context.Background(), renewalTimer()); err != nil {
		t.Fatal(err)
	}
	if got := o.received(); len(got) != 1 || got[0].header.Get(orderhook.HeaderSignature) != "" {
		t.Errorf("deliveries %+v; want one without a signature", got)
	}
}

// A refusal fails the timer (the loop retries); the retry, with the same
// idempotency key, succeeds.
func TestHandle_fails_on_a_refusal_and_succeeds_on_the_retry(t *testing.T) {
	t.Parallel()
	o := startOrderSystem(t, http.StatusInternalServerError)
	s := newSender(t, orderhook.Config{URL: o.URL, Secret: secret})
	tm := renewalTimer()
	err := s.Handle(context.Background(), tm)
	if err == nil {
		t.Fatal("a 500 counted as delivered")
	}
	msg := err.Error()
	for _, want := range []string{tm.ID, "500 Internal Server Error", "renewal service unavailable"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if len(msg) > 400 {
		t.Errorf("error quotes too much of the answer (%d bytes): %s", len(msg), msg)
	}
	if err := s.Handle(context.Background(), tm); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := o.received()
	if len(got) != 2 || got[0].header.Get(orderhook.HeaderIdempotencyKey) != got[1].header.Get(orderhook.HeaderIdempotencyKey) {
		t.Errorf("deliveries %+v; want two with one idempotency key", got)
	}
}

// A redirect is not a delivery: following it would turn the POST into a
// GET that answers 200.
func TestHandle_does_not_follow_redirects(t *testing.T) {
	t.Parallel()
	o := startOrderSystem(t)
	redirect := httptest.NewServer(http.RedirectHandler(o.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	s := newSender(t, orderhook.Config{URL: redirect.URL, Client: &http.Client{Timeout: time.Second}})
	if err := s.Handle(context.Background(), renewalTimer()); err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("Handle = %v; want an error naming the 302", err)
	}
	if got := o.received(); len(got) != 0 {
		t.Errorf("the redirect was followed: %+v", got)
	}
}

func TestHandle_reports_transport_errors(t *testing.T) {
	t.Parallel()
	o := startOrderSystem(t)
	url := o.URL
	o.Close()
	s := newSender(t, orderhook.Config{URL: url})
	if err := s.Handle(context.Background(), renewalTimer()); err == nil {
		t.Fatal("a closed server counted as delivered")
	}
}

// Without a URL, the request is logged and the timer counts as fired.
func TestHandle_without_a_URL_logs_and_succeeds(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := newSender(t, orderhook.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if s.Configured() {
		t.Error("a sender without URL says it is configured")
	}
	tm := renewalTimer()
	if err := s.Handle(context.Background(), tm); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=WARN", "order webhook not configured; renewal request recorded in the log only", tm.ID} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestNew_refuses_a_URL_that_is_not_absolute_http(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"localhost:8080/hook", "/hooks", "ftp://orders/hook", "https://", "mailto:orders@example.com", "http://user:hunter2@%zz/"} {
		_, err := orderhook.New(orderhook.Config{URL: u})
		if err == nil {
			t.Errorf("New accepted %q", u)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	for _, u := range []string{"", "http://orders:8080/hook", "https://orders.example.com/hooks/seatledger?source=ledger"} {
		if _, err := orderhook.New(orderhook.Config{URL: u}); err != nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}

func TestVerify_refuses_what_was_not_signed_now_with_the_secret(t *testing.T) {
	t.Parallel()
	body := renewalTimer().Payload
	now := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	good := orderhook.Sign(secret, now, body)
	if err := orderhook.Verify(secret, good, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("Verify refuses a good signature: %v", err)
	}
	if err := orderhook.Verify(secret, "v0=x, "+good+",v1="+strings.Repeat("00", 32), body, now, 0); err != nil {
		t.Errorf("Verify refuses a header with extra entries: %v", err)
	}
	tampered := bytes.Replace(body, []byte("sub-1"), []byte("sub-2"), 1)
	for name, tc := range map[string]struct {
		secret []byte
		header string
		body   []byte
		now    time.Time
	}{
		"tampered body":       {secret, good, tampered, now},
		"wrong secret":        {[]byte("another-secret-0123456789abcdef"), good, body, now},
		"no secret":           {nil, good, body, now},
		"old timestamp":       {secret, good, body, now.Add(6 * time.Minute)},
		"future timestamp":    {secret, good, body, now.Add(-6 * time.Minute)},
		"replayed time":       {secret, orderhook.Sign(secret, now.Add(-time.Hour), body), body, now},
		"swapped time":        {secret, strings.Replace(good, "t=", "t=1", 1), body, now},
		"no v1":               {secret, strings.Split(good, ",")[0], body, now},
		"no t":                {secret, strings.Split(good, ",")[1], body, now},
		"malformed signature": {secret, strings.Split(good, ",")[0] + ",v1=xyz", body, now},
		"empty":               {secret, "", body, now},
	} {
		if err := orderhook.Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute); !errors.Is(err, orderhook.ErrSignature) {
			t.Errorf("%s: Verify = %v; want ErrSignature", name, err)
		}
	}
}
