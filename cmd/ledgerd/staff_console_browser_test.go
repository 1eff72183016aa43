package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"seatledger/infra/sqldb/sqldbtest"
)

// staffSignIn signs s in to the staff console through its form in the
// tab, with a code of their authenticator, and waits for the console.
func (b *tab) staffSignIn(m *Main, s enrolled) {
	b.t.Helper()
	b.open("/staff/sign-in")
	b.fill("email", s.email)
	b.fill("password", staffPassword)
	b.fill("code", totpCode(b.t, m, s.totpSecret))
	b.press("Sign in")
	b.at("/staff")
	b.see("Signed in as")
}

// The staff console in a real Chromium (issue 23, TKT-2, ACT-3, X-1): a
// support person signs in with password and authenticator code, finds the
// customer's ticket in the queue, takes it on and answers it with a file;
// the customer, in their own browser, sees the answer signed with the
// support person's name, and the mail says it. The owner finds the
// account by its company, turns offline activation on with a reason, and
// the account's history shows the reason and the owner's name.
func TestStaffConsoleBrowser_support_answers_owner_switches_offline_TKT2_ACT3_X1(t *testing.T) {
	w := newConsoleWorld(t, sqldbtest.SQLite(t))
	m, tk := w.m, w.ticket

	sue := openTab(t, m)
	sue.staffSignIn(m, w.support)
	sue.press("Ticket queue")
	sue.at("/staff/tickets")
	sue.see("Licence server stopped")
	sue.checkPage()
	sue.fill("waiting", "0")
	sue.press("Show")
	sue.at("/staff/tickets?")
	sue.see(tk)
	sue.shot("staff-queue")
	sue.press(tk)
	sue.at("/staff/tickets/" + tk)
	sue.see("It stopped this morning.")
	sue.press("Assign to me")
	sue.see("The ticket is assigned to you.")
	browse(t, sue.ctx, chromedp.WaitVisible(`//dd[@id="assignee"][normalize-space()="Staff support"]`))

	logFile := filepath.Join(t.TempDir(), "server.txt")
	if err := os.WriteFile(logFile, []byte("license check failed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sue.write("body", "Restart the service, please; the log shows why.")
	browse(t, sue.ctx, chromedp.SetUploadFiles(chromedp.CSS(`#f-attachments`), []string{logFile}))
	sue.press("Send reply")
	sue.see("Your reply is sent")
	sue.see("Support (Staff support)")
	browse(t, sue.ctx, chromedp.WaitVisible(`//main//ul[contains(@class, "attachments")]//a[normalize-space()="server.txt"]`))
	sue.checkPage()
	sue.shot("staff-ticket")

	// The customer, in their own browser, and by mail.
	bob := openTab(t, m)
	bob.signIn("bob@example.com", "/tickets/"+tk)
	bob.see("Restart the service, please")
	bob.see("Support (Staff support)")
	bob.shot("customer-ticket-answered")
	msg := w.smtp.WaitFor(t, "bob@example.com", "Support replied", 15*time.Second)
	if !strings.Contains(msg.Body, "Staff support of support replied") {
		t.Errorf("the mail does not name the support person:\n%s", msg.Body)
	}

	// The owner turns offline activation on, with a reason.
	ann := openTab(t, m)
	ann.staffSignIn(m, w.owner)
	ann.press("Accounts")
	ann.at("/staff/accounts")
	ann.fill("q", "Maschinen")
	ann.press("Find")
	ann.see("Bob Maschinen AG")
	ann.press("Bob Maschinen AG")
	ann.at("/staff/accounts/" + w.acc)
	ann.see("Offline activation (request and answer files carried by hand) is off")
	ann.write("reason", "Air-gapped plant, ticket "+tk)
	ann.press("Turn offline activation on")
	ann.see("Offline activation is on")
	ann.see("Reason: Air-gapped plant, ticket " + tk)
	ann.see("by Staff owner (owner)")
	ann.checkPage()
	ann.shot("staff-account-offline")
}
