package queries_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/domain/person"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
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
	l := newTestLog(tb, target, projections.Directory{})
	appendTo := l.append
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
	l.rebuild()
	return l.db
}

// testLog is a real event store and read store running some projections:
// tests append events and rebuild the read models from the log.
type testLog struct {
	tb          testing.TB
	db          *sqldb.DB
	store       eventstore.Store
	clk         *clock.Simulated
	rt          *projection.Runtime
	reg         *event.Registry
	projections []string
}

func newTestLog(tb testing.TB, target sqldb.Target, ps ...projections.Projection) *testLog {
	tb.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(tb, target)
	clk := clock.NewSimulated(t0)
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: ps})
	if err != nil {
		tb.Fatal(err)
	}
	l := &testLog{tb: tb, db: db, store: store, clk: clk, rt: rt, reg: events.Registry()}
	for _, p := range ps {
		l.projections = append(l.projections, p.Name())
	}
	return l
}

// append appends payloads to stream one minute after the previous append.
func (l *testLog) append(stream string, payloads ...any) {
	l.appendAt(stream, time.Time{}, payloads...)
}

// appendAt appends payloads to stream one minute after the previous
// append, effective at effective (zero: when recorded).
func (l *testLog) appendAt(stream string, effective time.Time, payloads ...any) {
	l.tb.Helper()
	if _, err := l.clk.Advance(time.Minute); err != nil {
		l.tb.Fatal(err)
	}
	evs := make([]event.Proposed, 0, len(payloads))
	for _, p := range payloads {
		name, ok := l.reg.NameOf(p)
		if !ok {
			l.tb.Fatalf("%T is not a registered event", p)
		}
		data, v, err := l.reg.Encode(name, p)
		if err != nil {
			l.tb.Fatal(err)
		}
		evs = append(evs, event.Proposed{Type: name, SchemaVersion: v, Data: data,
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}, EffectiveAt: effective}})
	}
	if _, err := l.store.Append(context.Background(), stream, event.Any(), evs...); err != nil {
		l.tb.Fatal(err)
	}
}

// rebuild replays the log into every projection of l.
func (l *testLog) rebuild() {
	l.tb.Helper()
	for _, name := range l.projections {
		if err := l.rt.Rebuild(context.Background(), name, nil); err != nil {
			l.tb.Fatal(err)
		}
	}
}
