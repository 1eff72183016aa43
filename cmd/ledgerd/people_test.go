package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"seatledger/domain/person"
	"seatledger/infra/argon2id"
	"seatledger/infra/httpapi"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/mail/mailtest"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// cheap keeps the end-to-end tests quick; ledgerd uses argon2id.Default.
var cheap = argon2id.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1}

// peopleServer boots ledgerd on engine's fresh database, mailing through
// a real SMTP server started in the test; extra environment entries
// override the test's.
func peopleServer(t testing.TB, target sqldb.Target, extra ...string) (*Main, *mailtest.Server) {
	t.Helper()
	return peopleServerWith(t, target, nil, extra...)
}

// peopleServerWith is peopleServer with configure run on the Main before
// it starts (nil: nothing).
func peopleServerWith(t testing.TB, target sqldb.Target, configure func(*Main), extra ...string) (*Main, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t, "ledger", "smtp-secret")
	env := testEnv(t, append([]string{"LEDGER_DATABASE_URL", target.DSN, "LEDGER_SMTP_URL", smtp.URL("ledger", "smtp-secret"),
		"LEDGER_PUBLIC_URL", "http://portal.example"}, extra...)...)
	logs := &syncBuffer{}
	m := NewMain()
	m.Getenv, m.LogOutput, m.PasswordParams = env, logs, &cheap
	validateExchanges(t, m)
	if configure != nil {
		configure(m)
	}
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		m.Close()
		if strings.Contains(logs.String(), "smtp-secret") {
			t.Error("the SMTP password reached the log")
		}
	})
	return m, smtp
}

// linkKeyOf is the key the server derives its emailed links' tokens from,
// so that a test can build a link the mail would carry.
func linkKeyOf(m *Main) secret.Key { return m.people.linkKey }

// verifyEmail verifies person id's address as its mailed link would
// (MEM-4: only a verified address accepts an invitation).
func verifyEmail(t *testing.T, m *Main, id string) {
	t.Helper()
	newClient(t, m).must(200, "POST", "/v1/email/verify", map[string]any{"person_id": id,
		"token": linkKeyOf(m).Token(person.TokenVerifyEmail, id)})
}

// client is a browser (cookie jar) or a script (bearer token).
type client struct {
	t      testing.TB
	base   string
	http   *http.Client
	bearer string
	header http.Header // sent with every request
	minPos uint64      // the last position written, sent as X-Ledger-Min-Position
	// allow5xx is a server error status the test expects (a read of a
	// stopped read model answers 503); any other one fails the test.
	allow5xx int
}

func newClient(t testing.TB, m *Main) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: "http://" + m.Addr(), http: &http.Client{Jar: jar, Timeout: 20 * time.Second}, header: http.Header{}}
}

// reply is a response: status, headers and the JSON body decoded.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) str(key string) string { s, _ := r.body[key].(string); return s }

// problemType returns the slug of a problem's type.
func (r reply) problemType() string {
	return strings.TrimPrefix(r.str("type"), httpapi.ProblemTypeBase)
}

func (c *client) do(method, path string, body any) reply {
	c.t.Helper()
	return c.send(c.request(method, path, body))
}

// doInvalid is do for a request that bad-input tests send invalid on
// purpose: the check against the OpenAPI document validates its answer,
// not the request.
func (c *client) doInvalid(method, path string, body any) reply {
	c.t.Helper()
	req := c.request(method, path, body)
	openapitest.MarkInvalid(req.Header, "bad input on purpose")
	return c.send(req)
}

