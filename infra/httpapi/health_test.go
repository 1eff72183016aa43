package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
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
	check := ProjectionsCheck(func(context.Context) (map[string]uint64, error) { return lags, nil }, 100)
	if err := check.Run(context.Background()); err != nil {
		t.Fatalf("at the bound: %v", err)
	}
	lags["quota"], lags["peaks"] = 101, 5000
	err := check.Run(context.Background())
	if err == nil || err.Error() != "peaks is 5000 events behind, quota is 101 events behind (bound 100)" {
		t.Fatalf("beyond the bound: %v", err)
	}
	failing := ProjectionsCheck(func(context.Context) (map[string]uint64, error) { return nil, errors.New("no checkpoints table") }, 100)
	if err := failing.Run(context.Background()); err == nil {
		t.Fatal("a failing lag function passed")
	}
}
