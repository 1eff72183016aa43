package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
	"seatledger/projections"
)

// notifyChannel carries the log head after every commit to the LISTEN
// connections of every Store on the same database.
const notifyChannel = "seatledger_events"

// The statements of a batch, in pipeline order (see the package comment).
// pgx prepares each once per connection.
const (
	// Prepared statements get a generic plan after five runs, chosen with
	// the table sizes of that moment and kept until the next ANALYZE.
	// Planned on a young events table, the look-up of a batch's event IDs
	// is a sequential scan, and it would stay one as the table grows (we
	// saw it take 3 ms per batch after ten thousand events). Sequential
	// scans are costed out of the batch transaction instead: every plan
	// then uses the indexes, the right choice for tables of any size.
	sqlNoSeqScan = `SET LOCAL enable_seqscan = off`
	// The row lock is the append lock: held to commit, it makes positions
	// follow commit order, so a reader never sees position n+1 before n.
	// The reads after it take their snapshots once the lock is ours (READ
	// COMMITTED), so they see every batch committed before.
	sqlLockHead = `SELECT position, recorded_at FROM log_head WHERE id = 1 FOR UPDATE`
	// A stream's head is its last event (see the migration): one backward
	// probe of the (stream_id, version) index per stream.
	sqlStreamHeads = `SELECT s.id, e.version, e.hash FROM unnest($1::text[]) AS s(id)
CROSS JOIN LATERAL (SELECT version, hash FROM events WHERE stream_id = s.id ORDER BY version DESC LIMIT 1) AS e`
	sqlStoredIDs = `SELECT event_id, stream_id, version, position FROM events WHERE event_id = ANY($1::uuid[])`

	// The inline projection's checkpoint, locked after the append lock:
	// its runtime's transactions lock it too, so the two take turns and
	// each finds it where the other left it.
	sqlLockInline = `SELECT position, status FROM projection_checkpoints WHERE name = $1 FOR UPDATE`

	// CommitExpected's checks: the append lock, and the inline
	// checkpoints' locks, taken only if the row is as the committer
	// expects, else division by zero, which aborts the transaction. A
	// row locked by another transaction is checked again once that one
	// commits, as it is then.
	sqlExpectHead   = `SELECT 1 / count(*) FROM (SELECT 1 FROM log_head WHERE id = 1 AND position = $1 FOR UPDATE) AS expected`
	sqlExpectInline = `SELECT 1 / count(*) FROM (SELECT 1 FROM projection_checkpoints WHERE name = $1 AND position = $2 AND status = 'live' FOR UPDATE) AS expected`

	sqlMoveHead = `UPDATE log_head SET position = $1, recorded_at = $2 WHERE id = 1`
	// NOTIFY inside the transaction is delivered when, and only if, it commits.
	sqlNotify = `SELECT pg_notify('` + notifyChannel + `', $1)`
)

// Event rows are written by multi-row INSERT … VALUES statements of a few
// fixed sizes, 1 to maxInsertRows rows in powers of two, the unused rows of
// the smallest size that fits padded with NULLs and filtered out. Measured
// with BenchmarkInsertRows on PostgreSQL 15, for 1 to 16 rows VALUES takes
// half the server time of INSERT … SELECT FROM unnest (one array per
// column), and unlike COPY it travels in the commit's pipeline instead of
// costing round trips of its own; at 64 rows the three are alike. A
// statement per exact size would save the padding, but each size is a
// prepared statement with a cached plan on every connection: sizes 1 to 64
// would hold 10 MB of plans per connection, these seven under 2 MB.
const maxInsertRows = 64

// eventColumnTypes are the SQL types of recordColumns, which the padded
// VALUES rows name because they are not inserted directly.
var eventColumnTypes = []string{"bigint", "text", "bigint", "uuid", "text", "integer", "bytea",
	"text", "text", "text", "text", "text", "timestamptz", "timestamptz", "bytea"}

