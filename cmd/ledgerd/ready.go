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
