package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"seatledger/infra/farmclient"
)

// The demo's story: the people, products and numbers of the vendor guides
// (shared/seeds: "My Company, Inc." of Bellevue, WA, with support code,
// Andrew Palmer promoted, David Lewis invited, a farm "for 10 concurrent
// users", a proxy server of site T12 "Test site stand-alone"), over five
// weeks of the simulated clock.

// The installations the sheet points at.
const (
	demoHQFarm     = "RAS-HQ-01"
	demoMunichFarm = "RAS-MUC-01"
	demoLabFarm    = "RAS-LAB-01"
	demoDRFarm     = "RAS-DR-01"
	demoHQProxy    = "SCCM-PS01"
	demoLabProxy   = "SCCM-LAB"
	demoPilot      = "RAS pilot, Zurich"
	demoDays       = 35
)

const day = 24 * time.Hour

// company is the customer, as the guides' screenshots show it.
var demoCompany = map[string]any{"name": "My Company, Inc.", "street": "500 108th Ave NE", "city": "Bellevue", "state": "WA",
	"country": "US", "zip": "98004", "phone": "+1 425 123 4567"}

func (d *demo) companyName() string { return demoCompany["name"].(string) }

// cast is the people the sheet lists, in its order.
func (d *demo) cast() []*demoPerson {
	return []*demoPerson{d.people["andrew"], d.people["grace"], d.people["david"]}
}

// seed tells the story through the API.
func (d *demo) seed(ctx context.Context) error {
	d.people = map[string]*demoPerson{
		"andrew": {first: "Andrew", last: "Palmer", email: "andrew.palmer@example.com", role: "account admin; registered the keys"},
		"grace":  {first: "Grace", last: "Kim", email: "grace.kim@example.com", role: "promoted to account admin; runs the Macs"},
		"david":  {first: "David", last: "Lewis", email: "david.lewis@example.com", role: "member; license administrator of Munich office"},
	}
	for _, p := range d.people {
		p.id, p.password = newUUID(), newPassword()
	}
	d.subs, d.keys, d.inst = map[string]string{}, map[string]demoKey{}, map[string]*demoInstallation{}
	d.tickets, d.last = map[string]string{}, map[string]farmclient.ReportAnswer{}
	for _, step := range []func(context.Context) error{d.seedAndrew, d.seedCatalog, d.seedSubscriptions, d.seedMembers, d.seedInstallations} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return d.runTimeline(ctx)
}

// seedAndrew signs Andrew up, verifies his address with the mailed link
// (the first mail: a server whose mail the demo cannot read is found out
// before anything else is written) and signs him in.
func (d *demo) seedAndrew(ctx context.Context) error {
	p := d.people["andrew"]
	if err := d.officeDo(ctx, "sign up "+p.name(), http.MethodPost, "/v1/signup", map[string]any{"person_id": p.id,
		"first_name": p.first, "last_name": p.last, "email": p.email, "password": p.password, "accept_terms": true}, nil); err != nil {
		return err
	}
	link, err := d.mailLink(ctx, p.email, demoVerifyMail)
	if err != nil {
		return err
	}
	if err := d.officeDo(ctx, "verify "+p.email, http.MethodPost, "/v1/email/verify",
		map[string]any{"person_id": link.Get("person"), "token": link.Get("token")}, nil); err != nil {
		return err
	}
	return d.signIn(ctx, p)
}

// demoRelease is a version of a product with its files.
type demoRelease struct {
	product, version string
	ago              time.Duration
	notes            string
	files            []string // installers, then documents (.pdf)
}

