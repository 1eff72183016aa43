package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"seatledger/infra/lease"
	"seatledger/infra/sqldb"
	"seatledger/infra/watermill"
)

// openLeases returns this process's leases, with a gauge per lease that
// says whether this process holds it.
func (m *Main) openLeases() (*lease.Leases, error) {
	held := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "seatledger_lease_held",
		Help: "1 while this process holds the lease: runs the projection or worker it names (rule X-8)."}, []string{"lease"})
	if err := m.Metrics.Register(held); err != nil {
		return nil, fmt.Errorf("lease metrics: %w", err)
	}
	l, err := lease.New(lease.Config{DB: m.DB, TTL: m.Config.LeaseTTL, Logger: m.Logger.With("component", "lease"),
		Observe: func(name string, on bool) {
			v := 0.0
			if on {
				v = 1
			}
			held.WithLabelValues(name).Set(v)
		}})
	if err != nil {
		return nil, err
	}
	if m.DB.Engine == sqldb.SQLite {
		// This process claimed the file (see Run): the holders of any
		// leases left in it are dead.
		if err := l.Reset(context.Background()); err != nil {
			return nil, err
		}
	}
	m.Logger.Info("leases", "holder", l.Holder(), "ttl", m.Config.LeaseTTL)
	return l, nil
}

// projectionLeases feeds each projection only in the process that holds
// its lease.
type projectionLeases struct{ l *lease.Leases }

var _ watermill.Ownership = projectionLeases{}

// Hold implements watermill.Ownership.
func (p projectionLeases) Hold(ctx context.Context, consumer string) (context.Context, func(), error) {
	return p.l.Hold(ctx, lease.ProjectionPrefix+consumer)
}
