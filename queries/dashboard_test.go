package queries_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

// dashboardNow is the time the dashboard tests evaluate alerts at.
var dashboardNow = at(10 * day)

// dashboardAccount appends acc-1's subscriptions and installations, each
// standing for one alert (or for none), and a suspended farm of acc-2.
// The dashboard is evaluated at dashboardNow = t0+10d.
//
//	s1 farms 50 1y online, renews      keys: Lyon, Nice, Metz, Brest, Caen (quota 8, 8 then 12, 8, 8, 5),
//	                                   Tours, Arles (1 each; own expiry t0+20d, and t0+5d: in grace),
//	                                   the primary (7)
//	s2 farms  5 1m online, ended t0+5d: in grace
//	s3 farms 10 1y online, ends t0+20d, renewal off
//	s4 farms 10 1y online, ends t0+20d, renews
//	s5 proxy 100 1y reseller, ends t0+25d
//
//	farm/server      key      usage   what
//	Grace farm       Lyon     11 of 8 grace until t0+13d (USE-3)
//	Bought farm      Nice     11 of 12 grace began at 8; seats bought since (USE-5)
//	Spent farm       Metz     10 of 8 grace ended t0+2d, overuse detected (USE-4)
//	Calm farm        Brest     7 of 8 grace ended, within the quota
//	Suspended farm   Caen      9 of 5 suspended (USE-4)
//	Leaving farm     primary   3 of 7 deactivation pending (ACT-7)
//	Over proxy       s5's    105 of 100 over the limit (USE-6)
func dashboardAccount(l *instLog) {
	l.Append(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5})
	l.Append(product.StreamID("proxy"), product.Defined{ProductID: "proxy", Name: "MDM Proxy", Model: product.ManagedComputers, MajorVersion: 7})
	reg := subscription.Registered{AccountID: "acc-1", By: "p-1"}
	sub := func(id string, payloads ...any) { l.Append(subscription.StreamID(id), payloads...) }
	key := func(id, name string, quota int, expires *time.Time) subscription.SublicenseCreated {
		return subscription.SublicenseCreated{Key: sealed(id), Name: name, Quota: quota, ExpiresAt: expires, By: "p-1"}
	}
	sub("s1", purchased("s1", "farms", 50, subscription.Year, subscription.Online, at(365*day)), reg,
		key("lyon", "Lyon", 8, nil), key("nice", "Nice", 8, nil), key("metz", "Metz", 8, nil), key("brest", "Brest", 8, nil),
		key("caen", "Caen", 5, nil), key("tours", "Tours", 1, atp(20*day)), key("arles", "Arles", 1, atp(5*day)),
		subscription.SublicenseGraceStarted{KeyID: "arles", KeyName: "Arles", ExpiresAt: at(5 * day)},
		subscription.SublicenseChanged{KeyID: "nice", Quota: 12, By: "p-1"})
	sub("s2", purchased("s2", "farms", 5, subscription.Month, subscription.Online, at(5*day)), reg, subscription.GraceStarted{End: at(5 * day)})
	sub("s3", purchased("s3", "farms", 10, subscription.Year, subscription.Online, at(20*day)), reg, subscription.AutoRenewSet{On: false, By: "p-1"})
	sub("s4", purchased("s4", "farms", 10, subscription.Year, subscription.Online, at(20*day)), reg)
	sub("s5", purchased("s5", "proxy", 100, subscription.Year, subscription.Reseller, at(25*day)), reg)
	sub("s9", purchased("s9", "farms", 5, subscription.Year, subscription.Online, at(365*day)), subscription.Registered{AccountID: "acc-2", By: "p-9"})

	farm := func(id, name, keyID string, seats, quota int, account, sub string, events ...any) {
		l.inst(id, farmActivated(id, name, keyID, sub, account, quota, at(365*day)))
		l.report(id, seats, quota, time.Time{}, true)
		l.inst(id, events...)
	}
	farm("f-grace", "Grace farm", "lyon", 11, 8, "acc-1", "s1", installation.GraceStarted{Seats: 11, Quota: 8, Ends: at(13 * day)})
	farm("f-bought", "Bought farm", "nice", 11, 8, "acc-1", "s1", installation.GraceStarted{Seats: 11, Quota: 8, Ends: at(13 * day)})
	l.report("f-bought", 11, 12, time.Time{}, true) // 4 seats bought: the grace is available again
	farm("f-spent", "Spent farm", "metz", 10, 8, "acc-1", "s1", installation.GraceStarted{Seats: 9, Quota: 8, Ends: at(2 * day)},
		installation.OveruseDetected{Seats: 10, Quota: 8, DeactivateAt: at(10*day + time.Hour)})
	farm("f-calm", "Calm farm", "brest", 7, 8, "acc-1", "s1", installation.GraceStarted{Seats: 9, Quota: 8, Ends: at(2 * day)})
	farm("f-susp", "Suspended farm", "caen", 9, 5, "acc-1", "s1", installation.GraceStarted{Seats: 9, Quota: 5, Ends: at(-day)},
		installation.OveruseDetected{Seats: 9, Quota: 5, DeactivateAt: at(0)}, installation.Suspended{Seats: 9, Quota: 5})
	farm("f-leave", "Leaving farm", "key-s1-p", 3, 7, "acc-1", "s1", installation.DeactivationRequested{By: "p-1"})
	farm("f-other", "Other farm", "key-s9-p", 9, 5, "acc-2", "s9", installation.Suspended{Seats: 9, Quota: 5})
	proxy := proxyActivated("p-over", "Over proxy", "HAM", "Hamburg", false, installation.Online, "key-s5-p", 100)
	proxy.SubscriptionID = "s5"
	l.inst("p-over", proxy)
	l.report("p-over", 105, 100, time.Time{}, true)
	l.inst("p-over", installation.OverLimitStarted{AccountID: "acc-1", Computers: 105, Quota: 100})
	l.Rebuild()
}

