package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"seatledger/infra/mail/mailtest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// The seeds' journeys in a real headless Chromium against the real
// ledgerd: what a customer sees and clicks. Every page is checked for
// console errors and exceptions (newBrowser), and the main pages are
// saved as screenshots in the test's temporary directory (or in
// $PORTAL_SCREENSHOTS).

// tab is a browser tab on the portal of one server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func openTab(t *testing.T, m *Main, opts ...browserOption) *tab {
	return &tab{t: t, ctx: newBrowser(t, opts...), base: "http://" + m.Addr()}
}

// open navigates to path.
func (b *tab) open(path string) {
	b.t.Helper()
	browse(b.t, b.ctx, chromedp.Navigate(b.base+path))
}

// fill types value into the form control named name. Keystrokes go to
// whichever control has the focus, and htmx moves the focus to a swapped-in
// page's autofocus control a moment after the swap: keys typed in that
// moment land elsewhere. So fill reads the value back and types again
// until the control holds it.
func (b *tab) fill(name, value string) {
	b.t.Helper()
	sel := chromedp.CSS(fmt.Sprintf(`[name=%q]`, name))
	for try := 1; ; try++ {
		browse(b.t, b.ctx, chromedp.WaitVisible(sel), chromedp.Clear(sel), chromedp.SendKeys(sel, value))
		got := browseFor(b.t, b.ctx, chromedp.Value(sel))
		if got == value {
			return
		}
		if try == 3 {
			b.t.Fatalf("the field %s holds %q after typing %q three times", name, got, value)
		}
	}
}

// fillSignUp fills a sign-up form (MEM-1): the person's names, address and
// the shared test password, terms accepted; the caller submits it.
func (b *tab) fillSignUp(first, last, email string) {
	b.t.Helper()
	b.fill("first_name", first)
	b.fill("last_name", last)
	b.fill("email", email)
	b.fill("password", pw)
	b.tick("accept_terms")
}

// fillCompany fills the business-details dialog with Acme GmbH's
// required details (KEY-2); the caller submits it.
func (b *tab) fillCompany() {
	b.t.Helper()
	b.fill("company.name", "Acme GmbH")
	b.fill("company.country", "DE")
	b.fill("company.zip", "80331")
	b.fill("company.phone", "+49 89 123456")
}

// tick checks the checkbox named name (with value, if given).
func (b *tab) tick(name string, value ...string) {
	b.t.Helper()
	sel := fmt.Sprintf(`input[type=checkbox][name=%q]`, name)
	if len(value) > 0 {
		sel = fmt.Sprintf(`input[type=checkbox][name=%q][value=%q]`, name, value[0])
	}
	browse(b.t, b.ctx, chromedp.Click(chromedp.CSS(sel)))
}

// press clicks the button (or link) whose text is label.
func (b *tab) press(label string) {
	b.t.Helper()
	browse(b.t, b.ctx, chromedp.Click(fmt.Sprintf(`//*[self::button or self::a][normalize-space()=%q]`, label)))
}

// pressIn clicks the button labelled label inside the element sel matches.
func (b *tab) pressIn(sel, label string) {
	b.t.Helper()
	browse(b.t, b.ctx, chromedp.Click(fmt.Sprintf(`//%s//*[self::button or self::a][normalize-space()=%q]`, sel, label)))
}

// see waits until the page shows text (htmx swaps a boosted page in after
// the click returns).
func (b *tab) see(text string) {
	b.t.Helper()
	browse(b.t, b.ctx, chromedp.WaitVisible(fmt.Sprintf(`//main//*[contains(normalize-space(), %q)]`, text)))
}

// at waits until the address bar shows a path starting with prefix and
// returns it.
func (b *tab) at(prefix string) string {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for {
		loc := browseFor(b.t, b.ctx, chromedp.Location())
		path := strings.TrimPrefix(loc, b.base)
		if strings.HasPrefix(path, prefix) {
			return path
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the browser is at %s, not at %s…", path, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *tab) shot(name string) {
	b.t.Helper()
	shot(b.t, b.ctx, name)
}

// download runs trigger and returns the file the browser downloaded.
func (b *tab) download(trigger func()) []byte {
	b.t.Helper()
	dir := b.t.TempDir()
	progress := chromedp.BrowserEvents(b.ctx, browser.DownloadProgress)
	browse(b.t, b.ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
		return err
	}))
	trigger()
	for ev, err := range progress {
		if err != nil {
			b.t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.t.Fatal("the download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			data, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				b.t.Fatal(err)
			}
			return data
		}
	}
	b.t.Fatal("no download")
	return nil
}

// ledgerCLI builds the ledger command once per test binary: the journeys
// activate farms with `ledger farm`, as the story says.
var ledgerCLI = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ledger-cli-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ledger")
	out, err := exec.Command("go", "build", "-o", bin, "seatledger/cmd/ledger").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/ledger: %v\n%s", err, out)
	}
	return bin, nil
})

// ledger runs the ledger command against m and returns its output.
func ledger(t *testing.T, m *Main, args ...string) string {
	t.Helper()
	bin, err := ledgerCLI()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "LEDGER_URL=http://"+m.Addr())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ledger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buyKey has the back office sell seats of product ras and returns the
