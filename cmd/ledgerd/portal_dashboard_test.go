package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/sqldb/sqldbtest"
)

// The dashboard a customer acts on and the over-quota markers of the
// lists (issue 20): what the API answers and what the portal shows, on
// the real server and its simulated clock.

// overuse is an account whose installations stand in every kind of
// trouble, set up by overuseAccount.
type overuse struct {
	office, ada *client
	// acc is the business account, sub its ras subscription (10 seats:
	// the primary key 2, Paris 7, Oslo 1) and mdmSub its ras-mdm one.
	acc, sub, mdmSub string
	// The installations: Berlin (primary key) suspended, Paris in its
	// grace at 11 of 7, Oslo deactivated in the portal, pending, and the
	// proxy server Lyon over its limit at 5 of 2.
	berlin, paris, oslo, lyon string
	// parisGraceEnds is when Paris's grace ends.
	parisGraceEnds time.Time
}

// overuseAccount sets up an overuse account on m: Berlin goes over its
// quota, its grace runs out and it is suspended (USE-3, USE-4); then Paris
// goes over its quota and its grace starts; Oslo is deactivated from the
// portal (ACT-7); Lyon, a proxy server, goes over its limit (USE-6).
func overuseAccount(t *testing.T, m *Main) overuse {
	t.Helper()
	o := overuse{}
	var key string
	o.office, o.ada, key, o.acc, o.sub = installationsAccount(t, m, "ras", 10)
	paris := o.ada.must(201, "POST", "/v1/subscriptions/"+o.sub+"/keys", map[string]any{"name": "Paris", "quota": 7}).str("key")
	oslo := o.ada.must(201, "POST", "/v1/subscriptions/"+o.sub+"/keys", map[string]any{"name": "Oslo", "quota": 1}).str("key")
	farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
	report := func(credential string, n int) farmclient.ReportAnswer {
		t.Helper()
		r, err := farm.Report(context.Background(), credential, farmclient.SeatsReport(n, time.Time{}), "")
		if err != nil {
			t.Fatal(err)
		}
		o.ada.minPos = max(o.ada.minPos, r.Position)
		return r
	}

	berlin := instFarm(t, m, key, "srv-berlin", "Berlin")
	o.berlin = berlin.InstallationID
	report(berlin.Credential, 3) // 3 of 2: its grace starts (USE-3)
	advance(o.office, 7*24*time.Hour+time.Minute)
	report(berlin.Credential, 3) // still over after the grace: suspended within the hour (USE-4)
	advance(o.office, 61*time.Minute)

	p := instFarm(t, m, paris, "srv-paris", "Paris")
	o.paris = p.InstallationID
	if r := report(p.Credential, 11); r.GraceEnds == nil {
		t.Fatalf("11 of 7: no grace: %+v", r)
	} else {
		o.parisGraceEnds = *r.GraceEnds
	}
	o.oslo = instFarm(t, m, oslo, "srv-oslo", "Oslo").InstallationID
	o.ada.must(200, "POST", "/v1/accounts/"+o.acc+"/installations/deactivate", map[string]any{"installation_ids": []string{o.oslo}})

	mdm := o.office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "dash-mdm", "product_id": "ras-mdm",
		"seats": 2, "period": "1y", "channel": "online", "support_plan": "standard"})
	o.mdmSub = mdm.str("subscription_id")
	o.ada.must(200, "POST", "/v1/keys/register", map[string]any{"key": mdm.str("key"), "account_id": o.acc})
	px, err := farm.Activate(context.Background(), mdm.str("key"), farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: "px-lyon",
		SiteCode: "LYS", AppVersion: "2.1"})
	if err != nil {
		t.Fatal(err)
	}
	o.lyon = px.InstallationID
	if r := report(px.Credential, 5); !r.OverLimit {
		t.Fatalf("5 computers of 2: not over the limit: %+v", r)
	}
	return o
}

// The API's dashboard names each alert with its rule and what to act on;
// the keys list says "4 over" instead of a negative vacant, and the farms
// list says where each farm stands (USE-3, USE-4, USE-6, ACT-7, KEY-7,
// INST-5).
func TestDashboard_API_alerts_and_over_USE3_USE4_USE6_ACT7_KEY7(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	o := overuseAccount(t, m)

	cards := o.ada.must(200, "GET", "/v1/accounts/"+o.acc+"/dashboard", nil).body["products"].([]any)
	if len(cards) != 2 {
		t.Fatalf("cards: %v", cards)
	}
	alerts := map[string]string{} // installation → kind and rule
	for _, c := range cards {
		for _, a := range c.(map[string]any)["alerts"].([]any) {
			a := a.(map[string]any)
			alerts[a["installation_id"].(string)] = a["kind"].(string) + " " + a["rule"].(string)
		}
	}
	for id, want := range map[string]string{o.berlin: "suspended USE-4", o.paris: "grace USE-3", o.oslo: "deactivation_pending ACT-7",
		o.lyon: "over_limit USE-6"} {
		if alerts[id] != want {
			t.Errorf("the alert of %s: %q, want %q (all: %v)", id, alerts[id], want, alerts)
		}
	}
	ras := cards[1].(map[string]any) // "Device Management" sorts first
	if ras["seats"] != 10.0 || ras["seats_used"] != 3.0+11.0 {
		t.Errorf("ras: %v of %v seats used", ras["seats_used"], ras["seats"])
	}

	// KEY-7: vacant never negative; the overuse is "over".
	keys := o.ada.must(200, "GET", "/v1/subscriptions/"+o.sub+"?key_sort=vacant", nil).body["keys"].([]any)
	var got []string
	for _, k := range keys {
		k := k.(map[string]any)
		got = append(got, strings.Join([]string{k["name"].(string), num(k["quota"]), num(k["used"]), num(k["vacant"]), num(k["over"]),
			k["standing"].(string)}, "/"))
	}
	if want := "Paris/7/11/0/4/grace,Primary/2/3/0/1/suspended,Oslo/1/0/1/0/"; strings.Join(got, ",") != want {
		t.Errorf("keys by vacant (name/quota/used/vacant/over/standing):\n got %s\nwant %s", strings.Join(got, ","), want)
	}

	farms := o.ada.must(200, "GET", "/v1/accounts/"+o.acc+"/farms?sort=name", nil).body["installations"].([]any)
	got = nil
	for _, f := range farms {
		f := f.(map[string]any)
		got = append(got, f["farm_name"].(string)+"/"+f["standing"].(string)+"/"+num(f["over"]))
	}
	if want := "Berlin/suspended/1,Oslo/deactivation_pending/0,Paris/grace/4"; strings.Join(got, ",") != want {
		t.Errorf("farms (name/standing/over): %s, want %s", strings.Join(got, ","), want)
	}
}

