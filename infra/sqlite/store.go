// Package sqlite is the embedded event store: the whole log in one SQLite
// file (modernc.org/sqlite, no cgo), the ledger's default when nothing is
// configured.
//
// Durability: the file runs in WAL mode with synchronous=FULL, so an append
// is acknowledged only after its transaction is fsynced to the WAL; it
// survives a crash of the process and of the machine. Concurrent appends are
// coalesced by the group committer into one transaction (one fsync) per batch.
// Positions are allocated by the single writer inside its transaction, so
// they are gap-free and in commit order.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
	"seatledger/projections"
)

// Config configures a Store.
type Config struct {
	// Clock stamps recorded times. Required.
	Clock clock.Clock
	// Observer, if set, is told about every committed batch.
	Observer eventstore.CommitObserver
	// MaxBatchEvents caps the events of one transaction (default 1024).
	MaxBatchEvents int
	// PollInterval is how often a subscription looks for appends made by
	// another process on the same file (default 500ms). Appends through this
	// Store wake subscriptions at once.
	PollInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	if c.Clock == nil {
		return errors.New("sqlite: config needs a clock")
	}
	return nil
}

// Store is the SQLite event store. It shares its *sqldb.DB with the read
// models kept in the same file.
type Store struct {
	db        *sqldb.DB
	cfg       Config
	committer *eventstore.Committer
	writes    *writeStatements
	batches   *batchBackend
}

var (
	_ eventstore.Store            = (*Store)(nil)
	_ eventstore.ExpectingBackend = (*batchBackend)(nil)
)

// Open returns a store on db, which must be a migrated SQLite database.
// Closing the store does not close db.
func Open(ctx context.Context, db *sqldb.DB, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db.Engine != sqldb.SQLite {
		return nil, fmt.Errorf("sqlite: database is %s, not SQLite", db.Engine)
	}
	cfg.setDefaults()
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	writes, err := prepareWrites(ctx, db)
	if err != nil {
		return nil, err
	}
	batches := &batchBackend{db: db, stmts: writes}
	s := &Store{db: db, cfg: cfg, writes: writes, batches: batches}
	committer, err := eventstore.NewCommitter(eventstore.CommitterConfig{
		Backend: batches, Clock: cfg.Clock, MaxBatchEvents: cfg.MaxBatchEvents, Observer: cfg.Observer,
	})
	if err != nil {
		writes.close()
		return nil, err
	}
	s.committer = committer
	return s, nil
}

// SetInline makes ps the inline projections of the appends (see
// eventstore.Inline); none stops them.
func (s *Store) SetInline(ps ...eventstore.Inline) { s.committer.SetInline(ps...) }

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error) {
	return s.committer.Append(ctx, stream, expected, events...)
}

// Close finishes queued appends. It leaves the database open.
func (s *Store) Close() error {
	err := s.committer.Close()
	s.writes.close()
	return err
}

// Subscribe implements eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, after uint64, handle func(event.Record) error) error {
	return eventstore.Follow(ctx, s, s.committer.Notifier(), s.cfg.PollInterval, after, handle)
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	var head uint64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&head); err != nil {
		return 0, fmt.Errorf("sqlite: read log head: %w", err)
	}
	return head, nil
}

const selectEvents = `SELECT position, stream_id, version, event_id, type, schema_version, data,
	actor_kind, actor_id, command, correlation_id, causation_id, effective_at, recorded_at, hash FROM events `

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error) {
	if !eventstore.NamesAStream(stream) {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, selectEvents+`WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?`, stream, from, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read stream %q: %w", stream, err)
	}
	return scanRecords(rows)
}

