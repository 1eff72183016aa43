package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/infra/access"
	"seatledger/infra/mail/mailtest"
	"seatledger/infra/portal"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
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
	if p.hasCookie("/staff", portal.StaffCookie) {
		t.Error("a refused sign-in left a staff cookie")
	}
	// A recovery code instead of the authenticator's.
	p.Post("/staff/sign-in", url.Values{"email": {ann.email}, "password": {staffPassword}, "code": {ann.recoveryCodes[0]}, "next": {"/staff"}}).
		Want(200, "Staff console", "Staff owner")
	if !p.hasCookie("/staff", portal.StaffCookie) || p.hasCookie("/", portal.StaffCookie) || p.hasCookie("/accounts/x", portal.StaffCookie) {
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
	token := p.cookie("/staff", portal.StaffCookie)
	p.Get("/staff")
	p.Post("/staff/sign-out", nil).Want(200, "You are signed out of the staff console")
	p.Get("/staff").Want(200, "Staff sign-in")
	replay := newPage(t, m)
	u, _ := url.Parse(replay.base + "/staff")
	replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: portal.StaffCookie, Value: token, Path: "/staff"}})
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
	ownerAPI                *client
	owner, support, auditor enrolled
	bob                     *client
	acc, ticket, sub, key   string
	bobID                   string
}

