package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"seatledger/infra/sqldb/sqldbtest"
)

// The dashboard a customer acts on, in a real Chromium on SQLite (issue
// 20): its alerts name each farm, proxy server and subscription in
// trouble and link to where to act; the farms list shows the quota, the
// seats used, "4 over" and where each farm stands — a farm in grace is
// never a green "active"; the keys table says "4 over", not "Vacant −4";
// "Export selected" and "Deactivate selected…" wait for a ticked row
// (USE-3, USE-4, USE-6, ACT-7, INST-3, INST-5, KEY-7).
func TestPortalBrowser_dashboard_alerts_and_over_quota_badges_USE3_USE4_USE6_ACT7_KEY7(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	o := overuseAccount(t, m)
	b := openTab(t, m)
	dash := "/accounts/" + o.acc
	jrnCaughtUp(t, m)
	b.signIn("ada@example.com", dash)
	b.see("4 things need your attention")
	b.see("14 of 10 seats used")
	b.see("Farm Berlin is suspended for overuse: 3 of 2 seats (1 over).")
	b.see("Farm Paris uses 11 of 7 seats (4 over).")
	b.see("Proxy server px-lyon manages 5 of 2 computers (3 over)")
	b.see("Farm Oslo was deactivated here")
	b.see("Renews by itself on")
	b.checkPage()
	b.shot("dashboard-alerts")

	// The most urgent alert's link opens the suspended farm.
	b.pressIn(`article[.//h2[contains(., "Remote Application Server")]]`, "Open the farm")
	b.at("/installations/" + o.berlin)
	b.see("The 7-day grace ended on")
	b.see("suspended for overuse")
	b.shot("farm-suspended")

	// The farms list: quota, used, "4 over", the grace's end.
	b.open(dash + "/farms?sort=name&dir=asc")
	b.see("in grace until")
	b.see("4 over")
	b.see("suspended for overuse")
	b.checkPage()
	b.shot("farms-over-quota")
	// Nothing ticked: neither action can be pressed; one row ticked: both.
	bothDisabled := `document.querySelector("button[value=export]").disabled && document.querySelector("button[value=deactivate]").disabled`
	if !browseFor(t, b.ctx, chromedp.Evaluate[bool](bothDisabled)) {
		t.Fatal("INST-3: the selection's actions can be pressed with nothing selected")
	}
	b.tick("installation", o.paris)
	if browseFor(t, b.ctx, chromedp.Evaluate[bool](`document.querySelector("button[value=export]").disabled || document.querySelector("button[value=deactivate]").disabled`)) {
		t.Fatal("INST-3: the selection's actions stay disabled with a row ticked")
	}

	// The keys table: "4 over" instead of a negative vacant (KEY-7).
	b.open("/subscriptions/" + o.sub)
	b.see("4 over")
	b.see("in overuse grace")
	b.lacks("−4")
	b.shot("keys-over-quota")

	// On a phone the dashboard with its alerts and the farms list with
	// their badges fit the screen's width.
	browse(t, b.ctx, chromedp.EmulateViewport(360, screenHeight(360), phoneEmulation(360)...))
	b.open(dash)
	b.see("4 things need your attention")
	b.fits(360, "dashboard-alerts")
	b.open(dash + "/farms")
	b.see("in grace until")
	b.fits(360, "farms-over-quota")
}
