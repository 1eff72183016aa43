package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/infra/sqldb/sqldbtest"
)

// The portal's support pages without JavaScript: My Tickets, a new
// ticket, a ticket's conversation, actions, survey and watchers (TKT-1..4),
// the MDM certificate page (MISC-1) and the downloads page (MISC-2), on
// the real server (issue 8).

// supPostMultipart sends a multipart/form-data form, as a browser sends a
// form with enctype="multipart/form-data", with the CSRF token of the last
// page.
func (p *page) supPostMultipart(path string, fields map[string]string, files ...formFile) *page {
	p.t.Helper()
	if _, ok := fields["csrf"]; !ok && p.csrf != "" {
		fields = maps.Clone(fields)
		fields["csrf"] = p.csrf
	}
	body, ctype := multipartBody(fields, files...)
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodPost, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return p.send(req)
}

// supSignIn signs email in through the portal's sign-in form and opens next.
func supSignIn(t *testing.T, m *Main, email, next string) *page {
	t.Helper()
	p := newPage(t, m)
	p.Get("/signin").Want(200, "Sign in")
	p.Post("/signin", url.Values{"email": {email}, "password": {pw}, "next": {next}})
	if p.URL != next {
		t.Fatalf("after sign-in the browser is at %s, not %s:\n%s", p.URL, next, p.HTML)
	}
	// The account was made through the API: the portal shows it once the
	// read model of the person's accounts has it.
	eventually(t, next+" after sign-in", func() bool { return p.Status == 200 || p.Get(next).Status == 200 })
	return p
}

// supEventually reopens path until it shows every text: for what the API's
// other clients (support, the back office) wrote, whose log positions the
// browser does not know.
func supEventually(p *page, path string, texts ...string) *page {
	p.t.Helper()
	eventually(p.t, path+" showing "+strings.Join(texts, ", "), func() bool {
		p.Get(path)
		if p.Status != 200 {
			return false
		}
		for _, s := range texts {
			if !strings.Contains(p.HTML, s) {
				return false
			}
		}
		return true
	})
	return p
}

// supJoin invites name to the account and has them accept; with admin,
// Ada promotes them. It returns their person ID.
func supJoin(t *testing.T, m *Main, ada *client, acc, name string, admin bool) string {
	t.Helper()
	links := linkKeyOf(m)
	inv := ada.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{name + "@example.com"}})
	invID := inv.body["invitation_ids"].([]any)[0].(string)
	c, id := signedUp(t, m, name)
	c.must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": acc, "invitation_id": invID,
		"token": links.Token(account.TokenInvitation, invID)})
	if admin {
		ada.must(200, "PUT", "/v1/accounts/"+acc+"/members/"+id+"/role", map[string]any{"role": "admin"})
	}
	return id
}

var supTicketURL = regexp.MustCompile(`^/tickets/(T-[0-9A-Z-]+)$`)

