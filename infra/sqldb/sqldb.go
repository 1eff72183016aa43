// Package sqldb opens the ledger's SQL database (SQLite or PostgreSQL)
// through database/sql, applies the embedded migrations with goose, and is
// the one place that knows how the two engines' SQL differs: placeholders.
// Read models are written in the SQL both engines share (ON CONFLICT … DO
// UPDATE works on both) with ? placeholders, and Rebind adapts them.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"seatledger/migrations"
)

// Engine names a SQL engine.
type Engine struct{ s string }

// The engines the ledger runs on.
var (
	SQLite   = Engine{"sqlite"}
	Postgres = Engine{"postgres"}
)

// String returns the engine's name.
func (e Engine) String() string { return e.s }

// Target is a parsed LEDGER_DATABASE_URL.
type Target struct {
	Engine Engine
	// DSN is the driver's connection string: a file path for SQLite, a
	// postgres:// URL for PostgreSQL.
	DSN string
}

// DefaultSQLitePath is where the ledger keeps its data when nothing is configured.
const DefaultSQLitePath = "./data/ledger.db"

// ParseURL reads a database setting: a postgres:// or postgresql:// URL, a
// sqlite:// URL or "sqlite:" path, or a plain file path (SQLite). Empty
// means the default SQLite file.
func ParseURL(raw string) (Target, error) {
	switch {
	case raw == "":
		return Target{Engine: SQLite, DSN: DefaultSQLitePath}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Target{}, fmt.Errorf("database URL is not a valid URL: %v", redactErr(err))
		}
		if u.Host == "" {
			return Target{}, fmt.Errorf("database URL %s names no host", Redact(raw))
		}
		return Target{Engine: Postgres, DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite://"):
		return sqliteTarget(strings.TrimPrefix(raw, "sqlite://"))
	case strings.HasPrefix(raw, "sqlite:"):
		return sqliteTarget(strings.TrimPrefix(raw, "sqlite:"))
	case strings.Contains(raw, "://"):
		return Target{}, fmt.Errorf("database URL %s: unsupported scheme (use postgres://… or a SQLite file path)", Redact(raw))
	}
	return sqliteTarget(raw)
}

func sqliteTarget(path string) (Target, error) {
	if path == "" {
		return Target{}, errors.New("database URL names no SQLite file")
	}
	if strings.ContainsAny(path, "?#") {
		return Target{}, fmt.Errorf("SQLite path %q: options are set by the ledger, not in the path", path)
	}
	return Target{Engine: SQLite, DSN: path}, nil
}

// Redacted names the target for messages: the file of a SQLite database,
// the URL of a PostgreSQL one without its password.
func (t Target) Redacted() string {
	if t.Engine == Postgres {
		return Redact(t.DSN)
	}
	return t.DSN
}

// Redact hides the password of a database URL, for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// DB is an open database with its engine.
type DB struct {
	*sql.DB
	Engine Engine
	// gate admits one transaction of this process at a time on SQLite;
	// nil on PostgreSQL. See BeginTx.
	gate  chan struct{}
	cache statements
	// writes begins every transaction on SQLite, durable or rebuildable,
	// on a pool of its own, so that the process writes through one
	// connection. Nil on PostgreSQL, and on writes itself.
	writes *writer
	// reconnect makes PostgreSQL connections wait out a failover; nil on SQLite.
	reconnect *reconnector
}

// writer is SQLite's write connection (see Open). Every transaction runs
// on it, so its page cache stays valid from one to the next: SQLite empties
// a connection's whole cache when another connection committed since its
// last transaction, and with the appends and the projections writing
// through connections of their own, each transaction read back the pages
// the other had just written (issue 21: a third of the page reads of a
// usage report). The gate lets one transaction run at a time anyway, so
// one connection costs no concurrency. Its synchronous setting, which
// SQLite refuses to change inside a transaction, is switched before BEGIN
// to what the transaction's commit needs.
type writer struct {
	// db is the writer's own pool: conn is taken from it, and the
	// transactions' prepared statements are its.
	db *DB
	// conn and synchronous (its setting, "FULL" or "NORMAL") are used
	// only under the gate.
	conn        *sql.Conn
	synchronous string
}

// Tx is a transaction begun by DB.BeginTx. Commit or Rollback it, never
// the embedded *sql.Tx: they also open the gate for the next transaction.
type Tx struct {
	*sql.Tx
	db      *DB
	release func()
}

