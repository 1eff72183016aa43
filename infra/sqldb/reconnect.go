package sqldb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// reconnector connects to PostgreSQL for database/sql and rides out the
// database going away (a restart, a failover to the standby, which a URL
// listing both hosts with target_session_attrs=read-write finds once it is
// promoted), rule X-8:
//
//   - once the database has been reached, a new connection waits for it
//     (up to the failover timeout) instead of failing at once; before the
//     first connection it fails at once, so that a wrong URL or a server
//     that is down fails the start;
//   - a read (a SELECT outside a transaction) that finds its pooled
//     connection broken is tried again on another connection, which
//     database/sql does for a driver.ErrBadConn; a write is never tried
//     again by the driver, since it may have taken effect;
//   - after a connection was lost, the pool pings each connection before
//     handing it out for a while, so that the other connections the
//     failover broke are replaced rather than failing their next request.
type reconnector struct {
	inner driver.Connector
	wait  atomic.Int64 // time.Duration: how long a connection attempt may wait
	seen  atomic.Bool  // a connection was made once
	lost  atomic.Int64 // Unix nanoseconds when a connection was last found broken
}

// newReconnector returns the connector of a PostgreSQL database.
func newReconnector(dsn string) (*reconnector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	r := &reconnector{}
	r.wait.Store(int64(DefaultFailoverTimeout))
	r.inner = stdlib.GetConnector(*cfg, stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
		return p.IdleDuration > time.Second || r.suspect() // pgx's default, or every time just after a loss
	}))
	return r, nil
}

// suspectFor is how long after a lost connection every pooled connection
// is pinged before use.
const suspectFor = 10 * time.Second

func (r *reconnector) suspect() bool {
	return time.Since(time.Unix(0, r.lost.Load())) < suspectFor
}

// broken records that err, if it says so, found a connection broken.
func (r *reconnector) broken(err error) bool {
	if !IsUnavailable(err) {
		return false
	}
	r.lost.Store(time.Now().UnixNano())
	return true
}

// Connect implements driver.Connector.
func (r *reconnector) Connect(ctx context.Context) (driver.Conn, error) {
	start := time.Now()
	for delay := reconnectMin; ; delay = min(2*delay, reconnectMax) {
		c, err := r.inner.Connect(ctx)
		if err == nil {
			r.seen.Store(true)
			inner, ok := c.(*stdlib.Conn)
			if !ok {
				c.Close()
				return nil, fmt.Errorf("sqldb: the pgx connector made a %T", c)
			}
			return &conn{Conn: inner, r: r}, nil
		}
		if !r.seen.Load() || !IsUnavailable(err) || time.Since(start)+delay >= time.Duration(r.wait.Load()) {
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
func (r *reconnector) Driver() driver.Driver { return r.inner.Driver() }

// conn is a pgx connection that tells its reconnector when it broke, and
// has a read it broke on tried again elsewhere.
type conn struct {
	*stdlib.Conn
	r    *reconnector
	inTx bool
}

// BeginTx implements driver.ConnBeginTx.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		c.r.broken(err)
		return nil, err
	}
	c.inTx = true
	return &connTx{Tx: tx, c: c}, nil
}

// ExecContext implements driver.ExecerContext.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.ExecContext(ctx, query, args)
	if err != nil {
		c.r.broken(err)
	}
	return res, err
}

// QueryContext implements driver.QueryerContext.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, query, args)
	if err != nil && c.r.broken(err) && !c.inTx && isRead(query) {
		return nil, driver.ErrBadConn // database/sql discards this connection and asks another
	}
	return rows, err
}

// isRead reports whether query only reads: a SELECT, which has no effect
// to repeat when it is sent again.
func isRead(query string) bool {
	q := strings.TrimSpace(query)
	return len(q) >= 6 && strings.EqualFold(q[:6], "select")
}

// connTx is a transaction of a conn.
type connTx struct {
	driver.Tx
	c *conn
}

func (t *connTx) Commit() error {
	t.c.inTx = false
	err := t.Tx.Commit()
	if err != nil {
		t.c.r.broken(err)
	}
	return err
}

func (t *connTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

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
