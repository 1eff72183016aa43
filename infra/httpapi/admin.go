package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"seatledger/commands"
	"seatledger/domain/staff"
	"seatledger/infra/clock"
	"seatledger/infra/timers"
)

// adminTokenMatcher returns a check of a bearer token against the admin
// token; with no admin token configured nothing matches. Hashing both
// sides gives equal-length inputs to the constant-time comparison, so that
// not even the token's length leaks through timing.
func adminTokenMatcher(token string) func(got string) bool {
	want := sha256.Sum256([]byte(token))
	return func(got string) bool {
		have := sha256.Sum256([]byte(got))
		return token != "" && subtle.ConstantTimeCompare(have[:], want[:]) == 1
	}
}

// requireAdmin lets a request through only with "Authorization: Bearer
// <token>". A missing or malformed header is a 401; a wrong token is a
// 403. With no token configured every admin request is refused: the
// back office is switched off rather than open.
func requireAdmin(token string) func(http.Handler) http.Handler {
	isAdmin := adminTokenMatcher(token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if token == "" {
				WriteProblem(w, r, ProblemForbidden.New("admin endpoints are disabled: the server was started without LEDGER_ADMIN_TOKEN"))
				return
			}
			scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(got) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="seatledger-admin"`)
				WriteProblem(w, r, ProblemUnauthorized.New("send the admin token as Authorization: Bearer <LEDGER_ADMIN_TOKEN>"))
				return
			}
			if !isAdmin(strings.TrimSpace(got)) {
				WriteProblem(w, r, ProblemForbidden.New("the bearer token is not the admin token"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// requireClock lets a request to the simulated clock through with the
// admin token (a test and demo facility: it keeps working after the
// bootstrap) or an owner's staff session (staff.PermClock, issue 23). A
// missing or malformed header is a 401; anything else a 403.
func (s *Server) requireClock(next http.Handler) http.Handler {
	admin := requireAdmin(s.cfg.AdminToken)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token := strings.TrimSpace(got)
		if !ok || !strings.EqualFold(scheme, "Bearer") || !commands.IsStaffToken(token) || s.cfg.People == nil {
			admin.ServeHTTP(w, r)
			return
		}
		staffDesk := s.cfg.People.Commands.Staff
		actor, err := staffDesk.AuthenticateStaff(r.Context(), token)
		if errors.Is(err, staff.ErrBadCredentials) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seatledger-admin"`)
			WriteProblem(w, r, ProblemUnauthorized.New("the staff session is not valid or has expired; sign in again"))
			return
		}
		if err == nil {
			err = staffDesk.Authorize(r.Context(), actor, staff.PermClock)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClockState is the answer of the clock endpoints.
type ClockState struct {
	// Now is the ledger's current (simulated) time.
	Now time.Time `json:"now"`
	// Previous is the time before an advance; absent from GET /admin/clock.
	Previous *time.Time `json:"previous,omitempty"`
	// TimersFired counts the timers an advance fired on its way (rule
	// X-6); absent from GET /admin/clock.
	TimersFired *int `json:"timers_fired,omitempty"`
	// Retrying names the deliveries (mail, the order system's webhook)
	// that failed on the way; the server retries them.
	Retrying []string `json:"retrying,omitempty"`
	// Position is the log's head once the advance's effects are recorded:
	// a read sent with X-Ledger-Min-Position: position sees them.
	Position *uint64 `json:"position,omitempty"`
}

// ClockSteps is what a StepClock did on its way.
type ClockSteps struct {
	// From and To are the clock's times before and after: advances run
	// one at a time, each from where the one before left the clock.
	From, To time.Time
	// Fired counts the timers that fired.
	Fired int
	// Retrying names the deliveries that failed and are retried later.
	Retrying []string
	// Position is the log's head after the effects.
	Position uint64
}

// AdvanceClock is the body of POST /admin/clock/advance.
type AdvanceClock struct {
	// By is how far to move the clock forward, e.g. "7d", "36h", "1d12h".
	By string `json:"by"`
}

// simulatedClock is the part of clock.Simulated the admin endpoints use.
type simulatedClock interface {
	clock.Clock
	Advance(d time.Duration) (time.Time, error)
}

var _ simulatedClock = (*clock.Simulated)(nil)

// errClockIsReal answers a clock request on a server running on the wall clock.
var errClockIsReal = ProblemClockIsReal.New("the server runs on the real clock; start it with --clock=simulated to move time")

func (s *Server) showClock(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.cfg.Clock.(simulatedClock); !ok {
		WriteProblem(w, r, errClockIsReal)
		return
	}
	writeJSON(w, http.StatusOK, ClockState{Now: s.cfg.Clock.Now()})
}

func (s *Server) advanceClock(w http.ResponseWriter, r *http.Request) {
	sim, ok := s.cfg.Clock.(simulatedClock)
	if !ok {
		WriteProblem(w, r, errClockIsReal)
		return
	}
	var body AdvanceClock
	if err := DecodeJSON(w, r, &body); err != nil {
		WriteError(w, r, s.cfg.Logger, err)
		return
	}
	if body.By == "" {
		WriteProblem(w, r, ProblemInvalidRequest.New(`field "by" is required, e.g. {"by":"7d"}`).Field("by"))
		return
	}
	d, err := clock.ParseDuration(body.By)
	if err != nil || d <= 0 {
		WriteProblem(w, r, ProblemInvalidRequest.New(`field "by": %q is not a positive duration like "7d", "36h" or "1d12h"`, body.By).Field("by"))
		return
	}
	var state ClockState
	if s.cfg.StepClock == nil {
		now, err := sim.Advance(d)
		if err != nil {
			WriteProblem(w, r, ProblemInvalidRequest.New("%v", err).Field("by"))
			return
		}
		prev := now.Add(-d)
		state.Now, state.Previous = now, &prev
	} else {
		// Stepping through a long jump's timers may outlast the server's
		// write timeout; the client asked to wait for them.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		steps, err := s.cfg.StepClock(r.Context(), d)
		if err != nil {
			s.clockStopped(w, r, sim, err)
			return
		}
		state.Now, state.Previous = steps.To, &steps.From
		state.TimersFired, state.Retrying, state.Position = &steps.Fired, steps.Retrying, &steps.Position
		w.Header().Set("X-Ledger-Position", strconv.FormatUint(steps.Position, 10))
	}
	s.cfg.Logger.InfoContext(r.Context(), "simulated clock advanced",
		"request_id", RequestID(r.Context()), "by", d.String(), "from", *state.Previous, "now", state.Now, "timers_fired", state.TimersFired)
	writeJSON(w, http.StatusOK, state)
}

// clockStopped answers an advance that stopped on its way: a timer kept
// failing or the process managers did not catch up (a 503 saying where the
// clock stands; the effects before it are recorded), or it failed outright.
func (s *Server) clockStopped(w http.ResponseWriter, r *http.Request, sim simulatedClock, err error) {
	if !errors.Is(err, timers.ErrStopped) {
		WriteError(w, r, s.cfg.Logger, fmt.Errorf("clock advance: %w", err))
		return
	}
	s.cfg.Logger.ErrorContext(r.Context(), "simulated clock advance stopped", "request_id", RequestID(r.Context()), "error", err)
	WriteProblem(w, r, ProblemClockStopped.New("the clock stopped at %s: a timer due then could not record its effects; "+
		"those before it are recorded, and advancing again resumes from there (the server's log names the timer)",
		sim.Now().UTC().Format(time.RFC3339)))
}
