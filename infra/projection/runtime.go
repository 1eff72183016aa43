// Package projection runs the read side's projections over the SQL read
// store (SQLite or PostgreSQL through infra/sqldb): each event is applied
// in one database/sql transaction that also moves the projection's
// checkpoint, so a crash never double-applies or loses an update. It also
// answers "has projection P reached position N yet" (WaitFor, for
// read-your-writes), reports each projection's lag and failure (Status),
// and rebuilds a projection from position zero (Rebuild).
//
// Events reach the handlers through the watermill Router of infra/watermill
// (AddHandlers); the Runtime is also the Checkpoints and Halter that
// router's subscriber and poison middleware need.
package projection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
	"seatledger/infra/watermill"
	"seatledger/projections"
)

// Log is the part of eventstore.Store the runtime reads: the head (for
// lag) and pages of the log (for rebuilds).
type Log interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error)
	Head(ctx context.Context) (uint64, error)
}

// Config configures a Runtime.
type Config struct {
	// DB is the read store, migrated. Required.
	DB *sqldb.DB
	// Log is the event log. Required.
	Log Log
	// Projections are the projections to run; their names must be unique.
	Projections []projections.Projection
	// Clock stamps checkpoints' updated_at, an operational time. Default:
	// the wall clock.
	Clock clock.Clock
	// RebuildBatch is how many events a rebuild applies per transaction.
	// Default 500.
	RebuildBatch int
	// LiveBatch is how many events live processing applies at most in one
	// transaction: the delivered event and those already in the log right
	// after it. Default 256; 1 applies one event per transaction.
	LiveBatch int
	// WaitPoll is how often WaitFor re-reads a checkpoint, for updates made
	// by another process (rule X-8: the one that applies the projection);
	// updates made by this Runtime wake it at once. Default 25ms.
	WaitPoll time.Duration
	// Logger receives the runtime's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.LiveBatch <= 0 {
		c.LiveBatch = 256
	}
	if c.RebuildBatch <= 0 {
		c.RebuildBatch = 500
	}
	if c.WaitPoll <= 0 {
		c.WaitPoll = 25 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("projection: config needs the read store's database"))
	}
	if c.Log == nil {
		errs = append(errs, errors.New("projection: config needs the event log"))
	}
	seen := map[string]bool{}
	for i, p := range c.Projections {
		switch {
		case p == nil:
			errs = append(errs, fmt.Errorf("projection: projection %d is nil", i))
		case p.Name() == "":
			errs = append(errs, fmt.Errorf("projection: projection %d (%T) has no name", i, p))
		case seen[p.Name()]:
			errs = append(errs, fmt.Errorf("projection: two projections are named %q", p.Name()))
		default:
			seen[p.Name()] = true
		}
	}
	return errors.Join(errs...)
}

// Runtime applies events to projections and keeps their checkpoints.
// Its methods are safe for concurrent use.
type Runtime struct {
	cfg      Config
	db       *sqldb.DB
	order    []*entry
	byName   map[string]*entry
	progress *eventstore.Notifier // broadcast after every checkpoint move

	// beforeCommit, set by tests, runs after Apply and the checkpoint
	// update, just before the commit: the place a crash would hurt most.
	beforeCommit func(ctx context.Context, name string, rec event.Record) error
}

// entry is one projection and its lock. The lock serialises the live
// handler with a rebuild in this process; across processes the checkpoint
// row's lock does (see lockCheckpoint).
type entry struct {
	p    projections.Projection
	lock chan struct{}
	// handles holds the event types a selective projection applies (its
	// EventTypes, derived from its handlers), nil for one that applies
	// every event. passOver passes over the others.
	handles map[string]struct{}
	// applied is the last position this process committed for the
	// projection: a delivery at or before it is acknowledged without even
	// reading the checkpoint. Every projection receives every event, and
	// a batch applies the events after its first, so most deliveries are
	// of events applied already.
	applied atomic.Uint64
	// stored is when the checkpoint was last committed by this process,
	// and storedAt the position it was committed at (both under lock).
	// The applied position is trusted past the stored checkpoint only
	// while the checkpoint is still storedAt: once another process moved
	// it (a rebuild, another owner), it says nothing of what is applied.
	stored   time.Time
	storedAt uint64
	// flushing is set while a store of passed-over progress is pending
	// (see passOver); passed is when passOver last passed over an event,
	// in Unix nanoseconds.
	flushing atomic.Bool
	passed   atomic.Int64
	// stopped remembers whether the projection is halted (see Stopped).
	stopped stoppedCache
}

