package httpapi

import (
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/events"
	"seatledger/infra/clock"
	"seatledger/infra/commandstest"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// backOfficeCommands is a write side on an empty ledger, for the tests of
// back-office routes that call no use case: the back office is authorized
// by its roster (issue 23), which is empty, so the admin token bootstraps.
func backOfficeCommands(t *testing.T) *commands.Set {
	t.Helper()
	target := sqldbtest.SQLite(t)
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, err := storage.OpenStore(t.Context(), db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return commandstest.New(t, commands.Config{Store: store, Registry: events.Registry(), Clock: clk})
}
