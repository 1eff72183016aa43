package queries_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// instNow is the time the tests evaluate the expiry filters at (INST-2).
var instNow = at(10 * day)

// instLog runs the licenses and installations projections; it remembers
// when each installation was activated and its reports received.
type instLog struct {
	*testLog
	activated map[string]time.Time
	received  map[string]time.Time // the last current report of each installation
}

func newInstLog(tb testing.TB, target sqldb.Target) *instLog {
	return &instLog{testLog: newTestLog(tb, target, projections.Licenses{}, projections.Installations{}),
		activated: map[string]time.Time{}, received: map[string]time.Time{}}
}

// inst appends payloads to installation id's stream and notes the time of
// its first activation and of a current report.
func (l *instLog) inst(id string, payloads ...any) {
	l.TB.Helper()
	l.Append(installation.StreamID(id), payloads...)
	for _, p := range payloads {
		switch e := p.(type) {
		case installation.Activated:
			if _, ok := l.activated[id]; !ok {
				l.activated[id] = l.Clock.Now()
			}
		case installation.UsageReported:
			if e.Current {
				l.received[id] = l.Clock.Now()
			}
		}
	}
}

// report appends a usage report of id observed at observed (zero: when
// received).
func (l *instLog) report(id string, seats, quota int, observed time.Time, current bool) {
	if observed.IsZero() {
		observed = l.Clock.Now().Add(time.Minute) // the append's time
	}
	l.inst(id, installation.UsageReported{Seats: seats, ObservedAt: observed, Current: current, Quota: quota})
}

// farmActivated is the first activation of farm id named name with key keyID.
func farmActivated(id, name, keyID, sub, account string, seats int, end time.Time) installation.Activated {
	return installation.Activated{InstallationID: id,
		Identity: installation.Identity{Kind: installation.Farm, ServerID: "srv-" + id, FarmName: name, AppVersion: "5.1"},
		Mode:     installation.Online, KeyID: keyID, KeyHint: "H" + strings.ToUpper(keyID), SubscriptionID: sub, AccountID: account,
		ProductID: "farms", Model: product.ConcurrentUsers, Generation: 1,
		License: installation.License{KeyID: keyID, Start: t0, End: end, Seats: seats}}
}

// proxyActivated is the first activation of proxy server id.
func proxyActivated(id, name, site, description string, offlineUse bool, mode installation.Mode, keyID string, seats int) installation.Activated {
	return installation.Activated{InstallationID: id,
		Identity: installation.Identity{Kind: installation.ProxyServer, ServerName: name, SiteCode: site, SiteDescription: description,
			AppVersion: "7.0", OfflineUse: offlineUse},
		Mode: mode, KeyID: keyID, KeyHint: "H" + strings.ToUpper(keyID), SubscriptionID: "d", AccountID: "acc-1",
		ProductID: "proxy", Model: product.ManagedComputers, Generation: 1,
		License: installation.License{KeyID: keyID, Start: t0, End: time.Time{}, Seats: seats}}
}