// sqlInsertEvents holds the insert statement for each power-of-two size.
var sqlInsertEvents = func() map[int]string {
	out := map[int]string{}
	for rows := 1; rows <= maxInsertRows; rows *= 2 {
		var b strings.Builder
		b.WriteString("INSERT INTO events (" + recordColumns + ")\nSELECT * FROM (VALUES ")
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, typ := range eventColumnTypes {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "$%d::%s", i*len(eventColumnTypes)+j+1, typ)
			}
			b.WriteByte(')')
		}
		b.WriteString(") AS v WHERE v.column1 IS NOT NULL") // column1 is position: NULL only in padding
		out[rows] = b.String()
	}
	return out
}()

// queueInsertEvents queues the statements that insert records, in chunks
// of at most maxInsertRows.
func queueInsertEvents(b *pgx.Batch, records []event.Record) {
	for len(records) > 0 {
		chunk := records[:min(len(records), maxInsertRows)]
		records = records[len(chunk):]
		rows := 1
		for rows < len(chunk) {
			rows *= 2
		}
		args := make([]any, 0, rows*len(eventColumnTypes))
		for _, r := range chunk {
			m := r.Metadata
			var effective any // NULL: effective when recorded
			if !m.EffectiveAt.IsZero() {
				effective = m.EffectiveAt
			}
			args = append(args, int64(r.Position), r.StreamID, int64(r.Version), r.ID, r.Type, r.SchemaVersion, []byte(r.Data),
				m.Actor.Kind.String(), m.Actor.ID, m.Command, m.CorrelationID, m.CausationID, effective, r.RecordedAt, r.Hash)
		}
		args = args[:cap(args)] // the padding rows: all NULL
		b.Queue(sqlInsertEvents[rows], args...)
	}
}

// backend is the committer's view of the database.
type backend struct {
	pool         *pgxpool.Pool
	beforeCommit func()
	expected     atomic.Int64 // batches committed by CommitExpected
}

var _ eventstore.ExpectingBackend = (*backend)(nil)

// BeginBatch reserves a connection; the transaction itself begins in the
// same round trip as Load's reads.
func (b *backend) BeginBatch(ctx context.Context, inline []string) (eventstore.BatchTx, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, unavailable(fmt.Errorf("postgres: acquire a connection for an append batch: %w", err))
	}
	return &batchTx{conn: conn, beforeCommit: b.beforeCommit, inline: inline}, nil
}

// batchTx is one batch's transaction on a connection of its own. The
// transaction is driven by BEGIN and COMMIT statements inside pipelines
// rather than pgx.Tx, whose Commit would cost one more round trip.
type batchTx struct {
	conn         *pgxpool.Conn // nil once released
	locked       bool          // BEGIN and the append lock are done
	head         uint64        // the log head read under the lock
	recordedAt   time.Time     // and its recorded time
	beforeCommit func()
	inline       []string                      // the inline projections' checkpoint names
	inlineAt     []eventstore.InlineCheckpoint // and the checkpoints read under the lock
}

