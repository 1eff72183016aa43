package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"seatledger/infra/argon2id"
	"seatledger/infra/clock"
	"seatledger/infra/config"
	"seatledger/infra/eventstore"
	"seatledger/infra/httpapi"
	"seatledger/infra/lease"
	"seatledger/infra/portal"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/storage"
	"seatledger/infra/timers"
	"seatledger/infra/webhook"
	"seatledger/queries"
)

// Timeouts of the HTTP server. A client that sends its headers slowly
// (Slowloris) or never reads its answer cannot hold a connection forever.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// Main is ledgerd's wiring, in the one place that knows every component:
// ParseFlags reads the configuration, Run opens the database, migrates it,
// opens the event store, starts the background workers and the HTTP
// server, Wait blocks until a signal or a failure, and Close shuts all of
// it down in order.
type Main struct {
	// Getenv reads the environment. Default os.Getenv.
	Getenv config.Getenv
	// LogOutput receives the log, in the format of --log-format (JSON
	// unless it is a terminal). Default os.Stderr.
	LogOutput io.Writer

	// Config is the configuration, set by ParseFlags.
	Config config.Config

	// Set by Run; tests reach into them.
	Logger  *slog.Logger
	Clock   clock.Clock
	Metrics *httpapi.Metrics
	DB      *sqldb.DB
	Store   eventstore.Store

	// PasswordParams, if set before Run, replace argon2id's OWASP
	// parameters (tests use cheap ones).
	PasswordParams *argon2id.Params
	// Limits, if set before Run, replace httpapi.DefaultLimits (a load
	// test of one installation's reports lifts them).
	Limits *httpapi.Limits
	// WrapHandler, if set before Run, wraps the handler the HTTP server
	// serves (the end-to-end tests validate every exchange against the
	// served OpenAPI document).
	WrapHandler func(http.Handler) http.Handler
	// FeedFollow and FeedWriteTimeout, if set before Run, tune the live
	// event feed (tests use short heartbeats and a short cut-off of slow
	// readers); the zero values are the defaults.
	FeedFollow       queries.FeedConfig
	FeedWriteTimeout time.Duration
	// Webhooks, if set before Run, tunes the webhook delivery worker
	// (tests use a short poll and retry schedule); the database, clock,
	// key, disabler, logger and the private-address setting come from
	// the wiring.
	Webhooks webhook.Config

	// console is set when the log is for a person at a terminal: Run
	// then says in one line where the portal is (see newLogger).
	console       bool
	leases        *lease.Leases
	releaseSQLite func() error // gives up the claim on the SQLite file
	readSide      *readSide
	people        *people
	// secrets are the fingerprints of the secrets this process loaded.
	secrets     []secret.Fingerprint
	audit       *auditLog
	webhooks    *webhook.Worker
	history     *queries.Audit
	historyOnce sync.Once

	listener       net.Listener
	api            *httpapi.Server // what server serves, unless WrapHandler wrapped it
	portal         *portal.Portal  // the pages api serves on the paths not its own
	server         *http.Server
	cancelRequests context.CancelFunc
	stopWorkers    context.CancelFunc
	workers        sync.WaitGroup
	failed         chan error

	closeOnce sync.Once
	closeErr  error
}

// NewMain returns a Main reading the process's environment and logging to
// standard error.
func NewMain() *Main {
	return &Main{Getenv: os.Getenv, LogOutput: os.Stderr, failed: make(chan error, 1)}
}

// ParseFlags reads the configuration from args (without the program name)
// and the environment. The error has one line per problem; flag.ErrHelp
// means help was asked for.
func (m *Main) ParseFlags(args []string) error {
	cfg, err := config.Parse(args, m.Getenv)
	if err != nil {
		return err
	}
	m.Config = cfg
	return nil
}

