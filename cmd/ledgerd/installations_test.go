package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/offline"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// installationsAccount sets up what installations need over the API: the
// products "ras" (concurrent users) and "ras-mdm" (managed computers), a
// purchase of seats of product, and ada, who registers its key to a new
// business account. It returns the office's and ada's clients, the key
// and the account.
func installationsAccount(t testing.TB, m *Main, product string, seats int) (office, ada *client, key, acc, sub string) {
	t.Helper()
	office = newClient(t, m)
	office.bearer = adminToken
	office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	office.must(200, "PUT", "/v1/products/ras-mdm", map[string]any{"name": "Device Management", "model": "managed_computers",
		"trial": map[string]any{"days": 0, "seats": 0}, "major_version": 2})
	bought := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "inst-1", "product_id": product,
		"seats": seats, "period": "1y", "channel": "online", "support_plan": "standard"})
	key, sub = bought.str("key"), bought.str("subscription_id")
	ada = newClient(t, m)
	ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
	ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
	ada.bearer = ada.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "e2e"}).str("token")
	company := map[string]any{"name": "Acme GmbH", "country": "DE", "zip": "8200", "phone": "+41 52 672 20 30"}
	acc = ada.must(201, "POST", "/v1/keys/register", map[string]any{"key": key, "company": company}).str("account_id")
	return office, ada, key, acc, sub
}