// seedCatalog defines the products and publishes their releases.
func (d *demo) seedCatalog(ctx context.Context) error {
	for id, p := range map[string]map[string]any{
		"ras": {"name": "Remote Application Server", "model": "concurrent_users", "trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19},
		"pmm": {"name": "Mac Management for SCCM", "model": "managed_computers", "trial": map[string]any{"days": 30, "seats": 5}, "major_version": 8},
	} {
		if err := d.officeDo(ctx, "define product "+id, http.MethodPut, "/v1/products/"+id, p, nil); err != nil {
			return err
		}
	}
	for _, r := range []demoRelease{
		{"ras", "19.1", 120 * day, "Published desktops on Windows Server 2025; HTML5 client printing.", []string{"RASInstaller-19.1.23907.msi", "RAS-19.1-Administrators-Guide.pdf"}},
		{"ras", "19.2", 12 * day, "Session pre-launch for published applications; licensing page shows the overuse grace.", []string{"RASInstaller-19.2.24315.msi", "RASClient-19.2.24315-x64.msi", "RAS-19.2-Administrators-Guide.pdf", "RAS-19.2-Licensing-Guide.pdf"}},
		{"pmm", "8.5", 40 * day, "macOS 26 support; faster inventory of enrolled Macs.", []string{"PMM-8.5.24120.msi", "PMM-8.5-Administrators-Guide.pdf"}},
	} {
		files := make([]map[string]any, 0, len(r.files))
		for i, name := range r.files {
			kind, sum := "installer", sha256.Sum256([]byte(name))
			if strings.HasSuffix(name, ".pdf") {
				kind = "document"
			}
			files = append(files, map[string]any{"name": name, "kind": kind, "size": 3_000_000 + 7_919_011*(i+1)%90_000_000,
				"sha256": hex.EncodeToString(sum[:]), "url": "https://downloads.example.com/" + r.product + "/" + r.version + "/" + url.PathEscape(name)})
		}
		body := map[string]any{"released_at": d.start.Add(-r.ago).Format(time.RFC3339), "notes": r.notes, "files": files}
		if err := d.officeDo(ctx, "publish "+r.product+" "+r.version, http.MethodPut, "/v1/products/"+r.product+"/releases/"+r.version, body, nil); err != nil {
			return err
		}
	}
	return nil
}

// seedSubscriptions sells three subscriptions as the order system would,
// registers them to a new business account of Andrew's, names them and
// splits their seats into sublicenses.
func (d *demo) seedSubscriptions(ctx context.Context) error {
	andrew := d.people["andrew"]
	for _, o := range []struct {
		name, order, product, period, channel, plan string
		seats                                       int
	}{
		{"RAS production", "MC-2026-04711", "ras", "1y", "online", "premium", 25},
		{demoPilot, "MC-2026-04718", "ras", "1m", "online", "standard", 5},
		{"Mac fleet", "RS-2026-00392", "pmm", "1y", "reseller", "standard", 60},
	} {
		var bought struct {
			SubscriptionID string `json:"subscription_id"`
			Key            string `json:"key"`
		}
		if err := d.officeDo(ctx, "order "+o.order, http.MethodPost, "/v1/orders", map[string]any{"kind": "purchase", "order_id": o.order,
			"product_id": o.product, "seats": o.seats, "period": o.period, "channel": o.channel, "support_plan": o.plan}, &bought); err != nil {
			return err
		}
		d.subs[o.name] = bought.SubscriptionID
		d.keys[o.name] = demoKey{subscription: bought.SubscriptionID, key: bought.Key}
		body := map[string]any{"key": bought.Key, "account_id": d.account}
		if d.account == "" { // the first key makes the business account (KEY-2)
			body = map[string]any{"key": bought.Key, "company": demoCompany}
		}
		var reg struct {
			AccountID string `json:"account_id"`
		}
		if err := d.as(ctx, andrew, "register the key of "+o.order, http.MethodPost, "/v1/keys/register", body, &reg); err != nil {
			return err
		}
		d.account = reg.AccountID
		if err := d.as(ctx, andrew, "name "+o.name, http.MethodPut, "/v1/subscriptions/"+bought.SubscriptionID+"/name", map[string]any{"name": o.name}, nil); err != nil {
			return err
		}
	}
	if err := d.as(ctx, andrew, "turn off the renewal of "+demoPilot, http.MethodPut, "/v1/subscriptions/"+d.subs[demoPilot]+"/auto-renew",
		map[string]any{"on": false}, nil); err != nil {
		return err
	}
	for _, k := range []struct {
		sub, name string
		quota     int
		expires   time.Duration // 0: renews with the subscription
	}{
		{"RAS production", "Munich office", 8, 0},
		{"RAS production", "Training lab", 3, 40 * day},
		{"RAS production", "Disaster recovery", 2, 0},
		{"Mac fleet", "Test site", 10, 0},
	} {
		body := map[string]any{"name": k.name, "quota": k.quota}
		if k.expires > 0 {
			body["expires_at"] = d.start.Add(k.expires).Format(time.RFC3339)
		}
		var key struct {
			KeyID string `json:"key_id"`
			Key   string `json:"key"`
		}
		if err := d.as(ctx, andrew, "create the sublicense "+k.name, http.MethodPost, "/v1/subscriptions/"+d.subs[k.sub]+"/keys", body, &key); err != nil {
			return err
		}
		d.keys[k.name] = demoKey{subscription: d.subs[k.sub], id: key.KeyID, key: key.Key}
	}
	return nil
}

// seedMembers invites Grace and David (who join as new people through
// the mailed links) and Mia Wagner in German (left pending), promotes
// Grace with a note and makes David license administrator of the Munich
// office key (MEM-4, MEM-6, MEM-7).
func (d *demo) seedMembers(ctx context.Context) error {
	andrew := d.people["andrew"]
	invite := func(lang string, emails ...string) error {
		return d.as(ctx, andrew, "invite "+emails[0], http.MethodPost, "/v1/accounts/"+d.account+"/invitations",
			map[string]any{"emails": emails, "language": lang}, nil)
	}
	if err := invite("en", d.people["grace"].email, d.people["david"].email); err != nil {
		return err
	}
	if err := invite("de", "mia.wagner@example.com"); err != nil {
		return err
	}
	for _, name := range []string{"grace", "david"} {
		p := d.people[name]
		link, err := d.mailLink(ctx, p.email, demoInvitationMail)
		if err != nil {
			return err
		}
		if err := d.officeDo(ctx, p.name()+" joins", http.MethodPost, "/v1/invitations/accept", map[string]any{
			"account_id": link.Get("account"), "invitation_id": link.Get("invitation"), "token": link.Get("token"),
			"new_person": map[string]any{"person_id": p.id, "first_name": p.first, "last_name": p.last, "password": p.password, "accept_terms": true},
		}, nil); err != nil {
			return err
		}
		if err := d.signIn(ctx, p); err != nil {
			return err
		}
	}
	grace, david := d.people["grace"], d.people["david"]
	if err := d.as(ctx, andrew, "promote "+grace.name(), http.MethodPut, "/v1/accounts/"+d.account+"/members/"+grace.id+"/role",
		map[string]any{"role": "admin", "note": "Runs the Mac fleet and stands in for Andrew"}, nil); err != nil {
		return err
	}
	munich := d.keys["Munich office"]
	return d.as(ctx, andrew, "make "+david.name()+" license administrator", http.MethodPut,
		"/v1/subscriptions/"+munich.subscription+"/keys/"+munich.id+"/administrators/"+david.id, nil, nil)
}

// seedInstallations activates four farms and two proxy servers, one per
// key (KEY-8).
func (d *demo) seedInstallations(ctx context.Context) error {
	for _, i := range []*demoInstallation{
		{key: "RAS production", identity: farmclient.Identity{Kind: farmclient.KindFarm, ServerID: demoHQFarm, FarmName: "Headquarters", AppVersion: "19.2.24315"}},
		{key: "Munich office", identity: farmclient.Identity{Kind: farmclient.KindFarm, ServerID: demoMunichFarm, FarmName: "Munich office", AppVersion: "19.2.24315"}},
		{key: "Training lab", identity: farmclient.Identity{Kind: farmclient.KindFarm, ServerID: demoLabFarm, FarmName: "Training lab", AppVersion: "19.1.23907"}},
		{key: "Disaster recovery", identity: farmclient.Identity{Kind: farmclient.KindFarm, ServerID: demoDRFarm, FarmName: "Disaster recovery", AppVersion: "19.1.23907"}},
		{key: "Mac fleet", identity: farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: demoHQProxy, SiteCode: "P01", SiteDescription: "Headquarters", AppVersion: "8.5.24120"}},
		{key: "Test site", identity: farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: demoLabProxy, SiteCode: "T12", SiteDescription: "Test site stand-alone", AppVersion: "8.5.24120"}},
	} {
		a, err := d.farms.Activate(ctx, d.keys[i.key].key, i.identity)
		if err != nil {
			return fmt.Errorf("activate %s: %w", i.name(), err)
		}
		i.id, i.cred = a.InstallationID, a.Credential
		d.inst[i.name()] = i
	}
	return nil
}