// ReadTail implements eventstore.TailReader.
func (s *Store) ReadTail(after uint64, limit int) ([]event.Record, bool) {
	return s.committer.ReadTail(after, limit)
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error) {
	if recs, ok := s.committer.Tail().Read(after, limit); ok {
		return recs, nil // just committed by this process: no need to ask the database
	}
	rows, err := s.db.QueryContext(ctx, selectEvents+`WHERE position > ? ORDER BY position LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read log after %d: %w", after, err)
	}
	return scanRecords(rows)
}

func scanRecords(rows *sql.Rows) ([]event.Record, error) {
	defer rows.Close()
	var out []event.Record
	for rows.Next() {
		var (
			r         event.Record
			actorKind string
			effective sql.NullInt64
			recorded  int64
		)
		if err := rows.Scan(&r.Position, &r.StreamID, &r.Version, &r.ID, &r.Type, &r.SchemaVersion, &r.Data,
			&actorKind, &r.Metadata.Actor.ID, &r.Metadata.Command, &r.Metadata.CorrelationID, &r.Metadata.CausationID,
			&effective, &recorded, &r.Hash); err != nil {
			return nil, fmt.Errorf("sqlite: scan event: %w", err)
		}
		kind, err := event.ParseActorKind(actorKind)
		if err != nil {
			return nil, fmt.Errorf("sqlite: stream %q version %d: %w", r.StreamID, r.Version, err)
		}
		r.Metadata.Actor.Kind = kind
		if effective.Valid {
			r.Metadata.EffectiveAt = fromMicros(effective.Int64)
		}
		r.RecordedAt = fromMicros(recorded)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	return out, nil
}

func toMicros(t time.Time) int64    { return t.UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// writeStatements are the append path's statements, prepared once: with
// modernc.org/sqlite, compiling a statement costs more than running it, and
// database/sql would otherwise compile each one on every batch. Their SQL
// text is fixed (lists are passed as one JSON array through json_each), so
// each is prepared once per connection and reused.
//
// The events are inserted one row per statement. A multi-row INSERT was
// measured (issue 21) and saved nothing: SQLite keeps a statement journal
// for a statement that writes many rows and may fail on a unique key, and
// a batch's rows dirty enough pages for it to spill to a file, which cost
// more writes than the executions it saved.
type writeStatements struct {
	head, streams, ids, insert, checkpoint *sql.Stmt
}

func prepareWrites(ctx context.Context, db *sqldb.DB) (*writeStatements, error) {
	w := &writeStatements{}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.head, `SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1`},
		{&w.streams, `SELECT e.stream_id, e.version, e.hash FROM json_each(?) AS s JOIN events AS e
			ON e.stream_id = s.value AND e.version = (SELECT MAX(version) FROM events WHERE stream_id = s.value)`},
		{&w.ids, `SELECT event_id, stream_id, version, position FROM events WHERE event_id IN (SELECT value FROM json_each(?))`},
		{&w.insert, `INSERT INTO events (position, stream_id, version, event_id, type, schema_version, data,
			actor_kind, actor_id, command, correlation_id, causation_id, effective_at, recorded_at, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.checkpoint, `SELECT position, status FROM projection_checkpoints WHERE name = ?`},
	} {
		stmt, err := db.PrepareWrite(ctx, p.query)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("sqlite: prepare %q: %w", strings.Fields(p.query)[0], err)
		}
		*p.dst = stmt
	}
	return w, nil
}

func (w *writeStatements) close() {
	for _, s := range []*sql.Stmt{w.head, w.streams, w.ids, w.insert, w.checkpoint} {
		if s != nil {
			s.Close()
		}
	}
}

// batchBackend runs the group committer's batches as immediate
// transactions: BEGIN IMMEDIATE takes SQLite's write lock at once, and it
// is held to COMMIT, which is the append lock the committer relies on.
type batchBackend struct {
	db       *sqldb.DB
	stmts    *writeStatements
	expected atomic.Int64 // batches committed by CommitExpected
}

func (b *batchBackend) BeginBatch(ctx context.Context, inline []string) (eventstore.BatchTx, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin append: %w", err)
	}
	return &batchTx{tx: tx, stmts: b.stmts, inline: inline}, nil
}

type batchTx struct {
	tx     *sqldb.Tx
	stmts  *writeStatements
	inline []string // the inline projections' checkpoints, read by the first Load
}

func (b *batchTx) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt { return b.tx.StmtContext(ctx, s) }

func jsonList(ss []string) (string, error) {
	b, err := json.Marshal(ss)
	return string(b), err
}

func (b *batchTx) Load(ctx context.Context, streams, ids []string) (eventstore.LogState, error) {
	ctx = context.WithoutCancel(ctx) // under the write lock: see write
	state := eventstore.LogState{Streams: map[string]eventstore.StreamHead{}, Stored: map[string]eventstore.StoredID{}}
	var recorded int64
	switch err := b.stmt(ctx, b.stmts.head).QueryRowContext(ctx).Scan(&state.Head, &recorded); {
	case errors.Is(err, sql.ErrNoRows): // an empty log
	case err != nil:
		return state, fmt.Errorf("sqlite: read log head: %w", err)
	}
	state.LastRecordedAt = fromMicros(recorded)
	for _, name := range b.inline {
		cp, err := b.loadInline(ctx, name)
		if err != nil {
			return state, err
		}
		state.Inline = append(state.Inline, cp)
	}
	b.inline = nil
	streamList, err := jsonList(streams)
	if err != nil {
		return state, err
	}
	rows, err := b.stmt(ctx, b.stmts.streams).QueryContext(ctx, streamList)
	if err != nil {
		return state, fmt.Errorf("sqlite: read stream heads: %w", err)
	}
	for rows.Next() {
		var h eventstore.StreamHead
		if err := rows.Scan(&h.StreamID, &h.Version, &h.Hash); err != nil {
			rows.Close()
			return state, fmt.Errorf("sqlite: scan stream head: %w", err)
		}
		state.Streams[h.StreamID] = h
	}
	if err := closeRows(rows); err != nil {
		return state, err
	}
	idList, err := jsonList(ids)
	if err != nil {
		return state, err
	}
	rows, err = b.stmt(ctx, b.stmts.ids).QueryContext(ctx, idList)
	if err != nil {
		return state, fmt.Errorf("sqlite: look up event IDs: %w", err)
	}
	for rows.Next() {
		var (
			id string
			s  eventstore.StoredID
		)
		if err := rows.Scan(&id, &s.StreamID, &s.Version, &s.Position); err != nil {
			rows.Close()
			return state, fmt.Errorf("sqlite: scan event ID: %w", err)
		}
		state.Stored[id] = s
	}
	return state, closeRows(rows)
}

