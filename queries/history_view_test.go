package queries_test

import (
	"context"
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
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// The history for people (issue 20): labels, names instead of IDs, no
// no-op changes or zero values, consistent actors (rule X-1).

// IDs as the ledger makes them, so that a test can tell one in the output.
const (
	hvAda     = "0190c3f2-0000-7000-8000-00000000ada1"
	hvBob     = "0190c3f2-0000-7000-8000-00000000b0b1"
	hvAcc     = "ab2849f5-df63-49c3-8bb5-97228ea3c81f"
	hvSub     = "c8a06c4e-0704-57e3-99df-b4c5bf3625bd"
	hvPrimary = "c31d7fc233f645065b20ffbb7ce6fbe6"
	hvBerlin  = "9b14e94aefc51bb3d1700cd53f4b4213"
	hvInst    = "4dd800cb-0e40-5ab4-962f-392e45d50bed"
	hvDigest  = "756b130e5ce853d7621af7b3cdc40a5b"
)

// idLike matches what reads as an ID: a UUID, or 16 and more hex digits.
var idLike = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16,}`)

// lines renders a view as "What · Who · note | change; change", one
// line per entry, with a run's count.
func lines(v queries.HistoryView) []string {
	out := make([]string, len(v.Entries))
	for i, e := range v.Entries {
		s := e.What + " · " + e.Who
		if e.Count > 1 {
			s += " · ×" + strings.Fields(e.When())[0]
		}
		if e.Note != "" {
			s += " · " + e.Note
		}
		var changes []string
		for _, c := range e.Changes {
			changes = append(changes, c.String())
		}
		if len(changes) > 0 {
			s += " | " + strings.Join(changes, "; ")
		}
		out[i] = s
	}
	return out
}

func wantLines(t *testing.T, what string, got queries.HistoryView, want ...string) {
	t.Helper()
	if g := lines(got); !slices.Equal(g, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(g, "\n     "), strings.Join(want, "\n     "))
	}
	for _, l := range lines(got) {
		if idLike.MatchString(l) {
			t.Errorf("%s shows an ID: %s", what, l)
		}
	}
}

// historyStory writes a customer's story through every actor kind: Ada
// signs up and creates Acme, the back office sells a subscription whose
// key she registers, she creates the Berlin sublicense and lets Bob
// administer it, a farm activates the primary key (its events name it
// by its server first, then by its ID), reports usage, is re-checked by
// the ledger three times, and Bob deletes the sublicense. The read
// models are rebuilt, so that the names can be looked up.
func historyStory(t *testing.T) (*testLog, *queries.Audit) {
	t.Helper()
	l := newTestLog(t, sqldbtest.SQLite(t), projections.Directory{}, projections.Licenses{}, projections.Installations{})
	ada, bob := event.Actor{Kind: event.ActorPerson, ID: hvAda}, event.Actor{Kind: event.ActorPerson, ID: hvBob}
	office := event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}
	server := event.Actor{Kind: event.ActorInstallation, ID: "farm/srv-berlin"}
	farm := event.Actor{Kind: event.ActorInstallation, ID: hvInst}
	ledger := event.Actor{Kind: event.ActorProcess, ID: "installation-manager"}

	l.AppendBy(product.StreamID("ras"), office, "DefineProduct", product.Defined{ProductID: "ras", Name: "Remote Application Server",
		Model: product.ConcurrentUsers, MajorVersion: 19})
	for _, p := range []struct{ id, first, last string }{{hvAda, "Ada", "Lovelace"}, {hvBob, "Bob", "Tester"}} {
		l.AppendBy(person.StreamID(p.id), event.Actor{Kind: event.ActorPerson, ID: p.id}, "SignUp", person.SignedUp{PersonID: p.id,
			FirstName: p.first, LastName: p.last, Email: strings.ToLower(p.first) + "@example.com", PasswordHash: "x", TermsVersion: "t"})
	}
	acc := account.StreamID(hvAcc)
	l.AppendBy(acc, ada, "CreateBusinessAccount", account.Created{AccountID: hvAcc, SupportCode: "9XD3-BD7B", CreatorID: hvAda,
		Company: account.Company{Name: "Acme GmbH", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"}})
	l.AppendBy(acc, bob, "AcceptInvitation", account.MemberJoined{PersonID: hvBob})
	l.AppendBy(acc, ada, "ChangeRole", account.RoleChanged{PersonID: hvBob, Role: account.RoleAdmin, Note: "runs the farms", By: hvAda})

	sub := subscription.StreamID(hvSub)
	l.AppendBy(licensekey.StreamID(hvPrimary), office, "Purchase", licensekey.Issued{KeyID: hvPrimary, SubscriptionID: hvSub})
	l.AppendBy(sub, office, "Purchase", subscription.Purchased{SubscriptionID: hvSub, OrderID: "p-1", OrderDigest: hvDigest,
		ProductID: "ras", Seats: 10, Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard,
		Start: t0, End: t0.AddDate(1, 0, 0), AutoRenew: true, PrimaryKey: sealed(hvPrimary)})
	l.AppendBy(sub, ada, "RegisterKey", subscription.Registered{AccountID: hvAcc, By: hvAda})
	l.AppendBy(licensekey.StreamID(hvBerlin), ada, "CreateSublicense", licensekey.Issued{KeyID: hvBerlin, SubscriptionID: hvSub})
	l.AppendBy(sub, ada, "CreateSublicense", subscription.SublicenseCreated{Key: sealed(hvBerlin), Name: "Berlin", Quota: 4, By: hvAda})
	l.AppendBy(sub, ada, "GrantKeyAdministrator", subscription.AdministratorGranted{KeyID: hvBerlin, PersonID: hvBob, By: hvAda})

	inst := installation.StreamID(hvInst)
	l.AppendBy(inst, server, "Activate", installation.Activated{InstallationID: hvInst,
		Identity: installation.Identity{Kind: installation.Farm, ServerID: "srv-berlin", FarmName: "Berlin", AppVersion: "19.2"},
		Mode:     installation.Online, KeyID: hvPrimary, KeyHint: "YQB0X", SubscriptionID: hvSub, AccountID: hvAcc, ProductID: "ras",
		Model: product.ConcurrentUsers, Generation: 1, License: installation.License{KeyID: hvPrimary, Start: t0, End: t0.AddDate(1, 0, 0), Seats: 6, Remaining: 6}})
	l.AppendBy(licensekey.StreamID(hvPrimary), server, "Activate", licensekey.Bound{InstallationID: hvInst})
	l.AppendBy(inst, farm, "ReportUsage", installation.UsageReported{Seats: 3, ObservedAt: l.Clock.Now().Add(time.Minute), Current: true, Quota: 6})
	for range 3 {
		l.AppendBy(inst, ledger, "Revalidate", installation.Revalidated{Seats: 3, Quota: 6})
	}
	l.AppendBy(inst, farm, "ReportUsage", installation.UsageReported{Seats: 3, ObservedAt: l.Clock.Now().Add(time.Minute), Current: true, Quota: 6})
	l.AppendBy(sub, office, "AddSeats", subscription.SeatsAdded{OrderID: "p-2", OrderDigest: hvDigest, Seats: 5})
	l.AppendBy(sub, bob, "DeleteSublicense", subscription.SublicenseDeleted{KeyID: hvBerlin, By: hvBob})
	l.Rebuild()
	return l, newAudit(l, 0)
}

func historyView(t *testing.T, l *testLog, a *queries.Audit, kind queries.EntityKind, id string) queries.HistoryView {
	t.Helper()
	v, err := a.HistoryView(context.Background(), l.DB, kind, id, queries.HistoryQuery{Limit: 100}, hvAda)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// each entity's history reads as a story: labelled fields, values
// in words, names for keys, installations, accounts, products and
// people, the reader as "(you)", the admin token as such, the
// ledger's processes as "the ledger", and one farm by one name whether
// its events name its server or its ID. No IDs, digests, no-op changes
// or zero values; a run of the same check is one entry (USE-4); a
// deleted key is one line (KEY-6).
func TestHistoryView_tells_each_entity_with_names_and_labels_X1_USE4_KEY6(t *testing.T) {
	l, a := historyStory(t)

	wantLines(t, "the subscription", historyView(t, l, a, queries.KindSubscription, hvSub),
		"Subscription purchased · admin token (bootstrap) | Product: Remote Application Server; Period: 1 year; Seats: 10; Sold: Online; "+
			"Support plan: Standard; Start date: 1 Mar 2026; End date: 1 Mar 2027; Automatic renewal: on; Status: Active; "+
			"Key Primary › Type: Primary; Key Primary › Seats: 10",
		"Registered to a business account · Ada Lovelace (you) | Business account: Acme GmbH",
		"License key created · Ada Lovelace (you) | Key Berlin › Type: Reserved; Key Berlin › Seats: 4; Key Primary › Seats: 10 → 6",
		"License administrator added · Ada Lovelace (you) | Key Berlin › License administrator: Bob Tester",
		"Seats added · admin token (bootstrap) | Seats: 10 → 15; Key Primary › Seats: 6 → 11",
		"License key deleted · Bob Tester | Key Berlin: removed; Key Primary › Seats: 11 → 15")

	wantLines(t, "the farm", historyView(t, l, a, queries.KindInstallation, hvInst),
		"Activated · farm Berlin | Kind: Farm; Farm name: Berlin; Server ID: srv-berlin; App version: 19.2; Status: Active; "+
			"Activation: Online; Product: Remote Application Server; Licensing model: Concurrent users; "+
			"Subscription: Remote Application Server Subscription; License key: Primary; Business account: Acme GmbH; "+
			"Licensed seats: 6; Seats remaining: 6; License starts: 1 Mar 2026; License ends: 1 Mar 2027",
		"Usage reported · farm Berlin | In use: 0 → 3; Peak usage: 0 → 3",
		"Overuse checked again · the ledger · ×3",
		"Usage reported · farm Berlin")

	wantLines(t, "the primary key", historyView(t, l, a, queries.KindKey, hvPrimary),
		"License key issued · admin token (bootstrap)",
		"Subscription purchased · admin token (bootstrap) | Name: Primary; Type: Primary; Seats: 10; Subscription › Product: Remote Application Server; "+
			"Subscription › Period: 1 year; Subscription › Seats: 10; Subscription › Sold: Online; Subscription › Support plan: Standard; "+
			"Subscription › Start date: 1 Mar 2026; Subscription › End date: 1 Mar 2027; Subscription › Automatic renewal: on; Subscription › Status: Active",
		"Registered to a business account · Ada Lovelace (you) | Subscription › Business account: Acme GmbH",
		"License key created · Ada Lovelace (you) | Seats: 10 → 6",
		"License key activated an installation · farm Berlin | Installation: farm Berlin",
		"Seats added · admin token (bootstrap) | Seats: 6 → 11; Subscription › Seats: 10 → 15",
		"License key deleted · Bob Tester | Seats: 11 → 15")

	wantLines(t, "the deleted sublicense", historyView(t, l, a, queries.KindKey, hvBerlin),
		"License key issued · Ada Lovelace (you)",
		"License key created · Ada Lovelace (you) | Name: Berlin; Type: Reserved; Seats: 4",
		"License administrator added · Ada Lovelace (you) | License administrator: Bob Tester",
		"Seats added · admin token (bootstrap) | Subscription › Seats: 10 → 15",
		"License key deleted · Bob Tester | License key: removed")

	wantLines(t, "the account", historyView(t, l, a, queries.KindAccount, hvAcc),
		"Business account created · Ada Lovelace (you) | Company name: Acme GmbH; ZIP/postal code: 8200; Country: DE; "+
			"Phone: +41 52 672 20 30; Support code: 9XD3-BD7B; Member Ada Lovelace › Role: Account admin",
		"Member joined · Bob Tester | Member Bob Tester › Role: Regular member",
		"Member's role changed · Ada Lovelace (you) · runs the farms | Member Bob Tester › Role: Regular member → Account admin")

	wantLines(t, "a person", historyView(t, l, a, queries.KindPerson, hvBob),
		"Signed up · Bob Tester | First name: Bob; Last name: Tester; Email: bob@example.com")
}

// a page of the view holds as many entries as asked, however many
// events a run counts; the cursor goes on after the last one shown, and
// the next page starts where it ended.
func TestHistoryView_pages_by_entries_X2(t *testing.T) {
	l, a := historyStory(t)
	ctx := context.Background()
	first, err := a.HistoryView(ctx, l.DB, queries.KindInstallation, hvInst, queries.HistoryQuery{Limit: 3}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(first); len(got) != 3 || got[2] != "Overuse checked again · the ledger · ×3" || first.NextAfter == 0 {
		t.Fatalf("the first page: %q, next after %d", got, first.NextAfter)
	}
	next, err := a.HistoryView(ctx, l.DB, queries.KindInstallation, hvInst, queries.HistoryQuery{Limit: 3, After: first.NextAfter}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(next); !slices.Equal(got, []string{"Usage reported · farm Berlin"}) || next.NextAfter != 0 {
		t.Fatalf("the next page: %q, next after %d", got, next.NextAfter)
	}
	if _, err := a.HistoryView(ctx, l.DB, queries.KindInstallation, hvInst, queries.HistoryQuery{Limit: 1001}, ""); err == nil {
		t.Error("a page of 1001 entries was read")
	}
}

// the names of a history are looked up only for what the page
// refers to: a person of the directory who has nothing to do with it is
// not named, so that a reader learns nothing outside what they may read.
func TestNameHistory_looks_up_only_what_the_page_refers_to_X5(t *testing.T) {
	l, a := historyStory(t)
	page, err := a.History(context.Background(), queries.KindInstallation, hvInst, queries.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	names, err := queries.NameHistory(context.Background(), l.DB, page)
	if err != nil {
		t.Fatal(err)
	}
	if len(names.People) != 0 || names.Keys[hvPrimary] != "Primary" || names.Keys[hvBerlin] != "" || names.Accounts[hvAcc] != "Acme GmbH" ||
		names.Installations[hvInst].Name != "farm Berlin" || names.Installations[hvInst].Server != "farm/srv-berlin" {
		t.Errorf("names of the farm's history: %+v", names)
	}
}

// change is a FieldChange of JSON values.
func change(field, from, to string) queries.FieldChange {
	return queries.FieldChange{Field: field, From: json.RawMessage(from), To: json.RawMessage(to)}
}

// a change that changes nothing a person sees is left out: null →
// null, "" → null, a zero time → null, a container whose fields are
// listed, IDs and digests; a new entity's zero values are no values; a
// number that counts nothing yet (a grace's quota) is none; a count that
// falls to 0 stays, and a text cleared reads "→ none".
func TestDescribeHistory_leaves_out_no_ops_zero_values_and_IDs_X1(t *testing.T) {
	t.Parallel()
	page := queries.HistoryPage{Kind: queries.KindSubscription, ID: hvSub, Events: []queries.AuditEvent{
		{Type: "subscription.purchased", Version: 1, Actor: event.Actor{Kind: event.ActorBackOffice, ID: "orders"}, Changes: []queries.FieldChange{
			change("auto_renew", "false", "false"), change("cancelled", "false", "false"),
			change("channel", `""`, `"reseller"`), change("id", `""`, `"`+hvSub+`"`), change("keys", "null", "null"),
			change("keys."+hvPrimary+".administrators", "null", "null"), change("keys."+hvPrimary+".expires_at", "null", "null"),
			change("keys."+hvPrimary+".hint", "null", `"YQB0X"`), change("keys."+hvPrimary+".id", "null", `"`+hvPrimary+`"`),
			change("licensed_major", "0", "0"), change("orders", "null", "null"), change("orders.p-1", "null", `"`+hvDigest+`"`),
			change("primary_key_id", `""`, `"`+hvPrimary+`"`), change("seats", "0", "10"),
			change("start", `"0001-01-01T00:00:00Z"`, `"2026-03-01T09:00:00Z"`), change("insurance_end", `"0001-01-01T00:00:00Z"`, "null"),
		}},
		{Type: "subscription.renamed", Version: 7, Actor: event.Actor{Kind: event.ActorPerson, ID: hvAda}, Changes: []queries.FieldChange{
			change("name", `""`, `"Head office"`), change("end", `"2027-03-01T09:00:00Z"`, `"0001-01-01T00:00:00Z"`),
			change("seats", "10", "0"), change("licensed_major", "0", "20"),
			change("insurance_end", `"0001-01-01T00:00:00Z"`, "null"), change("keys."+hvPrimary+".expires_at", "null", "null"),
			change("start", `"2026-03-01T09:00:00Z"`, `"2026-03-01T09:00:00.000+00:00"`),
		}},
		{Type: "subscription.renamed", Version: 8, Actor: event.Actor{Kind: event.ActorPerson, ID: hvAda}, Changes: []queries.FieldChange{
			change("name", `"Head office"`, `""`),
		}},
	}}
	got := queries.DescribeHistory(page, queries.HistoryNames{People: map[string]string{hvAda: "Ada Lovelace"}})
	wantLines(t, "the subscription", got,
		"Subscription purchased · the back office | Seats: 10; Sold: Through a reseller; Start date: 1 Mar 2026",
		"Subscription renamed · Ada Lovelace | Display name: Head office; Seats: 10 → 0; End date: 1 Mar 2027 → none; Licensed major version: 20",
		"Subscription renamed · Ada Lovelace | Display name: Head office → none")
}

// who did it is named the same way throughout: an installation by
// its farm's or proxy server's name whether its events name it by its ID
// or by its server (an activation's), a server the read store does not
// know by its own name, a person by their name, the reader "(you)", the
// admin token "admin token (bootstrap)", the ledger's processes "the ledger"; what has no
// name is told by what it is, never by its ID.
func TestDescribeHistory_names_every_actor_consistently_X1(t *testing.T) {
	t.Parallel()
	actors := []event.Actor{
		{Kind: event.ActorInstallation, ID: "farm/srv-berlin"},
		{Kind: event.ActorInstallation, ID: hvInst},
		{Kind: event.ActorInstallation, ID: "proxy_server/ZRH/px1"},
		{Kind: event.ActorInstallation, ID: "farm/srv-9"},
		{Kind: event.ActorInstallation, ID: "0190c3f2-0000-7000-8000-000000000999"},
		{Kind: event.ActorPerson, ID: hvAda},
		{Kind: event.ActorPerson, ID: hvBob},
		{Kind: event.ActorPerson, ID: "0190c3f2-0000-7000-8000-000000000998"},
		{Kind: event.ActorBackOffice, ID: "admin-token"},
		{Kind: event.ActorProcess, ID: "subscription-lifecycle"},
	}
	page := queries.HistoryPage{Kind: queries.KindInstallation, ID: hvInst}
	for i, a := range actors {
		page.Events = append(page.Events, queries.AuditEvent{Type: "installation.notes_set", Version: uint64(i + 2), Actor: a,
			Changes: []queries.FieldChange{change("notes", `""`, `"note `+string(rune('a'+i))+`"`)}})
	}
	names := queries.HistoryNames{Me: hvBob, People: map[string]string{hvAda: "Ada Lovelace", hvBob: "Bob Tester"},
		Installations: map[string]queries.InstallationName{hvInst: {Name: "farm Berlin", Server: "farm/srv-berlin"}}}
	var who []string
	for _, e := range queries.DescribeHistory(page, names).Entries {
		who = append(who, e.Who)
	}
	want := []string{"farm Berlin", "farm Berlin", "proxy server px1", "farm srv-9", "an installation",
		"Ada Lovelace", "Bob Tester (you)", "someone", "admin token (bootstrap)", "the ledger"}
	if !slices.Equal(who, want) {
		t.Errorf("actors:\n got %q\nwant %q", who, want)
	}
}

// USE-4: the ledger re-checks a suspended farm every 20 minutes; a run
// of checks that change nothing is one entry that counts them, from the
// first to the last, and anything else in between ends the run.
func TestDescribeHistory_counts_a_run_of_the_same_check_USE4(t *testing.T) {
	t.Parallel()
	ledger := event.Actor{Kind: event.ActorProcess, ID: "installation-manager"}
	check := func(minutes int) queries.AuditEvent {
		at := t0.Add(time.Duration(minutes) * time.Minute)
		return queries.AuditEvent{Type: "installation.overuse_revalidated", Version: 9, Actor: ledger, EffectiveAt: at, RecordedAt: at}
	}
	notes := check(70)
	notes.Type, notes.Changes = "installation.notes_set", []queries.FieldChange{change("notes", `""`, `"rack 4"`)}
	page := queries.HistoryPage{Kind: queries.KindInstallation, ID: hvInst,
		Events: []queries.AuditEvent{check(20), check(40), check(60), notes, check(80)}}
	v := queries.DescribeHistory(page, queries.HistoryNames{})
	if len(v.Entries) != 3 {
		t.Fatalf("entries: %q", lines(v))
	}
	if e := v.Entries[0]; e.Count != 3 || e.When() != "3 times, 1 Mar 2026 09:20 UTC – 1 Mar 2026 10:00 UTC" {
		t.Errorf("the run: %d, %q", e.Count, e.When())
	}
	if e := v.Entries[2]; e.Count != 1 || e.When() != "1 Mar 2026 10:20 UTC" {
		t.Errorf("the check after the notes: %d, %q", e.Count, e.When())
	}
}

// KEY-6: a deleted key is one line, named by the name it had (its
// deletion's from-values) when the read store has it no more; a key
// nobody named is "A license key", never its ID.
func TestDescribeHistory_a_deleted_key_is_one_line_KEY6(t *testing.T) {
	t.Parallel()
	page := queries.HistoryPage{Kind: queries.KindSubscription, ID: hvSub, Events: []queries.AuditEvent{
		{Type: "subscription.sublicense_changed", Version: 5, Changes: []queries.FieldChange{
			change("keys.k-unnamed.quota", "2", "3")}},
		{Type: "subscription.sublicense_deleted", Version: 6, Changes: []queries.FieldChange{
			change("keys."+hvBerlin+".id", `"`+hvBerlin+`"`, "null"), change("keys."+hvBerlin+".name", `"Berlin"`, "null"),
			change("keys."+hvBerlin+".quota", "4", "null"), change("keys."+hvBerlin+".type", `"reserved"`, "null"),
			change("keys."+hvPrimary+".quota", "6", "10")}},
	}}
	v := queries.DescribeHistory(page, queries.HistoryNames{Keys: map[string]string{hvPrimary: "Primary"}})
	wantLines(t, "the deletion", v,
		"License key changed · someone | A license key › Seats: 2 → 3",
		"License key deleted · someone | Key Berlin: removed; Key Primary › Seats: 6 → 10")
}

// USE-1: a farm reports at least every 20 minutes; reports that change
// nothing people see (only the report's own time) are one entry that
// counts them, and a page reads as many events as its entries need, up
// to its bound: here the page of 3 entries ends within the run, and the
// next page goes on counting it.
func TestHistoryView_counts_reports_that_change_nothing_seen_USE1(t *testing.T) {
	l := newTestLog(t, sqldbtest.SQLite(t), projections.Licenses{}, projections.Installations{})
	stream := installation.StreamID("inst-r")
	l.Append(stream, farmActivated("inst-r", "Rome", "key-r", "s-r", "acc-1", 10, at(365*day)))
	l.Append(stream, installation.UsageReported{Seats: 4, Quota: 10, ObservedAt: l.Clock.Now(), Current: true})
	reports := make([]any, 150)
	for i := range reports {
		reports[i] = installation.UsageReported{Seats: 4, Quota: 10, ObservedAt: l.Clock.Now().Add(time.Duration(i) * time.Second), Current: true}
	}
	l.Append(stream, reports...)
	l.Rebuild()
	a := newAudit(l, 0)
	ctx := context.Background()
	first, err := a.HistoryView(ctx, l.DB, queries.KindInstallation, "inst-r", queries.HistoryQuery{Limit: 3}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := lines(first)
	if len(got) != 3 || got[1] != "Usage reported · the ledger | In use: 0 → 4; Peak usage: 0 → 4" ||
		!strings.HasPrefix(got[2], "Usage reported · the ledger · ×") || first.NextAfter == 0 {
		t.Fatalf("the first page: %q, next after %d", got, first.NextAfter)
	}
	counted := first.Entries[2].Count
	if counted < 90 || counted >= 150 {
		t.Errorf("the first page counts %d of the 150 reports", counted)
	}
	next, err := a.HistoryView(ctx, l.DB, queries.KindInstallation, "inst-r", queries.HistoryQuery{Limit: 3, After: first.NextAfter}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Entries) != 1 || next.Entries[0].Count != 150-counted || next.NextAfter != 0 {
		t.Errorf("the next page: %q, next after %d", lines(next), next.NextAfter)
	}
}

// X-1: a new part's name is its other changes' label ("Key Berlin ›
// Seats: 4"), so it is not listed again, unless it is all there is to
// tell (an API token has a name only).
func TestDescribeHistory_names_a_new_part_once_X1(t *testing.T) {
	t.Parallel()
	page := queries.HistoryPage{Kind: queries.KindPerson, ID: hvAda, Events: []queries.AuditEvent{
		{Type: "person.api_token_issued", Version: 4, Actor: event.Actor{Kind: event.ActorPerson, ID: hvAda}, Changes: []queries.FieldChange{
			change("tokens.tok-1.name", "null", `"e2e"`), change("tokens.tok-1.token_id", "null", `"tok-1"`)}},
		{Type: "person.api_token_revoked", Version: 5, Actor: event.Actor{Kind: event.ActorPerson, ID: hvAda}, Changes: []queries.FieldChange{
			change("tokens.tok-1.name", `"e2e"`, "null"), change("tokens.tok-1.token_id", `"tok-1"`, "null")}},
	}}
	wantLines(t, "the tokens", queries.DescribeHistory(page, queries.HistoryNames{People: map[string]string{hvAda: "Ada Lovelace"}, Me: hvAda}),
		"API token created · Ada Lovelace (you) | API token e2e › Name: e2e",
		"API token revoked · Ada Lovelace (you) | API token e2e: removed")
}
