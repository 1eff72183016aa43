package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"seatledger/domain/account"
	"seatledger/infra/sqldb/sqldbtest"
)

// landingDevices counts the devices landingSignIn signs in from.
var landingDevices atomic.Int32

// landingSignIn signs email in from a browser of its own on a device of
// its own (a loopback address of its own, so that the sign-in limits of
// one client are not what a test of many sign-ins measures), sent to
// sign in for next ("" when the person opened the sign-in page
// themselves), and returns it where the portal took it.
func landingSignIn(t *testing.T, m *Main, email, next string) *page {
	t.Helper()
	p := newPage(t, m)
	device := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(landingDevices.Add(1)))}
	p.http.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: device}).DialContext}
	p.Get("/signin?next="+url.QueryEscape(next)).Want(200, "Sign in")
	p.Post("/signin", url.Values{"email": {email}, "password": {pw}, "next": {next}})
	if p.Status != 200 {
		t.Fatalf("%s could not sign in: %d at %s", email, p.Status, p.URL)
	}
	return p
}

// landingJoin has bob join account acc through an invitation of its admin.
func landingJoin(t *testing.T, admin, bob *client, links invitationLinks, acc string) {
	t.Helper()
	inv := admin.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"bob@example.com"}})
	id := inv.body["invitation_ids"].([]any)[0].(string)
	bob.must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": acc, "invitation_id": id,
		"token": links.Token(account.TokenInvitation, id)})
}

// invitationLinks derives the tokens of invitation links (secret.Key).
type invitationLinks interface {
	Token(purpose, subject string) string
}

// Rule MEM-2: after sign-in the portal opens the account its person used
// last, whichever browser they used it in (it is kept per person on the
// server, not in a cookie); else their only business account; else their
// personal account, whose dashboard then lists their business accounts.
// The page a browser was sent to sign in for comes first; an account the
// person was blocked in since is not opened.
func TestPortal_sign_in_lands_on_the_account_used_last_MEM2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office := officeClient(t, m)
	ada, acme, _ := portalRegistered(t, m, office)
	A := "/accounts/" + acme

	if p := landingSignIn(t, m, "ada@example.com", ""); p.URL != A {
		t.Fatalf("a new browser of Ada's opened %s, not Acme's dashboard %s", p.URL, A)
	}

	// A second business account, created in the portal, is the one used
	// last, in a browser that never saw it too.
	ada.Get("/me")
	ada.Post("/me/accounts", url.Values{"company.name": {"Beta AG"}, "company.country": {"CH"}, "company.zip": {"8000"},
		"company.phone": {"+41 44 000 00 00"}}).Want(200, "The business account Beta AG is created")
	beta := strings.TrimSuffix(strings.TrimPrefix(ada.URL, "/accounts/"), "/profile")
	B := "/accounts/" + beta
	other := landingSignIn(t, m, "ada@example.com", "")
	if other.URL != B {
		t.Fatalf("after Ada used Beta AG, sign-in opened %s, not %s", other.URL, B)
	}

	// Switching back to Acme in one browser counts in every other; a
	// sign-in sent to "/" lands the same way.
	other.Get("/switch?account="+acme).Want(200, "Dashboard")
	if p := landingSignIn(t, m, "ada@example.com", "/"); p.URL != A {
		t.Fatalf("after Ada switched to Acme, sign-in opened %s, not %s", p.URL, A)
	}
	// So does any page of an account, not only the switcher.
	other.Get(B+"/users").Want(200, "Users")
	if p := landingSignIn(t, m, "ada@example.com", ""); p.URL != B {
		t.Fatalf("after Ada opened Beta's users, sign-in opened %s, not %s", p.URL, B)
	}
	// Her own pages (/me) are shown in that account's frame: no use of it.
	other.Get("/me").Want(200, "Personal profile")
	// The page she was sent to sign in for comes first.
	if p := landingSignIn(t, m, "ada@example.com", A+"/farms"); p.URL != A+"/farms" {
		t.Fatalf("sign-in for Acme's farms opened %s", p.URL)
	}

	// Bob belongs to both business accounts and has used neither: his
	// personal account, whose dashboard leads to both.
	adaAPI := apiOf(ada)
	bobAPI, bobID := signedUp(t, m, "bob")
	landingJoin(t, adaAPI, bobAPI, linkKeyOf(m), acme)
	landingJoin(t, adaAPI, bobAPI, linkKeyOf(m), beta)
	jrnCaughtUp(t, m)
	bob := landingSignIn(t, m, "bob@example.com", "")
	if !strings.HasPrefix(bob.URL, "/accounts/") || bob.URL == A || bob.URL == B {
		t.Fatalf("Bob, in two business accounts, landed on %s, not his personal account", bob.URL)
	}
	bob.Want(200, "Your subscriptions are in your business accounts", `href="`+A+`">Acme GmbH</a>`, `href="`+B+`">Beta AG</a>`)
	if strings.Contains(bob.HTML, "No products yet") {
		t.Error("the personal dashboard of a member of business accounts says there are no products")
	}

	// Bob uses Acme, then is blocked there (MEM-8): he lands on the
	// business account he may still use.
	bob.Get(A).Want(200, "Dashboard")
	adaAPI.must(200, "POST", "/v1/accounts/"+acme+"/members/"+bobID+"/block", nil)
	jrnCaughtUp(t, m)
	if p := landingSignIn(t, m, "bob@example.com", ""); p.URL != B {
		t.Fatalf("Bob, blocked in the account he used last, landed on %s, not %s", p.URL, B)
	}
}