// alertLine prints an alert for comparison.
func alertLine(a queries.Alert) string {
	ends := "-"
	if a.Ends != nil {
		ends = a.Ends.Sub(t0).String()
	}
	return fmt.Sprintf("%s %s sub=%s inst=%s/%s key=%s %q %d/%d ends=%s", a.Kind, a.Rule, a.SubscriptionID, a.InstallationKind,
		a.InstallationID, a.KeyID, a.Name, a.Used, a.Quota, ends)
}

// The dashboard's alerts, one kind at a time, each with the rule it comes
// from and what it names, so that the portal can link to where the
// customer acts: a farm in its overuse grace and when it ends (USE-3),
// none once seats were bought since it began (USE-5), a farm over its
// quota after the grace and a suspended one (USE-4), a proxy server over
// its limit (USE-6), subscriptions and sublicenses in their expiry grace
// with the day they expire (SUB-6, KEY-3), those ending within 30 days
// that do not renew by themselves (SUB-2, SUB-6, KEY-3; choice: one that
// renews asks nothing), and deactivations pending (ACT-7). The most urgent
// come first; nothing of another account.
func TestDashboard_alerts_of_each_kind_USE3_USE4_USE5_USE6_SUB6_KEY3_ACT7(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		l := newInstLog(t, target)
		dashboardAccount(l)
		cards, err := queries.Dashboard(context.Background(), l.DB, "acc-1", dashboardNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(cards) != 2 || cards[0].ProductID != "proxy" || cards[1].ProductID != "farms" {
			t.Fatalf("cards: %+v", cards)
		}
		proxy, farms := cards[0], cards[1]
		byKind := map[queries.AlertKind][]string{}
		for _, c := range cards {
			for _, a := range c.Alerts {
				byKind[a.Kind] = append(byKind[a.Kind], alertLine(a))
			}
		}
		for _, c := range []struct {
			name string
			kind queries.AlertKind
			want []string
		}{
			{"USE-3 a farm's grace runs, until it ends; USE-5 none once seats were bought", queries.AlertGrace,
				[]string{`grace USE-3 sub=s1 inst=farm/f-grace key= "Grace farm" 11/8 ends=312h0m0s`}},
			{"USE-4 a farm over its quota after its grace", queries.AlertOveruse,
				[]string{`overuse USE-4 sub=s1 inst=farm/f-spent key= "Spent farm" 10/8 ends=-`}},
			{"USE-4 a farm suspended for overuse", queries.AlertSuspended,
				[]string{`suspended USE-4 sub=s1 inst=farm/f-susp key= "Suspended farm" 9/5 ends=-`}},
			{"USE-6 a proxy server over its limit", queries.AlertOverLimit,
				[]string{`over_limit USE-6 sub=s5 inst=proxy_server/p-over key= "Over proxy" 105/100 ends=-`}},
			{"SUB-6, KEY-3 a subscription and a sublicense in their expiry grace, until they expire", queries.AlertExpiryGrace,
				[]string{`expiry_grace SUB-6 sub=s2 inst=/ key= "" 0/0 ends=840h0m0s`, `expiry_grace KEY-3 sub=s1 inst=/ key=arles "Arles" 0/0 ends=840h0m0s`}},
			{"SUB-2, SUB-6, KEY-3 ending within 30 days without renewing by itself", queries.AlertExpiring,
				[]string{`expiring SUB-6 sub=s5 inst=/ key= "" 0/0 ends=600h0m0s`, // the proxy card's
					`expiring SUB-6 sub=s3 inst=/ key= "" 0/0 ends=480h0m0s`, `expiring KEY-3 sub=s1 inst=/ key=tours "Tours" 0/0 ends=480h0m0s`}},
			{"ACT-7 a deactivation pending", queries.AlertDeactivationPending,
				[]string{`deactivation_pending ACT-7 sub=s1 inst=farm/f-leave key= "Leaving farm" 3/7 ends=-`}},
		} {
			t.Run(c.name, func(t *testing.T) {
				got := byKind[c.kind]
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s alerts:\n got %s\nwant %s", c.kind, strings.Join(got, "\n     "), strings.Join(c.want, "\n     "))
				}
			})
		}

		// The most urgent first, then the soonest.
		var order []string
		for _, a := range farms.Alerts {
			order = append(order, string(a.Kind)+":"+a.Name+a.SubscriptionID)
		}
		if got, want := strings.Join(order, ","), "suspended:Suspended farms1,overuse:Spent farms1,grace:Grace farms1,"+
			"expiry_grace:s2,expiry_grace:Arless1,expiring:s3,expiring:Tourss1,deactivation_pending:Leaving farms1"; got != want {
			t.Errorf("the farms card's alerts:\n got %s\nwant %s", got, want)
		}
		if len(proxy.Alerts) != 2 || proxy.Alerts[0].Kind != queries.AlertOverLimit || proxy.Alerts[1].Kind != queries.AlertExpiring {
			t.Errorf("the proxy card's alerts: %+v", proxy.Alerts)
		}
		// Seats used of total: the installations holding the keys, not
		// the pending one (ACT-7); over the total in an overuse.
		if farms.Seats != 75 || farms.SeatsUsed != 11+11+10+7+9 || proxy.Seats != 100 || proxy.SeatsUsed != 105 {
			t.Errorf("seats used of total: farms %d of %d, proxy %d of %d", farms.SeatsUsed, farms.Seats, proxy.SeatsUsed, proxy.Seats)
		}
		// acc-2's suspended farm is on its own dashboard only.
		other, err := queries.Dashboard(context.Background(), l.DB, "acc-2", dashboardNow)
		if err != nil || len(other) != 1 || len(other[0].Alerts) != 1 || other[0].Alerts[0].InstallationID != "f-other" {
			t.Fatalf("acc-2's dashboard: %+v, %v", other, err)
		}

		// USE-3: once the grace has ended the farm is no longer in it:
		// over its quota it is overuse, within it nothing.
		later, err := queries.Dashboard(context.Background(), l.DB, "acc-1", at(14*day))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range later[1].Alerts {
			if a.Kind == queries.AlertGrace || a.InstallationID == "f-bought" || a.InstallationID == "f-calm" {
				t.Errorf("after the grace: %s", alertLine(a))
			}
		}
	})
}