// loadInline reads inline projection name's checkpoint. The transaction
// holds SQLite's write lock, so it stays as read until the commit.
func (b *batchTx) loadInline(ctx context.Context, name string) (eventstore.InlineCheckpoint, error) {
	var (
		cp     eventstore.InlineCheckpoint
		status string
	)
	switch err := b.stmt(ctx, b.stmts.checkpoint).QueryRowContext(ctx, name).Scan(&cp.Position, &status); {
	case errors.Is(err, sql.ErrNoRows):
		return cp, nil // no runtime created it yet: not live
	case err != nil:
		return cp, fmt.Errorf("sqlite: read checkpoint of %s: %w", name, err)
	}
	cp.Live = status == "live"
	return cp, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: read: %w", err)
	}
	return nil
}

// Commit stores the records. Stream and log heads need no writing: they
// are read back from the events themselves.
func (b *batchTx) Commit(ctx context.Context, records []event.Record, _ []eventstore.StreamHead, inline func(projections.Tx) error) error {
	if err := b.write(ctx, records, inline); err != nil {
		return err
	}
	if err := b.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// write inserts records and runs inline, in the transaction. Its
// statements run under a context that is never done: the transaction
// holds SQLite's write lock since BEGIN IMMEDIATE, so they wait for
// nothing but the disk, which an interrupt cannot hurry either; and
// modernc.org/sqlite watches each statement's cancellable context with a
// goroutine of its own (issue 21: some 35 per batch of usage reports).
// The batch's deadline still bounds BEGIN, which may wait for another
// process's lock.
func (b *batchTx) write(ctx context.Context, records []event.Record, inline func(projections.Tx) error) error {
	ctx = context.WithoutCancel(ctx)
	insert := b.stmt(ctx, b.stmts.insert)
	for _, r := range records {
		var effective any
		if !r.Metadata.EffectiveAt.IsZero() {
			effective = toMicros(r.Metadata.EffectiveAt)
		}
		if _, err := insert.ExecContext(ctx, r.Position, r.StreamID, r.Version, r.ID, r.Type, r.SchemaVersion, []byte(r.Data),
			r.Metadata.Actor.Kind.String(), r.Metadata.Actor.ID, r.Metadata.Command, r.Metadata.CorrelationID, r.Metadata.CausationID,
			effective, toMicros(r.RecordedAt), r.Hash); err != nil {
			return fmt.Errorf("sqlite: insert %q version %d: %w", r.StreamID, r.Version, err)
		}
	}
	if inline != nil {
		if err := inline(sqldb.ProjectionTx(uninterrupted{b.tx}, sqldb.SQLite)); err != nil {
			return fmt.Errorf("sqlite: inline projection: %w", err)
		}
	}
	return nil
}

// uninterrupted runs an inline projection's statements as write runs its
// own: under a context that is never done.
type uninterrupted struct{ tx *sqldb.Tx }

func (u uninterrupted) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (u uninterrupted) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

func (u uninterrupted) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

// CommitExpected implements eventstore.ExpectingBackend: under the write
// lock, it checks the log head and the inline checkpoints (two or three
// reads of one row each) instead of Load's reads of every stream's head
// and event ID, then writes as Commit does. The committer's knowledge of
// the streams is exact while nothing but this process appended since its
// last batch, which the head tells: positions are gap-free, and an append
// by another process moves it. A record whose event ID is stored already
// (a retry) breaks the unique key; the batch is then abandoned as stale.
func (b *batchBackend) CommitExpected(ctx context.Context, head uint64, inline []string, records []event.Record, _ []eventstore.StreamHead,
	apply func(projections.Tx) error) error {
	if len(records) == 0 {
		return errors.New("sqlite: commit: no records")
	}
	btx, err := b.BeginBatch(ctx, nil)
	if err != nil {
		return err
	}
	tx := btx.(*batchTx)
	defer tx.Rollback(ctx) //nolint:errcheck // after a commit there is nothing to roll back
	quiet := context.WithoutCancel(ctx)
	var (
		at       uint64
		recorded int64
	)
	if err := tx.stmt(quiet, b.stmts.head).QueryRowContext(quiet).Scan(&at, &recorded); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: read log head: %w", err)
	}
	if at != head {
		return eventstore.ErrStale
	}
	for _, name := range inline {
		cp, err := tx.loadInline(quiet, name)
		if err != nil {
			return err
		}
		if !cp.Live || cp.Position != head {
			return eventstore.ErrStale
		}
	}
	if err := tx.write(ctx, records, apply); err != nil {
		if stored(err) {
			return fmt.Errorf("%w: %w", eventstore.ErrStale, err)
		}
		return err
	}
	if err := tx.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	b.expected.Add(1)
	return nil
}

// stored says whether err is a unique key a record broke: its event ID,
// or its stream's version, is stored already.
func stored(err error) bool {
	var e *modernc.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (b *batchTx) Rollback(context.Context) error {
	if err := b.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("sqlite: rollback: %w", err)
	}
	return nil
}
