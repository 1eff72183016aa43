package projection

import (
	"seatledger/infra/sqldb"
	"seatledger/projections"
)

// Statements is what WrapTx needs of a transaction (*sqldb.Tx or *sql.Tx):
// running statements, not ending it.
type Statements = sqldb.Statements

// WrapTx returns tx as the projections.Tx a projection (or a timer
// scheduler) writes through: ? placeholders are rebound for engine.
func WrapTx(tx Statements, engine sqldb.Engine) projections.Tx {
	return sqldb.ProjectionTx(tx, engine)
}
