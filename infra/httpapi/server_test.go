package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/logtest"
)

// testToken is the admin token of test servers.
const testToken = "test-admin-token-0123456789"

// logBuffer collects a test server's JSON log lines.
type logBuffer struct{ logtest.Buffer }

// lines decodes every log line.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		out = append(out, m)
	}
	return out
}

// newTestServer returns a server on a simulated clock with the test admin
// token, unless cfg says otherwise, and its log.
func newTestServer(t *testing.T, cfg Config) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = testToken
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// do serves one request and returns the recorded response.
func do(t *testing.T, h http.Handler, method, path string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, body)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	validated(t, h).ServeHTTP(w, r)
	return w
}

// badInput marks a request of do as invalid on purpose: its response is
// validated against the document, the request is not.
var badInput = []string{openapitest.InvalidRequestHeader, "bad input on purpose"}

// validated wraps h so that every exchange is validated against the
// served OpenAPI document (issue 19); a mismatch fails t naming the
// operation. A request sent invalid on purpose carries
// openapitest.InvalidRequestHeader: only its response is validated.
func validated(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	v, err := openapitest.Load(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	return v.Handler(h, func(problem string) { t.Error(problem) })
}

// problemOf decodes a problem response, failing unless it is one.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, w.Code, w.Body)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, w.Body)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, response status %d", p.Status, w.Code)
	}
	return p
}

func TestServer_healthz_answers_while_the_process_runs(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	w := do(t, s, http.MethodGet, "/healthz", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"ok"`) {
		t.Fatalf("GET /healthz = %d %s", w.Code, w.Body)
	}
}

func TestServer_unknown_path_is_a_404_problem(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	w := do(t, s, http.MethodGet, "/nowhere", nil, RequestIDHeader, "req-404")
	p := problemOf(t, w)
	if w.Code != http.StatusNotFound || p.Type != ProblemNotFound.URI() || p.Instance != "/nowhere" || p.RequestID != "req-404" {
		t.Fatalf("GET /nowhere = %d %+v", w.Code, p)
	}
}

func TestServer_wrong_method_is_a_405_problem_with_Allow(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	w := do(t, s, http.MethodDelete, "/healthz", nil)
	p := problemOf(t, w)
	if w.Code != http.StatusMethodNotAllowed || p.Type != ProblemMethodNotAllowed.URI() {
		t.Fatalf("DELETE /healthz = %d %+v", w.Code, p)
	}
	if got := w.Header().Get("Allow"); got != "GET" {
		t.Errorf("Allow = %q, want GET", got)
	}
	// Inside the admin subrouter too, once authenticated.
	w = do(t, s, http.MethodGet, "/admin/clock/advance", nil, "Authorization", "Bearer "+testToken)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Fatalf("GET /admin/clock/advance = %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	problemOf(t, w)
}

func TestServer_unknown_method_on_unknown_path_is_a_404_problem(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	w := do(t, s, "BREW", "/teapot", nil)
	if p := problemOf(t, w); w.Code != http.StatusNotFound || p.Type != ProblemNotFound.URI() {
		t.Fatalf("BREW /teapot = %d %+v", w.Code, p)
	}
}

func TestNew_refuses_a_config_without_clock(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Checks: []Check{{Name: "x"}}}); err == nil ||
		!strings.Contains(err.Error(), "needs a clock") || !strings.Contains(err.Error(), "check 0") {
		t.Fatalf("New = %v, want both problems", err)
	}
}
