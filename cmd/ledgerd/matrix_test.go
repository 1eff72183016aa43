package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/account"
	"seatledger/infra/farmclient"
	"seatledger/infra/httpapi"
	"seatledger/infra/offline"
	"seatledger/infra/sqldb/sqldbtest"
)

// The principals of the authorization matrix, in its columns' order.
var principals = []string{"anonymous", "member", "admin", "blocked", "removed", "other-admin", "back-office", "key-admin",
	"installation", "other-installation", "owner", "support", "sales", "finance", "auditor", "service"}

// The back office's principals (issue 23): a staff person of each role,
// signed in with password and TOTP, and the order system's service
// account. The admin token (back-office) is kept on by the setting, so
// that its column stays.
var staffPrincipals = []string{"owner", "support", "sales", "finance", "auditor", "service"}

// Who of the back office may call each route: the staff columns of the
// matrix. A principal named here gets the answer the admin token gets
// (back-office), anyone else of the back office 403. Every route of the
// matrix has an entry: a new route must say who of the back office may
// call it.
const (
	readers  = "owner support sales finance auditor" // staff.PermRead
	all      = readers + " service"                  // public routes, and the installations' own
	nobodyBO = ""                                    // no staff role: people's and installations' routes
)

var staffMatrix = map[string]string{
	"GET /v1/accounts/{accountID}": readers, "GET /v1/accounts/{accountID}/members": readers, "GET /v1/accounts/{accountID}/invitations": readers,
	// No staff role acts in a customer account, except through the named
	// switches below (offline activation).
	"PUT /v1/accounts/{accountID}/profile": nobodyBO, "PUT /v1/accounts/{accountID}/members/{personID}/role": nobodyBO,
	"POST /v1/accounts/{accountID}/members/{personID}/unblock": nobodyBO, "POST /v1/accounts/{accountID}/members/{personID}/block": nobodyBO,
	"DELETE /v1/accounts/{accountID}/members/{personID}": nobodyBO, "POST /v1/accounts/{accountID}/invitations": nobodyBO,
	"DELETE /v1/accounts/{accountID}/invitations/{invitationID}": nobodyBO, "POST /v1/accounts/{accountID}/leave": nobodyBO,
	"GET /v1/me": nobodyBO, "PUT /v1/me": nobodyBO, "PUT /v1/me/password": nobodyBO, "GET /v1/me/accounts": nobodyBO,
	"POST /v1/me/tokens": nobodyBO, "DELETE /v1/me/tokens/{tokenID}": nobodyBO, "POST /v1/accounts": nobodyBO,
	"PUT /v1/products/{productID}": "owner sales service", "POST /v1/orders": "owner sales service",
	"POST /v1/keys/register": nobodyBO, "GET /v1/products": readers, "GET /v1/eligibility": readers,
	"GET /v1/accounts/{accountID}/dashboard": readers, "GET /v1/accounts/{accountID}/subscriptions": readers,
	"GET /v1/subscriptions/{subscriptionID}": readers, "PUT /v1/subscriptions/{subscriptionID}/name": nobodyBO,
	"PUT /v1/subscriptions/{subscriptionID}/auto-renew": nobodyBO, "POST /v1/subscriptions/{subscriptionID}/keys": nobodyBO,
	"PATCH /v1/subscriptions/{subscriptionID}/keys/{keyID}": nobodyBO, "DELETE /v1/subscriptions/{subscriptionID}/keys/{keyID}": nobodyBO,
	"GET /v1/subscriptions/{subscriptionID}/keys/{keyID}/secret":                       nobodyBO,
	"PUT /v1/subscriptions/{subscriptionID}/keys/{keyID}/administrators/{personID}":    nobodyBO,
	"DELETE /v1/subscriptions/{subscriptionID}/keys/{keyID}/administrators/{personID}": nobodyBO,
	"POST /v1/accounts/{accountID}/tickets":                                            nobodyBO, "GET /v1/accounts/{accountID}/tickets": readers, "GET /v1/tickets/{ticketID}": readers,
	"POST /v1/tickets/{ticketID}/replies": "owner support", "GET /v1/tickets/{ticketID}/attachments/{attachmentID}": readers,
	"PUT /v1/tickets/{ticketID}/status": "owner support", "POST /v1/tickets/{ticketID}/close": nobodyBO,
	"POST /v1/tickets/{ticketID}/reopen": nobodyBO, "POST /v1/tickets/{ticketID}/survey": nobodyBO,
	"PUT /v1/tickets/{ticketID}/watchers/{personID}": nobodyBO, "DELETE /v1/tickets/{ticketID}/watchers/{personID}": nobodyBO,
	"GET /v1/mdm/ca.pem": all, "POST /v1/accounts/{accountID}/mdm/certificates": nobodyBO, "GET /v1/accounts/{accountID}/mdm/certificates": readers,
	"PUT /v1/products/{productID}/releases/{version}": "owner sales service", "DELETE /v1/products/{productID}/releases/{version}": "owner sales service",
	"GET /v1/accounts/{accountID}/downloads": readers, "GET /v1/accounts/{accountID}/downloads/{productID}": readers,
	"GET /v1/accounts/{accountID}/downloads/{productID}/{version}": readers,
	"POST /v1/installations/activations":                           all, "POST /v1/installations/trials": all, "GET /v1/offline/public-key": all,
	"GET /v1/installation/license": nobodyBO, "POST /v1/installation/usage": nobodyBO, "POST /v1/installation/enrollments": nobodyBO,
	"POST /v1/installation/deactivation":              nobodyBO,
	"PUT /v1/accounts/{accountID}/offline-activation": "owner support", // the named switch (ACT-3)
	"GET /v1/accounts/{accountID}/farms":              readers, "GET /v1/accounts/{accountID}/farms/export": readers,
	"GET /v1/accounts/{accountID}/proxy-servers": readers, "GET /v1/accounts/{accountID}/proxy-servers/export": readers,
	"GET /v1/installations/{installationID}": readers, "PUT /v1/installations/{installationID}/notes": nobodyBO,
	"POST /v1/accounts/{accountID}/installations/deactivate": nobodyBO, "POST /v1/accounts/{accountID}/offline-requests": nobodyBO,
	"GET /v1/history/{kind}/{id}": readers, "GET /v1/history/{kind}/{id}/state": readers,
	"GET /v1/accounts/{accountID}/events": readers, "GET /v1/accounts/{accountID}/events/stream": readers,
	// Webhooks (issue 22): the account's admins manage them; the back
	// office reads them, for support, and changes nothing.
	"GET /v1/accounts/{accountID}/webhooks": readers, "POST /v1/accounts/{accountID}/webhooks": nobodyBO,
	"GET /v1/accounts/{accountID}/webhooks/{webhookID}": readers, "PATCH /v1/accounts/{accountID}/webhooks/{webhookID}": nobodyBO,
	"DELETE /v1/accounts/{accountID}/webhooks/{webhookID}": nobodyBO, "POST /v1/accounts/{accountID}/webhooks/{webhookID}/rotate-secret": nobodyBO,
	"POST /v1/accounts/{accountID}/webhooks/{webhookID}/enable": nobodyBO, "POST /v1/accounts/{accountID}/webhooks/{webhookID}/disable": nobodyBO,
	"GET /v1/accounts/{accountID}/webhooks/{webhookID}/deliveries":                      readers,
	"POST /v1/accounts/{accountID}/webhooks/{webhookID}/deliveries/{deliveryID}/resend": nobodyBO,
	"GET /v1/audit/public-key": all, "GET /v1/audit/checkpoint": "owner finance auditor", "GET /v1/audit/proofs/inclusion": "owner finance auditor",
	"GET /v1/audit/proofs/consistency": "owner finance auditor", "GET /v1/audit/export": "owner finance auditor",
	"GET /v1/finance/reconciliation": "owner finance auditor",
	// The back office itself: the owner's.
	"GET /v1/staff": "owner", "POST /v1/staff": "owner", "PUT /v1/staff/{staffID}/role": "owner", "DELETE /v1/staff/{staffID}": "owner",
	"GET /v1/service-accounts": "owner", "POST /v1/service-accounts": "owner", "POST /v1/service-accounts/{serviceID}/rotate": "owner",
	"DELETE /v1/service-accounts/{serviceID}": "owner", "POST /v1/staff/{staffID}/enrolment": "owner",
	"POST /v1/staff/{staffID}/totp-reset": "owner",
	// The simulated clock: the admin token, and an owner's session.
	"GET /admin/clock": "owner", "POST /admin/clock/advance": "owner",
}

