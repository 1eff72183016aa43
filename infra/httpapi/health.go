package httpapi

import (
	"context"
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

// ProjectionsCheck is ready while every projection is at most maxLag
// events behind the log, so that a load balancer keeps traffic away from a
// node whose read models are still rebuilding.
func ProjectionsCheck(lag ProjectionLagFunc, maxLag uint64) Check {
	return Check{Name: "projections", Run: func(ctx context.Context) error {
		lags, err := lag(ctx)
		if err != nil {
			return err
		}
		var behind []string
		for name, n := range lags {
			if n > maxLag {
				behind = append(behind, fmt.Sprintf("%s is %d events behind", name, n))
			}
		}
		if len(behind) > 0 {
			slices.Sort(behind)
			return fmt.Errorf("%s (bound %d)", strings.Join(behind, ", "), maxLag)
		}
		return nil
	}}
}

// CheckResult is one check's outcome in the /readyz answer.
type CheckResult struct {
	Name string `json:"name"`
	// Status is "ok" or "error".
	Status string `json:"status"`
	// Error says what is wrong when Status is "error".
	Error string `json:"error,omitempty"`
}

// Readiness is the /readyz answer.
type Readiness struct {
	// Status is "ready" when every check passed, else "not_ready".
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
			if err := c.Run(ctx); err != nil {
				results[i] = CheckResult{Name: c.Name, Status: "error", Error: err.Error()}
			}
		})
	}
	wg.Wait()

	answer, status := Readiness{Status: "ready", Checks: results}, http.StatusOK
	for _, res := range results {
		if res.Status != "ok" {
			answer.Status, status = "not_ready", http.StatusServiceUnavailable
			s.cfg.Logger.WarnContext(r.Context(), "readiness check failed",
				"request_id", RequestID(r.Context()), "check", res.Name, "error", res.Error)
		}
	}
	writeJSON(w, status, answer)
}
