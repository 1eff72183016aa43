package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"seatledger/infra/eventstore"
)

// ProjectionLagFunc reports, per projection name, how many events the
// projection is behind the head of the log.
type ProjectionLagFunc func(ctx context.Context) (map[string]uint64, error)

// ProjectionStoppedFunc reports the projections stopped at an event they
// cannot apply, each with where and why (for operators).
type ProjectionStoppedFunc func(ctx context.Context) (map[string]string, error)

// TimersDueFunc reports how many durable timers are due and not fired yet.
type TimersDueFunc func(ctx context.Context) (int, error)

// gaugeFuncTimeout bounds a registered function called at scrape time, so
// that a slow database cannot hang Prometheus's scrape.
const gaugeFuncTimeout = 5 * time.Second

// Metrics holds the ledger's Prometheus metrics in a registry of its own
// (not the global default, so that tests and several servers in one
// process never collide). It records event-store commits as an
// eventstore.CommitObserver; gauges whose values live elsewhere (projection
// lag, timers due) are read at scrape time from functions registered with
// SetProjectionLag and SetTimersDue.
type Metrics struct {
	registry *prometheus.Registry

	appendSeconds *prometheus.HistogramVec
	batchEvents   prometheus.Histogram
	batchAppends  prometheus.Histogram
	httpSeconds   *prometheus.HistogramVec

	lagDesc, dueDesc *prometheus.Desc
	stoppedDesc      *prometheus.Desc
	lag              atomic.Pointer[ProjectionLagFunc]
	stopped          atomic.Pointer[ProjectionStoppedFunc]
	due              atomic.Pointer[TimersDueFunc]
}

var _ eventstore.CommitObserver = (*Metrics)(nil)

// NewMetrics returns the ledger's metrics, with the Go runtime and process
// collectors registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		appendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "seatledger_eventstore_append_seconds",
			Help: "Time to commit one batch of appends (group commit: concurrent appends share a transaction), by result. Time queued before the batch is not included.",
			// 0.5 ms (SQLite on a fast disk) to 8 s (a struggling PostgreSQL).
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
		}, []string{"result"}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seatledger_eventstore_batch_events",
			Help:    "Events written by one committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 … 1024, the committer's default cap
		}),
		batchAppends: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seatledger_eventstore_batch_appends",
			Help:    "Append calls coalesced into one committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seatledger_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method, route pattern and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "status"}),
		lagDesc: prometheus.NewDesc("seatledger_projection_lag_events",
			"Events a projection is behind the head of the log.", []string{"projection"}, nil),
		stoppedDesc: prometheus.NewDesc("seatledger_projection_stopped",
			"1 while a projection is stopped at an event it cannot apply (the reads that need it answer 503 until `ledger projections retry`), else 0.",
			[]string{"projection"}, nil),
		dueDesc: prometheus.NewDesc("seatledger_timers_due",
			"Durable timers that are due and not fired yet (the timer backlog).", nil, nil),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.appendSeconds, m.batchEvents, m.batchAppends, m.httpSeconds,
		gaugeFuncs{m},
	)
	return m
}

// ObserveCommit implements eventstore.CommitObserver.
func (m *Metrics) ObserveCommit(requests, events int, took time.Duration, err error) {
	if err != nil {
		m.appendSeconds.WithLabelValues("error").Observe(took.Seconds())
		return
	}
	m.appendSeconds.WithLabelValues("ok").Observe(took.Seconds())
	m.batchAppends.Observe(float64(requests))
	m.batchEvents.Observe(float64(events))
}

// SetProjectionLag makes fn the source of the per-projection lag gauge.
// It may be called at any time, for instance once the projection runtime
// has started.
func (m *Metrics) SetProjectionLag(fn ProjectionLagFunc) { m.lag.Store(&fn) }

// SetProjectionStopped makes fn the source of the per-projection
// stopped gauge; projections the lag function names and fn does not are
// reported as running (0).
func (m *Metrics) SetProjectionStopped(fn ProjectionStoppedFunc) { m.stopped.Store(&fn) }

// SetTimersDue makes fn the source of the timers-due gauge.
func (m *Metrics) SetTimersDue(fn TimersDueFunc) { m.due.Store(&fn) }

// Register adds a collector of another component (database pool stats,
// watermill) to the registry served at /metrics.
func (m *Metrics) Register(c prometheus.Collector) error { return m.registry.Register(c) }

// handler serves the registry in the Prometheus exposition format. A
// failing gauge function is logged and left out of the scrape; every
// other metric is still served.
func (m *Metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// observeRequest records an answered request. Unmatched paths share one
// route label, so that probing random URLs cannot grow the label set.
func (m *Metrics) observeRequest(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if _, known := knownMethods[method]; !known {
		method = "other"
	}
	m.httpSeconds.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}

var knownMethods = map[string]struct{}{
	http.MethodGet: {}, http.MethodHead: {}, http.MethodPost: {}, http.MethodPut: {},
	http.MethodPatch: {}, http.MethodDelete: {}, http.MethodOptions: {},
}

// gaugeFuncs collects the gauges read from registered functions.
type gaugeFuncs struct{ m *Metrics }

func (g gaugeFuncs) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.m.lagDesc
	ch <- g.m.stoppedDesc
	ch <- g.m.dueDesc
}

func (g gaugeFuncs) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), gaugeFuncTimeout)
	defer cancel()
	if fn := g.m.lag.Load(); fn != nil {
		lags, err := (*fn)(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(g.m.lagDesc, err)
			lags = nil
		}
		for name, lag := range lags {
			ch <- prometheus.MustNewConstMetric(g.m.lagDesc, prometheus.GaugeValue, float64(lag), name)
		}
		if fn := g.m.stopped.Load(); fn != nil {
			stopped, err := (*fn)(ctx)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(g.m.stoppedDesc, err)
			} else {
				for name := range lags {
					_, isStopped := stopped[name]
					ch <- prometheus.MustNewConstMetric(g.m.stoppedDesc, prometheus.GaugeValue, map[bool]float64{true: 1}[isStopped], name)
				}
			}
		}
	}
	if fn := g.m.due.Load(); fn != nil {
		n, err := (*fn)(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(g.m.dueDesc, err)
		} else {
			ch <- prometheus.MustNewConstMetric(g.m.dueDesc, prometheus.GaugeValue, float64(n))
		}
	}
}
