package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"seatledger/infra/sqldb/sqldbtest"
)

// The portal's license pages without JavaScript: the dashboard, registering
// a key, the subscriptions list, a subscription's details with its keys'
// dialogs, and the history panel, on the real server and its simulated
// clock (issue 8).

// apiOf is a client of the JSON API that shares the browser's cookies, for
// what the portal of another area does (invitations) and to check the
// portal's writes from the API's side.
func apiOf(p *page) *client {
	return &client{t: p.t, base: p.base, http: p.http, header: map[string][]string{}}
}

// officeClient defines the products and returns the back office's client.
func officeClient(t *testing.T, m *Main) *client {
	t.Helper()
	office := newClient(t, m)
	office.bearer = adminToken
	office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	return office
}

// buy has the order system sell seats of ras; it returns the key and the
// subscription.
func buy(office *client, order string, seats int, period, channel string) (key, sub string) {
	office.t.Helper()
	r := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": order, "product_id": "ras",
		"seats": seats, "period": period, "channel": channel, "support_plan": "standard"})
	return r.str("key"), r.str("subscription_id")
}

// portalRegistered signs Ada up in the portal and registers a 10-seat
// subscription's key through the register-key form and its
// business-details dialog (KEY-2). It returns her browser on the
// subscription's page, her business account and the subscription.
func portalRegistered(t *testing.T, m *Main, office *client) (ada *page, acc, sub string) {
	t.Helper()
	key, sub := buy(office, "p-1", 10, "1y", "online")
	ada = signUpPage(t, m, "Ada", "ada@example.com")
	personal := ada.URL
	ada.Post(personal+"/register-key", url.Values{"key": {key}}).Want(200, "<dialog open", "Provide your business details", `name="step" value="company"`)
	ada.Post(personal+"/register-key", url.Values{"step": {"company"}, "key": {key}, "company.name": {"Acme GmbH"}, "company.country": {"DE"},
		"company.zip": {"8200"}, "company.phone": {"+41 52 672 20 30"}})
	if ada.URL != "/subscriptions/"+sub {
		t.Fatalf("after registering, the browser is at %s, not the subscription's page:\n%s", ada.URL, ada.HTML)
	}
	ada.Want(200, "Your key is registered to your new business account Acme GmbH.")
	ada.Get("/") // the new business account is the one the portal opens now
	acc = strings.TrimPrefix(ada.URL, "/accounts/")
	if acc == personal || acc == "" || strings.Contains(acc, "/") {
		t.Fatalf("/ opened %s after registering, not the new business account", ada.URL)
	}
	return ada, acc, sub
}

