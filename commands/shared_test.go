package commands_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/installation"
	"seatledger/infra/clock"
	"seatledger/infra/commandstest"
	"seatledger/infra/passwords"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// twoProcesses returns the write sides of two processes on one database, each with a
// store of its own, as two ledgerd processes have: each keeps its own
// cache of aggregates.
func twoProcesses(t *testing.T, target sqldb.Target) (a, b *commands.Set, clk *clock.Simulated) {
	t.Helper()
	clk = clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	open := func() *commands.Set {
		db := sqldbtest.Open(t, target)
		store, err := storage.OpenStore(context.Background(), db, storage.Options{Database: target, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return newSet(t, commands.Config{Store: store, Registry: registry(), Clock: clk,
			Passwords: passwords.Policy{Hasher: hasher}, Tokens: linkKey, Keys: keys})
	}
	return open(), open(), clk
}

// Rule X-8 (with ACT-7, ACT-8, X-4): each process decides on installations
// from its cache, a hint checked by the exact-version append. Reports sent
// to either process in turn are all recorded; a retry through the other
// process is recorded once; once one process deactivated the installation,
// the other refuses its reports, though its cache still held it active.
func TestInstallations_reported_through_two_processes_X8_ACT8_X4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		a, b, clk := twoProcesses(t, target)
		_, key := registeredSubscription(t, a, yearly, "acc-1")
		act, err := a.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-1")})
		if err != nil {
			t.Fatal(err)
		}
		report := func(h *commands.Set, seats int, idemKey string) (commands.UsageRecorded, error) {
			i, err := h.Installations.Authenticate(ctx, act.Credential)
			if err != nil {
				return commands.UsageRecorded{}, err
			}
			meta := installer
			meta.IdempotencyKey = idemKey
			return h.Installations.ReportUsage(ctx, meta, i, commands.UsageReport{Seats: seats, ObservedAt: clk.Now()})
		}
		for n := range 10 {
			h := []*commands.Set{a, b}[n%2]
			if _, err := report(h, n%5, fmt.Sprintf("r-%d", n)); err != nil {
				t.Fatalf("report %d through process %d: %v", n, 1+n%2, err)
			}
		}
		first, err := report(b, 3, "lost-answer")
		if err != nil {
			t.Fatal(err)
		}
		again, err := report(a, 3, "lost-answer") // the client's retry reaches the other process
		if err != nil || again.Position != first.Position {
			t.Fatalf("retry through the other process: %+v, %v; want the first result %+v", again.AppendResult, err, first.AppendResult)
		}
		if _, err := report(a, 2, "warm"); err != nil { // a's cache holds the installation active
			t.Fatal(err)
		}
		if _, err := b.Installations.RequestDeactivation(ctx, as("ada"), "acc-1", []string{act.Installation.ID()}); err != nil {
			t.Fatal(err)
		}
		if _, err := report(b, 1, "deactivating"); !errors.Is(err, installation.ErrDeactivated) {
			t.Fatalf("the contact after the portal's deactivation: %v", err)
		}
		if _, err := report(a, 1, "after"); !errors.Is(err, installation.ErrDeactivated) {
			t.Fatalf("a report through the process whose cache held the installation active: %v; want it deactivated (ACT-8)", err)
		}
		got, err := a.Installations.Installation(ctx, act.Installation.ID())
		if err != nil || got.Status() == installation.Active {
			t.Fatalf("installation after both processes: %s, %v", got.Status(), err)
		}
	})
}

// newSet builds the write side from cfg with the tests' own password
// hasher, link key and key ring; commandstest fills in the rest, so a test
// that issues no MDM certificate and answers no offline file still builds
// those handlers.
func newSet(tb testing.TB, cfg commands.Config) *commands.Set {
	tb.Helper()
	if cfg.Passwords == nil {
		cfg.Passwords = passwords.Policy{Hasher: hasher}
	}
	if cfg.Tokens == nil {
		cfg.Tokens = linkKey
	}
	if cfg.Keys == nil {
		cfg.Keys = keys
	}
	return commandstest.New(tb, cfg)
}
