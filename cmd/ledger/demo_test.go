package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"seatledger/infra/clock"
)

// signedIn signs a person in over the API and returns a caller with a
// personal API token, and the session cookie for the portal's pages.
func signedIn(t *testing.T, base, email, password string) (httpCaller, *http.Cookie) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/v1/session", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) == 0 {
		t.Fatalf("sign-in of %s with the printed password: %d", email, resp.StatusCode)
	}
	cookie := resp.Cookies()[0]
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/v1/me/tokens", strings.NewReader(`{"name":"demo test"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(cookie)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("token of %s: %v %v", email, resp, err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return httpCaller{t: t, base: base, bearer: tok.Token}, cookie
}

// page returns a portal page as the browser of cookie's session gets it.
func page(t *testing.T, base, path string, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// eventually retries check, which reads the read models, until it passes
// or ten seconds have gone: they follow the demo's last writes.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		problem := check()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %s", what, problem)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 20 ("one command to a living portal"): ledger demo seeds a running
// ledgerd on the simulated clock, over its API, and prints how to sign in.
// With the printed passwords the portal and the API show what the sheet
// promises: a farm in its overuse grace (USE-3), a farm suspended after it
// (USE-4), a farm whose portal deactivation waits (ACT-7), a proxy server
// over its limit (USE-6), members joined by invitation and promoted, a
// license administrator and a pending invitation (MEM-4, MEM-6, MEM-7), a
// subscription in its grace (SUB-6) and tickets (TKT-1..3). A second run
// refuses in one line: the ledger is seeded.
func TestDemo_seeds_a_living_portal_USE3_USE4_USE6_ACT7_MEM4_MEM6_MEM7_SUB6_TKT1_TKT2_TKT3(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := startLedgerdIn(t, dir, "LEDGER_CLOCK=simulated", "LEDGER_INSTALLATION_CALL_LIMIT=off")
	env := map[string]string{"LEDGER_URL": base, "LEDGER_ADMIN_TOKEN": adminToken, "LEDGER_MAIL_DIR": filepath.Join(dir, "data", "mail")}
	out := ok(t, env, "demo")

	passwords := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  .+? +(\S+@example\.com) +password (\S+) `).FindAllStringSubmatch(out, -1) {
		passwords[m[1]] = m[2]
	}
	if len(passwords) != 3 {
		t.Fatalf("the sheet names %d people with passwords:\n%s", len(passwords), out)
	}
	for _, line := range []string{
		"farm RAS-MUC-01 (key Munich office): 11 of 8 seats, in its 7-day overuse grace until ",
		"farm RAS-LAB-01 (key Training lab): suspended, 5 of 3 seats after its grace ran out",
		"proxy server SCCM-LAB (key Test site): 13 of 10 computers, over its limit",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("the sheet lacks %q:\n%s", line, out)
		}
	}
	andrew, cookie := signedIn(t, base, "andrew.palmer@example.com", passwords["andrew.palmer@example.com"])
	for _, email := range []string{"grace.kim@example.com", "david.lewis@example.com"} {
		signedIn(t, base, email, passwords[email])
	}

	var accounts struct {
		Accounts []struct {
			AccountID   string `json:"account_id"`
			CompanyName string `json:"company_name"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(andrew.call(200, "GET", "/v1/me/accounts", nil), &accounts); err != nil {
		t.Fatal(err)
	}
	acc := ""
	for _, a := range accounts.Accounts {
		if a.CompanyName == "My Company, Inc." {
			acc = a.AccountID
		}
	}
	if acc == "" {
		t.Fatalf("Andrew belongs to no account of My Company, Inc.: %+v", accounts)
	}

	installations := func(list string) map[string]map[string]any {
		var page struct{ Installations []map[string]any }
		_ = json.Unmarshal(andrew.call(200, "GET", "/v1/accounts/"+acc+"/"+list+"?status=all", nil), &page)
		byName := map[string]map[string]any{}
		for _, i := range page.Installations {
			name, _ := i["server_id"].(string)
			if name == "" {
				name, _ = i["server_name"].(string)
			}
			byName[name] = i
		}
		return byName
	}
	eventually(t, "farms", func() string {
		f := installations("farms")
		switch {
		case len(f) != 4:
			return "not four farms"
		case f["RAS-MUC-01"]["status"] != "active" || f["RAS-MUC-01"]["grace_ends"] == nil || f["RAS-MUC-01"]["current_usage"] != 11.0 || f["RAS-MUC-01"]["quota"] != 8.0:
			return "USE-3: Munich office is not 11 of 8 in its grace"
		case f["RAS-LAB-01"]["status"] != "suspended":
			return "USE-4: the training lab is not suspended"
		case f["RAS-DR-01"]["status"] != "deactivation_pending":
			return "ACT-7: the disaster-recovery farm's deactivation is not pending"
		case f["RAS-HQ-01"]["status"] != "active" || f["RAS-HQ-01"]["peak_usage"].(float64) < 10:
			return "the headquarters farm is not active with its peaks"
		}
		return ""
	})
	eventually(t, "proxy servers", func() string {
		p := installations("proxy-servers")
		if p["SCCM-LAB"]["over_limit"] != true || p["SCCM-LAB"]["current_usage"] != 13.0 || p["SCCM-PS01"]["over_limit"] == true {
			return "USE-6: SCCM-LAB is not 13 over its limit of 10 alone"
		}
		return ""
	})

	var members struct {
		Members []struct {
			PersonID  string `json:"person_id"`
			FirstName string `json:"first_name"`
			Role      string `json:"role"`
		}
	}
	_ = json.Unmarshal(andrew.call(200, "GET", "/v1/accounts/"+acc+"/members", nil), &members)
	roles, ids := map[string]string{}, map[string]string{}
	for _, m := range members.Members {
		roles[m.FirstName], ids[m.FirstName] = m.Role, m.PersonID
	}
	if len(roles) != 3 || roles["Andrew"] != "admin" || roles["Grace"] != "admin" || roles["David"] != "member" {
		t.Errorf("MEM-4, MEM-7 members: %v", roles)
	}
	invitations := string(andrew.call(200, "GET", "/v1/accounts/"+acc+"/invitations", nil))
	if !strings.Contains(invitations, `"mia.wagner@example.com"`) || !strings.Contains(invitations, `"language":"de"`) {
		t.Errorf("MEM-4 the pending German invitation: %s", invitations)
	}

	var subs struct{ Subscriptions []map[string]any }
	_ = json.Unmarshal(andrew.call(200, "GET", "/v1/accounts/"+acc+"/subscriptions?status=all", nil), &subs)
	statuses := map[string]any{}
	for _, s := range subs.Subscriptions {
		statuses[s["name"].(string)] = s["status"]
		if s["name"] == "RAS production" {
			details := string(andrew.call(200, "GET", "/v1/subscriptions/"+s["subscription_id"].(string), nil))
			if !strings.Contains(details, `"name":"Munich office"`) || ids["David"] == "" || !strings.Contains(details, `"administrators":["`+ids["David"]+`"]`) {
				t.Errorf("MEM-6 the Munich office key and its license administrator: %s", details)
			}
		}
	}
	if statuses["RAS production"] != "active" || statuses["RAS pilot, Zurich"] != "grace" || statuses["Mac fleet"] != "active" {
		t.Errorf("SUB-6 subscriptions: %v", statuses)
	}

	got := map[string]string{}
	for _, status := range []string{"current", "closed"} {
		var tickets struct {
			Tickets []struct{ Subject, Status string }
		}
		_ = json.Unmarshal(andrew.call(200, "GET", "/v1/accounts/"+acc+"/tickets?status="+status, nil), &tickets)
		for _, tk := range tickets.Tickets {
			got[tk.Subject] = tk.Status
		}
	}
	if got["Training lab farm suspended after overuse"] != "awaiting_customer" || got["SCCM-LAB refuses to enroll new Macs"] != "open" ||
		got["Munich farm asks to be activated again after the server move"] != "resolved" {
		t.Errorf("TKT-1..3 tickets: %v", got)
	}

	// The portal shows it to the customer.
	farms := page(t, base, "/accounts/"+url.PathEscape(acc)+"/farms?status=all", cookie)
	for _, want := range []string{"Training lab", "Munich office", "Headquarters", "Disaster recovery"} {
		if !strings.Contains(farms, want) {
			t.Errorf("the portal's farms page lacks %q", want)
		}
	}
	if !strings.Contains(strings.ToLower(farms), "suspended") {
		t.Error("the portal's farms page does not say a farm is suspended")
	}
	if dash := page(t, base, "/accounts/"+url.PathEscape(acc), cookie); !strings.Contains(dash, "Remote Application Server") ||
		!strings.Contains(dash, "Mac Management for SCCM") {
		t.Error("the portal's dashboard lacks the products")
	}
	if mails := ok(t, env, "mail", "list", "--to", "mia.wagner@example.com"); !strings.Contains(mails, "Einladung zu My Company, Inc.") {
		t.Errorf("the German invitation mail:\n%s", mails)
	}

	refused(t, env, "ledger: the ledger at "+base+" is seeded already (its catalog has 2 products", "demo")
}

// ledger demo refuses, in one line and before it writes anything, a
// server on the real clock.
func TestDemo_refuses_a_server_on_the_real_clock(t *testing.T) {
	t.Parallel()
	url := startServer(t, clock.Real{})
	refused(t, map[string]string{"LEDGER_URL": url, "LEDGER_ADMIN_TOKEN": adminToken},
		"ledger: the ledger at "+url+" runs on the real clock; ledger demo moves time on, so it needs a server started with --clock=simulated", "demo")
}

// ledger demo refuses, in one line, a server that limits installations'
// calls: its farms report every day of five weeks within seconds. The
// first farm's first morning finds it out.
func TestDemo_refuses_a_server_that_limits_installations_calls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := startLedgerdIn(t, dir, "LEDGER_CLOCK=simulated")
	refused(t, map[string]string{"LEDGER_URL": base, "LEDGER_ADMIN_TOKEN": adminToken, "LEDGER_MAIL_DIR": filepath.Join(dir, "data", "mail")},
		"ledger: the ledger at "+base+" limits each installation's usage reports", "demo")
}
