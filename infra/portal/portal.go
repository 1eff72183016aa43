// Package portal is the customer portal ("My Account") in the browser:
// server-rendered pages (html/template), progressively enhanced by htmx,
// embedded in the binary.
//
// Every page works without JavaScript: links and forms are plain HTML,
// dialogs are pages of their own, charts are inline SVG. With JavaScript,
// htmx boosts links and forms (no full reloads) and a small script adds
// conveniences (select all rows, submit a filter on change).
//
// The portal holds no state and makes no decision of its own: it is the
// API's sibling over the same command and query use cases and the same
// access desk (sign-in, sessions, password limits), so authorization,
// validation and problem details are the API's. It adds what a browser
// needs: CSRF tokens on every form, security headers, redirects after
// writes, and the problem details shown next to the fields they name.
package portal

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/infra/access"
	"seatledger/infra/attachments"
	"seatledger/infra/httpapi"
	"seatledger/infra/offline"
	"seatledger/infra/session"
	"seatledger/queries"
)

//go:embed templates static
var files embed.FS

// Config configures the portal.
type Config struct {
	// Access signs people up, in and out and guards their passwords: the
	// API's own desk, so that both edges count attempts together.
	// Required.
	Access *access.Desk
	// Attachments keeps the files of ticket replies; nil: a reply with
	// files is refused (attachments.ErrUnavailable).
	Attachments *attachments.Store
	// Queries are the query use cases the pages read through. Required.
	Queries *queries.Reads
	// Commands are the command use cases the forms send. Required.
	Commands *commands.Set
	// Tokens derives the CSRF tokens from the session (secret.Key.Token).
	// Required.
	Tokens func(purpose, subject string) string
	// Logger receives rendering errors. Default slog.Default().
	Logger *slog.Logger
	// SecureCookies marks the portal's cookies Secure (served over TLS).
	SecureCookies bool
	// Now is the ledger's clock (what "expiring soon" counts from).
	// Default time.Now.
	Now func() time.Time
	// Sessions tells a live session cookie from a dead one, so that a
	// form is read only once the session it claims is known to exist.
	// Required.
	Sessions Sessions
	// Audit is what the staff console's audit pages read over the whole
	// log (staff_audit.go); nil: those pages say it is not configured.
	Audit *StaffAudit
}

// Sessions looks up browser sessions and remembers the account each
// person last used (*session.Store).
type Sessions interface {
	// Lookup returns the live session of a cookie's value, or an error
	// matching session.ErrNoSession.
	Lookup(ctx context.Context, value string) (session.Session, error)
	// LastAccount returns the account person last used, or "".
	LastAccount(ctx context.Context, personID string) (string, error)
	// RememberAccount records the account person last used.
	RememberAccount(ctx context.Context, personID, accountID string) error
}

// Portal is the portal's http.Handler.
type Portal struct {
	cfg    Config
	pages  templates
	assets assets
	router chi.Router
}

// New parses the templates and mounts the pages.
func New(cfg Config) (*Portal, error) {
	if cfg.Access == nil || cfg.Queries == nil || cfg.Commands == nil || cfg.Tokens == nil || cfg.Sessions == nil {
		return nil, errors.New("portal: needs the access desk, the query and command use cases, a token function and the sessions")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parseTemplates(files)
	if err != nil {
		return nil, fmt.Errorf("portal: templates: %w", err)
	}
	static, err := loadAssets(files)
	if err != nil {
		return nil, fmt.Errorf("portal: static files: %w", err)
	}
	p := &Portal{cfg: cfg, pages: pages, assets: static, router: chi.NewRouter()}
	p.routes()
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.router.ServeHTTP(w, r) }

// Routes returns the router (tests walk it).
func (p *Portal) Routes() chi.Routes { return p.router }

func (p *Portal) routes() {
	r := p.router
	r.Use(securityHeaders, p.checkCSRF)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		v := &View{Title: "Page not found", Status: http.StatusNotFound,
			Problem: &httpapi.Problem{Status: http.StatusNotFound, Title: "Page not found", Detail: "there is no page at " + r.URL.Path}}
		if isStaffPath(r.URL.Path) {
			p.renderStaff(w, r, "staff_error.html", v)
			return
		}
		p.render(w, r, "error.html", v)
	})
	r.Get("/static/{name}", p.assets.serve)
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { // browsers ask without reading the page
		http.Redirect(w, r, p.assets.url("favicon.svg"), http.StatusMovedPermanently)
	})
	p.authPages(r)
	p.accountPages(r)
	p.licensePages(r)
	p.installationPages(r)
	p.supportPages(r)
	p.historyPages(r)
	p.webhookPages(r)
	p.staffPages(r)
}

