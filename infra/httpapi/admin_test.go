package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/clock"
	"seatledger/infra/timers"
)

var simStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestAdmin_every_admin_route_needs_the_token(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	routes := 0
	err := chi.Walk(s.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/admin/") {
			return nil
		}
		routes++
		for _, tc := range []struct {
			auth string
			want ProblemType
		}{
			{"", ProblemUnauthorized},
			{"Basic dXNlcjpwYXNz", ProblemUnauthorized},
			{"Bearer ", ProblemUnauthorized},
			{"Bearer wrong-token-0123456789", ProblemForbidden},
			{"Bearer " + testToken + "x", ProblemForbidden},
		} {
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			w := do(t, s, method, route, strings.NewReader(`{"by":"1d"}`), append(hdr, "Content-Type", "application/json")...)
			p := problemOf(t, w)
			if p.Type != tc.want.URI() {
				t.Errorf("%s %s with %q: %d %s, want %s", method, route, tc.auth, w.Code, p.Type, tc.want.URI())
			}
			if tc.want == ProblemUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: 401 without a Bearer challenge", method, route)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if routes < 2 {
		t.Fatalf("walked %d admin routes, want the clock endpoints at least", routes)
	}
}

func TestAdmin_is_disabled_without_a_configured_token(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Clock: clock.NewSimulated(simStart), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		w := do(t, s, http.MethodGet, "/admin/clock", nil, "Authorization", auth)
		if p := problemOf(t, w); p.Type != ProblemForbidden.URI() || !strings.Contains(p.Detail, "LEDGER_ADMIN_TOKEN") {
			t.Errorf("with %q: %d %+v", auth, w.Code, p)
		}
	}
}

func TestAdmin_accepts_the_token_in_any_scheme_case(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	for _, auth := range []string{"Bearer " + testToken, "bearer " + testToken, "BEARER  " + testToken} {
		if w := do(t, s, http.MethodGet, "/admin/clock", nil, "Authorization", auth); w.Code != http.StatusOK {
			t.Errorf("%q: %d %s", auth, w.Code, w.Body)
		}
	}
}

// rule X-3: the simulated clock moves only when an admin advances it.
func TestAdminClock_advance_moves_the_simulated_clock(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(simStart)
	s, _ := newTestServer(t, Config{Clock: sim})
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}

	w := do(t, s, http.MethodGet, "/admin/clock", nil, auth...)
	var shown ClockState
	if err := json.Unmarshal(w.Body.Bytes(), &shown); err != nil || w.Code != 200 || !shown.Now.Equal(simStart) || shown.Previous != nil {
		t.Fatalf("GET /admin/clock = %d %s", w.Code, w.Body)
	}

	w = do(t, s, http.MethodPost, "/admin/clock/advance", strings.NewReader(`{"by":"7d"}`), auth...)
	var moved ClockState
	if err := json.Unmarshal(w.Body.Bytes(), &moved); err != nil || w.Code != 200 {
		t.Fatalf("POST /admin/clock/advance = %d %s", w.Code, w.Body)
	}
	want := simStart.AddDate(0, 0, 7)
	if !moved.Now.Equal(want) || moved.Previous == nil || !moved.Previous.Equal(simStart) || !sim.Now().Equal(want) {
		t.Fatalf("advanced to %+v (clock %v), want %v from %v", moved, sim.Now(), want, simStart)
	}
}

func TestAdminClock_advance_refuses_bad_durations(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(simStart)
	s, _ := newTestServer(t, Config{Clock: sim})
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
	for _, body := range []string{`{"by":"seven days"}`, `{"by":"-1h"}`, `{"by":"0d"}`, `{}`, `{"by":"7d","dry_run":true}`} {
		w := do(t, s, http.MethodPost, "/admin/clock/advance", strings.NewReader(body), append(auth, badInput...)...)
		if p := problemOf(t, w); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %+v, want 400", body, w.Code, p)
		}
	}
	if !sim.Now().Equal(simStart) {
		t.Errorf("clock moved to %v on refused requests", sim.Now())
	}
}