// applies reports whether the projection applies events of type typ.
func (e *entry) applies(typ string) bool {
	if e.handles == nil {
		return true
	}
	_, ok := e.handles[typ]
	return ok
}

// resetApplied makes position the last applied position, also when that
// moves it back: after another process moved the checkpoint.
func (e *entry) resetApplied(position uint64) { e.applied.Store(position) }

// markApplied records that position was committed.
func (e *entry) markApplied(position uint64) {
	for {
		cur := e.applied.Load()
		if position <= cur || e.applied.CompareAndSwap(cur, position) {
			return
		}
	}
}

func (e *entry) acquire(ctx context.Context) error {
	select {
	case e.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *entry) release() { <-e.lock }

// Applied implements watermill.Applied: how far projection name was
// applied by this process (0 when unknown).
func (r *Runtime) Applied(name string) uint64 {
	e, ok := r.byName[name]
	if !ok {
		return 0
	}
	return e.applied.Load()
}

// Progress returns a channel closed at the next move of any projection
// of this process (then ask Applied how far the one you follow is).
func (r *Runtime) Progress() <-chan struct{} { return r.progress.Wait() }

var (
	_ watermill.Applied     = (*Runtime)(nil)
	_ watermill.Checkpoints = (*Runtime)(nil)
	_ watermill.Halter      = (*Runtime)(nil)
)

// New returns a runtime for cfg.Projections and creates the checkpoint
// rows of those that have none (position 0).
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &Runtime{cfg: cfg, db: cfg.DB, byName: map[string]*entry{}, progress: eventstore.NewNotifier()}
	now := cfg.Clock.Now().UnixMicro()
	for _, p := range cfg.Projections {
		e := &entry{p: p, lock: make(chan struct{}, 1)}
		if sel, ok := p.(projections.Selective); ok {
			e.handles = map[string]struct{}{}
			for _, typ := range sel.EventTypes() {
				e.handles[typ] = struct{}{}
			}
		}
		r.order = append(r.order, e)
		r.byName[p.Name()] = e
		if _, err := r.db.ExecContext(ctx, r.db.Rebind(
			`INSERT INTO projection_checkpoints (name, position, updated_at) VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING`),
			p.Name(), now); err != nil {
			return nil, fmt.Errorf("projection: create checkpoint of %s: %w", p.Name(), err)
		}
	}
	return r, nil
}

// Names returns the projections' names in configuration order.
func (r *Runtime) Names() []string {
	names := make([]string, len(r.order))
	for i, e := range r.order {
		names[i] = e.p.Name()
	}
	return names
}

// AddHandlers adds one handler per projection to router, named
// "projection.NAME", consuming topic NAME of sub (normally a
// watermill.Subscriber on the log whose Checkpoints is r).
func (r *Runtime) AddHandlers(router *message.Router, sub message.Subscriber) {
	for _, e := range r.order {
		router.AddConsumerHandler("projection."+e.p.Name(), e.p.Name(), sub, r.handler(e))
	}
}

// Handler returns the watermill handler of projection name, for wiring by
// hand; AddHandlers is the usual way.
func (r *Runtime) Handler(name string) (message.NoPublishHandlerFunc, error) {
	e, err := r.entry(name)
	if err != nil {
		return nil, err
	}
	return r.handler(e), nil
}

func (r *Runtime) handler(e *entry) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		rec, after, err := watermill.Decode(msg)
		if err != nil {
			return fmt.Errorf("projection %s: %w", e.p.Name(), err)
		}
		return r.applyLive(msg.Context(), e, rec, after)
	}
}