// The seeds' story of a farm's overuse, end to end through the real
// server on the simulated clock, on SQLite and PostgreSQL, with mail over
// a real SMTP server: a 10-seat farm reaches 12 users → the 7-day grace
// starts (mailed) → 7 days later usage is still 12 → the farm is
// deactivated for overuse within 1–2 hours (mailed) → users drop to 9 →
// reactivated within 20 minutes → seats are bought → the grace is
// available again (rules USE-1..5, ACT-1, ACT-4, ACT-5, ACT-7, ACT-8).
func TestFarm_overuse_story_end_to_end_USE3_USE4_USE5_ACT1_ACT4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		office, ada, key, acc, sub := installationsAccount(t, m, "ras", 10)
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		id := farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-berlin", FarmName: "Berlin", AppVersion: "19.2"}
		act, err := farm.Activate(ctx, key, id)
		if err != nil {
			t.Fatal(err)
		}
		if act.License.Seats != 10 || act.License.Remaining != 10 || act.License.End == nil {
			t.Fatalf("ACT-4: the license answered %+v", act.License)
		}
		report := func(n int) farmclient.ReportAnswer {
			t.Helper()
			r, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(n, time.Time{}), "")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		status := func() string {
			l, err := farm.License(ctx, act.Credential)
			if err != nil {
				t.Fatal(err)
			}
			return l.Status
		}
		// USE-3: 12 users on 10 seats: the grace starts, the admins are told.
		r := report(12)
		if r.GraceEnds == nil || !r.OverQuota || r.Status != "active" {
			t.Fatalf("12 of 10: %+v", r)
		}
		firstGrace := *r.GraceEnds
		smtp.WaitFor(t, "ada@example.com", "7 days of grace", 15*time.Second)
		// USE-4: a week later, still 12: suspended an hour after the
		// excess is seen, and the admins are told.
		advance(office, 7*24*time.Hour+time.Minute)
		report(12)
		advance(office, 61*time.Minute)
		// the advance answers once the suspension is recorded.
		if got := status(); got != "suspended" {
			t.Fatalf("USE-4, X-6 right after the advance past the deadline: %s, want suspended", got)
		}
		smtp.WaitFor(t, "ada@example.com", "deactivated for overuse", 15*time.Second)
		// Users drop to 9: the 20-minute re-validation reactivates it.
		if r := report(9); r.Status != "suspended" {
			t.Fatalf("a suspended farm's report: %+v", r)
		}
		advance(office, 21*time.Minute)
		if got := status(); got != "active" {
			t.Fatalf("USE-4, X-6 right after the re-validation: %s, want active", got)
		}
		// USE-5: seats bought, the grace is available again.
		office.must(200, "POST", "/v1/orders", map[string]any{"kind": "add_seats", "order_id": "inst-2", "subscription_id": sub, "seats": 1})
		r = report(13)
		if r.GraceEnds == nil || !r.GraceEnds.After(firstGrace.Add(7*24*time.Hour)) || r.Quota != 11 {
			t.Fatalf("USE-5: after buying a seat, 13 of 11: %+v", r)
		}
		// INST-1..5: the portal lists the farm with its columns, exports
		// the chosen ones, shows its usage history and keeps notes.
		ada.must(200, "PUT", "/v1/installations/"+act.InstallationID+"/notes", map[string]any{"notes": "rack 4"})
		farms := ada.must(200, "GET", "/v1/accounts/"+acc+"/farms?status=active", nil).body["installations"].([]any)
		row := farms[0].(map[string]any)
		if len(farms) != 1 || row["farm_name"] != "Berlin" || row["server_id"] != "srv-berlin" || row["peak_usage"] != 13.0 || row["notes"] != "rack 4" {
			t.Fatalf("INST-1: farms %v", farms)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ada.base+"/v1/accounts/"+acc+"/farms/export?columns=farm_name,server_id,peak_usage&ids="+act.InstallationID, nil)
		req.Header.Set("Authorization", "Bearer "+ada.bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		csvBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csvBody), "Berlin,srv-berlin,13") {
			t.Fatalf("INST-3: export %d %q", resp.StatusCode, csvBody)
		}
		details := ada.must(200, "GET", "/v1/installations/"+act.InstallationID, nil)
		if days := details.body["usage"].([]any); len(days) < 2 {
			t.Fatalf("INST-4: usage history %v", days)
		}
		if cards := ada.must(200, "GET", "/v1/accounts/"+acc+"/dashboard", nil).body["products"].([]any); cards[0].(map[string]any)["prepaid_farms"] != 1.0 {
			t.Fatalf("INST-5: dashboard %v", cards)
		}
		// ACT-7: deactivated from the portal: the key is free at once; at
		// its next contact the farm is told, and cannot report any more
		// (ACT-8).
		ada.must(200, "POST", "/v1/accounts/"+acc+"/installations/deactivate", map[string]any{"installation_ids": []string{act.InstallationID}})
		if _, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(3, time.Time{}), ""); !farmclient.IsProblem(err, "deactivated") {
			t.Fatalf("the contact after a portal deactivation: %v", err)
		}
		if _, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(3, time.Time{}), ""); !farmclient.IsProblem(err, "deactivated") {
			t.Fatalf("ACT-8: a deactivated farm reported: %v", err)
		}
		if _, err := farm.Activate(ctx, key, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-2", FarmName: "Two", AppVersion: "19.2"}); err != nil {
			t.Fatalf("KEY-8: the released key activates another farm: %v", err)
		}
	})
}

// offlineZurich is proxy server px-zurich without a connection: its
// state, which trusts the ledger's signing key, its activation request
// for key, and its clock, which agrees with the ledger's.
func offlineZurich(t *testing.T, m *Main, office *client, key string) (*farmclient.State, []byte, func() time.Time) {
	t.Helper()
	farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
	pub, err := farm.PublicKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time {
		at, err := time.Parse(time.RFC3339Nano, office.must(200, "GET", "/admin/clock", nil).str("now"))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	state := &farmclient.State{Identity: farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: "px-zurich", SiteCode: "ZRH",
		SiteDescription: "Zurich office", AppVersion: "2.1"}}
	state.SetLedgerKey(pub)
	request, err := farmclient.WriteRequest(state, offline.ActivationRequest, key, now())
	if err != nil {
		t.Fatal(err)
	}
	return state, request, now
}

