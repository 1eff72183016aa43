package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/infra/httpapi"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// page is a browser without JavaScript: it follows redirects, keeps
// cookies, and sends each form with the CSRF token of the last page it
// read, as a browser sends the hidden field.
type page struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
	// Status, HTML and URL are the last page's.
	Status int
	HTML   string
	URL    string
}

func newPage(t *testing.T, m *Main) *page {
	jar, _ := cookiejar.New(nil)
	return &page{t: t, base: "http://" + m.Addr(), http: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Get opens path.
func (p *page) Get(path string) *page {
	p.t.Helper()
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodGet, p.base+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.send(req)
}

// Post sends a form to path, with the CSRF token of the last page.
func (p *page) Post(path string, form url.Values) *page {
	p.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if p.csrf != "" && form.Get("csrf") == "" {
		form.Set("csrf", p.csrf)
	}
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.send(req)
}

func (p *page) send(req *http.Request) *page {
	p.t.Helper()
	resp, err := p.http.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p.Status, p.HTML, p.URL = resp.StatusCode, string(body), resp.Request.URL.RequestURI()
	if m := csrfField.FindStringSubmatch(p.HTML); m != nil {
		p.csrf = m[1]
	}
	if p.Status >= 500 {
		p.t.Errorf("%s %s = %d:\n%s", req.Method, req.URL.Path, p.Status, p.HTML)
	}
	return p
}

// Want fails the test unless the last page answered status and shows
// every text (HTML-escaped as a template would write it).
func (p *page) Want(status int, texts ...string) *page {
	p.t.Helper()
	if p.Status != status {
		p.t.Fatalf("%s = %d, want %d:\n%s", p.URL, p.Status, status, p.HTML)
	}
	for _, s := range texts {
		if !strings.Contains(p.HTML, s) {
			p.t.Fatalf("%s does not show %q:\n%s", p.URL, s, p.HTML)
		}
	}
	return p
}

// signUpPage signs a new person up through the portal's form; they are
// signed in after it, on their personal dashboard.
func signUpPage(t *testing.T, m *Main, first, email string) *page {
	t.Helper()
	p := newPage(t, m)
	p.Get("/signup").Want(200, "Create your account")
	p.Post("/signup", url.Values{"first_name": {first}, "last_name": {"Tester"}, "email": {email}, "password": {pw}, "accept_terms": {"on"}})
	if !strings.HasPrefix(p.URL, "/accounts/") {
		t.Fatalf("after sign-up the browser is at %s, not a dashboard:\n%s", p.URL, p.HTML)
	}
	return p
}

// The portal's sign-up, sign-in and sign-out forms work without
// JavaScript; wrong input is shown next to the form and changes nothing
// (MEM-1).
func TestPortal_sign_up_in_and_out_without_JavaScript_MEM1(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	p := newPage(t, m)
	p.Get("/").Want(200, "Sign in") // signed out: the sign-in page
	p.Post("/signup", url.Values{"first_name": {"Ada"}, "last_name": {"L"}, "email": {"ada@example.com"}, "password": {pw}})
	// Issue 20: an empty form is told every problem at once, each next to
	// its field in the form's words, with no banner repeating them.
	p.Post("/signup", url.Values{})
	p.Want(400, `id="e-first_name"`, "First name is required.", `id="e-last_name"`, "Last name is required.",
		`id="e-email"`, "Email address is required.", `id="e-password"`, `id="e-accept_terms"`)
	for _, api := range []string{`class="problem"`, `"" is not`, "first_name is required", "Invalid request: "} {
		if strings.Contains(p.HTML, api) {
			t.Errorf("the empty sign-up form shows %q", api)
		}
	}
	p.Post("/signup", url.Values{"first_name": {"Ada"}, "last_name": {"L"}, "email": {"ada@example.com"}, "password": {pw}})
	p.Want(400, "The terms of use must be accepted", `id="e-accept_terms"`, `value="ada@example.com"`) // the form keeps what was typed
	if strings.Contains(p.HTML, pw) {
		t.Error("the password was sent back in the page")
	}
	p = signUpPage(t, m, "Ada", "ada@example.com")
	p.Want(200, "Dashboard", "Ada Tester")

	p.Post("/signout", nil).Want(200, "You are signed out.")
	p.Get("/accounts/x").Want(200, "Sign in") // signed out again
	p.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}}).Want(401, "Sign-in failed")
	p.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {"/me"}})
	if p.URL != "/me" {
		t.Fatalf("after sign-in the browser is at %s, want the page it asked for (/me)", p.URL)
	}
	p.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {"//evil.example/"}})
	if !strings.HasPrefix(p.URL, "/accounts/") {
		t.Fatalf("a next of another site led to %s", p.URL)
	}
}