// A member opens a ticket through the form and finds it in My Tickets,
// filtered by status (TKT-1, TKT-4); the owner adds an admin as watcher
// (TKT-3), replies with a file, reads support's reply, and closes,
// reopens and rates the ticket (TKT-2). Wrong input — a missing
// description, a call in the past, an unknown status filter, a member as
// watcher, a forbidden file type, a rating out of range, closing twice —
// shows the API's problem next to its field with a 4xx and changes
// nothing.
func TestPortalSupport_tickets_watchers_replies_and_survey_TKT1_TKT2_TKT3_TKT4(t *testing.T) {
	m, smtp := peopleServer(t, sqldbtest.SQLite(t))
	office, adaAPI, _, acc, _ := installationsAccount(t, m, "ras", 10)
	supJoin(t, m, adaAPI, acc, "bob", false)
	cydID := supJoin(t, m, adaAPI, acc, "cyd", true)
	bobID := ""
	for _, x := range adaAPI.must(200, "GET", "/v1/accounts/"+acc+"/members", nil).body["members"].([]any) {
		if mem := x.(map[string]any); mem["email"] == "bob@example.com" {
			bobID, _ = mem["person_id"].(string)
		}
	}
	tickets := "/accounts/" + acc + "/tickets"
	ada := supSignIn(t, m, "ada@example.com", tickets)
	ada.Want(200, "My Tickets", `aria-current="page">Support`, "No tickets", "New ticket", "data-autosubmit")

	// TKT-1: the form lists the catalog; a ticket without a category and
	// description is refused next to those fields and opens nothing.
	ada.Get(tickets+"/new").Want(200, "New ticket", "Remote Application Server", "Device Management", `name="description"`)
	ada.Post(tickets+"/new", url.Values{"product_id": {"ras"}, "subject": {"Farm does not start"}, "channel": {"email"}})
	ada.Want(400, `id="e-description"`, "Description is required.", `id="e-category"`, `value="Farm does not start"`)
	ada.Post(tickets+"/new", url.Values{"product_id": {"ras"}, "category": {"technical"}, "description": {"Call me"},
		"channel": {"call"}, "call_at": {"2001-01-01T10:00"}}).Want(400, `id="e-call_at"`, "is not in the future")
	ada.Post(tickets+"/new", url.Values{"product_id": {"ras"}, "category": {"technical"}, "description": {"Call me"},
		"channel": {"call"}, "call_at": {"tomorrow"}}).Want(400, `id="e-call_at"`)
	ada.Get(tickets).Want(200, "No tickets")

	ada.Post(tickets+"/new", url.Values{"product_id": {"ras"}, "category": {"technical"}, "subject": {"Farm does not start"},
		"description": {"The farm stops after the update.\nSee the log."}, "channel": {"email"}})
	match := supTicketURL.FindStringSubmatch(ada.URL)
	if match == nil {
		t.Fatalf("after opening a ticket the browser is at %s:\n%s", ada.URL, ada.HTML)
	}
	tid := match[1]
	page := "/tickets/" + tid
	ada.Want(200, "Ticket "+tid+" is open.", "Farm does not start", "The farm stops after the update.", "Remote Application Server",
		`<span class="badge open">open</span>`, "Close ticket", `enctype="multipart/form-data"`)

	// TKT-4: My Tickets, filtered by status (a GET form).
	ada.Get(tickets).Want(200, `href="/tickets/`+tid+`"`, "Farm does not start")
	ada.Get(tickets+"?status=current").Want(200, tid, `value="current" selected`)
	ada.Get(tickets+"?status=closed").Want(200, "No tickets with this status")
	if strings.Contains(ada.HTML, tid) {
		t.Errorf("the closed filter lists the open ticket %s", tid)
	}
	ada.Get(tickets+"?status=bogus").Want(400, `id="e-status"`)

	// TKT-3: the owner adds an admin as watcher; a mere member is refused.
	watchers := page + "/watchers"
	supEventually(ada, watchers, "cyd@example.com") // cyd's promotion reached the read model
	ada.Want(200, `aria-current="page">Watchers (0)`, "Nobody watches this ticket yet.")
	ada.Post(watchers, url.Values{"person_id": {bobID}}).Want(422, `id="e-person_id"`, "is not an admin")
	ada.Post(watchers, url.Values{"person_id": {""}}).Want(400, `id="e-person_id"`)
	ada.Post(watchers, url.Values{"person_id": {cydID}}).Want(200, "The watcher is added", "cyd Tester", "Remove cyd Tester", "Watchers (1)")

	// Support's reply reaches the owner and the watcher by mail, and the page.
	office.must(201, "POST", "/v1/tickets/"+tid+"/replies", map[string]any{"body": "Please send the log file.", "agent": "sam"})
	smtp.WaitFor(t, "ada@example.com", tid, 15*time.Second)
	smtp.WaitFor(t, "cyd@example.com", tid, 15*time.Second)
	supEventually(ada, page, "Please send the log file.", "Support (sam)")

	// TKT-2: a forged file type is refused next to the file field and
	// nothing is sent; a log file is.
	ada.supPostMultipart(page+"/replies", map[string]string{"body": "Here is a picture."},
		formFile{"attachments", "shot.png", "image/png", "<html><script>alert(1)</script></html>"})
	if ada.Status < 400 || ada.Status >= 500 {
		t.Fatalf("a forged attachment: %d", ada.Status)
	}
	ada.Want(ada.Status, `id="e-attachments"`, "shot.png", `>Here is a picture.</textarea>`)
	ada.Get(page).Want(200)
	if strings.Contains(ada.HTML, `<p class="ticket-text">Here is a picture.`) {
		t.Error("the refused reply was sent")
	}
	// A log of 3 MB: more than the portal keeps in memory of a form, so
	// it waits in a temporary file and is streamed on to the API.
	farmLog := strings.Repeat("12:00 farm stopped\n", 3<<20/19)
	ada.supPostMultipart(page+"/replies", map[string]string{"body": "Here it is."},
		formFile{"attachments", "farm.log", "text/plain", farmLog})
	ada.Want(200, "Your reply is sent.", "Here it is.", "farm.log", "Ada Tester (you)")
	link := regexp.MustCompile(`href="(/v1/tickets/` + tid + `/attachments/[^"]+)" hx-boost="false"`).FindStringSubmatch(ada.HTML)
	if link == nil {
		t.Fatalf("no attachment link on the page:\n%s", ada.HTML)
	}
	resp, err := ada.http.Get(ada.base + link[1])
	if err != nil {
		t.Fatal(err)
	}
	file, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(file) != farmLog {
		t.Errorf("the attachment link answered %d, %d bytes of %d", resp.StatusCode, len(file), len(farmLog))
	}

	// TKT-2: resolved by support → survey (once, 1 to 5), reopen, close.
	office.must(200, "PUT", "/v1/tickets/"+tid+"/status", map[string]any{"status": "resolved"})
	supEventually(ada, page, "Reopen ticket", "How did we do?")
	ada.Post(page+"/survey", url.Values{"rating": {"9"}, "feedback": {"Great"}}).Want(400, `id="e-rating"`, "rating must be from 1 to 5", ">Great</textarea>")
	ada.Post(page+"/survey", url.Values{"rating": {""}}).Want(400, `id="e-rating"`)
	ada.Post(page+"/survey", url.Values{"rating": {"5"}, "feedback": {"Quick and kind."}}).Want(200, "Thank you for your feedback.", "5 of 5", "Quick and kind.")
	if strings.Contains(ada.HTML, "How did we do?") {
		t.Error("the survey is offered again after it was sent")
	}
	ada.Post(page+"/reopen", nil).Want(200, "The ticket is open again.", `<span class="badge open">open</span>`, "Close ticket")
	ada.Post(page+"/close", nil).Want(200, "The ticket is closed.", `<span class="badge closed">closed</span>`, "This ticket is closed.")
	if strings.Contains(ada.HTML, `action="/tickets/`+tid+`/replies"`) {
		t.Error("a closed ticket offers the reply form")
	}
	ada.Post(page+"/close", nil).Want(409, "closed already")
	ada.Get(tickets+"?status=closed").Want(200, tid)
	ada.Get(tickets + "?status=current").Want(200)
	if strings.Contains(ada.HTML, tid) {
		t.Errorf("the current filter lists the closed ticket %s", tid)
	}

	// TKT-3: the watcher is removed by the owner; an admin who is not the
	// owner sees the watchers but cannot change them.
	ada.Post(watchers+"/"+cydID+"/remove", nil).Want(200, "The watcher is removed.", "Watchers (0)")
	cyd := supSignIn(t, m, "cyd@example.com", page)
	cyd.Want(200, "Farm does not start")
	cyd.Get(watchers).Want(200, "Only the ticket's owner")
	cyd.Post(watchers, url.Values{"person_id": {cydID}}).Want(403)
	bob := supSignIn(t, m, "bob@example.com", tickets)
	bob.Want(200, "No tickets")
	bob.Get(page).Want(403)
}