// A new person registers a key from their personal account: the key is
// checked first, then the business-details dialog asks for the company
// (KEY-2); wrong details and a key of another account are shown next to
// their fields and change nothing. The dashboard then shows the product's
// card (INST-5), and the subscriptions list filters and arranges by end
// date (SUB-6).
func TestPortalLicenses_register_key_dashboard_and_list_KEY2_INST5_SUB6(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office := officeClient(t, m)
	key, sub := buy(office, "p-1", 10, "1y", "online")

	ada := signUpPage(t, m, "Ada", "ada@example.com")
	personal := ada.URL
	ada.Want(200, "Dashboard", "No products yet", "register the license key", personal+"/register-key")
	ada.Get(personal+"/register-key").Want(200, "Register key", `name="key"`)

	// A typo is caught before any business details are asked for (KEY-9).
	ada.Post(personal+"/register-key", url.Values{"key": {"not-a-key"}}).Want(400, `id="e-key"`, `value="not-a-key"`)
	if strings.Contains(ada.HTML, "<dialog") {
		t.Error("a malformed key opened the business-details dialog")
	}
	// A good key: the business-details dialog, on the same page.
	ada.Post(personal+"/register-key", url.Values{"key": {key}}).Want(200, "<dialog open", "Provide your business details",
		"Company name", "Country", "ZIP / postal code", "Phone", `value="`+key+`"`)
	// Wrong details: the API's reasons next to the fields; no account.
	ada.Post(personal+"/register-key", url.Values{"step": {"company"}, "key": {key}, "company.name": {"Acme GmbH"}, "company.country": {"Germany"},
		"company.zip": {""}, "company.phone": {"call me"}}).
		Want(400, "<dialog open", `id="e-company.country"`, "two-letter ISO 3166 code", `id="e-company.zip"`, `id="e-company.phone"`, `value="Acme GmbH"`)
	if accounts := apiOf(ada).must(200, "GET", "/v1/me/accounts", nil).body["accounts"].([]any); len(accounts) != 1 {
		t.Fatalf("wrong business details created an account: %v", accounts)
	}
	ada.Post(personal+"/register-key", url.Values{"step": {"company"}, "key": {key}, "company.name": {"Acme GmbH"}, "company.country": {"de"},
		"company.zip": {"8200"}, "company.phone": {"+41 52 672 20 30"}})
	if ada.URL != "/subscriptions/"+sub {
		t.Fatalf("after registering, the browser is at %s:\n%s", ada.URL, ada.HTML)
	}
	ada.Want(200, "Your key is registered to your new business account Acme GmbH.", "Remote Application Server Subscription")
	ada.Get("/")
	acc := strings.TrimPrefix(ada.URL, "/accounts/")
	A := "/accounts/" + acc

	// INST-5: the product's card on the business account's dashboard.
	ada.Want(200, "Remote Application Server — for 10 seats", "Active subscriptions", A+"/subscriptions?product=ras", "Prepaid farms", "Register key")

	// A key of another account is refused, in Bob's personal account
	// before any dialog (KEY-2).
	bob := signUpPage(t, m, "Bob", "bob@example.com")
	bob.Post(bob.URL+"/register-key", url.Values{"key": {key}}).Want(409, `id="e-key"`, "The license key is registered to another business account")
	if strings.Contains(bob.HTML, "<dialog") {
		t.Error("a key of another account opened the business-details dialog")
	}

	// A business account registers its next keys at once: a reseller's
	// subscription and a one-month one.
	resold, sub2 := buy(office, "p-2", 5, "1y", "reseller")
	ada.Post(A+"/register-key", url.Values{"key": {resold}})
	if ada.URL != "/subscriptions/"+sub2 {
		t.Fatalf("registering to the business account led to %s:\n%s", ada.URL, ada.HTML)
	}
	monthly, sub3 := buy(office, "p-3", 2, "1m", "online")
	ada.Post(A+"/register-key", url.Values{"key": {monthly}}).Want(200, "Your key is registered.")
	ada.Get(A).Want(200, "Remote Application Server — for 17 seats")

	// The list: active by default, arranged by end date either way.
	ada.Get(A+"/subscriptions").Want(200, "Subscriptions", "Display", "Arrange by", "/subscriptions/"+sub, "/subscriptions/"+sub2, "/subscriptions/"+sub3)
	before(t, ada.HTML, "/subscriptions/"+sub3+`"`, "/subscriptions/"+sub+`"`) // one month ends first
	ada.Get(A + "/subscriptions?sort=-end")
	before(t, ada.HTML, "/subscriptions/"+sub+`"`, "/subscriptions/"+sub3+`"`)

	// SUB-6: the one-month subscription expires after its 30 days of grace.
	advance(office, 62*24*time.Hour)
	eventually(t, "the one-month subscription's expiry", func() bool {
		return field(office.must(200, "GET", "/v1/subscriptions/"+sub3, nil), "status") == "expired"
	})
	// The months outlast the session: Ada signs in again.
	ada.Get(A+"/subscriptions?status=expired").Want(200, "Sign in")
	ada.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {A + "/subscriptions?status=expired"}})
	ada.Want(200, "/subscriptions/"+sub3, "expired")
	if strings.Contains(ada.HTML, "/subscriptions/"+sub+`"`) {
		t.Error("the expired filter shows an active subscription")
	}
	ada.Get(A + "/subscriptions?status=active")
	if !strings.Contains(ada.HTML, "/subscriptions/"+sub+`"`) || strings.Contains(ada.HTML, "/subscriptions/"+sub3+`"`) {
		t.Errorf("the active filter:\n%s", ada.HTML)
	}
	ada.Get(A+"/subscriptions?status=all&sort=end").Want(200, "/subscriptions/"+sub3, "/subscriptions/"+sub2, "Expired (1)", "All (3)")
	ada.Get(A).Want(200, "Remote Application Server — for 15 seats") // expired ones leave the card
}

// before fails the test unless a comes before b in html.
func before(t *testing.T, html, a, b string) {
	t.Helper()
	i, j := strings.Index(html, a), strings.Index(html, b)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("%q is not before %q:\n%s", a, b, html)
	}
}

