package sqldb

import (
	"context"
	"database/sql"

	"seatledger/projections"
)

// Statements is what ProjectionTx needs of a transaction (*Tx or *sql.Tx):
// running statements, not ending it.
type Statements interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ProjectionTx returns tx as the projections.Tx a projection (or a timer
// scheduler) writes through: ? placeholders are rebound for engine. It is
// here, below both, so that the projection runtime and an event store
// applying an inline projection share it.
func ProjectionTx(tx Statements, engine Engine) projections.Tx {
	return projectionTx{tx: tx, engine: engine}
}

type projectionTx struct {
	tx     Statements
	engine Engine
}

func (t projectionTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, t.engine.Rebind(query), args...)
	return err
}

func (t projectionTx) QueryRow(ctx context.Context, query string, args ...any) projections.Row {
	return t.tx.QueryRowContext(ctx, t.engine.Rebind(query), args...)
}

func (t projectionTx) Query(ctx context.Context, query string, args ...any) (projections.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, t.engine.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}
