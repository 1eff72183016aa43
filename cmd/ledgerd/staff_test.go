package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// staffPassword is what the tests' staff people enrol with.
const staffPassword = "saffron lantern quarry"

// enrolled is a staff person after enrolment: what they were handed once.
type enrolled struct {
	id, email, totpSecret string
	recoveryCodes         []string
}

// addStaff has by (an owner, or the admin token while it bootstraps)
// add a staff person with role, who then enrols.
func addStaff(t *testing.T, m *Main, by *client, email, role string) enrolled {
	t.Helper()
	added := by.must(201, "POST", "/v1/staff", map[string]any{"email": email, "display_name": "Staff " + role, "role": role})
	e := newClient(t, m).must(200, "POST", "/v1/staff/enrolment", map[string]any{"email": email, "token": added.str("enrolment_token"),
		"password": staffPassword})
	var codes []string
	for _, c := range e.body["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if e.str("staff_id") != added.str("staff_id") || !strings.HasPrefix(e.str("totp_url"), "otpauth://totp/") || len(codes) != 10 {
		t.Fatalf("enrolment: %s", e.raw)
	}
	s := enrolled{id: added.str("staff_id"), email: email, totpSecret: e.str("totp_secret"), recoveryCodes: codes}
	confirmEnrolment(t, m, s, added.str("enrolment_token"))
	return s
}

