// Package lease gives one ledgerd process at a time the right to run a
// background worker (rule X-8): each projection, the audit checkpointer,
// the audit snapshot worker. A lease is a row of the leases table with a
// holder and an expiry in the database's clock; its holder renews it every
// third of its time to live, and when the holder dies, stalls or loses the
// database for longer than that, the lease expires and another process
// takes it over.
//
// Leases rather than PostgreSQL advisory locks, for two reasons. A process
// that is paused (SIGSTOP, a frozen VM) keeps its TCP sessions, since the
// kernel still answers for them, so it would keep an advisory lock, and
// the worker stall, for as long as it is paused; its lease expires. And a
// lease is a row, so it lives through a failover to a synchronous standby
// with the rest of the data: the holder renews it on the new primary and
// keeps working, where every advisory lock would vanish with the old
// primary and be raced for again. A lease ends in time, not at once: a
// holder that cannot renew gives the lease up (ends its work) a fifth of
// the time to live before it can expire, so two processes never believe
// they hold it at once while their clocks run at the same rate. The
// workers do not rely on that alone: each projection's checkpoint row and
// the audit tree's size are checked inside every transaction that moves
// them, so a holder that wakes from a pause with a stale belief writes
// nothing twice.
package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
)

// The leases ledgerd takes: one per projection (ProjectionPrefix and the
// projection's name), the audit checkpointer's and the audit snapshot
// worker's.
const (
	ProjectionPrefix = "projection."
	Checkpointer     = "audit.checkpointer"
	Snapshots        = "audit.snapshots"
	// Webhooks is the webhook delivery worker's (issue 22): one process
	// delivers, so each endpoint gets its events in order.
	Webhooks = "webhooks.delivery"
)

// DefaultTTL is how long a lease lasts without renewal.
const DefaultTTL = 15 * time.Second

// Config configures Leases.
type Config struct {
	// DB holds the leases table. Required.
	DB *sqldb.DB
	// Holder names this process in the table and the logs. Default: host
	// name, process ID and a random suffix.
	Holder string
	// TTL is how long a lease lasts without renewal: how long a dead
	// holder's workers wait before another process takes them over.
	// Default DefaultTTL; at least a second.
	TTL time.Duration
	// Logger receives a line per lease taken and lost. Default slog.Default().
	Logger *slog.Logger
	// Observe, if set, is told each time this process starts or stops
	// holding a lease (for metrics).
	Observe func(name string, held bool)
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("lease: config needs the database"))
	}
	if c.TTL != 0 && c.TTL < time.Second {
		errs = append(errs, fmt.Errorf("lease: time to live %s is under a second", c.TTL))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Holder == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Observe == nil {
		c.Observe = func(string, bool) {}
	}
}

// Leases takes, renews and gives up the leases of one process.
type Leases struct {
	cfg Config
	db  *sqldb.DB
}

// New returns the leases of the process cfg.Holder names.
func New(cfg Config) (*Leases, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Leases{cfg: cfg, db: cfg.DB}, nil
}

// Holder names this process in the leases table.
func (l *Leases) Holder() string { return l.cfg.Holder }

// The rhythm of a lease, as fractions of its time to live: try to take
// it, and renew it, every third; give it up when no renewal succeeded for
// four fifths (the fifth left is the margin for the time a renewal takes
// to reach the database, measured from when it was sent).
func (l *Leases) every() time.Duration   { return l.cfg.TTL / 3 }
func (l *Leases) trusted() time.Duration { return l.cfg.TTL * 4 / 5 }

// retryRenewal is how soon a renewal that failed (the database is away,
// a failover) is tried again.
const retryRenewal = 250 * time.Millisecond

// Hold waits until this process holds lease name, or ctx ends (it then
// returns ctx's error). It returns a context that ends when the lease is
// lost (not renewed in time, or taken over) or ctx ends, and release,
// which ends that context and gives the lease up at once, so that another
// process takes it over without waiting for it to expire. Call release
// exactly once.
func (l *Leases) Hold(ctx context.Context, name string) (context.Context, func(), error) {
	var logged error
	for {
		sent := time.Now()
		token, ok, err := l.acquire(ctx, name)
		if ok {
			held, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				l.keep(held, cancel, name, token, sent)
			}()
			l.cfg.Observe(name, true)
			l.cfg.Logger.Info("lease taken", "lease", name, "holder", l.cfg.Holder, "term", token)
			var once sync.Once
			return held, func() {
				once.Do(func() {
					cancel()
					<-done
					l.giveUp(name, token)
					l.cfg.Observe(name, false)
				})
			}, nil
		}
		if err != nil && ctx.Err() == nil && (logged == nil || logged.Error() != err.Error()) {
			l.cfg.Logger.Warn("cannot take a lease; trying again", "lease", name, "error", err)
			logged = err
		}
		if err := clock.Sleep(ctx, l.every()); err != nil {
			return nil, nil, err
		}
	}
}

// Run calls work with a context that ends when this process stops holding
// lease name, each time it holds it, until ctx ends (Run then returns
// nil). An error from work while the lease is still held ends Run with
// that error; an error after the lease was lost only means work noticed.
func (l *Leases) Run(ctx context.Context, name string, work func(context.Context) error) error {
	for {
		held, release, err := l.Hold(ctx, name)
		if err != nil {
			return nil // ctx ended
		}
		err = work(held)
		lost := held.Err() != nil
		release()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !lost {
			return fmt.Errorf("lease %s: %w", name, err)
		}
	}
}

