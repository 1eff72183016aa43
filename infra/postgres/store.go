// Package postgres is the ledger's event store on PostgreSQL, through pgx.
//
// Appends go through the group committer of package eventstore: the
// appends that arrive while one transaction commits share the next one.
// Each batch transaction locks the single log_head row first and holds the
// lock to COMMIT, so positions are allocated in commit order and run 1, 2,
// 3 … with no gaps, even with several processes appending to one database:
// a reader never sees position n+1 before n, and ReadAll is a plain range
// read (TestGapFreeOrder_stress is the proof). The price is that batches of
// all processes commit one after the other; within a process, group commit
// makes each of them carry every append that waited.
//
// A batch costs two round trips, each a pipeline of prepared statements:
// BEGIN, the lock and the reads of stream heads and stored event IDs; then
// the inserts, the log-head update, a NOTIFY and COMMIT. Subscriptions are woken by the committer in this process and,
// through that NOTIFY and a LISTEN connection, by the commits of every
// other process, with polling as the safety net.
package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
)

// Store is an eventstore.Store on a PostgreSQL database. Any number of
// Stores, in one process or many, may share a database.
type Store struct {
	pool      *pgxpool.Pool
	committer *eventstore.Committer
	batches   *backend
	listener  *listener
	poll      time.Duration
	failover  time.Duration

	closeOnce sync.Once
	closeErr  error
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, with pgxpool's pool_* parameters if wanted), applies the pending
// migrations, and starts the committer and the LISTEN connection. Close
// the store to release them.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse the database URL: %w", err) // pgx redacts the password
	}
	params := poolCfg.ConnConfig.RuntimeParams
	if _, set := params["idle_in_transaction_session_timeout"]; !set {
		// A process that stalls while it holds the append lock (stopped, or
		// cut off with its TCP session still open) would stop the writers of
		// every process; the server ends such a session after this long.
		params["idle_in_transaction_session_timeout"] = strconv.Itoa(int(lockHolderTimeout / time.Millisecond))
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection pool: %w", err)
	}
	s, err := start(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func start(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %w", pool.Config().ConnConfig.Database, err)
	}
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	l, err := newListener(ctx, pool.Config().ConnConfig)
	if err != nil {
		return nil, err
	}
	batches := &backend{pool: pool, beforeCommit: cfg.beforeCommit}
	committer, err := eventstore.NewCommitter(eventstore.CommitterConfig{
		Backend:        batches,
		Clock:          cfg.Clock,
		MaxBatchEvents: cfg.MaxBatchEvents,
		Observer:       cfg.Observer,
		OnCommit:       l.committed,
		RetryFor:       cfg.FailoverTimeout,
	})
	if err != nil {
		l.close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	l.start(committer.Notifier())
	return &Store{pool: pool, committer: committer, batches: batches, listener: l, poll: cfg.PollInterval, failover: cfg.FailoverTimeout}, nil
}

// lockHolderTimeout bounds how long a session may sit idle inside a
// transaction, and so how long a stalled process can hold the append lock.
// A live batch is idle only for the microseconds its decision takes.
const lockHolderTimeout = 30 * time.Second

// migrationLock is the key of the session advisory lock that serialises
// migrations, so that several processes starting at once on an empty
// database do not race to create the same tables.
const migrationLock int64 = 0x5ea7_1ed9_e400_0001

// migrate applies the embedded migrations through the pool, under
// migrationLock held on a connection of its own.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	lockConn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: connect to take the migration lock: %w", err)
	}
	defer lockConn.Close(context.WithoutCancel(ctx)) // closing the session releases the lock
	if _, err := lockConn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("postgres: take the migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool) // closing it leaves the pool open
	defer db.Close()
	if _, err := sqldb.Migrate(ctx, &sqldb.DB{DB: db, Engine: sqldb.Postgres}); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// SetInline makes ps the inline projections of the appends (see
// eventstore.Inline); none stops them.
func (s *Store) SetInline(ps ...eventstore.Inline) { s.committer.SetInline(ps...) }

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error) {
	return s.committer.Append(ctx, stream, expected, events...)
}

// recordColumns are the events columns in the order scanRecords reads them.
const recordColumns = `position, stream_id, version, event_id, type, schema_version, data,
	actor_kind, actor_id, command, correlation_id, causation_id, effective_at, recorded_at, hash`