// demoStep is something that happens at a time of the story.
type demoStep struct {
	at time.Duration // after the demo's start
	do func(context.Context) error
}

// runTimeline moves the clock through the five weeks, step by step.
func (d *demo) runTimeline(ctx context.Context) error {
	steps := d.timeline()
	slices.SortStableFunc(steps, func(a, b demoStep) int { return cmp.Compare(a.at, b.at) })
	week := 0
	for _, s := range steps {
		if err := d.advanceTo(ctx, s.at); err != nil {
			return err
		}
		if w := int(s.at / (7 * day)); w > week && w <= demoDays/7 {
			week = w
			fmt.Fprintf(d.a.stdout, "  week %d of %d done\n", week, demoDays/7)
		}
		if err := s.do(ctx); err != nil {
			return err
		}
	}
	return nil
}

// timeline is the story's steps: each farm's daily usage, the proxy
// servers' weekly reports, and what the people do.
func (d *demo) timeline() []demoStep {
	var steps []demoStep
	at := func(t time.Duration, do func(context.Context) error) { steps = append(steps, demoStep{t, do}) }
	seats := func(server string, n int) func(context.Context) error {
		return func(ctx context.Context) error { return d.report(ctx, server, farmclient.SeatsReport(n, time.Time{})) }
	}
	// The first morning the headquarters farm reports every 20 minutes
	// (USE-1) as people sign in: more reports than a limited server lets
	// through, so such a server is found out on day one.
	for i, n := range []int{2, 4, 6, 7, 8, 9, 9, 10, 10, 9, 8} {
		at(7*time.Hour+time.Duration(i)*20*time.Minute, func(ctx context.Context) error { return d.report(ctx, demoHQFarm, d.connections(n)) })
	}
	for n := 0; n <= demoDays; n++ {
		weekend := d.start.Add(time.Duration(n) * day).Weekday()
		off := weekend == time.Saturday || weekend == time.Sunday
		peak := func(work, rest int) int {
			if off {
				return rest
			}
			return work + (n*7)%3 // a little difference between days
		}
		noon := time.Duration(n)*day + 11*time.Hour
		if n > 0 {
			at(noon, func(ctx context.Context) error { return d.report(ctx, demoHQFarm, d.connections(peak(9, 2))) })
		}
		munich := peak(5, 1)
		if n >= demoDays-3 { // the office grew: 11 of 8 seats, the grace runs (USE-3)
			munich = []int{11, 10, 11, 11}[n-(demoDays-3)]
		}
		at(noon+time.Hour, seats(demoMunichFarm, munich))
		lab := peak(2, 0)
		if n >= 10 { // classes of five on a three-seat key: a grace, then a suspension (USE-3, USE-4)
			lab = 4 + n%2
		}
		at(noon+2*time.Hour, seats(demoLabFarm, lab))
		if n < 20 {
			at(noon+3*time.Hour, seats(demoDRFarm, n%2))
		}
		if n%7 == 0 { // proxy servers report weekly (USE-1)
			at(time.Duration(n)*day+2*time.Hour, seats(demoHQProxy, 38+n/5))
			if n < demoDays-1 {
				at(time.Duration(n)*day+2*time.Hour, seats(demoLabProxy, 6+n/14))
			}
		}
	}
	// A Mac lab enrolled: 13 computers on a 10-computer key (USE-6).
	at((demoDays-1)*day+12*time.Hour, seats(demoLabProxy, 13))
	at(20*day+15*time.Hour, d.deactivateDR)
	d.ticketSteps(at)
	return steps
}