// request is the request do sends: body as JSON, or a string as it is.
func (c *client) request(method, path string, body any) *http.Request {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// send sends req as this client: its headers, its token, the last
// position it wrote (on reads); it keeps the position the answer names.
func (c *client) send(req *http.Request) reply {
	c.t.Helper()
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if req.Method == http.MethodGet && c.minPos > 0 {
		req.Header.Set("X-Ledger-Min-Position", strconv.FormatUint(c.minPos, 10))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	if p, err := strconv.ParseUint(resp.Header.Get("X-Ledger-Position"), 10, 64); err == nil && p > c.minPos {
		c.minPos = p
	}
	if resp.StatusCode >= 500 && resp.StatusCode != c.allow5xx {
		c.t.Errorf("%s %s = %d: %s", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return r
}

// must does the request and fails the test unless it answers want.
//
// A wanted 400 says the request is bad input on purpose: the check
// against the OpenAPI document validates its answer, not the request.
func (c *client) must(want int, method, path string, body any) reply {
	c.t.Helper()
	send := c.do
	if want == http.StatusBadRequest {
		send = c.doInvalid
	}
	r := send(method, path, body)
	if r.status != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

const pw = "correct horse battery"

func signUpBody(first, email string) map[string]any {
	return map[string]any{"first_name": first, "last_name": "Tester", "email": email, "password": pw, "accept_terms": true}
}

// linkQuery returns the query of the portal link in a mail.
func linkQuery(t *testing.T, m mailtest.Message) url.Values {
	t.Helper()
	link := m.Link("http://portal.example/")
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("no portal link in %q:\n%s", m.Subject, m.Body)
	}
	return u.Query()
}

// The people flows end to end through the HTTP API of the real server,
// on SQLite and PostgreSQL, with mail over a real SMTP server (rules
// MEM-1..5, MEM-7..9, X-5).
func TestPeople_end_to_end_MEM1_MEM2_MEM3_MEM4_MEM5_MEM7_MEM8_MEM9(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		const wait = 10 * time.Second

		// MEM-1: sign up, verify by the mailed link, sign in.
		ada := newClient(t, m)
		adaID := ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "Ada@Example.com")).str("person_id")
		verify := linkQuery(t, smtp.WaitFor(t, "ada@example.com", "", wait))
		if verify.Get("person") != adaID || verify.Get("token") == "" {
			t.Fatalf("verification link query %v", verify)
		}
		ada.must(400, "POST", "/v1/email/verify", map[string]any{"person_id": adaID, "token": "forged"})
		ada.must(200, "POST", "/v1/email/verify", map[string]any{"person_id": adaID, "token": verify.Get("token")})
		signIn := ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw, "keep_signed_in": true})
		cookie := signIn.header.Get("Set-Cookie")
		for _, want := range []string{httpapi.SessionCookie + "=", "HttpOnly", "SameSite=Lax", "Max-Age="} {
			if !strings.Contains(cookie, want) {
				t.Errorf("session cookie %q lacks %s", cookie, want)
			}
		}
		if me := ada.must(200, "GET", "/v1/me", nil); me.body["email_verified"] != true || me.str("email") != "ada@example.com" {
			t.Fatalf("me = %s", me.raw)
		}

		// MEM-3: a business account with a support code; MEM-2: listed beside the personal account.
		company := map[string]any{"name": "Acme GmbH", "country": "de", "zip": "8200", "phone": "+41 52 672 20 30"}
		acc := ada.must(201, "POST", "/v1/accounts", map[string]any{"company": company}).str("account_id")
		profile := ada.must(200, "GET", "/v1/accounts/"+acc, nil)
		if profile.str("support_code") == "" || profile.str("my_role") != "admin" || profile.str("member_since") == "" {
			t.Fatalf("profile = %s", profile.raw)
		}
		accounts := ada.must(200, "GET", "/v1/me/accounts", nil).body["accounts"].([]any)
		if len(accounts) != 2 || accounts[0].(map[string]any)["kind"] != "personal" || accounts[1].(map[string]any)["account_id"] != acc {
			t.Fatalf("accounts = %v", accounts)
		}

		// MEM-4: invite an existing person and a new one, in German.
		bob := newClient(t, m)
		bobID := bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com")).str("person_id")
		bobVerify := linkQuery(t, smtp.WaitFor(t, "bob@example.com", "", wait))
		bob.must(200, "POST", "/v1/email/verify", map[string]any{"person_id": bobID, "token": bobVerify.Get("token")})
		inv := ada.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"bob@example.com", "cyd@example.com"}, "language": "de"})
		bobMail := smtp.WaitFor(t, "bob@example.com", "Einladung", wait)
		if !strings.Contains(bobMail.Body, "Acme GmbH") {
			t.Errorf("the invitation does not name the company:\n%s", bobMail.Body)
		}
		q := linkQuery(t, bobMail)
		join := map[string]any{"account_id": q.Get("account"), "invitation_id": q.Get("invitation"), "token": q.Get("token"), "email": "bob@example.com", "password": pw}
		bob.must(200, "POST", "/v1/invitations/accept", join)
		bob.must(200, "POST", "/v1/session", map[string]any{"email": "bob@example.com", "password": pw})
		if r := bob.do("POST", "/v1/invitations/accept", join); r.status != 410 || r.problemType() != "link-used" {
			t.Fatalf("the link twice = %d %s", r.status, r.raw)
		}
		q = linkQuery(t, smtp.WaitFor(t, "cyd@example.com", "Einladung", wait))
		cyd := newClient(t, m)
		// rules MEM-4, X-7: the new person's address is the invited one; a
		// request naming another is refused, not silently corrected.
		other := newClient(t, m).do("POST", "/v1/invitations/accept", map[string]any{"account_id": acc, "invitation_id": q.Get("invitation"),
			"token": q.Get("token"), "new_person": signUpBody("Cyd", "mallory@example.com")})
		if other.status != 400 || !strings.Contains(other.raw, `"name":"new_person.email"`) {
			t.Fatalf("accepting with another address: %d %s", other.status, other.raw)
		}
		cydBody := signUpBody("Cyd", "ignored@example.com")
		delete(cydBody, "email")
		cydID := cyd.must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": acc, "invitation_id": q.Get("invitation"), "token": q.Get("token"),
			"new_person": cydBody}).str("person_id")
		cyd.must(200, "POST", "/v1/session", map[string]any{"email": "cyd@example.com", "password": pw})
		if len(inv.body["invitation_ids"].([]any)) != 2 {
			t.Fatalf("invite = %s", inv.raw)
		}

		// Members list: search, role and status filters.
		ada.minPos = max(ada.minPos, bob.minPos, cyd.minPos)
		members := func(query string) []any {
			return ada.must(200, "GET", "/v1/accounts/"+acc+"/members"+query, nil).body["members"].([]any)
		}
		if got := members(""); len(got) != 3 {
			t.Fatalf("members = %v", got)
		}
		if got := members("?search=BOB"); len(got) != 1 || got[0].(map[string]any)["person_id"] != bobID {
			t.Fatalf("search bob = %v", got)
		}
		if got := members("?role=admin"); len(got) != 1 {
			t.Fatalf("admins = %v", got)
		}

		// MEM-7: a promotion with a note takes effect on the next request.
		bob.must(403, "PUT", "/v1/accounts/"+acc+"/profile", company)
		ada.must(200, "PUT", "/v1/accounts/"+acc+"/members/"+bobID+"/role", map[string]any{"role": "admin", "note": "runs IT now"})
		company["street"] = "Hauptstrasse 1"
		bob.must(200, "PUT", "/v1/accounts/"+acc+"/profile", company)

		// MEM-8: a blocked member loses access at once and is told by mail, in the invitation's language.
		ada.must(200, "POST", "/v1/accounts/"+acc+"/members/"+cydID+"/block", nil)
		smtp.WaitFor(t, "cyd@example.com", "gesperrt", wait)
		if r := cyd.do("GET", "/v1/accounts/"+acc, nil); r.status != 403 || strings.Contains(r.raw, "Acme") {
			t.Fatalf("blocked member reads the account: %d %s", r.status, r.raw)
		}
		wrong := newClient(t, m).do("POST", "/v1/session", map[string]any{"email": "cyd@example.com", "password": "wrong password!!", "account_id": acc})
		blocked := newClient(t, m).do("POST", "/v1/session", map[string]any{"email": "cyd@example.com", "password": pw, "account_id": acc})
		if blocked.status != 401 || wrong.status != 401 || blocked.str("detail") != wrong.str("detail") || blocked.problemType() != "bad-credentials" {
			t.Fatalf("signing in to a blocked membership answers differently from a wrong password:\n%s\n%s", blocked.raw, wrong.raw)
		}
		if got := members("?status=blocked"); len(got) != 1 {
			t.Fatalf("blocked = %v", got)
		}
		ada.must(200, "DELETE", "/v1/accounts/"+acc+"/members/"+cydID, nil)
		smtp.WaitFor(t, "cyd@example.com", "entfernt", wait)

		// MEM-9: the last admin cannot leave; with another admin, they can.
		bob.must(200, "PUT", "/v1/accounts/"+acc+"/members/"+adaID+"/role", map[string]any{"role": "member"})
		if r := bob.do("POST", "/v1/accounts/"+acc+"/leave", nil); r.status != 409 || r.problemType() != "last-admin" {
			t.Fatalf("last admin leaves: %d %s", r.status, r.raw)
		}
		ada.must(200, "POST", "/v1/accounts/"+acc+"/leave", nil)
		ada.must(403, "GET", "/v1/accounts/"+acc, nil)

		// MEM-1: forgotten password, by a single-use link.
		anon := newClient(t, m)
		anon.must(202, "POST", "/v1/password/forgot", map[string]any{"email": "nobody@example.com"})
		anon.must(202, "POST", "/v1/password/forgot", map[string]any{"email": "ada@example.com"})
		reset := linkQuery(t, smtp.WaitFor(t, "ada@example.com", "password", wait))
		newPW := map[string]any{"person_id": reset.Get("person"), "token": reset.Get("token"), "password": "tangerine vault orbit"}
		anon.must(200, "POST", "/v1/password/reset", newPW)
		if r := anon.do("POST", "/v1/password/reset", newPW); r.problemType() != "invalid-link" {
			t.Fatalf("the reset link twice: %s", r.raw)
		}
		ada.must(401, "GET", "/v1/me", nil) // the reset ended every session
		anon.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": "tangerine vault orbit"})

		// Personal API tokens: bearer, revocable.
		tok := bob.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "ci"})
		script := newClient(t, m)
		script.bearer = tok.str("token")
		script.must(200, "GET", "/v1/me", nil)
		bob.must(200, "DELETE", "/v1/me/tokens/"+tok.str("token_id"), nil)
		script.must(401, "GET", "/v1/me", nil)

		// CSRF: a cross-site unsafe request with the session cookie is refused.
		bob.header.Set("Sec-Fetch-Site", "cross-site")
		bob.header.Set("Origin", "https://evil.example")
		if r := bob.do("PUT", "/v1/me", map[string]any{"first_name": "Mallory", "last_name": "X"}); r.status != 403 || r.problemType() != "cross-origin-request" {
			t.Fatalf("cross-site PUT = %d %s", r.status, r.raw)
		}
		bob.header = http.Header{}
		if me := bob.must(200, "GET", "/v1/me", nil); me.str("first_name") != "Bob" {
			t.Fatalf("the refused request changed the name: %s", me.raw)
		}
	})
}

