package main

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seatledger/infra/sqldb/sqldbtest"
)

// The history panel for people (issue 20, X-1): labels, names instead of
// IDs, no no-op changes or zero values, the farm called by its name
// whoever's events name it, the admin token "admin token (bootstrap)", and a toggle to
// the raw events as the API serves them.

var (
	historyList = regexp.MustCompile(`(?s)<ol class="history-list[^"]*">.*?</ol>`)
	// idLike is what reads as an ID: a UUID, or 16 and more hex digits.
	idLike = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16,}`)
)

// historyText is the text of the history list of the page p shows.
func historyText(t *testing.T, p *page) string {
	t.Helper()
	list := historyList.FindString(p.HTML)
	if list == "" {
		t.Fatalf("%s shows no history list:\n%s", p.URL, p.HTML)
	}
	return html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(list, " "))
}

// a farm's and a key's history read as people speak: what happened,
// by whom (the farm by its name, whether its events name its server or
// its ID; the admin token as "admin token (bootstrap)"), the fields by their labels and
// their values in words; no IDs, digests, nulls or zero times. The raw
// events stay one link away, and paging keeps the view.
func TestPortalHistory_for_people_and_the_raw_toggle_X1_X2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office, _, key, _, sub := installationsAccount(t, m, "ras", 10)
	berlin := instFarm(t, m, key, "srv-berlin", "Berlin")
	instReport(t, m, berlin.Credential, 12) // 12 of 10: the grace starts (USE-3)
	advance(office, time.Hour)
	office.must(200, "POST", "/v1/orders", map[string]any{"kind": "add_seats", "order_id": "hist-2", "subscription_id": sub, "seats": 5})
	p := instSignIn(t, m)
	inst := "/history/installations/" + berlin.InstallationID
	p.Post("/installations/"+berlin.InstallationID+"/notes", url.Values{"notes": {"rack 4"}}).Want(200, "The notes are saved.")

	p.Get(inst).Want(200, "History of farm Berlin", "Back to farm Berlin", `href="`+inst+`?raw=1">Show the raw events</a>`)
	text := historyText(t, p)
	for _, want := range []string{"Activated", "by farm Berlin", "Farm name : Berlin", "Server ID : srv-berlin", "License key : Primary",
		"Business account : Acme GmbH", "Usage reported", "In use : 0 → 12", "Overuse: 7-day grace period started",
		"Overuse grace ends : 8 Mar 2026", "Notes changed", "by Ada Tester (you)", "Notes : rack 4"} {
		if !strings.Contains(text, want) {
			t.Errorf("the farm's history does not show %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"farm/srv-berlin", "installation ", "null", "0001", `“”`, "back office", "admin-token", "ReportUsage"} {
		if strings.Contains(text, bad) {
			t.Errorf("the farm's history shows %q:\n%s", bad, text)
		}
	}
	if id := idLike.FindString(text); id != "" {
		t.Errorf("the farm's history shows the ID %s:\n%s", id, text)
	}

	// The key's history: the seats the back office added, the farm it activated.
	keys := office.must(200, "GET", "/v1/subscriptions/"+sub, nil).body["keys"].([]any)
	primary := keys[0].(map[string]any)["key_id"].(string)
	p.Get("/history/keys/"+primary).Want(200, "History of license key Primary")
	text = historyText(t, p)
	for _, want := range []string{"License key activated an installation", "Installation : farm Berlin", "Seats added", "by admin token (bootstrap)",
		"Seats : 10 → 15", "Subscription › Seats : 10 → 15"} {
		if !strings.Contains(text, want) {
			t.Errorf("the key's history does not show %q:\n%s", want, text)
		}
	}
	if id := idLike.FindString(text); id != "" || strings.Contains(text, "hist-2") {
		t.Errorf("the key's history shows an ID or order %q:\n%s", id, text)
	}

	// The raw view: the events as the log holds them, and the way back.
	p.Get(inst+"?raw=1").Want(200, "Raw events, as the log holds them.", `href="`+inst+`">Show the history</a>`,
		"installation.activated", "installation.usage_reported", "installation:farm/srv-berlin", "installation:"+berlin.InstallationID,
		"identity.farm_name", "ReportUsage", "installation-"+berlin.InstallationID)

	// Pages: one entry at a time, the next page and the toggle keep the cursor.
	p.Get(inst+"?limit=1").Want(200, "Activated", "Later changes")
	next := regexp.MustCompile(`href="([^"]+)">Later changes`).FindStringSubmatch(p.HTML)
	p.Get(html.UnescapeString(next[1])).Want(200, "Usage reported", "First changes")
	if strings.Contains(historyText(t, p), "Activated") {
		t.Errorf("the second page repeats the first:\n%s", historyText(t, p))
	}
	after := regexp.MustCompile(`after=(\d+)`).FindStringSubmatch(next[1])[1]
	p.Want(200, `href="`+inst+`?after=`+after+`&amp;raw=1">Show the raw events`)
	p.Get(inst+"?raw=1&limit=x").Want(400, "whole number")

	// another account's member reads neither view, nor any name of it.
	eve := signUpPage(t, m, "Eve", "eve@example.com")
	for _, path := range []string{inst, inst + "?raw=1", "/history/keys/" + primary} {
		eve.Get(path).Want(403)
		if strings.Contains(eve.HTML, "Berlin") || strings.Contains(eve.HTML, "Acme") {
			t.Errorf("%s shows a stranger the farm:\n%s", path, eve.HTML)
		}
	}
}

// historyPanel opens the history panel of the page the tab shows and
// waits for the entry what by who (X-1: the history for people, no IDs),
// then follows the panel's toggle to the raw events, where the event type
// rawType shows, and back to the history's own page (issue 20); the two
// pages are saved as the screenshots name-raw and name.
func (b *tab) historyPanel(name, what, who, rawType string) {
	b.t.Helper()
	entry := fmt.Sprintf(`//ol[@class="history-list"]/li[.//strong[normalize-space()=%q]][contains(., %q)]`, what, "by "+who)
	browse(b.t, b.ctx, chromedp.Click(`//details[@id="history"]/summary`))
	browse(b.t, b.ctx, chromedp.WaitVisible(`//details[@id="history"]`+entry))
	if text := browseFor(b.t, b.ctx, chromedp.Text(`//details[@id="history"]//ol`)); idLike.MatchString(text) {
		b.t.Errorf("the history panel shows an ID:\n%s", text)
	}
	b.press("Show the raw events")
	b.at("/history/")
	b.see(rawType)
	b.see("Raw events, as the log holds them.")
	b.shot(name + "-raw")
	b.press("Show the history")
	browse(b.t, b.ctx, chromedp.WaitVisible(`//main`+entry))
	b.shot(name)
}
