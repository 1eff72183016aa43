package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/staff"
	"seatledger/queries"
)

// The console's account pages (issue 23): the lookup (company, support
// code, member address, key's last group), an account's subscriptions,
// keys (hints only), installations and history, the switch support needs
// (offline activation, ACT-3) with its required reason, and a
// subscription's orders with who placed them. Every role reads them
// (staff.PermRead); the switch is offered to, and accepted from, the roles
// the policy lets turn it (staff.PermSwitches) only: it is the only way
// the console acts inside a customer's account.

func init() {
	registerStaffPages(func(p *Portal, r chi.Router) {
		r.Get("/staff/accounts", p.staffAccountsPage)
		r.Get("/staff/accounts/{accountID}", p.staffAccountPage)
		r.Post("/staff/accounts/{accountID}/offline-activation", p.staffOfflineSwitch)
		r.Get("/staff/subscriptions/{subscriptionID}", p.staffSubscriptionPage)
	})
	registerStaffNav(StaffNavItem{Order: 20, Path: "/staff/accounts", Label: "Accounts", Nav: "accounts", Perm: staff.PermRead,
		Description: "Find an account by company, support code, member address or a key's last group; its subscriptions, keys, installations and history."})
}

// staffAccountsView is the lookup's data.
type staffAccountsView struct {
	Query string
	Hits  []queries.AccountHit
}

func (p *Portal) staffAccountsPage(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Accounts", "accounts", staff.PermRead)
	if v == nil {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	view := staffAccountsView{Query: q}
	if q != "" {
		hits, err := p.cfg.Queries.FindAccounts(r.Context(), v.viewer, q)
		if err != nil {
			if prob := problemOf(err); prob.Status >= 500 || prob.Status == http.StatusForbidden {
				p.staffFail(w, r, v, err)
				return
			}
			v.fail(err)
		}
		view.Hits = hits
	}
	v.Page = view
	p.renderStaff(w, r, "staff_accounts.html", v)
}

// staffAccountView is an account's page in the console.
type staffAccountView struct {
	AccountID, Kind, Name, SupportCode string
	Profile                            queries.AccountProfile
	Subscriptions                      []staffSubscription
	Farms, ProxyServers                []queries.InstallationSummary
	// Offline is whether offline activation is on (ACT-3).
	Offline bool
	History queries.HistoryView
}

// staffSubscription is a subscription with its keys (hints only: the
// console never shows a whole key).
type staffSubscription struct {
	queries.SubscriptionSummary
	Keys []queries.LicenseKey
}

// staffAccount reads the account of the route for a console page needing
// perm; nil when it has answered itself.
func (p *Portal) staffAccount(w http.ResponseWriter, r *http.Request, perm staff.Permission) (*View, *staffAccountView) {
	id := chi.URLParam(r, "accountID")
	v := p.staffPage(w, r, "Account", "accounts", perm)
	if v == nil {
		return nil, nil
	}
	ctx, now := r.Context(), p.cfg.Now()
	page := &staffAccountView{AccountID: id}
	var err error
	page.Profile, err = p.cfg.Queries.AccountProfile(ctx, v.viewer, id)
	if err == nil {
		page.Name, page.SupportCode, page.Kind, err = p.cfg.Queries.AccountName(ctx, id)
	}
	var subs []queries.SubscriptionSummary
	if err == nil {
		subs, err = p.cfg.Queries.Subscriptions(ctx, v.viewer, queries.SubscriptionsFilter{AccountID: id, Status: "all"})
	}
	for _, s := range subs {
		if err != nil {
			break
		}
		var d queries.Details
		if d, err = p.cfg.Queries.SubscriptionDetails(ctx, v.viewer, s.SubscriptionID, "", now); err == nil {
			page.Subscriptions = append(page.Subscriptions, staffSubscription{SubscriptionSummary: s, Keys: d.Keys})
		}
	}
	if err == nil && page.Kind == "business" {
		var farms, proxies queries.InstallationsPage
		if farms, err = p.cfg.Queries.Installations(ctx, v.viewer, queries.InstallationsFilter{AccountID: id, Kind: "farm"}, "200"); err == nil {
			page.Farms = farms.Installations
			if proxies, err = p.cfg.Queries.Installations(ctx, v.viewer, queries.InstallationsFilter{AccountID: id, Kind: "proxy_server"}, "200"); err == nil {
				page.ProxyServers = proxies.Installations
			}
		}
		if err == nil {
			a, aerr := p.cfg.Commands.Accounts.Account(ctx, id)
			page.Offline, err = a.OfflineActivation(), aerr
		}
		if err == nil {
			page.History, err = p.cfg.Queries.HistoryView(ctx, v.viewer, queries.KindAccount, id, queries.HistoryRequest{Limit: "50"})
		}
	}
	if err != nil {
		p.staffFail(w, r, v, err)
		return nil, nil
	}
	if page.Name != "" {
		v.Title = page.Name
	}
	v.Page = page
	return v, page
}

func (p *Portal) staffAccountPage(w http.ResponseWriter, r *http.Request) {
	v, _ := p.staffAccount(w, r, staff.PermRead)
	if v == nil {
		return
	}
	p.renderStaff(w, r, "staff_account.html", v)
}

// staffOfflineSwitch turns offline activation on or off for the account
// (ACT-3) with the reason the form requires, which the event records and
// the account's history shows with the staff person's name.
func (p *Portal) staffOfflineSwitch(w http.ResponseWriter, r *http.Request) {
	v, page := p.staffAccount(w, r, staff.PermSwitches)
	if v == nil {
		return
	}
	enabled := v.Form.Get("enabled") == "on"
	res, err := p.cfg.Commands.Accounts.SetOfflineActivation(r.Context(), staffMeta(v, r), page.AccountID, enabled, v.Form.Get("reason"))
	if !p.staffDone(w, v, res, err) {
		p.renderStaff(w, r, "staff_account.html", v)
		return
	}
	state := "off"
	if enabled {
		state = "on"
	}
	p.redirect(w, r, "/staff/accounts/"+url.PathEscape(page.AccountID)+"#offline", "Offline activation is "+state+"; the account's history records your reason.")
}

// staffSubscriptionView is a subscription's order history.
type staffSubscriptionView struct {
	D      queries.Details
	Orders []queries.OrderEntry
	// AccountName names the account it is registered to ("" for none).
	AccountName string
}

func (p *Portal) staffSubscriptionPage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "subscriptionID")
	v := p.staffPage(w, r, "Subscription", "accounts", staff.PermRead)
	if v == nil {
		return
	}
	d, orders, err := p.cfg.Queries.SubscriptionOrders(r.Context(), v.viewer, id, p.cfg.Now())
	view := staffSubscriptionView{D: d, Orders: orders}
	if err == nil && d.Subscription.AccountID != "" {
		view.AccountName, _, _, err = p.cfg.Queries.AccountName(r.Context(), d.Subscription.AccountID)
	}
	if err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	v.Title = queries.SubscriptionTitle(d.Subscription.Name, d.Subscription.ProductName, d.Subscription.ProductID, d.Subscription.Period)
	v.Page = view
	p.renderStaff(w, r, "staff_subscription.html", v)
}
