package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/infra/projection/projectiontest"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
)

func personStream(id string) string { return person.StreamID(id) }

func signedUp(id, first, last string) person.SignedUp {
	return person.SignedUp{PersonID: id, FirstName: first, LastName: last, Email: strings.ToLower(first) + "@example.com",
		PasswordHash: "x", TermsVersion: "t"}
}

// Rules: `ledger history --raw` prints who changed what, when and
// why as stored; `ledger state` prints the state as of a date; bad input
// is one line.
func TestHistory_and_state_X1_X2(t *testing.T) {
	target := sqldbtest.SQLite(t)
	l := projectiontest.New(t, target)
	ada := event.Actor{Kind: event.ActorPerson, ID: "p-ada"}
	orders := event.Actor{Kind: event.ActorBackOffice, ID: "orders"}
	key := subscription.SealedKey{KeyID: "key-1", Lookup: []byte("lookup-1"), Sealed: []byte("sealed-1"), Hint: "AB"}
	l.AppendBy(subscription.StreamID("s"), orders, "ApplyOrder", subscription.Purchased{SubscriptionID: "s", OrderID: "o-1", OrderDigest: "d",
		ProductID: "farms", Seats: 10, Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard,
		Start: projectiontest.Start, End: projectiontest.Start.AddDate(1, 0, 0), PrimaryKey: subscription.SealedKey{KeyID: "key-p"}})
	l.AppendBy(licensekey.StreamID("key-1"), ada, "CreateSublicense", licensekey.Issued{KeyID: "key-1", SubscriptionID: "s"})
	l.AppendBy(subscription.StreamID("s"), ada, "CreateSublicense", subscription.SublicenseCreated{Key: key, Name: "Lab", Quota: 4, By: "p-ada"})
	l.Clock.Advance(48 * 3600e9)
	l.AppendBy(subscription.StreamID("s"), orders, "ApplyOrder", subscription.SeatsAdded{OrderID: "o-2", OrderDigest: "d2", Seats: 5})
	env := map[string]string{"LEDGER_DATABASE_URL": target.DSN}

	code, out, errOut := runCLI(t, env, "history", "subscription", "s", "--raw")
	if code != exitOK || errOut != "" {
		t.Fatalf("history: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "back_office:orders") || !strings.Contains(lines[1], "ApplyOrder") ||
		!strings.Contains(lines[2], "person:p-ada") || !strings.Contains(lines[3], "seats: 10 → 15") {
		t.Errorf("history:\n%s", out)
	}
	code, out, _ = runCLI(t, env, "history", "keys", "key-1", "--field", "key.quota", "--json")
	var ev struct {
		Actor   event.Actor
		Changes []struct{ Field string }
	}
	if code != exitOK || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &ev) != nil || ev.Actor != ada {
		t.Errorf("key history as JSON: exit %d, %s", code, out)
	}
	code, out, _ = runCLI(t, env, "state", "key", "key-1", "--as-of", projectiontest.Start.Format("2006-01-02"))
	var st struct {
		Exists bool
		State  struct {
			Key          struct{ Quota int }
			Subscription struct{ Seats int }
		}
	}
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || !st.Exists || st.State.Key.Quota != 4 || st.State.Subscription.Seats != 10 {
		t.Errorf("state as of the first day: exit %d, %s", code, out)
	}
	if strings.Contains(out, "sealed") || strings.Contains(out, "lookup") {
		t.Errorf("the state shows secrets: %s", out)
	}

	code, _, errOut = runCLI(t, env, "history", "ticket", "t-1")
	if code != exitUsage {
		t.Errorf("unknown kind: exit %d", code)
	}
	wantOneLine(t, errOut, "ledger: unknown kind")
	code, _, errOut = runCLI(t, env, "state", "subscription", "s", "--as-of", "last tuesday")
	if code != exitUsage {
		t.Errorf("bad as-of: exit %d", code)
	}
	wantOneLine(t, errOut, "ledger: as-of \"last tuesday\" is neither")
	code, _, errOut = runCLI(t, env, "history", "subscription", "nope")
	if code != exitFailure {
		t.Errorf("unknown subscription: exit %d", code)
	}
	wantOneLine(t, errOut, `ledger: no subscription "nope" has ever existed`)
}

// Rule X-1 (issue 20): `ledger history` prints the history for people, as
// the portal's panel tells it: when, who by name ("admin token (bootstrap)" for the
// bootstrap credential, the farm by its name whether its events name its server or its
// ID), what happened and each changed field by its label, one row each;
// no IDs, digests or zero values. A run of the same check longer than a
// page (USE-4) is one row that counts it.
func TestHistory_for_people_X1_USE4(t *testing.T) {
	const (
		ada  = "0190c3f2-0000-7000-8000-00000000ada1"
		acc  = "ab2849f5-df63-49c3-8bb5-97228ea3c81f"
		sub  = "c8a06c4e-0704-57e3-99df-b4c5bf3625bd"
		key  = "c31d7fc233f645065b20ffbb7ce6fbe6"
		inst = "4dd800cb-0e40-5ab4-962f-392e45d50bed"
	)
	target := sqldbtest.SQLite(t)
	l := projectiontest.New(t, target, projections.Directory{}, projections.Licenses{}, projections.Installations{})
	office := event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}
	person := event.Actor{Kind: event.ActorPerson, ID: ada}
	l.AppendBy(product.StreamID("ras"), office, "DefineProduct", product.Defined{ProductID: "ras", Name: "Remote Application Server",
		Model: product.ConcurrentUsers, MajorVersion: 19})
	l.AppendBy(personStream(ada), person, "SignUp", signedUp(ada, "Ada", "Lovelace"))
	l.AppendBy(account.StreamID(acc), person, "CreateBusinessAccount", account.Created{AccountID: acc, SupportCode: "9XD3-BD7B",
		CreatorID: ada, Company: account.Company{Name: "Acme GmbH", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"}})
	l.AppendBy(subscription.StreamID(sub), office, "Purchase", subscription.Purchased{SubscriptionID: sub, OrderID: "p-1",
		OrderDigest: "756b130e5ce853d7621af7b3cdc40a5b", ProductID: "ras", Seats: 10, Period: subscription.Year, Channel: subscription.Online,
		SupportPlan: subscription.Standard, Start: projectiontest.Start, End: projectiontest.Start.AddDate(1, 0, 0), AutoRenew: true,
		PrimaryKey: subscription.SealedKey{KeyID: key, Lookup: []byte("l"), Sealed: []byte("s"), Hint: "YQB0X"}})
	l.AppendBy(subscription.StreamID(sub), person, "RegisterKey", subscription.Registered{AccountID: acc, By: ada})
	l.AppendBy(subscription.StreamID(sub), office, "AddSeats", subscription.SeatsAdded{OrderID: "p-2", OrderDigest: "e8efc916eca653f484d6872564184573", Seats: 5})
	l.AppendBy(installation.StreamID(inst), event.Actor{Kind: event.ActorInstallation, ID: "farm/srv-berlin"}, "Activate",
		installation.Activated{InstallationID: inst, Identity: installation.Identity{Kind: installation.Farm, ServerID: "srv-berlin",
			FarmName: "Berlin", AppVersion: "19.2"}, Mode: installation.Online, KeyID: key, SubscriptionID: sub, AccountID: acc,
			ProductID: "ras", Model: product.ConcurrentUsers, Generation: 1, License: installation.License{KeyID: key, Seats: 15}})
	l.AppendBy(installation.StreamID(inst), event.Actor{Kind: event.ActorInstallation, ID: inst}, "ReportUsage",
		installation.UsageReported{Seats: 12, ObservedAt: l.Clock.Now().Add(time.Minute), Current: true, Quota: 15})
	checks := make([]any, 520) // more than one page of the view reads
	for i := range checks {
		checks[i] = installation.Revalidated{Seats: 12, Quota: 15}
	}
	l.AppendBy(installation.StreamID(inst), event.Actor{Kind: event.ActorProcess, ID: "installation-manager"}, "Revalidate", checks...)
	l.Rebuild()
	env := map[string]string{"LEDGER_DATABASE_URL": target.DSN}

	code, out, errOut := runCLI(t, env, "history", "subscription", sub)
	if code != exitOK || errOut != "" {
		t.Fatalf("history: exit %d, %s", code, errOut)
	}
	want := [][]string{
		{"WHEN", "WHO", "WHAT", "CHANGES"},
		{"1 Mar 2026 09:04 UTC", "admin token (bootstrap)", "Subscription purchased", "Product: Remote Application Server"},
		{"Period: 1 year"}, {"Seats: 10"}, {"Sold: Online"}, {"Support plan: Standard"}, {"Start date: 1 Mar 2026"},
		{"End date: 1 Mar 2027"}, {"Automatic renewal: on"}, {"Status: Active"}, {"Key Primary › Type: Primary"}, {"Key Primary › Seats: 10"},
		{"1 Mar 2026 09:05 UTC", "Ada Lovelace", "Registered to a business account", "Business account: Acme GmbH"},
		{"1 Mar 2026 09:06 UTC", "admin token (bootstrap)", "Seats added", "Seats: 10 → 15"},
		{"Key Primary › Seats: 10 → 15"},
	}
	wantTable(t, out, want)

	code, out, errOut = runCLI(t, env, "history", "installation", inst)
	if code != exitOK || errOut != "" {
		t.Fatalf("history of the farm: exit %d, %s", code, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	cells := func(i int) []string { return cellSplit.Split(strings.TrimSpace(rows[(i+len(rows))%len(rows)]), -1) }
	if !slices.Equal(cells(1), []string{"1 Mar 2026 09:07 UTC", "farm Berlin", "Activated", "Kind: Farm"}) ||
		!slices.Equal(cells(-3), []string{"1 Mar 2026 09:08 UTC", "farm Berlin", "Usage reported", "In use: 0 → 12"}) ||
		!slices.Equal(cells(-1), []string{"1 Mar 2026 09:09 UTC", "the ledger", "Overuse checked again (520 times, until 1 Mar 2026 09:09 UTC)"}) {
		t.Errorf("history of the farm:\n%s", out)
	}
	if strings.Contains(out, "farm/srv-berlin") || strings.Count(out, "Overuse checked again") != 1 {
		t.Errorf("the farm is not named as one, or the run is split:\n%s", out)
	}

	code, out, _ = runCLI(t, env, "history", "subscription", sub, "--raw")
	if code != exitOK || !strings.HasPrefix(out, "POSITION") || !strings.Contains(out, "back_office:admin-token") || !strings.Contains(out, "orders.p-2") {
		t.Errorf("the raw history: exit %d\n%s", code, out)
	}
}

// wantTable fails unless out's rows hold the cells of want, split on runs
// of two or more spaces, with no IDs.
func wantTable(t *testing.T, out string, want [][]string) {
	t.Helper()
	rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, row := range rows {
		if got := cellSplit.Split(strings.TrimSpace(row), -1); !slices.Equal(got, want[i]) {
			t.Errorf("row %d: %q, want %q", i, got, want[i])
		}
	}
	if id := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16,}`).FindString(out); id != "" {
		t.Errorf("the history shows the ID %s:\n%s", id, out)
	}
}

var cellSplit = regexp.MustCompile(`\s{2,}`)

// Issue 23 (X-1, ACT-3): `ledger history` names the staff person who
// turned an account's switch, by the display name the roster gave them,
// with the reason they recorded, and a service account by its name.
func TestHistory_names_staff_and_the_switch_reason_X1_ACT3(t *testing.T) {
	const (
		ada = "0190c3f2-0000-7000-8000-00000000ada1"
		acc = "ab2849f5-df63-49c3-8bb5-97228ea3c81f"
		sue = "0190c3f2-0000-7000-8000-000000005ue1"
		svc = "0190c3f2-0000-7000-8000-0000000005c1"
		sub = "c8a06c4e-0704-57e3-99df-b4c5bf3625bd"
	)
	target := sqldbtest.SQLite(t)
	l := projectiontest.New(t, target, projections.Directory{}, projections.Licenses{})
	office := event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}
	person := event.Actor{Kind: event.ActorPerson, ID: ada}
	l.AppendBy(staff.StreamID(""), office, "AddStaff", staff.Added{StaffID: sue, Email: "sue@vendor.example", DisplayName: "Sue Miller",
		Role: staff.RoleSupport, EnrolmentHash: []byte("h")})
	l.AppendBy(staff.StreamID(""), office, "CreateServiceAccount", staff.ServiceAccountCreated{ServiceID: svc, Name: "order system", SecretHash: []byte("h")})
	l.AppendBy(personStream(ada), person, "SignUp", signedUp(ada, "Ada", "Lovelace"))
	l.AppendBy(account.StreamID(acc), person, "CreateBusinessAccount", account.Created{AccountID: acc, SupportCode: "9XD3-BD7B",
		CreatorID: ada, Company: account.Company{Name: "Acme GmbH", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"}})
	l.AppendBy(account.StreamID(acc), staff.Actor(sue), "SetOfflineActivation", account.OfflineActivationSet{Enabled: true,
		By: staff.Actor(sue).ID, Reason: "Air-gapped plant, ticket T-1"})
	l.AppendBy(product.StreamID("ras"), office, "DefineProduct", product.Defined{ProductID: "ras", Name: "Remote Application Server",
		Model: product.ConcurrentUsers, MajorVersion: 19})
	l.AppendBy(subscription.StreamID(sub), staff.ServiceActor(svc), "Purchase", subscription.Purchased{SubscriptionID: sub, OrderID: "p-1",
		OrderDigest: "756b130e5ce853d7621af7b3cdc40a5b", ProductID: "ras", Seats: 10, Period: subscription.Year, Channel: subscription.Online,
		SupportPlan: subscription.Standard, Start: projectiontest.Start, End: projectiontest.Start.AddDate(1, 0, 0),
		PrimaryKey: subscription.SealedKey{KeyID: "k1", Lookup: []byte("l"), Sealed: []byte("s"), Hint: "YQB0X"}})
	l.Rebuild()
	env := map[string]string{"LEDGER_DATABASE_URL": target.DSN}

	code, out, errOut := runCLI(t, env, "history", "account", acc)
	if code != exitOK || errOut != "" {
		t.Fatalf("history: exit %d, %s", code, errOut)
	}
	if !strings.Contains(out, "Sue Miller (support)") || !strings.Contains(out, "Offline activation switched") ||
		!strings.Contains(out, "Reason: Air-gapped plant, ticket T-1") || strings.Contains(out, sue) {
		t.Errorf("the switch is not told with the staff person's name and reason:\n%s", out)
	}
	code, out, _ = runCLI(t, env, "history", "subscription", sub)
	if code != exitOK || !strings.Contains(out, "service account: order system") {
		t.Errorf("the purchase does not name the service account: exit %d\n%s", code, out)
	}
}
