package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statements a DB keeps prepared; queries past it
// (built with varying text) run unprepared.
const maxPrepared = 512

// statements keeps SQLite's prepared statements by query text. The
// modernc driver parses and plans every statement it is given, which
// under load took a third of the server's CPU; a statement prepared once
// is parsed once per connection (database/sql prepares it again on each
// connection it runs on, and keeps it there). PostgreSQL needs none of
// this: pgx caches prepared statements per connection itself.
type statements struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns query prepared on db, or nil when it should run
// unprepared (not SQLite, or the cache is full).
func (db *DB) prepared(ctx context.Context, query string) *sql.Stmt {
	if db.Engine != SQLite {
		return nil
	}
	db.cache.mu.Lock()
	defer db.cache.mu.Unlock()
	if s, ok := db.cache.stmts[query]; ok {
		return s
	}
	if len(db.cache.stmts) >= maxPrepared {
		return nil
	}
	s, err := db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared; the error, if real, shows there
	}
	if db.cache.stmts == nil {
		db.cache.stmts = map[string]*sql.Stmt{}
	}
	db.cache.stmts[query] = s
	return s
}

// QueryContext runs a query, prepared once on SQLite.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := db.prepared(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row, prepared
// once on SQLite.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.prepared(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement, prepared once on SQLite. A statement run
// outside a transaction writes, and on SQLite it runs as a transaction of
// its own on the process's write connection, queued on the gate like
// every other write (see BeginTx): on a connection of the readers' pool
// it waited for the write lock in SQLite's busy handler, which polls, and
// its commit emptied the write connection's page cache.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.writes != nil {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		return res, tx.Commit()
	}
	if s := db.prepared(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction, prepared once on SQLite.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.db.prepared(ctx, query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction, prepared once
// on SQLite.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.db.prepared(ctx, query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement in the transaction, prepared once on SQLite.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.db.prepared(ctx, query); s != nil {
		return t.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}