// Rule KEY-2 (and MEM-2): a key already registered to one of the
// person's own business accounts is refused with that account named and
// a link to the subscription there, from the personal account or from
// another business account of theirs; a stranger entering the same key
// learns nothing of the account it belongs to.
func TestPortal_register_key_of_ones_own_account_KEY2_MEM2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office := officeClient(t, m)
	key, sub := buy(office, "p-1", 10, "1y", "online")
	ada := signUpPage(t, m, "Ada", "ada@example.com")
	personal := ada.URL
	adaAPI := apiOf(ada)
	company := map[string]any{"name": "Acme GmbH", "country": "DE", "zip": "8200", "phone": "+41 52 672 20 30"}
	acme := adaAPI.must(201, "POST", "/v1/keys/register", map[string]any{"key": key, "company": company}).str("account_id")
	beta := adaAPI.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Beta AG", "country": "CH",
		"zip": "8000", "phone": "+41 44 000 00 00"}}).str("account_id")
	jrnCaughtUp(t, m)

	for _, from := range []string{personal, "/accounts/" + beta} {
		ada.Get(from+"/register-key").Want(200, "Register key")
		ada.Post(from+"/register-key", url.Values{"key": {key}}).Want(409, `id="e-key"`,
			"is already registered to your business account Acme GmbH",
			`href="/subscriptions/`+sub+`">Open the subscription in Acme GmbH</a>`)
		if strings.Contains(ada.HTML, "<dialog") || strings.Contains(ada.HTML, "another business account") {
			t.Errorf("%s: Ada's own key is answered as a stranger's:\n%s", from, ada.HTML)
		}
	}
	ada.Get("/subscriptions/"+sub).Want(200, "License keys", `href="/accounts/`+acme+`/farms"`)

	bob := signUpPage(t, m, "Bob", "bob@example.com")
	bob.Post(bob.URL+"/register-key", url.Values{"key": {key}}).Want(409, `id="e-key"`, "is registered to another business account")
	for _, secret := range []string{"Acme", acme, sub, "/subscriptions/"} {
		if strings.Contains(bob.HTML, secret) {
			t.Errorf("a stranger's refusal shows %q:\n%s", secret, bob.HTML)
		}
	}
}

// TestPortalBrowser_returning_admin_lands_on_her_business_account_MEM2_KEY2:
// the returning admin in a real browser. Ada's account was set up
// through the API, so the portal remembers no account of hers: signing in
// opens her only business account (MEM-2). She switches to her personal
// account, whose dashboard leads back to Acme, and enters her own key
// there: the page names Acme and its link opens the subscription (KEY-2).
// Signed out and in again, she lands where she was last: Acme.
func TestPortalBrowser_returning_admin_lands_on_her_business_account_MEM2_KEY2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	_, adaAPI, key, acc, sub := installationsAccount(t, m, "ras", 10)
	personal := adaAPI.must(200, "GET", "/v1/me", nil).str("personal_account_id")
	jrnCaughtUp(t, m)

	b := openTab(t, m)
	b.open("/")
	b.at("/signin")
	b.fill("email", "ada@example.com")
	b.fill("password", pw)
	b.press("Sign in")
	b.at("/accounts/" + acc)
	b.see("Remote Application Server")

	b.selectIn("form.switcher", "account", personal)
	b.press("Switch")
	b.at("/accounts/" + personal)
	b.see("Your subscriptions are in your business accounts")
	b.lacks("No products yet")
	b.checkPage()
	b.shot("personal-dashboard")

	b.press("Register a key")
	b.at("/accounts/" + personal + "/register-key")
	b.fill("key", key)
	// The refusal is answered 409, which Chromium logs as a failed load.
	allowConsole(b.ctx, "status of 409 (Conflict) "+b.base+"/accounts/"+personal+"/register-key")
	b.press("Register")
	b.see("is already registered to your business account Acme GmbH")
	b.shot("register-own-key")
	b.press("Open the subscription in Acme GmbH")
	b.at("/subscriptions/" + sub)
	b.see("License keys")

	b.press("Sign out")
	b.see("You are signed out.")
	b.fill("email", "ada@example.com")
	b.fill("password", pw)
	b.press("Sign in")
	b.at("/accounts/" + acc)
}