// installations1 appends acc-1's subscriptions and installations; the
// filters are evaluated at instNow = t0+10d.
//
//	farms     license end  status                 key (subscription)     usage
//	f-eps     t0+365d      deactivated (portal)   key-a-p (a)            7
//	f-alpha   t0+365d      active                 key-a-p (a)            1, peak 12 (reports below)
//	f-beta    t0+20d       active, expiring       key-a-1 (a, quota 10)  4, peak 6
//	f-gamma   t0−25d       suspended, expired     key-a-2 (a, quota 5)   9
//	f-delta   t0+15d       deactivated, expired   key-x-p (x: expired)   0
//	f-pend    t0+365d      deactivation_pending   key-a-3 (a, quota 5)   2
//	f-eta     t0+5d        active, expiring       key-b-p (b: in grace)  0
//	f-other   of acc-2
//	p-one     permanent    active, offline mode   key-d-p (d)            120 of 150
//	p-two     permanent    active, over limit     key-d-1 (d, quota 50)  55 of 50
func installations1(l *instLog) {
	l.Append(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5})
	l.Append(product.StreamID("proxy"), product.Defined{ProductID: "proxy", Name: "MDM Proxy", Model: product.ManagedComputers, MajorVersion: 7})
	reg := subscription.Registered{AccountID: "acc-1", By: "p-1"}
	sub := func(id string, payloads ...any) { l.Append(subscription.StreamID(id), payloads...) }
	sub("a", purchased("a", "farms", 60, subscription.Year, subscription.Online, at(365*day)), reg,
		subscription.SublicenseCreated{Key: sealed("key-a-1"), Name: "Berlin", Quota: 10, By: "p-1"},
		subscription.SublicenseCreated{Key: sealed("key-a-2"), Name: "Cologne", Quota: 5, By: "p-1"},
		subscription.SublicenseCreated{Key: sealed("key-a-3"), Name: "Dresden", Quota: 5, By: "p-1"})
	sub("b", purchased("b", "farms", 5, subscription.Month, subscription.Online, at(5*day)), reg, subscription.GraceStarted{End: at(5 * day)})
	sub("x", purchased("x", "farms", 5, subscription.Year, subscription.Online, at(5*day)), reg,
		subscription.GraceStarted{End: at(5 * day)}, subscription.Expired{End: at(5 * day)})
	sub("d", purchased("d", "proxy", 200, subscription.Permanent, subscription.Reseller, time.Time{}), reg,
		subscription.SublicenseCreated{Key: sealed("key-d-1"), Name: "Hamburg", Quota: 50, By: "p-1"})
	sub("f", purchased("f", "farms", 7, subscription.Year, subscription.Online, at(365*day)), subscription.Registered{AccountID: "acc-2", By: "p-9"})

	l.inst("f-eps", farmActivated("f-eps", "Epsilon", "key-a-p", "a", "acc-1", 40, at(365*day)))
	l.report("f-eps", 7, 40, time.Time{}, true)
	l.inst("f-eps", installation.DeactivationRequested{By: "p-1"}, installation.Deactivated{Reason: installation.ByPortal, Mode: installation.Online})
	l.inst("f-alpha", farmActivated("f-alpha", "Alpha", "key-a-p", "a", "acc-1", 40, at(365*day)),
		installation.NotesSet{Notes: `Main farm, "2nd" floor`, By: "p-1"})
	l.inst("f-beta", farmActivated("f-beta", "beta", "key-a-1", "a", "acc-1", 10, at(20*day)))
	l.report("f-beta", 4, 10, time.Time{}, true)
	l.inst("f-beta", installation.NotesSet{Notes: "=SUM(A1)", By: "p-1"})
	l.report("f-beta", 6, 10, t0, false) // late: it moves the peak only (USE-1)
	l.inst("f-gamma", farmActivated("f-gamma", "Gamma", "key-a-2", "a", "acc-1", 5, at(-25*day)))
	l.report("f-gamma", 9, 5, time.Time{}, true)
	l.inst("f-gamma", installation.GraceStarted{Seats: 9, Quota: 5, Ends: at(7 * day)},
		installation.OveruseDetected{Seats: 9, Quota: 5, DeactivateAt: at(8 * day)}, installation.Suspended{Seats: 9, Quota: 5})
	gammaAgain := farmActivated("f-gamma", "Gamma", "key-a-2", "a", "acc-1", 5, at(-25*day))
	gammaAgain.Identity.AppVersion = "5.2" // a repeated activation lifts no suspension (USE-4)
	l.inst("f-gamma", gammaAgain)
	l.inst("f-delta", farmActivated("f-delta", "delta", "key-x-p", "x", "acc-1", 5, at(15*day)))
	again := farmActivated("f-delta", "delta", "key-x-p", "x", "acc-1", 5, at(15*day))
	again.Identity.AppVersion = "5.2" // a repeated activation: a new app version, the same generation
	l.inst("f-delta", again, installation.Deactivated{Reason: installation.SubscriptionEnd, Mode: installation.Online})
	l.inst("f-pend", farmActivated("f-pend", "pending", "key-a-3", "a", "acc-1", 5, at(365*day)))
	l.report("f-pend", 2, 5, time.Time{}, true)
	l.inst("f-pend", installation.DeactivationRequested{By: "p-1"})
	l.inst("f-pend", farmActivated("f-pend", "pending", "key-a-3", "a", "acc-1", 5, at(365*day))) // nor a pending deactivation (ACT-7)
	l.inst("f-eta", farmActivated("f-eta", "Eta", "key-b-p", "b", "acc-1", 5, at(5*day)))
	l.inst("f-other", farmActivated("f-other", "Other", "key-f-p", "f", "acc-2", 7, at(365*day)))

	l.inst("p-one", proxyActivated("p-one", "Proxy-One", "BER", "Berlin, HQ", false, installation.Offline, "key-d-p", 150))
	l.report("p-one", 120, 150, time.Time{}, true)
	l.inst("p-two", proxyActivated("p-two", "proxy two", "HAM", `=HYPERLINK("x")`, true, installation.Online, "key-d-1", 50))
	l.report("p-two", 55, 50, time.Time{}, true)
	l.inst("p-two", installation.OverLimitStarted{AccountID: "acc-1", Computers: 55, Quota: 50}, installation.NotesSet{Notes: "Rack 4", By: "p-1"})

	// f-alpha's reports (USE-1, USE-2): three current ones over two days,
	// then one that arrives late, observed on the first day, with the
	// highest usage of all, then one observed earlier still on that day,
	// then a current one again. The quota grew on the first day: each day
	// keeps the one of its latest-observed report (USE-3).
	d1, d2 := at(day+time.Hour), at(2*day) // 2026-03-02 10:00, 2026-03-03 09:00
	l.Clock.Set(d1.Add(-time.Minute))
	l.report("f-alpha", 5, 30, d1, true)
	l.Clock.Set(d1.Add(2*time.Hour - time.Minute))
	l.report("f-alpha", 8, 35, d1.Add(2*time.Hour), true)
	l.Clock.Set(d2.Add(-time.Minute))
	l.report("f-alpha", 3, 40, d2, true)
	l.Clock.Set(d2.Add(time.Hour - time.Minute))
	l.inst("f-alpha", installation.UsageReported{Seats: 12, ObservedAt: d1.Add(5 * time.Hour), Current: false, Quota: 37})
	l.Clock.Set(d2.Add(90*time.Minute - time.Minute))
	l.inst("f-alpha", installation.UsageReported{Seats: 2, ObservedAt: d1.Add(time.Hour), Current: false, Quota: 38})
	l.Clock.Set(d2.Add(2*time.Hour - time.Minute))
	l.report("f-alpha", 1, 40, d2.Add(2*time.Hour), true)
	l.Rebuild()
}

