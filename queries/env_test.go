package queries_test

import (
	"fmt"
	"testing"

	"seatledger/domain/account"
	"seatledger/domain/person"
	"seatledger/infra/projection/projectiontest"
	"seatledger/infra/sqldb"
	"seatledger/projections"
)

var t0 = projectiontest.Start

// directory is a read store whose directory projection has applied an
// account "acc-1" with n members: person i is "First<i> Last<i%97>",
// every tenth an admin, every seventh blocked, plus the creator "admin-0".
func directory(tb testing.TB, target sqldb.Target, n int) *sqldb.DB {
	tb.Helper()
	l := newTestLog(tb, target, projections.Directory{})
	appendTo := l.Append
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
	l.Rebuild()
	return l.DB
}

// testLog is a real event store and read store running some projections
// (infra/projection/projectiontest).
type testLog = projectiontest.Log

func newTestLog(tb testing.TB, target sqldb.Target, ps ...projections.Projection) *testLog {
	return projectiontest.New(tb, target, ps...)
}