// uploadOffline posts an offline request file to the portal as c and returns the
// signed answer.
func uploadOffline(t *testing.T, c *client, acc string, file []byte) (int, []byte) {
	t.Helper()
	code, body, _ := uploadOfflineAt(t, c, acc, file)
	return code, body
}

// uploadOfflineAt is uploadOffline that also returns the answer's
// X-Ledger-Position.
func uploadOfflineAt(t *testing.T, c *client, acc string, file []byte) (int, []byte, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.base+"/v1/accounts/"+acc+"/offline-requests", strings.NewReader(string(file)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header.Get("X-Ledger-Position")
}

// listAfter GETs path as c once the read models have reached position.
func listAfter(t *testing.T, c *client, path, position string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	req.Header.Set("X-Ledger-Min-Position", position)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s after %s: %d %s", path, position, resp.StatusCode, body)
	}
	return string(body)
}

// The seeds' story of a proxy server without a connection, end to end:
// activated offline once the back office enabled it, refreshed offline
// after seats were added, over its limit (new enrollments refused), and
// deactivated offline with its key released only when the deactivation
// file is uploaded (rules ACT-2, ACT-3, ACT-5, ACT-6, USE-6, KEY-8).
func TestProxyServer_offline_story_end_to_end_ACT2_ACT3_ACT5_ACT6_USE6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		office, ada, key, acc, sub := installationsAccount(t, m, "ras-mdm", 5)
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		state, request, now := offlineZurich(t, m, office, key)
		// ACT-3: refused until the back office enables offline activation.
		if code, body := uploadOffline(t, ada, acc, request); code != 403 || !strings.Contains(string(body), "offline-disabled") {
			t.Fatalf("offline before it is enabled: %d %s", code, body)
		}
		office.must(200, "PUT", "/v1/accounts/"+acc+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})
		code, answer, position := uploadOfflineAt(t, ada, acc, request)
		if code != 200 || position == "" {
			t.Fatalf("upload: %d %s (position %q)", code, answer, position)
		}
		// The answer's position is the activation's: a list read after it
		// shows the proxy server at once.
		if list := listAfter(t, ada, "/v1/accounts/"+acc+"/proxy-servers", position); !strings.Contains(list, `"server_name":"px-zurich"`) {
			t.Fatalf("the list after the upload's position lacks the proxy server: %s", list)
		}
		if kind, err := farmclient.Import(state, answer, now()); err != nil || kind != offline.Activation || state.License.Seats != 5 {
			t.Fatalf("import %s: %v (%+v)", kind, err, state.License)
		}
		// A replayed answer is refused by the installation, a replayed
		// request by the ledger.
		if _, err := farmclient.Import(state, answer, now()); err == nil {
			t.Fatal("a replayed answer was imported")
		}
		if code, body := uploadOffline(t, ada, acc, request); code != 409 || !strings.Contains(string(body), "replayed") {
			t.Fatalf("a replayed request: %d %s", code, body)
		}
		// USE-6: the proxy server reports weekly; over its limit, new
		// enrollments are refused and the admins are alerted.
		r, err := farm.Report(ctx, state.Credential, farmclient.SeatsReport(6, time.Time{}), "")
		if err != nil || !r.OverLimit {
			t.Fatalf("6 of 5 computers: %+v %v", r, err)
		}
		if _, err := farm.Enroll(ctx, state.Credential, 1); !farmclient.IsProblem(err, "over-limit") {
			t.Fatalf("an enrollment over the limit: %v", err)
		}
		smtp.WaitFor(t, "ada@example.com", "over its license limit", 15*time.Second)
		// ACT-5: seats added, an offline refresh certifies them.
		office.must(200, "POST", "/v1/orders", map[string]any{"kind": "add_seats", "order_id": "inst-2", "subscription_id": sub, "seats": 5})
		refresh, err := farmclient.WriteRequest(state, offline.RefreshRequest, "", now())
		if err != nil {
			t.Fatal(err)
		}
		if code, answer = uploadOffline(t, ada, acc, refresh); code != 200 {
			t.Fatalf("refresh upload: %d %s", code, answer)
		}
		if _, err := farmclient.Import(state, answer, now()); err != nil || state.License.Seats != 10 {
			t.Fatalf("refresh import: %v (%+v)", err, state.License)
		}
		// ACT-6: deactivated offline: the key is released only by the upload.
		deactivation, err := farmclient.WriteRequest(state, offline.DeactivationRequest, "", now())
		if err != nil {
			t.Fatal(err)
		}
		other := farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: "px-basel", SiteCode: "BSL", AppVersion: "2.1"}
		if _, err := farm.Activate(ctx, key, other); !farmclient.IsProblem(err, "key-in-use") {
			t.Fatalf("the key before the deactivation file is uploaded: %v", err)
		}
		if code, answer, position = uploadOfflineAt(t, ada, acc, deactivation); code != 200 {
			t.Fatalf("deactivation upload: %d %s", code, answer)
		}
		if list := listAfter(t, ada, "/v1/accounts/"+acc+"/proxy-servers?status=deactivated", position); !strings.Contains(list, `"server_name":"px-zurich"`) {
			t.Fatalf("the list after the deactivation's position lacks it: %s", list)
		}
		if _, err := farmclient.Import(state, answer, now()); err != nil {
			t.Fatal(err)
		}
		if _, err := farm.Activate(ctx, key, other); err != nil {
			t.Fatalf("the key after the deactivation file was uploaded: %v", err)
		}
	})
}

