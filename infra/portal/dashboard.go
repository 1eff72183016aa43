package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"seatledger/queries"
)

// The dashboard of an account (rules INST-5, MEM-2): per product, the
// seats used of the total, its subscriptions with their end and renewal,
// and the alerts that ask the customer to act (USE-3..6, SUB-6, KEY-3,
// ACT-7), each linking to the page where they act. The query decides
// what is an alert; this file words it.

// dashboardView is the dashboard's data.
type dashboardView struct {
	Cards []dashboardCard
	// Alerts counts the alerts of every card.
	Alerts int
}

// dashboardCard is one product's card.
type dashboardCard struct {
	queries.ProductCard
	// Unit is what its seats count: "seats" or "computers".
	Unit string
	// Over is how far the seats used exceed the total; 0 within it.
	Over int
	// MeterMax is the usage meter's scale: the total, or the seats used
	// when more, so that an overuse shows past the total (in red).
	MeterMax      int
	Subscriptions []dashboardSubscription
	Alerts        []dashboardAlert
}

// dashboardSubscription is a subscription of a card with its display
// name, its page and its renewal in words.
type dashboardSubscription struct {
	queries.DashboardSubscription
	Title, Href string
	// Renewal says when it ends and what happens then (SUB-2, SUB-6).
	Renewal string
	// Class is the badge of its status: active, expiring or grace.
	Class, Status string
}

// dashboardAlert is an alert in words, with the page to act on.
type dashboardAlert struct {
	Kind queries.AlertKind
	// Badge and Class are its marker; Text what happened and what to do.
	Badge, Class, Text string
	// Href and Action are the link to where the customer acts.
	Href, Action string
}

// dashboard shows a card per product of the account (INST-5, MEM-2).
func (p *Portal) dashboard(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Dashboard", "dashboard")
	if v == nil {
		return
	}
	now := p.cfg.Now()
	cards, err := p.cfg.Queries.Dashboard(r.Context(), v.viewer, v.AccountID, now)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	page := dashboardView{}
	for _, c := range cards {
		card := dashboardCardOf(c, now)
		page.Alerts += len(card.Alerts)
		page.Cards = append(page.Cards, card)
	}
	v.Page = page
	p.render(w, r, "licenses-dashboard.html", v)
}

// dashboardCardOf words a product's card at now.
func dashboardCardOf(c queries.ProductCard, now time.Time) dashboardCard {
	card := dashboardCard{ProductCard: c, Unit: "seats", Over: max(0, c.SeatsUsed-c.Seats), MeterMax: max(c.Seats, c.SeatsUsed, 1)}
	if c.Model == "managed_computers" {
		card.Unit = "computers"
	}
	titles := map[string]string{}
	for _, s := range c.Subscriptions {
		ds := dashboardSubscription{DashboardSubscription: s, Title: queries.SubscriptionTitle(s.Name, c.Name, c.ProductID, s.Period),
			Href: "/subscriptions/" + url.PathEscape(s.SubscriptionID)}
		ds.Renewal, ds.Class, ds.Status = subscriptionRenewal(s, now)
		titles[s.SubscriptionID] = ds.Title
		card.Subscriptions = append(card.Subscriptions, ds)
	}
	for _, a := range c.Alerts {
		card.Alerts = append(card.Alerts, dashboardAlertOf(a, titles[a.SubscriptionID], card.Unit))
	}
	return card
}

// subscriptionRenewal says when s ends and what happens then (SUB-2,
// SUB-6), with the badge of its status.
func subscriptionRenewal(s queries.DashboardSubscription, now time.Time) (text, class, status string) {
	switch {
	case s.End == nil:
		return "Permanent license: it does not end.", "active", "active"
	case s.Expires != nil:
		return fmt.Sprintf("Ended on %s; its installations keep working until %s. Renew it before then.",
			dashDate(s.End), dashDate(s.Expires)), "grace", "in grace"
	}
	class, status = "active", "active"
	if displayStatus(s.Status, s.End, now) == "expiring" {
		class, status = "expiring", "expiring"
	}
	switch {
	case s.AutoRenew:
		return "Renews by itself on " + dashDate(s.End) + ".", class, status
	case s.Channel == "reseller":
		return "Ends on " + dashDate(s.End) + ". Bought through a reseller: contact your reseller to renew it.", class, status
	}
	return "Ends on " + dashDate(s.End) + "; renewal is off.", class, status
}

