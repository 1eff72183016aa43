package timers

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
	"sync/atomic"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
)

// Handler fires one timer. It must be idempotent (see the package
// documentation). An error leaves the timer pending: it is retried after a
// backoff, with its attempts and last error visible in the timers table.
type Handler func(ctx context.Context, t Timer) error

// Config configures a Loop.
type Config struct {
	// DB holds the timers table. Required.
	DB *sqldb.DB
	// Clock is ledger time, against which due times are compared.
	// Required. A clock with a Changed() <-chan struct{} method (such as
	// *clock.Simulated) wakes the loop whenever it moves, so timers fire
	// as soon as simulated time passes them.
	Clock clock.Clock
	// Poll is the longest the loop sleeps between looks at the table
	// (timers scheduled by other processes, retries). Default 1s.
	Poll time.Duration
	// Backoff is the wall-clock wait before a failed timer is tried
	// again, given how many attempts failed so far (1, 2, …). Default:
	// 1s doubling up to 5 minutes.
	Backoff func(attempts int) time.Duration
	// HandlerTimeout bounds one run of a handler. Default 1 minute.
	HandlerTimeout time.Duration
	// Name identifies the loop in SQLite claims and logs. Default: host
	// name, process ID and a random suffix.
	Name string
	// Logger receives the loop's logs. Default slog.Default().
	Logger *slog.Logger
	// Settle, if set, waits until the process managers have applied every
	// event in the log. The loop calls it after each timer that fired,
	// before it chooses the next, so that the timers the fired one's
	// events schedule are in the table first: a grace's end that
	// schedules a suspension an hour later is followed by that
	// suspension, not by a timer due later still (rule X-6). A failure is
	// logged and the loop goes on; Advance stops on it.
	Settle func(ctx context.Context) error
}

func (c *Config) setDefaults() {
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = time.Minute
	}
	if c.Name == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every missing required field.
func (c Config) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("timers: config needs the database"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("timers: config needs the ledger's clock"))
	}
	return errors.Join(errs...)
}

// DefaultBackoff waits 1s after the first failure, doubling up to 5 minutes.
func DefaultBackoff(attempts int) time.Duration {
	d := time.Second
	for i := 1; i < attempts && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// Loop fires due timers through the handlers registered for their kinds.
// Any number of loops may run against one database: on PostgreSQL they
// share the due timers (SELECT … FOR UPDATE SKIP LOCKED), on SQLite one
// claims a timer at a time under the database's single writer.
type Loop struct {
	cfg    Config
	db     *sqldb.DB
	wake   chan struct{}
	claims atomic.Uint64

	mu         sync.RWMutex
	handlers   map[string]Handler
	deliveries map[string]bool // kinds registered with HandleDelivery

	// firing lets one pass fire at a time in this process: a clock
	// Advance steps through the due timers alone, in due order, while
	// the loop woken by the moving clock waits for it.
	firing sync.Mutex
}

// New returns a loop with no handlers.
func New(cfg Config) (*Loop, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Loop{cfg: cfg, db: cfg.DB, wake: make(chan struct{}, 1), handlers: map[string]Handler{}, deliveries: map[string]bool{}}, nil
}

// Handle registers h for timers of kind. It panics if kind already has a
// handler: that is a wiring mistake found at start-up.
func (l *Loop) Handle(kind string, h Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.handlers[kind]; dup {
		panic(fmt.Sprintf("timers: two handlers for kind %q", kind))
	}
	l.handlers[kind] = h
}

// HandleDelivery registers h for timers of kind, which deliver to the
// outside world (mail, the order system's webhook: the outbox) rather than
// record effects in the log. An Advance tries each in its turn but does
// not stop for its failure: the loop retries it with its backoff, and it
// keeps its due time (a mail's date is the due time, not the retry's).
func (l *Loop) HandleDelivery(kind string, h Handler) {
	l.Handle(kind, h)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliveries[kind] = true
}

// Wake makes a running loop look for due timers now, for example after
// this process scheduled one that is already due.
func (l *Loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run fires due timers until ctx ends, then returns ctx's error. It looks
// again when the next timer falls due (real clock), when the clock moves
// (simulated clock), when woken, and at least every Poll.
func (l *Loop) Run(ctx context.Context) error {
	changer, _ := l.cfg.Clock.(interface{ Changed() <-chan struct{} })
	sleep := time.NewTimer(l.cfg.Poll)
	defer sleep.Stop()
	for {
		var moved <-chan struct{}
		if changer != nil {
			moved = changer.Changed() // before the pass: a move during it wakes the next wait
		}
		if _, err := l.FireDue(ctx); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Error("timer pass failed", "loop", l.cfg.Name, "error", err)
		}
		wait := l.cfg.Poll
		if next, ok, err := l.nextWake(ctx, changer != nil); err == nil && ok && next < wait {
			wait = max(next, 0)
		}
		sleep.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		case <-l.wake:
		case <-sleep.C:
		}
	}
}

