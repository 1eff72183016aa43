package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/subscription"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// licensePages: the dashboard of an account, registering a key, the
// subscriptions list and a subscription's details with its license keys
// (rules INST-5, KEY-2..7, KEY-9, SUB-2, SUB-4, SUB-5, MEM-6), and the
// history panel (history.go). Each dialog is a page of its own: the
// subscription's details with the dialog open over them.
func (p *Portal) licensePages(r chi.Router) {
	r.Get("/accounts/{accountID}", p.dashboard)
	r.Get("/accounts/{accountID}/register-key", p.registerKeyPage)
	r.Post("/accounts/{accountID}/register-key", p.registerKey)
	r.Get("/accounts/{accountID}/subscriptions", p.subscriptionsPage)

	const sub = "/subscriptions/{subscriptionID}"
	r.Get(sub, p.subscriptionPage)
	r.Post(sub+"/auto-renew", p.setAutoRenew)
	r.Get(sub+"/rename", p.renamePage)
	r.Post(sub+"/rename", p.rename)
	r.Get(sub+"/keys/new", p.newKeyPage)
	r.Post(sub+"/keys/new", p.createKey)
	const key = sub + "/keys/{keyID}"
	r.Get(key, p.keyPage)
	r.Post(key, p.changeKey)
	r.Post(key+"/secret", p.showKey)
	r.Get(key+"/delete", p.deleteKeyPage)
	r.Post(key+"/delete", p.deleteKey)
	r.Get(key+"/administrators", p.keyAdminsPage)
	r.Post(key+"/administrators", p.addKeyAdmin)
	r.Post(key+"/administrators/{personID}/remove", p.removeKeyAdmin)

}

// ---- register a key (KEY-2) -------------------------------------------

// registerView is the register-key page's data.
type registerView struct {
	// Company: the business-details step is open.
	Company bool
	// AdminAccounts are the business accounts the person may register to
	// instead of creating one.
	AdminAccounts []queries.AccountSummary
	// Yours is set when the key is already registered to another of the
	// person's accounts: the page links to its subscription there.
	Yours *commands.KeyAlreadyYoursError
}

func (p *Portal) registerKeyPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Register key", "dashboard")
	if v == nil {
		return
	}
	p.renderRegister(w, r, v, registerView{})
}

// registerKey registers the key to the page's account when it is a
// business account; from a personal account it first asks with empty
// business details, so that the key itself is checked (format, unknown,
// registered elsewhere) before the person fills in the business-details
// dialog; the answer that the company is incomplete opens that dialog.
// The dialog then sends the details (or one of the person's business
// accounts).
func (p *Portal) registerKey(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Register key", "dashboard")
	if v == nil {
		return
	}
	f := v.Form
	cmd := commands.RegisterKey{Key: strings.TrimSpace(f.Get("key"))}
	companyStep := f.Get("step") == "company"
	switch {
	case companyStep && f.Get("account_id") != "":
		cmd.AccountID = f.Get("account_id")
	case companyStep:
		t := func(name string) string { return strings.TrimSpace(f.Get("company." + name)) }
		cmd.Company = &account.Company{Name: t("name"), Country: t("country"), ZIP: t("zip"), Phone: t("phone"),
			Street: t("street"), City: t("city"), State: t("state")}
	case v.IsBusiness():
		cmd.AccountID = v.AccountID
	default:
		// The key alone: the command checks it first and then asks for
		// the company details (a problem naming "company").
	}
	res, err := p.cfg.Commands.Subscriptions.RegisterKey(r.Context(), v.meta(r), cmd)
	if err != nil {
		v.fail(err)
		page := registerView{Company: companyStep}
		if !companyStep && !v.IsBusiness() && namesCompany(v.Problem) {
			// The key is fine; the business details are what is missing.
			page.Company = true
			v.Problem, v.Status = nil, 0
		}
		errors.As(err, &page.Yours)
		p.renderRegister(w, r, v, page)
		return
	}
	p.wrote(w, res.AppendResult)
	flash := "Your key is registered."
	if res.AccountCreated {
		flash = "Your key is registered to your new business account " + f.Get("company.name") + "."
	}
	p.redirect(w, r, "/subscriptions/"+url.PathEscape(res.SubscriptionID), flash)
}

