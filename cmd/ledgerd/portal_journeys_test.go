package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seatledger/infra/sqldb/sqldbtest"
)

// More of the seeds' journeys in headless Chromium against the real
// ledgerd (see portal_browser_test.go for the tab helpers): people joining
// a business account, a support ticket with a watcher and an attachment,
// and the main forms with JavaScript off (portal_phone_test.go measures
// the pages on phones). Every page is checked for console errors by the
// harness; the pages these tests visit are also checked for an <h1> and
// labelled form controls.

// jrnCaughtUp waits until every projection has applied the log up to its
// head: for what the API or another browser wrote, whose log positions the
// tab's cookie does not carry.
func jrnCaughtUp(t *testing.T, m *Main) {
	t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for {
		lag, err := m.readSide.lag(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		behind := int64(0)
		for _, l := range lag {
			behind += int64(l)
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projections are still behind the log: %v", lag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jrnAccountID is the account ID of a portal path /accounts/{id}/….
var jrnAccountID = regexp.MustCompile(`^/accounts/([0-9a-f-]{36})`)

// accountOf returns the account of the page the tab is at.
func (b *tab) accountOf() string {
	b.t.Helper()
	m := jrnAccountID.FindStringSubmatch(b.at("/accounts/"))
	if m == nil {
		b.t.Fatalf("no account in the path %s", b.at("/"))
	}
	return m[1]
}

// selectIn selects value in the select named name within the element
// scope (CSS) matches: a page's filters and its dialog may both have a
// "role" select.
//
// The value is set by one script in the page rather than through a node
// ID: htmx may swap the page in between (a boosted navigation settling),
// and a node ID looked up before the swap is gone after it ("Could not
// find node with given id"). Like chromedp.SetValue, it sends no change
// event.
func (b *tab) selectIn(scope, name, value string) {
	b.t.Helper()
	css := fmt.Sprintf(`%s select[name=%q]`, scope, name)
	browse(b.t, b.ctx, chromedp.WaitVisible(chromedp.CSS(css)))
	set := fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; return s.value; })()`, css, value)
	if got := browseFor(b.t, b.ctx, chromedp.Evaluate[string](set)); got != value {
		b.t.Fatalf("%s select %s = %q after choosing %q (no such option?)", scope, name, got, value)
	}
}

// write types value into the empty textarea named name. (tab.fill empties
// a control with chromedp.Clear first, which fails on an empty textarea:
// "does not have child #text node".)
func (b *tab) write(name, value string) {
	b.t.Helper()
	sel := chromedp.CSS(fmt.Sprintf(`textarea[name=%q]`, name))
	browse(b.t, b.ctx, chromedp.WaitVisible(sel), chromedp.SendKeys(sel, value))
	if got := browseFor(b.t, b.ctx, chromedp.Value(sel)); got != value {
		b.t.Fatalf("the textarea %s holds %q, not %q", name, got, value)
	}
}

// signIn signs email in through the sign-in form and waits for next.
func (b *tab) signIn(email, next string) {
	b.t.Helper()
	b.open("/signin?next=" + url.QueryEscape(next))
	b.fill("email", email)
	b.fill("password", pw)
	b.press("Sign in")
	b.at(next)
}

// lacks fails the test if the page's main shows text, once the page has
// loaded (call it after see or at).
func (b *tab) lacks(text string) {
	b.t.Helper()
	nodes := browseFor(b.t, b.ctx, chromedp.Nodes(fmt.Sprintf(`//main//*[contains(normalize-space(), %q)]`, text), chromedp.AtLeast(0)))
	if len(nodes) > 0 {
		b.t.Fatalf("%s shows %q", b.at("/"), text)
	}
}

// jrnPageFacts is what checkPage reads from the document.
type jrnPageFacts struct {
	H1         []string `json:"h1"`
	Unlabelled []string `json:"unlabelled"`
}

// checkPage checks the page the tab shows for the basics of an accessible
// page: one heading of level 1 at least, and a label (a <label for> or an
// enclosing <label>) for every form control a person can see.
func (b *tab) checkPage() {
	b.t.Helper()
	facts := browseFor(b.t, b.ctx, chromedp.Evaluate[jrnPageFacts](`(() => {
		const hidden = el => el.type === "hidden" || el.closest("[hidden]") !== null;
		return {
			h1: Array.from(document.querySelectorAll("h1"), h => h.textContent.trim()),
			unlabelled: Array.from(document.querySelectorAll("input, select, textarea"))
				.filter(el => !hidden(el) && el.labels.length === 0)
				.map(el => el.outerHTML),
		};
	})()`))
	path := b.at("/")
	if len(facts.H1) == 0 || facts.H1[0] == "" {
		b.t.Errorf("%s has no <h1>", path)
	}
	for _, el := range facts.Unlabelled {
		b.t.Errorf("%s: a form control without a label: %s", path, el)
	}
}

// TestPortalBrowser_invite_join_promote_block_journey_MEM4_MEM5_MEM7: Ada
// signs up and registers a key, which makes her the admin of a new
// business account (MEM-1, MEM-3, KEY-2); she invites Bob in English from
// the users page (MEM-4); Bob opens the mailed link in his own browser and
// joins as a new person, as a regular member who sees no admin actions
// (MEM-5); Ada promotes him to account admin with a note, which the
// account's history keeps (MEM-7, X-1), and blocks him (MEM-8).
func TestPortalBrowser_invite_join_promote_block_journey_MEM4_MEM5_MEM7(t *testing.T) {
	m, smtp := peopleServer(t, sqldbtest.SQLite(t))
	ada := openTab(t, m)

	ada.open("/signup")
	ada.fillSignUp("Ada", "Lovelace", "ada@example.com")
	ada.press("Create account")
	ada.at("/accounts/")
	ada.see("We have sent you a mail")

	key := buyKey(t, m, "journey-members", 10)
	ada.press("Register key")
	ada.fill("key", key)
	ada.press("Register")
	ada.fillCompany()
	ada.pressIn("dialog", "Register")
	ada.at("/subscriptions/")
	ada.see("Your key is registered to your new business account Acme GmbH.")

	// MEM-4: the users page of the new account; Ada is its only member.
	ada.press("Users")
	acc := ada.accountOf()
	users := "/accounts/" + acc + "/users"
	ada.at(users)
	ada.see("Pending invitations")
	ada.see("ada@example.com")
	ada.checkPage()
	ada.shot("users")

	ada.press("Invite users")
	ada.at(users + "/invite")
	ada.see("Each address gets a mail")
	ada.selectIn("dialog", "language", "en")
	ada.write("emails", "bob@example.com")
	ada.checkPage()
	ada.shot("invite-dialog")
	ada.press("Send invitations")
	ada.see("Invitation sent to bob@example.com.")
	ada.see("Pending invitations")
	browse(t, ada.ctx, chromedp.WaitVisible(`//main//table//tr[td[normalize-space()="bob@example.com"]]/td[normalize-space()="en"]`))

	// The invitation arrives over SMTP, in English; Bob opens its link in
	// a browser of his own and joins as a new person.
	link := mailLink(t, smtp, "bob@example.com", "Invitation to Acme GmbH")
	if !strings.HasPrefix(link, "/invitations/accept?") {
		t.Fatalf("the invitation links to %s", link)
	}
	bob := openTab(t, m)
	bob.open(link)
	bob.see("I am new here")
	// The page names the company and the inviter (issue 20).
	bob.see("Ada Lovelace invited you to join the business account Acme GmbH on seatledger.")
	bob.fillSignUp("Bob", "Builder", "bob@example.com") // the first form's: "I am new here"
	bob.checkPage()
	bob.shot("invitation")
	bob.press("Create my account and join")
	bob.at("/accounts/" + acc)
	bob.see("You have joined the account.")

	// MEM-5: a regular member sees the users, but no admin actions.
	bob.press("Users")
	bob.at(users)
	bob.see("Ada Lovelace")
	bob.see("Bob Builder")
	bob.lacks("Invite users")
	bob.lacks("Pending invitations")

	// Back in Ada's browser: Bob's join was another browser's write.
	jrnCaughtUp(t, m)
	ada.open(users)
	ada.see("Bob Builder")
	ada.see("No pending invitation.")
	browse(t, ada.ctx, chromedp.WaitVisible(`//main//table//tr[td[normalize-space()="bob@example.com"]]/td[normalize-space()="Regular member"]`))

	// MEM-7: promoted to account admin, with a note.
	ada.press("Bob Builder")
	ada.at(users + "/")
	ada.see("Save role")
	ada.see("Block Bob Builder")
	ada.checkPage()
	ada.shot("member-dialog")
	ada.selectIn("dialog", "role", "admin")
	ada.write("note", "runs IT now")
	ada.press("Save role")
	ada.see("Bob Builder is now an account admin.")
	browse(t, ada.ctx, chromedp.WaitVisible(`//main//table//tr[td[normalize-space()="bob@example.com"]]/td[normalize-space()="Account admin"]`))
	// the account's history shows who changed Bob's role, from what
	// to what, and the note she gave.
	ada.open("/history/accounts/" + acc)
	browse(t, ada.ctx, chromedp.WaitVisible(`//main//li[.//strong[normalize-space()="Member's role changed"]]//li[contains(., "Member Bob Builder › Role:") and contains(., "Regular member → Account admin")]`))
	ada.see("Note: runs IT now")
	ada.checkPage()

	// MEM-8: blocked; the dialog says so and offers to unblock, Bob is told by mail.
	ada.open(users)
	ada.press("Bob Builder")
	ada.see("Block Bob Builder")
	ada.press("Block Bob Builder")
	ada.see("Bob Builder is blocked")
	browse(t, ada.ctx, chromedp.WaitVisible(`//dialog//dd/span[contains(@class, "blocked")][normalize-space()="blocked"]`))
	ada.see("Unblock Bob Builder")
	ada.shot("member-blocked")
	smtp.WaitFor(t, "bob@example.com", "is blocked", 15*time.Second)
	ada.open(users + "?status=blocked")
	ada.see("bob@example.com")
	ada.lacks("ada@example.com")
}

// TestPortalBrowser_ticket_watcher_reply_journey_TKT1_TKT2_TKT3: Ada, an
// admin of a business account with a subscription and a second admin,
// Cyd, opens a ticket through the New ticket form (TKT-1), adds Cyd as a
// watcher, who is told by mail (TKT-3), and replies with a log file
// attached, which the ticket's page then offers for download (TKT-2).
func TestPortalBrowser_ticket_watcher_reply_journey_TKT1_TKT2_TKT3(t *testing.T) {
	m, smtp := peopleServer(t, sqldbtest.SQLite(t))
	_, adaAPI, _, acc, _ := installationsAccount(t, m, "ras", 10)
	cydID := supJoin(t, m, adaAPI, acc, "cyd", true)
	jrnCaughtUp(t, m)

	ada := openTab(t, m)
	tickets := "/accounts/" + acc + "/tickets"
	ada.signIn("ada@example.com", tickets)
	ada.see("No tickets")

	// TKT-1: the New ticket form.
	ada.press("New ticket")
	ada.at(tickets + "/new")
	ada.see("Tell support what happened")
	ada.selectIn("form", "product_id", "ras")
	ada.selectIn("form", "category", "technical")
	ada.fill("subject", "Farm does not start")
	ada.write("description", "The farm stops after the update.")
	ada.checkPage()
	ada.shot("new-ticket")
	ada.press("Open ticket")
	page := ada.at("/tickets/T-")
	tid := strings.TrimPrefix(page, "/tickets/")
	ada.see("Ticket " + tid + " is open.")
	ada.see("The farm stops after the update.")
	ada.checkPage()
	ada.shot("ticket")

	// TKT-3: Cyd, the other admin, is added on the Watchers tab.
	ada.press("Watchers (0)")
	ada.at(page + "/watchers")
	ada.see("Nobody watches this ticket yet.")
	ada.selectIn("form.filters", "person_id", cydID)
	ada.press("Add watcher")
	ada.see("The watcher is added")
	ada.see("Remove cyd Tester")
	ada.see("Watchers (1)")
	ada.checkPage()
	ada.shot("watchers")
	smtp.WaitFor(t, "cyd@example.com", "You now watch this ticket", 15*time.Second)

	// TKT-2: a reply with a log file attached.
	ada.press("Conversation")
	browse(t, ada.ctx, chromedp.WaitVisible(chromedp.CSS(`#f-attachments`)))
	// A .txt file: Chromium on Linux declares a .log file text/x-log (from
	// shared-mime-info), which the API's attachment check refuses.
	logFile := filepath.Join(t.TempDir(), "farm.txt")
	if err := os.WriteFile(logFile, []byte("12:00 farm stopped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ada.write("body", "Here is the log of the farm.")
	browse(t, ada.ctx, chromedp.SetUploadFiles(chromedp.CSS(`#f-attachments`), []string{logFile}))
	ada.press("Send reply")
	ada.see("Your reply is sent.")
	ada.see("Here is the log of the farm.")
	ada.see("Ada Tester (you)")
	attachment := `//main//ul[contains(@class, "attachments")]//a[normalize-space()="farm.txt"]`
	browse(t, ada.ctx, chromedp.WaitVisible(attachment))
	ada.shot("ticket-reply")
	if got := string(ada.download(func() { browse(t, ada.ctx, chromedp.Click(attachment)) })); got != "12:00 farm stopped\n" {
		t.Errorf("the attachment link downloads %q", got)
	}

	// TKT-4: the ticket in My Tickets.
	ada.press("My Tickets")
	ada.at(tickets)
	ada.see("Farm does not start")
	ada.see(tid)
	ada.checkPage()
	ada.shot("tickets")
}

// TestPortalBrowser_main_forms_work_without_JavaScript: with scripts off,
// each form is a real post whose answer shows the change: sign up, out
// and in (MEM-1), register a key with the business details (KEY-2),
// create a sublicense (KEY-3), invite a member (MEM-4), open a ticket and
// reply (TKT-1, TKT-2). Then every main page opens with an <h1>, labelled
// controls and no console error, and the skip link comes first in the
// keyboard order.
func TestPortalBrowser_main_forms_work_without_JavaScript(t *testing.T) {
	m, smtp := peopleServer(t, sqldbtest.SQLite(t))
	b := openTab(t, m, noJS())

	// MEM-1: sign up, out and in.
	b.open("/signup")
	b.checkPage()
	b.fillSignUp("Ada", "Lovelace", "ada@example.com")
	b.press("Create account")
	b.at("/accounts/")
	b.see("We have sent you a mail")
	b.press("Sign out")
	b.see("You are signed out.")
	b.open("/signin")
	b.checkPage()
	b.fill("email", "ada@example.com")
	b.fill("password", pw)
	b.press("Sign in")
	b.at("/accounts/")
	b.see("No products yet")

	// KEY-2: a key registered from the personal account asks for the business details.
	key := buyKey(t, m, "journey-nojs", 20)
	b.press("Register key")
	b.see("Enter the license key")
	b.checkPage()
	b.fill("key", key)
	b.press("Register")
	b.see("Provide your business details")
	b.checkPage()
	b.fillCompany()
	b.pressIn("dialog", "Register")
	b.see("Your key is registered to your new business account Acme GmbH.")
	sub := b.at("/subscriptions/")

	// KEY-3: a sublicense of 5 of the 20 seats.
	b.press("Create license key")
	b.at(sub + "/keys/new")
	b.see("20 out of 20")
	b.checkPage()
	b.fill("name", "Berlin office")
	b.fill("quota", "5")
	b.pressIn("dialog", "Save")
	b.see("License key Berlin office is created with 5 seats.")
	b.see("15 out of 20 seats are free")

	// MEM-4: an invitation.
	b.press("Users")
	acc := b.accountOf()
	b.see("Pending invitations")
	b.press("Invite users")
	b.see("Each address gets a mail")
	b.checkPage()
	b.selectIn("dialog", "language", "de")
	b.write("emails", "bob@example.com")
	b.press("Send invitations")
	b.see("Invitation sent to bob@example.com.")
	browse(t, b.ctx, chromedp.WaitVisible(`//main//table//tr[td[normalize-space()="bob@example.com"]]/td[normalize-space()="de"]`))
	smtp.WaitFor(t, "bob@example.com", "Einladung", 15*time.Second)

	// TKT-1, TKT-2: a ticket and a reply.
	b.press("Support")
	b.see("My Tickets")
	b.press("New ticket")
	b.see("Tell support what happened")

	// A keyboard user's first Tab lands on the skip link, which then
	// shows on screen.
	browse(t, b.ctx, chromedp.KeyEvent("\t"))
	focused := browseFor(t, b.ctx, chromedp.Evaluate[string](`(() => {
		const el = document.activeElement, r = el.getBoundingClientRect();
		return el.textContent.trim() + " → " + el.getAttribute("href") + (r.left >= 0 && r.width > 0 ? "" : " (off screen)");
	})()`))
	if focused != "Skip to content → #main" {
		t.Errorf("the first Tab on the New ticket page focuses %q, not the skip link", focused)
	}
	b.checkPage()
	b.selectIn("form", "product_id", "ras")
	b.selectIn("form", "category", "licensing")
	b.fill("subject", "Which key for Berlin?")
	b.write("description", "Which key should the Berlin farm use?")
	b.press("Open ticket")
	ticket := b.at("/tickets/T-")
	b.see("is open.")
	b.write("body", "It is the farm in the second building.")
	b.press("Send reply")
	b.see("Your reply is sent.")
	b.see("It is the farm in the second building.")

	// Every main page, once.
	a := "/accounts/" + acc
	for _, path := range []string{
		a, a + "/subscriptions", sub, a + "/farms", a + "/proxy-servers", a + "/users", a + "/profile",
		a + "/tickets", ticket, ticket + "/watchers", a + "/downloads", a + "/mdm", "/me", "/me/security",
		"/history" + sub, // the subscription's history: /history/subscriptions/{id}
	} {
		b.open(path)
		b.at(path)
		b.checkPage()
		if errs := takeConsoleErrors(b.ctx); len(errs) > 0 {
			t.Errorf("%s: %v", path, errs)
		}
	}
}
