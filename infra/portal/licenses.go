package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

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

// ---- dashboard -------------------------------------------------------

// dashboard shows a card per product of the account (INST-5, MEM-2).
func (p *Portal) dashboard(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Dashboard", "dashboard")
	if v == nil {
		return
	}
	if !p.load(w, r, v, "dashboard", "/v1/accounts/"+url.PathEscape(v.AccountID)+"/dashboard") {
		return
	}
	v.Data["cards"] = licObject(v.Data["dashboard"])["products"]
	p.render(w, r, "licenses-dashboard.html", v)
}

// ---- register a key (KEY-2) -------------------------------------------

// companyFields are the fields of the business-details dialog, named as
// the API's problem names them ("company.zip").
var companyFields = []string{"name", "country", "zip", "phone", "street", "city", "state"}

func (p *Portal) registerKeyPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Register key", "dashboard")
	if v == nil {
		return
	}
	p.renderRegister(w, r, v)
}

// registerKey registers the key to the page's account when it is a
// business account; from a personal account it first asks the API with
// empty business details, so that the key itself is checked (format,
// unknown, registered elsewhere) before the person fills in the
// business-details dialog; the API's answer that the company is
// incomplete opens that dialog. The dialog then sends the details (or
// one of the person's business accounts).
func (p *Portal) registerKey(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Register key", "dashboard")
	if v == nil {
		return
	}
	f := v.Form
	body := map[string]any{"key": strings.TrimSpace(f.Get("key"))}
	companyStep := f.Get("step") == "company"
	switch {
	case companyStep && f.Get("account_id") != "":
		body["account_id"] = f.Get("account_id")
	case companyStep:
		c := map[string]any{}
		for _, name := range companyFields {
			c[name] = strings.TrimSpace(f.Get("company." + name))
		}
		body["company"] = c
	case v.IsBusiness():
		body["account_id"] = v.AccountID
	default:
		// The key alone: the API checks it first and then asks for the
		// company details (a problem naming "company").
	}
	var out map[string]any
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/keys/register", body), &out) {
		switch {
		case companyStep:
			v.Data = map[string]any{"company": true}
		case !v.IsBusiness() && namesCompany(v.Problem):
			// The key is fine; the business details are what is missing.
			v.Data = map[string]any{"company": true}
			v.Problem, v.Status = nil, 0
		}
		p.renderRegister(w, r, v)
		return
	}
	account := str(out["account_id"])
	if account != "" {
		http.SetCookie(w, &http.Cookie{Name: accountCookie, Value: account, Path: "/", HttpOnly: true, Secure: p.cfg.SecureCookies,
			SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	}
	flash := "Your key is registered."
	if out["account_created"] == true {
		flash = "Your key is registered to your new business account " + f.Get("company.name") + "."
	}
	p.redirect(w, r, "/subscriptions/"+url.PathEscape(str(out["subscription_id"])), flash)
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

func (p *Portal) renderRegister(w http.ResponseWriter, r *http.Request, v *View) {
	if v.Data == nil {
		v.Data = map[string]any{}
	}
	// The business accounts the person may register to instead of
	// creating one.
	var admin []queries.AccountSummary
	for _, a := range v.Accounts {
		if a.Kind == "business" && a.Role == "admin" && a.Status == "active" {
			admin = append(admin, a)
		}
	}
	v.Data["admin_accounts"] = admin
	p.render(w, r, "licenses-register.html", v)
}

// ---- subscriptions list ------------------------------------------------

// subscriptionFilters are the list's display filters. The API knows
// "active" and "all"; expiring and expired are chosen here from all.
var subscriptionFilters = []string{"all", "active", "expiring", "expired"}

// expiringWithin is how soon an active subscription ends for it to be
// "expiring" (as the installations lists' INST-2 choice: 30 days).
const expiringWithin = 30 * 24 * time.Hour

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
	if !p.load(w, r, v, "list", "/v1/accounts/"+url.PathEscape(v.AccountID)+"/subscriptions?status=all&sort="+url.QueryEscape(sort)) {
		return
	}
	product := v.Value("product")
	now := p.cfg.Now()
	counts := map[string]int{}
	var rows []map[string]any
	products := map[string]string{}
	for _, s := range licArray(licObject(v.Data["list"])["subscriptions"]) {
		m := licObject(s)
		products[str(m["product_id"])] = str(m["product_name"])
		if product != "" && str(m["product_id"]) != product {
			continue
		}
		m["title"] = subscriptionTitle(m)
		m["display"] = displayStatus(m, now)
		for _, f := range subscriptionFilters {
			if subscriptionInFilter(f, m, now) {
				counts[f]++
			}
		}
		if subscriptionInFilter(status, m, now) {
			rows = append(rows, m)
		}
	}
	v.Data["rows"], v.Data["counts"], v.Data["filters"], v.Data["products"] = rows, counts, subscriptionFilters, products
	p.render(w, r, "licenses-subscriptions.html", v)
}

// subscriptionInFilter reports whether subscription s shows under filter f.
func subscriptionInFilter(f string, s map[string]any, now time.Time) bool {
	status := str(s["status"])
	switch f {
	case "active":
		return status != "expired"
	case "expiring":
		return displayStatus(s, now) == "expiring"
	case "expired":
		return status == "expired"
	}
	return true
}

// displayStatus is the status a list shows: expired, in grace (ended,
// still working: SUB-6), expiring (ends within 30 days), active.
func displayStatus(s map[string]any, now time.Time) string {
	switch str(s["status"]) {
	case "expired":
		return "expired"
	case "grace":
		return "grace"
	}
	if end, err := time.Parse(time.RFC3339Nano, str(s["end"])); err == nil && end.Before(now.Add(expiringWithin)) {
		return "expiring"
	}
	return "active"
}

// subscriptionTitle is the display name (SUB-5), or the product's
// "… Subscription" until an admin names it.
func subscriptionTitle(s map[string]any) string {
	if n := str(s["name"]); n != "" {
		return n
	}
	name := str(s["product_name"])
	if name == "" {
		name = str(s["product_id"])
	}
	if str(s["period"]) == "permanent" {
		return name + " Permanent License"
	}
	return name + " Subscription"
}

// ---- subscription details ------------------------------------------------

// keySorts are the keys table's sortable columns (KEY-7), as the API's
// key_sort names them.
var keySorts = []string{"name", "type", "quota", "used", "vacant", "expiry"}

// subscriptionPath is the API path of the page's subscription.
func subscriptionPath(r *http.Request) string {
	return "/v1/subscriptions/" + url.PathEscape(chi.URLParam(r, "subscriptionID"))
}

// portalSubscriptionPath is the portal's page of the subscription.
func portalSubscriptionPath(r *http.Request) string {
	return "/subscriptions/" + url.PathEscape(chi.URLParam(r, "subscriptionID"))
}

// loadSubscription reads the page's subscription into v (keys sorted as
// the query's sort and dir ask) and makes its account the page's. dialog
// names the dialog open over it ("" for none). It answers the error page
// and returns false when the subscription cannot be read.
func (p *Portal) loadSubscription(w http.ResponseWriter, r *http.Request, v *View, dialog string) bool {
	q := r.URL.Query()
	col, dir := q.Get("sort"), q.Get("dir")
	path := subscriptionPath(r)
	if slices.Contains(keySorts, col) {
		if dir != "desc" {
			dir = "asc"
		}
		keySort := col
		if dir == "desc" {
			keySort = "-" + col
		}
		path += "?key_sort=" + url.QueryEscape(keySort)
	} else {
		col, dir = "", ""
	}
	if !p.load(w, r, v, "details", path) {
		return false
	}
	d := licObject(v.Data["details"])
	s := licObject(d["subscription"])
	v.setAccount(str(s["account_id"]))
	s["title"] = subscriptionTitle(s)
	if v.Title == "" || dialog == "" {
		v.Title = str(s["title"])
	}
	me := v.Me.PersonID
	keys := licArray(d["keys"])
	free := 0
	for _, k := range keys {
		m := licObject(k)
		if str(m["type"]) == "primary" {
			free = licInt(m["quota"])
			v.Data["primary"] = m
		}
		admins := licArray(m["administrators"])
		m["manage"] = v.IsAdmin() || slices.ContainsFunc(admins, func(a any) bool { return str(a) == me })
		if m["expires_at"] == nil {
			m["expires"] = s["end"]
		} else {
			m["expires"] = m["expires_at"]
		}
	}
	manage := v.IsAdmin()
	if primary := licObject(v.Data["primary"]); primary != nil && primary["manage"] == true {
		manage = true
	}
	v.Data["id"] = chi.URLParam(r, "subscriptionID")
	v.Data["base"] = portalSubscriptionPath(r)
	v.Data["sub"], v.Data["orders"], v.Data["keys"] = s, licArray(d["orders"]), keys
	v.Data["free"], v.Data["seats"] = free, licInt(s["seats"])
	v.Data["manage"] = manage
	v.Data["sort"], v.Data["dir"] = col, dir
	v.Data["sorts"] = keySorts
	v.Data["dialog"] = dialog
	return true
}

// subscriptionPage is the details page, and renderSubscription renders it
// with its dialog after v has been loaded.
func (p *Portal) subscriptionPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "subscriptions")
	if v == nil || !p.loadSubscription(w, r, v, "") {
		return
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// setAutoRenew turns renewal on or off (SUB-2); a reseller's subscription
// answers the API's problem on the page.
func (p *Portal) setAutoRenew(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "subscriptions")
	if v == nil {
		return
	}
	on := v.Form.Get("on") == "true"
	if p.submit(w, r, v, jsonRequest(http.MethodPut, subscriptionPath(r)+"/auto-renew", map[string]any{"on": on}), nil) {
		msg := "Subscription renewal is off."
		if on {
			msg = "Subscription renewal is on."
		}
		p.redirect(w, r, portalSubscriptionPath(r), msg)
		return
	}
	p.rerender(w, r, v, "")
}