// namesCompany reports whether a problem is about the company's details.
func namesCompany(pr *httpapi.Problem) bool {
	if pr == nil {
		return false
	}
	for _, ip := range pr.InvalidParams {
		if ip.Name == "company" || strings.HasPrefix(ip.Name, "company.") {
			return true
		}
	}
	return false
}

func (p *Portal) renderRegister(w http.ResponseWriter, r *http.Request, v *View, page registerView) {
	for _, a := range v.BusinessAccounts() {
		if a.Role == account.RoleAdmin.String() {
			page.AdminAccounts = append(page.AdminAccounts, a)
		}
	}
	v.Page = page
	p.render(w, r, "licenses-register.html", v)
}

// ---- subscriptions list ------------------------------------------------

// subscriptionFilters are the list's display filters. The query knows
// "active" and "all"; expiring and expired are chosen here from all.
var subscriptionFilters = []string{"all", "active", "expiring", "expired"}

// expiringWithin is how soon an active subscription ends for it to be
// "expiring" (as the installations lists' INST-2 choice: 30 days).
const expiringWithin = 30 * 24 * time.Hour

// subscriptionsView is the subscriptions list's data.
type subscriptionsView struct {
	Rows []subscriptionRow
	// Counts are the rows under each of Filters.
	Counts  map[string]int
	Filters []string
	// Products names the products of the account's subscriptions, by ID.
	Products map[string]string
}

// subscriptionRow is one row of the subscriptions list.
type subscriptionRow struct {
	queries.SubscriptionSummary
	// Title is the display name (subscriptionTitle); Display the status
	// the list shows (displayStatus).
	Title, Display string
}

func (p *Portal) subscriptionsPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Subscriptions", "subscriptions")
	if v == nil {
		return
	}
	status := v.Value("status")
	if !slices.Contains(subscriptionFilters, status) {
		status = "active"
	}
	sort := v.Value("sort")
	if sort != "-end" {
		sort = "end"
	}
	v.Form.Set("status", status)
	v.Form.Set("sort", sort)
	list, err := p.cfg.Queries.Subscriptions(r.Context(), v.viewer, queries.SubscriptionsFilter{AccountID: v.AccountID, Status: "all", Sort: sort})
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	product := v.Value("product")
	now := p.cfg.Now()
	page := subscriptionsView{Counts: map[string]int{}, Filters: subscriptionFilters, Products: map[string]string{}}
	for _, s := range list {
		page.Products[s.ProductID] = s.ProductName
		if product != "" && s.ProductID != product {
			continue
		}
		row := subscriptionRow{SubscriptionSummary: s, Title: queries.SubscriptionTitle(s.Name, s.ProductName, s.ProductID, s.Period),
			Display: displayStatus(s.Status, s.End, now)}
		for _, f := range subscriptionFilters {
			if row.inFilter(f) {
				page.Counts[f]++
			}
		}
		if row.inFilter(status) {
			page.Rows = append(page.Rows, row)
		}
	}
	v.Page = page
	p.render(w, r, "licenses-subscriptions.html", v)
}

// inFilter reports whether the row shows under filter f.
func (s subscriptionRow) inFilter(f string) bool {
	switch f {
	case "active":
		return s.Status != "expired"
	case "expiring":
		return s.Display == "expiring"
	case "expired":
		return s.Status == "expired"
	}
	return true
}

// displayStatus is the status a list shows: expired, in grace (ended,
// still working: SUB-6), expiring (ends within 30 days), active.
func displayStatus(status string, end *time.Time, now time.Time) string {
	switch status {
	case "expired":
		return "expired"
	case "grace":
		return "grace"
	}
	if end != nil && end.Before(now.Add(expiringWithin)) {
		return "expiring"
	}
	return "active"
}

