package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"seatledger/infra/clock"
)

func readiness(t *testing.T, s *Server) (int, Readiness) {
	t.Helper()
	w := do(t, s, http.MethodGet, "/readyz", nil)
	var r Readiness
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("GET /readyz body: %v: %s", err, w.Body)
	}
	return w.Code, r
}

func TestReadyz_is_ready_when_every_check_passes(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	s, _ := newTestServer(t, Config{Checks: []Check{{"database", ok}, {"migrations", ok}}})
	code, r := readiness(t, s)
	if code != http.StatusOK || r.Status != "ready" || len(r.Checks) != 2 ||
		r.Checks[0] != (CheckResult{Name: "database", Status: "ok"}) || r.Checks[1] != (CheckResult{Name: "migrations", Status: "ok"}) {
		t.Fatalf("GET /readyz = %d %+v", code, r)
	}
}

func TestReadyz_is_503_naming_each_failed_check(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Config{CheckTimeout: 50 * time.Millisecond, Checks: []Check{
		{"database", func(context.Context) error { return nil }},
		{"migrations", func(context.Context) error { return errors.New("2 migrations pending") }},
		{"slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}})
	code, r := readiness(t, s)
	if code != http.StatusServiceUnavailable || r.Status != "not_ready" {
		t.Fatalf("GET /readyz = %d %+v", code, r)
	}
	want := []CheckResult{
		{Name: "database", Status: "ok"},
		{Name: "migrations", Status: "error", Error: "2 migrations pending"},
		{Name: "slow", Status: "error", Error: "context deadline exceeded"},
	}
	for i := range want {
		if r.Checks[i] != want[i] {
			t.Errorf("check %d = %+v, want %+v", i, r.Checks[i], want[i])
		}
	}
	if !strings.Contains(logs.String(), `"check":"migrations"`) {
		t.Errorf("failed check not logged:\n%s", logs)
	}
}

func TestProjectionsCheck_fails_only_beyond_the_lag_bound(t *testing.T) {
	t.Parallel()
	lags := map[string]uint64{"farms": 10, "quota": 100}
	check := ProjectionsCheck(func(context.Context) (map[string]uint64, error) { return lags, nil }, nil, 100)
	if err := check.Run(context.Background()); err != nil {
		t.Fatalf("at the bound: %v", err)
	}
	lags["quota"], lags["peaks"] = 101, 5000
	err := check.Run(context.Background())
	if err == nil || err.Error() != "peaks is 5000 events behind, quota is 101 events behind (bound 100)" {
		t.Fatalf("beyond the bound: %v", err)
	}
	failing := ProjectionsCheck(func(context.Context) (map[string]uint64, error) { return nil, errors.New("no checkpoints table") }, nil, 100)
	if err := failing.Run(context.Background()); err == nil {
		t.Fatal("a failing lag function passed")
	}
}

// Issue 16: a projection stopped at an event it cannot apply degrades only
// itself: the node stays ready (200, "degraded"), the check names it, and
// its growing lag does not count against the bound.
func TestProjectionsCheck_a_stopped_projection_degrades_but_keeps_the_node_ready(t *testing.T) {
	t.Parallel()
	lags := map[string]uint64{"directory": 0, "licenses": 5000}
	stopped := map[string]string{"licenses": `at position 7 (stream "subscription-1" version 1, subscription.purchased): invalid byte sequence`}
	check := ProjectionsCheck(func(context.Context) (map[string]uint64, error) { return lags, nil },
		func(context.Context) (map[string]string, error) { return stopped, nil }, 100)
	var degraded *DegradedError
	if err := check.Run(context.Background()); !errors.As(err, &degraded) || !strings.Contains(degraded.Detail, "licenses is stopped at position 7") {
		t.Fatalf("a stopped projection: %v", err)
	}
	s, err := New(Config{Clock: clock.NewSimulated(time.Unix(0, 0)), Checks: []Check{check}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var r Readiness
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusOK || r.Status != "degraded" ||
		r.Checks[0].Status != "degraded" || !strings.Contains(r.Checks[0].Error, "licenses") {
		t.Fatalf("/readyz = %d %s", w.Code, w.Body)
	}
	lags["directory"] = 101 // a running projection beyond the bound still fails
	if err := check.Run(context.Background()); err == nil || errors.As(err, &degraded) {
		t.Fatalf("a running projection beyond the bound: %v", err)
	}
}
