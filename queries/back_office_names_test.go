package queries_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// backOfficeStory: the admin token adds Ann as owner; Ann creates the
// order system's service account and adds Bob as sales; the order system
// sells subscription s, Bob adds seats, Ann makes Bob finance and then
// removes him, the admin token adds seats again, and so does a
// back-office actor from before the roster.
func backOfficeStory(t *testing.T) *testLog {
	t.Helper()
	l := newTestLog(t, sqldbtest.SQLite(t), projections.Directory{}, projections.Licenses{})
	roster, ann, bob, svc := staff.StreamID(""), staff.Actor("ann"), staff.Actor("bob"), staff.ServiceActor("svc")
	l.AppendBy(roster, staff.AdminToken, "AddStaff", staff.Added{StaffID: "ann", Email: "ann@vendor.example", DisplayName: "Ann Owner",
		Role: staff.RoleOwner, EnrolmentHash: staff.HashSecret("e1")})
	l.AppendBy(roster, ann, "CreateServiceAccount", staff.ServiceAccountCreated{ServiceID: "svc", Name: "order system",
		SecretHash: staff.HashSecret("t")})
	l.AppendBy(roster, ann, "AddStaff", staff.Added{StaffID: "bob", Email: "bob@vendor.example", DisplayName: "Bob Seller",
		Role: staff.RoleSales, EnrolmentHash: staff.HashSecret("e2")})
	sub := subscription.StreamID("s")
	l.AppendBy(sub, svc, "ApplyOrder", purchased("s", "farms", 10, subscription.Year, subscription.Online, at(365*day)))
	l.AppendBy(sub, bob, "ApplyOrder", subscription.SeatsAdded{OrderID: "o-s-2", OrderDigest: "d2", Seats: 5})
	l.AppendBy(roster, ann, "ChangeStaffRole", staff.RoleChanged{StaffID: "bob", Role: staff.RoleFinance})
	l.AppendBy(roster, ann, "RemoveStaff", staff.Removed{StaffID: "bob"})
	l.AppendBy(sub, staff.AdminToken, "ApplyOrder", subscription.SeatsAdded{OrderID: "o-s-3", OrderDigest: "d3", Seats: 1})
	l.AppendBy(sub, event.Actor{Kind: event.ActorBackOffice, ID: "legacy"}, "ApplyOrder",
		subscription.SeatsAdded{OrderID: "o-s-4", OrderDigest: "d4", Seats: 1})
	l.Rebuild()
	return l
}

// X-1 (issue 23): the history names who of the back office did each
// change, from the roster's events: the service account by its name, a
// staff person by name and the role they had then (Bob was sales when he
// added seats, though he is finance and then removed since), the admin
// token as such; the raw events carry the same name beside the actor.
func TestHistory_names_staff_and_service_accounts_X1(t *testing.T) {
	t.Parallel()
	l := backOfficeStory(t)
	a := newAudit(l, 0)
	ctx := context.Background()
	page, err := a.History(ctx, queries.KindSubscription, "s", queries.HistoryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var raw []string
	for _, ev := range page.Events {
		raw = append(raw, ev.ActorName)
	}
	want := []string{"service account: order system", "Bob Seller (sales)", "admin token (bootstrap)", "the back office"}
	if !slices.Equal(raw, want) {
		t.Errorf("actor names of the raw history:\n got %q\nwant %q", raw, want)
	}
	view, err := a.HistoryView(ctx, l.DB, queries.KindSubscription, "s", queries.HistoryQuery{Limit: 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, e := range view.Entries {
		who = append(who, e.Who)
	}
	if !slices.Equal(who, want) {
		t.Errorf("who in the history for people:\n got %q\nwant %q", who, want)
	}
}

// X-1 (issue 23): the finance reconciliation lists the period's orders,
// each naming who applied it as the roster named them then, in JSON and
// in its CSV part "orders".
func TestReconcile_orders_name_who_applied_them_X1(t *testing.T) {
	t.Parallel()
	l := backOfficeStory(t)
	ctx := context.Background()
	period := queries.Period{From: t0, To: l.Clock.Now().Add(time.Hour)}
	got, err := queries.Reconcile(ctx, scanOf(l), l.Registry, queries.ReconciliationQuery{Period: period})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range got.Orders {
		names = append(names, o.OrderID+" "+o.Kind+" by "+o.AppliedByName+" ("+o.AppliedBy+")")
	}
	want := []string{"o-s-1 purchase by service account: order system (back_office:service:svc)",
		"o-s-2 add_seats by Bob Seller (sales) (back_office:staff:bob)",
		"o-s-3 add_seats by admin token (bootstrap) (back_office:admin-token)",
		"o-s-4 add_seats by the back office (back_office:legacy)"}
	if !slices.Equal(names, want) {
		t.Errorf("orders:\n got %q\nwant %q", names, want)
	}
	var csv strings.Builder
	if err := queries.WriteReconciliationCSV(&csv, got, queries.CSVOrders); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), ",back_office:service:svc,service account: order system\n") || !strings.Contains(csv.String(), ",Bob Seller (sales)\n") {
		t.Errorf("orders CSV:\n%s", csv.String())
	}
}

// X-1 (issue 23): the names are folded from the roster's stream once and
// then only from its newest events (it grows with every sign-in), yet a
// person added or renamed in the role after a first read is named at the
// next one, through the same Audit.
func TestHistory_names_staff_added_after_a_first_read_X1(t *testing.T) {
	t.Parallel()
	l := backOfficeStory(t)
	a := newAudit(l, 0)
	ctx := context.Background()
	who := func() []string {
		t.Helper()
		page, err := a.History(ctx, queries.KindSubscription, "s", queries.HistoryQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ev := range page.Events {
			names = append(names, ev.ActorName)
		}
		return names
	}
	if got := who(); len(got) != 4 {
		t.Fatalf("first read: %q", got)
	}
	roster, sub := staff.StreamID(""), subscription.StreamID("s")
	for i := range 3 { // sign-ins: they name nobody, and are folded past
		l.AppendBy(roster, staff.Actor("ann"), "SignInStaff", staff.SignedIn{StaffID: "ann", SessionHash: []byte{byte(i)}, TOTPStep: int64(i + 1)})
	}
	l.AppendBy(roster, staff.Actor("ann"), "AddStaff", staff.Added{StaffID: "cy", Email: "cy@vendor.example", DisplayName: "Cy Seller",
		Role: staff.RoleSales, EnrolmentHash: staff.HashSecret("e3")})
	l.AppendBy(sub, staff.Actor("cy"), "ApplyOrder", subscription.SeatsAdded{OrderID: "o-s-5", OrderDigest: "d5", Seats: 2})
	if got := who(); len(got) != 5 || got[4] != "Cy Seller (sales)" || got[1] != "Bob Seller (sales)" {
		t.Errorf("after the roster grew: %q, want Cy Seller (sales) last and Bob as before", got)
	}
}