// skip marks a cell the matrix does not run (it would change the state
// the other cells rely on); the flows test covers it.
const skip = 0

// TestAuthorization_matrix_MEM5_MEM6_MEM8_X5 asks every endpoint as every
// kind of caller, against account A: its admin, a regular member, a
// blocked member, a removed member, the admin of another account B, the
// back office, a member who is license administrator of one sublicense
// of A's subscription (MEM-6), an installation of A activated with that
// sublicense (its credential, ACT-1), an installation of B, nobody, and
// the back office's own principals (issue 23): a staff person of each
// role and the order system's service account, whose columns staffMatrix
// gives route by route.
// Requests an allowed caller makes are chosen to be
// refused by the domain (409, 400, 404), so that the matrix changes
// nothing and every cell sees the same state. No refused answer may carry
// A's data. Later issues add their endpoints here; the test fails
// when a route is in neither the matrix nor the list of public routes.
func TestAuthorization_matrix_MEM5_MEM6_MEM8_X5(t *testing.T) {
	// No rate limit: every caller asks for the same trial, which the
	// per-server trial limit would answer 429 after three (TestLimits).
	m, _ := peopleServerWith(t, sqldbtest.SQLite(t), func(m *Main) { m.Limits = &httpapi.Limits{} }, "LEDGER_ADMIN_TOKEN_KEEP", "on")
	key := linkKeyOf(m)

	// Everybody signs up, signs in and takes a personal API token.
	clients, ids := map[string]*client{}, map[string]string{}
	for _, p := range []struct{ role, name string }{{"admin", "ada"}, {"member", "bob"}, {"blocked", "cyd"}, {"removed", "dan"}, {"other-admin", "eve"}, {"key-admin", "kim"}} {
		c := newClient(t, m)
		ids[p.role] = c.must(201, "POST", "/v1/signup", signUpBody(p.name, p.name+"@example.com")).str("person_id")
		verifyEmail(t, m, ids[p.role])
		c.must(200, "POST", "/v1/session", map[string]any{"email": p.name + "@example.com", "password": pw})
		clients[p.role] = c
	}
	ada := clients["admin"]
	company := map[string]any{"name": "Acme Matrix AG", "country": "CH", "zip": "8200", "phone": "+41 52 000 00 00"}
	accA := ada.must(201, "POST", "/v1/accounts", map[string]any{"company": company}).str("account_id")
	accB := clients["other-admin"].must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Beta", "country": "DE", "zip": "1", "phone": "1"}}).str("account_id")
	inv := ada.must(201, "POST", "/v1/accounts/"+accA+"/invitations", map[string]any{"emails": []string{"bob@example.com", "cyd@example.com", "dan@example.com", "kim@example.com"}})
	for i, role := range []string{"member", "blocked", "removed", "key-admin"} {
		invID := inv.body["invitation_ids"].([]any)[i].(string)
		clients[role].must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": accA, "invitation_id": invID,
			"token": key.Token(account.TokenInvitation, invID)})
	}
	ada.must(200, "POST", "/v1/accounts/"+accA+"/members/"+ids["blocked"]+"/block", nil)
	ada.must(200, "DELETE", "/v1/accounts/"+accA+"/members/"+ids["removed"], nil)
	supportCode := ada.must(200, "GET", "/v1/accounts/"+accA, nil).str("support_code")

	// A's subscription, with one sublicense whose license administrator
	// is kim (MEM-6).
	office := newClient(t, m)
	office.bearer = adminToken
	office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19})
	bought := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "matrix-1", "product_id": "ras", "seats": 10,
		"period": "1y", "channel": "online", "support_plan": "standard"})
	primaryKey, subID := bought.str("key"), bought.str("subscription_id")
	ada.must(200, "POST", "/v1/keys/register", map[string]any{"key": primaryKey, "account_id": accA})
	sublicense := ada.must(201, "POST", "/v1/subscriptions/"+subID+"/keys", map[string]any{"name": "Berlin", "quota": 3})
	K1 := sublicense.str("key_id")
	ada.must(200, "PUT", "/v1/subscriptions/"+subID+"/keys/"+K1+"/administrators/"+ids["key-admin"], nil)

	// Installations (ACT-1): a farm of A on K1 (kim's sublicense), one on
	// A's primary key, and one of B on B's own key, each activated over
	// the API; offline activation is on for A (ACT-3), so that an offline
	// request reaches its checks.
	farmIdentity := func(server, name string) map[string]any {
		return map[string]any{"kind": "farm", "server_id": server, "farm_name": name, "app_version": "19.2"}
	}
	activate := func(key, server, name string) (credential, id string) {
		c := newClient(t, m)
		act := c.must(200, "POST", "/v1/installations/activations", map[string]any{"key": key, "identity": farmIdentity(server, name)})
		ada.minPos = max(ada.minPos, c.minPos)
		return act.str("credential"), act.str("installation_id")
	}
	credA, instA := activate(sublicense.str("key"), "srv-matrix-a", "Matrix farm secret")
	_, instA2 := activate(primaryKey, "srv-matrix-a2", "Matrix farm secret 2")
	boughtB := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "matrix-b", "product_id": "ras", "seats": 5,
		"period": "1y", "channel": "online", "support_plan": "standard"})
	clients["other-admin"].must(200, "POST", "/v1/keys/register", map[string]any{"key": boughtB.str("key"), "account_id": accB})
	credB, _ := activate(boughtB.str("key"), "srv-matrix-b", "Beta farm")
	office.must(200, "PUT", "/v1/accounts/"+accA+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})
	ada.must(200, "GET", "/v1/installations/"+instA2, nil) // the read model has both of A's farms
	// A refresh request for A's farm that its current activation did not
	// write: the proof is made with another credential (ACT-5).
	now, err := time.Parse(time.RFC3339Nano, office.must(200, "GET", "/admin/clock", nil).str("now"))
	if err != nil {
		t.Fatal(err)
	}
	forged := &farmclient.State{Identity: farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-matrix-a", FarmName: "Matrix farm secret", AppVersion: "19.2"},
		InstallationID: instA, Credential: "sli_" + instA + ".1.forged", Status: "active"}
	forgedRefresh, err := farmclient.WriteRequest(forged, offline.RefreshRequest, "", now)
	if err != nil {
		t.Fatal(err)
	}

	// bob's tickets in A: TK open, TK2 closed.
	bob := clients["member"]
	newTicket := map[string]any{"product_id": "ras", "category": "technical", "description": "Matrix ticket secret", "channel": map[string]any{"kind": "email"}}
	TK := "/v1/tickets/" + bob.must(201, "POST", "/v1/accounts/"+accA+"/tickets", newTicket).str("ticket_id")
	TK2 := "/v1/tickets/" + bob.must(201, "POST", "/v1/accounts/"+accA+"/tickets", newTicket).str("ticket_id")
	bob.must(200, "POST", TK2+"/close", nil)

	// The callers of the matrix use bearer tokens; the back office its own.
	callers := map[string]*client{"anonymous": newClient(t, m)}
	for role, c := range clients {
		b := newClient(t, m)
		b.bearer = c.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "matrix"}).str("token")
		callers[role] = b
	}
	callers["back-office"] = newClient(t, m)
	callers["back-office"].bearer = adminToken
	callers["installation"], callers["other-installation"] = newClient(t, m), newClient(t, m)
	callers["installation"].bearer, callers["other-installation"].bearer = credA, credB
	for _, role := range staffPrincipals[:5] {
		e := addStaff(t, m, office, role+"@vendor.example", role)
		callers[role] = signInStaff(t, m, e, totpCode(t, m, e.totpSecret))
	}
	callers["service"] = newClient(t, m)
	callers["service"].bearer = office.must(201, "POST", "/v1/service-accounts", map[string]any{"name": "order system"}).str("token")

	A, S := "/v1/accounts/"+accA, "/v1/subscriptions/"+subID
	I, I2 := "/v1/installations/"+instA, "/v1/installations/"+instA2
	nobody := "00000000-0000-7000-8000-000000000000"
	farm := farmIdentity("srv-matrix-x", "Anyone's farm")
	matrix := []struct {
		route  string // the chi pattern
		method string
		path   string
		body   any
		want   []int // per principal, in the order of principals
	}{
		{"/v1/accounts/{accountID}", "GET", A, nil, []int{401, 200, 200, 403, 403, 403, 200}},
		{"/v1/accounts/{accountID}", "GET", "/v1/accounts/" + account.PersonalID(ids["admin"]), nil, []int{401, 403, 200, 403, 403, 403, 200}},
		{"/v1/accounts/{accountID}", "GET", "/v1/accounts/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/members", "GET", A + "/members", nil, []int{401, 200, 200, 403, 403, 403, 200}},
		{"/v1/accounts/{accountID}/invitations", "GET", A + "/invitations", nil, []int{401, 403, 200, 403, 403, 403, 200}},
		{"/v1/accounts/{accountID}/profile", "PUT", A + "/profile", company, []int{401, 403, 409, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/members/{personID}/role", "PUT", A + "/members/" + ids["member"] + "/role", map[string]any{"role": "member"}, []int{401, 403, 409, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/members/{personID}/unblock", "POST", A + "/members/" + ids["member"] + "/unblock", nil, []int{401, 403, 409, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/members/{personID}/block", "POST", A + "/members/" + ids["blocked"] + "/block", nil, []int{401, 403, 409, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/members/{personID}", "DELETE", A + "/members/" + nobody, nil, []int{401, 403, 404, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/invitations", "POST", A + "/invitations", map[string]any{"emails": []string{"not an address"}}, []int{401, 403, 400, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/invitations/{invitationID}", "DELETE", A + "/invitations/" + nobody, nil, []int{401, 403, 400, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/leave", "POST", A + "/leave", nil, []int{401, skip, 409, skip, 403, 403, 403}},
		{"/v1/me", "GET", "/v1/me", nil, []int{401, 200, 200, 200, 200, 200, 403}},
		{"/v1/me", "PUT", "/v1/me", map[string]any{"first_name": "", "last_name": "x"}, []int{401, 400, 400, 400, 400, 400, 403}},
		{"/v1/me/password", "PUT", "/v1/me/password", map[string]any{"current_password": "wrong", "new_password": "tangerine vault orbit"}, []int{401, 401, 401, 401, 401, 401, 403}},
		{"/v1/me/accounts", "GET", "/v1/me/accounts", nil, []int{401, 200, 200, 200, 200, 200, 403}},
		{"/v1/me/tokens", "POST", "/v1/me/tokens", map[string]any{"name": ""}, []int{401, 400, 400, 400, 400, 400, 403}},
		{"/v1/me/tokens/{tokenID}", "DELETE", "/v1/me/tokens/" + nobody, nil, []int{401, 404, 404, 404, 404, 404, 403}},
		{"/v1/accounts", "POST", "/v1/accounts", map[string]any{"company": map[string]any{}}, []int{401, 400, 400, 400, 400, 400, 403}},

		// Products, orders, subscriptions and keys (issue 4).
		{"/v1/products/{productID}", "PUT", "/v1/products/ras", map[string]any{"name": "", "model": "concurrent_users"}, []int{401, 403, 403, 403, 403, 403, 400, 403}},
		{"/v1/orders", "POST", "/v1/orders", map[string]any{"kind": "gift", "order_id": "matrix-2"}, []int{401, 403, 403, 403, 403, 403, 422, 403}},
		{"/v1/keys/register", "POST", "/v1/keys/register", map[string]any{"key": "not-a-key", "account_id": accA}, []int{401, 400, 400, 400, 400, 400, 403, 400}},
		{"/v1/keys/register", "POST", "/v1/keys/register", map[string]any{"key": primaryKey, "account_id": accA}, []int{401, 403, 200, 403, 403, 403, 403, 403}},
		{"/v1/products", "GET", "/v1/products", nil, []int{401, 200, 200, 200, 200, 200, 200, 200}},
		{"/v1/eligibility", "GET", "/v1/eligibility?version=19.1&key=" + primaryKey, nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/accounts/{accountID}/dashboard", "GET", A + "/dashboard", nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/accounts/{accountID}/subscriptions", "GET", A + "/subscriptions", nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/subscriptions/{subscriptionID}", "GET", S, nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/subscriptions/{subscriptionID}", "GET", "/v1/subscriptions/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 404, 403}},
		{"/v1/subscriptions/{subscriptionID}/name", "PUT", S + "/name", map[string]any{"name": " "}, []int{401, 403, 400, 403, 403, 403, 403, 403}},
		{"/v1/subscriptions/{subscriptionID}/auto-renew", "PUT", S + "/auto-renew", map[string]any{"on": true}, []int{401, 403, 409, 403, 403, 403, 403, 403}},
		{"/v1/subscriptions/{subscriptionID}/keys", "POST", S + "/keys", map[string]any{"name": "Paris", "quota": 0}, []int{401, 403, 400, 403, 403, 403, 403, 403}},
		{"/v1/subscriptions/{subscriptionID}/keys/{keyID}", "PATCH", S + "/keys/" + K1, map[string]any{"quota": 0}, []int{401, 403, 400, 403, 403, 403, 403, 400}},
		{"/v1/subscriptions/{subscriptionID}/keys/{keyID}", "DELETE", S + "/keys/" + nobody, nil, []int{401, 403, 404, 403, 403, 403, 403, 403}},
		{"/v1/subscriptions/{subscriptionID}/keys/{keyID}/secret", "GET", S + "/keys/" + K1 + "/secret", nil, []int{401, 403, 200, 403, 403, 403, 403, 200}},
		{"/v1/subscriptions/{subscriptionID}/keys/{keyID}/administrators/{personID}", "PUT", S + "/keys/" + K1 + "/administrators/" + ids["key-admin"], nil, []int{401, 403, 409, 403, 403, 403, 403, 403}},
		{"/v1/subscriptions/{subscriptionID}/keys/{keyID}/administrators/{personID}", "DELETE", S + "/keys/" + K1 + "/administrators/" + nobody, nil, []int{401, 403, 409, 403, 403, 403, 403, 403}},

		// Tickets (TKT-3: the owner and the account's admins), MDM
		// certificates and downloads (issue 6).
		{"/v1/accounts/{accountID}/tickets", "POST", A + "/tickets", map[string]any{"product_id": "ras", "category": "technical", "description": " ", "channel": map[string]any{"kind": "email"}}, []int{401, 400, 400, 403, 403, 403, 403, 400}},
		{"/v1/accounts/{accountID}/tickets", "GET", A + "/tickets", nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/tickets/{ticketID}", "GET", TK, nil, []int{401, 200, 200, 403, 403, 403, 200, 403}},
		{"/v1/tickets/{ticketID}", "GET", "/v1/tickets/T-0000-0000", nil, []int{401, 403, 403, 403, 403, 403, 404, 403}},
		{"/v1/tickets/{ticketID}/replies", "POST", TK + "/replies", map[string]any{"body": " "}, []int{401, 400, 400, 403, 403, 403, 400, 403}},
		{"/v1/tickets/{ticketID}/attachments/{attachmentID}", "GET", TK + "/attachments/" + nobody, nil, []int{401, 404, 404, 403, 403, 403, 404, 403}},
		{"/v1/tickets/{ticketID}/status", "PUT", TK2 + "/status", map[string]any{"status": "in_progress"}, []int{401, 403, 403, 403, 403, 403, 409, 403}},
		{"/v1/tickets/{ticketID}/close", "POST", TK2 + "/close", nil, []int{401, 409, 409, 403, 403, 403, 403, 403}},
		{"/v1/tickets/{ticketID}/reopen", "POST", TK + "/reopen", nil, []int{401, 409, 409, 403, 403, 403, 403, 403}},
		{"/v1/tickets/{ticketID}/survey", "POST", TK + "/survey", map[string]any{"rating": 5}, []int{401, 409, 409, 403, 403, 403, 403, 403}},
		{"/v1/tickets/{ticketID}/watchers/{personID}", "PUT", TK + "/watchers/" + nobody, nil, []int{401, 422, 403, 403, 403, 403, 403, 403}},
		{"/v1/tickets/{ticketID}/watchers/{personID}", "DELETE", TK + "/watchers/" + nobody, nil, []int{401, 409, 403, 403, 403, 403, 403, 403}},
		// The MDM CA's certificate is public, like the other public keys:
		// an MDM server trusts it before any certificate is issued.
		{"/v1/mdm/ca.pem", "GET", "/v1/mdm/ca.pem", nil, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"/v1/accounts/{accountID}/mdm/certificates", "POST", A + "/mdm/certificates", map[string]any{"csr": "garbage"}, []int{401, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/mdm/certificates", "GET", A + "/mdm/certificates", nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/products/{productID}/releases/{version}", "PUT", "/v1/products/ras/releases/19.0", map[string]any{"notes": "x", "files": []any{}}, []int{401, 403, 403, 403, 403, 403, 400, 403}},
		{"/v1/products/{productID}/releases/{version}", "DELETE", "/v1/products/ras/releases/9.9", nil, []int{401, 403, 403, 403, 403, 403, 404, 403}},
		{"/v1/accounts/{accountID}/downloads", "GET", A + "/downloads", nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/accounts/{accountID}/downloads/{productID}", "GET", A + "/downloads/ras", nil, []int{401, 200, 200, 403, 403, 403, 200, 200}},
		{"/v1/accounts/{accountID}/downloads/{productID}/{version}", "GET", A + "/downloads/ras/1.0", nil, []int{401, 404, 404, 403, 403, 403, 404, 404}},

		// Installations (issue 5). Activation needs no credential: the key
		// is the secret (ACT-1). The installation API takes an
		// installation's credential and nothing else; it acts on that
		// installation only. The lists and details are for the account's
		// members and the back office (INST-1..4); managing an
		// installation is for the account's admins and its key's license
		// administrators (ACT-7, INST-3, INST-4, MEM-6); enabling offline
		// activation is the back office's (ACT-3).
		{"/v1/installations/activations", "POST", "/v1/installations/activations", map[string]any{"key": "not-a-key", "identity": farm}, []int{400, 400, 400, 400, 400, 400, 400, 400, 400, 400}},
		{"/v1/installations/trials", "POST", "/v1/installations/trials", map[string]any{"product_id": "ras", "identity": farm}, []int{409, 409, 409, 409, 409, 409, 409, 409, 409, 409}},
		{"/v1/offline/public-key", "GET", "/v1/offline/public-key", nil, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		// A refresh records what the installation was told and changes
		// nothing else (ACT-5).
		{"/v1/installation/license", "GET", "/v1/installation/license", nil, []int{401, 403, 403, 403, 403, 403, 403, 403, 200, 200}},
		{"/v1/installation/usage", "POST", "/v1/installation/usage", map[string]any{}, []int{401, 403, 403, 403, 403, 403, 403, 403, 400, 400}},
		{"/v1/installation/enrollments", "POST", "/v1/installation/enrollments", map[string]any{"computers": 1}, []int{401, 403, 403, 403, 403, 403, 403, 403, 400, 400}},
		{"/v1/accounts/{accountID}/offline-activation", "PUT", A + "/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"}, []int{401, 403, 403, 403, 403, 403, 200, 403, 403, 403}},
		{"/v1/accounts/{accountID}/offline-activation", "PUT", "/v1/accounts/" + nobody + "/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"}, []int{401, 403, 403, 403, 403, 403, 404, 403, 403, 403}},
		{"/v1/accounts/{accountID}/farms", "GET", A + "/farms?status=all&sort=name", nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/accounts/{accountID}/farms/export", "GET", A + "/farms/export?columns=farm_name,notes", nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/accounts/{accountID}/proxy-servers", "GET", A + "/proxy-servers", nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/accounts/{accountID}/proxy-servers/export", "GET", A + "/proxy-servers/export", nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/installations/{installationID}", "GET", I, nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/installations/{installationID}", "GET", I2, nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		// No such installation is refused like a foreign one: a person
		// never learns which exist; the back office may.
		{"/v1/installations/{installationID}", "GET", "/v1/installations/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 404, 403, 403, 403}},
		{"/v1/installations/{installationID}/notes", "PUT", I + "/notes", map[string]any{"notes": strings.Repeat("n", 4001)}, []int{401, 403, 400, 403, 403, 403, 403, 400, 403, 403}},
		{"/v1/installations/{installationID}/notes", "PUT", I2 + "/notes", map[string]any{"notes": strings.Repeat("n", 4001)}, []int{401, 403, 400, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/installations/deactivate", "POST", A + "/installations/deactivate", map[string]any{"installation_ids": []string{instA, nobody}}, []int{401, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/installations/deactivate", "POST", A + "/installations/deactivate", map[string]any{"installation_ids": []string{instA2, nobody}}, []int{401, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
		// Who may act on the account is checked before what is sent.
		{"/v1/accounts/{accountID}/installations/deactivate", "POST", A + "/installations/deactivate", map[string]any{"installation_ids": []string{}}, []int{401, 400, 400, 403, 403, 403, 403, 400, 403, 403}},
		{"/v1/accounts/{accountID}/offline-requests", "POST", A + "/offline-requests", "not a file", []int{401, 400, 400, 403, 403, 403, 403, 400, 403, 403}},
		{"/v1/accounts/{accountID}/offline-requests", "POST", A + "/offline-requests", string(forgedRefresh), []int{401, 403, 422, 403, 403, 403, 403, 422, 403, 403}},
		// History and state as of a time (issue 7, X-1, X-2): whoever may
		// see the entity now; a person their own person. Unknown entities
		// are refused like foreign ones, except to the back office.
		// The account's event feed (issue 22): its unblocked admins and the
		// back office; an allowed caller's stream is asked with a bad cursor
		// (400), so that the matrix does not wait on a live stream.
		{"/v1/accounts/{accountID}/events", "GET", A + "/events", nil, []int{401, 403, 200, 403, 403, 403, 200, 403, 403, 403}},
		{"/v1/accounts/{accountID}/events", "GET", "/v1/accounts/" + nobody + "/events", nil, []int{401, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/events/stream", "GET", A + "/events/stream?after=bogus", nil, []int{401, 403, 400, 403, 403, 403, 400, 403, 403, 403}},
		// Webhooks (issue 22): the account's unblocked admins manage them,
		// asked with an invalid URL or an unknown endpoint (400, 404) so that
		// nothing changes; the back office reads only.
		{"/v1/accounts/{accountID}/webhooks", "GET", A + "/webhooks", nil, []int{401, 403, 200, 403, 403, 403, 200, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks", "GET", "/v1/accounts/" + nobody + "/webhooks", nil, []int{401, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks", "POST", A + "/webhooks", map[string]any{"url": "ftp://hooks.example.com/"}, []int{401, 403, 400, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}", "GET", A + "/webhooks/" + nobody, nil, []int{401, 403, 404, 403, 403, 403, 404, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}", "PATCH", A + "/webhooks/" + nobody, map[string]any{"url": "https://hooks.example.com/"}, []int{401, 403, 404, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}", "DELETE", A + "/webhooks/" + nobody, nil, []int{401, 403, 404, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}/rotate-secret", "POST", A + "/webhooks/" + nobody + "/rotate-secret", nil, []int{401, 403, 404, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}/enable", "POST", A + "/webhooks/" + nobody + "/enable", nil, []int{401, 403, 404, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}/disable", "POST", A + "/webhooks/" + nobody + "/disable", nil, []int{401, 403, 404, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}/deliveries", "GET", A + "/webhooks/" + nobody + "/deliveries", nil, []int{401, 403, 404, 403, 403, 403, 404, 403, 403, 403}},
		{"/v1/accounts/{accountID}/webhooks/{webhookID}/deliveries/{deliveryID}/resend", "POST", A + "/webhooks/" + nobody + "/deliveries/dl_x/resend", nil, []int{401, 403, 404, 403, 403, 403, 403, 403, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/subscriptions/" + subID, nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/subscriptions/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 404, 403, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/keys/" + K1 + "?field=key", nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/keys/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 404, 403, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/installations/" + instA, nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/accounts/" + accA, nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/people/" + ids["admin"], nil, []int{401, 403, 200, 403, 403, 403, 200, 403, 403, 403}},
		{"/v1/history/{kind}/{id}", "GET", "/v1/history/tickets/" + nobody, nil, []int{401, 404, 404, 404, 404, 404, 404, 404, 403, 403}},
		{"/v1/history/{kind}/{id}/state", "GET", "/v1/history/subscriptions/" + subID + "/state?as_of=2001-01-01", nil, []int{401, 200, 200, 403, 403, 403, 200, 200, 403, 403}},
		{"/v1/history/{kind}/{id}/state", "GET", "/v1/history/installations/" + instA + "/state?as_of=yesterday", nil, []int{401, 400, 400, 403, 403, 403, 400, 400, 403, 403}},
		{"/v1/history/{kind}/{id}/state", "GET", "/v1/history/people/" + nobody + "/state", nil, []int{401, 403, 403, 403, 403, 403, 404, 403, 403, 403}},

		// The audit log's tamper evidence: its public key is public;
		// checkpoints, proofs and exports are the back office's, which is
		// asked with a bad parameter (400) so that the row does not depend
		// on when the checkpointer last ran.
		{"/v1/audit/public-key", "GET", "/v1/audit/public-key", nil, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"/v1/audit/checkpoint", "GET", "/v1/audit/checkpoint?size=0", nil, []int{401, 403, 403, 403, 403, 403, 400, 403, 403, 403}},
		{"/v1/audit/proofs/inclusion", "GET", "/v1/audit/proofs/inclusion?position=x", nil, []int{401, 403, 403, 403, 403, 403, 400, 403, 403, 403}},
		{"/v1/audit/proofs/consistency", "GET", "/v1/audit/proofs/consistency?from=2&to=1", nil, []int{401, 403, 403, 403, 403, 403, 400, 403, 403, 403}},
		{"/v1/audit/export", "GET", "/v1/audit/export?from_position=5&to_position=1", nil, []int{401, 403, 403, 403, 403, 403, 400, 403, 403, 403}},
		// Finance reconciliation (issue 7) is the vendor's: the back
		// office only, over the whole log; a bad period is a 400.
		{"/v1/finance/reconciliation", "GET", "/v1/finance/reconciliation?from=2026-01-01&to=2030-12-31", nil, []int{401, 403, 403, 403, 403, 403, 200, 403, 403, 403}},
		{"/v1/finance/reconciliation", "GET", "/v1/finance/reconciliation?from=2026-01-01&to=2025-12-31&format=csv", nil, []int{401, 403, 403, 403, 403, 403, 400, 403, 403, 403}},
		// Keep this row last: B's farm deactivates itself (ACT-6), which
		// no row above may see; A's farm, whose credential the rows above
		// use, does not.
		{"/v1/installation/deactivation", "POST", "/v1/installation/deactivation", nil, []int{401, 403, 403, 403, 403, 403, 403, 403, skip, 200}},
	}
	// The back office's own routes (issue 23); each staff column follows
	// staffMatrix. The requests are refused by the domain (400, 404).
	staffRows := []struct {
		route, method, path string
		body                any
		want                []int
	}{
		{"/v1/staff", "GET", "/v1/staff", nil, []int{401, 403, 403, 403, 403, 403, 200}},
		{"/v1/staff", "POST", "/v1/staff", map[string]any{"email": "not an address", "display_name": "X", "role": "owner"}, []int{401, 403, 403, 403, 403, 403, 400}},
		{"/v1/staff/{staffID}/role", "PUT", "/v1/staff/" + nobody + "/role", map[string]any{"role": "sales"}, []int{401, 403, 403, 403, 403, 403, 404}},
		{"/v1/staff/{staffID}", "DELETE", "/v1/staff/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 404}},
		{"/v1/service-accounts", "GET", "/v1/service-accounts", nil, []int{401, 403, 403, 403, 403, 403, 200}},
		{"/v1/service-accounts", "POST", "/v1/service-accounts", map[string]any{"name": ""}, []int{401, 403, 403, 403, 403, 403, 400}},
		{"/v1/service-accounts/{serviceID}/rotate", "POST", "/v1/service-accounts/" + nobody + "/rotate", nil, []int{401, 403, 403, 403, 403, 403, 404}},
		{"/v1/service-accounts/{serviceID}", "DELETE", "/v1/service-accounts/" + nobody, nil, []int{401, 403, 403, 403, 403, 403, 404}},
		{"/v1/staff/{staffID}/enrolment", "POST", "/v1/staff/" + nobody + "/enrolment", nil, []int{401, 403, 403, 403, 403, 403, 404}},
		{"/v1/staff/{staffID}/totp-reset", "POST", "/v1/staff/" + nobody + "/totp-reset", nil, []int{401, 403, 403, 403, 403, 403, 404}},
		// The simulated clock; the advance is refused by its bad duration.
		{"/admin/clock", "GET", "/admin/clock", nil, []int{401, 403, 403, 403, 403, 403, 200}},
		{"/admin/clock/advance", "POST", "/admin/clock/advance", map[string]any{"by": "soon"}, []int{401, 403, 403, 403, 403, 403, 400}},
		// Signing out takes a staff session's token: nobody else has one.
		{"/v1/staff/session", "DELETE", "/v1/staff/session", nil, []int{401, 401, 401, 401, 401, 401, 401, 401, 401, 401, skip, skip, skip, skip, skip, 401}},
	}
	for _, r := range staffRows {
		matrix = append(matrix, struct {
			route  string
			method string
			path   string
			body   any
			want   []int
		}{r.route, r.method, r.path, r.body, r.want})
	}
	// Routes anybody may call: they act on a secret the caller holds (a
	// password, a link's token) rather than on an account.
	public := map[string]bool{
		"POST /v1/signup": true, "POST /v1/email/verify": true, "POST /v1/session": true, "DELETE /v1/session": true,
		"POST /v1/password/forgot": true, "POST /v1/password/reset": true, "POST /v1/invitations/accept": true,
		"POST /v1/staff/enrolment": true, "POST /v1/staff/enrolment/confirm": true, "POST /v1/staff/session": true,
	}

	covered := map[string]bool{}
	secrets := []string{"Acme Matrix", supportCode, "bob@example.com", ids["member"], primaryKey, sublicense.str("key"), "Matrix ticket secret",
		"Matrix farm secret", "srv-matrix-a", credA}
	for _, row := range matrix {
		covered[row.method+" "+row.route] = true
		switch len(row.want) {
		case len(principals) - len(staffPrincipals) - 3:
			// Rows older than the key-admin column: a license
			// administrator is a member like any other there.
			row.want = append(row.want, row.want[1])
			fallthrough
		case len(principals) - len(staffPrincipals) - 2:
			// Rows older than the installation columns: an
			// installation's credential is refused by every endpoint
			// of people and of the back office.
			row.want = append(row.want, 403, 403)
			fallthrough
		case len(principals) - len(staffPrincipals):
			// The back office's columns (issue 23): what the admin token
			// gets, for the roles the route admits; 403 for the others.
			may, ok := staffMatrix[row.method+" "+row.route]
			if !ok {
				t.Errorf("%s %s: staffMatrix does not say who of the back office may call it", row.method, row.route)
			}
			for _, who := range staffPrincipals {
				want := 403
				if strings.Contains(" "+may+" ", " "+who+" ") {
					want = row.want[6]
				}
				row.want = append(row.want, want)
			}
		}
		for i, who := range principals {
			want := row.want[i]
			if want == skip {
				continue
			}
			// The matrix is about who may call, not about bodies: its
			// requests carry the least that reaches the check, which the
			// document need not accept; their answers are validated.
			r := callers[who].doInvalid(row.method, row.path, row.body)
			if r.status != want {
				t.Errorf("%s %s as %s = %d, want %d: %s", row.method, row.path, who, r.status, want, r.raw)
			}
			if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s as %s: %d without a problem document", row.method, row.path, who, r.status)
			}
			if r.status == 403 || r.status == 401 {
				for _, s := range secrets {
					if s != "" && strings.Contains(r.raw, s) && !strings.Contains(row.path, s) {
						t.Errorf("%s %s as %s leaks %q: %s", row.method, row.path, who, s, r.raw)
					}
				}
			}
		}
	}

	err = chi.Walk(m.api.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		op := method + " " + route
		if (strings.HasPrefix(route, "/v1/") || strings.HasPrefix(route, "/admin/")) && !covered[op] && !public[op] {
			t.Errorf("%s is in neither the authorization matrix nor the public routes", op)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
