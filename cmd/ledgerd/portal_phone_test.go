package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seatledger/infra/farmclient"
	"seatledger/infra/sqldb/sqldbtest"
)

// The portal on a phone's screen and on a desktop's: every main page is
// measured at 360 and 390 px (the common phones) and at 1280 px, and none
// may scroll sideways; a wide table scrolls inside its own box. The same
// visits take the README's screenshots (make screenshots).

// phoneAccount is a business account with something on every page: a
// subscription with a sublicense, two farms with a few days of usage (one
// over its key's quota), a proxy server with enrolled computers, a second
// member, a ticket, and a second business account with a long name in the
// header's account switcher.
type phoneAccount struct {
	personal, acc, sub, farm, proxy, ticket string
}

func phoneSeed(t *testing.T, m *Main) phoneAccount {
	t.Helper()
	office, ada, key, acc, sub := installationsAccount(t, m, "ras", 10)
	mdm := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "phone-mdm", "product_id": "ras-mdm",
		"seats": 25, "period": "1y", "channel": "online", "support_plan": "standard"}).str("key")
	ada.must(200, "POST", "/v1/keys/register", map[string]any{"key": mdm, "account_id": acc})
	berlin := ada.must(201, "POST", "/v1/subscriptions/"+sub+"/keys", map[string]any{"name": "Berlin office", "quota": 4}).str("key")
	ada.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{
		"name": "Müller Präzisionswerkzeuge GmbH & Co. KG Niederlassung Süd", "country": "DE", "zip": "80331", "phone": "+49 89 123456"}})
	supJoin(t, m, ada, acc, "bob", false)

	farms := &farmclient.Client{BaseURL: "http://" + m.Addr()}
	zurich := instFarm(t, m, key, "srv-zurich-01.example.internal", "Zurich headquarters farm")
	berlinFarm := instFarm(t, m, berlin, "srv-berlin-02.example.internal", "Berlin office farm")
	px, err := farms.Activate(context.Background(), mdm, farmclient.Identity{Kind: farmclient.KindProxyServer,
		ServerName: "px-zurich.example.internal", SiteCode: "ZRH", SiteDescription: "Zurich office", AppVersion: "2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := farms.Enroll(context.Background(), px.Credential, 12); err != nil {
		t.Fatal(err)
	}
	for day, users := range []int{3, 4, 6, 5} {
		if day > 0 {
			advance(office, 24*time.Hour)
		}
		instReport(t, m, zurich.Credential, users)
		instReport(t, m, berlinFarm.Credential, users-1) // 5 of 4 seats on the third day
	}
	ticket := ada.must(201, "POST", "/v1/accounts/"+acc+"/tickets", map[string]any{"product_id": "ras", "category": "technical",
		"subject": "The Berlin farm reports more users than it has", "description": "Since Wednesday the farm shows five users.",
		"channel": map[string]any{"kind": "email"}}).str("ticket_id")
	jrnCaughtUp(t, m)
	personal := ada.must(200, "GET", "/v1/me", nil).str("personal_account_id")
	return phoneAccount{personal: personal, acc: acc, sub: sub, farm: berlinFarm.InstallationID, proxy: px.InstallationID, ticket: ticket}
}

// phoneWidths are the screens every main page is measured on: the two
// common phone widths in CSS pixels, and a desktop's.
var phoneWidths = []int{360, 390, 1280}

// screenHeight is the height of the screen of width px: a phone's, or a
// laptop's. Only the width is measured; a dialog taller than the screen
// is photographed on a taller one (fits).
func screenHeight(width int) int64 {
	if width >= 1024 {
		return 800
	}
	return 844
}

// TestPortalBrowser_every_main_page_fits_a_phone: at 360, 390 and 1280 px
// no main page, signed out or in, is wider than the screen (document
// scrollWidth <= clientWidth): the header's account switcher fits even
// with a long company name; every link of the account's navigation and
// every tab is in sight, whole; wide tables (the keys' Quota, Used and
// Vacant, the farms' Peak usage) scroll inside their own box, where the
// column can be scrolled to.
func TestPortalBrowser_every_main_page_fits_a_phone(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	f := phoneSeed(t, m)
	a := "/accounts/" + f.acc
	signedOut := []struct{ name, path string }{
		{"signin", "/signin"}, {"signup", "/signup"}, {"forgot", "/password/forgot"},
	}
	signedIn := []struct{ name, path string }{
		{"dashboard", a}, {"register-key", a + "/register-key"}, {"subscriptions", a + "/subscriptions"},
		{"subscription", "/subscriptions/" + f.sub}, {"new-key", "/subscriptions/" + f.sub + "/keys/new"},
		{"farms", a + "/farms"}, {"farm-details", "/installations/" + f.farm},
		{"proxy-servers", a + "/proxy-servers"}, {"proxy-details", "/installations/" + f.proxy}, {"offline", a + "/offline"},
		{"profile", a + "/profile"}, {"users", a + "/users"}, {"invite", a + "/users/invite"},
		{"tickets", a + "/tickets"}, {"new-ticket", a + "/tickets/new"}, {"ticket", "/tickets/" + f.ticket},
		{"downloads", a + "/downloads"}, {"mdm", a + "/mdm"},
		{"history", "/history/subscriptions/" + f.sub}, {"account-history", "/history/accounts/" + f.acc},
		{"history-raw", "/history/subscriptions/" + f.sub + "?raw=1"}, {"farm-history-raw", "/history/installations/" + f.farm + "?raw=1"},
		{"me", "/me"}, {"security", "/me/security"}, {"personal-dashboard", "/accounts/" + f.personal},
	}
	for _, width := range phoneWidths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			b := openTab(t, m)
			browse(t, b.ctx, chromedp.EmulateViewport(int64(width), screenHeight(width), phoneEmulation(width)...))
			for _, p := range signedOut {
				b.open(p.path)
				b.at(p.path)
				b.fits(width, p.name)
			}
			b.signIn("ada@example.com", a)
			for _, p := range signedIn {
				b.open(p.path)
				b.at(p.path)
				b.fits(width, p.name)
			}
			b.open("/subscriptions/" + f.sub)
			b.tableScrollsTo("Vacant")
			b.open(a + "/farms")
			b.tableScrollsTo("Peak usage")
		})
	}
}