func installationIDs(list []queries.InstallationSummary) string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.InstallationID
	}
	return strings.Join(ids, ",")
}

func listInstallations(t *testing.T, db queries.DB, f queries.InstallationsFilter) string {
	t.Helper()
	page, err := queries.Installations(context.Background(), db, f)
	if err != nil {
		t.Fatalf("%+v: %v", f, err)
	}
	return installationIDs(page.Installations)
}

// Rule INST-2: the lists filter on all, active, expiring soon (the
// license ends within 30 days, or ended less than the 30-day grace ago),
// expired (more than the grace ago, or the subscription is expired) and
// deactivated; they sort by activation date (newest first by default)
// or by name ignoring case. X-5: nothing of another account.
func TestInstallations_filters_and_sorts_INST2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		l := newInstLog(t, target)
		installations1(l)
		farms := func(status, sort string) queries.InstallationsFilter {
			return queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", Status: status, Sort: sort, Now: instNow}
		}
		for _, c := range []struct {
			f    queries.InstallationsFilter
			want string
		}{
			// Activated in this order: eps, alpha, beta, gamma, delta, pend, eta.
			{farms("", ""), "f-eta,f-pend,f-delta,f-gamma,f-beta,f-alpha,f-eps"},
			{farms("all", "activated"), "f-eps,f-alpha,f-beta,f-gamma,f-delta,f-pend,f-eta"},
			{farms("all", "name"), "f-alpha,f-beta,f-delta,f-eps,f-eta,f-gamma,f-pend"}, // Alpha, beta, delta, Epsilon, Eta, Gamma, pending
			{farms("all", "-name"), "f-pend,f-gamma,f-eta,f-eps,f-delta,f-beta,f-alpha"},
			{farms("active", ""), "f-eta,f-pend,f-beta,f-alpha"}, // ACT-7: pending is listed as active
			{farms("expiring", ""), "f-eta,f-beta"},              // beta ends at t0+20d; eta ended at t0+5d, in its grace
			{farms("expired", ""), "f-delta,f-gamma"},            // delta: subscription x expired; gamma: ended t0−25d
			{farms("deactivated", "name"), "f-delta,f-eps"},
			{queries.InstallationsFilter{AccountID: "acc-1", Kind: "proxy_server"}, "p-two,p-one"},
			{queries.InstallationsFilter{AccountID: "acc-1", Kind: "proxy_server", Sort: "name"}, "p-two,p-one"}, // "proxy two" < "proxy-one"
			{queries.InstallationsFilter{AccountID: "acc-2", Kind: "farm"}, "f-other"},
			{queries.InstallationsFilter{AccountID: "acc-3", Kind: "farm"}, ""},
		} {
			if got := listInstallations(t, l.DB, c.f); got != c.want {
				t.Errorf("%s %s by %q: %s, want %s (INST-2)", c.f.Kind, c.f.Status, c.f.Sort, got, c.want)
			}
		}
		// Later, beta's license has ended more than 30 days ago: expired.
		later := farms("expired", "name")
		later.Now = at(51 * day)
		if got := listInstallations(t, l.DB, later); got != "f-beta,f-delta,f-eta,f-gamma" {
			t.Errorf("expired at t0+51d: %s", got)
		}
		page, err := queries.Installations(context.Background(), l.DB, farms("", ""))
		if err != nil || page.Next != "" || page.Installations == nil {
			t.Fatalf("one page: next %q, %v", page.Next, err)
		}
		if js, _ := json.Marshal(page); !strings.Contains(string(js), `"installations":[{"installation_id":"f-eta"`) ||
			strings.Contains(string(js), `"next"`) {
			t.Fatalf("page as JSON: %s", js)
		}
	})
}