// Bad input from installations and about them gets a clear 4xx problem
// naming what is wrong, never a 500, and changes nothing: the log head
// stays where it was (rules ACT-1, ACT-2, ACT-8, USE-1, PROD-3, KEY-8).
func TestInstallations_bad_input_changes_nothing_ACT1_ACT2_ACT8_USE1_PROD3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		office, ada, key, acc, _ := installationsAccount(t, m, "ras", 10)
		office.must(200, "PUT", "/v1/accounts/"+acc+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		act, err := farm.Activate(ctx, key, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-1", FarmName: "One", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		// A deactivated farm of another key of the account.
		gone := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "inst-gone", "product_id": "ras",
			"seats": 2, "period": "1y", "channel": "online", "support_plan": "standard"}).str("key")
		ada.must(200, "POST", "/v1/keys/register", map[string]any{"key": gone, "account_id": acc})
		old, err := farm.Activate(ctx, gone, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-old", FarmName: "Old", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		if err := farm.Deactivate(ctx, old.Credential); err != nil {
			t.Fatal(err)
		}
		head, err := m.Store.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		inst := newClient(t, m)
		inst.bearer = act.Credential
		many := make([]map[string]any, 10_001)
		for i := range many {
			many[i] = map[string]any{"user": "u", "type": "published_app", "host": "h"}
		}
		future := time.Now().AddDate(5, 0, 0).Format(time.RFC3339)
		for _, c := range []struct {
			who          *client
			method, path string
			body         any
			status       int
			problem      string
		}{
			{inst, "POST", "/v1/installation/usage", map[string]any{"seats": -1}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", map[string]any{"seats": 1_000_001}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", map[string]any{"seats": 1, "connections": []any{}}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", map[string]any{}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", map[string]any{"seats": 1, "observed_at": future}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", map[string]any{"connections": many}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", map[string]any{"connections": []any{map[string]any{"user": "u", "type": "telnet", "host": "h"}}}, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/usage", `{"seats": 1`, 400, "malformed-json"},
			{inst, "POST", "/v1/installation/usage", `{"seats": 1, "extra": true}`, 400, "invalid-request"},
			{inst, "POST", "/v1/installation/enrollments", map[string]any{"computers": 1}, 400, "invalid-request"},
			{inst, "POST", "/v1/installations/activations", map[string]any{"key": key, "identity": map[string]any{"kind": "farm", "server_id": "srv-2", "farm_name": "Two", "app_version": "19.2"}}, 409, "key-in-use"},
			{inst, "POST", "/v1/installations/activations", map[string]any{"key": "nonsense", "identity": map[string]any{"kind": "farm", "server_id": "srv-2", "farm_name": "Two", "app_version": "19.2"}}, 400, "key-format"},
			{inst, "POST", "/v1/installations/activations", map[string]any{"key": key, "identity": map[string]any{"kind": "farm", "server_id": "srv-1"}}, 400, "invalid-request"},
			{inst, "POST", "/v1/installations/activations", map[string]any{"key": key, "identity": map[string]any{"kind": "proxy_server", "server_name": "p", "site_code": "s", "app_version": "1"}}, 409, "model-mismatch"},
			{inst, "POST", "/v1/installations/trials", map[string]any{"product_id": "ras-mdm", "identity": map[string]any{"kind": "proxy_server", "server_name": "p", "site_code": "s", "app_version": "1"}}, 409, "no-trial"},
			{ada, "POST", "/v1/accounts/" + acc + "/offline-requests", "-----BEGIN SEATLEDGER ACTIVATION REQUEST FILE-----\nKind: activation-request\n\n!!!\n-----END SEATLEDGER ACTIVATION REQUEST FILE-----\n", 400, "offline-file"},
			{ada, "POST", "/v1/accounts/" + acc + "/offline-requests", strings.Repeat("x", offline.MaxSize+1), 413, "payload-too-large"},
		} {
			r := c.who.doInvalid(c.method, c.path, c.body)
			if r.status != c.status || r.problemType() != c.problem {
				t.Errorf("%s %s %v: %d %s, want %d %s", c.method, c.path, c.body != nil, r.status, r.raw, c.status, c.problem)
			}
			if r.str("detail") == "" {
				t.Errorf("%s %s: no detail: %s", c.method, c.path, r.raw)
			}
		}
		// A forged or retired credential, a deactivated installation.
		for _, cred := range []string{"sli_" + act.InstallationID + ".1.forged", act.Credential + "x", "sli_nonsense"} {
			if _, err := farm.Report(ctx, cred, farmclient.SeatsReport(1, time.Time{}), ""); !farmclient.IsProblem(err, "unauthorized") {
				t.Errorf("credential %q: %v", cred, err)
			}
		}
		// ACT-8: a deactivated farm's reports are refused; the first is
		// recorded for the auditors (the one event these requests add).
		for range 2 {
			if _, err := farm.Report(ctx, old.Credential, farmclient.SeatsReport(1, time.Time{}), ""); !farmclient.IsProblem(err, "deactivated") {
				t.Errorf("ACT-8: a deactivated farm's report: %v", err)
			}
		}
		head++
		// An answer file uploaded as a request, a re-signed (tampered) one.
		state := &farmclient.State{Identity: farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-off", FarmName: "Off", AppVersion: "19.2"}}
		ledgerNow, err := time.Parse(time.RFC3339Nano, office.must(200, "GET", "/admin/clock", nil).str("now"))
		if err != nil {
			t.Fatal(err)
		}
		request, err := farmclient.WriteRequest(state, offline.ActivationRequest, key, ledgerNow)
		if err != nil {
			t.Fatal(err)
		}
		tampered := strings.Replace(string(request), "Server: farm/srv-off", "Server: farm/srv-other", 1)
		if code, body := uploadOffline(t, ada, acc, []byte(tampered)); code != 400 || !strings.Contains(string(body), "offline-file") {
			t.Errorf("a request whose server was changed: %d %s", code, body)
		}
		if now, _ := m.Store.Head(t.Context()); now != head {
			t.Fatalf("refused requests moved the log head to %d, want %d", now, head)
		}
	})
}
