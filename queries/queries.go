// Package queries is the read side's questions: one file per query, each
// with its result types, reading the read models the projections keep.
// Queries do not authorize: the caller asks the one policy
// (account.Authorize, from the account's events) first, and only then
// reads, so a lagging read model can never grant access.
package queries

import (
	"context"
	"database/sql"
	"time"
)

// DB is the read store: SQL with ? placeholders (the implementation adapts
// them to the engine), in the subset SQLite and PostgreSQL share.
type DB interface {
	Select(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	SelectRow(ctx context.Context, query string, args ...any) *sql.Row
}

// micros turns a stored Unix-microsecond time into a UTC time.
func micros(us int64) time.Time { return time.UnixMicro(us).UTC() }
