package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"seatledger/infra/orderhook"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// orderSystem is the order system's end of the renewal webhook: it keeps
// each delivery whose signature checks out.
type orderSystem struct {
	t          *testing.T
	deliveries chan map[string]any
}

const webhookSecret = "order-webhook-secret-0123"

func startOrderSystem(t *testing.T) (*orderSystem, string) {
	o := &orderSystem{t: t, deliveries: make(chan map[string]any, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := orderhook.Verify([]byte(webhookSecret), r.Header.Get(orderhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		v["idempotency_key"] = r.Header.Get(orderhook.HeaderIdempotencyKey)
		o.deliveries <- v
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return o, srv.URL
}

func (o *orderSystem) next(wait time.Duration) map[string]any {
	o.t.Helper()
	select {
	case v := <-o.deliveries:
		return v
	case <-time.After(wait):
		o.t.Fatal("no renewal request reached the order system")
		return nil
	}
}

// field returns a string field of a subscription's details.
func field(details reply, name string) string {
	sub, _ := details.body["subscription"].(map[string]any)
	s, _ := sub[name].(string)
	return s
}

// advance moves the server's simulated clock by d.
func advance(c *client, d time.Duration) {
	c.t.Helper()
	c.must(200, "POST", "/admin/clock/advance", map[string]any{"by": d.String()})
}

// eventually polls cond until it holds, or fails after 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The subscription lifecycle end to end through the HTTP API of the real
// server on the simulated clock, on SQLite and PostgreSQL, with mail over
// a real SMTP server and the renewal webhook to a real HTTP server: a
// purchase, key registration, sublicenses, reminders 30 and 3 days before
// the end, a renewal request, grace, renewal in grace, and expiry (rules
// SUB-1..7, SUB-9, KEY-1..7, KEY-9).
func TestSubscriptions_lifecycle_end_to_end_SUB1_SUB2_SUB4_SUB5_SUB6_SUB7_KEY2_KEY3_KEY4_KEY7(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		orders, hookURL := startOrderSystem(t)
		m, smtp := peopleServer(t, target, "LEDGER_ORDER_WEBHOOK_URL", hookURL, "LEDGER_ORDER_WEBHOOK_SECRET", webhookSecret)
		const wait = 15 * time.Second
		office := newClient(t, m)
		office.bearer = adminToken

		office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
			"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
		purchase := map[string]any{"kind": "purchase", "order_id": "e2e-1", "product_id": "ras", "seats": 10, "period": "1y",
			"channel": "online", "support_plan": "premium"}
		bought := office.must(201, "POST", "/v1/orders", purchase)
		key, sub := bought.str("key"), bought.str("subscription_id")
		// SUB-4: the same order again answers the same; other contents are refused.
		if again := office.must(201, "POST", "/v1/orders", purchase); again.str("key") != key || again.str("subscription_id") != sub {
			t.Fatalf("a retried purchase answered %s", again.raw)
		}
		purchase["seats"] = 11
		if r := office.must(409, "POST", "/v1/orders", purchase); r.problemType() != "order-mismatch" {
			t.Errorf("a reused order ID: %s", r.raw)
		}

		// KEY-2: ada registers the key with her company's details.
		ada := newClient(t, m)
		ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
		// A script's token: the months the clock moves outlast a session.
		ada.bearer = ada.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "e2e"}).str("token")
		typo := []byte(key)
		typo[0] = map[bool]byte{true: 'X', false: 'Y'}[typo[0] != 'X']
		if r := ada.must(400, "POST", "/v1/keys/register", map[string]any{"key": string(typo)}); r.problemType() != "key-format" {
			t.Errorf("a typo: %s", r.raw)
		}
		company := map[string]any{"name": "Acme GmbH", "country": "DE", "zip": "8200", "phone": "+41 52 672 20 30"}
		reg := ada.must(201, "POST", "/v1/keys/register", map[string]any{"key": strings.ToLower(key), "company": company})
		acc := reg.str("account_id")
		if reg.body["account_created"] != true || reg.str("subscription_id") != sub {
			t.Fatalf("registered: %s", reg.raw)
		}
		cards := ada.must(200, "GET", "/v1/accounts/"+acc+"/dashboard", nil).body["products"].([]any)
		if len(cards) != 1 || cards[0].(map[string]any)["seats"] != 10.0 || cards[0].(map[string]any)["active_subscriptions"] != 1.0 {
			t.Fatalf("dashboard: %v", cards)
		}

		// KEY-3, KEY-4: a sublicense with its own expiry; the limits are named.
		S := "/v1/subscriptions/" + sub
		expiry := clockStart.Add(40 * 24 * time.Hour)
		berlin := ada.must(201, "POST", S+"/keys", map[string]any{"name": "Berlin", "quota": 3, "expires_at": expiry})
		if r := ada.must(409, "POST", S+"/keys", map[string]any{"name": "Paris", "quota": 12}); r.problemType() != "quota" || !strings.Contains(r.raw, "12 requested, 7 free") {
			t.Errorf("over quota: %s", r.raw)
		}
		ada.must(400, "POST", S+"/keys", map[string]any{"name": "Paris", "quota": 0})
		ada.must(400, "POST", S+"/keys", map[string]any{"name": "Paris", "quota": 1, "expires_at": clockStart.AddDate(2, 0, 0)})
		ada.must(400, "POST", S+"/keys", map[string]any{"name": "Paris", "quota": 1, "expires_at": clockStart.Add(-time.Hour)})
		ada.must(200, "PUT", S+"/name", map[string]any{"name": "Head office"}) // SUB-5
		if r := ada.must(200, "GET", S+"/keys/"+berlin.str("key_id")+"/secret", nil); r.str("key") != berlin.str("key") {
			t.Errorf("revealed %s", r.raw)
		}
		details := ada.must(200, "GET", S+"?key_sort=-quota", nil)
		keys := details.body["keys"].([]any)
		if field(details, "name") != "Head office" || len(keys) != 2 || keys[0].(map[string]any)["quota"] != 7.0 || keys[1].(map[string]any)["name"] != "Berlin" ||
			keys[1].(map[string]any)["vacant"] != 3.0 || strings.Contains(details.raw, key) {
			t.Fatalf("details (KEY-7, keys masked): %s", details.raw)
		}
		if orders := details.body["orders"].([]any); len(orders) != 1 || orders[0].(map[string]any)["order_id"] != "e2e-1" {
			t.Errorf("orders history: %v", orders)
		}

		// A second subscription, sold by a reseller: it never auto-renews (SUB-2).
		resold := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "e2e-2", "product_id": "ras", "seats": 5,
			"period": "1y", "channel": "reseller", "support_plan": "standard"})
		ada.must(200, "POST", "/v1/keys/register", map[string]any{"key": resold.str("key"), "account_id": acc})
		R := "/v1/subscriptions/" + resold.str("subscription_id")
		if r := ada.must(409, "PUT", R+"/auto-renew", map[string]any{"on": true}); r.problemType() != "reseller" {
			t.Errorf("auto-renewing a reseller's subscription: %s", r.raw)
		}

		// The sublicense's reminder 30 days before its expiry.
		advance(office, 11*24*time.Hour)
		smtp.WaitFor(t, "ada@example.com", "License key Berlin ends in 30 days", wait)

		// SUB-6: 30 and 3 days before the end, then the end itself; the
		// auto-renewing one asks the order system a week before (SUB-2).
		end := clockStart.AddDate(1, 0, 0)
		advance(office, end.Add(-30*24*time.Hour).Sub(clockStart.Add(11*24*time.Hour)))
		smtp.WaitFor(t, "ada@example.com", "Your subscription Head office ends in 30 days", wait)
		advance(office, 23*24*time.Hour)
		req := orders.next(wait)
		if req["type"] != "subscription.renewal_requested" || req["subscription_id"] != sub || req["seats"] != 10.0 || req["period"] != "1y" || req["idempotency_key"] == "" {
			t.Errorf("renewal request: %v", req)
		}
		advance(office, 4*24*time.Hour)
		smtp.WaitFor(t, "ada@example.com", "Your subscription Head office ends in 3 days", wait)
		advance(office, 3*24*time.Hour+time.Hour)
		eventually(t, "grace", func() bool { return field(ada.must(200, "GET", S, nil), "status") == "grace" })
		smtp.WaitFor(t, "ada@example.com", "has ended: 30 days of grace", wait)
		elig := ada.must(200, "GET", "/v1/eligibility?version=20.1&key="+key, nil)
		if elig.body["eligible"] != true {
			t.Errorf("in grace: %s", elig.raw)
		}

		// Renewal in grace: active again, from the old end date.
		advance(office, 5*24*time.Hour)
		office.must(200, "POST", "/v1/orders", map[string]any{"kind": "renewal", "order_id": "e2e-1-renew", "subscription_id": sub, "period": "1y"})
		ada.minPos = office.minPos // read the order system's write
		renewed := ada.must(200, "GET", S, nil)
		if field(renewed, "status") != "active" || !strings.HasPrefix(field(renewed, "end"), end.AddDate(1, 0, 0).Format("2006-01-02")) {
			t.Fatalf("after renewal in grace: %s", renewed.raw)
		}
		if n := len(renewed.body["orders"].([]any)); n != 2 {
			t.Errorf("%d orders in the history, want 2", n)
		}

		// The reseller's subscription was not renewed: expired after its grace.
		advance(office, 26*24*time.Hour)
		eventually(t, "expiry", func() bool { return field(ada.must(200, "GET", R, nil), "status") == "expired" })
		if r := ada.must(200, "GET", "/v1/eligibility?version=19&key="+resold.str("key"), nil); r.body["eligible"] != false {
			t.Errorf("an expired subscription's key: %s", r.raw)
		}
		if r := ada.must(200, "GET", "/v1/accounts/"+acc+"/subscriptions?status=all&sort=end", nil); len(r.body["subscriptions"].([]any)) != 2 {
			t.Errorf("all subscriptions: %s", r.raw)
		}
		if r := ada.must(200, "GET", "/v1/accounts/"+acc+"/subscriptions", nil); len(r.body["subscriptions"].([]any)) != 1 {
			t.Errorf("active subscriptions: %s", r.raw)
		}
		if s := field(ada.must(200, "GET", S, nil), "status"); s != "active" {
			t.Errorf("the renewed subscription is %s", s)
		}
		select {
		case extra := <-orders.deliveries:
			t.Errorf("a second renewal request: %v", extra)
		default:
		}
	})
}