// ---- subscription details ------------------------------------------------

// keySorts are the keys table's sortable columns (KEY-7), as the query's
// key sort names them.
var keySorts = []string{"name", "type", "quota", "used", "vacant", "expiry"}

// subscriptionView is the subscription details page's data, with the
// dialog open over it.
type subscriptionView struct {
	// ID is the subscription's ID; Base the page's path.
	ID, Base string
	Sub      subscriptionTerms
	Orders   []queries.Order
	Keys     []keyRow
	// Free is the primary key's quota: the seats no sublicense reserves.
	Free, Seats int
	// Manage: the person may create keys (an account admin, or a license
	// administrator of the primary key: MEM-6).
	Manage bool
	// Sort and Dir are the keys table's order (KEY-7), Sorts its columns.
	Sort, Dir string
	Sorts     []string
	// Dialog names the dialog open over the page ("" for none).
	Dialog string

	// The key dialogs: the key, the most its quota can be (its own seats
	// and the free ones), its page's path, and its full key once shown
	// (KEY-9).
	Key     *keyRow
	Max     int
	KeyPath string
	Secret  string
	// The administrators tab (MEM-6): the key's administrators and the
	// members who may be added.
	Admins     []queries.Member
	Candidates []queries.Member
}

// subscriptionTerms is the subscription with its display name.
type subscriptionTerms struct {
	queries.Subscription
	Title string
}

// keyRow is one license key of the page.
type keyRow struct {
	queries.LicenseKey
	// Manage: the person may change the key (an account admin or one of
	// its license administrators, MEM-6).
	Manage bool
	// Expires is when the key ends: its own expiry or the subscription's.
	Expires *time.Time
	// StandingText and StandingClass mark a key whose installation is
	// over its quota or suspended (USE-3..6); empty otherwise.
	StandingText, StandingClass string
}

// subscriptionPath is the portal's page of the route's subscription.
func portalSubscriptionPath(r *http.Request) string {
	return "/subscriptions/" + url.PathEscape(chi.URLParam(r, "subscriptionID"))
}

// loadSubscription reads the page's subscription (keys sorted as the
// query's sort and dir ask) and makes its account the page's. dialog
// names the dialog open over it ("" for none). It answers the error page
// and returns nil when the subscription cannot be read.
func (p *Portal) loadSubscription(w http.ResponseWriter, r *http.Request, v *View, dialog string) *subscriptionView {
	q := r.URL.Query()
	col, dir := q.Get("sort"), q.Get("dir")
	keySort := ""
	if slices.Contains(keySorts, col) {
		if dir != "desc" {
			dir = "asc"
		}
		keySort = col
		if dir == "desc" {
			keySort = "-" + col
		}
	} else {
		col, dir = "", ""
	}
	id := chi.URLParam(r, "subscriptionID")
	d, err := p.cfg.Queries.SubscriptionDetails(r.Context(), v.viewer, id, keySort, p.cfg.Now())
	if err != nil {
		p.fail(w, r, v, err)
		return nil
	}
	s := d.Subscription
	v.setAccount(s.AccountID)
	page := &subscriptionView{ID: id, Base: portalSubscriptionPath(r), Orders: d.Orders, Seats: s.Seats, Sort: col, Dir: dir,
		Sorts: keySorts, Dialog: dialog,
		Sub: subscriptionTerms{Subscription: s, Title: queries.SubscriptionTitle(s.Name, s.ProductName, s.ProductID, s.Period)}}
	if v.Title == "" || dialog == "" {
		v.Title = page.Sub.Title
	}
	page.Manage = v.IsAdmin()
	for _, k := range d.Keys {
		row := keyRow{LicenseKey: k, Manage: v.IsAdmin() || slices.Contains(k.Administrators, v.Me.PersonID), Expires: k.ExpiresAt}
		if row.Expires == nil {
			row.Expires = s.End
		}
		if k.Standing != "" && k.Standing != queries.StandingActive {
			row.StandingClass, row.StandingText = standingBadge(k.Standing)
		}
		if k.Type == "primary" {
			page.Free = k.Quota
			page.Manage = page.Manage || row.Manage
		}
		page.Keys = append(page.Keys, row)
	}
	v.Page = page
	return page
}