// Run starts the server and returns once it listens. Call Close even when
// Run fails: it releases whatever was opened.
func (m *Main) Run(ctx context.Context) (err error) {
	m.Logger, m.console = newLogger(m.Config, m.LogOutput)
	m.Logger.Info("starting ledgerd", "config", m.Config)
	// Listen first: a port another process holds is reported before
	// anything is created (./data, the database, the secrets' files).
	// Until the server serves, connections wait in the listen queue; Close
	// releases the port after a failed start.
	if m.listener, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("http server: %w", err) // names the address
	}
	m.Clock = newClock(m.Config)
	m.Metrics = httpapi.NewMetrics()

	if err := m.checkSQLiteFiles(); err != nil {
		return err
	}
	if m.Config.Database.Engine == sqldb.SQLite {
		// SQLite serves one process (rule X-8): a second ledgerd on the
		// file is refused here, before it touches anything.
		if m.releaseSQLite, err = sqldb.Claim(m.Config.Database.DSN); err != nil {
			return err
		}
	}
	if m.DB, err = sqldb.Open(ctx, m.Config.Database); err != nil {
		return err
	}
	m.DB.SetFailoverTimeout(m.Config.FailoverTimeout)
	if err := m.Metrics.Register(collectors.NewDBStatsCollector(m.DB.DB, m.DB.Engine.String())); err != nil {
		return fmt.Errorf("database metrics: %w", err)
	}
	applied, err := sqldb.Migrate(ctx, m.DB)
	if err != nil {
		return err
	}
	m.Logger.Info("database migrated", "engine", m.DB.Engine.String(), "applied", applied)

	// A simulated clock resumes the time of the last run, so that timers it
	// already fired are not due again; it must be set before the store
	// opens, since the store stamps recorded times with it.
	if sim, ok := m.Clock.(*clock.Simulated); ok {
		if m.Clock, err = timers.RestoreSimulated(ctx, m.DB, sim.Now()); err != nil {
			return err
		}
	}

	if m.Store, err = m.openStore(ctx); err != nil {
		return err
	}
	if m.leases, err = m.openLeases(); err != nil {
		return err
	}

	if m.people, err = m.openPeople(ctx); err != nil {
		return err
	}
	if m.readSide, err = m.openReadSide(ctx); err != nil {
		return err
	}
	if m.audit, err = m.openAuditLog(); err != nil {
		return err
	}
	if m.webhooks, err = m.openWebhooks(); err != nil {
		return err
	}
	// Before anything signs, seals or derives with them: one ledger, one
	// set of secrets.
	if err := m.checkSecrets(ctx); err != nil {
		return err
	}

	// Workers run on a context of their own, not ctx: a signal must first
	// drain the HTTP server, whose requests may still need them.
	workersCtx, stopWorkers := context.WithCancel(context.Background())
	m.stopWorkers = stopWorkers
	for _, w := range m.backgroundWorkers() {
		m.workers.Go(func() {
			err := w.run(workersCtx)
			if err != nil && workersCtx.Err() == nil {
				m.fail(fmt.Errorf("%s stopped: %w", w.name, err))
			}
		})
	}

	checks := append(databaseChecks(m.DB), httpapi.ProjectionsCheck(m.readSide.lag, m.readSide.stopped, m.Config.ReadyMaxLag))
	m.Metrics.SetProjectionLag(m.readSide.lag)
	m.Metrics.SetProjectionStopped(m.readSide.stopped)
	m.Metrics.SetTimersDue(m.readSide.timersDue)
	var stepClock func(context.Context, time.Duration) (httpapi.ClockSteps, error)
	if sim, ok := m.Clock.(*clock.Simulated); ok {
		stepClock = func(ctx context.Context, by time.Duration) (httpapi.ClockSteps, error) {
			return m.stepClock(ctx, sim, by)
		}
	}

	// The API and the portal are two edges over the same use cases and one
	// access desk (sign-in, sessions, password limits); the API serves the
	// portal's pages on every path that is not its own.
	peopleAPI := m.withFinance(m.withAuditLog(m.peopleAPI()))
	reads, err := queries.NewReads(queries.ReadsConfig{DB: m.DB, Accounts: m.people.commands.Accounts, Subscriptions: m.people.commands.Subscriptions,
		Installations: m.people.commands.Installations, Tickets: m.people.commands.Tickets, People: m.people.commands.People,
		ReadModels: queries.ReadModelFuncs{WaitForFunc: m.readSide.runtime.WaitFor, StoppedFunc: m.readSide.projectionStopped},
		Audit:      peopleAPI.Audit, Feed: m.feedFollow(), BackOffice: m.people.commands.Staff})
	if err != nil {
		return err
	}
	peopleAPI.Queries = reads
	if peopleAPI.Access, err = m.access(); err != nil {
		return err
	}
	pages, err := portal.New(portal.Config{Logger: m.Logger, SecureCookies: m.Config.SecureCookies, Tokens: m.people.tokens, Now: m.Clock.Now,
		Sessions: m.people.sessions, Queries: reads, Commands: m.people.commands, Access: peopleAPI.Access, Attachments: peopleAPI.Attachments,
		Audit: m.staffAudit()})
	if err != nil {
		return err
	}
	m.portal = pages
	var api *httpapi.Server
	api, err = httpapi.New(httpapi.Config{
		Logger:         m.Logger,
		Clock:          m.Clock,
		AdminToken:     m.Config.AdminToken,
		KeepAdminToken: m.Config.KeepAdminToken,
		Checks:         checks,
		Metrics:        m.Metrics,
		People:         peopleAPI,

		StepClock:      stepClock,
		Portal:         pages,
		TrustedProxies: m.Config.TrustedProxies,
	})
	if err != nil {
		return err
	}

	// In-flight requests run on a context that a signal does not cancel:
	// Close lets them finish (Shutdown) before cancelling it.
	requestsCtx, cancelRequests := context.WithCancel(context.Background())
	m.cancelRequests = cancelRequests
	m.api = api
	var handler http.Handler = api
	if m.WrapHandler != nil {
		handler = m.WrapHandler(api)
	}
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return requestsCtx },
		ConnContext:       httpapi.ConnContext, // a live event feed bounds its connection's send buffer
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := m.server.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
			m.fail(fmt.Errorf("http server: %w", err))
		}
	}()
	m.Logger.Info("listening", "addr", m.Addr())
	m.consoleLine(m.readyLine())
	return nil
}