// MEM-4: an invitation is for its address. A signed-in person with another
// address who got hold of the link cannot join with it, nor can the
// owner of the address before verifying it, nor anybody signing in with
// another address's password; the owner joins once verified, and a new
// person signs up with the invited address whatever they type.
func TestInvitation_joins_only_the_owner_of_the_invited_verified_address_MEM4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		const wait = 10 * time.Second
		ada := newClient(t, m)
		ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
		acc := ada.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Acme GmbH", "country": "de",
			"zip": "8200", "phone": "+41 52 672 20 30"}}).str("account_id")

		// Eve, verified, holds a link mailed to dan@example.com.
		eve := newClient(t, m)
		eveID := eve.must(201, "POST", "/v1/signup", signUpBody("Eve", "eve@example.com")).str("person_id")
		eveVerify := linkQuery(t, smtp.WaitFor(t, "eve@example.com", "", wait))
		eve.must(200, "POST", "/v1/email/verify", map[string]any{"person_id": eveID, "token": eveVerify.Get("token")})
		eve.must(200, "POST", "/v1/session", map[string]any{"email": "eve@example.com", "password": pw})
		dan := newClient(t, m)
		danID := dan.must(201, "POST", "/v1/signup", signUpBody("Dan", "dan@example.com")).str("person_id")
		danVerify := linkQuery(t, smtp.WaitFor(t, "dan@example.com", "", wait))
		ada.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"dan@example.com", "fay@example.com"}, "language": "en"})
		q := linkQuery(t, smtp.WaitFor(t, "dan@example.com", "Invitation", wait))
		link := map[string]any{"account_id": acc, "invitation_id": q.Get("invitation"), "token": q.Get("token")}

		for _, c := range []struct {
			name   string
			client *client
			body   map[string]any
		}{
			{"signed in as another person", eve, link},
			{"with another person's email and password", newClient(t, m), withFields(link, "email", "eve@example.com", "password", pw)},
			{"by the owner before verifying the address", newClient(t, m), withFields(link, "email", "dan@example.com", "password", pw)},
		} {
			if r := c.client.do("POST", "/v1/invitations/accept", c.body); r.status != 403 || r.problemType() != "invitation-address" {
				t.Fatalf("%s: accept = %d %s, want 403 invitation-address", c.name, r.status, r.raw)
			}
		}
		if r := eve.do("GET", "/v1/accounts/"+acc, nil); r.status != 403 {
			t.Fatalf("eve reads the account after the refused joins: %d %s", r.status, r.raw)
		}

		// Verified, Dan joins with the same link: the refusals used nothing up.
		dan.must(200, "POST", "/v1/email/verify", map[string]any{"person_id": danID, "token": danVerify.Get("token")})
		dan.must(200, "POST", "/v1/invitations/accept", withFields(link, "email", "Dan@Example.com", "password", pw))
		dan.must(200, "POST", "/v1/session", map[string]any{"email": "dan@example.com", "password": pw})
		dan.must(200, "GET", "/v1/accounts/"+acc, nil)

		// A new person signs up with the invited address: one typed that is
		// another is refused, not silently replaced (rule X-7), and left
		// out, the invited one is taken.
		q = linkQuery(t, smtp.WaitFor(t, "fay@example.com", "Invitation", wait))
		fayBody := signUpBody("Fay", "mallory@example.com")
		fay := newClient(t, m)
		accept := map[string]any{"account_id": acc, "invitation_id": q.Get("invitation"), "token": q.Get("token"), "new_person": fayBody}
		if r := fay.do("POST", "/v1/invitations/accept", accept); r.status != 400 || !strings.Contains(r.raw, `"name":"new_person.email"`) {
			t.Fatalf("a new person typing another address: %d %s", r.status, r.raw)
		}
		delete(fayBody, "email")
		fayID := fay.must(200, "POST", "/v1/invitations/accept", accept).str("person_id")
		fay.must(200, "POST", "/v1/session", map[string]any{"email": "fay@example.com", "password": pw})
		if me := fay.must(200, "GET", "/v1/me", nil); me.str("person_id") != fayID || me.str("email") != "fay@example.com" || me.body["email_verified"] != true {
			t.Fatalf("the invited new person is %s", me.raw)
		}
		if r := newClient(t, m).do("POST", "/v1/session", map[string]any{"email": "mallory@example.com", "password": pw}); r.status != 401 {
			t.Fatalf("the typed address got an account: %d %s", r.status, r.raw)
		}
	})
}