// subscriptionPage is the details page.
func (p *Portal) subscriptionPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "subscriptions")
	if v == nil || p.loadSubscription(w, r, v, "") == nil {
		return
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// setAutoRenew turns renewal on or off (SUB-2); a reseller's subscription
// answers the command's problem on the page.
func (p *Portal) setAutoRenew(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "subscriptions")
	if v == nil {
		return
	}
	on := v.Form.Get("on") == "true"
	res, err := p.cfg.Commands.Subscriptions.SetAutoRenew(r.Context(), v.meta(r), chi.URLParam(r, "subscriptionID"), on)
	if p.done(w, v, res, err) {
		msg := "Subscription renewal is off."
		if on {
			msg = "Subscription renewal is on."
		}
		p.redirect(w, r, portalSubscriptionPath(r), msg)
		return
	}
	p.rerender(w, r, v, "")
}

// done records a command's result: its position in the browser (read
// your writes) and true, or its problem in v and false.
func (p *Portal) done(w http.ResponseWriter, v *View, res event.AppendResult, err error) bool {
	if err != nil {
		v.fail(err)
		return false
	}
	p.wrote(w, res)
	return true
}

// rerender shows the subscription again with the problem of a failed form.
func (p *Portal) rerender(w http.ResponseWriter, r *http.Request, v *View, dialog string) {
	if p.loadSubscription(w, r, v, dialog) != nil {
		p.render(w, r, "licenses-subscription.html", v)
	}
}

func (p *Portal) renamePage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Rename the subscription", "subscriptions")
	if v == nil {
		return
	}
	page := p.loadSubscription(w, r, v, "rename")
	if page == nil {
		return
	}
	if v.Form.Get("name") == "" {
		v.Form.Set("name", page.Sub.Name)
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// rename sets the subscription's display name (SUB-5).
func (p *Portal) rename(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Rename the subscription", "subscriptions")
	if v == nil {
		return
	}
	name := strings.TrimSpace(v.Form.Get("name"))
	res, err := p.cfg.Commands.Subscriptions.RenameSubscription(r.Context(), v.meta(r), chi.URLParam(r, "subscriptionID"), name)
	if p.done(w, v, res, err) {
		p.redirect(w, r, portalSubscriptionPath(r), "The subscription is renamed "+name+".")
		return
	}
	p.rerender(w, r, v, "rename")
}

// ---- license keys (KEY-3..7, KEY-9, MEM-6) --------------------------------

func (p *Portal) newKeyPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Create license key", "subscriptions")
	if v == nil {
		return
	}
	page := p.loadSubscription(w, r, v, "new-key")
	if page == nil {
		return
	}
	if v.Form.Get("name") == "" {
		v.Form.Set("name", "License key "+strconv.Itoa(len(page.Keys)))
		v.Form.Set("renew_with_subscription", "on")
		v.Form.Set("expires_at", formatTime(page.Sub.End, time.DateOnly))
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// keyForm reads the quota and expiry of a key's form. It records a
// problem in v (named after the field) and returns false when one is not
// what the command takes.
func keyForm(v *View) (quota int, expires *time.Time, ok bool) {
	f := v.Form
	quota, err := strconv.Atoi(strings.TrimSpace(f.Get("quota")))
	if err != nil {
		licInvalid(v, "quota", "must be a whole number of seats")
		return 0, nil, false
	}
	if f.Get("renew_with_subscription") != "" {
		return quota, nil, true
	}
	raw := strings.TrimSpace(f.Get("expires_at"))
	if raw == "" {
		licInvalid(v, "expires_at", "give an expiration date, or renew the key with the subscription")
		return 0, nil, false
	}
	t, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		licInvalid(v, "expires_at", "must be a date such as 2026-12-31")
		return 0, nil, false
	}
	return quota, &t, true
}

// licInvalid records the portal's own problem with one field of a form.
func licInvalid(v *View, name, reason string) {
	v.Problem = &httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: name + " " + reason,
		InvalidParams: []httpapi.InvalidParam{{Name: name, Reason: reason}}}
	v.Status = http.StatusBadRequest
}