// Addr returns the address the server listens on ("" before Run), with
// the real port when the configuration asked for port 0.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Wait blocks until ctx ends (a signal: it returns nil) or a component
// fails (it returns that error). Call Close afterwards.
func (m *Main) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down", "reason", context.Cause(ctx).Error())
		return nil
	case err := <-m.failed:
		m.Logger.Error("shutting down after a failure", "error", err)
		return err
	}
}

// fail reports a component's failure to Wait; only the first one counts.
func (m *Main) fail(err error) {
	select {
	case m.failed <- err:
	default:
	}
}

// Close shuts down in the order that loses nothing: stop accepting
// connections and let requests in flight finish (bounded by
// ShutdownTimeout), stop the background workers, close the event store
// (which finishes appends in flight), and close the database last, since
// everything before may still write to it. It is safe to call more than
// once and after a failed Run.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		err := m.server.Shutdown(ctx)
		cancel()
		if err != nil {
			_ = m.server.Close()
			errs = append(errs, fmt.Errorf("requests still running after %s were cut off: %w", m.Config.ShutdownTimeout, err))
		}
	} else if m.listener != nil {
		_ = m.listener.Close()
	}
	if m.cancelRequests != nil {
		m.cancelRequests()
	}
	if m.stopWorkers != nil {
		m.stopWorkers()
		m.workers.Wait()
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close event store: %w", err))
		}
	}
	if m.DB != nil {
		if err := m.DB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	if m.releaseSQLite != nil {
		_ = m.releaseSQLite() // the lock goes with the process anyway
	}
	if m.Logger != nil {
		m.Logger.Info("stopped")
	}
	return errors.Join(errs...)
}

// newClock returns the clock the configuration names.
func newClock(c config.Config) clock.Clock {
	if c.Clock != config.ClockSimulated {
		return clock.Real{}
	}
	start := c.ClockStart
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	return clock.NewSimulated(start)
}

// openStore opens the event store the configuration names on m.DB.
func (m *Main) openStore(ctx context.Context) (eventstore.Store, error) {
	return storage.OpenStore(ctx, m.DB, storage.Options{
		Database: m.Config.Database, EventStoreURL: m.Config.EventStoreURL,
		Clock: m.Clock, Observer: m.Metrics, Logger: m.Logger, FailoverTimeout: m.failoverTimeout(),
	})
}

// failoverTimeout is the configured failover timeout as storage.Options
// takes it: zero there means the default, so "fail at once" is negative.
func (m *Main) failoverTimeout() time.Duration {
	if m.Config.FailoverTimeout == 0 {
		return -1
	}
	return m.Config.FailoverTimeout
}

// worker is a background component (the projection router, the timer
// loop) that runs until its context ends. Returning earlier with an error
// stops the server: a ledger whose projections or timers silently stopped
// would serve stale answers.
type worker struct {
	name string
	run  func(ctx context.Context) error
}

// backgroundWorkers lists the components that run beside the HTTP server.
// They start after the event store opens and stop after the server has
// drained, before the store closes.
func (m *Main) backgroundWorkers() []worker {
	workers := []worker{
		{"projections", m.readSide.router.Run},
		{"timers", m.readSide.timers.Run},
		{"sessions", m.purgeSessions},
		// One process at a time runs each of these (rule X-8).
		{"audit snapshots", func(ctx context.Context) error { return m.leases.Run(ctx, lease.Snapshots, m.takeSnapshots) }},
		{"audit checkpoints", func(ctx context.Context) error {
			return m.leases.Run(ctx, lease.Checkpointer, m.audit.checkpointer.Run)
		}},
		{"webhooks", func(ctx context.Context) error { return m.leases.Run(ctx, lease.Webhooks, m.runWebhooks) }},
	}
	if sim, ok := m.Clock.(*clock.Simulated); ok {
		workers = append(workers, worker{"simulated clock", func(ctx context.Context) error {
			return timers.KeepSimulatedTime(ctx, m.DB, sim, m.Logger.With("component", "clock"))
		}})
	}
	return workers
}