// MEM-1: a password reset ends every session and revokes every personal
// API token of the person, since a reset usually follows a compromise;
// the mail and the portal say so. Another person's token is untouched.
func TestPasswordReset_revokes_API_tokens_and_ends_sessions_MEM1(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		ada, bob := newClient(t, m), newClient(t, m)
		ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com"))
		ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
		bob.must(200, "POST", "/v1/session", map[string]any{"email": "bob@example.com", "password": pw})
		scripts := []*client{newClient(t, m), newClient(t, m)}
		for i, s := range scripts {
			s.bearer = ada.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "ci " + strconv.Itoa(i)}).str("token")
			s.must(200, "GET", "/v1/me", nil)
		}
		bobScript := newClient(t, m)
		bobScript.bearer = bob.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "bob's"}).str("token")

		newClient(t, m).must(202, "POST", "/v1/password/forgot", map[string]any{"email": "ada@example.com"})
		mail := smtp.WaitFor(t, "ada@example.com", "Reset", 10*time.Second)
		if !strings.Contains(mail.Body, "API tokens") {
			t.Errorf("the reset mail does not say that the reset revokes the API tokens:\n%s", mail.Body)
		}
		reset := linkQuery(t, mail)
		newClient(t, m).must(200, "POST", "/v1/password/reset", map[string]any{"person_id": reset.Get("person"), "token": reset.Get("token"),
			"password": "tangerine vault orbit"})

		for i, s := range scripts {
			if r := s.do("GET", "/v1/me", nil); r.status != 401 {
				t.Errorf("API token %d after the reset: %d %s", i, r.status, r.raw)
			}
		}
		ada.must(401, "GET", "/v1/me", nil)
		bobScript.must(200, "GET", "/v1/me", nil)
		bob.must(200, "GET", "/v1/me", nil)
		ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": "tangerine vault orbit"})
		if me := ada.must(200, "GET", "/v1/me", nil); len(me.body["api_tokens"].([]any)) != 0 {
			t.Fatalf("tokens listed after the reset: %s", me.raw)
		}
	})
}