// FireDue fires every timer due now (by the ledger's clock) and not
// waiting for a retry, in due order, and returns how many fired. Timers
// that fail are left for a later pass.
func (l *Loop) FireDue(ctx context.Context) (int, error) {
	l.firing.Lock()
	defer l.firing.Unlock()
	// One "now" per pass: a timer that fails in this pass gets a retry time
	// after passWall, so the pass cannot pick it up again and spin.
	now, passWall := l.cfg.Clock.Now(), time.Now()
	fired := 0
	for ctx.Err() == nil {
		t, found, herr, err := l.fireNext(ctx, pick{due: now, retryBefore: passWall}, passWall)
		if err != nil {
			return fired, err
		}
		if !found {
			return fired, nil
		}
		if herr == nil {
			fired++
			if err := l.settle(ctx); err != nil && ctx.Err() == nil {
				l.cfg.Logger.Warn("timers: the process managers did not catch up after a timer; going on",
					"loop", l.cfg.Name, "timer", t.ID, "error", err)
			}
		}
	}
	return fired, ctx.Err()
}

func (l *Loop) settle(ctx context.Context) error {
	if l.cfg.Settle == nil {
		return nil
	}
	return l.cfg.Settle(ctx)
}

// pick says which timer fireNext claims: the first pending one, by due
// time and ID, due at or before due, not waiting for a retry after
// retryBefore (zero: whatever its retry time), and not in skip.
type pick struct {
	due         time.Time
	retryBefore time.Time
	skip        []string
}

// where returns pick's condition and its arguments.
func (p pick) where() (string, []any) {
	q, args := `status = 'pending' AND due_at <= ?`, []any{p.due.UnixMicro()}
	if !p.retryBefore.IsZero() {
		q += ` AND retry_at <= ?`
		args = append(args, p.retryBefore.UnixMicro())
	}
	for _, id := range p.skip {
		q += ` AND id <> ?`
		args = append(args, id)
	}
	return q, args
}

const selectTimer = `SELECT id, kind, due_at, payload, attempts FROM timers WHERE `

// fireNext claims the timer p picks, runs its handler and records the
// outcome. found is false when p picks none; herr is the handler's error.
func (l *Loop) fireNext(ctx context.Context, p pick, passWall time.Time) (t Timer, found bool, herr, err error) {
	if l.db.Engine == sqldb.Postgres {
		return l.fireLocked(ctx, p, passWall)
	}
	return l.fireClaimed(ctx, p, passWall)
}

func scanTimer(row interface{ Scan(...any) error }) (Timer, error) {
	var (
		t       Timer
		due     int64
		payload string
	)
	if err := row.Scan(&t.ID, &t.Kind, &due, &payload, &t.Attempts); err != nil {
		return Timer{}, err
	}
	t.Due = time.UnixMicro(due).UTC()
	t.Payload = []byte(payload)
	return t, nil
}

