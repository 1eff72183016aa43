package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, s *Server) string {
	t.Helper()
	w := do(t, s, http.MethodGet, "/metrics", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestMetrics_record_commits_as_an_eventstore_observer(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	s, _ := newTestServer(t, Config{Metrics: m})
	do(t, s, http.MethodGet, "/healthz", nil)
	m.ObserveCommit(3, 7, 2*time.Millisecond, nil)
	m.ObserveCommit(1, 1, time.Millisecond, nil)
	m.ObserveCommit(2, 0, time.Second, errors.New("disk full"))
	body := scrape(t, s)
	wantLines(t, body,
		`seatledger_eventstore_append_seconds_count{result="ok"} 2`,
		`seatledger_eventstore_append_seconds_count{result="error"} 1`,
		`seatledger_eventstore_batch_events_sum 8`,
		`seatledger_eventstore_batch_events_count 2`,
		`seatledger_eventstore_batch_appends_sum 4`,
		`seatledger_eventstore_batch_events_bucket{le="8"} 2`,
	)
	for _, family := range []string{"go_goroutines", "process_", "seatledger_http_request_duration_seconds"} {
		if !strings.Contains(body, family) {
			t.Errorf("metrics lack %s", family)
		}
	}
}

func TestMetrics_read_projection_lag_and_timers_due_at_scrape_time(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	s, _ := newTestServer(t, Config{Metrics: m})
	if body := scrape(t, s); strings.Contains(body, "seatledger_projection_lag_events{") || strings.Contains(body, "\nseatledger_timers_due ") {
		t.Fatal("gauges reported before their functions were registered")
	}
	lag := uint64(4)
	m.SetProjectionLag(func(context.Context) (map[string]uint64, error) {
		return map[string]uint64{"farms": lag, "quota": 0}, nil
	})
	m.SetTimersDue(func(context.Context) (int, error) { return 12, nil })
	wantLines(t, scrape(t, s),
		`seatledger_projection_lag_events{projection="farms"} 4`,
		`seatledger_projection_lag_events{projection="quota"} 0`,
		`seatledger_timers_due 12`,
	)
	lag = 9
	wantLines(t, scrape(t, s), `seatledger_projection_lag_events{projection="farms"} 9`)
}

func TestMetrics_a_failing_gauge_function_leaves_the_rest_of_the_scrape(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	s, logs := newTestServer(t, Config{Metrics: m})
	m.SetProjectionLag(func(context.Context) (map[string]uint64, error) { return nil, errors.New("checkpoints unreadable") })
	m.SetTimersDue(func(context.Context) (int, error) { return 3, nil })
	body := scrape(t, s)
	wantLines(t, body, `seatledger_timers_due 3`)
	if !strings.Contains(body, "go_goroutines") {
		t.Error("runtime metrics dropped")
	}
	if !strings.Contains(logs.String(), "checkpoints unreadable") {
		t.Errorf("failure not logged:\n%s", logs)
	}
}

func TestMetrics_label_unmatched_paths_alike(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	do(t, s, http.MethodGet, "/random/1", nil)
	do(t, s, http.MethodGet, "/random/2", nil)
	do(t, s, "BREW", "/healthz", nil)
	body := scrape(t, s)
	wantLines(t, body,
		`seatledger_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 2`,
		`seatledger_http_request_duration_seconds_count{method="other",route="unmatched",status="405"} 1`,
	)
	if strings.Contains(body, "/random/") {
		t.Error("a raw path became a label")
	}
}
