// Package httpapi is the ledger's HTTP edge (chi): the routes, RFC 9457
// problem responses with one function mapping errors to problems, the JSON
// body decoder, request IDs, request logging, panic recovery, the admin
// bearer-token guard, health and readiness probes, Prometheus metrics and
// the OpenAPI document that describes every route.
//
// The server does not listen by itself: cmd/ledgerd puts a Server behind
// an http.Server, so that tests can drive it with httptest.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/access"
	"seatledger/infra/clock"
	"seatledger/queries"
)

// DefaultCheckTimeout bounds each readiness check.
const DefaultCheckTimeout = 2 * time.Second

// Config configures a Server.
type Config struct {
	// Logger receives request logs and errors. Default: slog.Default().
	Logger *slog.Logger
	// Clock is the ledger's clock. The /admin/clock endpoints move it when
	// it is a *clock.Simulated and answer "clock is real" otherwise. Required.
	Clock clock.Clock
	// StepClock, if set, moves the simulated clock on by a duration
	// through the timers due on the way, in due order, and returns once
	// their effects are recorded (rule X-6; timers.Loop.Advance), with the
	// log position to read at; POST /admin/clock/advance answers only
	// then. Without it the endpoint moves the clock at once (a server
	// without timers).
	StepClock func(ctx context.Context, by time.Duration) (ClockSteps, error)
	// AdminToken guards /admin/. Empty refuses every admin request.
	AdminToken string
	// KeepAdminToken keeps AdminToken working on the /v1 API after the
	// back office has an owner; by default it only bootstraps the back
	// office (issue 23).
	KeepAdminToken bool
	// Checks are run by /readyz.
	Checks []Check
	// CheckTimeout bounds each readiness check. Default DefaultCheckTimeout.
	CheckTimeout time.Duration
	// People, if set, mounts the /v1 API of people, accounts and members.
	People *PeopleConfig
	// Metrics are served at /metrics and fed by request observations.
	// Default: a fresh NewMetrics().
	Metrics *Metrics
	// Portal, if set, serves every path the API does not (the customer
	// portal's pages at /), behind the same request IDs, logs and metrics.
	Portal http.Handler
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (rate limits count per client address); empty: the
	// connection's peer is the client.
	TrustedProxies []netip.Prefix
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = DefaultCheckTimeout
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Clock == nil {
		errs = append(errs, errors.New("httpapi: config needs a clock"))
	}
	if p := c.People; p != nil && (p.Commands == nil || p.Reads == nil || p.Sessions == nil || p.TermsVersion == "") {
		errs = append(errs, errors.New("httpapi: the people API needs commands, a read store, sessions and a terms version"))
	}
	for i, ch := range c.Checks {
		if ch.Name == "" || ch.Run == nil {
			errs = append(errs, fmt.Errorf("httpapi: readiness check %d needs a name and a function", i))
		}
	}
	return errors.Join(errs...)
}

// Server is the ledger's HTTP handler.
type Server struct {
	cfg    Config
	router *chi.Mux
	// reads are the query use cases (with People only).
	reads *queries.Reads
	// access signs people in and out and guards passwords (with People
	// only).
	access *access.Desk
}

// New returns a Server with every route mounted.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &Server{cfg: cfg, router: chi.NewRouter()}
	if p := cfg.People; p != nil {
		s.reads = p.Queries
		if s.reads == nil {
			reads, err := queries.NewReads(queries.ReadsConfig{DB: p.Reads, Accounts: p.Commands.Accounts, Subscriptions: p.Commands.Subscriptions, Installations: p.Commands.Installations,
				Tickets: p.Commands.Tickets, People: p.Commands.People,
				ReadModels: queries.ReadModelFuncs{WaitForFunc: p.WaitFor, StoppedFunc: p.ProjectionStopped}, Wait: readWait, Audit: p.Audit})
			if err != nil {
				return nil, err
			}
			s.reads = reads
		}
		s.access = p.Access
		if s.access == nil {
			desk, err := access.New(access.Config{Commands: p.Commands, Sessions: p.Sessions, PasswordResets: p.PasswordResets, TermsVersion: p.TermsVersion})
			if err != nil {
				return nil, err
			}
			s.access = desk
		}
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes returns the router, for chi.Walk (the OpenAPI coverage test).
func (s *Server) Routes() chi.Routes { return s.router }

// routes mounts every route. Each one must be described in openapi.json;
// TestOpenAPI_documents_every_route keeps the two in step.
func (s *Server) routes() {
	r := s.router
	// Order matters: the request ID exists before anything logs, and the
	// recoverer sits inside the logger so that a panic logs as a 500.
	r.Use(requestIDs, resolveClient(s.cfg.TrustedProxies), observeRequests(s.cfg.Logger, s.cfg.Metrics), recoverPanics(s.cfg.Logger), refuseUnclean)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, ProblemNotFound.New("no resource at %s", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allowed := allowedMethods(s.router, r.URL.Path)
		if len(allowed) == 0 { // an unknown method on an unknown path
			WriteProblem(w, r, ProblemNotFound.New("no resource at %s", r.URL.Path))
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteProblem(w, r, ProblemMethodNotAllowed.New("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
	})

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", s.cfg.Metrics.handler(s.cfg.Logger))
	r.Get("/openapi.json", serveOpenAPI)

	if s.cfg.People != nil {
		r.Route("/v1", s.peopleRoutes)
	}

	r.Route("/admin", func(r chi.Router) {
		r.Use(s.requireClock)
		r.Get("/clock", s.showClock)
		r.Post("/clock/advance", s.advanceClock)
	})

	if s.cfg.Portal != nil {
		r.Mount("/", s.cfg.Portal)
	}
}

// writeJSON sends v as a JSON document with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the status is sent; a failed write has nowhere to go
}
