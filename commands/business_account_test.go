package commands_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"seatledger/domain/events"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/keyring"
	"seatledger/infra/passwords"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// linkKey derives the tests' link tokens; keys seals their license keys.
var (
	linkKey, _ = secret.New([]byte("0123456789abcdef0123456789abcdef"))
	keys, _    = keyring.New([]byte("fedcba9876543210fedcba9876543210"))
)

var acme = account.Company{Name: "Acme GmbH", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"}

// forEachEngine gives fn the write side (a commands.Set) on an empty event store of
// every SQL engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, h *commands.Set, store eventstore.Store)) {
	forEachEngineClock(t, func(t *testing.T, h *commands.Set, store eventstore.Store, _ *clock.Simulated) { fn(t, h, store) })
}

// forEachEngineClock is forEachEngine with the simulated clock the store
// and the handler share.
func forEachEngineClock(t *testing.T, fn func(t *testing.T, h *commands.Set, store eventstore.Store, clk *clock.Simulated)) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		db := sqldbtest.Open(t, target)
		clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		store, err := storage.OpenStore(context.Background(), db, storage.Options{Database: target, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		fn(t, newSet(t, commands.Config{Store: store, Registry: registry(), Clock: clk,
			Passwords: passwords.Policy{Hasher: hasher}, Tokens: linkKey, Keys: keys}), store, clk)
	})
}

func registry() *event.Registry { return events.Registry() }

func as(person string) commands.Meta {
	return commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: person}, CorrelationID: "corr-" + person}
}

// must fails the test when the command it is called with failed:
// must(t)(h.SomeCommand(…)).
func must(t *testing.T) func(event.AppendResult, error) event.AppendResult {
	return func(res event.AppendResult, err error) event.AppendResult {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
}

// accountWithAdmins creates acc with "ada" as creator and the others as
// admins, joined through events appended directly (joining by invitation
// is its own use case).
func accountWithAdmins(t *testing.T, h *commands.Set, store eventstore.Store, acc string, admins ...string) {
	t.Helper()
	ctx := context.Background()
	res := must(t)(h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: acc, Company: acme}))
	for i, p := range admins {
		data := fmt.Sprintf(`{"person_id":%q}`, p)
		if _, err := store.Append(ctx, account.StreamID(acc), event.Exact(res.LastVersion+uint64(i)), event.Proposed{
			Type: account.TypeMemberJoined, SchemaVersion: 1, Data: []byte(data),
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}); err != nil {
			t.Fatal(err)
		}
		must(t)(h.Accounts.ChangeMemberRole(ctx, as("ada"), commands.ChangeMemberRole{AccountID: acc, PersonID: p, Role: account.RoleAdmin}))
		res.LastVersion += 2
	}
}

// Rule X-1: the events carry who asked, the command and the correlation ID.
func TestCreateBusinessAccount_records_who_and_why_X1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		must(t)(h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme}))
		recs, err := store.ReadStream(ctx, account.StreamID("acc-1"), 1, 10)
		if err != nil || len(recs) != 1 {
			t.Fatalf("%d events, %v", len(recs), err)
		}
		md := recs[0].Metadata
		if recs[0].Type != account.TypeCreated || md.Actor.ID != "ada" || md.Command != "CreateBusinessAccount" || md.CorrelationID != "corr-ada" {
			t.Fatalf("event %s with metadata %+v", recs[0].Type, md)
		}
		_, err = h.Accounts.CreateBusinessAccount(ctx, as("eve"), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme})
		if !errors.Is(err, account.ErrExists) {
			t.Fatalf("creating it again: %v", err)
		}
	})
}

// Rules MEM-5 and X-5: refused commands append nothing.
func TestRefused_commands_change_nothing_MEM5_X5(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		accountWithAdmins(t, h, store, "acc-1")
		for name, run := range map[string]func() (event.AppendResult, error){
			"stranger changes the profile": func() (event.AppendResult, error) {
				return h.Accounts.ChangeCompanyProfile(ctx, as("eve"), commands.ChangeCompanyProfile{AccountID: "acc-1", Company: acme})
			},
			"stranger blocks the admin": func() (event.AppendResult, error) {
				return h.Accounts.BlockMember(ctx, as("eve"), commands.BlockMember{AccountID: "acc-1", PersonID: "ada"})
			},
			"a command on an account that does not exist": func() (event.AppendResult, error) {
				return h.Accounts.RemoveMember(ctx, as("eve"), commands.RemoveMember{AccountID: "acc-404", PersonID: "ada"})
			},
		} {
			if _, err := run(); !errors.Is(err, account.ErrForbidden) {
				t.Errorf("%s: err = %v, want ErrForbidden", name, err)
			}
		}
		if head, _ := store.Head(ctx); head != 1 {
			t.Fatalf("refused commands appended: head = %d", head)
		}
	})
}

// Rule MEM-9 under concurrency: two admins demoting each other at the same
// moment never leave the account without an admin; every decision is made
// from the account's latest events, and the loser decides again.
func TestChangeMemberRole_concurrent_demotions_keep_an_admin_MEM9(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		for round := range 10 {
			acc := fmt.Sprintf("acc-%d", round)
			accountWithAdmins(t, h, store, acc, "cyd")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, pair := range [][2]string{{"ada", "cyd"}, {"cyd", "ada"}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = h.Accounts.ChangeMemberRole(ctx, as(pair[0]), commands.ChangeMemberRole{AccountID: acc, PersonID: pair[1], Role: account.RoleMember})
				}()
			}
			wg.Wait()
			failed := 0
			for _, err := range errs {
				if err != nil {
					failed++
					if !errors.Is(err, account.ErrForbidden) && !errors.Is(err, account.ErrLastAdmin) {
						t.Fatalf("round %d: unexpected error %v", round, err)
					}
				}
			}
			if failed != 1 {
				t.Fatalf("round %d: %d of 2 demotions failed, want exactly 1 (errors %v)", round, failed, errs)
			}
		}
	})
}

// Rule X-4: a retried command with the same idempotency key returns the
// first result and appends nothing, even though deciding again would now
// be refused.
func TestIdempotent_retry_returns_the_first_result_X4(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		accountWithAdmins(t, h, store, "acc-1", "cyd")
		meta := as("ada")
		meta.IdempotencyKey = "req-42"
		cmd := commands.BlockMember{AccountID: "acc-1", PersonID: "cyd"}
		first, err := h.Accounts.BlockMember(ctx, meta, cmd)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.Accounts.BlockMember(ctx, meta, cmd)
		if err != nil || again != first {
			t.Fatalf("retry = %+v, %v; want %+v", again, err, first)
		}
		if _, err := h.Accounts.BlockMember(ctx, as("ada"), cmd); !errors.Is(err, account.ErrNoChange) {
			t.Fatalf("a new request (no key) decides again: err = %v", err)
		}
		if head, _ := store.Head(ctx); head != first.Position {
			t.Fatalf("the retry appended: head %d, first result at %d", head, first.Position)
		}
	})
}