// phoneEmulation makes the narrow screens a phone's: a touch screen whose
// layout viewport grows when a page is wider than the screen (which
// fits then reports).
func phoneEmulation(width int) []chromedp.EmulateViewportOption {
	if width >= 1024 {
		return nil
	}
	return []chromedp.EmulateViewportOption{chromedp.EmulateMobile}
}

// phoneLayout is what fits measures.
type phoneLayout struct {
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	InnerWidth  int      `json:"innerWidth"`
	Overflowing []string `json:"overflowing"` // elements reaching past the screen's right edge (the last 15)
	CutOff      []string `json:"cutOff"`      // navigation links and tabs not wholly in sight, or broken over two lines
}

// fits checks that the page the tab shows is no wider than the screen of
// width px and that each link of the account's navigation and each tab
// is wholly in sight on one line, and saves a screenshot as name-width.
func (b *tab) fits(width int, name string) {
	b.t.Helper()
	l := browseFor(b.t, b.ctx, chromedp.Evaluate[phoneLayout](`(() => {
		const w = `+fmt.Sprint(width)+`;
		const overflowing = Array.from(document.querySelectorAll("body *"))
			.filter(el => el.getBoundingClientRect().right > w + 1 && !el.closest(".table-wrap"))
			.map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "") + " " + Math.round(el.getBoundingClientRect().right) + "px")
			.slice(-15);
		const cutOff = [];
		document.querySelectorAll("nav.main a, .tabs a").forEach(a => {
			const r = a.getBoundingClientRect();
			if (r.width === 0 || r.left < -1 || r.right > w + 1 || a.getClientRects().length !== 1) { cutOff.push(a.textContent.trim()); }
		});
		const doc = document.documentElement;
		return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, innerWidth: window.innerWidth, overflowing, cutOff};
	})()`))
	path := b.at("/")
	// A page wider than the screen either scrolls sideways or, on a
	// phone, is zoomed out to fit: the layout viewport grows with it.
	if l.ScrollWidth > l.ClientWidth || l.InnerWidth != width {
		b.t.Errorf("%s is %dpx wide (viewport %dpx) on a %dpx screen; too wide: %v", path, l.ScrollWidth, l.InnerWidth, width, l.Overflowing)
	}
	if len(l.CutOff) > 0 {
		b.t.Errorf("%s: navigation links or tabs cut off: %v", path, l.CutOff)
	}
	if errs := takeConsoleErrors(b.ctx); len(errs) > 0 {
		b.t.Errorf("%s: %v", path, errs)
	}
	b.shotWhole(width, fmt.Sprintf("%s-%d", name, width))
}

// shotWhole saves a screenshot of the whole page, dialog included: an
// open dialog scrolls within a share of the screen's height (84vh, at
// least 80 % of it), so for the picture the screen grows by what the
// dialog hides, then returns to its size.
func (b *tab) shotWhole(width int, name string) {
	b.t.Helper()
	hidden := browseFor(b.t, b.ctx, chromedp.Evaluate[int](`(() => {
		const d = document.querySelector("dialog[open]");
		return d ? d.scrollHeight - d.clientHeight : 0;
	})()`))
	if hidden > 0 {
		browse(b.t, b.ctx, chromedp.EmulateViewport(int64(width), screenHeight(width)+int64(hidden)*5/4, phoneEmulation(width)...))
		defer browse(b.t, b.ctx, chromedp.EmulateViewport(int64(width), screenHeight(width), phoneEmulation(width)...))
	}
	b.shot(name)
}

// tableScrollsTo checks that the page's table with the column header
// label keeps it: inside a box that scrolls sideways when the table is
// wider than the screen, where scrolling brings the column into view.
func (b *tab) tableScrollsTo(label string) {
	b.t.Helper()
	got := browseFor(b.t, b.ctx, chromedp.Evaluate[string](`(() => {
		const th = Array.from(document.querySelectorAll("main th")).find(th => th.textContent.trim().startsWith(`+fmt.Sprintf("%q", label)+`));
		if (!th) { return "no column"; }
		const box = th.closest(".table-wrap");
		if (!box) { return "no scroll box"; }
		if (getComputedStyle(th).display === "none") { return "hidden"; }
		th.scrollIntoView({block: "nearest", inline: "nearest"});
		const r = th.getBoundingClientRect(), s = box.getBoundingClientRect();
		const shown = r.width > 0 && r.left >= s.left - 1 && r.right <= s.right + 1;
		box.scrollLeft = 0;
		return shown ? "shown" : "out of reach";
	})()`))
	if got != "shown" {
		b.t.Errorf("%s: the column %q is %s", b.at("/"), label, got)
	}
}