// keep renews lease name until held ends, and cancels it when a renewal
// finds the lease taken over or none succeeded for too long.
func (l *Leases) keep(held context.Context, cancel context.CancelFunc, name string, token int64, sent time.Time) {
	defer cancel()
	trustedUntil := sent.Add(l.trusted())
	wait := l.every()
	for {
		timer := time.NewTimer(min(wait, time.Until(trustedUntil)))
		select {
		case <-held.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if !time.Now().Before(trustedUntil) {
			l.cfg.Logger.Warn("lease lost: not renewed in time", "lease", name, "holder", l.cfg.Holder, "term", token)
			return
		}
		sent := time.Now()
		// A renewal still on its way when the lease stops being trusted
		// (the database is away, and its connections wait for it) is
		// abandoned there: the holder must stop before the lease can expire.
		rctx, cancelRenewal := context.WithDeadline(held, trustedUntil)
		ok, err := l.renew(rctx, name, token)
		cancelRenewal()
		switch {
		case err == nil && ok:
			trustedUntil, wait = sent.Add(l.trusted()), l.every()
		case err == nil:
			l.cfg.Logger.Warn("lease lost: taken over", "lease", name, "holder", l.cfg.Holder, "term", token)
			return
		default:
			wait = retryRenewal
		}
	}
}

// now returns the database's clock in Unix microseconds: PostgreSQL's, so
// that the hosts' clocks never matter; SQLite's is this machine's.
func (l *Leases) now(ctx context.Context) (int64, error) {
	if l.db.Engine != sqldb.Postgres {
		return time.Now().UnixMicro(), nil
	}
	var us int64
	if err := l.db.QueryRowContext(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`).Scan(&us); err != nil {
		return 0, fmt.Errorf("lease: read the database's clock: %w", err)
	}
	return us, nil
}

// acquire takes lease name if nobody holds it or its holder let it
// expire, and returns its new term.
func (l *Leases) acquire(ctx context.Context, name string) (int64, bool, error) {
	now, err := l.now(ctx)
	if err != nil {
		return 0, false, err
	}
	var token int64
	err = l.write(ctx, func(tx *sqldb.Tx) error {
		return tx.QueryRowContext(ctx, l.db.Rebind(`INSERT INTO leases (name, holder, token, acquired_at, expires_at) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = leases.token + 1,
				acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
			WHERE leases.expires_at < excluded.acquired_at
			RETURNING token`), name, l.cfg.Holder, now, now+l.cfg.TTL.Microseconds()).Scan(&token)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil // held by another process
	case err != nil:
		return 0, false, fmt.Errorf("lease: take %s: %w", name, err)
	}
	return token, true, nil
}

// renew extends this process's term of lease name; false means another
// process holds it now.
func (l *Leases) renew(ctx context.Context, name string, token int64) (bool, error) {
	now, err := l.now(ctx)
	if err != nil {
		return false, err
	}
	var n int64
	err = l.write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, l.db.Rebind(`UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ?`),
			now+l.cfg.TTL.Microseconds(), name, l.cfg.Holder, token)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease: renew %s: %w", name, err)
	}
	return n == 1, nil
}

// write runs fn in a transaction of its own, begun through the database's
// gate (on SQLite the process's writers queue there, not in SQLite's busy
// handler).
func (l *Leases) write(ctx context.Context, fn func(tx *sqldb.Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// giveUp ends this process's term of lease name at once. A failure only
// means the next holder waits for the lease to expire.
func (l *Leases) giveUp(name string, token int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, l.db.Rebind(`UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?`),
			name, l.cfg.Holder, token)
		return err
	}); err != nil {
		l.cfg.Logger.Warn("cannot give a lease up; it expires by itself", "lease", name, "error", err)
		return
	}
	l.cfg.Logger.Info("lease given up", "lease", name, "holder", l.cfg.Holder, "term", token)
}

// Reset forgets every lease, for a process that knows it is the only one
// (on SQLite, whose file one process claims): whoever held them before is
// dead, and waiting for their leases to expire would only delay its start.
func (l *Leases) Reset(ctx context.Context) error {
	if _, err := l.db.ExecContext(ctx, `DELETE FROM leases`); err != nil {
		return fmt.Errorf("lease: forget the leases of earlier processes: %w", err)
	}
	return nil
}

// Holding is one row of the leases table.
type Holding struct {
	Name, Holder string
	Term         int64
	ExpiresAt    time.Time
}

// List returns every lease and who holds it (an expired one is held by
// nobody, whatever its row says).
func (l *Leases) List(ctx context.Context) ([]Holding, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT name, holder, token, expires_at FROM leases ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("lease: list: %w", err)
	}
	defer rows.Close()
	var out []Holding
	for rows.Next() {
		var (
			h  Holding
			us int64
		)
		if err := rows.Scan(&h.Name, &h.Holder, &h.Term, &us); err != nil {
			return nil, fmt.Errorf("lease: list: %w", err)
		}
		h.ExpiresAt = time.UnixMicro(us).UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lease: list: %w", err)
	}
	return out, nil
}
