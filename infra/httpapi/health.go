package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Check is one named readiness condition of /readyz: the database answers,
// the migrations are applied, the projections are caught up …
type Check struct {
	// Name identifies the check in the /readyz answer and in logs.
	Name string
	// Run returns nil when the condition holds, else an error saying what
	// is wrong. It must return when ctx ends.
	Run func(ctx context.Context) error
}

// ProjectionsCheck is ready while every running projection is at most
// maxLag events behind the log, so that a load balancer keeps traffic away
// from a node whose read models are still rebuilding. A projection
// stopped at an event it cannot apply does not make the node unready: it
// degrades only the reads that depend on it (they answer 503 naming it),
// while writes and every other read go on, and taking every node out of
// the balancer for it would stop them all (issue 16). The check then
// reports "degraded" and names it. stopped may be nil.
func ProjectionsCheck(lag ProjectionLagFunc, stopped ProjectionStoppedFunc, maxLag uint64) Check {
	return Check{Name: "projections", Run: func(ctx context.Context) error {
		lags, err := lag(ctx)
		if err != nil {
			return err
		}
		halted := map[string]string{}
		if stopped != nil {
			if halted, err = stopped(ctx); err != nil {
				return err
			}
		}
		var behind []string
		for name, n := range lags {
			if _, isStopped := halted[name]; n > maxLag && !isStopped {
				behind = append(behind, fmt.Sprintf("%s is %d events behind", name, n))
			}
		}
		if len(behind) > 0 {
			slices.Sort(behind)
			return fmt.Errorf("%s (bound %d)", strings.Join(behind, ", "), maxLag)
		}
		if len(halted) > 0 {
			var names []string
			for name, why := range halted {
				names = append(names, fmt.Sprintf("%s is stopped %s", name, why))
			}
			slices.Sort(names)
			return &DegradedError{Detail: strings.Join(names, "; ") + "; the reads that need them answer 503 until `ledger projections retry NAME`"}
		}
		return nil
	}}
}

// DegradedError is what a check returns for a condition that takes some
// reads out of service but leaves the node ready (a projection stopped at
// an event it cannot apply): /readyz still answers 200, with the check's
// status "degraded" and its detail.
type DegradedError struct{ Detail string }

func (e *DegradedError) Error() string { return "degraded: " + e.Detail }

// CheckResult is one check's outcome in the /readyz answer.
type CheckResult struct {
	Name string `json:"name"`
	// Status is "ok", "degraded" (some reads are out of service; the node
	// stays ready) or "error".
	Status string `json:"status"`
	// Error says what is wrong when Status is "error" or "degraded".
	Error string `json:"error,omitempty"`
}

// Readiness is the /readyz answer.
type Readiness struct {
	// Status is "ready" when every check passed, "degraded" when some
	// only degraded (both 200), else "not_ready" (503).
	Status string        `json:"status"`
	Checks []CheckResult `json:"checks"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every check at once, each bounded by CheckTimeout, and
// answers 503 if any failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	results := make([]CheckResult, len(s.cfg.Checks))
	var wg sync.WaitGroup
	for i, c := range s.cfg.Checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CheckTimeout)
			defer cancel()
			results[i] = CheckResult{Name: c.Name, Status: "ok"}
			var degraded *DegradedError
			if err := c.Run(ctx); errors.As(err, &degraded) {
				results[i] = CheckResult{Name: c.Name, Status: "degraded", Error: degraded.Detail}
			} else if err != nil {
				results[i] = CheckResult{Name: c.Name, Status: "error", Error: err.Error()}
			}
		})
	}
	wg.Wait()

	answer, status := Readiness{Status: "ready", Checks: results}, http.StatusOK
	for _, res := range results {
		switch res.Status {
		case "degraded":
			if answer.Status == "ready" {
				answer.Status = "degraded"
			}
			s.cfg.Logger.WarnContext(r.Context(), "readiness check degraded",
				"request_id", RequestID(r.Context()), "check", res.Name, "error", res.Error)
		case "error":
			answer.Status, status = "not_ready", http.StatusServiceUnavailable
			s.cfg.Logger.WarnContext(r.Context(), "readiness check failed",
				"request_id", RequestID(r.Context()), "check", res.Name, "error", res.Error)
		}
	}
	writeJSON(w, status, answer)
}
