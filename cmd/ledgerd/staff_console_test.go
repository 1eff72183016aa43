package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"seatledger/infra/mail/mailtest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// The staff console (issue 23) in a browser without JavaScript: the page
// helper of portal_test.go, which sends each form with the CSRF token of
// the last page it read.

// staffConsole signs s in to the staff console through its sign-in form
// and returns the browser, at the console's home.
func staffConsole(t *testing.T, m *Main, s enrolled) *page {
	t.Helper()
	p := newPage(t, m)
	p.Get("/staff/sign-in").Want(200, "Staff sign-in")
	p.Post("/staff/sign-in", url.Values{"email": {s.email}, "password": {staffPassword}, "code": {totpCode(t, m, s.totpSecret)}})
	if p.URL != "/staff" {
		t.Fatalf("after the staff sign-in the browser is at %s:\n%s", p.URL, p.HTML)
	}
	return p
}

// hasCookie reports whether the browser sends cookie name to path.
func (p *page) hasCookie(path, name string) bool {
	u, _ := url.Parse(p.base + path)
	for _, c := range p.http.Jar.Cookies(u) {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// The console's session is its own: a staff person signs in with
// password and second factor, their cookie reaches /staff only, a
// customer's session opens no console page and the staff session no
// customer page, forms need the staff session's token, and signing out
// ends the session on the server.
func TestStaffConsole_sign_in_session_cookie_and_CSRF_X1(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office := newClient(t, m)
	office.bearer = adminToken
	ann := addStaff(t, m, office, "ann@vendor.example", "owner")

	// A wrong code is refused, and says nothing of which part was wrong.
	p := newPage(t, m)
	p.Get("/staff").Want(200, "Staff sign-in")
	if p.URL != "/staff/sign-in" {
		t.Errorf("a console page signed out sends to %s", p.URL)
	}
	p.Post("/staff/sign-in", url.Values{"email": {ann.email}, "password": {staffPassword}, "code": {"000000"}}).Want(http.StatusUnauthorized, "Staff sign-in")
	if p.hasCookie("/staff", StaffCookieName) {
		t.Error("a refused sign-in left a staff cookie")
	}
	// A recovery code instead of the authenticator's.
	p.Post("/staff/sign-in", url.Values{"email": {ann.email}, "password": {staffPassword}, "code": {ann.recoveryCodes[0]}, "next": {"/staff"}}).
		Want(200, "Staff console", "Staff owner")
	if !p.hasCookie("/staff", StaffCookieName) || p.hasCookie("/", StaffCookieName) || p.hasCookie("/accounts/x", StaffCookieName) {
		t.Error("the staff cookie must reach /staff and nothing else")
	}
	// The staff session opens no customer page: the portal asks to sign in.
	p.Get("/").Want(200, "Sign in")
	if p.URL != "/signin?next=%2F" && !strings.HasPrefix(p.URL, "/signin") {
		t.Errorf("a staff browser on / is at %s", p.URL)
	}
	// A form without the staff session's token is refused and changes nothing.
	p.Get("/staff").Want(200, "Staff console")
	p.Post("/staff/sign-out", url.Values{"csrf": {"forged"}}).Want(http.StatusForbidden, "did not come from the staff console")
	p.Get("/staff").Want(200, "Staff console")

	// A customer's session opens no console page.
	customer := signUpPage(t, m, "Cleo", "cleo@example.com")
	customer.Get("/staff").Want(200, "Staff sign-in")
	customer.Get("/staff/sign-in").Want(200, "Staff sign-in")

	// Signing out ends the session on the server: its token is dead.
	token := p.cookie("/staff", StaffCookieName)
	p.Get("/staff")
	p.Post("/staff/sign-out", nil).Want(200, "You are signed out of the staff console")
	p.Get("/staff").Want(200, "Staff sign-in")
	replay := newPage(t, m)
	u, _ := url.Parse(replay.base + "/staff")
	replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: StaffCookieName, Value: token, Path: "/staff"}})
	replay.Get("/staff").Want(200, "Staff sign-in")
}