// The lists' and the keys table's standing (USE-3..6, ACT-7): a farm in
// its grace is "grace", never "active"; over its quota after the grace
// "overuse"; "suspended"; a proxy server over its limit "over_limit"; and
// Over says by how much, never a negative vacant.
func TestInstallations_standing_and_over_USE3_USE4_USE5_USE6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		l := newInstLog(t, target)
		dashboardAccount(l)
		page, err := queries.Installations(context.Background(), l.DB, queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm",
			Sort: "name", Now: dashboardNow})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range page.Installations {
			got = append(got, fmt.Sprintf("%s %s %d/%d over %d", s.InstallationID, s.Standing, s.CurrentUsage, s.Quota, s.Over))
		}
		want := "f-bought active 11/12 over 0,f-calm active 7/8 over 0,f-grace grace 11/8 over 3,f-leave deactivation_pending 3/7 over 0," +
			"f-spent overuse 10/8 over 2,f-susp suspended 9/5 over 4"
		if strings.Join(got, ",") != want {
			t.Errorf("farms:\n got %s\nwant %s", strings.Join(got, ","), want)
		}
		// Without a time to evaluate at, no standing is made up.
		page, err = queries.Installations(context.Background(), l.DB, queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm", IDs: []string{"f-grace"}})
		if err != nil || len(page.Installations) != 1 || page.Installations[0].Standing != "" || page.Installations[0].Over != 3 {
			t.Errorf("without Now: %+v, %v", page.Installations, err)
		}
		d, err := queries.SubscriptionDetails(context.Background(), l.DB, "s1", "vacant", dashboardNow)
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, k := range d.Keys {
			got = append(got, fmt.Sprintf("%s %d/%d vacant %d over %d %s", k.Name, k.Used, k.Quota, k.Vacant, k.Over, k.Standing))
		}
		// By vacant ascending: the most over first; Nice's farm is within
		// its new quota (USE-5). The primary's farm is pending: it let the
		// key go (ACT-7).
		want = "Caen 9/5 vacant 0 over 4 suspended,Lyon 11/8 vacant 0 over 3 grace,Metz 10/8 vacant 0 over 2 overuse," +
			"Arles 0/1 vacant 1 over 0 ,Brest 7/8 vacant 1 over 0 active,Nice 11/12 vacant 1 over 0 active,Tours 0/1 vacant 1 over 0 ," +
			"Primary 0/7 vacant 7 over 0 "
		if strings.Join(got, ",") != want {
			t.Errorf("keys of s1:\n got %s\nwant %s", strings.Join(got, ","), want)
		}
	})
}