// MEM-1: wrong passwords from other clients never lock the owner out.
// Behind a trusted proxy (--trusted-proxies) each client is limited by
// the address X-Forwarded-For names: a guesser is refused after five
// tries, a crowd of guessers keeps failing, and the owner, from a client
// that has not failed, signs in with the right password at once.
func TestSignIn_others_failures_never_lock_the_owner_out_MEM1(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target, "LEDGER_TRUSTED_PROXIES", "127.0.0.1/32, ::1")
		from := func(addr string) *client {
			c := newClient(t, m)
			c.header.Set("X-Forwarded-For", addr)
			return c
		}
		from("192.0.2.77").must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		wrong := map[string]any{"email": "ada@example.com", "password": "not the password"}

		guesser := from("198.51.100.1")
		for i := range 5 {
			if r := guesser.do("POST", "/v1/session", wrong); r.status != 401 {
				t.Fatalf("guess %d = %d %s", i+1, r.status, r.raw)
			}
		}
		if r := guesser.do("POST", "/v1/session", wrong); r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("sixth guess from one client = %d %s", r.status, r.raw)
		}
		for i := range 12 {
			from("203.0.113."+strconv.Itoa(i+1)).do("POST", "/v1/session", wrong)
		}
		owner := from("192.0.2.77")
		owner.must(200, "POST", "/v1/session", map[string]any{"email": "ADA@example.com", "password": pw})
		owner.must(200, "GET", "/v1/me", nil)
	})
}