// Rule INST-2: paging with cursors gives each row once, in order, on
// both sorts and directions; a cursor is bound to its sort.
func TestInstallations_paging(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newInstLog(t, target)
		installations1(l)
		for _, sort := range []string{"", "activated", "name", "-name", "-activated"} {
			f := queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", Sort: sort}
			want := listInstallations(t, l.DB, f)
			var got []string
			f.Limit = 2
			for pages := 0; ; pages++ {
				page, err := queries.Installations(ctx, l.DB, f)
				if err != nil || pages > 5 {
					t.Fatalf("by %q, page %d: %v", sort, pages, err)
				}
				if len(page.Installations) > 2 {
					t.Fatalf("by %q: a page of %d", sort, len(page.Installations))
				}
				got = append(got, installationIDs(page.Installations))
				if page.Next == "" {
					break
				}
				f.After = page.Next
			}
			if strings.Join(got, ",") != want {
				t.Errorf("pages by %q: %s, want %s", sort, strings.Join(got, ","), want)
			}
		}
		first, err := queries.Installations(ctx, l.DB, queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", Sort: "name", Limit: 3})
		if err != nil || first.Next == "" {
			t.Fatalf("first page by name: %v", err)
		}
		if _, err := queries.Installations(ctx, l.DB, queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", After: first.Next}); !errors.Is(err, queries.ErrInvalidFilter) {
			t.Errorf("a cursor of the name sort used by activation date: %v, want ErrInvalidFilter", err)
		}
	})
}

// Invalid filters, sorts, cursors and columns are refused with
// ErrInvalidFilter, before anything is written.
func TestInstallations_invalid_filters(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t, sqldbtest.SQLite(t))
	ok := queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", Now: instNow}
	for _, change := range []func(f *queries.InstallationsFilter){
		func(f *queries.InstallationsFilter) { f.AccountID = "" },
		func(f *queries.InstallationsFilter) { f.Kind = "" },
		func(f *queries.InstallationsFilter) { f.Kind = "farms" },
		func(f *queries.InstallationsFilter) { f.Status = "bogus" },
		func(f *queries.InstallationsFilter) { f.Status, f.Now = "expiring", time.Time{} },
		func(f *queries.InstallationsFilter) { f.Sort = "bogus" },
		func(f *queries.InstallationsFilter) { f.Sort = "--name" },
		func(f *queries.InstallationsFilter) { f.Sort = "Name" },
		func(f *queries.InstallationsFilter) { f.After = "garbage!" },
		func(f *queries.InstallationsFilter) { f.After = "e30" }, // {}
		func(f *queries.InstallationsFilter) { f.IDs = make([]string, queries.MaxInstallationIDs+1) },
	} {
		f := ok
		change(&f)
		if _, err := queries.Installations(ctx, db, f); !errors.Is(err, queries.ErrInvalidFilter) {
			t.Errorf("%+v: %v, want ErrInvalidFilter", f, err)
		}
	}
	if _, err := queries.Installations(ctx, db, ok); err != nil {
		t.Fatalf("a valid filter: %v", err)
	}
	for _, cols := range [][]string{{"bogus"}, {"site_code"}, {"notes", "notes"}, {"Farm name"}} {
		var w bytes.Buffer
		if err := queries.ExportInstallationsCSV(ctx, db, ok, cols, &w); !errors.Is(err, queries.ErrInvalidFilter) || w.Len() != 0 {
			t.Errorf("columns %q: %v, %q written, want ErrInvalidFilter and nothing", cols, err, w.String())
		}
	}
	if cols := queries.InstallationCSVColumns("proxy_server"); len(cols) != 11 || cols[0] != "server_name" || cols[10] != "notes" {
		t.Errorf("proxy server columns: %q", cols)
	}
}

