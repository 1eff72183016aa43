package portal

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/infra/access"
	"seatledger/infra/session"
	"seatledger/queries"
)

// jsBudget is the most JavaScript the portal may ship (issue 8).
const jsBudget = 60 << 10

// The portal ships at most 60 KB of JavaScript, all of it embedded.
func TestPortal_ships_at_most_60KB_of_JavaScript(t *testing.T) {
	total := 0
	err := fs.WalkDir(files, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") {
			return err
		}
		b, err := fs.ReadFile(files, name)
		total += len(b)
		t.Logf("%s: %d bytes", name, len(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || total > jsBudget {
		t.Fatalf("the portal ships %d bytes of JavaScript; the budget is %d", total, jsBudget)
	}
}

// The Content-Security-Policy allows no inline code: a template with an
// inline script, an event handler or a style attribute would break (and
// log a console error) in the browser.
func TestPortal_templates_have_no_inline_code(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	err := fs.WalkDir(files, "templates", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		for _, m := range inline.FindAllString(string(b), -1) {
			t.Errorf("%s has inline code the CSP refuses: %q", name, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Static files are served with their type, and cached for a year only
// under their current content hash.
func TestPortal_serves_static_files_by_hash(t *testing.T) {
	p, err := New(Config{Access: &access.Desk{}, Queries: &queries.Reads{}, Commands: &commands.Set{}, Tokens: func(string, string) string { return "t" }, Sessions: &session.Store{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, ctype, cache string }{
		{p.assets.url("htmx.min.js"), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{p.assets.url("portal.css"), "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/static/portal.css?v=old", "text/css; charset=utf-8", "no-cache"},
	} {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.url, nil))
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.ctype || w.Header().Get("Cache-Control") != tc.cache {
			t.Errorf("GET %s = %d %q %q", tc.url, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
	}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/static/../portal.go", nil))
	if w.Code == 200 {
		t.Error("a path outside the static files was served")
	}
}

// After sign-in the browser goes back to a page of this site, never to
// another one: every well-known open-redirect bypass is refused, judged
// after the normalization browsers apply (tabs, CR and LF removed,
// leading controls and spaces stripped, backslashes read as slashes).
// The tab case is the reported one: /signin?next=/%09/evil.example sent
// Chromium to evil.example.
func TestSafeNext_keeps_the_target_on_this_origin(t *testing.T) {
	t.Parallel()
	kept := map[string]string{
		"/subscriptions/1?x=1":         "/subscriptions/1?x=1",
		"/accounts/a/farms#top":        "/accounts/a/farms#top",
		"/tickets/T-1?next=//evil.com": "/tickets/T-1?next=//evil.com", // a query, not an authority
		"/%2F/evil.example":            "/%2F/evil.example",            // browsers do not decode %2F here
		"/%5Cevil.example":             "/%5Cevil.example",
		" /me":                         "/me",
		"/me\\security":                "/me/security",
	}
	refused := []string{
		"", " ", "/\t/evil.example", "/\t\t/evil.example", "\t//evil.example", "/\n/evil.example", "/\r\n/evil.example",
		"//evil.example/", "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
		"/\\/evil.example", " //evil.example", "\x00//evil.example", "\x1f//evil.example", "/\x00/evil.example",
		"https://evil.example", "http:evil.example", "https:/evil.example", "HTTPS://evil.example", "//evil.example@portal.example",
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
		"evil.example", "./evil.example", "../evil.example", "?next=//evil.example", "#//evil.example",
		"/\u0085/evil.example",
	}
	for in, want := range kept {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	for _, in := range refused {
		if got := safeNext(in); got != "/" {
			t.Errorf("safeNext(%q) = %q, want / (a bypass)", in, got)
		}
	}
	// Whatever is kept resolves, as a browser reads it, to this origin.
	base, _ := url.Parse("https://portal.example/signin?next=x")
	for in := range kept {
		browser := strings.Map(func(r rune) rune {
			if r == '\\' {
				return '/'
			}
			return r
		}, safeNext(in))
		u, err := url.Parse(browser)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := base.ResolveReference(u); got.Host != "portal.example" || got.Scheme != "https" {
			t.Errorf("safeNext(%q) leads to %s", in, got)
		}
	}
}

// The upload routes' body limits name routes the portal has: a renamed
// route would otherwise fall back to the limit of a form without files.
func TestUploadLimits_name_routes_of_the_portal(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Access: &access.Desk{}, Queries: &queries.Reads{}, Commands: &commands.Set{}, Tokens: func(string, string) string { return "t" }, Sessions: &session.Store{}})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	if err := chi.Walk(p.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodPost {
			routes[route] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for route, limit := range uploadLimits {
		if !routes[route] {
			t.Errorf("upload limit for %s, which is no POST route of the portal", route)
		}
		r := httptest.NewRequest(http.MethodPost, strings.ReplaceAll(strings.ReplaceAll(route, "{ticketID}", "T-1"), "{accountID}", "a-1"), nil)
		if got := p.formLimit(r); got != limit || limit <= maxForm {
			t.Errorf("%s: limit %d, want %d (more than a form's %d)", route, got, limit, maxForm)
		}
	}
}