// connections is a report of the headquarters farm's live connections:
// n users of published applications and desktops, and an administrator
// on a published desktop, which takes no license (PROD-2).
func (d *demo) connections(n int) farmclient.Report {
	conns := []farmclient.Connection{{User: "it-admin", Type: "published_desktop", Admin: true, Host: "rdsh-01"}}
	for u := range n {
		typ := "published_app"
		if u%3 == 2 {
			typ = "published_desktop"
		}
		conns = append(conns, farmclient.Connection{User: fmt.Sprintf("user%02d", u+1), Type: typ, Host: fmt.Sprintf("rdsh-%02d", u%2+1)})
	}
	return farmclient.Report{Connections: conns}
}

// deactivateDR is Andrew deactivating the disaster-recovery farm, whose
// server was damaged, from the portal (ACT-7): its key is free at once,
// and the farm waits for a contact that never comes.
func (d *demo) deactivateDR(ctx context.Context) error {
	return d.as(ctx, d.people["andrew"], "deactivate "+demoDRFarm, http.MethodPost, "/v1/accounts/"+d.account+"/installations/deactivate",
		map[string]any{"installation_ids": []string{d.inst[demoDRFarm].id}}, nil)
}

// ticketSteps are the three tickets (TKT-1..3): David's activation
// question, resolved and rated; Andrew's question about the suspended
// farm, answered by support and watched by Grace; Grace's call booked
// about the proxy server over its limit.
func (d *demo) ticketSteps(at func(time.Duration, func(context.Context) error)) {
	andrew, grace, david := d.people["andrew"], d.people["grace"], d.people["david"]
	open := func(name string, p *demoPerson, body map[string]any) func(context.Context) error {
		return func(ctx context.Context) error {
			var t struct {
				TicketID string `json:"ticket_id"`
			}
			if err := d.as(ctx, p, "open a ticket", http.MethodPost, "/v1/accounts/"+d.account+"/tickets", body, &t); err != nil {
				return err
			}
			d.tickets[name] = t.TicketID
			return nil
		}
	}
	support := func(name, status, reply string) func(context.Context) error {
		return func(ctx context.Context) error {
			id := d.tickets[name]
			if reply != "" {
				if err := d.officeDo(ctx, "reply to "+id, http.MethodPost, "/v1/tickets/"+id+"/replies", map[string]any{"body": reply, "agent": "nina.support"}, nil); err != nil {
					return err
				}
			}
			return d.officeDo(ctx, "move "+id, http.MethodPut, "/v1/tickets/"+id+"/status", map[string]any{"status": status, "agent": "nina.support"}, nil)
		}
	}
	at(4*day+10*time.Hour, open("activation", david, map[string]any{"product_id": "ras", "category": "activation",
		"subject":     "Munich farm asks to be activated again after the server move",
		"description": "We moved RAS-MUC-01 to new hardware over the weekend; the console now asks for activation again. Do we use the same key?",
		"channel":     map[string]any{"kind": "chat"}}))
	at(4*day+14*time.Hour, support("activation", "resolved", "Yes: activate with the same key. The same installation keeps its key; "+
		"a new server counts as one of the key's three changes (the portal shows how many are left)."))
	at(5*day+9*time.Hour, func(ctx context.Context) error {
		return d.as(ctx, david, "rate the answer", http.MethodPost, "/v1/tickets/"+d.tickets["activation"]+"/survey",
			map[string]any{"rating": 5, "feedback": "Quick and clear, thank you."}, nil)
	})
	at(18*day+9*time.Hour, open("suspended", andrew, map[string]any{"product_id": "ras", "category": "licensing",
		"subject":     "Training lab farm suspended after overuse",
		"description": "RAS-LAB-01 was suspended last night. We run classes of five on the three-seat Training lab key. How do we get it back?",
		"channel":     map[string]any{"kind": "email"}}))
	at(18*day+9*time.Hour+time.Minute, func(ctx context.Context) error {
		return d.as(ctx, andrew, "add "+grace.name()+" as a watcher", http.MethodPut, "/v1/tickets/"+d.tickets["suspended"]+"/watchers/"+grace.id, nil, nil)
	})
	at(18*day+13*time.Hour, support("suspended", "awaiting_customer", "Hello Andrew, the farm is suspended because it had more users than "+
		"its key allows after the 7-day grace. Move free seats of the primary key into the Training lab sublicense, or add seats to the "+
		"subscription: the farm is reactivated within 20 minutes once its users fit the quota. Shall we send an offer for more seats?"))
	at((demoDays-1)*day+16*time.Hour, open("enrollment", grace, map[string]any{"product_id": "pmm", "category": "installation",
		"subject":     "SCCM-LAB refuses to enroll new Macs",
		"description": "The test site's proxy server stopped enrolling Macs after we added a lab of thirteen. Please call me to go through the options.",
		"channel":     map[string]any{"kind": "call", "call_at": d.start.Add((demoDays+1)*day + 15*time.Hour).UTC().Truncate(time.Hour).Format(time.RFC3339)}}))
}
