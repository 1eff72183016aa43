package main

import (
	"context"
	"fmt"

	"seatledger/infra/httpapi"
	"seatledger/infra/sqldb"
)

// databaseChecks are the readiness checks of the database: it answers, and
// its schema is the one this binary expects (a node started during a
// deploy whose migrations have not run must not take traffic).
//
// HOOK(projections): the projections check comes from the runtime's
// status, along the lines of
//
//	func projectionLag(rt *projection.Runtime) httpapi.ProjectionLagFunc {
//		return func(ctx context.Context) (map[string]uint64, error) {
//			statuses, err := rt.Status(ctx)
//			if err != nil {
//				return nil, err
//			}
//			lag := make(map[string]uint64, len(statuses))
//			for _, s := range statuses {
//				lag[s.Name] = s.Lag
//			}
//			return lag, nil
//		}
//	}
func databaseChecks(db *sqldb.DB) []httpapi.Check {
	return []httpapi.Check{
		{Name: "database", Run: db.PingContext},
		{Name: "migrations", Run: func(ctx context.Context) error {
			n, err := sqldb.PendingMigrations(ctx, db)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%d migrations pending; run `ledger migrate` or restart ledgerd", n)
			}
			return nil
		}},
	}
}