func TestAdminClock_on_the_real_clock_is_a_409_clock_is_real(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{Clock: clock.Real{}})
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/admin/clock", ""},
		{http.MethodPost, "/admin/clock/advance", `{"by":"7d"}`},
	} {
		w := do(t, s, req.method, req.path, strings.NewReader(req.body), auth...)
		p := problemOf(t, w)
		if w.Code != http.StatusConflict || p.Type != ProblemClockIsReal.URI() || p.Title != "Clock is real" {
			t.Errorf("%s %s = %d %+v", req.method, req.path, w.Code, p)
		}
	}
}

// Rule X-6: with timers to step through, the advance hands the target
// time to StepClock and answers only once it returns, with the log
// position to read at and how many timers fired.
func TestAdminClock_advance_answers_after_the_steps_with_the_position_X6(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(simStart)
	var asked []time.Duration
	s, _ := newTestServer(t, Config{Clock: sim, StepClock: func(_ context.Context, by time.Duration) (ClockSteps, error) {
		asked = append(asked, by)
		from := sim.Now()
		to, err := sim.Advance(by)
		if err != nil {
			return ClockSteps{}, err
		}
		return ClockSteps{From: from, To: to, Fired: 3, Position: 42, Retrying: []string{"mail/x"}}, nil
	}})
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
	w := do(t, s, http.MethodPost, "/admin/clock/advance", strings.NewReader(`{"by":"36h"}`), auth...)
	if w.Code != 200 || w.Header().Get("X-Ledger-Position") != "42" {
		t.Fatalf("advance = %d %s (X-Ledger-Position %q)", w.Code, w.Body, w.Header().Get("X-Ledger-Position"))
	}
	want := simStart.Add(36 * time.Hour)
	if len(asked) != 1 || asked[0] != 36*time.Hour {
		t.Fatalf("StepClock asked for %v, want [36h]", asked)
	}
	var state ClockState
	if err := json.Unmarshal(w.Body.Bytes(), &state); err != nil {
		t.Fatal(err)
	}
	if !state.Now.Equal(want) || state.Previous == nil || !state.Previous.Equal(simStart) || state.TimersFired == nil || *state.TimersFired != 3 ||
		state.Position == nil || *state.Position != 42 || len(state.Retrying) != 1 {
		t.Errorf("answer %s", w.Body)
	}
}

// An advance that stopped on its way is a 503 saying where the clock
// stands; any other failure is a 500 that shows nothing of the cause.
func TestAdminClock_advance_that_stops_is_a_503_saying_where_X6(t *testing.T) {
	t.Parallel()
	sim := clock.NewSimulated(simStart)
	stoppedAt := simStart.Add(2 * time.Hour)
	s, _ := newTestServer(t, Config{Clock: sim, StepClock: func(context.Context, time.Duration) (ClockSteps, error) {
		_ = sim.Set(stoppedAt)
		return ClockSteps{}, &timers.StoppedError{At: stoppedAt, Timer: "t-1", Kind: "k", Err: errors.New("database is locked")}
	}})
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
	w := do(t, s, http.MethodPost, "/admin/clock/advance", strings.NewReader(`{"by":"1d"}`), auth...)
	if p := problemOf(t, w); w.Code != 503 || p.Type != ProblemClockStopped.URI() || !strings.Contains(p.Detail, "2026-") || strings.Contains(p.Detail, "locked") {
		t.Fatalf("stopped advance answered %d %+v", w.Code, p)
	}

	failing, logs := newTestServer(t, Config{Clock: clock.NewSimulated(simStart), StepClock: func(context.Context, time.Duration) (ClockSteps, error) {
		return ClockSteps{}, errors.New("database is locked")
	}})
	w = do(t, failing, http.MethodPost, "/admin/clock/advance", strings.NewReader(`{"by":"1d"}`), auth...)
	if p := problemOf(t, w); w.Code != 500 || strings.Contains(p.Detail, "locked") {
		t.Fatalf("failed advance answered %d %+v", w.Code, p)
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("failure not logged:\n%s", logs)
	}
}