// createKey creates a sublicense (KEY-3); a quota above the free seats is
// the command's problem next to the quota (KEY-4).
func (p *Portal) createKey(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Create license key", "subscriptions")
	if v == nil {
		return
	}
	quota, expires, ok := keyForm(v)
	if ok {
		name := strings.TrimSpace(v.Form.Get("name"))
		res, err := p.cfg.Commands.Subscriptions.CreateSublicense(r.Context(), v.meta(r), chi.URLParam(r, "subscriptionID"),
			subscription.Sublicense{Name: name, Quota: quota, ExpiresAt: expires})
		if p.done(w, v, res.AppendResult, err) {
			p.redirect(w, r, portalSubscriptionPath(r), "License key "+name+" is created with "+strconv.Itoa(quota)+" seats.")
			return
		}
	}
	p.rerender(w, r, v, "new-key")
}

// keyPath is the portal's page of the route's key.
func keyPath(r *http.Request) string {
	return portalSubscriptionPath(r) + "/keys/" + url.PathEscape(chi.URLParam(r, "keyID"))
}

// loadKey reads the subscription with the dialog of the route's key open.
func (p *Portal) loadKey(w http.ResponseWriter, r *http.Request, v *View, dialog string) *subscriptionView {
	page := p.loadSubscription(w, r, v, dialog)
	if page == nil {
		return nil
	}
	id := chi.URLParam(r, "keyID")
	for i, k := range page.Keys {
		if k.KeyID == id {
			page.Key = &page.Keys[i]
			page.Max = k.Quota + page.Free
			page.KeyPath = keyPath(r)
			return page
		}
	}
	p.fail(w, r, v, &httpapi.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "the subscription has no license key " + id})
	return nil
}

// keyFormOf fills the key dialog's form with the key as it is.
func keyFormOf(k *keyRow) url.Values {
	f := url.Values{"name": {k.Name}, "quota": {strconv.Itoa(k.Quota)}, "expires_at": {formatTime(k.Expires, time.DateOnly)}}
	if k.ExpiresAt == nil {
		f.Set("renew_with_subscription", "on")
	}
	return f
}