// Commit commits the transaction.
func (t *Tx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

// Rollback abandons the transaction.
func (t *Tx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

// BeginTx starts a transaction. On SQLite every transaction is a write
// transaction (BEGIN IMMEDIATE, see SQLiteDSN), and only one can run at a
// time; the process's transactions therefore queue on an in-process gate
// first, where each is woken the moment the previous one ends, instead of
// in SQLite's busy handler, which polls with sleeps of up to 100 ms (we
// measured append p99 latencies of hundreds of milliseconds while a
// projection was writing). Other processes are still kept out by SQLite's
// own lock and busy timeout.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	if db.writes != nil {
		return db.writes.begin(ctx, opts, "FULL")
	}
	return db.begin(ctx, func() (*sql.Tx, error) { return db.DB.BeginTx(ctx, opts) })
}

// begin starts a transaction with start, behind the gate if there is one.
func (db *DB) begin(ctx context.Context, start func() (*sql.Tx, error)) (*Tx, error) {
	release := func() {}
	if db.gate != nil {
		select {
		case db.gate <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		release = sync.OnceFunc(func() { <-db.gate })
	}
	tx, err := start()
	if err != nil {
		release()
		return nil, err
	}
	return &Tx{Tx: tx, db: db, release: release}, nil
}

// begin starts a transaction on the write connection whose commit is
// synchronous (FULL: fsynced; NORMAL: see BeginRebuildable).
func (w *writer) begin(ctx context.Context, opts *sql.TxOptions, synchronous string) (*Tx, error) {
	return w.db.begin(ctx, func() (*sql.Tx, error) {
		if w.conn == nil {
			conn, err := w.db.DB.Conn(ctx)
			if err != nil {
				return nil, err
			}
			w.conn, w.synchronous = conn, "FULL" // SQLitePragmas'
		}
		if w.synchronous != synchronous {
			// Never cut short: a cancelled statement's answer does not say
			// whether it took effect, and a durable commit must know.
			if _, err := w.conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = "+synchronous); err != nil {
				w.synchronous = "" // unknown: set again before the next transaction
				w.drop(err)
				return nil, fmt.Errorf("sqldb: set synchronous=%s: %w", synchronous, err)
			}
			w.synchronous = synchronous
		}
		// BEGIN waits for another process's write lock and must end when
		// ctx does; the transaction after it must not. database/sql rolls a
		// transaction back on a goroutine of its own when BeginTx's context
		// ends, and the owner's Rollback would then return at once and open
		// the gate, so that rollback could land in the next transaction on
		// this connection. So BeginTx gets a context that ends with ctx only
		// until BEGIN is done; the owner ends the transaction, and ctx still
		// cuts its statements short.
		begun, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, cancel)
		tx, err := w.conn.BeginTx(begun, opts)
		if !stop() && err == nil {
			// ctx ended as BEGIN finished: database/sql is rolling the
			// transaction back. Closing the connection waits for that.
			_ = w.conn.Close()
			w.conn = nil
			return nil, ctx.Err()
		}
		w.drop(err)
		return tx, err
	})
}