// confirmEnrolment confirms a started enrolment with the authenticator's
// code of the step before the ledger's time (one step of drift), so that
// the current step's code still signs in: the confirmation uses its code.
func confirmEnrolment(t *testing.T, m *Main, s enrolled, token string) {
	t.Helper()
	code, err := totp.GenerateCode(s.totpSecret, m.Clock.Now().Add(-30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	newClient(t, m).must(200, "POST", "/v1/staff/enrolment/confirm", map[string]any{"email": s.email, "token": token, "code": code})
}

// totpCode is the authenticator's code at the ledger's time.
func totpCode(t *testing.T, m *Main, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, m.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// signInStaff signs a staff person in with their password and code, and
// returns a client that bears the staff session's token.
func signInStaff(t *testing.T, m *Main, s enrolled, code string) *client {
	t.Helper()
	c := newClient(t, m)
	c.bearer = c.must(200, "POST", "/v1/staff/session", map[string]any{"email": s.email, "password": staffPassword, "code": code}).str("token")
	if !strings.HasPrefix(c.bearer, "slst_") {
		t.Fatalf("staff session token %q", c.bearer)
	}
	return c
}

// actorsOf returns the actors of stream's events.
func actorsOf(t *testing.T, m *Main, stream string) []event.Actor {
	t.Helper()
	recs, err := m.Store.ReadStream(t.Context(), stream, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Actor
	for _, r := range recs {
		out = append(out, r.Metadata.Actor)
	}
	return out
}

// TestStaff_bootstrap_sign_in_service_account_and_auditor_X1 is the back
// office's story on both engines (issue 23, X-1): the admin token adds
// the first owner, who enrols (password and TOTP) and signs in; from then
// on the admin token is refused, except on the simulated clock, which an
// owner's session moves too. The enrolment counts once the
// authenticator's first code confirms it. The owner creates the order
// system's service account, which buys seats, and its events, the
// history and the reconciliation name it; it can do nothing else. The
// owner resets a lost second factor and re-issues a lost enrolment
// token. An auditor reads and is refused every write.
func TestStaff_bootstrap_sign_in_service_account_and_auditor_X1(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		office := newClient(t, m)
		office.bearer = adminToken

		// The first owner's enrolment counts once the authenticator's
		// first code confirms it: until then the admin token bootstraps
		// on, and a code that does not match confirms nothing.
		added := office.must(201, "POST", "/v1/staff", map[string]any{"email": "ann@vendor.example", "display_name": "Ann Owner", "role": "owner"})
		started := newClient(t, m).must(200, "POST", "/v1/staff/enrolment", map[string]any{"email": "ann@vendor.example",
			"token": added.str("enrolment_token"), "password": staffPassword})
		ann := enrolled{id: added.str("staff_id"), email: "ann@vendor.example", totpSecret: started.str("totp_secret")}
		for _, c := range started.body["recovery_codes"].([]any) {
			ann.recoveryCodes = append(ann.recoveryCodes, c.(string))
		}
		if r := newClient(t, m).do("POST", "/v1/staff/session", map[string]any{"email": ann.email, "password": staffPassword,
			"code": totpCode(t, m, ann.totpSecret)}); r.status != 401 {
			t.Errorf("a sign-in before the enrolment is confirmed = %d %s", r.status, r.raw)
		}
		if r := newClient(t, m).do("POST", "/v1/staff/enrolment/confirm", map[string]any{"email": ann.email, "token": added.str("enrolment_token"),
			"code": "abcdef"}); r.status != 400 || !strings.Contains(r.raw, `"code"`) {
			t.Errorf("confirming with a code that does not match = %d %s", r.status, r.raw)
		}
		office.must(200, "GET", "/v1/staff", nil) // still bootstrapping
		confirmEnrolment(t, m, ann, added.str("enrolment_token"))
		// A wrong password, a wrong code and an unknown address are one answer.
		anon := newClient(t, m)
		for _, body := range []map[string]any{
			{"email": ann.email, "password": "wrong password here", "code": totpCode(t, m, ann.totpSecret)},
			{"email": ann.email, "password": staffPassword, "code": "000000"},
			{"email": "nobody@vendor.example", "password": staffPassword, "code": "123456"},
		} {
			if r := anon.do("POST", "/v1/staff/session", body); r.status != 401 || r.problemType() != "bad-credentials" {
				t.Errorf("bad sign-in = %d %s", r.status, r.raw)
			}
		}
		code := totpCode(t, m, ann.totpSecret)
		owner := signInStaff(t, m, ann, code)
		// A TOTP code is good once.
		if r := anon.do("POST", "/v1/staff/session", map[string]any{"email": ann.email, "password": staffPassword, "code": code}); r.status != 401 {
			t.Errorf("the same TOTP code twice = %d", r.status)
		}
		// The admin token bootstraps only: an owner exists now.
		if r := office.do("GET", "/v1/staff", nil); r.status != 403 || !strings.Contains(r.raw, "bootstrap") {
			t.Errorf("the admin token after the first owner = %d %s", r.status, r.raw)
		}
		// The simulated clock: the admin token still, and an owner's session.
		office.must(200, "GET", "/admin/clock", nil)
		// The last owner stays one.
		if r := owner.do("DELETE", "/v1/staff/"+ann.id, nil); r.status != 409 || r.problemType() != "last-owner" {
			t.Errorf("removing the last owner = %d %s", r.status, r.raw)
		}

		// The order system's service account buys seats; its events name it.
		owner.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19})
		svc := owner.must(201, "POST", "/v1/service-accounts", map[string]any{"name": "order system"})
		orders := newClient(t, m)
		orders.bearer = svc.str("token")
		bought := orders.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "staff-1", "product_id": "ras", "seats": 10,
			"period": "1y", "channel": "online", "support_plan": "standard"})
		subID := bought.str("subscription_id")
		want := event.Actor{Kind: event.ActorBackOffice, ID: "service:" + svc.str("service_id")}
		actors := actorsOf(t, m, subscription.StreamID(subID))
		if len(actors) == 0 || actors[0] != want {
			t.Errorf("the purchase's actors %v, want %v", actors, want)
		}
		// The history and the finance reconciliation name it.
		hist := owner.must(200, "GET", "/v1/history/subscriptions/"+subID, nil).body["events"].([]any)
		if got := hist[0].(map[string]any)["actor_name"]; got != "service account: order system" {
			t.Errorf("the purchase's actor_name %v", got)
		}
		rec := owner.must(200, "GET", "/v1/finance/reconciliation?from=2026-01-01&to=2030-12-31&format=csv&part=orders", nil)
		if !strings.Contains(rec.raw, ",staff-1,purchase,10,back_office:service:"+svc.str("service_id")+",service account: order system\n") {
			t.Errorf("the reconciliation's orders do not name the service account:\n%s", rec.raw)
		}
		if got := actorsOf(t, m, "product-ras"); len(got) == 0 || got[0] != (event.Actor{Kind: event.ActorBackOffice, ID: "staff:" + ann.id}) {
			t.Errorf("the product's actors %v, want the owner", got)
		}
		// Only orders and the catalog.
		for _, call := range []struct{ method, path string }{{"GET", "/v1/subscriptions/" + subID}, {"GET", "/v1/staff"},
			{"GET", "/v1/finance/reconciliation?from=2026-01-01&to=2026-12-31"}, {"POST", "/v1/service-accounts"}} {
			if r := orders.doInvalid(call.method, call.path, map[string]any{"name": "x"}); r.status != 403 {
				t.Errorf("service account %s %s = %d", call.method, call.path, r.status)
			}
		}
		// A customer's ticket: support answers it under the support
		// person's name, and the owner turns the account's offline switch
		// (ACT-3); the events name them (X-1, TKT-2).
		bob := newClient(t, m)
		bobID := bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com")).str("person_id")
		verifyEmail(t, m, bobID)
		bob.must(200, "POST", "/v1/session", map[string]any{"email": "bob@example.com", "password": pw})
		acc := bob.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Bob AG", "country": "CH", "zip": "8200", "phone": "+41 52 000 00 00"}}).str("account_id")
		bob.must(200, "POST", "/v1/keys/register", map[string]any{"key": bought.str("key"), "account_id": acc})
		tk := bob.must(201, "POST", "/v1/accounts/"+acc+"/tickets", map[string]any{"product_id": "ras", "category": "technical",
			"description": "It stopped.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
		sueE := addStaff(t, m, owner, "sue@vendor.example", "support")
		sue := signInStaff(t, m, sueE, totpCode(t, m, sueE.totpSecret))
		if r := sue.doInvalid("POST", "/v1/tickets/"+tk+"/replies", map[string]any{"body": "On it.", "agent": "someone-else"}); r.status != 400 {
			t.Errorf("a staff reply signed as another = %d %s", r.status, r.raw)
		}
		sue.must(201, "POST", "/v1/tickets/"+tk+"/replies", map[string]any{"body": "On it."})
		bob.minPos = max(bob.minPos, sue.minPos) // read the reply
		if got := bob.must(200, "GET", "/v1/tickets/"+tk, nil); !strings.Contains(got.raw, "Staff support") || strings.Contains(got.raw, sueE.id) {
			t.Errorf("the customer does not see the support person's name: %s", got.raw)
		}
		owner.must(200, "PUT", "/v1/accounts/"+acc+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})
		// Support may not move the clock; the owner may.
		if r := sue.do("POST", "/admin/clock/advance", map[string]any{"by": "1h"}); r.status != 403 {
			t.Errorf("support advancing the clock = %d %s", r.status, r.raw)
		}
		owner.must(200, "POST", "/admin/clock/advance", map[string]any{"by": "1m"})
		// Support's phone is lost: the owner resets the second factor, the
		// session ends, the old code and password no longer sign in, and
		// support enrols again with the new token.
		reset := owner.must(200, "POST", "/v1/staff/"+sueE.id+"/totp-reset", nil)
		if r := sue.do("GET", "/v1/products", nil); r.status != 401 {
			t.Errorf("a session after the reset of its second factor = %d", r.status)
		}
		if r := anon.do("POST", "/v1/staff/session", map[string]any{"email": sueE.email, "password": staffPassword, "code": sueE.recoveryCodes[0]}); r.status != 401 {
			t.Errorf("an old recovery code after the reset = %d", r.status)
		}
		again := newClient(t, m).must(200, "POST", "/v1/staff/enrolment", map[string]any{"email": sueE.email, "token": reset.str("enrolment_token"),
			"password": staffPassword})
		sueE.totpSecret = again.str("totp_secret")
		confirmEnrolment(t, m, sueE, reset.str("enrolment_token"))
		sue = signInStaff(t, m, sueE, totpCode(t, m, sueE.totpSecret))
		sue.must(200, "GET", "/v1/products", nil) // enrolled again, she reads as support
		if r := owner.do("POST", "/v1/staff/"+ann.id+"/totp-reset", nil); r.status != 409 || r.problemType() != "last-owner" {
			t.Errorf("resetting the last enrolled owner's second factor = %d %s", r.status, r.raw)
		}
		// A lost enrolment token is re-issued; the old one stops working.
		lost := owner.must(201, "POST", "/v1/staff", map[string]any{"email": "sam@vendor.example", "display_name": "Sam Sales", "role": "sales"})
		reissued := owner.must(200, "POST", "/v1/staff/"+lost.str("staff_id")+"/enrolment", nil)
		if r := anon.do("POST", "/v1/staff/enrolment", map[string]any{"email": "sam@vendor.example", "token": lost.str("enrolment_token"),
			"password": staffPassword}); r.status != 401 {
			t.Errorf("the re-issued-out enrolment token = %d", r.status)
		}
		newClient(t, m).must(200, "POST", "/v1/staff/enrolment", map[string]any{"email": "sam@vendor.example", "token": reissued.str("enrolment_token"),
			"password": staffPassword})
		if r := owner.do("POST", "/v1/staff/"+sueE.id+"/enrolment", nil); r.status != 409 {
			t.Errorf("re-issuing the enrolment of an enrolled person = %d %s", r.status, r.raw)
		}
		if got := actorsOf(t, m, account.StreamID(acc)); got[len(got)-1] != (event.Actor{Kind: event.ActorBackOffice, ID: "staff:" + ann.id}) {
			t.Errorf("the offline switch's actor %v, want the owner", got[len(got)-1])
		}

		// Rotation retires the old token at once; revocation the new one.
		rotated := owner.must(200, "POST", "/v1/service-accounts/"+svc.str("service_id")+"/rotate", nil)
		if r := orders.do("GET", "/v1/products", nil); r.status != 401 {
			t.Errorf("the rotated-out token = %d", r.status)
		}
		orders.bearer = rotated.str("token")
		orders.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "staff-2", "product_id": "ras", "seats": 1,
			"period": "1y", "channel": "online", "support_plan": "standard"})
		owner.must(200, "DELETE", "/v1/service-accounts/"+svc.str("service_id"), nil)
		if r := orders.do("POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "staff-3", "product_id": "ras", "seats": 1,
			"period": "1y", "channel": "online", "support_plan": "standard"}); r.status != 401 {
			t.Errorf("a revoked service account = %d", r.status)
		}
		list := owner.must(200, "GET", "/v1/service-accounts", nil)
		if !strings.Contains(list.raw, `"revoked":true`) || strings.Contains(list.raw, rotated.str("token")) {
			t.Errorf("service accounts: %s", list.raw)
		}

		// The auditor reads history, state, exports and reconciliations,
		// and is refused every write.
		aud := addStaff(t, m, owner, "audrey@vendor.example", "auditor")
		auditor := signInStaff(t, m, aud, aud.recoveryCodes[3]) // a recovery code instead of TOTP
		if r := anon.do("POST", "/v1/staff/session", map[string]any{"email": aud.email, "password": staffPassword, "code": aud.recoveryCodes[3]}); r.status != 401 {
			t.Errorf("a recovery code twice = %d", r.status)
		}
		auditor.must(200, "GET", "/v1/history/subscriptions/"+subID, nil)
		auditor.must(200, "GET", "/v1/history/subscriptions/"+subID+"/state?as_of=2026-03-02", nil)
		auditor.must(200, "GET", "/v1/finance/reconciliation?from=2026-01-01&to=2026-12-31", nil)
		auditor.must(200, "GET", "/v1/subscriptions/"+subID, nil)
		for _, call := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/orders", map[string]any{"kind": "renewal", "order_id": "staff-4", "subscription_id": subID, "period": "1y"}},
			{"PUT", "/v1/products/ras", map[string]any{"name": "Renamed", "model": "concurrent_users"}},
			{"PUT", "/v1/products/ras/releases/19.0", map[string]any{"notes": "x", "files": []any{}}},
			{"DELETE", "/v1/products/ras/releases/19.0", nil},
			{"PUT", "/v1/subscriptions/" + subID + "/name", map[string]any{"name": "Mine"}},
			{"PUT", "/v1/accounts/00000000-0000-7000-8000-000000000000/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"}},
			{"POST", "/v1/staff", map[string]any{"email": "eve@vendor.example", "display_name": "Eve", "role": "owner"}},
			{"PUT", "/v1/staff/" + aud.id + "/role", map[string]any{"role": "owner"}},
			{"DELETE", "/v1/staff/" + ann.id, nil},
			{"POST", "/v1/service-accounts", map[string]any{"name": "mine"}},
			{"POST", "/v1/staff/" + ann.id + "/totp-reset", nil},
			{"POST", "/v1/staff/" + aud.id + "/enrolment", nil},
			{"POST", "/admin/clock/advance", map[string]any{"by": "1h"}},
			{"GET", "/admin/clock", nil},
		} {
			if r := auditor.doInvalid(call.method, call.path, call.body); r.status != 403 {
				t.Errorf("auditor %s %s = %d %s", call.method, call.path, r.status, r.raw)
			}
		}

		// Roles change and removals count from the next request; so does
		// signing out.
		owner.must(200, "PUT", "/v1/staff/"+aud.id+"/role", map[string]any{"role": "sales"})
		auditor.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users", "major_version": 19})
		owner.must(200, "DELETE", "/v1/staff/"+aud.id, nil)
		if r := auditor.do("GET", "/v1/products", nil); r.status != 401 {
			t.Errorf("a removed staff person's session = %d", r.status)
		}
		owner.must(200, "DELETE", "/v1/staff/session", nil)
		if r := owner.do("GET", "/v1/staff", nil); r.status != 401 {
			t.Errorf("a signed-out session = %d", r.status)
		}
	})
}