func (p *Portal) keyPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License key", "subscriptions")
	if v == nil {
		return
	}
	page := p.loadKey(w, r, v, "key")
	if page == nil {
		return
	}
	for name, values := range keyFormOf(page.Key) {
		v.Form[name] = values
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// changeKey renames a sublicense and changes its quota and expiry
// (KEY-5); a form that changes nothing is not an error.
func (p *Portal) changeKey(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License key", "subscriptions")
	if v == nil {
		return
	}
	quota, expires, ok := keyForm(v)
	if ok {
		name := strings.TrimSpace(v.Form.Get("name"))
		res, err := p.cfg.Commands.Subscriptions.ChangeSublicense(r.Context(), v.meta(r), chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"),
			commands.ChangeSublicense{Name: &name, Quota: &quota, ExpiresAt: expires, ClearExpiry: expires == nil})
		if p.done(w, v, res, err) {
			p.redirect(w, r, portalSubscriptionPath(r), "License key "+name+" is saved.")
			return
		}
		if v.Problem != nil && v.Problem.Type == httpapi.ProblemNoChange.URI() {
			p.redirect(w, r, portalSubscriptionPath(r), "License key "+name+" is unchanged.")
			return
		}
	}
	if p.loadKey(w, r, v, "key") != nil {
		p.render(w, r, "licenses-subscription.html", v)
	}
}

// showKey reveals the key in full, on an explicit request (KEY-9): the
// command refuses anyone but the account's admins and the key's license
// administrators. The page is not stored (Cache-Control: no-store).
func (p *Portal) showKey(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License key", "subscriptions")
	if v == nil {
		return
	}
	key, err := p.cfg.Commands.Subscriptions.RevealKey(r.Context(), v.viewer.Actor, chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"))
	if err != nil {
		v.fail(err)
	}
	page := p.loadKey(w, r, v, "key")
	if page == nil {
		return
	}
	if err == nil {
		page.Secret = key
	}
	v.Form = keyFormOf(page.Key)
	p.render(w, r, "licenses-subscription.html", v)
}

func (p *Portal) deleteKeyPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Delete license key", "subscriptions")
	if v == nil || p.loadKey(w, r, v, "delete-key") == nil {
		return
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// deleteKey deletes a sublicense: its seats return to the primary key and
// its installation is deactivated (KEY-6).
func (p *Portal) deleteKey(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Delete license key", "subscriptions")
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Subscriptions.DeleteSublicense(r.Context(), v.meta(r), chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"))
	if p.done(w, v, res, err) {
		p.redirect(w, r, portalSubscriptionPath(r), "The license key is deleted; its seats are back on the primary key.")
		return
	}
	if p.loadKey(w, r, v, "delete-key") != nil {
		p.render(w, r, "licenses-subscription.html", v)
	}
}

// keyAdminsPage is the key dialog's license administrators tab (MEM-6):
// the key's administrators, and the account's members who may be added.
func (p *Portal) keyAdminsPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License administrators", "subscriptions")
	if v == nil {
		return
	}
	p.renderAdmins(w, r, v)
}

func (p *Portal) renderAdmins(w http.ResponseWriter, r *http.Request, v *View) {
	page := p.loadKey(w, r, v, "admins")
	if page == nil {
		return
	}
	members, err := p.cfg.Queries.Members(r.Context(), v.viewer, queries.MembersFilter{AccountID: page.Sub.AccountID, Status: "active",
		Limit: queries.MaxMembersPage})
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	admins := page.Key.Administrators
	byID := map[string]queries.Member{}
	for _, m := range members.Members {
		byID[m.PersonID] = m
		if !slices.Contains(admins, m.PersonID) {
			page.Candidates = append(page.Candidates, m)
		}
	}
	for _, a := range admins {
		m, ok := byID[a]
		if !ok {
			m = queries.Member{PersonID: a}
		}
		page.Admins = append(page.Admins, m)
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// setKeyAdmin makes personID a license administrator of the route's key,
// or no longer one (MEM-6).
func (p *Portal) setKeyAdmin(r *http.Request, v *View, personID string, on bool) (event.AppendResult, error) {
	return p.cfg.Commands.Subscriptions.SetKeyAdministrator(r.Context(), v.meta(r), chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"), personID, on)
}

func (p *Portal) addKeyAdmin(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License administrators", "subscriptions")
	if v == nil {
		return
	}
	person := v.Form.Get("person_id")
	if person == "" {
		licInvalid(v, "person_id", "choose a member of the account")
	} else if res, err := p.setKeyAdmin(r, v, person, true); p.done(w, v, res, err) {
		p.redirect(w, r, keyPath(r)+"/administrators", "The member is now a license administrator of this key.")
		return
	}
	p.renderAdmins(w, r, v)
}

func (p *Portal) removeKeyAdmin(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License administrators", "subscriptions")
	if v == nil {
		return
	}
	if res, err := p.setKeyAdmin(r, v, chi.URLParam(r, "personID"), false); p.done(w, v, res, err) {
		p.redirect(w, r, keyPath(r)+"/administrators", "The license administrator is removed from this key.")
		return
	}
	p.renderAdmins(w, r, v)
}
