package projection

import (
	"context"
	"database/sql"

	"seatledger/infra/sqldb"
	"seatledger/projections"
)

// Statements is what WrapTx needs of a transaction (*sqldb.Tx or *sql.Tx):
// running statements, not ending it.
type Statements interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// WrapTx returns tx as the projections.Tx a projection (or a timer
// scheduler) writes through: ? placeholders are rebound for engine.
func WrapTx(tx Statements, engine sqldb.Engine) projections.Tx {
	return sqlTx{tx: tx, engine: engine}
}

type sqlTx struct {
	tx     Statements
	engine sqldb.Engine
}

func (t sqlTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, t.engine.Rebind(query), args...)
	return err
}

func (t sqlTx) QueryRow(ctx context.Context, query string, args ...any) projections.Row {
	return t.tx.QueryRowContext(ctx, t.engine.Rebind(query), args...)
}

func (t sqlTx) Query(ctx context.Context, query string, args ...any) (projections.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, t.engine.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}