// drop lets go of a connection database/sql found broken: the next
// transaction takes a new one.
func (w *writer) drop(err error) {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// closeWait bounds how long Close waits for a transaction still running.
const closeWait = 5 * time.Second

// close closes the write connection and its pool. The connection is
// closed between transactions (closing it under one would wait for that
// transaction for ever); if one is still running after closeWait, its
// connection is left to the process's end.
func (w *writer) close() {
	select {
	case w.db.gate <- struct{}{}:
		if w.conn != nil {
			_ = w.conn.Close()
			w.conn = nil
		}
		<-w.db.gate
	case <-time.After(closeWait):
	}
	_ = w.db.DB.Close()
}

// PrepareWrite prepares query for the transactions BeginTx and
// BeginRebuildable start (on SQLite, their connection is not the pool's
// that reads outside a transaction).
func (db *DB) PrepareWrite(ctx context.Context, query string) (*sql.Stmt, error) {
	if db.writes != nil {
		return db.writes.db.PrepareContext(ctx, query)
	}
	return db.PrepareContext(ctx, query)
}

// maxIdleConns is how many idle connections the pool keeps.
const maxIdleConns = 32

// Open opens the target through database/sql. SQLite gets the pragmas the
// ledger's durability promise rests on (see SQLitePragmas); its folder
// (mode 0700) and file (mode 0600) are created when missing, so that its
// files are private from the start (see CheckSQLitePermissions).
func Open(ctx context.Context, t Target) (*DB, error) {
	var (
		db        *sql.DB
		err       error
		reconnect *reconnector
	)
	switch t.Engine {
	case SQLite:
		if err := createSQLiteFiles(t.DSN); err != nil {
			return nil, err
		}
		db, err = sql.Open("sqlite", SQLiteDSN(t.DSN))
	case Postgres:
		if reconnect, err = newReconnector(t.DSN); err == nil {
			db = sql.OpenDB(reconnect)
		}
	default:
		return nil, fmt.Errorf("sqldb: unknown engine %q", t.Engine)
	}
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", t.Engine, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: connect to %s database: %w", t.Engine, err)
	}
	// Keep connections for concurrent readers instead of database/sql's
	// two: opening one costs a PostgreSQL backend, or SQLite's pragmas
	// parsed and run again, and under load the pool churned through them.
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	out := &DB{DB: db, Engine: t.Engine, reconnect: reconnect}
	if t.Engine == SQLite {
		w, err := sql.Open("sqlite", SQLiteDSN(t.DSN))
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("sqldb: open %s: %w", t.Engine, err)
		}
		// The write connection is held (sql.Conn); the pool's second one
		// serves database/sql's preparing of statements (sqldb's cache,
		// PrepareWrite), which takes a free connection, and the
		// transactions' connection then prepares each one its first time.
		w.SetMaxOpenConns(2)
		w.SetMaxIdleConns(2)
		w.SetConnMaxIdleTime(0)
		out.gate = make(chan struct{}, 1)
		out.writes = &writer{db: &DB{DB: w, Engine: SQLite, gate: out.gate}, synchronous: "FULL"}
	}
	return out, nil
}

// ErrNoLedger is matched by the errors of OpenExisting and CheckMigrated
// when the target holds no ledger: a SQLite file that does not exist, or
// a database whose tables were never created.
var ErrNoLedger = errors.New("no ledger database")

// OpenExisting opens the target as Open does, but only a SQLite file that
// exists: a reader of the ledger (the CLI's audit, export and
// reconciliation commands) must not create an empty database where it
// expected one, and then report what it does not hold as missing.
func OpenExisting(ctx context.Context, t Target) (*DB, error) {
	if t.Engine == SQLite {
		if _, err := os.Stat(t.DSN); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: the file does not exist (ledgerd creates it on its first start)", ErrNoLedger, t.DSN)
		} else if err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
	}
	return Open(ctx, t)
}

// Close closes the database's connections.
func (db *DB) Close() error {
	if db.writes != nil {
		db.writes.close()
	}
	return db.DB.Close()
}

// BeginRebuildable starts a write transaction whose commit need not be
// durable by itself: one that writes only what can be derived again from
// the log, such as a read model with its checkpoint. Its commit is atomic
// as any other, but returns without waiting for the disk (SQLite:
// synchronous=NORMAL, no fsync; PostgreSQL: synchronous_commit off), which
// halves the syncs while appends and projections share the disk.
//
// Nothing acknowledged can be lost by it: both engines write one
// sequential log (SQLite's WAL, PostgreSQL's WAL), so the next durable
// commit, such as the next append, makes the earlier relaxed commits
// durable too; a crash before that loses only the read model's latest
// progress, with its checkpoint, and the projection applies those events
// again.
func (db *DB) BeginRebuildable(ctx context.Context) (*Tx, error) {
	if db.writes != nil {
		return db.writes.begin(ctx, nil, "NORMAL")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if db.Engine == Postgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("sqldb: relax the commit: %w", err)
		}
	}
	return tx, nil
}

// SQLitePragmas are applied to every SQLite connection: WAL so readers
// never block the writer, synchronous=FULL so that a commit is on disk
// (fsynced) before it is acknowledged, a busy timeout so that a second
// process waits for the write lock instead of failing, and foreign keys.
// The WAL is checkpointed every 10,000 pages (about 40 MB) instead of
// SQLite's 1,000: appends to many streams dirty a leaf of the stream index
// per stream, the same hot pages again and again, and a checkpoint copies
// each page once however often it changed; measured, +13% appends/s.
var SQLitePragmas = []string{
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"busy_timeout(10000)",
	"foreign_keys(ON)",
	"wal_autocheckpoint(10000)",
}