// ErrUnknown is returned for a projection name the runtime does not run.
var ErrUnknown = errors.New("projection: unknown projection")

func (r *Runtime) entry(name string) (*entry, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknown, name, r.Names())
	}
	return e, nil
}

// errAheadFailed marks a failure to apply an event read ahead of the
// delivered one: the batch is abandoned and the delivered event applied
// alone; the failing event then arrives on its own, with its own retries.
var errAheadFailed = errors.New("projection: an event read ahead failed to apply")

// applyLive applies a delivered event, the one after position after, with
// the checkpoint in one transaction. A projection that is behind does not
// pay a commit per event: the events already in the log after the
// delivered one are applied in the same transaction (up to LiveBatch), and
// their own deliveries, which follow, are acknowledged from the checkpoint
// without a transaction.
func (r *Runtime) applyLive(ctx context.Context, e *entry, rec event.Record, after uint64) error {
	// Already applied (read ahead, redelivered, or by another process): the
	// checkpoint never moves back except for a rebuild, which applies the
	// event itself, so an acknowledgement needs no transaction.
	applied := e.applied.Load()
	if rec.Position <= applied {
		return nil
	}
	// Before this process applied anything, another may have (or this
	// one before a restart): look first, which costs no transaction.
	// Afterwards the checkpoint is where this process left it, and the
	// transaction below checks it anyway.
	if applied == 0 {
		if cp, err := r.readCheckpoint(ctx, e.p.Name()); err == nil && cp.state != StateFailed && rec.Position <= cp.position {
			return nil
		}
	}
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if skipped, err := r.passOver(ctx, e, rec, after); skipped || err != nil {
		return err
	}
	err := r.applyFrom(ctx, e, rec, after, r.cfg.LiveBatch)
	if errors.Is(err, errAheadFailed) {
		err = r.applyFrom(ctx, e, rec, after, 1)
	}
	return err
}

// checkpointEvery is how often a projection that passes over events
// stores how far it got, at most: between two stores, a restart delivers
// those events again, to be passed over again.
const checkpointEvery = 200 * time.Millisecond

// passOver acknowledges rec and the events after it that a selective
// projection ignores, without a transaction, when this process applied
// everything up to rec (so nothing is skipped that was not seen). It
// stores the checkpoint at most every checkpointEvery, through
// applyFrom. It reports whether it passed over rec.
func (r *Runtime) passOver(ctx context.Context, e *entry, rec event.Record, after uint64) (bool, error) {
	if e.handles == nil || e.applied.Load() != after || e.applies(rec.Type) {
		return false, nil
	}
	reached := rec.Position
	ahead, err := r.readAhead(ctx, rec.Position, r.cfg.LiveBatch-1)
	if err != nil {
		return false, fmt.Errorf("%w: projection %s: read ahead of %d: %w", watermill.ErrTransient, e.p.Name(), rec.Position, err)
	}
	for _, next := range ahead {
		if e.applies(next.Type) {
			break
		}
		reached = next.Position
	}
	if time.Since(e.stored) >= checkpointEvery {
		return false, nil // store how far it got: applyFrom moves the checkpoint
	}
	e.markApplied(reached)
	e.passed.Store(time.Now().UnixNano())
	r.progress.Broadcast()
	if e.flushing.CompareAndSwap(false, true) {
		// Stored a moment ago: store this progress as soon as the log falls
		// quiet, unless a commit does first. Other processes see a
		// projection's progress only there (rule X-8: their reads, and a
		// clock advance waiting for the process managers, wait for it).
		time.AfterFunc(quietFor, func() { r.flushPassed(e) })
	}
	return true, nil
}

// quietFor is how long no event must have been passed over before the
// progress passed over is stored: while events keep coming, passOver
// stores every checkpointEvery by itself.
const quietFor = 20 * time.Millisecond