// A form without the session's CSRF token, or sent from another site, is
// refused and changes nothing.
func TestPortal_refuses_forged_forms(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	p := signUpPage(t, m, "Ada", "ada@example.com")
	p.Post("/signout", url.Values{"csrf": {"forged"}}).Want(403, "reload the page")
	p.Get("/me").Want(200) // still signed in

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.base+"/signout", strings.NewReader("csrf="+url.QueryEscape(p.csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p.send(req).Want(403, "another site")
	p.Get("/me").Want(200) // still signed in
}

// countingBody is a request body of n bytes of a multipart form whose
// file never ends before n, counting what the server has read of it.
type countingBody struct {
	n, read int64
	prefix  []byte
	mu      sync.Mutex
}

func newCountingBody(n int64) (*countingBody, string) {
	const boundary = "x-counting-boundary"
	prefix := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"big.txt\"\r\n" +
		"Content-Type: text/plain\r\n\r\n"
	return &countingBody{n: n, prefix: []byte(prefix)}, "multipart/form-data; boundary=" + boundary
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read >= b.n {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.n-b.read)
	for i := range n {
		if at := b.read + i; at < int64(len(b.prefix)) {
			p[i] = b.prefix[at]
		} else {
			p[i] = 'a'
		}
	}
	b.read += n
	return int(n), nil
}

// taken is how much of the body has been read.
func (b *countingBody) taken() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}

// The portal reads a form only after it knows the session the request
// claims, and then no more than the route needs: a forged or dead
// session cookie is a signed-out request, whose forms are small, and a
// signed-in form without files is small too. Before, any cookie made the
// portal parse a 64 MiB multipart form in memory before looking at the
// session (four anonymous 60 MB requests took the server from 118 to 534
// MB). The server must answer each of these 48 MiB bodies having read a
// small part of it (the rest of what the client wrote sits in the
// sockets' buffers, which this test cannot tell apart).
func TestPortal_reads_a_form_only_after_the_session_and_only_as_far_as_its_route_needs(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		live := signUpPage(t, m, "Ada", "ada@example.com")
		var session string
		for _, c := range live.http.Jar.Cookies(&url.URL{Scheme: "http", Host: m.Addr()}) {
			if c.Name == httpapi.SessionCookie {
				session = c.Value
			}
		}
		if session == "" {
			t.Fatal("no session after sign-up")
		}
		const sent, mostRead = 48 << 20, 16 << 20
		for _, tc := range []struct {
			name, path, cookie string
		}{
			{"a forged session cookie on an upload route", "/tickets/T-XXXX-XXXX/replies", "forged-session-value"},
			{"a forged session cookie on the sign-in form", "/signin", "forged-session-value"},
			{"no cookie", "/signin", ""},
			{"a live session on a form without files", "/me", session},
		} {
			body, ctype := newCountingBody(sent)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+m.Addr()+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = sent
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Origin", "http://"+m.Addr())
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: tc.cookie})
			}
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("%s: %d, want 413", tc.name, resp.StatusCode)
				}
			} // else the server closed the connection while the client still wrote: refused too
			if read := body.taken(); read > mostRead {
				t.Errorf("%s: the server took %d MiB of the body before answering", tc.name, read>>20)
			}
		}
	})
}

// The open redirect of issue 17: /signin?next=/%09/evil.example sent the
// browser, once signed in, to evil.example (browsers drop the tab and
// read //evil.example). Through the real server, the sign-in answers
// with a Location on the portal itself for every such next: the
// dashboard the person lands on (MEM-2), as if no next were given.
func TestPortal_sign_in_never_redirects_to_another_origin(t *testing.T) {
	t.Parallel()
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	landing := signUpPage(t, m, "Ada", "ada@example.com").URL                                       // her personal account, her only one
	for _, next := range []string{"/\t/evil.example", "/\\evil.example", "//evil.example", "/me"} { // five sign-ins: the limit per client
		p := newPage(t, m)
		p.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		form := url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {next}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.base+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := landing
		if next == "/me" {
			want = "/me"
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("next %q: %d Location %q, want %q", next, resp.StatusCode, loc, want)
		}
	}
}