// Rules INST-1, INST-3: a selection of rows (another account's IDs
// select nothing, X-5), and its CSV export with the chosen columns in the
// chosen order, a header first; quotes and commas are escaped and a text
// a spreadsheet would read as a formula is prefixed with an apostrophe.
func TestInstallations_selection_and_CSV_export_INST1_INST3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newInstLog(t, target)
		installations1(l)
		sel := queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", IDs: []string{"f-beta", "f-other", "f-alpha", "nope"}, Sort: "name"}
		if got := listInstallations(t, l.DB, sel); got != "f-alpha,f-beta" {
			t.Fatalf("selection: %s, want f-alpha,f-beta", got)
		}
		var w bytes.Buffer
		if err := queries.ExportInstallationsCSV(ctx, l.DB, sel, []string{"farm_name", "activation_key", "peak_usage", "latest_report_date", "notes", "status"}, &w); err != nil {
			t.Fatal(err)
		}
		want := "Farm name,Activation key,Peak usage,Latest report date,Notes,Status\n" +
			`Alpha,HKEY-A-P,12,2026-03-03T11:00:00Z,"Main farm, ""2nd"" floor",active` + "\n" +
			"beta,HKEY-A-1,6," + l.received["f-beta"].Format(time.RFC3339) + ",'=SUM(A1),active\n"
		if w.String() != want {
			t.Fatalf("farms CSV:\n got %q\nwant %q", w.String(), want)
		}

		// Every column of the farms list, in its order, when none is chosen.
		w.Reset()
		one := queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", IDs: []string{"f-gamma"}}
		if err := queries.ExportInstallationsCSV(ctx, l.DB, one, nil, &w); err != nil {
			t.Fatal(err)
		}
		// Quota and Used are ours (USE-3: the list shows an overuse).
		want = "Activation key,Farm name,Status,Quota,Used,Server ID,App version,Activation date,Latest report date,Peak usage,Notes\n" +
			"HKEY-A-2,Gamma,suspended,5,9,srv-f-gamma,5.2," + l.activated["f-gamma"].Format(time.RFC3339) + "," +
			l.received["f-gamma"].Format(time.RFC3339) + ",9,\n"
		if w.String() != want {
			t.Fatalf("every farm column:\n got %q\nwant %q", w.String(), want)
		}

		w.Reset()
		proxies := queries.InstallationsFilter{AccountID: "acc-1", Kind: "proxy_server"}
		if err := queries.ExportInstallationsCSV(ctx, l.DB, proxies, queries.InstallationCSVColumns("proxy_server"), &w); err != nil {
			t.Fatal(err)
		}
		want = "Server name,License key,Site code,Site description,Offline use,App version,Activation date,Last report date,Max managed computers,Registered computers,Notes\n" +
			`proxy two,HKEY-D-1,HAM,"'=HYPERLINK(""x"")",true,7.0,` + l.activated["p-two"].Format(time.RFC3339) + "," +
			l.received["p-two"].Format(time.RFC3339) + ",50,55,Rack 4\n" +
			`Proxy-One,HKEY-D-P,BER,"Berlin, HQ",true,7.0,` + l.activated["p-one"].Format(time.RFC3339) + "," +
			l.received["p-one"].Format(time.RFC3339) + ",150,120,\n"
		if w.String() != want {
			t.Fatalf("proxy servers CSV:\n got %q\nwant %q", w.String(), want)
		}

		// A selection of nothing of the account's: the header alone.
		w.Reset()
		none := queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", IDs: []string{"f-other"}}
		if err := queries.ExportInstallationsCSV(ctx, l.DB, none, []string{"farm_name"}, &w); err != nil || w.String() != "Farm name\n" {
			t.Fatalf("another account's selection: %q, %v", w.String(), err)
		}
	})
}