// An admin of an account with a managed-computers subscription uploads a
// CSR (a file or pasted PEM) and gets the signed certificate, shown and
// offered as a download; the certificates issued are listed. Garbage is
// refused next to the field, and an account without such a subscription
// gets the API's no-entitlement problem (MISC-1).
func TestPortalSupport_MDM_certificate_MISC1(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	_, adaAPI, _, acc, _ := installationsAccount(t, m, "ras-mdm", 20)
	mdm := "/accounts/" + acc + "/mdm"
	ada := supSignIn(t, m, "ada@example.com", mdm)
	// The form waits for the key registered through the API to reach the
	// read model the entitlement is read from.
	supEventually(ada, mdm, `enctype="multipart/form-data"`).Want(200, "MDM certificate", `aria-current="page">MDM`, "No certificate has been issued")

	ada.supPostMultipart(mdm, map[string]string{"csr": ""}, formFile{"csr_file", "request.csr", "application/octet-stream", "hello"})
	ada.Want(400, `id="e-csr"`, `aria-invalid="true"`)
	ada.Post(mdm, url.Values{"csr": {"-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n"}}).Want(400, `id="e-csr"`, "garbage")
	ada.Get(mdm).Want(200, "No certificate has been issued")

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ada.supPostMultipart(mdm, map[string]string{"csr": ""}, formFile{"csr_file", "request.csr", "application/pkcs10", csrPEM(t, key)})
	ada.Want(200, "Your certificate", "-----BEGIN CERTIFICATE-----", `download="mdm-`, `hx-boost="false"`, "href=\"data:application/x-pem-file;base64,",
		"CN=mdm.acme.example", "by you")
	ada.Post(mdm, url.Values{"csr": {csrPEM(t, key)}}).Want(200, "Your certificate")
	if n := strings.Count(ada.HTML, "CN=mdm.acme.example"); n != 2 {
		t.Errorf("the list shows %d certificates, want 2", n)
	}

	// An account without a managed-computers subscription is refused,
	// and its page offers no form, saying why (issue 20).
	other := adaAPI.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Ada Ltd", "country": "GB", "zip": "1", "phone": "1"}}).str("account_id")
	supEventually(ada, "/accounts/"+other+"/mdm", "No certificate has been issued").Want(200, "No managed-computers subscription",
		`href="/accounts/`+other+`/register-key"`)
	if strings.Contains(ada.HTML, `enctype="multipart/form-data"`) {
		t.Error("MISC-1: the MDM form is offered to an account without a managed-computers subscription")
	}
	ada.Post("/accounts/"+other+"/mdm", url.Values{"csr": {csrPEM(t, key)}}).Want(403, "No entitling subscription")
	ada.Get("/accounts/"+other+"/mdm").Want(200, "No certificate has been issued")

	// A regular member sees the certificates but no form: admins request
	// them (MISC-1).
	supJoin(t, m, adaAPI, acc, "bob", false)
	bob := supSignIn(t, m, "bob@example.com", mdm)
	bob.Want(200, "Only admins request certificates", "CN=mdm.acme.example")
	if strings.Contains(bob.HTML, `enctype="multipart/form-data"`) {
		t.Error("MISC-1: the MDM form is offered to a regular member")
	}
}