const (
	sqlReadStream = `SELECT ` + recordColumns + ` FROM events
WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`
	sqlReadAll = `SELECT ` + recordColumns + ` FROM events
WHERE position > $1 ORDER BY position LIMIT $2`
	sqlHead = `SELECT position FROM log_head WHERE id = 1`
)

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error) {
	if limit <= 0 || from > math.MaxInt64 || !eventstore.NamesAStream(stream) {
		return nil, nil
	}
	var recs []event.Record
	err := s.again(ctx, func() error {
		rows, err := s.pool.Query(ctx, sqlReadStream, stream, int64(from), limit)
		if err != nil {
			return err
		}
		recs, err = scanRecords(rows, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream %q from version %d: %w", stream, from, err)
	}
	return recs, nil
}

// ReadTail implements eventstore.TailReader.
func (s *Store) ReadTail(after uint64, limit int) ([]event.Record, bool) {
	return s.committer.ReadTail(after, limit)
}

// ReadAll implements eventstore.Store. The log holds only committed
// batches in position order with no holes (see the package comment), so a
// plain range read never skips an event that commits later.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error) {
	if recs, ok := s.committer.Tail().Read(after, limit); ok {
		return recs, nil // just committed by this process: no need to ask the database
	}
	if limit <= 0 || after >= math.MaxInt64 {
		return nil, nil
	}
	var recs []event.Record
	err := s.again(ctx, func() error {
		rows, err := s.pool.Query(ctx, sqlReadAll, int64(after), limit)
		if err != nil {
			return err
		}
		recs, err = scanRecords(rows, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read the log after position %d: %w", after, err)
	}
	return recs, nil
}

// scanRecords reads rows of recordColumns and closes rows.
func scanRecords(rows pgx.Rows, limit int) ([]event.Record, error) {
	defer rows.Close()
	var out []event.Record
	var (
		position, version int64
		kind              string
		data              []byte
		effective         pgtype.Timestamptz
	)
	for rows.Next() {
		if len(out) == cap(out) {
			// Doubling, where append would grow a long page by a quarter at
			// a time, copies each record about once; starting small keeps
			// the frequent nearly empty reads of a live subscription cheap.
			out = slices.Grow(out, min(limit, max(16, 2*cap(out)))-len(out))
		}
		var r event.Record
		m := &r.Metadata
		if err := rows.Scan(&position, &r.StreamID, &version, &r.ID, &r.Type, &r.SchemaVersion, &data,
			&kind, &m.Actor.ID, &m.Command, &m.CorrelationID, &m.CausationID, &effective, &r.RecordedAt, &r.Hash); err != nil {
			return nil, err
		}
		r.Position, r.Version, r.Data = uint64(position), uint64(version), data
		data = nil // the next row's payload must not share this one's array
		var err error
		if m.Actor.Kind, err = event.ParseActorKind(kind); err != nil {
			return nil, fmt.Errorf("event at position %d: %w", r.Position, err)
		}
		if effective.Valid {
			m.EffectiveAt = effective.Time.UTC()
		}
		r.RecordedAt = r.RecordedAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	var head int64
	if err := s.again(ctx, func() error { return s.pool.QueryRow(ctx, sqlHead).Scan(&head) }); err != nil {
		return 0, fmt.Errorf("postgres: read the log head: %w", err)
	}
	return uint64(head), nil
}

// again runs read, and runs it again while it fails because the database
// is unavailable (a restart, a failover to the standby: the pool replaces
// the broken connections), for at most the failover timeout; a read has no
// effect, so trying it again is always safe. It then fails with
// eventstore.ErrUnavailable.
func (s *Store) again(ctx context.Context, read func() error) error {
	start := time.Now()
	for wait := readRetryMin; ; wait = min(2*wait, readRetryMax) {
		err := read()
		if err == nil || !sqldb.IsUnavailable(err) || ctx.Err() != nil {
			return err
		}
		if time.Since(start)+wait >= s.failover {
			return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// The waits between the tries of a read the database was unavailable for.
const (
	readRetryMin = 50 * time.Millisecond
	readRetryMax = time.Second
)

// Subscribe implements eventstore.Store. It is woken at once by commits of
// this Store and, through LISTEN, of every other Store on the database; it
// also reads the log every PollInterval in case a wake-up was lost (for
// example while the LISTEN connection was being re-established).
func (s *Store) Subscribe(ctx context.Context, after uint64, handle func(event.Record) error) error {
	return eventstore.Follow(ctx, s, s.committer.Notifier(), s.poll, after, handle)
}

// Close commits the appends already queued, then stops the LISTEN
// connection and closes the pool. Appends after Close return
// eventstore.ErrClosed; reads fail, and so do running subscriptions.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.committer.Close()
		s.listener.close()
		s.pool.Close()
		s.committer.Notifier().Broadcast() // subscriptions fail now rather than at their next poll
	})
	return s.closeErr
}