// securityHeaders: scripts and styles only from the portal itself (no
// inline code anywhere), no framing, no referrer beyond the origin.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// csrfPurpose is the purpose of the CSRF tokens derived from a session.
const csrfPurpose = "portal-csrf"

// Limits of the forms' bodies. Nothing of a body is read before the
// session the request claims is known to exist, and then only up to what
// its route needs: small forms for everybody, files only on the upload
// routes of a signed-in browser, of which at most maxFormMemory stays in
// memory (the rest waits in temporary files, removed when the request
// ends, and is streamed on to the API).
const (
	// maxAnonymousForm bounds the forms of a signed-out browser (sign-in,
	// sign-up, forgotten password, the links of mails).
	maxAnonymousForm = 64 << 10
	// maxForm bounds a signed-in browser's forms without files.
	maxForm = 1 << 20
	// maxFormMemory is how much of an upload form stays in memory.
	maxFormMemory = 1 << 20
)

// uploadLimits are the body limits of the routes whose forms carry files:
// ten attachments of 5 MiB to a ticket reply, a CSR file, an offline
// request file (the API refuses more than these itself).
var uploadLimits = map[string]int64{
	"/tickets/{ticketID}/replies":   httpapi.MaxReplyBytes,
	"/accounts/{accountID}/mdm":     maxCSRFile + maxForm,
	"/accounts/{accountID}/offline": offline.MaxSize + maxForm,
}

// formLimit is the body limit of r's route for a signed-in browser.
func (p *Portal) formLimit(r *http.Request) int64 {
	if limit, ok := uploadLimits[p.router.Find(chi.NewRouteContext(), r.Method, r.URL.Path)]; ok {
		return limit
	}
	return maxForm
}

