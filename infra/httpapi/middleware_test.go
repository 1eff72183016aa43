package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestRequestID_echoes_a_sane_incoming_ID(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	for _, id := range []string{"abc-123", "0190f3c2-7b1e-7c3a-9d2e-1f2a3b4c5d6e", "trace:span.1_2"} {
		w := do(t, s, http.MethodGet, "/healthz", nil, RequestIDHeader, id)
		if got := w.Header().Get(RequestIDHeader); got != id {
			t.Errorf("X-Request-ID %q echoed as %q", id, got)
		}
	}
}

func TestRequestID_replaces_a_missing_or_insane_ID_with_a_UUID(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	for _, id := range []string{"", "has space", `quote"d`, "line\tbreak", strings.Repeat("x", maxRequestIDLength+1), "ünïcode"} {
		w := do(t, s, http.MethodGet, "/healthz", nil, RequestIDHeader, id)
		got := w.Header().Get(RequestIDHeader)
		if got == id {
			t.Errorf("insane X-Request-ID %q was echoed", id)
		}
		if u, err := uuid.Parse(got); err != nil || u.Version() != 7 {
			t.Errorf("generated ID %q is not a UUIDv7", got)
		}
	}
}

func TestRequestLog_has_ID_method_path_status_duration_and_no_credentials(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Config{})
	do(t, s, http.MethodPost, "/admin/clock/advance?secret=query", strings.NewReader(`{"by":"1d"}`),
		"Authorization", "Bearer "+testToken, "Content-Type", "application/json", RequestIDHeader, "req-log")
	var line map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "http request" {
			line = l
		}
	}
	if line == nil {
		t.Fatalf("no request log line:\n%s", logs)
	}
	want := map[string]any{"request_id": "req-log", "method": "POST", "path": "/admin/clock/advance",
		"route": "/admin/clock/advance", "status": float64(200), "level": "INFO"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("log has no duration_ms: %v", line)
	}
	for _, secret := range []string{testToken, "Bearer", "secret=query", "1d"} { // 1d: only in the body
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
}

func TestRequestLog_keeps_probes_at_debug_level(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Config{})
	do(t, s, http.MethodGet, "/healthz", nil)
	lines := logs.lines(t)
	if len(lines) != 1 || lines[0]["level"] != "DEBUG" {
		t.Fatalf("probe log = %v, want one DEBUG line", lines)
	}
}

func TestRecoverer_turns_a_panic_into_a_500_problem_and_a_log_line(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Config{})
	s.router.Get("/boom", func(w http.ResponseWriter, r *http.Request) { panic("nil map in handler") })
	w := do(t, s, http.MethodGet, "/boom", nil, RequestIDHeader, "req-boom")
	p := problemOf(t, w)
	if w.Code != 500 || p.Type != ProblemInternal.URI() || p.RequestID != "req-boom" || strings.Contains(p.Detail, "nil map") {
		t.Fatalf("answer = %d %+v", w.Code, p)
	}
	var panicked, logged500 bool
	for _, l := range logs.lines(t) {
		if l["msg"] == "panic in handler" && l["panic"] == "nil map in handler" && strings.Contains(l["stack"].(string), "goroutine") {
			panicked = true
		}
		if l["msg"] == "http request" && l["status"] == float64(500) && l["level"] == "ERROR" {
			logged500 = true
		}
	}
	if !panicked || !logged500 {
		t.Errorf("panic logged %t, 500 logged %t:\n%s", panicked, logged500, logs)
	}
}

func TestRecoverer_leaves_a_started_response_alone(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	s.router.Get("/half", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		panic("after the header")
	})
	w := do(t, s, http.MethodGet, "/half", nil)
	if w.Code != http.StatusOK || w.Body.String() != "partial" {
		t.Fatalf("answer = %d %q, want the partial response untouched", w.Code, w.Body)
	}
}

func TestRecoverer_lets_ErrAbortHandler_through(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	s.router.Get("/abort", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	defer func() {
		if rec := recover(); rec != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", rec)
		}
	}()
	do(t, s, http.MethodGet, "/abort", nil)
}