// rerender shows the subscription again with the problem of a failed form.
func (p *Portal) rerender(w http.ResponseWriter, r *http.Request, v *View, dialog string) {
	if p.loadSubscription(w, r, v, dialog) {
		p.render(w, r, "licenses-subscription.html", v)
	}
}

func (p *Portal) renamePage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Rename the subscription", "subscriptions")
	if v == nil || !p.loadSubscription(w, r, v, "rename") {
		return
	}
	if v.Form.Get("name") == "" {
		v.Form.Set("name", str(licObject(v.Data["sub"])["name"]))
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
	if p.submit(w, r, v, jsonRequest(http.MethodPut, subscriptionPath(r)+"/name", map[string]any{"name": name}), nil) {
		p.redirect(w, r, portalSubscriptionPath(r), "The subscription is renamed "+name+".")
		return
	}
	p.rerender(w, r, v, "rename")
}

// ---- license keys (KEY-3..7, KEY-9, MEM-6) --------------------------------

func (p *Portal) newKeyPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Create license key", "subscriptions")
	if v == nil || !p.loadSubscription(w, r, v, "new-key") {
		return
	}
	if v.Form.Get("name") == "" {
		v.Form.Set("name", "License key "+strconv.Itoa(len(licArray(v.Data["keys"]))))
		v.Form.Set("renew_with_subscription", "on")
		v.Form.Set("expires_at", formatTime(licObject(v.Data["sub"])["end"], time.DateOnly))
	}
	p.render(w, r, "licenses-subscription.html", v)
}