// Load implements eventstore.BatchTx. The first call begins the
// transaction and takes the append lock in the same pipeline as its reads;
// a second call (the committer's, for streams it had cached) only reads.
// An empty list of streams or IDs costs no statement.
func (tx *batchTx) Load(ctx context.Context, streams []string, ids []string) (eventstore.LogState, error) {
	if tx.conn == nil {
		return eventstore.LogState{}, errors.New("postgres: load: batch is finished")
	}
	state := eventstore.LogState{
		Streams: make(map[string]eventstore.StreamHead, len(streams)),
		Stored:  map[string]eventstore.StoredID{},
	}
	b := &pgx.Batch{}
	if !tx.locked {
		b.Queue("begin")
		b.Queue(sqlNoSeqScan)
		b.Queue(sqlLockHead).QueryRow(func(row pgx.Row) error {
			var head int64
			if err := row.Scan(&head, &tx.recordedAt); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return errors.New("the log_head row is missing: the schema is not migrated")
				}
				return err
			}
			tx.head, tx.recordedAt, tx.locked = uint64(head), tx.recordedAt.UTC(), true
			return nil
		})
		tx.inlineAt = make([]eventstore.InlineCheckpoint, len(tx.inline))
		for i, name := range tx.inline {
			b.Queue(sqlLockInline, name).QueryRow(func(row pgx.Row) error {
				var (
					position int64
					status   string
				)
				switch err := row.Scan(&position, &status); {
				case errors.Is(err, pgx.ErrNoRows):
					return nil // no runtime created it yet: not live
				case err != nil:
					return err
				}
				tx.inlineAt[i] = eventstore.InlineCheckpoint{Position: uint64(position), Live: status == "live"}
				return nil
			})
		}
	}
	if len(streams) > 0 {
		b.Queue(sqlStreamHeads, streams).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var (
					h       eventstore.StreamHead
					version int64
				)
				if err := rows.Scan(&h.StreamID, &version, &h.Hash); err != nil {
					return err
				}
				h.Version = uint64(version)
				state.Streams[h.StreamID] = h
			}
			return rows.Err()
		})
	}
	if len(ids) > 0 {
		b.Queue(sqlStoredIDs, ids).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var (
					id                string
					s                 eventstore.StoredID
					version, position int64
				)
				if err := rows.Scan(&id, &s.StreamID, &version, &position); err != nil {
					return err
				}
				s.Version, s.Position = uint64(version), uint64(position)
				state.Stored[id] = s
			}
			return rows.Err()
		})
	}
	if b.Len() > 0 {
		if err := tx.conn.SendBatch(ctx, b).Close(); err != nil {
			return eventstore.LogState{}, unavailable(fmt.Errorf("postgres: lock the log head and load %d streams, %d event IDs: %w", len(streams), len(ids), err))
		}
	}
	state.Head, state.LastRecordedAt, state.Inline = tx.head, tx.recordedAt, tx.inlineAt
	return state, nil
}

// Commit implements eventstore.BatchTx. Stream heads move with the records
// themselves: a stream's head is its last event. Every statement is sent
// before any answer is read, so an invariant must be enforced by the server (primary
// keys, unique constraints) to stop the COMMIT: after an error the server
// skips the rest of the pipeline and the transaction stays aborted until
// Rollback.
func (tx *batchTx) Commit(ctx context.Context, records []event.Record, _ []eventstore.StreamHead, inline func(projections.Tx) error) error {
	if tx.conn == nil {
		return errors.New("postgres: commit: batch is finished")
	}
	if tx.beforeCommit != nil {
		tx.beforeCommit()
	}
	if len(records) == 0 {
		return errors.New("postgres: commit: no records")
	}
	b := &pgx.Batch{}
	if err := tx.commit(ctx, b, records, inline, false); err != nil {
		return err
	}
	tx.release()
	return nil
}

// commit queues on b the statements that write records and run inline,
// and COMMIT, and sends them (with whatever b held before) in one
// pipeline. expected says the pipeline holds CommitExpected's checks,
// whose failure is eventstore.ErrStale.
func (tx *batchTx) commit(ctx context.Context, b *pgx.Batch, records []event.Record, inline func(projections.Tx) error, expected bool) error {
	last := records[len(records)-1]
	queueInsertEvents(b, records)
	b.Queue(sqlMoveHead, int64(last.Position), last.RecordedAt)
	if inline != nil {
		if err := inline(pipelineTx{b}); err != nil {
			return fmt.Errorf("postgres: inline projection: %w", err)
		}
	}
	b.Queue(sqlNotify, strconv.FormatUint(last.Position, 10))
	var committed bool
	b.Queue("commit").Exec(func(tag pgconn.CommandTag) error {
		// COMMIT of an aborted transaction answers ROLLBACK, not an error.
		committed = tag.String() == "COMMIT"
		return nil
	})
	if err := tx.conn.SendBatch(ctx, b).Close(); err != nil {
		if expected && stale(err) {
			return fmt.Errorf("%w: %w", eventstore.ErrStale, err)
		}
		// Lost with the connection, the COMMIT may or may not have been
		// carried out: the committer retries with every event ID looked up.
		return unavailable(fmt.Errorf("postgres: commit positions %d–%d: %w", records[0].Position, last.Position, err))
	}
	if !committed {
		return fmt.Errorf("postgres: commit positions %d–%d: the transaction was rolled back", records[0].Position, last.Position)
	}
	return nil
}