// num prints a JSON number.
func num(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "?"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// The portal's dashboard shows per product the seats used of the total,
// its subscriptions with their end and renewal, and its alerts, each
// linking to where the customer acts; the farms list has quota and used
// columns and never shows a farm in grace as a green "active"; the keys
// table says "4 over"; the farm's details say when its grace ends or
// ended (USE-3, USE-4, USE-6, ACT-7, INST-5, KEY-7).
func TestPortalDashboard_alerts_lists_and_keys_USE3_USE4_USE6_ACT7_INST5_KEY7(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	o := overuseAccount(t, m)
	p := instSignIn(t, m)
	dash := "/accounts/" + o.acc
	instWaitFor(t, p, dash, "Paris", "px-lyon", "Oslo").Want(200,
		"4 things need your attention",
		"Remote Application Server — for 10 seats", "14 of 10 seats used", `<span class="badge overuse">4 over</span>`,
		"Device Management — for 2 computers", "5 of 2 computers used",
		// Each alert, with its link to where to act.
		"Farm Berlin is suspended for overuse: 3 of 2 seats (1 over).", `<a href="/installations/`+o.berlin+`">Open the farm</a>`,
		"Farm Paris uses 11 of 7 seats (4 over). Its 7-day grace period ends on "+o.parisGraceEnds.UTC().Format("2 Jan 2006 15:04 MST"),
		`<a href="/installations/`+o.paris+`">Open the farm</a>`,
		"Proxy server px-lyon manages 5 of 2 computers (3 over)", `<a href="/installations/`+o.lyon+`">Open the proxy server</a>`,
		"Farm Oslo was deactivated here", `<a href="/installations/`+o.oslo+`">Open the farm</a>`,
		// The subscriptions with their end and renewal (SUB-2).
		`<a href="/subscriptions/`+o.sub+`">Remote Application Server Subscription</a>`, "Renews by itself on",
		`<td class="num">14 of 10</td>`)
	instBefore(t, p, "Farm Berlin is suspended", "Farm Paris uses") // the most urgent first

	// The farms list: quota and used columns, where each farm stands.
	p.Get(dash+"/farms?sort=name&dir=asc").Want(200, `<th scope="col" class="num">Quota</th>`, `<th scope="col" class="num">Used</th>`,
		`<span class="badge suspended">suspended for overuse</span>`,
		`<span class="badge grace">in grace until `+o.parisGraceEnds.UTC().Format("2 Jan 15:04 MST")+`</span>`,
		`<td class="num">11 <span class="badge overuse">4 over</span></td>`, `<td class="num">3 <span class="badge overuse">1 over</span></td>`)
	paris := regexp.MustCompile(`(?s)<tr>\s*<td><input[^>]+value="` + o.paris + `".*?</tr>`).FindString(p.HTML)
	if paris == "" || strings.Contains(paris, "badge active") {
		t.Fatalf("USE-3: the farm in grace is shown as active, or not at all:\n%s", paris)
	}
	// The proxy servers list marks the one over its limit (USE-6).
	p.Get(dash+"/proxy-servers").Want(200, `px-lyon</a> <span class="badge overuse">over the limit</span>`,
		`<td class="num">5 <span class="badge overuse">3 over</span></td>`)

	// The keys table: "4 over", never a negative vacant (KEY-7).
	p.Get("/subscriptions/"+o.sub).Want(200, `<td class="num"><span class="badge overuse">4 over</span></td>`,
		`<td class="num">11 <span class="badge grace">in overuse grace</span></td>`,
		`<td class="num">3 <span class="badge suspended">suspended for overuse</span></td>`)
	if strings.Contains(p.HTML, `<td class="num">-`) || strings.Contains(p.HTML, "−") {
		t.Errorf("KEY-7: a negative vacant:\n%s", p.HTML)
	}

	// The details say whether the grace ends or ended, not "ends (or ended)".
	p.Get("/installations/"+o.paris).Want(200, "ends on "+o.parisGraceEnds.UTC().Format("2 Jan 2006 15:04 MST"), "11 of 7 <span class=\"badge overuse\">4 over</span>")
	// Paris reported on one day: no "1 of 1 days", no full-width bar.
	p.Want(200, "The day was over its quota.", `width="48"`)
	if strings.Contains(p.HTML, "1 of 1 days") || strings.Contains(p.HTML, "(or ended)") {
		t.Errorf("the details of a farm in its grace:\n%s", p.HTML)
	}
	p.Get("/installations/"+o.berlin).Want(200, "The 7-day grace ended on", "suspended for overuse", "Both days were over their quota.")
	if strings.Contains(p.HTML, "(or ended)") {
		t.Error("the details still say \"ends (or ended)\"")
	}
}