// The downloads page lists the products of the account's subscriptions,
// each with a version selector (newest first, the newest selected) and
// that version's files; the selector picks another version, an unknown
// version is refused next to it, and a product without a subscription is
// explained with the API's no-entitlement problem (MISC-2).
func TestPortalSupport_downloads_version_selector_MISC2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office, _, _, acc, _ := installationsAccount(t, m, "ras-mdm", 20)
	for _, v := range []string{"2.1", "2.10", "2.2"} {
		office.must(200, "PUT", "/v1/products/ras-mdm/releases/"+v, map[string]any{"notes": "Release " + v, "files": []any{
			map[string]any{"name": "mdm-" + v + ".pkg", "kind": "installer", "size": 2 << 20, "sha256": strings.Repeat("ab", 32), "url": "https://downloads.example/mdm-" + v + ".pkg"},
			map[string]any{"name": "guide-" + v + ".pdf", "kind": "document", "size": 1234, "sha256": strings.Repeat("cd", 32), "url": "https://downloads.example/guide-" + v + ".pdf"},
		}})
	}
	office.must(200, "PUT", "/v1/products/ras/releases/19.0", map[string]any{"notes": "RAS", "files": []any{
		map[string]any{"name": "ras.msi", "kind": "installer", "size": 1, "sha256": strings.Repeat("ef", 32), "url": "https://downloads.example/ras.msi"}}})
	downloads := "/accounts/" + acc + "/downloads"
	ada := supSignIn(t, m, "ada@example.com", "/accounts/"+acc)
	supEventually(ada, downloads, "Device Management", `value="2.1"`)
	ada.Want(200, `aria-current="page">Downloads`, `value="2.10" selected`, "mdm-2.10.pkg", "guide-2.10.pdf", "Release 2.10", "2.0 MB",
		`href="https://downloads.example/mdm-2.10.pkg" hx-boost="false"`, `name="product" value="ras-mdm"`, "data-autosubmit")
	if strings.Contains(ada.HTML, "ras.msi") || strings.Contains(ada.HTML, "Remote Application Server") {
		t.Error("the page lists a product the account has no subscription of")
	}
	if i, j := strings.Index(ada.HTML, `value="2.10"`), strings.Index(ada.HTML, `value="2.2"`); i < 0 || j < 0 || i > j {
		t.Error("the versions are not newest first")
	}

	ada.Get(downloads+"?product=ras-mdm&version=2.2").Want(200, `value="2.2" selected`, "mdm-2.2.pkg", "Release 2.2")
	if strings.Contains(ada.HTML, "mdm-2.10.pkg") {
		t.Error("the selector still shows the newest version's files")
	}
	ada.Get(downloads+"?product=ras-mdm&version=9.9").Want(404, `id="e-version-ras-mdm"`, "no version 9.9")
	ada.Get(downloads+"?product=ras").Want(403, "No downloads of ras", "active subscription", "Device Management")
}