// Rules INST-4, USE-1, USE-2: an installation's details are the list's
// fields, its notes and its usage history by day. A report that arrives
// out of order (observed before the last current one) does not move
// current usage or the last report date, but raises its own day's peak
// and the overall peak (choice).
func TestInstallations_details_and_usage_history_INST4_USE1_USE2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newInstLog(t, target)
		installations1(l)
		d, err := queries.InstallationDetails(ctx, l.DB, "f-alpha", instNow)
		if err != nil {
			t.Fatal(err)
		}
		d1, d2 := at(day+time.Hour), at(2*day)
		last := d2.Add(2 * time.Hour)
		want := queries.InstallationDetail{
			InstallationSummary: queries.InstallationSummary{InstallationID: "f-alpha", AccountID: "acc-1", SubscriptionID: "a",
				ProductID: "farms", Kind: "farm", KeyID: "key-a-p", KeyHint: "HKEY-A-P", ServerID: "srv-f-alpha", FarmName: "Alpha",
				AppVersion: "5.1", Status: "active", ActivatedAt: l.activated["f-alpha"], LastReportAt: &last, CurrentUsage: 1,
				PeakUsage: 12, Quota: 40, Notes: `Main farm, "2nd" floor`, LicenseEnd: atp(365 * day), Standing: queries.StandingActive},
			LastObservedAt: &last,
			Usage: []queries.UsageDay{
				// 5 and 8, then 12 received at d2+1h and observed on
				// 2026-03-02 at 15:00 (quota 37), then 2 received at
				// d2+1h30 and observed before it (quota 38: not the day's).
				{Day: "2026-03-02", Peak: 12, LastReportAt: d2.Add(90 * time.Minute), LastObservedAt: d1.Add(5 * time.Hour), Quota: ptr(37)},
				// 3, then 1.
				{Day: "2026-03-03", Peak: 3, LastReportAt: last, LastObservedAt: last, Quota: ptr(40)},
			},
		}
		if !reflect.DeepEqual(d, want) {
			t.Fatalf("details of f-alpha:\n got %+v\nwant %+v", d, want)
		}
		js, _ := json.Marshal(d)
		for _, field := range []string{`"installation_id":"f-alpha"`, `"account_id":"acc-1"`, `"peak_usage":12`, `"current_usage":1`,
			`"usage":[{"day":"2026-03-02","peak":12,`, `"quota":37}`, `"grace_ends":null`, `"over":0,"standing":"active"`} {
			if !strings.Contains(string(js), field) {
				t.Errorf("details as JSON lack %s: %s", field, js)
			}
		}

		// A repeated activation keeps the activation date and takes the
		// new app version; a deactivation keeps the usage.
		delta, err := queries.InstallationDetails(ctx, l.DB, "f-delta", instNow)
		if err != nil || delta.AppVersion != "5.2" || !delta.ActivatedAt.Equal(l.activated["f-delta"]) || delta.Status != "deactivated" ||
			delta.LastReportAt != nil || len(delta.Usage) != 0 || delta.Usage == nil {
			t.Fatalf("f-delta: %+v, %v", delta, err)
		}
		// Overuse (USE-3, USE-4, USE-6) and offline use (ACT-2).
		gamma, err := queries.InstallationDetails(ctx, l.DB, "f-gamma", instNow)
		if err != nil || gamma.Status != "suspended" || gamma.GraceEnds == nil || !gamma.GraceEnds.Equal(at(7*day)) || gamma.Quota != 5 ||
			gamma.AppVersion != "5.2" || !gamma.ActivatedAt.Equal(l.activated["f-gamma"]) || gamma.Over != 4 || gamma.Standing != queries.StandingSuspended {
			t.Fatalf("f-gamma: %+v, %v", gamma, err)
		}
		two, err := queries.InstallationDetails(ctx, l.DB, "p-two", instNow)
		if err != nil || !two.OverLimit || !two.OfflineUse || two.LicenseEnd != nil || two.CurrentUsage != 55 || two.Quota != 50 ||
			two.Over != 5 || two.Standing != queries.StandingOverLimit {
			t.Fatalf("p-two: %+v, %v", two, err)
		}
		if one, err := queries.InstallationDetails(ctx, l.DB, "p-one", instNow); err != nil || !one.OfflineUse || one.OverLimit {
			t.Fatalf("p-one (activated offline): %+v, %v", one, err)
		}
		// A new generation after a deactivation is a new activation date.
		l.inst("f-eps", func() installation.Activated {
			a := farmActivated("f-eps", "Epsilon", "key-a-p", "a", "acc-1", 40, at(365*day))
			a.Generation = 2
			return a
		}())
		reactivated := l.Clock.Now()
		proxy := proxyActivated("p-two", "proxy two", "HAM", "Hamburg", true, installation.Online, "key-d-1", 50)
		proxy.Generation = 2
		l.inst("p-two", installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Online}, proxy)
		l.Rebuild()
		if two, err := queries.InstallationDetails(ctx, l.DB, "p-two", instNow); err != nil || two.OverLimit || two.SiteDescription != "Hamburg" {
			t.Fatalf("p-two reactivated: %+v, %v (a new activation starts within its limit, USE-6)", two, err)
		}
		if eps, err := queries.InstallationDetails(ctx, l.DB, "f-eps", instNow); err != nil || !eps.ActivatedAt.Equal(reactivated) ||
			eps.Status != "active" || eps.PeakUsage != 7 {
			t.Fatalf("f-eps reactivated at %s: %+v, %v", reactivated, eps, err)
		}
		if _, err := queries.InstallationDetails(ctx, l.DB, "nope", instNow); !errors.Is(err, queries.ErrNotFound) {
			t.Fatalf("unknown installation: %v, want ErrNotFound", err)
		}
	})
}

