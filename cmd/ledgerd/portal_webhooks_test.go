package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"seatledger/infra/sqldb/sqldbtest"
)

// whSecretField is the secret on the page that shows it once.
var whSecretField = regexp.MustCompile(`id="webhook-secret" value="(whsec_[^"]+)"`)

// whEndpointLink is an endpoint's link in the webhooks list.
var whEndpointLink = regexp.MustCompile(`href="(/accounts/[^/]+/webhooks/wh_[0-9a-f-]+)"`)

// Issue 22, the portal without JavaScript: an account admin adds a
// webhook endpoint from the Webhooks page; a wrong URL or event type is
// refused next to its field and creates nothing; the secret is shown on
// the answer page and never again; the endpoint is edited, disabled,
// enabled, its secret rotated (shown once, the overlap told) and deleted
// after a confirmation, each change an event naming the admin. A
// regular member gets the use case's 403 on every page and form of it
// and no menu entry; a person of another account the refusal every
// account page gives; nothing they send is written.
func TestPortalWebhooks_admin_manages_endpoints_members_refused_X1(t *testing.T) {
	start, _ := webhookLedger(t, sqldbtest.SQLite(t))
	m := start()
	_, adaAPI, _, acc, _ := installationsAccount(t, m, "ras", 10)
	recv := newHookReceiver(t)
	base := "/accounts/" + acc + "/webhooks"
	ada := supSignIn(t, m, "ada@example.com", base)
	ada.Want(200, "<h1>Webhooks</h1>", `aria-current="page">Webhooks</a>`, "No endpoint yet.", "Add an endpoint")

	// The form offers the feed's public names, grouped by subject.
	ada.Get(base+"/new").Want(200, "<dialog open", "Add a webhook endpoint", `name="types" value="subscription.renamed"`,
		`<strong>installation</strong>`, `<strong>subscription</strong>`, "Tick none to receive every event")

	// a wrong URL and an unknown type stand next to their fields;
	// nothing is created.
	ada.Post(base, url.Values{"url": {"ftp://hooks.example.com/"}, "types": {"subscription.renamed"}}).
		Want(400, "<dialog open", `id="e-url"`, "https://", `value="ftp://hooks.example.com/"`, `value="subscription.renamed" checked`)
	ada.Post(base, url.Values{"url": {recv.srv.URL}, "types": {"no.such_event"}}).Want(400, `id="e-types"`, "is not an event name of the account feed")
	ada.Get(base).Want(200, "No endpoint yet.")

	// Created: the secret is shown on the answer, once.
	ada.Post(base, url.Values{"url": {recv.srv.URL + "/in"}, "types": {"subscription.renamed", "member.joined"}}).
		Want(201, "Copy this secret now: it will not be shown again.", "Deliveries start with the account")
	found := whSecretField.FindStringSubmatch(ada.HTML)
	if found == nil {
		t.Fatalf("no secret on the answer page:\n%s", ada.HTML)
	}
	secret := found[1]
	ada.Get(base).Want(200, recv.srv.URL+"/in", "<code>member.joined</code>, <code>subscription.renamed</code>", "enabled", "None yet")
	link := whEndpointLink.FindStringSubmatch(ada.HTML)
	if link == nil {
		t.Fatalf("no link to the endpoint:\n%s", ada.HTML)
	}
	hook := link[1]
	ada.Get(hook).Want(200, "Webhook endpoint", "Nothing delivered yet", "Rotate secret…")
	for _, shown := range []string{secret, strings.TrimPrefix(secret, "whsec_")} {
		if strings.Contains(ada.HTML, shown) {
			t.Fatal("the endpoint's page shows its secret again")
		}
	}

	// Edit: a bad URL is refused in the dialog, a good one saved; the
	// types are what is ticked.
	ada.Get(hook+"/edit").Want(200, "<dialog open", `value="`+recv.srv.URL+`/in"`, `value="member.joined" checked`)
	ada.Post(hook, url.Values{"url": {"not a url"}}).Want(400, "<dialog open", `id="e-url"`)
	ada.Post(hook, url.Values{"url": {recv.srv.URL + "/hooks"}, "types": {"subscription.renamed"}}).
		Want(200, "The endpoint is saved", "<code>"+recv.srv.URL+"/hooks</code>")
	if strings.Contains(ada.HTML, "member.joined") {
		t.Error("the untick of member.joined was not saved")
	}

	// Disable and enable (X-1: the admin's events).
	ada.Post(hook+"/disable", nil).Want(200, "The endpoint is disabled", "disabled</span>", "by an admin", ">Enable</button>")
	ada.Post(hook+"/enable", nil).Want(200, "The endpoint is enabled", "enabled</span>", ">Disable</button>")

	// Rotation: confirmed, the new secret shown once with the overlap.
	ada.Get(hook+"/rotate").Want(200, "<dialog open", "Rotate the signing secret?", "For the next 24 hours every delivery carries two signatures")
	ada.Post(hook+"/rotate", nil).Want(200, "The endpoint's new signing secret", "The previous secret keeps signing too for 24 hours")
	rotated := whSecretField.FindStringSubmatch(ada.HTML)
	if rotated == nil || rotated[1] == secret {
		t.Fatalf("no new secret after the rotation:\n%s", ada.HTML)
	}
	ada.Get(hook).Want(200, "Previous secret", "still signs too until")

	// Every change is an event naming Ada; no secret is in the log.
	adaID := adaAPI.must(200, "GET", "/v1/me", nil).str("person_id")
	recs, err := m.Store.ReadStream(t.Context(), "webhooks-"+acc, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, rec := range recs {
		types = append(types, rec.Type)
		if rec.Metadata.Actor.ID != adaID {
			t.Errorf("%s names actor %v, not Ada", rec.Type, rec.Metadata.Actor)
		}
		for _, s := range []string{secret, rotated[1]} {
			if strings.Contains(string(rec.Data), strings.TrimPrefix(s, "whsec_")) {
				t.Errorf("%s holds a secret", rec.Type)
			}
		}
	}
	if want := []string{"webhook.endpoint_created", "webhook.endpoint_updated", "webhook.endpoint_disabled", "webhook.endpoint_enabled",
		"webhook.secret_rotated"}; !slices.Equal(types, want) {
		t.Errorf("the endpoints' stream: %v, want %v", types, want)
	}

	// A regular member: no menu entry, the use case's 403 everywhere, and
	// nothing written.
	supJoin(t, m, adaAPI, acc, "bob", false)
	bob := supSignIn(t, m, "bob@example.com", "/accounts/"+acc+"/profile")
	if strings.Contains(bob.HTML, base+`"`) {
		t.Error("a regular member's menu links the webhooks")
	}
	cleo := signUpPage(t, m, "Cleo", "cleo@example.com")
	head, err := m.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Every page and form of the webhooks, as the portal routes them.
	var routes []string
	err = chi.Walk(m.portal.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/accounts/{accountID}/webhooks") {
			routes = append(routes, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 13 {
		t.Errorf("the webhooks pages have %d routes, this test knew 13: %v", len(routes), routes)
	}
	ids := strings.NewReplacer("{accountID}", acc, "{webhookID}", strings.TrimPrefix(hook, base+"/"), "{deliveryID}", "dl_x")
	for _, route := range routes {
		method, path, _ := strings.Cut(ids.Replace(route), " ")
		for who, p := range map[string]*page{"a regular member": bob, "a person of another account": cleo} {
			want := "Forbidden"
			if p == cleo {
				want = "not an active member of this account"
			}
			if method == http.MethodGet {
				p.Get(path)
			} else {
				p.Get("/accounts/" + acc + "/profile") // a CSRF token of the session
				p.Post(path, url.Values{"url": {"https://evil.example/"}, "types": {"member.joined"}})
			}
			p.Want(403, want)
			if strings.Contains(p.HTML, recv.srv.URL) || strings.Contains(p.HTML, "whsec_") {
				t.Errorf("%s %s shows %s the endpoint or a secret", method, path, who)
			}
		}
	}
	if after, err := m.Store.Head(t.Context()); err != nil || after != head {
		t.Errorf("the refused pages wrote: head %d → %d (%v)", head, after, err)
	}

	// Delete, after the confirmation.
	ada.Get(hook+"/delete").Want(200, "<dialog open", "Delete this endpoint?", "Delete endpoint")
	ada.Post(hook+"/delete", nil).Want(200, "The endpoint is deleted", "No endpoint yet.")
	ada.Get(hook).Want(404)
}

// Issue 22 in Chromium: an admin adds an endpoint in the portal for a
// real receiver (allowed by the test's settings), copies the secret shown
// once, and a renamed subscription arrives signed with it; the endpoint's
// delivery log shows the delivery, Resend sends it again with the same
// webhook-id, and a rotation's new secret signs the next delivery beside
// the previous one (X-1: each by the admin).
func TestPortalBrowser_webhooks_create_deliver_resend_rotate(t *testing.T) {
	start, _ := webhookLedger(t, sqldbtest.SQLite(t))
	m := start()
	_, adaAPI, _, acc, sub := installationsAccount(t, m, "ras", 10)
	recv := newHookReceiver(t)
	jrnCaughtUp(t, m)
	b := openTab(t, m)
	base := "/accounts/" + acc + "/webhooks"
	b.signIn("ada@example.com", "/accounts/"+acc+"/profile")
	b.press("Webhooks")
	b.at(base)
	b.see("No endpoint yet.")
	b.checkPage()
	b.press("Add an endpoint")
	b.see("Add a webhook endpoint")
	b.fill("url", recv.srv.URL+"/in")
	b.tick("types", "subscription.renamed")
	b.checkPage()
	b.shot("webhook-new")
	b.pressIn("dialog", "Add endpoint")
	b.see("Copy this secret now")
	secret := browseFor(t, b.ctx, chromedp.Value(chromedp.CSS("#webhook-secret")))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown is %q", secret)
	}
	b.shot("webhook-secret")
	b.press("Done, back to the webhooks")
	b.see(recv.srv.URL + "/in")
	b.lacks(secret)

	// A delivery arrives at the receiver, signed with the secret shown.
	adaAPI.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Hooked"})
	waitUntil(t, "the first delivery", func() bool { return len(recv.delivered()) == 1 })
	first := recv.requests()[0]
	if !first.signedBy(secret) {
		t.Fatalf("the delivery is not signed with the secret the portal showed: %q", first.signature)
	}

	// The log shows it.
	b.press(recv.srv.URL + "/in")
	hook := b.at(base + "/wh_")
	whReloadUntil(b, hook, first.id)
	b.see("subscription.renamed")
	b.see("204 delivered")
	b.checkPage()
	b.shot("webhook-log")

	// Resend: the same webhook-id again.
	b.press("Resend " + first.id)
	b.see("is queued again")
	waitUntil(t, "the resend", func() bool { return len(recv.delivered()) == 2 })
	if again := recv.requests()[1]; again.id != first.id || !again.signedBy(secret) {
		t.Fatalf("the resend came as %q, want webhook-id %q signed with the secret", again.id, first.id)
	}
	whReloadUntil(b, hook, "(resend)")

	// Rotate: a new secret, shown once; the next delivery carries both.
	b.press("Rotate secret…")
	b.see("Rotate the signing secret?")
	b.pressIn("dialog", "Rotate secret")
	b.see("The previous secret keeps signing too")
	rotated := browseFor(t, b.ctx, chromedp.Value(chromedp.CSS("#webhook-secret")))
	if !strings.HasPrefix(rotated, "whsec_") || rotated == secret {
		t.Fatalf("the rotated secret shown is %q", rotated)
	}
	adaAPI.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Rotated"})
	waitUntil(t, "the delivery after the rotation", func() bool { return len(recv.delivered()) == 3 })
	if last := recv.requests()[2]; !last.signedBy(rotated) || !last.signedBy(secret) {
		t.Fatalf("after the rotation the delivery is not signed with both secrets: %q", last.signature)
	}
	b.press("Done, back to the webhooks")
	b.see("204 delivered")

	// The log pages: one attempt a page, newest first (the worker logs
	// an attempt just after the receiver answered it).
	third := recv.requests()[2].id
	whReloadUntil(b, hook+"?limit=1", third)
	b.lacks(first.id)
	b.press("Older deliveries")
	b.see(first.id)
	b.see("(resend)")
	b.press("Older deliveries")
	b.see(first.id)
	b.lacks("(resend)")
	b.press("Newest deliveries")
	b.see(third)
	b.lacks(first.id)
}

// whReloadUntil reopens path until its main shows text: the delivery log
// is written by the worker, whose position the browser does not know.
func whReloadUntil(b *tab, path, text string) {
	b.t.Helper()
	eventually(b.t, path+" showing "+text, func() bool {
		b.open(path)
		return strings.Contains(browseFor(b.t, b.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`)), text)
	})
}

// readmeVerify is the README's Go verification example (the Webhooks
// section), word for word but for its name: TestWebhooks_README_examples
// checks that the two are the same.
func readmeVerify(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// readmeBlock returns the first fenced block after heading in the README
// that opens with open (```go, say), open left out.
func readmeBlock(t *testing.T, heading, open string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), heading)
	if !ok {
		t.Fatalf("the README has no %q", heading)
	}
	_, block, ok := strings.Cut(section, open)
	if !ok {
		t.Fatalf("no block %q after %q", open, heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// Issue 22: the README's verification examples verify a real delivery. The
// Go function is the README's text (compared here) run on what a real
// receiver got, during a rotation's overlap (two signatures) too; the
// shell lines run as written with openssl on the received body. A wrong
// secret verifies with neither.
func TestWebhooks_README_examples_verify_a_real_delivery(t *testing.T) {
	const heading = "### Webhooks (`/v1/accounts/{id}/webhooks`)"
	goBlock := readmeBlock(t, heading, "```go\n")
	src, err := os.ReadFile("portal_webhooks_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, fn, _ := strings.Cut(string(src), "func readmeVerify(")
	fn, _, _ = strings.Cut(fn, "\n}\n")
	if want := "func verify(" + fn + "\n}\n"; goBlock != want {
		t.Fatalf("the README's Go example is not readmeVerify:\n%s\n---\n%s", goBlock, want)
	}

	start, _ := webhookLedger(t, sqldbtest.SQLite(t))
	m := start()
	_, ada, _, acc, sub := installationsAccount(t, m, "ras", 10)
	recv := newHookReceiver(t)
	hooks := "/v1/accounts/" + acc + "/webhooks"
	created := ada.must(201, "POST", hooks, map[string]any{"url": recv.srv.URL, "types": []string{"subscription.renamed"}})
	secret := created.str("secret")
	ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Verified"})
	waitUntil(t, "a delivery", func() bool { return len(recv.delivered()) == 1 })
	rotated := ada.must(200, "POST", hooks+"/"+created.str("id")+"/rotate-secret", nil).str("secret")
	ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Rotated"})
	waitUntil(t, "a delivery after the rotation", func() bool { return len(recv.delivered()) == 2 })

	sh := "#" + readmeBlock(t, heading, "```sh\n# id, timestamp") // the rest of the comment, and the commands
	wrong := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	for i, r := range recv.requests() {
		h := http.Header{}
		h.Set("webhook-id", r.id)
		h.Set("webhook-timestamp", r.timestamp)
		h.Set("webhook-signature", r.signature)
		secrets := []string{secret}
		if i == 1 {
			secrets = append(secrets, rotated)
		}
		for _, s := range secrets {
			if !readmeVerify(s, h, r.body) {
				t.Errorf("delivery %d: the README's Go example does not verify it with a secret that signs it", i)
			}
			// The shell example, as written, with the request's values.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "body.json"), r.body, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", sh)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "id="+r.id, "timestamp="+r.timestamp, "SECRET="+s)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the README's shell example: %v\n%s", err, out)
			}
			if !slices.Contains(strings.Fields(r.signature), "v1,"+strings.TrimSpace(string(out))) {
				t.Errorf("delivery %d: the shell example prints %q, not one of %q", i, out, r.signature)
			}
		}
		if readmeVerify(wrong, h, r.body) {
			t.Errorf("delivery %d verifies with a wrong secret", i)
		}
	}
}