// cookie returns the value of the cookie name the browser sends to path.
func (p *page) cookie(path, name string) string {
	u, _ := url.Parse(p.base + path)
	for _, c := range p.http.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// StaffCookieName is the console's cookie (portal.StaffCookie).
const StaffCookieName = "seatledger_staff"

// PostMultipart sends a multipart form to path (a reply with files), with
// the CSRF token of the last page.
func (p *page) PostMultipart(path string, fields map[string]string, files ...formFile) *page {
	p.t.Helper()
	if p.csrf != "" && fields["csrf"] == "" {
		fields["csrf"] = p.csrf
	}
	body, ctype := multipartBody(fields, files...)
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodPost, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return p.send(req)
}

// Lacks fails the test if the last page shows any of texts.
func (p *page) Lacks(texts ...string) *page {
	p.t.Helper()
	for _, s := range texts {
		if strings.Contains(p.HTML, s) {
			p.t.Fatalf("%s shows %q:\n%s", p.URL, s, p.HTML)
		}
	}
	return p
}

// consoleWorld is a back office with an owner, a support person and an
// auditor, and a customer (Bob) whose business account holds a key of
// product ras and has opened a ticket.
type consoleWorld struct {
	m                       *Main
	smtp                    *mailtest.Server
	owner, support, auditor enrolled
	bob                     *client
	acc, ticket, sub, key   string
}

func newConsoleWorld(t *testing.T, target sqldb.Target) *consoleWorld {
	t.Helper()
	m, smtp := peopleServer(t, target)
	office := newClient(t, m)
	office.bearer = adminToken
	w := &consoleWorld{m: m, smtp: smtp}
	w.owner = addStaff(t, m, office, "ann@vendor.example", "owner")
	owner := signInStaff(t, m, w.owner, w.owner.recoveryCodes[9])
	w.support = addStaff(t, m, owner, "sue@vendor.example", "support")
	w.auditor = addStaff(t, m, owner, "audrey@vendor.example", "auditor")
	owner.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19})
	bought := owner.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "console-1", "product_id": "ras", "seats": 10,
		"period": "1y", "channel": "online", "support_plan": "standard"})
	w.sub, w.key = bought.str("subscription_id"), bought.str("key")
	w.bob = newClient(t, m)
	bobID := w.bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com")).str("person_id")
	verifyEmail(t, m, bobID)
	w.bob.must(200, "POST", "/v1/session", map[string]any{"email": "bob@example.com", "password": pw})
	w.acc = w.bob.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Bob Maschinen AG", "country": "CH",
		"zip": "8200", "phone": "+41 52 000 00 00"}}).str("account_id")
	w.bob.must(200, "POST", "/v1/keys/register", map[string]any{"key": w.key, "account_id": w.acc})
	w.ticket = w.bob.must(201, "POST", "/v1/accounts/"+w.acc+"/tickets", map[string]any{"product_id": "ras", "category": "technical",
		"subject": "Licence server stopped", "description": "It stopped this morning.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
	jrnCaughtUp(t, m)
	return w
}

// The staff console's support story on both engines (issue 23, TKT-2,
// ACT-3, X-1): support finds the customer's ticket in the queue (filters
// by status, product, account, waiting time), takes it on, answers it
// with a file and moves it; the customer sees the support person's name
// on the ticket and in the mail (over the test's SMTP server). The owner
// finds the account (company, support code, member address, key's last
// group) and turns offline activation on with a reason, which the
// account's history shows with their name; the subscription's orders say
// who placed them. An auditor reads the same pages without a form, and
// their posts are refused.
func TestStaffConsole_support_answers_owner_switches_offline_TKT2_ACT3_X1(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newConsoleWorld(t, target)
		m, tk := w.m, w.ticket

		// The queue: the customer waits, so the ticket is there.
		sue := staffConsole(t, m, w.support)
		sue.Get("/staff/tickets").Want(200, "Ticket queue", tk, "Bob Maschinen AG", "Licence server stopped")
		for _, q := range []string{"?waiting=0", "?account=maschinen", "?product=ras", "?status=open", "?assignee=none", "?account=" + w.acc} {
			sue.Get("/staff/tickets"+q).Want(200, tk)
		}
		for _, q := range []string{"?waiting=5", "?account=nobody", "?status=closed", "?assignee=me"} {
			sue.Get("/staff/tickets"+q).Want(200, "No tickets match").Lacks(tk)
		}
		sue.Get("/staff/tickets?waiting=soon").Want(http.StatusBadRequest, "whole number of hours")

		// Assign to me, then reply with a file, then move the ticket.
		sue.Get("/staff/tickets/"+tk).Want(200, "Assign to me", "It stopped this morning.", "Reply as support")
		sue.Post("/staff/tickets/"+tk+"/assign", nil).Want(200, "The ticket is assigned to you.", `<dd id="assignee">Staff support</dd>`).Lacks("Assign to me")
		sue.Get("/staff/tickets?assignee=me").Want(200, tk)
		sue.PostMultipart("/staff/tickets/"+tk+"/replies", map[string]string{"body": ""}).Want(http.StatusBadRequest)
		sue.PostMultipart("/staff/tickets/"+tk+"/replies", map[string]string{"body": "Restart the service, please; the log shows why."},
			formFile{"attachments", "server.log", "text/plain", "license check failed\n"}).
			Want(200, "Your reply is sent; the customer sees it signed Staff support.", "Support (Staff support)", "server.log")
		sue.Post("/staff/tickets/"+tk+"/status", url.Values{"status": {"awaiting_customer"}}).Want(200, "The ticket is awaiting the customer.")
		sue.Get("/staff/tickets?waiting=0").Lacks(tk) // support answered last: nobody waits

		// The customer sees the support person's name, on the page and in the mail.
		w.bob.minPos = 0
		jrnCaughtUp(t, m)
		if got := w.bob.do("GET", "/tickets/"+tk, nil); got.status != 200 || !strings.Contains(got.raw, "Support (Staff support)") ||
			!strings.Contains(got.raw, "Restart the service") {
			t.Errorf("the customer's ticket page = %d:\n%s", got.status, got.raw)
		}
		msg := w.smtp.WaitFor(t, "bob@example.com", "Support replied", 15*time.Second)
		if !strings.Contains(msg.Body, "Staff support of support replied to the ticket "+tk) {
			t.Errorf("the mail does not name the support person:\n%s", msg.Body)
		}

		// The owner: the account lookup, every way.
		ann := staffConsole(t, m, w.owner)
		code := ""
		if prof := w.bob.must(200, "GET", "/v1/accounts/"+w.acc, nil); prof.body != nil {
			code = prof.str("support_code")
		}
		hint := w.key[strings.LastIndex(w.key, "-")+1:]
		for _, q := range []string{"maschinen", code, "bob@example.com", strings.ToLower(hint)} {
			ann.Get("/staff/accounts?q="+url.QueryEscape(q)).Want(200, "Bob Maschinen AG", "/staff/accounts/"+w.acc)
		}
		ann.Get("/staff/accounts?q=nothing-like-it").Want(200, "No account matches")
		ann.Get("/staff/accounts/"+w.acc).Want(200, "Bob Maschinen AG", "…-"+hint, `<strong id="offline-state">off</strong>`, "Turn offline activation on").
			Lacks(w.key)

		// The switch needs a reason; with one it is recorded, with their name.
		ann.Post("/staff/accounts/"+w.acc+"/offline-activation", url.Values{"enabled": {"on"}, "reason": {"  "}}).
			Want(http.StatusBadRequest, "Reason is required").Lacks(`<strong id="offline-state">on</strong>`)
		ann.Post("/staff/accounts/"+w.acc+"/offline-activation", url.Values{"enabled": {"on"}, "reason": {"Air-gapped plant, ticket " + tk}}).
			Want(200, "Offline activation is on", `<strong id="offline-state">on</strong>`, "Offline activation switched", "by Staff owner (owner)",
				"Reason: Air-gapped plant, ticket "+tk)
		// The customer's own history panel tells the same.
		if got := w.bob.do("GET", "/history/accounts/"+w.acc, nil); !strings.Contains(got.raw, "Staff owner (owner)") ||
			!strings.Contains(got.raw, "Reason: Air-gapped plant") {
			t.Errorf("the customer's account history:\n%s", got.raw)
		}

		// The subscription's orders, with who placed them.
		ann.Get("/staff/subscriptions/"+w.sub).Want(200, "console-1", "purchase", "Staff owner (owner)")

		// The auditor reads, without forms; their posts are refused.
		audrey := staffConsole(t, m, w.auditor)
		audrey.Get("/staff/tickets/"+tk).Want(200, "Restart the service", "does not answer them").Lacks("Send reply", "Assign to me", "Change status")
		audrey.Get("/staff/accounts/"+w.acc).Want(200, "does not turn account switches").Lacks("Turn offline activation")
		audrey.Post("/staff/tickets/"+tk+"/replies", url.Values{"body": {"hello"}}).Want(http.StatusForbidden)
		audrey.Post("/staff/tickets/"+tk+"/assign", nil).Want(http.StatusForbidden)
		audrey.Post("/staff/tickets/"+tk+"/status", url.Values{"status": {"resolved"}}).Want(http.StatusForbidden)
		audrey.Post("/staff/accounts/"+w.acc+"/offline-activation", url.Values{"enabled": {"off"}, "reason": {"no"}}).Want(http.StatusForbidden)
		ann.Get("/staff/accounts/"+w.acc).Want(200, `<strong id="offline-state">on</strong>`)
	})
}