// keyForm reads the quota and expiry of a key's form. It records a
// problem in v (named after the field) and returns false when one is not
// what the API takes, so that the API is never sent garbage.
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
// the API's problem next to the quota (KEY-4).
func (p *Portal) createKey(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Create license key", "subscriptions")
	if v == nil {
		return
	}
	quota, expires, ok := keyForm(v)
	if ok {
		body := map[string]any{"name": strings.TrimSpace(v.Form.Get("name")), "quota": quota}
		if expires != nil {
			body["expires_at"] = expires
		}
		var out map[string]any
		if p.submit(w, r, v, jsonRequest(http.MethodPost, subscriptionPath(r)+"/keys", body), &out) {
			p.redirect(w, r, portalSubscriptionPath(r), "License key "+str(body["name"])+" is created with "+strconv.Itoa(quota)+" seats.")
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
func (p *Portal) loadKey(w http.ResponseWriter, r *http.Request, v *View, dialog string) bool {
	if !p.loadSubscription(w, r, v, dialog) {
		return false
	}
	id := chi.URLParam(r, "keyID")
	for _, k := range licArray(v.Data["keys"]) {
		if m := licObject(k); str(m["key_id"]) == id {
			v.Data["key"] = m
			// The most the key's quota can be: its own seats and the free ones.
			v.Data["max"] = licInt(m["quota"]) + licInt(v.Data["free"])
			v.Data["keypath"] = keyPath(r)
			return true
		}
	}
	p.fail(w, r, v, &httpapi.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "the subscription has no license key " + id})
	return false
}

func (p *Portal) keyPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License key", "subscriptions")
	if v == nil || !p.loadKey(w, r, v, "key") {
		return
	}
	k := licObject(v.Data["key"])
	v.Form.Set("name", str(k["name"]))
	v.Form.Set("quota", str(k["quota"]))
	if k["expires_at"] == nil {
		v.Form.Set("renew_with_subscription", "on")
		v.Form.Set("expires_at", formatTime(k["expires"], time.DateOnly))
	} else {
		v.Form.Set("expires_at", formatTime(k["expires_at"], time.DateOnly))
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
		body := map[string]any{"name": name, "quota": quota}
		if expires != nil {
			body["expires_at"] = expires
		} else {
			body["renew_with_subscription"] = true
		}
		path := subscriptionPath(r) + "/keys/" + url.PathEscape(chi.URLParam(r, "keyID"))
		if p.submit(w, r, v, jsonRequest(http.MethodPatch, path, body), nil) {
			p.redirect(w, r, portalSubscriptionPath(r), "License key "+name+" is saved.")
			return
		}
		if v.Problem != nil && v.Problem.Type == httpapi.ProblemNoChange.URI() {
			p.redirect(w, r, portalSubscriptionPath(r), "License key "+name+" is unchanged.")
			return
		}
	}
	if p.loadKey(w, r, v, "key") {
		p.render(w, r, "licenses-subscription.html", v)
	}
}

// showKey reveals the key in full, on an explicit request (KEY-9): the
// API refuses anyone but the account's admins and the key's license
// administrators. The page is not stored (Cache-Control: no-store).
func (p *Portal) showKey(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License key", "subscriptions")
	if v == nil {
		return
	}
	var out map[string]any
	path := subscriptionPath(r) + "/keys/" + url.PathEscape(chi.URLParam(r, "keyID")) + "/secret"
	err := p.result(p.call(w, r, request{method: http.MethodGet, path: path}), &out)
	if err != nil {
		v.fail(err)
	}
	if !p.loadKey(w, r, v, "key") {
		return
	}
	if err == nil {
		v.Data["secret"] = str(out["key"])
	}
	k := licObject(v.Data["key"])
	v.Form = url.Values{"name": {str(k["name"])}, "quota": {str(k["quota"])}, "expires_at": {formatTime(k["expires"], time.DateOnly)}}
	if k["expires_at"] == nil {
		v.Form.Set("renew_with_subscription", "on")
	}
	p.render(w, r, "licenses-subscription.html", v)
}

func (p *Portal) deleteKeyPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Delete license key", "subscriptions")
	if v == nil || !p.loadKey(w, r, v, "delete-key") {
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
	path := subscriptionPath(r) + "/keys/" + url.PathEscape(chi.URLParam(r, "keyID"))
	if p.submit(w, r, v, request{method: http.MethodDelete, path: path}, nil) {
		p.redirect(w, r, portalSubscriptionPath(r), "The license key is deleted; its seats are back on the primary key.")
		return
	}
	if p.loadKey(w, r, v, "delete-key") {
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
	if !p.loadKey(w, r, v, "admins") {
		return
	}
	account := str(licObject(v.Data["sub"])["account_id"])
	var members struct {
		Members []map[string]any `json:"members"`
	}
	if err := p.read(w, r, "/v1/accounts/"+url.PathEscape(account)+"/members?status=active&limit=200", &members); err != nil {
		p.fail(w, r, v, err)
		return
	}
	admins := licArray(licObject(v.Data["key"])["administrators"])
	byID := map[string]map[string]any{}
	var candidates []map[string]any
	for _, m := range members.Members {
		id := str(m["person_id"])
		byID[id] = m
		if !slices.ContainsFunc(admins, func(a any) bool { return str(a) == id }) {
			candidates = append(candidates, m)
		}
	}
	var rows []map[string]any
	for _, a := range admins {
		m, ok := byID[str(a)]
		if !ok {
			m = map[string]any{"person_id": str(a)}
		}
		rows = append(rows, m)
	}
	v.Data["admins"], v.Data["candidates"] = rows, candidates
	p.render(w, r, "licenses-subscription.html", v)
}

// adminPath is the API path of a key's administrator.
func adminPath(r *http.Request, personID string) string {
	return subscriptionPath(r) + "/keys/" + url.PathEscape(chi.URLParam(r, "keyID")) + "/administrators/" + url.PathEscape(personID)
}

func (p *Portal) addKeyAdmin(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "License administrators", "subscriptions")
	if v == nil {
		return
	}
	person := v.Form.Get("person_id")
	if person == "" {
		licInvalid(v, "person_id", "choose a member of the account")
	} else if p.submit(w, r, v, request{method: http.MethodPut, path: adminPath(r, person)}, nil) {
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
	if p.submit(w, r, v, request{method: http.MethodDelete, path: adminPath(r, chi.URLParam(r, "personID"))}, nil) {
		p.redirect(w, r, keyPath(r)+"/administrators", "The license administrator is removed from this key.")
		return
	}
	p.renderAdmins(w, r, v)
}

// ---- helpers ---------------------------------------------------------------

// licObject returns a JSON object (nil if v is not one).
func licObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// licArray returns a JSON array (nil if v is not one).
func licArray(v any) []any {
	l, _ := v.([]any)
	return l
}

// licInt returns a JSON number as an int (0 if it is not one).
func licInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	i, err := strconv.Atoi(str(v))
	if err != nil {
		return 0
	}
	return i
}