// CommitExpected implements eventstore.ExpectingBackend: BEGIN, the
// append lock taken only if the log head is still head, each inline
// checkpoint's lock only if it is live at head, then what Commit sends,
// in one pipeline. A failed check divides by zero, which aborts the
// transaction: the rest of the pipeline is skipped and nothing is written.
func (b *backend) CommitExpected(ctx context.Context, head uint64, inline []string, records []event.Record, _ []eventstore.StreamHead,
	apply func(projections.Tx) error) error {
	if len(records) == 0 {
		return errors.New("postgres: commit: no records")
	}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return unavailable(fmt.Errorf("postgres: acquire a connection for an append batch: %w", err))
	}
	tx := &batchTx{conn: conn, beforeCommit: b.beforeCommit}
	defer tx.Rollback(ctx) //nolint:errcheck // released already after a commit; a failed one is rolled back
	if tx.beforeCommit != nil {
		tx.beforeCommit()
	}
	p := &pgx.Batch{}
	p.Queue("begin")
	p.Queue(sqlNoSeqScan)
	p.Queue(sqlExpectHead, int64(head))
	for _, name := range inline {
		p.Queue(sqlExpectInline, name, int64(head))
	}
	if err := tx.commit(ctx, p, records, apply, true); err != nil {
		return err
	}
	tx.release()
	b.expected.Add(1)
	return nil
}

// stale says whether err is a refusal of CommitExpected's: a check that
// failed (division by zero), or a unique key broken by a record (an event
// ID or a stream version already stored).
func stale(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "22012" || pgErr.Code == "23505")
}

// Rollback implements eventstore.BatchTx. A connection whose state is in
// doubt is closed by the pool on release rather than reused.
func (tx *batchTx) Rollback(ctx context.Context) error {
	if tx.conn == nil {
		return nil
	}
	defer tx.release()
	pg := tx.conn.Conn().PgConn()
	if pg.IsClosed() || pg.TxStatus() == 'I' {
		return nil
	}
	if _, err := tx.conn.Exec(ctx, "rollback"); err != nil {
		return fmt.Errorf("postgres: roll back an append batch: %w", err)
	}
	return nil
}

// unavailable marks err as eventstore.ErrUnavailable when it says the
// database was unreachable or lost, so that the committer retries.
func unavailable(err error) error {
	if sqldb.IsUnavailable(err) {
		return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
	}
	return err
}

func (tx *batchTx) release() {
	tx.conn.Release()
	tx.conn = nil
}

// pipelineTx is the projections.Tx an inline projection writes through on
// PostgreSQL: its statements join the commit's pipeline, so they cost no
// round trip of their own, and an error among them stops the COMMIT. It
// only writes: a read's answer would come after the commit.
type pipelineTx struct{ b *pgx.Batch }

var errPipelineRead = errors.New("postgres: an inline projection cannot read: its statements run in the commit's pipeline")

func (t pipelineTx) Exec(_ context.Context, query string, args ...any) error {
	t.b.Queue(sqldb.Postgres.Rebind(query), args...)
	return nil
}

func (t pipelineTx) QueryRow(context.Context, string, ...any) projections.Row { return failedRow{} }

func (t pipelineTx) Query(context.Context, string, ...any) (projections.Rows, error) {
	return nil, errPipelineRead
}

type failedRow struct{}

func (failedRow) Scan(...any) error { return errPipelineRead }