// Rules INST-5, ACT-7: the dashboard counts per product the farms and
// proxy servers the lists show as active (active, suspended, pending a
// portal deactivation, counted apart too), not deactivated ones; X-5: of
// the account only.
func TestInstallations_dashboard_counts_INST5(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newInstLog(t, target)
		installations1(l)
		cards, err := queries.Dashboard(ctx, l.DB, "acc-1", instNow)
		if err != nil {
			t.Fatal(err)
		}
		want := []queries.ProductCard{
			// p-one 120 + p-two 55 computers used.
			{ProductID: "proxy", Name: "MDM Proxy", Model: "managed_computers", Seats: 200, SeatsUsed: 175, ActiveSubscriptions: 1, ProxyServers: 2},
			// a (60) and b (5, in grace); x expired. alpha, beta, eta,
			// gamma (suspended), pend (pending); not eps, delta. Used:
			// alpha 1, beta 4, gamma 9, eta 0; pend's key is free (ACT-7).
			{ProductID: "farms", Name: "Remote Farm", Model: "concurrent_users", Seats: 65, SeatsUsed: 14, ActiveSubscriptions: 2, InGrace: 1,
				Farms: 5, DeactivationPending: 1},
		}
		counts := make([]queries.ProductCard, len(cards))
		for i, c := range cards {
			counts[i] = c
			counts[i].Subscriptions, counts[i].Alerts = nil, nil
		}
		if !reflect.DeepEqual(counts, want) {
			t.Fatalf("dashboard of acc-1:\n got %+v\nwant %+v", counts, want)
		}
		if got := fmt.Sprint(cards[1].Subscriptions[0].SubscriptionID, cards[1].Subscriptions[0].SeatsUsed, " ",
			cards[1].Subscriptions[1].SubscriptionID, cards[1].Subscriptions[1].SeatsUsed); got != "b0 a14" {
			t.Errorf("the seats used of each farms subscription: %s, want b0 a14", got)
		}
		if js, _ := json.Marshal(cards); !strings.Contains(string(js), `"prepaid_farms":5,"registered_proxy_servers":0`) {
			t.Fatalf("cards as JSON: %s", js)
		}
		if cards, err := queries.Dashboard(ctx, l.DB, "acc-2", instNow); err != nil || len(cards) != 1 || cards[0].Farms != 1 || cards[0].ProxyServers != 0 {
			t.Fatalf("dashboard of acc-2: %+v, %v", cards, err)
		}
	})
}