// withFields returns a copy of body with the key/value pairs added.
func withFields(body map[string]any, kv ...string) map[string]any {
	out := make(map[string]any, len(body)+len(kv)/2)
	for k, v := range body {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Bad input is a 4xx problem naming the field and the reason, and
// changes nothing; sign-in attempts are rate-limited.
func TestPeople_bad_input_changes_nothing(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		c := newClient(t, m)
		weak := signUpBody("Eve", "eve@example.com")
		weak["password"] = "password1234"
		noTerms := signUpBody("Eve", "eve@example.com")
		noTerms["accept_terms"] = false
		for name, tc := range map[string]struct {
			body         any
			status       int
			typ, field   string
			detailPhrase string
		}{
			"malformed JSON":   {`{"first_name": `, 400, "malformed-json", "", "ends"},
			"unknown field":    {`{"first_name":"Eve","nickname":"e"}`, 400, "invalid-request", "", "nickname"},
			"oversized":        {`{"first_name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "payload-too-large", "", "larger"},
			"invalid email":    {signUpBody("Eve", "not-an-address"), 400, "invalid-request", "", "not an email address"},
			"weak password":    {weak, 400, "weak-password", "password", "guessed"},
			"terms not taken":  {noTerms, 400, "terms-not-accepted", "accept_terms", "terms"},
			"wrong JSON types": {`{"first_name": 42}`, 400, "invalid-request", "", "first_name"},
		} {
			r := c.doInvalid("POST", "/v1/signup", tc.body)
			if r.status != tc.status || r.problemType() != tc.typ || !strings.Contains(r.str("detail"), tc.detailPhrase) {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
			if tc.field != "" && !strings.Contains(r.raw, `"name":"`+tc.field+`"`) {
				t.Errorf("%s: the problem does not name field %s: %s", name, tc.field, r.raw)
			}
		}
		if head, _ := m.Store.Head(t.Context()); head != 0 {
			t.Fatalf("refused requests appended %d events", head)
		}
		c.must(201, "POST", "/v1/signup", signUpBody("Eve", "eve@example.com"))
		if r := c.do("POST", "/v1/signup", signUpBody("Eve", "EVE@example.com")); r.status != 409 || r.problemType() != "email-taken" {
			t.Fatalf("the same address again: %s", r.raw)
		}
		limited := false
		for range 8 {
			r := c.do("POST", "/v1/session", map[string]any{"email": "eve@example.com", "password": "not the password"})
			if r.status == 429 {
				limited = r.header.Get("Retry-After") != ""
				break
			}
		}
		if !limited {
			t.Fatal("eight failed sign-ins in a row were not rate-limited")
		}
	})
}
