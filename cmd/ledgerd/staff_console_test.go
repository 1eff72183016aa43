package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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