func newConsoleWorld(t *testing.T, target sqldb.Target) *consoleWorld {
	t.Helper()
	m, smtp := peopleServer(t, target)
	office := newClient(t, m)
	office.bearer = adminToken
	w := &consoleWorld{m: m, smtp: smtp}
	w.owner = addStaff(t, m, office, "ann@vendor.example", "owner")
	owner := signInStaff(t, m, w.owner, w.owner.recoveryCodes[9])
	w.ownerAPI = owner
	w.support = addStaff(t, m, owner, "sue@vendor.example", "support")
	w.auditor = addStaff(t, m, owner, "audrey@vendor.example", "auditor")
	owner.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19})
	bought := owner.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "console-1", "product_id": "ras", "seats": 10,
		"period": "1y", "channel": "online", "support_plan": "standard"})
	w.sub, w.key = bought.str("subscription_id"), bought.str("key")
	w.bob = newClient(t, m)
	bobID := w.bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com")).str("person_id")
	w.bobID = bobID
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
		// A second ticket, three hours later; two hours after it, the
		// first customer has waited five hours, the second two.
		office := newClient(t, m)
		office.bearer = adminToken
		advance(office, 3*time.Hour)
		tk2 := w.bob.must(201, "POST", "/v1/accounts/"+w.acc+"/tickets", map[string]any{"product_id": "ras", "category": "other",
			"subject": "Second question", "description": "And another thing.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
		advance(office, 2*time.Hour)
		jrnCaughtUp(t, m)

		// The queue: the customers wait, the longest first.
		sue := staffConsole(t, m, w.support)
		sue.Get("/staff/tickets").Want(200, "Ticket queue", tk, tk2, "Bob Maschinen AG", "Licence server stopped", "5 h 00 min", "2 h 00 min")
		if strings.Index(sue.HTML, tk) > strings.Index(sue.HTML, tk2) {
			t.Errorf("the ticket waiting longest is not first:\n%s", sue.HTML)
		}
		for _, q := range []string{"?waiting=0", "?waiting=4", "?account=maschinen", "?product=ras", "?status=open", "?assignee=none", "?account=" + w.acc} {
			sue.Get("/staff/tickets"+q).Want(200, tk)
		}
		sue.Get("/staff/tickets?waiting=4").Lacks(tk2)
		for _, q := range []string{"?waiting=6", "?account=nobody", "?status=closed", "?assignee=me"} {
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
		link := regexp.MustCompile(`/staff/tickets/` + tk + `/attachments/[^"]+`).FindString(sue.HTML)
		if link == "" {
			t.Fatalf("no download link of the reply's file:\n%s", sue.HTML)
		}
		if sue.Get(link); sue.Status != 200 || sue.HTML != "license check failed\n" {
			t.Errorf("the reply's file downloads %d %q", sue.Status, sue.HTML)
		}
		sue.Post("/staff/tickets/"+tk+"/status", url.Values{"status": {"awaiting_customer"}}).Want(200, "The ticket is awaiting the customer.")
		sue.Get("/staff/tickets?waiting=0").Want(200, tk2).Lacks(tk) // support answered last: the customer does not wait
		if sue.Get("/staff/tickets?status=all"); strings.Index(sue.HTML, tk2) > strings.Index(sue.HTML, tk) {
			t.Errorf("an answered ticket comes before one whose customer waits:\n%s", sue.HTML)
		}

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
		ann.Get("/staff/accounts?q=bob@example.com").Want(200, "Personal account of Bob Tester")
		ann.Get("/staff/accounts/personal-"+w.bobID).Want(200, "Personal account of Bob Tester").Lacks("Turn offline activation")
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

// staffConsoleMatrix is who may open each route of the staff console: the
// staff roles allowed (the others get 403), or "public" (its sign-in and
// sign-out). A customer's session and a signed-out browser are sent to
// the console's sign-in on every other route. Every /staff route of the
// portal must be in it (issue 23: every page asks the roster's policy).
var staffConsoleMatrix = map[string]string{
	"GET /staff":                    "owner support sales finance auditor",
	"GET /staff/sign-in":            "public",
	"POST /staff/sign-in":           "public",
	"POST /staff/sign-out":          "public",
	"GET /staff/tickets":            "owner support sales finance auditor",
	"GET /staff/tickets/{ticketID}": "owner support sales finance auditor",
	"GET /staff/tickets/{ticketID}/attachments/{attachmentID}": "owner support sales finance auditor",
	"POST /staff/tickets/{ticketID}/assign":                    "owner support",
	"POST /staff/tickets/{ticketID}/replies":                   "owner support",
	"POST /staff/tickets/{ticketID}/status":                    "owner support",
	"GET /staff/accounts":                                      "owner support sales finance auditor",
	"GET /staff/accounts/{accountID}":                          "owner support sales finance auditor",
	"POST /staff/accounts/{accountID}/offline-activation":      "owner support",
	"GET /staff/subscriptions/{subscriptionID}":                "owner support sales finance auditor",
	// The owners' and auditors' pages (staff_console_pages_test.go).
	"GET /staff/people": "owner", "POST /staff/people": "owner", "POST /staff/people/{staffID}/role": "owner",
	"POST /staff/people/{staffID}/remove": "owner", "POST /staff/people/{staffID}/enrolment": "owner",
	"POST /staff/people/{staffID}/totp-reset": "owner", "GET /staff/service-accounts": "owner",
	"POST /staff/service-accounts": "owner", "POST /staff/service-accounts/{serviceID}/rotate": "owner",
	"POST /staff/service-accounts/{serviceID}/revoke": "owner",
	"GET /staff/audit": "owner finance auditor", "GET /staff/audit/history": "owner finance auditor",
	"GET /staff/audit/verify": "owner finance auditor", "POST /staff/audit/verify": "owner finance auditor",
	"GET /staff/audit/reconciliation": "owner finance auditor",
	"GET /staff/enrol":                "public", "POST /staff/enrol": "public", "POST /staff/enrol/confirm": "public",
}

// TestStaffConsole_authorization_matrix_X1 opens every route of the staff
// console as each staff role, as a customer and signed out (issue 23).
func TestStaffConsole_authorization_matrix_X1(t *testing.T) {
	w := newConsoleWorld(t, sqldbtest.SQLite(t))
	m := w.m
	browsers := map[string]*page{"owner": staffConsole(t, m, w.owner)}
	for _, role := range []string{"support", "sales", "finance", "auditor"} {
		browsers[role] = staffConsole(t, m, addStaff(t, m, w.ownerAPI, role+"@vendor.example", role))
	}
	browsers["customer"] = signUpPage(t, m, "Cleo", "cleo@example.com")
	browsers["signed out"] = newPage(t, m)
	ids := strings.NewReplacer("{ticketID}", w.ticket, "{accountID}", w.acc, "{subscriptionID}", w.sub, "{attachmentID}", "no-such-file")
	forms := map[string]url.Values{
		"POST /staff/tickets/{ticketID}/replies":              {"body": {"Looking into it."}},
		"POST /staff/tickets/{ticketID}/status":               {"status": {"in_progress"}},
		"POST /staff/accounts/{accountID}/offline-activation": {"enabled": {"on"}, "reason": {"matrix"}},
	}
	walked := map[string]bool{}
	// The portal's routes are the same on every server: a portal of no
	// server lists them.
	pages, err := portal.New(portal.Config{Access: &access.Desk{}, Queries: &queries.Reads{}, Commands: &commands.Set{},
		Tokens: func(string, string) string { return "t" }, Sessions: &session.Store{}})
	if err != nil {
		t.Fatal(err)
	}
	err = chi.Walk(pages.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = "/" + strings.TrimLeft(route, "/")
		if route == "/staff" || strings.HasPrefix(route, "/staff/") {
			walked[method+" "+route] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for op := range walked {
		if _, ok := staffConsoleMatrix[op]; !ok {
			t.Errorf("%s is not in the staff console's matrix", op)
		}
	}
	for op, allowed := range staffConsoleMatrix {
		if !walked[op] {
			t.Errorf("the matrix names %s, which is no route of the console", op)
			continue
		}
		if allowed == "public" {
			continue
		}
		method, route, _ := strings.Cut(op, " ")
		path := ids.Replace(route)
		for who, b := range browsers {
			b.Get("/staff") // the CSRF token of the browser's session, if any
			if method == http.MethodGet {
				b.Get(path)
			} else {
				form := url.Values{}
				for k, v := range forms[op] {
					form[k] = v
				}
				if op == "POST /staff/accounts/{accountID}/offline-activation" && who == "support" {
					form.Set("enabled", "off") // the owner turned it on
				}
				b.Post(path, form)
			}
			staffRole := who != "customer" && who != "signed out"
			switch {
			case !staffRole:
				if !strings.HasPrefix(b.URL, "/staff/sign-in") {
					t.Errorf("%s as %s: at %s (%d), not sent to sign in", op, who, b.URL, b.Status)
				}
			case strings.Contains(" "+allowed+" ", " "+who+" "):
				if b.Status == http.StatusForbidden || strings.HasPrefix(b.URL, "/staff/sign-in") {
					t.Errorf("%s as %s = %d at %s, want it allowed", op, who, b.Status, b.URL)
				}
			default:
				if b.Status != http.StatusForbidden {
					t.Errorf("%s as %s = %d at %s, want 403", op, who, b.Status, b.URL)
				}
			}
		}
	}
}
