package main

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/pquerna/otp/totp"

	"seatledger/infra/sqldb/sqldbtest"
)

// The staff console's pages for owners and auditors (issue 23): people,
// service accounts, enrolment and the read-only audit pages, in a browser
// without JavaScript (the page helper of portal_test.go).

// shown returns the first submatch of re in the page, or fails.
func shown(t *testing.T, p *page, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(p.HTML)
	if m == nil {
		t.Fatalf("%s shows nothing like %s:\n%s", p.URL, re, p.HTML)
	}
	return m[1]
}

// X-1 (issue 23): an owner invites a support person in the console and
// sees the enrolment token once; the person enrols in the console (the
// secret counts once their authenticator's first code confirms it) and
// signs in; the owner changes their role, resets their second factor
// (their session ends) and keeps the order system's service account
// (created, rotated, revoked, each token shown once and working until
// replaced). The last owner stays one; support may not open the page.
func TestStaffConsole_owner_invites_support_and_keeps_service_accounts_X1(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office := newClient(t, m)
	office.bearer = adminToken
	ann := addStaff(t, m, office, "ann@vendor.example", "owner")
	owner := staffConsole(t, m, ann)

	owner.Get("/staff").Want(200, `href="/staff/people"`, `href="/staff/service-accounts"`, `href="/staff/audit"`)
	owner.Get("/staff/people").Want(200, "Invite a staff person", ann.email)
	owner.Post("/staff/people", url.Values{"email": {"not an address"}, "display_name": {"Sue Support"}, "role": {"support"}}).Want(400, "Sue Support")
	owner.Post("/staff/people", url.Values{"email": {"sue@vendor.example"}, "display_name": {"Sue Support"}, "role": {"support"}}).
		Want(200, "Sue Support was added as support", "Enrolment token for sue@vendor.example")
	token := shown(t, owner, `id="enrolment-token">([^<]+)<`)
	owner.Get("/staff/people").Want(200, "Sue Support")
	if strings.Contains(owner.HTML, token) {
		t.Error("the enrolment token is shown again")
	}
	sueID := shown(t, owner, `<tr id="person-([^"]+)">\s*<td>Sue Support`)

	// Sue enrols in the console; a wrong code confirms nothing.
	sp := newPage(t, m)
	sp.Get("/staff/enrol").Want(200, "Staff enrolment")
	sp.Post("/staff/enrol", url.Values{"email": {"sue@vendor.example"}, "token": {token}, "password": {staffPassword}}).
		Want(200, "Your authenticator's secret", "Recovery codes", `href="otpauth://totp/`)
	secret := shown(t, sp, `id="totp-secret">([A-Z2-7]+)<`)
	sp.Post("/staff/enrol/confirm", url.Values{"email": {"sue@vendor.example"}, "token": {token}, "code": {"12345"}}).Want(400, "Confirm with the first code")
	first, err := totp.GenerateCode(secret, m.Clock.Now().Add(-30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sp.Post("/staff/enrol/confirm", url.Values{"email": {"sue@vendor.example"}, "token": {token}, "code": {first}}).Want(200, "You are enrolled")
	sue := enrolled{id: sueID, email: "sue@vendor.example", totpSecret: secret}
	support := staffConsole(t, m, sue)
	support.Get("/staff").Want(200, "Sue Support")
	if strings.Contains(support.HTML, `href="/staff/people"`) {
		t.Error("support's menu offers the people page")
	}
	support.Get("/staff/people").Want(http.StatusForbidden)

	owner.Get("/staff/people").Want(200, "enrolled")
	owner.Post("/staff/people/"+sueID+"/role", url.Values{"role": {"sales"}}).Want(200, "The role was changed to sales")
	owner.Post("/staff/people/"+ann.id+"/remove", nil).Want(http.StatusConflict, "last owner")
	owner.Get("/staff/people")
	owner.Post("/staff/people/"+sueID+"/totp-reset", nil).Want(200, "Enrolment token for sue@vendor.example", "second factor reset")
	support.Get("/staff").Want(200, "Staff sign-in") // her session ended with the reset

	// The order system's service account: its token is shown once and
	// works until rotated; the rotated one until revoked.
	owner.Get("/staff/service-accounts").Want(200, "No service accounts yet")
	owner.Post("/staff/service-accounts", url.Values{"name": {"order system"}}).Want(200, "Token of order system")
	first = shown(t, owner, `id="service-token">(slsa_[^<]+)<`)
	machine := newClient(t, m)
	machine.bearer = first
	rasProduct := map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19}
	machine.must(200, "PUT", "/v1/products/ras", rasProduct)
	svcID := shown(t, owner, `<tr id="service-([^"]+)">\s*<td>order system`)
	owner.Post("/staff/service-accounts/"+svcID+"/rotate", nil).Want(200, "old token stopped working")
	second := shown(t, owner, `id="service-token">(slsa_[^<]+)<`)
	if r := machine.do("GET", "/v1/products", nil); r.status != 401 {
		t.Errorf("the rotated-out token = %d", r.status)
	}
	machine.bearer = second
	machine.must(200, "PUT", "/v1/products/ras", rasProduct)
	owner.Post("/staff/service-accounts/"+svcID+"/revoke", nil).Want(200, "revoked")
	if r := machine.do("GET", "/v1/products", nil); r.status != 401 {
		t.Errorf("a revoked token = %d", r.status)
	}
}

// X-2 (issue 23): an auditor reads an entity's history (naming the
// service account that sold it), verifies the log against the latest and
// a saved checkpoint (a forged one is refused), and reconciles a
// period whose orders name who applied them; and every mutating form of
// the console refuses them with a 403 page, changing nothing.
func TestStaffConsole_auditor_reads_and_is_refused_every_mutating_form_X2(t *testing.T) {
	m, _ := peopleServerWith(t, sqldbtest.SQLite(t), nil, "LEDGER_CHECKPOINT_INTERVAL", "100ms")
	office := newClient(t, m)
	office.bearer = adminToken
	annE := addStaff(t, m, office, "ann@vendor.example", "owner")
	ann := signInStaff(t, m, annE, totpCode(t, m, annE.totpSecret))
	ann.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19})
	orders := newClient(t, m)
	orders.bearer = ann.must(201, "POST", "/v1/service-accounts", map[string]any{"name": "order system"}).str("token")
	sub := orders.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "audit-1", "product_id": "ras", "seats": 10,
		"period": "1y", "channel": "online", "support_plan": "standard"}).str("subscription_id")
	audE := addStaff(t, m, ann, "audrey@vendor.example", "auditor")
	aud := staffConsole(t, m, audE)

	aud.Get("/staff").Want(200, `href="/staff/audit"`)
	aud.Get("/staff/audit").Want(200, "Read-only", "Show the history", "Verify", "Reconcile")
	if forms := regexp.MustCompile(`method="post" action="([^"]+)"`).FindAllStringSubmatch(aud.HTML, -1); len(forms) != 2 ||
		forms[0][1] != "/staff/sign-out" || forms[1][1] != "/staff/audit/verify" {
		t.Errorf("the audit page's forms that post: %q", forms)
	}
	aud.Get("/staff/audit/history?kind=subscription&id="+sub).Want(200, "Subscription purchased", "service account: order system")
	aud.Get("/staff/audit/history?kind=subscription&id="+sub+"&raw=1").Want(200, "subscription.purchased", "back_office:service:", "(service account: order system)")
	aud.Get("/staff/audit/history?kind=subscription&id=").Want(400, "is required")
	aud.Get("/staff/audit/reconciliation?from=2026-01-01&to=2030-12-31").Want(200, "Orders in the period", "audit-1", "service account: order system")
	aud.Get("/staff/audit/reconciliation?from=2026-01-01&to=2025-12-31").Want(400, "the period would be empty")
	aud.Get("/staff/audit/reconciliation?from=2026-01-01&to=2030-12-31&format=csv&part=orders").Want(200, "applied_by_name", ",audit-1,purchase,10,")

	// The checkpointer signs the log as it grows: wait for one that covers
	// the purchase, keep it, and verify against it and the latest.
	deadline := time.Now().Add(10 * time.Second)
	var note string
	for {
		aud.Get("/staff/audit/verify").Want(200, "Verified")
		if !strings.Contains(aud.HTML, "size 0 ") {
			r := ann.must(200, "GET", "/v1/audit/checkpoint", nil)
			note = r.raw
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of the purchase after 10s:\n%s", aud.HTML)
		}
		time.Sleep(100 * time.Millisecond)
	}
	aud.Get("/staff/audit")
	aud.Post("/staff/audit/verify", url.Values{"checkpoint": {strings.ReplaceAll(note, "\n", "\r\n")}}).Want(200, "Verified", "every hash chain holds")
	lines := strings.SplitN(note, "\n", 3)
	forged := lines[0] + "\n" + lines[1] + "0\n" + lines[2] // another size, the same signature
	aud.Post("/staff/audit/verify", url.Values{"checkpoint": {forged}}).Want(400, "not signed by the trusted key")

	// Every mutating form of the console: the auditor's role is refused
	// by the roster's policy, and nothing is written.
	var posts []string
	err := chi.Walk(m.portal.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodPost && strings.HasPrefix(route, "/staff/") {
			posts = append(posts, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/staff/people", "/staff/people/{staffID}/role", "/staff/service-accounts"} {
		if !slices.Contains(posts, want) {
			t.Fatalf("the console's forms %v lack %s", posts, want)
		}
	}
	// The sign-in, sign-out and enrolment act on the browser's own
	// credentials; the verification reads.
	own := map[string]bool{"/staff/sign-in": true, "/staff/sign-out": true, "/staff/enrol": true, "/staff/enrol/confirm": true,
		"/staff/audit/verify": true}
	head, err := m.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	params := regexp.MustCompile(`\{[^}]+\}`)
	for _, route := range posts {
		if own[route] {
			continue
		}
		path := params.ReplaceAllString(route, annE.id)
		aud.Get("/staff/audit")
		aud.Post(path, url.Values{"role": {"owner"}, "email": {"eve@vendor.example"}, "display_name": {"Eve"}, "name": {"mine"},
			"enabled": {"on"}, "reason": {"because"}, "body": {"hello"}, "status": {"resolved"}})
		if aud.Status != http.StatusForbidden || !strings.Contains(aud.HTML, "Staff console") {
			t.Errorf("the auditor's POST %s = %d:\n%s", path, aud.Status, aud.HTML)
		}
	}
	if after, err := m.Store.Head(t.Context()); err != nil || after != head {
		t.Errorf("the auditor's refused forms wrote: head %d → %d (%v)", head, after, err)
	}
}