// license key, as the order system would.
func buyKey(t *testing.T, m *Main, order string, seats int) string {
	t.Helper()
	office := newClient(t, m)
	office.bearer = adminToken
	office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	return office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": order, "product_id": "ras",
		"seats": seats, "period": "1y", "channel": "online", "support_plan": "standard"}).str("key")
}

// Sign up → register a key (with the business details it asks for) →
// create a sublicense → a farm activated by `ledger farm` appears → export
// the list as CSV → deactivate the farm → its history, for people and raw.
// On SQLite and PostgreSQL (rules MEM-1, KEY-2, KEY-3, KEY-4, INST-1,
// INST-3, ACT-7, X-1).
func TestPortalBrowser_key_sublicense_farm_journey_KEY2_KEY3_INST1_INST3_ACT7(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		b := openTab(t, m)

		b.open("/")
		b.at("/signin")
		b.shot("signin")
		b.press("Create an account")
		b.at("/signup")
		b.fillSignUp("Ada", "Lovelace", "ada@example.com")
		b.shot("signup")
		b.press("Create account")
		b.at("/accounts/")
		b.see("We have sent you a mail")
		b.shot("dashboard-empty")

		key := buyKey(t, m, "journey-1", 20)
		b.press("Register key")
		b.at("/accounts/")
		b.fill("key", key)
		b.press("Register")
		// A personal account registers a business's key: the business
		// details are asked for (KEY-2).
		b.fillCompany()
		b.shot("register-key-business-details")
		b.pressIn("dialog", "Register")
		sub := b.at("/subscriptions/")
		b.see("License keys")
		b.shot("subscription")

		// A sublicense of 5 of the 20 seats (KEY-3, KEY-4).
		b.press("Create license key")
		b.at(sub + "/keys/new")
		b.see("20 out of 20")
		b.fill("name", "Berlin office")
		b.fill("quota", "5")
		b.shot("create-key-dialog")
		b.pressIn(`dialog`, "Save")
		b.see("Berlin office")
		b.at(sub)

		b.press("Berlin office")
		b.see("Show key")
		b.press("Show key")
		sublicense := browseFor(t, b.ctx, chromedp.Value(chromedp.CSS("#key-secret")))

		// A farm activates with the sublicense and reports 3 users.
		state := filepath.Join(t.TempDir(), "farm.json")
		ledger(t, m, "farm", "activate", "--state", state, "--key", strings.TrimSpace(sublicense),
			"--server-id", "srv-berlin", "--farm-name", "Berlin farm", "--app-version", "19.2")
		ledger(t, m, "farm", "report", "--state", state, "--seats", "3")

		b.open("/") // the account registered to last
		b.see("for 20 seats")
		b.shot("dashboard")
		b.press("Farms")
		b.at("/accounts/")
		b.see("Berlin farm")
		b.shot("farms")

		b.tick("installation")
		csv := string(b.download(func() { b.press("Export selected as CSV") }))
		if !strings.Contains(csv, "Berlin farm") {
			t.Fatalf("the CSV export does not list the farm:\n%s", csv)
		}

		// The download left the page as it was: the row is still selected.
		b.press("Deactivate selected…")
		b.see("Deactivate 1 farm?")
		b.shot("deactivate-confirm")
		b.press("Deactivate 1 farm")
		b.see("keys are free at once")

		b.press("Berlin farm")
		b.at("/installations/")
		b.see("Usage history")
		b.shot("farm-details")

		// the farm's history tells people who did what, by name; the
		// raw events are one click away (issue 20).
		b.historyPanel("history", "Activated", "farm Berlin farm", "installation.activated")
	})
}

// mailLink returns the portal path of the link in the latest mail to rcpt
// whose subject contains subject.
func mailLink(t *testing.T, smtp *mailtest.Server, rcpt, subject string) string {
	t.Helper()
	msg := smtp.WaitFor(t, rcpt, subject, 15*time.Second)
	q := linkQuery(t, msg)
	for _, line := range strings.Fields(msg.Body) {
		if strings.HasPrefix(line, "http://portal.example/") {
			return strings.TrimPrefix(line, "http://portal.example")
		}
	}
	t.Fatalf("no portal link in the mail %q (query %v)", subject, q)
	return ""
}

// Issue 20 (MEM-1): a form sent empty in a real browser shows every
// problem at once, each next to its field in the form's words, and none
// in the API's (JSON field names, `""`, a banner repeating them).
func TestPortalBrowser_problems_stand_next_to_their_fields_MEM1(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	b := openTab(t, m)
	b.open("/signup")
	// The refusal is answered 400, which Chromium logs as a failed load.
	allowConsole(b.ctx, "status of 400 (Bad Request) "+b.base+"/signup")
	b.press("Create account")
	for _, want := range []string{"First name is required.", "Last name is required.", "Email address is required.", "The terms of use must be accepted"} {
		b.see(want)
	}
	for _, field := range []string{"first_name", "last_name", "email", "password", "accept_terms"} {
		browse(t, b.ctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[id="e-%s"]`, field))))
	}
	for _, api := range []string{"first_name is required", `"" is not`, "Invalid request"} {
		b.lacks(api)
	}
	b.shot("signup-problems")
}
