package sqldb

import (
	"context"
	"database/sql/driver"
	"sync/atomic"
	"time"
)

// reconnector connects to PostgreSQL for database/sql, and once the
// database has been reached, waits for it when it is away (a restart, a
// failover to the standby, which a URL listing both hosts with
// target_session_attrs=read-write finds once it is promoted) instead of
// failing at once: the pool's broken connections are replaced, and the
// requests that need one wait for the new primary (rule X-8). Before the
// first connection it fails at once, so that a wrong URL or a server that
// is down fails the start.
type reconnector struct {
	inner driver.Connector
	wait  atomic.Int64 // time.Duration: how long a connection attempt may wait
	seen  atomic.Bool  // a connection was made once
}

// Connect implements driver.Connector.
func (c *reconnector) Connect(ctx context.Context) (driver.Conn, error) {
	start := time.Now()
	for delay := reconnectMin; ; delay = min(2*delay, reconnectMax) {
		conn, err := c.inner.Connect(ctx)
		if err == nil {
			c.seen.Store(true)
			return conn, nil
		}
		if !c.seen.Load() || !IsUnavailable(err) || time.Since(start)+delay >= time.Duration(c.wait.Load()) {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// Driver implements driver.Connector.
func (c *reconnector) Driver() driver.Driver { return c.inner.Driver() }

// The waits between connection attempts while the database is away.
const (
	reconnectMin = 50 * time.Millisecond
	reconnectMax = time.Second
)

// DefaultFailoverTimeout is how long a new connection waits for a
// PostgreSQL database that was reached before and is away now.
const DefaultFailoverTimeout = 30 * time.Second

// SetFailoverTimeout sets how long a new PostgreSQL connection waits for
// the database when it is away (a restart, a failover), once it was
// reached; 0 fails at once. SQLite has nothing to wait for.
func (db *DB) SetFailoverTimeout(d time.Duration) {
	if db.reconnect != nil {
		db.reconnect.wait.Store(int64(max(d, 0)))
	}
}