// flushPassed stores the progress e passed over since its last store, if
// the checkpoint is still where this process stored it, once no event was
// passed over for quietFor.
func (r *Runtime) flushPassed(e *entry) {
	if since := time.Since(time.Unix(0, e.passed.Load())); since < quietFor {
		time.AfterFunc(quietFor-since, func() { r.flushPassed(e) }) // not quiet yet
		return
	}
	defer e.flushing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.acquire(ctx); err != nil {
		return
	}
	defer e.release()
	applied := e.applied.Load()
	if applied <= e.storedAt {
		return // a commit stored it meanwhile
	}
	err := func() error {
		tx, err := r.db.BeginRebuildable(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		cp, err := r.lockCheckpoint(ctx, tx, e.p.Name())
		if err != nil {
			return err
		}
		if cp.state != StateLive || cp.position != e.storedAt {
			return nil // another process moved it: it is theirs to store
		}
		if err := WrapTx(tx, r.db.Engine).Exec(ctx, `UPDATE projection_checkpoints SET position = ?, updated_at = ? WHERE name = ?`,
			applied, r.cfg.Clock.Now().UnixMicro(), e.p.Name()); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		e.stored, e.storedAt = time.Now(), applied
		return nil
	}()
	if err != nil {
		r.cfg.Logger.Debug("storing a projection's passed-over progress failed; the next event stores it", "projection", e.p.Name(), "error", err)
	}
}

// applyFrom applies rec and up to batch-1 events that follow it in the log.
func (r *Runtime) applyFrom(ctx context.Context, e *entry, rec event.Record, after uint64, batch int) (err error) {
	name := e.p.Name()
	tx, err := r.db.BeginRebuildable(ctx)
	if err != nil {
		return fmt.Errorf("%w: projection %s: begin: %w", watermill.ErrTransient, name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	cp, err := r.lockCheckpoint(ctx, tx, name)
	if err != nil {
		return fmt.Errorf("%w: %w", watermill.ErrTransient, err)
	}
	// The stored checkpoint decides, not the delivery: an event at or
	// before it was applied already (a redelivery after a lost Ack, another
	// process, a rebuild) and is acknowledged without effect; an event that
	// does not follow it is stale and sends the subscriber back to it.
	//
	// This process's applied position runs ahead of the checkpoint after
	// passing over events the projection ignores (passOver); that is the
	// position to follow only while the checkpoint is where this process
	// stored it. Once another process moved it (rule X-8: a rebuild by
	// `ledger projections rebuild`, another owner), the checkpoint alone
	// says what is applied: a delivery that does not follow it is stale,
	// and the subscriber goes back to it.
	follows := cp.position
	if cp.position == e.storedAt {
		follows = max(cp.position, e.applied.Load())
	} else {
		// This process goes on from the checkpoint as it finds it: what it
		// passes over from here builds on it.
		e.resetApplied(cp.position)
		e.storedAt = cp.position
	}
	switch {
	case cp.state == StateFailed:
		return fmt.Errorf("%w: projection %s is failed at position %d", watermill.ErrStaleDelivery, name, cp.failure.Position)
	case rec.Position <= cp.position:
		_ = tx.Rollback() // applied before (a redelivery, a rebuild or another process got there first)
		return nil
	case follows != after:
		return fmt.Errorf("%w: projection %s is at position %d, the delivery of %d follows %d",
			watermill.ErrStaleDelivery, name, cp.position, rec.Position, after)
	}
	var ahead []event.Record
	if batch > 1 {
		if ahead, err = r.readAhead(ctx, rec.Position, batch-1); err != nil {
			return fmt.Errorf("%w: projection %s: read ahead of %d: %w", watermill.ErrTransient, name, rec.Position, err)
		}
	}
	stx := WrapTx(tx, r.db.Engine)
	reached, err := r.apply(ctx, e, stx, rec, ahead)
	if err != nil {
		return err
	}
	if err := stx.Exec(ctx, `UPDATE projection_checkpoints SET position = ?, updated_at = ?, status = 'live' WHERE name = ?`,
		reached, r.cfg.Clock.Now().UnixMicro(), name); err != nil {
		return fmt.Errorf("%w: projection %s: move checkpoint to %d: %w", watermill.ErrTransient, name, reached, err)
	}
	if r.beforeCommit != nil {
		if err := r.beforeCommit(ctx, name, rec); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: projection %s: commit position %d: %w", watermill.ErrTransient, name, reached, err)
	}
	e.markApplied(reached)
	e.stored, e.storedAt = time.Now(), reached
	r.progress.Broadcast()
	return nil
}

// readAhead returns up to limit events after position after, to apply or
// pass over with a delivered one: from the store's latest commits when it
// can tell them (eventstore.TailReader), so a projection caught up with
// the log does not ask the database for events nobody appended. Stopping
// short costs nothing: the events come by their own deliveries.
func (r *Runtime) readAhead(ctx context.Context, after uint64, limit int) ([]event.Record, error) {
	if t, ok := r.cfg.Log.(eventstore.TailReader); ok {
		if recs, ok := t.ReadTail(after, limit); ok {
			return recs, nil
		}
	}
	return r.cfg.Log.ReadAll(ctx, after, limit)
}

// apply applies rec and the events read ahead of it through tx, and
// returns the position reached. A projections.BatchApplier is given them
// all at once (fewer statements); should that fail, the delivered event
// is applied alone next (errAheadFailed), which names it if it fails.
func (r *Runtime) apply(ctx context.Context, e *entry, tx projections.Tx, rec event.Record, ahead []event.Record) (uint64, error) {
	name := e.p.Name()
	if b, ok := e.p.(projections.BatchApplier); ok && len(ahead) > 0 {
		last := ahead[len(ahead)-1].Position
		if err := b.ApplyBatch(ctx, tx, append([]event.Record{rec}, ahead...)); err != nil {
			if sqldb.IsUnavailable(err) {
				return 0, fmt.Errorf("%w: projection %s: apply positions %d–%d: %w", watermill.ErrTransient, name, rec.Position, last, err)
			}
			return 0, fmt.Errorf("%w: positions %d–%d: %w", errAheadFailed, rec.Position, last, err)
		}
		return last, nil
	}
	if err := e.p.Apply(ctx, tx, rec); err != nil {
		err = fmt.Errorf("projection %s: apply %s (stream %q version %d, position %d): %w",
			name, rec.Type, rec.StreamID, rec.Version, rec.Position, err)
		if sqldb.IsUnavailable(err) {
			// The database went away under the transaction (a restart, a
			// failover): nothing is wrong with the event, so it is retried
			// until the database is back, never poisoned (rule X-8).
			err = fmt.Errorf("%w: %w", watermill.ErrTransient, err)
		}
		return 0, err
	}
	reached := rec.Position
	for _, next := range ahead {
		if err := e.p.Apply(ctx, tx, next); err != nil {
			if sqldb.IsUnavailable(err) {
				return 0, fmt.Errorf("%w: projection %s: apply position %d: %w", watermill.ErrTransient, name, next.Position, err)
			}
			return 0, fmt.Errorf("%w: position %d: %w", errAheadFailed, next.Position, err)
		}
		reached = next.Position
	}
	return reached, nil
}

// checkpoint is a projection_checkpoints row.
type checkpoint struct {
	position  uint64
	updatedAt time.Time
	state     State
	failure   *Failure
}

const selectCheckpoint = `SELECT position, updated_at, status, error, failed_position, failed_stream, failed_version, failed_type
	FROM projection_checkpoints WHERE name = ?`

func scanCheckpoint(row projections.Row, name string) (checkpoint, error) {
	var (
		cp             checkpoint
		updated        int64
		status, reason string
		fPos, fVer     uint64
		fStream, fType string
	)
	err := row.Scan(&cp.position, &updated, &status, &reason, &fPos, &fStream, &fVer, &fType)
	if errors.Is(err, sql.ErrNoRows) {
		return checkpoint{state: StateLive}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("projection %s: read checkpoint: %w", name, err)
	}
	cp.updatedAt = time.UnixMicro(updated).UTC()
	cp.state = parseState(status)
	if cp.state == StateFailed {
		cp.failure = &Failure{Position: fPos, StreamID: fStream, Version: fVer, EventType: fType, Reason: reason}
	}
	return cp, nil
}

// lockCheckpoint reads name's checkpoint inside tx and holds it until the
// transaction ends, so that two processes applying the same projection
// take turns and each sees where the other left it. On SQLite every write
// transaction already holds the database's write lock from BEGIN.
func (r *Runtime) lockCheckpoint(ctx context.Context, tx *sqldb.Tx, name string) (checkpoint, error) {
	q := selectCheckpoint
	if r.db.Engine == sqldb.Postgres {
		q += " FOR UPDATE"
	}
	return scanCheckpoint(tx.QueryRowContext(ctx, r.db.Rebind(q), name), name)
}

func (r *Runtime) readCheckpoint(ctx context.Context, name string) (checkpoint, error) {
	return scanCheckpoint(r.db.QueryRowContext(ctx, r.db.Rebind(selectCheckpoint), name), name)
}

// Checkpoint implements watermill.Checkpoints: where consumer name
// resumes, and whether it is halted.
func (r *Runtime) Checkpoint(ctx context.Context, name string) (watermill.Checkpoint, error) {
	cp, err := r.readCheckpoint(ctx, name)
	if err != nil {
		return watermill.Checkpoint{}, err
	}
	return watermill.Checkpoint{Position: cp.position, Halted: cp.state == StateFailed}, nil
}

// Halt implements watermill.Halter: it marks projection name failed at
// rec, with cause as the reason, unless its checkpoint is already past rec
// (another process applied it). The projection applies nothing more until
// Resume or Rebuild.
func (r *Runtime) Halt(ctx context.Context, name string, rec event.Record, cause error) error {
	reason := cause.Error()
	now := r.cfg.Clock.Now().UnixMicro()
	_, err := r.db.ExecContext(ctx, r.db.Rebind(`INSERT INTO projection_checkpoints
		(name, position, updated_at, status, error, failed_position, failed_stream, failed_version, failed_type)
		VALUES (?, 0, ?, 'failed', ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at, status = 'failed', error = excluded.error,
			failed_position = excluded.failed_position, failed_stream = excluded.failed_stream,
			failed_version = excluded.failed_version, failed_type = excluded.failed_type
		WHERE projection_checkpoints.position < excluded.failed_position`),
		name, now, reason, rec.Position, rec.StreamID, rec.Version, rec.Type)
	if err != nil {
		return fmt.Errorf("projection %s: mark failed at position %d: %w", name, rec.Position, err)
	}
	if e, ok := r.byName[name]; ok {
		e.stopped.Store(nil) // read the checkpoint again: another process may have got past rec
	}
	r.cfg.Logger.Error("projection failed; it stops at the event until `ledger projections retry` or a rebuild; writes, reads that do not need it and the other projections go on",
		"projection", name, "position", rec.Position, "stream", rec.StreamID, "version", rec.Version,
		"event_type", rec.Type, "error", reason)
	r.progress.Broadcast() // WaitFor callers learn at once that waiting is pointless
	return nil
}

// Resume clears projection name's failure, so that its subscription
// retries the event it stopped at (within the subscriber's HaltedPoll).
// Resuming a projection that is not failed does nothing.
func (r *Runtime) Resume(ctx context.Context, name string) error {
	if _, err := r.entry(name); err != nil {
		return err
	}
	_, err := r.db.ExecContext(ctx, r.db.Rebind(`UPDATE projection_checkpoints SET status = 'live', error = '',
		failed_position = 0, failed_stream = '', failed_version = 0, failed_type = '', updated_at = ?
		WHERE name = ? AND status = 'failed'`), r.cfg.Clock.Now().UnixMicro(), name)
	if err != nil {
		return fmt.Errorf("projection %s: resume: %w", name, err)
	}
	r.byName[name].stopped.Store(nil)
	return nil
}