// dashDate is a day as the dashboard writes it.
func dashDate(t *time.Time) string { return formatTime(t, "2 Jan 2006") }

// dashboardAlertOf words alert a; title is the display name of its
// subscription, unit what its seats count.
func dashboardAlertOf(a queries.Alert, title, unit string) dashboardAlert {
	what, noun := "Farm", "farm"
	if a.InstallationKind == "proxy_server" {
		what, noun = "Proxy server", "proxy server"
	}
	inst := dashboardAlert{Kind: a.Kind, Href: "/installations/" + url.PathEscape(a.InstallationID), Action: "Open the " + noun}
	usage := fmt.Sprintf("%d of %d %s", a.Used, a.Quota, unit)
	if over := a.Used - a.Quota; over > 0 {
		usage += fmt.Sprintf(" (%d over)", over)
	}
	sub := dashboardAlert{Kind: a.Kind, Href: "/subscriptions/" + url.PathEscape(a.SubscriptionID), Action: "Open the subscription"}
	key := dashboardAlert{Kind: a.Kind, Href: "/subscriptions/" + url.PathEscape(a.SubscriptionID) + "/keys/" + url.PathEscape(a.KeyID),
		Action: "Change the key"}
	switch {
	case a.Kind == queries.AlertSuspended:
		inst.Badge, inst.Class = "suspended", "suspended"
		inst.Text = fmt.Sprintf("%s %s is suspended for overuse: %s. It comes back by itself once its usage is at or below its quota.",
			what, a.Name, usage)
		return inst
	case a.Kind == queries.AlertOveruse:
		inst.Badge, inst.Class = "over quota", "overuse"
		inst.Text = fmt.Sprintf("%s %s uses %s after its grace period: it is suspended within 1–2 hours unless its usage drops to %d.",
			what, a.Name, usage, a.Quota)
		return inst
	case a.Kind == queries.AlertGrace:
		inst.Badge, inst.Class = "grace", "grace"
		inst.Text = fmt.Sprintf("%s %s uses %s. Its 7-day grace period ends on %s: buy seats or reduce its usage by then.",
			what, a.Name, usage, formatTime(a.Ends, "2 Jan 2006 15:04 MST"))
		return inst
	case a.Kind == queries.AlertOverLimit:
		inst.Badge, inst.Class = "over the limit", "overuse"
		inst.Text = fmt.Sprintf("%s %s manages %s: no more computers can enroll until some are removed or seats are added.",
			what, a.Name, usage)
		return inst
	case a.Kind == queries.AlertDeactivationPending:
		inst.Badge, inst.Class = "deactivation pending", "pending"
		inst.Text = fmt.Sprintf("%s %s was deactivated here and its key is free already; it is told the next time it contacts us.",
			what, a.Name)
		return inst
	case a.Kind == queries.AlertExpiryGrace && a.KeyID != "":
		key.Badge, key.Class = "in grace", "grace"
		key.Text = fmt.Sprintf("License key %s of %s passed its expiry date; it stops working on %s. Give it a new expiry date.",
			a.Name, title, dashDate(a.Ends))
		return key
	case a.Kind == queries.AlertExpiryGrace:
		sub.Badge, sub.Class = "in grace", "grace"
		sub.Text = fmt.Sprintf("%s has ended; its installations keep working until %s. Renew it before then.", title, dashDate(a.Ends))
		return sub
	case a.Kind == queries.AlertExpiring && a.KeyID != "":
		key.Badge, key.Class = "expiring", "expiring"
		key.Text = fmt.Sprintf("License key %s of %s expires on %s.", a.Name, title, dashDate(a.Ends))
		return key
	}
	sub.Badge, sub.Class = "expiring", "expiring"
	sub.Text = fmt.Sprintf("%s ends on %s and does not renew by itself.", title, dashDate(a.Ends))
	return sub
}