// Rule KEY-7: a key's used seats are the current usage of the
// installation that holds it (deactivated ones do not count), vacant is
// quota − used and never negative: an overuse (USE-4, USE-6) is "over"
// instead, and the key carries its installation's standing; used and
// vacant sort (vacant by quota − used, the most over first).
func TestInstallations_key_used_and_vacant_KEY7(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newInstLog(t, target)
		installations1(l)
		d, err := queries.SubscriptionDetails(ctx, l.DB, "a", "", instNow)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range d.Keys {
			got = append(got, fmt.Sprintf("%s %d/%d/%d/%d %s", k.KeyID, k.Quota, k.Used, k.Vacant, k.Over, k.Standing))
		}
		// The primary: 60 − 10 − 5 − 5 = 40, used by f-alpha (1), not by
		// the deactivated f-eps (7); key-a-2 by the suspended f-gamma,
		// 4 over; key-a-3 not by the pending f-pend, which let it go
		// (ACT-7): no installation holds it.
		if want := "key-a-p 40/1/39/0 active,key-a-1 10/4/6/0 active,key-a-2 5/9/0/4 suspended,key-a-3 5/0/5/0 "; strings.Join(got, ",") != want {
			t.Fatalf("keys of a (quota/used/vacant/over standing): %s, want %s", strings.Join(got, ","), want)
		}
		for sort, order := range map[string]string{
			"used": "3,p,1,2", "-used": "2,1,p,3",
			"vacant": "2,3,1,p", "-vacant": "p,1,3,2",
		} {
			d, err := queries.SubscriptionDetails(ctx, l.DB, "a", sort, instNow)
			if err != nil {
				t.Fatalf("sort %s: %v", sort, err)
			}
			if got := keyIDs(d.Keys); got != order {
				t.Errorf("keys by %s: %s, want %s (KEY-7)", sort, got, order)
			}
		}
		if p, err := queries.SubscriptionDetails(ctx, l.DB, "d", "used", instNow); err != nil || keyIDs(p.Keys) != "key-d-1,key-d-p" ||
			p.Keys[0].Vacant != 0 || p.Keys[0].Over != 5 || p.Keys[0].Standing != queries.StandingOverLimit ||
			p.Keys[1].Used != 120 || p.Keys[1].Vacant != 30 || p.Keys[1].Over != 0 || p.Keys[1].Standing != queries.StandingActive {
			t.Fatalf("keys of d by used: %+v, %v", p.Keys, err)
		}
	})
}

// instSnapshot dumps the installations read model's rows, in key order.
func instSnapshot(tb testing.TB, db *sqldb.DB) string {
	tb.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT installation_id, account_id, subscription_id, key_id, key_hint, product_id, kind, server_id, farm_name, server_name,
			site_code, site_description, sort_name, offline_use, app_version, status, trial, generation, activated_at,
			COALESCE(last_report_at, -1), COALESCE(last_observed_at, -1), current_usage, peak_usage, quota, notes,
			COALESCE(license_end, -1), COALESCE(grace_ends, -1), over_limit
			FROM inst_installations ORDER BY installation_id`,
		`SELECT installation_id, day, peak, last_report_at, last_observed_at FROM inst_usage_days ORDER BY installation_id, day`,
	} {
		rows, err := db.Select(context.Background(), q)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// applyRecords applies recs to the installations read model in one
// transaction, each times times in a row, after emptying it if empty.
func applyRecords(t *testing.T, db *sqldb.DB, recs []event.Record, empty bool, times int) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	stx := projection.WrapTx(tx, db.Engine)
	if empty {
		for _, table := range (projections.Installations{}).Tables() {
			if err := stx.Exec(ctx, `DELETE FROM `+table); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, rec := range recs {
		for range times {
			if err := (projections.Installations{}).Apply(ctx, stx, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Replaying the log gives the same rows (a rebuild is deterministic);
// applying every event a second time over them, or each twice in a row,
// changes nothing (X-4: the projection is idempotent).
func TestInstallations_replay_is_idempotent(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newInstLog(t, target)
		installations1(l)
		first := instSnapshot(t, l.DB)
		if strings.Count(first, "\n") < 20 {
			t.Fatalf("suspiciously few rows:\n%s", first)
		}
		l.Rebuild()
		if again := instSnapshot(t, l.DB); again != first {
			t.Fatalf("a second rebuild differs:\nfirst\n%s\nagain\n%s", first, again)
		}
		recs, err := l.Store.ReadAll(ctx, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name        string
			empty       bool
			timesInARow int
		}{{"the log applied again", false, 1}, {"each event twice in a row", true, 2}} {
			applyRecords(t, l.DB, recs, c.empty, c.timesInARow)
			if got := instSnapshot(t, l.DB); got != first {
				t.Fatalf("%s differs:\nonce\n%s\nthen\n%s", c.name, first, got)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
