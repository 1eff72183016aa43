package queries_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/infra/clock"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/projections"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// directory is a read store whose directory projection has applied an
// account "acc-1" with n members: person i is "First<i> Last<i%97>",
// every tenth an admin, every seventh blocked, plus the creator "admin-0".
func directory(tb testing.TB, target sqldb.Target, n int) *sqldb.DB {
	tb.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(tb, target)
	clk := clock.NewSimulated(t0)
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	reg := event.NewRegistry()
	account.Register(reg)
	person.Register(reg)
	appendTo := func(stream string, payloads ...any) {
		var evs []event.Proposed
		for _, p := range payloads {
			name, _ := reg.NameOf(p)
			data, v, err := reg.Encode(name, p)
			if err != nil {
				tb.Fatal(err)
			}
			evs = append(evs, event.Proposed{Type: name, SchemaVersion: v, Data: data,
				Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "bench"}}})
		}
		if _, err := store.Append(ctx, stream, event.Any(), evs...); err != nil {
			tb.Fatal(err)
		}
	}
	signUp := func(id, first, last string) {
		appendTo(person.StreamID(id), person.SignedUp{PersonID: id, FirstName: first, LastName: last,
			Email: id + "@example.com", PasswordHash: "x", TermsVersion: "t", VerifiedByInvitation: "i"})
	}
	signUp("admin-0", "Ada", "Admin")
	var accEvents []any
	accEvents = append(accEvents, account.Created{AccountID: "acc-1", SupportCode: "SC", CreatorID: "admin-0",
		Company: account.Company{Name: "Acme", Country: "DE", ZIP: "1", Phone: "1"}})
	for i := range n {
		id := fmt.Sprintf("user-%05d", i)
		signUp(id, fmt.Sprintf("First%d", i), fmt.Sprintf("Last%02d", i%97))
		accEvents = append(accEvents, account.MemberJoined{PersonID: id})
		if i%10 == 0 {
			accEvents = append(accEvents, account.RoleChanged{PersonID: id, Role: account.RoleAdmin, By: "admin-0"})
		}
		if i%7 == 0 {
			accEvents = append(accEvents, account.MemberBlocked{PersonID: id, By: "admin-0"})
		}
		if len(accEvents) >= 500 {
			appendTo(account.StreamID("acc-1"), accEvents...)
			accEvents = nil
		}
	}
	if len(accEvents) > 0 {
		appendTo(account.StreamID("acc-1"), accEvents...)
	}
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: []projections.Projection{projections.Directory{}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := rt.Rebuild(ctx, "directory", nil); err != nil {
		tb.Fatal(err)
	}
	return db
}