// fireLocked is the PostgreSQL way: the transaction that locks the timer
// row stays open while the handler runs and marks the outcome, so another
// loop skips the row while it runs and finds it fired afterwards. If this
// process dies, the server rolls the transaction back and the timer is
// pending again.
func (l *Loop) fireLocked(ctx context.Context, p pick, passWall time.Time) (t Timer, found bool, herr, err error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return t, false, nil, fmt.Errorf("timers: begin: %w", err)
	}
	defer func() {
		if err != nil || !found {
			_ = tx.Rollback()
		}
	}()
	where, args := p.where()
	t, err = scanTimer(tx.QueryRowContext(ctx, l.db.Rebind(selectTimer+where+` ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil, nil
	}
	if err != nil {
		return t, false, nil, fmt.Errorf("timers: claim a due timer: %w", err)
	}
	herr = l.run(ctx, t)
	if err := l.record(ctx, tx, t, "", herr, passWall); err != nil {
		return t, true, herr, err
	}
	if err := tx.Commit(); err != nil {
		return t, true, herr, fmt.Errorf("timers: commit %s: %w", t.ID, err)
	}
	return t, true, herr, nil
}

// fireClaimed is the SQLite way. SQLite has one writer: holding a write
// transaction while the handler runs would lock out the event store the
// handler appends to. So a short transaction claims the timer (a lease in
// wall-clock time), the handler runs outside it, and a second one records
// the outcome, only if the claim is still ours. A loop that dies
// mid-handler loses its claim when the lease ends, and the timer fires
// again (idempotently).
func (l *Loop) fireClaimed(ctx context.Context, p pick, passWall time.Time) (t Timer, found bool, herr, err error) {
	claim := fmt.Sprintf("%s/%d", l.cfg.Name, l.claims.Add(1))
	lease := l.cfg.HandlerTimeout + time.Minute
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return t, false, nil, fmt.Errorf("timers: begin: %w", err)
	}
	where, args := p.where()
	t, err = scanTimer(tx.QueryRowContext(ctx, l.db.Rebind(selectTimer+where+` AND claimed_until < ? ORDER BY due_at, id LIMIT 1`),
		append(args, time.Now().UnixMicro())...))
	if errors.Is(err, sql.ErrNoRows) {
		_ = tx.Rollback()
		return t, false, nil, nil
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, l.db.Rebind(`UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE id = ?`),
			claim, time.Now().Add(lease).UnixMicro(), t.ID)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		_ = tx.Rollback()
		return t, false, nil, fmt.Errorf("timers: claim a due timer: %w", err)
	}
	herr = l.run(ctx, t)
	// Record the outcome even if ctx ended meanwhile: the handler's effect
	// happened, and a lost "fired" mark only costs an idempotent re-run.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	tx, err = l.db.BeginTx(rctx, nil)
	if err != nil {
		return t, true, herr, fmt.Errorf("timers: begin: %w", err)
	}
	if err := l.record(rctx, tx, t, claim, herr, passWall); err != nil {
		_ = tx.Rollback()
		return t, true, herr, err
	}
	if err := tx.Commit(); err != nil {
		return t, true, herr, fmt.Errorf("timers: commit %s: %w", t.ID, err)
	}
	return t, true, herr, nil
}

// record stores a run's outcome: fired, or still pending with one more
// attempt, the error and the time of the next try. With a claim, only if
// the claim still holds (the timer was not re-scheduled meanwhile).
func (l *Loop) record(ctx context.Context, tx *sqldb.Tx, t Timer, claim string, herr error, passWall time.Time) error {
	var (
		q    string
		args []any
	)
	if herr == nil {
		q = `UPDATE timers SET status = 'fired', fired_at = ?, attempts = attempts + 1, last_error = '', claimed_by = '', claimed_until = 0
			WHERE id = ? AND status = 'pending'`
		args = []any{l.cfg.Clock.Now().UnixMicro(), t.ID}
	} else {
		retry := time.Now().Add(l.cfg.Backoff(t.Attempts + 1))
		if !retry.After(passWall) {
			retry = passWall.Add(time.Microsecond)
		}
		q = `UPDATE timers SET attempts = attempts + 1, last_error = ?, retry_at = ?, claimed_by = '', claimed_until = 0
			WHERE id = ? AND status = 'pending'`
		args = []any{herr.Error(), retry.UnixMicro(), t.ID}
		l.cfg.Logger.Warn("timer handler failed; will retry", "loop", l.cfg.Name, "timer", t.ID, "kind", t.Kind,
			"attempt", t.Attempts+1, "retry_at", retry, "error", herr)
	}
	if claim != "" {
		q += ` AND claimed_by = ?`
		args = append(args, claim)
	}
	if _, err := tx.ExecContext(ctx, l.db.Rebind(q), args...); err != nil {
		return fmt.Errorf("timers: record outcome of %s: %w", t.ID, err)
	}
	return nil
}

// run calls t's handler with a bounded context; a missing handler and a
// panic are failures like any other.
func (l *Loop) run(ctx context.Context, t Timer) (err error) {
	l.mu.RLock()
	h, ok := l.handlers[t.Kind]
	l.mu.RUnlock()
	if !ok {
		return fmt.Errorf("timers: no handler for kind %q in loop %s", t.Kind, l.cfg.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("timers: handler of %s (%s) panicked: %v", t.ID, t.Kind, p)
		}
	}()
	if err := h(ctx, t); err != nil {
		return fmt.Errorf("timer %s (%s): %w", t.ID, t.Kind, err)
	}
	return nil
}

// nextWake returns how long until a pending timer needs a look: the next
// due time (only on a real clock: simulated time does not pass by itself,
// its moves wake the loop) or the next retry of a failed one.
func (l *Loop) nextWake(ctx context.Context, simulated bool) (time.Duration, bool, error) {
	now := l.cfg.Clock.Now()
	var wait time.Duration
	found := false
	consider := func(d time.Duration) {
		if !found || d < wait {
			wait, found = d, true
		}
	}
	if !simulated {
		var due sql.NullInt64
		if err := l.db.QueryRowContext(ctx, l.db.Rebind(`SELECT MIN(due_at) FROM timers WHERE status = 'pending' AND due_at > ?`),
			now.UnixMicro()).Scan(&due); err != nil {
			return 0, false, err
		}
		if due.Valid {
			consider(time.UnixMicro(due.Int64).Sub(now))
		}
	}
	var retry sql.NullInt64
	if err := l.db.QueryRowContext(ctx, l.db.Rebind(`SELECT MIN(retry_at) FROM timers WHERE status = 'pending' AND due_at <= ? AND retry_at > 0`),
		now.UnixMicro()).Scan(&retry); err != nil {
		return 0, false, err
	}
	if retry.Valid {
		consider(time.Until(time.UnixMicro(retry.Int64)))
	}
	return wait, found, nil
}

// Backlog is the state of the pending timers, for metrics and operators.
type Backlog struct {
	// Pending counts timers not yet fired or cancelled.
	Pending int
	// Due counts pending timers whose due time has passed.
	Due int
	// Failing counts pending timers whose handler failed at least once.
	Failing int
}

// Backlog counts the pending timers against the loop's clock.
func (l *Loop) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	err := l.db.QueryRowContext(ctx, l.db.Rebind(`SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN due_at <= ? THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0)
		FROM timers WHERE status = 'pending'`), l.cfg.Clock.Now().UnixMicro()).Scan(&b.Pending, &b.Due, &b.Failing)
	if err != nil {
		return Backlog{}, fmt.Errorf("timers: backlog: %w", err)
	}
	return b, nil
}