// A subscription's details, its renewal toggle (SUB-2) and name (SUB-5),
// its keys sorted by any column (KEY-7), creating, modifying and deleting
// a sublicense in its dialogs (KEY-3..6) — a quota above the free seats is
// the API's problem next to the quota and creates nothing (KEY-4) — showing
// a key only on request (KEY-9), the license administrators tab (MEM-6),
// and the history panel naming who changed the quota.
func TestPortalLicenses_details_keys_and_history_SUB2_SUB5_KEY3_KEY4_KEY5_KEY6_KEY7_KEY9_MEM6_X1(t *testing.T) {
	m, smtp := peopleServer(t, sqldbtest.SQLite(t))
	office := officeClient(t, m)
	ada, acc, sub := portalRegistered(t, m, office)
	S := "/subscriptions/" + sub

	ada.Get(S).Want(200, "Remote Application Server Subscription", "Subscriptions</a> ›", "active", "Subscription renewal is on",
		"Activation date", "1 Mar 2026", "Expiration date", "1 Mar 2027", "Orders history", "p-1", "Products", "License keys (1)",
		">Primary</a>", "10 out of 10 seats are free", "Create license key", `href="/history/subscriptions/`+sub+`"`)

	// SUB-2: renewal off and on again; a reseller's cannot be turned on.
	ada.Post(S+"/auto-renew", url.Values{"on": {"false"}}).Want(200, "Subscription renewal is off.", "Turn on")
	ada.Post(S+"/auto-renew", url.Values{"on": {"true"}}).Want(200, "Subscription renewal is on.", "Turn off")
	resold, sub2 := buy(office, "p-2", 5, "1y", "reseller")
	ada.Post("/accounts/"+acc+"/register-key", url.Values{"key": {resold}})
	ada.Want(200, "contact your reseller")
	ada.Post("/subscriptions/"+sub2+"/auto-renew", url.Values{"on": {"true"}}).Want(409, "Sold through a reseller")

	// SUB-5: rename; an empty name is the API's problem, next to its field
	// in the dialog (the API names the field: rule X-7).
	ada.Get(S+"/rename").Want(200, "<dialog open", "Display name")
	ada.Post(S+"/rename", url.Values{"name": {""}}).Want(400, "<dialog open", `id="e-name"`, "name is required")
	ada.Post(S+"/rename", url.Values{"name": {"Head office"}}).Want(200, "The subscription is renamed Head office.", "<h1>Head office</h1>")

	// KEY-3: a sublicense with a quota, renewing with the subscription.
	ada.Get(S+"/keys/new").Want(200, "<dialog open", "Create license key", "Quota of seats (10 out of 10 free)", "Renew with subscription", "Expiration date")
	ada.Post(S+"/keys/new", url.Values{"name": {"Berlin"}, "quota": {"3"}, "renew_with_subscription": {"on"}})
	if ada.URL != S {
		t.Fatalf("after creating a key the browser is at %s", ada.URL)
	}
	ada.Want(200, "License key Berlin is created with 3 seats.", "License keys (2)", ">Berlin</a>", "7 out of 10 seats are free")
	ada.Get(S+"/keys/new").Want(200, "Quota of seats (7 out of 10 free)")

	// KEY-4: more than the free seats is refused next to the quota, and
	// creates nothing; so is a quota that is not a number, and a custom
	// expiry after the subscription's end (KEY-5).
	ada.Post(S+"/keys/new", url.Values{"name": {"Paris"}, "quota": {"12"}, "renew_with_subscription": {"on"}}).
		Want(409, "<dialog open", `id="e-quota"`, "Not enough free seats: 12 requested, 7 free", `value="Paris"`, "License keys (2)")
	ada.Post(S+"/keys/new", url.Values{"name": {"Paris"}, "quota": {"two"}, "renew_with_subscription": {"on"}}).
		Want(400, `id="e-quota"`, "whole number")
	ada.Post(S+"/keys/new", url.Values{"name": {"Paris"}, "quota": {"1"}}).Want(400, `id="e-expires_at"`)
	ada.Post(S+"/keys/new", url.Values{"name": {"Paris"}, "quota": {"1"}, "expires_at": {"2031-01-01"}}).
		Want(400, "<dialog open", `id="e-expires_at"`, "after the subscription&#39;s end")
	keys := office.must(200, "GET", "/v1"+S, nil).body["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("refused forms created keys: %v", keys)
	}
	var berlin string
	for _, k := range keys {
		if k := k.(map[string]any); k["name"] == "Berlin" {
			berlin = k["key_id"].(string)
		}
	}
	K := S + "/keys/" + berlin

	// KEY-7: sorted by a column's heading, either way.
	ada.Get(S+"?sort=quota&dir=desc").Want(200, `aria-sort="descending"`, "dir=asc&amp;sort=quota")
	before(t, ada.HTML, ">Primary</a>", ">Berlin</a>")
	ada.Get(S+"?sort=quota&dir=asc").Want(200, `aria-sort="ascending"`)
	before(t, ada.HTML, ">Berlin</a>", ">Primary</a>")
	ada.Get(S + "?sort=name&dir=asc")
	before(t, ada.HTML, ">Berlin</a>", ">Primary</a>")

	// KEY-9: the key dialog shows the key masked until asked.
	secret := apiOf(ada).must(200, "GET", "/v1"+K+"/secret", nil).str("key")
	ada.Get(K).Want(200, "<dialog open", `value="Berlin"`, "Quota of seats (up to 10 out of 10)", "Show key", `href="/history/keys/`+berlin+`"`)
	if strings.Contains(ada.HTML, secret) {
		t.Fatal("the key dialog shows the key before it is asked to")
	}
	ada.Post(K+"/secret", nil).Want(200, `id="key-secret"`, secret)

	// KEY-5: modify; more than the key's and the free seats is refused.
	ada.Post(K, url.Values{"name": {"Berlin office"}, "quota": {"11"}, "renew_with_subscription": {"on"}}).
		Want(409, "<dialog open", `id="e-quota"`, "Not enough free seats: 11 requested")
	ada.Post(K, url.Values{"name": {"Berlin office"}, "quota": {"5"}, "renew_with_subscription": {"on"}}).
		Want(200, "License key Berlin office is saved.", ">Berlin office</a>", "5 out of 10 seats are free")

	// the history panel names who changed the quota, from what to what.
	ada.Get("/history/keys/"+berlin).Want(200, `class="history-body"`, "History of license key Berlin office", "License key changed",
		"Ada Tester (you)", "Seats</span>: 3 → 5", "Back to license key Berlin office")
	ada.Get("/history/subscriptions/"+sub+"?panel=1").Want(200, `class="history-body"`, "Automatic renewal switched",
		"Automatic renewal</span>: on → off", "Subscription renamed", "Display name</span>: Head office", "Ada Tester (you)")
	ada.Get("/history/subscriptions/"+sub+"?limit=2").Want(200, "Later changes")
	ada.Get("/history/bogus/" + sub).Want(404)

	// MEM-6: Bob joins the account and becomes Berlin's license administrator.
	bobAPI, bobID := signedUp(t, m, "bob")
	apiOf(ada).must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"bob@example.com"}})
	q := linkQuery(t, smtp.WaitFor(t, "bob@example.com", "Invitation to Acme GmbH", 15*time.Second))
	bobAPI.must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": q.Get("account"), "invitation_id": q.Get("invitation"),
		"token": q.Get("token"), "email": "bob@example.com", "password": pw})
	eventually(t, "Bob's membership", func() bool {
		return strings.Contains(apiOf(ada).must(200, "GET", "/v1/accounts/"+acc+"/members", nil).raw, "bob@example.com")
	})
	ada.Get(K+"/administrators").Want(200, "<dialog open", "License administrators", "This key has no license administrators", "bob Tester (bob@example.com)")
	ada.Post(K+"/administrators", url.Values{"person_id": {""}}).Want(400, `id="e-person_id"`, "choose a member")
	ada.Post(K+"/administrators", url.Values{"person_id": {bobID}}).Want(200, "is now a license administrator of this key", "bob Tester", "Remove")

	bob := newPage(t, m)
	bob.Post("/signin", url.Values{"email": {"bob@example.com"}, "password": {pw}, "next": {S}})
	bob.Want(200, ">Berlin office</a>", K+"/delete")
	if strings.Contains(bob.HTML, "Create license key") {
		t.Error("a regular member who administers a sublicense only is offered to create keys")
	}
	bob.Post(K, url.Values{"name": {"Berlin office"}, "quota": {"4"}, "renew_with_subscription": {"on"}}).Want(200, "License key Berlin office is saved.")
	bob.Get("/history/keys/"+berlin).Want(200, "Seats</span>: 5 → 4", "bob Tester (you)")
	// to Ada, Bob is named too: the panel looks up the people of the page by ID.
	ada.Get("/history/keys/"+berlin).Want(200, "Seats</span>: 5 → 4", "bob Tester", "Ada Tester (you)")

	ada.Post(K+"/administrators/"+bobID+"/remove", nil).Want(200, "The license administrator is removed from this key.", "This key has no license administrators")
	bob.Get(S)
	if strings.Contains(bob.HTML, K+"/delete") {
		t.Error("Bob may still manage Berlin after his removal")
	}

	// KEY-6: delete, after a confirmation; the seats go back to the primary.
	ada.Get(K+"/delete").Want(200, "<dialog open", "Delete license key Berlin office?", "Delete key Berlin office")
	ada.Post(K+"/delete", nil).Want(200, "The license key is deleted", "License keys (1)", "10 out of 10 seats are free")
	ada.Get(K).Want(404)
}
