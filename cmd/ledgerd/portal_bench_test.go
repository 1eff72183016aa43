package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// Sizes of the portal benchmark's account: the data sets of the farms
// (issue 5: 5,000 farms), members and tickets benchmarks.
const (
	portalBenchSubs    = 50  // subscriptions of the account
	portalBenchKeys    = 100 // keys per subscription, each with a farm: 5,000 farms
	portalBenchMembers = 1_000
	portalBenchTickets = 200
)

// BenchmarkPortalPages measures each main page of the portal as a signed-in
// admin opens it, one request at a time, through the real ledgerd and its
// in-process API calls, on an account with 5,000 farms, 50 subscriptions
// of 100 keys, 1,000 members and 200 tickets (issue 8's target: every
// page's server time p99 ≤ 30 ms). Each b.N round opens every page once;
// it reports p50 and p99 per page (the client's round trip on loopback,
// an upper bound of the server's time).
//
//	go test -run XXX -bench BenchmarkPortalPages -benchtime 200x ./cmd/ledgerd
func BenchmarkPortalPages(b *testing.B) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			m := benchServer(b, engine.target(b))
			browser, pages := seedPortalAccount(b, m)
			base := "http://" + m.Addr()
			took := make(map[string][]time.Duration, len(pages))
			b.ResetTimer()
			for range b.N {
				for _, pg := range pages {
					t0 := time.Now()
					resp, err := browser.Get(base + pg.path)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("%s = %d", pg.path, resp.StatusCode)
					}
					took[pg.name] = append(took[pg.name], time.Since(t0))
				}
			}
			b.StopTimer()
			worst := time.Duration(0)
			for _, pg := range pages {
				d := took[pg.name]
				slices.Sort(d)
				b.ReportMetric(float64(percentile(d, 50).Microseconds())/1000, pg.name+"-p50-ms")
				b.ReportMetric(float64(percentile(d, 99).Microseconds())/1000, pg.name+"-p99-ms")
				worst = max(worst, percentile(d, 99))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

type portalBenchPage struct{ name, path string }

// seedPortalAccount builds the benchmark's account through the use cases
// (quicker than HTTP, the same events) and returns a browser signed in as
// its admin and the pages to open.
func seedPortalAccount(b *testing.B, m *Main) (*http.Client, []portalBenchPage) {
	b.Helper()
	ctx := context.Background()
	h := m.people.commands
	office := commands.Meta{Actor: staff.AdminToken}
	must := func(_ any, err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(h.Orders.DefineProduct(ctx, office, product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19}))
	ada, err := h.People.SignUp(ctx, office, commands.SignUp{FirstName: "Ada", LastName: "Admin", Email: "ada@example.com", Password: pw, TermsVersion: TermsVersion})
	if err != nil {
		b.Fatal(err)
	}
	admin := commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: ada.PersonID}}
	const acc = "bench-account"
	must(h.Accounts.CreateBusinessAccount(ctx, admin, commands.CreateBusinessAccount{AccountID: acc,
		Company: account.Company{Name: "Bench AG", Country: "CH", ZIP: "8000", Phone: "+41 44 000 00 00"}}))

	var firstSub, firstInstallation string
	for s := range portalBenchSubs {
		p, err := h.Orders.Purchase(ctx, office, subscription.Order{ID: fmt.Sprintf("portal-%d", s), ProductID: "ras", Seats: 2 * portalBenchKeys,
			Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard})
		if err != nil {
			b.Fatal(err)
		}
		must(h.Subscriptions.RegisterKey(ctx, admin, commands.RegisterKey{Key: p.Key, AccountID: acc}))
		keys := []string{p.Key}
		for k := 1; k < portalBenchKeys; k++ {
			c, err := h.Subscriptions.CreateSublicense(ctx, admin, p.SubscriptionID, subscription.Sublicense{Name: fmt.Sprintf("Site %d-%d", s, k), Quota: 1})
			if err != nil {
				b.Fatal(err)
			}
			keys = append(keys, c.Key)
		}
		for k, key := range keys {
			id := installation.Identity{Kind: installation.Farm, ServerID: fmt.Sprintf("srv-%d-%d", s, k), FarmName: fmt.Sprintf("Farm %d-%d", s, k), AppVersion: "19.2"}
			a, err := h.Installations.Activate(ctx, commands.Meta{Actor: event.Actor{Kind: event.ActorInstallation, ID: id.Server()}}, commands.Activate{Key: key, Identity: id})
			if err != nil {
				b.Fatal(err)
			}
			if firstInstallation == "" {
				firstInstallation = a.Installation.ID()
			}
		}
		if firstSub == "" {
			firstSub = p.SubscriptionID
		}
	}
	for i := 0; i < portalBenchMembers; i += 50 {
		emails := make([]string, 50) // the most one invitation takes
		for j := range emails {
			emails[j] = fmt.Sprintf("member-%04d@example.com", i+j)
		}
		inv, err := h.Accounts.InviteMembers(ctx, admin, commands.InviteMembers{AccountID: acc, Language: "en", Emails: emails})
		if err != nil {
			b.Fatal(err)
		}
		for j, id := range inv.InvitationIDs {
			must(h.Accounts.AcceptInvitation(ctx, commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: "anonymous"}}, commands.AcceptInvitation{
				AccountID: acc, InvitationID: id, Token: m.people.tokens(account.TokenInvitation, id),
				NewPerson: &commands.SignUp{FirstName: "Member", LastName: fmt.Sprint(i + j), Email: emails[j], Password: pw, TermsVersion: TermsVersion}}))
		}
	}
	var firstTicket string
	for i := range portalBenchTickets {
		t, err := h.Tickets.OpenTicket(ctx, admin, commands.OpenTicket{AccountID: acc, ProductID: "ras", Category: "technical",
			Subject: fmt.Sprintf("Question %d", i), Description: "Farm does not start after the update.", Channel: "email"})
		if err != nil {
			b.Fatal(err)
		}
		if firstTicket == "" {
			firstTicket = t.TicketID
		}
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.PostForm("http://"+m.Addr()+"/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	// Wait until the read models show everything: the last page read
	// after the seeding's final write.
	waitForProjections(b, m)
	a := "/accounts/" + acc
	return browser, []portalBenchPage{
		{"dashboard", a}, {"subscriptions", a + "/subscriptions"}, {"subscription", "/subscriptions/" + firstSub},
		{"farms", a + "/farms"}, {"farms-filtered", a + "/farms?filter=active&sort=name&dir=desc"},
		{"installation", "/installations/" + firstInstallation}, {"users", a + "/users"},
		{"users-search", a + "/users?q=member-09"}, {"tickets", a + "/tickets"}, {"ticket", "/tickets/" + firstTicket},
		{"business-profile", a + "/profile"}, {"profile", "/me"}, {"security", "/me/security"},
		{"history", "/history/subscriptions/" + firstSub},
	}
}

// waitForProjections blocks until every projection has caught up with
// the log's head.
func waitForProjections(b *testing.B, m *Main) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		lag, err := m.readSide.lag(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		behind := 0
		for _, l := range lag {
			behind += int(l)
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("projections still behind: %v", lag)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