// checkCSRF refuses a write from another site. Two checks: the browser's
// own Sec-Fetch-Site/Origin headers (net/http's CrossOriginProtection),
// and, for a signed-in browser, the form's token derived from its session
// (so that a browser without those headers is protected too). The
// session is looked up before the form is read: a cookie that names no
// live session makes the request a signed-out one (the cookie is dropped)
// whose form may be small only, so that nobody can make the server hold
// a large body by sending any cookie at all.
func (p *Portal) checkCSRF(next http.Handler) http.Handler {
	origin := http.NewCrossOriginProtection()
	origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.forbidden(w, r, "a form from another site was refused")
	}))
	return origin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if isStaffPath(r.URL.Path) { // the staff console's own session and token (staff.go)
			p.checkStaffCSRF(w, r, next)
			return
		}
		c, err := r.Cookie(httpapi.SessionCookie)
		signedIn := err == nil && c.Value != ""
		if signedIn {
			sess, err := p.cfg.Sessions.Lookup(r.Context(), c.Value)
			if err == nil {
				// The page signs in from this session, without a second lookup.
				r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
			}
			switch {
			case errors.Is(err, session.ErrNoSession):
				signedIn = false
				dropSessionCookie(w, r, p.cfg.SecureCookies)
			case err != nil:
				p.cfg.Logger.ErrorContext(r.Context(), "portal: session lookup failed", "request_id", httpapi.RequestID(r.Context()), "error", err)
				p.render(w, r, "error.html", &View{Title: "Unavailable", Status: http.StatusServiceUnavailable,
					Problem: &httpapi.Problem{Status: http.StatusServiceUnavailable, Title: "Unavailable", Detail: "the session could not be checked; try again shortly"}})
				return
			}
		}
		limit, memory := int64(maxAnonymousForm), int64(maxAnonymousForm)
		if signedIn {
			limit, memory = p.formLimit(r), maxFormMemory
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseMultipartForm(memory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			p.badForm(w, r, err)
			return
		}
		if !signedIn {
			next.ServeHTTP(w, r) // nobody signed in: nothing to forge on their behalf
			return
		}
		want := p.cfg.Tokens(csrfPurpose, c.Value)
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
			p.forbidden(w, r, "the form has expired or did not come from this portal; reload the page and send it again")
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// dropSessionCookie removes a dead session cookie from r, so that the
// pages after see a signed-out browser, and tells the
// browser to forget it.
func dropSessionCookie(w http.ResponseWriter, r *http.Request, secure bool) {
	kept := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range kept {
		if c.Name != httpapi.SessionCookie {
			r.AddCookie(c)
		}
	}
	httpapi.ClearSessionCookie(w, secure)
}

// csrfToken is the token of the browser's session ("" when signed out).
func (p *Portal) csrfToken(r *http.Request) string {
	c, err := r.Cookie(httpapi.SessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	return p.cfg.Tokens(csrfPurpose, c.Value)
}

func (p *Portal) forbidden(w http.ResponseWriter, r *http.Request, detail string) {
	p.render(w, r, "error.html", refusedView(detail))
}

func (p *Portal) badForm(w http.ResponseWriter, r *http.Request, err error) {
	p.render(w, r, "error.html", badFormView(err))
}

// refusedView is the error page of a refusal (403).
func refusedView(detail string) *View {
	return &View{Title: "Refused", Status: http.StatusForbidden,
		Problem: &httpapi.Problem{Status: http.StatusForbidden, Title: "Refused", Detail: detail}}
}

// badFormView is the error page of a form that could not be read: 413
// past the body's limit, else 400.
func badFormView(err error) *View {
	status, detail := http.StatusBadRequest, "the form could not be read: "+err.Error()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		status, detail = http.StatusRequestEntityTooLarge, "the form is larger than "+formSize(tooLarge.Limit)
	}
	return &View{Title: "Form not sent", Status: status,
		Problem: &httpapi.Problem{Status: status, Title: "Form not sent", Detail: detail}}
}

// formSize says a body limit in KB or MB.
func formSize(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// flashCookie carries a one-off message across a redirect.
const flashCookie = "seatledger_flash"

// redirect sends the browser to target after a successful write (303: the
// browser GETs it), with a message the next page shows once.
//
// A target that is not a path of this origin is never followed: the
// browser goes home instead (every caller builds its target from its own
// routes, but a form's "return" or "back" field is the browser's to send).
func (p *Portal) redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if local, ok := localTarget(target); ok {
		target = local
	} else {
		p.cfg.Logger.WarnContext(r.Context(), "portal: refused a redirect to another origin", "request_id", httpapi.RequestID(r.Context()))
		target = "/"
	}
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(flash), Path: "/", HttpOnly: true,
			Secure: p.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// takeFlash returns the pending message and clears it.
func (p *Portal) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	msg, _ := url.QueryUnescape(c.Value)
	return msg
}

// signIn sends the browser to the sign-in page, to come back here after.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// safeNext keeps a post-sign-in target on this site: a path of this
// origin as the browser will read it (see localTarget), else "/".
func safeNext(next string) string {
	if target, ok := localTarget(next); ok {
		return target
	}
	return "/"
}

// localTarget returns target as a browser reads it, and whether that is a
// path of this origin. Browsers normalize a URL before parsing it (WHATWG
// URL standard): they strip leading and trailing C0 controls and spaces,
// remove every tab, LF and CR, and read a backslash as a slash in http(s)
// URLs. So "/\t/evil.example" and "/\\evil.example" both become
// "//evil.example", a link to another origin. The check is made on the
// normalized form, which is also what is returned, so that what was
// checked is what the browser follows.
func localTarget(target string) (string, bool) {
	s := strings.TrimFunc(target, func(r rune) bool { return r <= ' ' })
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, s)
	// A path: one slash, then anything but a second one (which would
	// start an authority: "//host" or, with more slashes, "///host").
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return "", false
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return s, true
}

// assets are the embedded static files, served under a content hash so
// that browsers may keep them for a year.
type assets struct {
	files  fs.FS
	hashes map[string]string
}

func loadAssets(root fs.FS) (assets, error) {
	sub, err := fs.Sub(root, "static")
	if err != nil {
		return assets{}, err
	}
	a := assets{files: sub, hashes: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hashes[name] = hex.EncodeToString(sum[:6])
		return nil
	})
	return a, err
}

// url is the address of a static file, with its hash.
func (a assets) url(name string) string { return "/static/" + name + "?v=" + a.hashes[name] }

func (a assets) serve(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if _, ok := a.hashes[name]; !ok {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if r.URL.Query().Get("v") == a.hashes[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeFileFS(w, r, a.files, name)
}