// Bad input to the orders and keys API is a 4xx problem that names the
// limit or the field, and changes nothing: the log head stays where it
// was (rules SUB-1, SUB-4, KEY-3..5, KEY-9).
func TestSubscriptions_bad_input_changes_nothing_SUB1_SUB4_KEY3_KEY5_KEY9(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		office := newClient(t, m)
		office.bearer = adminToken
		office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users"})
		purchase := map[string]any{"kind": "purchase", "order_id": "bad-1", "product_id": "ras", "seats": 10, "period": "1y",
			"channel": "online", "support_plan": "standard"}
		bought := office.must(201, "POST", "/v1/orders", purchase)
		ada := newClient(t, m)
		ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
		acc := ada.must(201, "POST", "/v1/keys/register", map[string]any{"key": bought.str("key"),
			"company": map[string]any{"name": "Acme", "country": "DE", "zip": "1", "phone": "1"}}).str("account_id")
		S := "/v1/subscriptions/" + bought.str("subscription_id")
		berlin := ada.must(201, "POST", S+"/keys", map[string]any{"name": "Berlin", "quota": 3}).str("key_id")
		head, err := m.Store.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		with := func(changes map[string]any) map[string]any {
			o := map[string]any{}
			for k, v := range purchase {
				o[k] = v
			}
			for k, v := range changes {
				o[k] = v
			}
			return o
		}
		key := []byte(bought.str("key"))
		key[7] = map[bool]byte{true: 'A', false: 'B'}[key[7] != 'A']
		for name, tc := range map[string]struct {
			c            *client
			method, path string
			body         any
			status       int
			typ, phrase  string
		}{
			"reused order ID":          {office, "POST", "/v1/orders", with(map[string]any{"seats": 12}), 409, "order-mismatch", "bad-1"},
			"unknown product":          {office, "POST", "/v1/orders", with(map[string]any{"order_id": "bad-2", "product_id": "nope"}), 422, "invalid-order", `product "nope" is not in the catalog`},
			"zero seats":               {office, "POST", "/v1/orders", with(map[string]any{"order_id": "bad-3", "seats": 0}), 422, "invalid-order", "seats must be from 1"},
			"monthly through reseller": {office, "POST", "/v1/orders", with(map[string]any{"order_id": "bad-4", "period": "1m", "channel": "reseller"}), 422, "invalid-order", "online only"},
			"unknown period":           {office, "POST", "/v1/orders", with(map[string]any{"order_id": "bad-5", "period": "5y"}), 422, "invalid-order", "period"},
			"seats to nothing":         {office, "POST", "/v1/orders", map[string]any{"kind": "add_seats", "order_id": "bad-6", "subscription_id": "nope", "seats": 1}, 404, "not-found", "nope"},
			"quota above free":         {ada, "POST", S + "/keys", map[string]any{"name": "Paris", "quota": 8}, 409, "quota", "8 requested, 7 free"},
			"zero quota":               {ada, "POST", S + "/keys", map[string]any{"name": "Paris", "quota": 0}, 400, "invalid-request", "at least 1 seat"},
			"negative quota":           {ada, "PATCH", S + "/keys/" + berlin, map[string]any{"quota": -2}, 400, "invalid-request", "at least 1 seat"},
			"grow above free":          {ada, "PATCH", S + "/keys/" + berlin, map[string]any{"quota": 11}, 409, "quota", "11 requested, 10 free"},
			"expiry after the end":     {ada, "POST", S + "/keys", map[string]any{"name": "Paris", "quota": 1, "expires_at": clockStart.AddDate(1, 0, 1)}, 400, "invalid-request", "after the subscription's end"},
			"expiry in the past":       {ada, "PATCH", S + "/keys/" + berlin, map[string]any{"expires_at": clockStart.Add(-time.Hour)}, 400, "invalid-request", "not in the future"},
			"a key with a typo":        {ada, "POST", "/v1/keys/register", map[string]any{"key": string(key), "account_id": acc}, 400, "key-format", "typo"},
			"a key too short":          {ada, "POST", "/v1/keys/register", map[string]any{"key": "ABCDE-12345", "account_id": acc}, 400, "key-format", "25 symbols"},
			// The key is checked first (a portal sends it alone to learn
			// whether it is good): this one belongs to an account already,
			// Ada's own, which is named to her (a stranger's is not:
			// TestPortal_register_key_of_ones_own_account_KEY2_MEM2).
			"no account and no company": {ada, "POST", "/v1/keys/register", map[string]any{"key": bought.str("key")}, 409, "key-registered", "already registered to your business account Acme"},
			"unknown key sort":          {ada, "GET", S + "?key_sort=colour", nil, 400, "invalid-request", "colour"},
			"unknown status filter":     {ada, "GET", "/v1/accounts/" + acc + "/subscriptions?status=some", nil, 400, "invalid-request", "some"},
			"a version without number":  {ada, "GET", "/v1/eligibility?version=next&key=" + bought.str("key"), nil, 400, "invalid-request", "major version"},
			"changing a model":          {office, "PUT", "/v1/products/ras", map[string]any{"name": "RAS", "model": "managed_computers"}, 409, "model-fixed", "concurrent_users"},
		} {
			r := tc.c.doInvalid(tc.method, tc.path, tc.body)
			if r.status != tc.status || r.problemType() != tc.typ || !strings.Contains(r.str("detail"), tc.phrase) {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		if now, _ := m.Store.Head(t.Context()); now != head {
			t.Fatalf("refused requests moved the log head from %d to %d", head, now)
		}
	})
}