// SQLiteDSN returns the modernc.org/sqlite connection string for path with
// SQLitePragmas and immediate transactions (a writer takes the write lock
// at BEGIN, so two writers never deadlock upgrading read locks).
func SQLiteDSN(path string) string {
	q := url.Values{}
	for _, p := range SQLitePragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Rebind turns a query written with ? placeholders into the engine's form
// ($1, $2 … on PostgreSQL). A ? inside a quoted string is left alone.
//
// The ledger's queries are constants run again and again (every
// projection statement of every event is rebound), so each is rewritten
// once and remembered; a query rebuilt for each call (an IN list of
// varying length) is still answered, but only the first maxRebound
// distinct queries are kept.
func (e Engine) Rebind(query string) string {
	if e != Postgres || strings.IndexByte(query, '?') < 0 {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	q := rebind(query)
	if reboundCount.Load() < maxRebound {
		if _, loaded := rebound.LoadOrStore(query, q); !loaded {
			reboundCount.Add(1)
		}
	}
	return q
}

// maxRebound bounds how many distinct queries Rebind remembers.
const maxRebound = 4096

var (
	rebound      sync.Map // query → its PostgreSQL form
	reboundCount atomic.Int64
)

// rebind numbers the placeholders of query outside quoted strings. It
// works on bytes: ? and ' are ASCII, which never occurs inside another
// character's UTF-8 encoding.
func rebind(query string) string {
	b := make([]byte, 0, len(query)+16)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(n), 10)
			continue
		}
		b = append(b, query[i])
	}
	return string(b)
}

// Rebind adapts query to db's engine.
func (db *DB) Rebind(query string) string { return db.Engine.Rebind(query) }

// Migrations returns the embedded migrations of engine.
func Migrations(e Engine) (fs.FS, goose.Dialect, error) {
	sub, err := fs.Sub(migrations.FS, e.String())
	if err != nil {
		return nil, "", err
	}
	if e == Postgres {
		return sub, goose.DialectPostgres, nil
	}
	return sub, goose.DialectSQLite3, nil
}

// Migrate applies every pending migration and returns how many it applied.
func Migrate(ctx context.Context, db *DB) (int, error) {
	p, err := provider(db)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("sqldb: migrate %s: %w", db.Engine, err)
	}
	return len(res), nil
}

// PendingMigrations reports how many migrations are not applied yet (for /readyz).
func PendingMigrations(ctx context.Context, db *DB) (int, error) {
	p, err := provider(db)
	if err != nil {
		return 0, err
	}
	status, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqldb: migration status: %w", err)
	}
	n := 0
	for _, s := range status {
		if s.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}

// migrationsTable is goose's record of the migrations applied.
const migrationsTable = "goose_db_version"

// CheckMigrated returns nil when every embedded migration is applied to
// db, and otherwise says what is missing without changing anything: a
// database whose tables were never created holds no ledger (ErrNoLedger),
// one that some migrations are missing from is older than this program.
// The error names db as t (its Redacted form).
func CheckMigrated(ctx context.Context, db *DB, t Target) error {
	query := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if db.Engine == Postgres {
		query = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?"
	}
	var tables int
	if err := db.QueryRowContext(ctx, db.Rebind(query), migrationsTable).Scan(&tables); err != nil {
		return fmt.Errorf("sqldb: read the migrations applied: %w", err)
	}
	if tables == 0 {
		return fmt.Errorf("%w at %s: it has none of the ledger's tables", ErrNoLedger, t.Redacted())
	}
	pending, err := PendingMigrations(ctx, db)
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("the database %s lacks %d migrations of this version: run ledger migrate, or start ledgerd, first", t.Redacted(), pending)
	}
	return nil
}

func provider(db *DB) (*goose.Provider, error) {
	fsys, dialect, err := Migrations(db.Engine)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(dialect, db.DB, fsys)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrations: %w", err)
	}
	return p, nil
}

var _ = stdlib.GetDefaultDriver // the "pgx" database/sql driver is registered by importing stdlib

// Select runs a query written with ? placeholders (queries.DB).
func (db *DB) Select(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(ctx, db.Rebind(query), args...)
}

// SelectRow runs a query written with ? placeholders that returns at most
// one row (queries.DB).
func (db *DB) SelectRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.QueryRowContext(ctx, db.Rebind(query), args...)
}

// Write runs one statement written with ? placeholders in a write
// transaction of its own (through BeginTx, so on SQLite it queues on the
// process's gate like every other writer).
func (db *DB) Write(ctx context.Context, query string, args ...any) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.Rebind(query), args...); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
