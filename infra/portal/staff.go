package portal

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/staff"
	"seatledger/infra/access"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// The staff console (issue 23) is the back office's part of the portal,
// under /staff: the same server-rendered pages over the same use cases,
// with a session of its own. A staff person signs in with their password
// and second factor (the access desk's SignInStaff, which the API's
// POST /v1/staff/session uses too, so both count attempts together); the
// browser keeps the staff session's token (slst_…) in StaffCookie, whose
// path is /staff, so it never reaches a customer's page, and the
// customers' session cookie is never read here: a customer's session
// opens no staff page and a staff session no customer page.
//
// Every page asks the roster's policy (staff.Roster.Authorize, from the
// roster's latest events) for the permission it needs (staffPage), and
// every use case it calls asks again with the staff person as the actor,
// so a page's check is never the only one.
//
// The console's pages are files named staff*.go; a file adds its routes
// and navigation items with registerStaffPages and registerStaffNav from
// an init function, so that pages can be added beside the others without
// touching this file.

// StaffCookie is the cookie of a staff session: its bearer token.
const StaffCookie = "seatledger_staff"

// staffCSRFPurpose is the purpose of the staff forms' CSRF tokens, which
// are derived from the staff session's token (never the customers').
const staffCSRFPurpose = "staff-console-csrf"

// staffPrefix is where the console lives.
const staffPrefix = "/staff"

// isStaffPath reports whether path is one of the console's.
func isStaffPath(path string) bool {
	return path == staffPrefix || strings.HasPrefix(path, staffPrefix+"/")
}

// staffUploadLimits are the body limits of the console's routes whose
// forms carry files (a reply's attachments); other forms get maxForm.
var staffUploadLimits = map[string]int64{
	"/staff/tickets/{ticketID}/replies": httpapi.MaxReplyBytes,
}

// staffRoutes are the console's pages, mounted by staffPages; see
// registerStaffPages.
var staffRoutes []func(*Portal, chi.Router)

// registerStaffPages adds a file's pages to the console (call it from an
// init function).
func registerStaffPages(mount func(*Portal, chi.Router)) { staffRoutes = append(staffRoutes, mount) }

// StaffNavItem is an item of the console's header menu, shown to the
// staff people whose role grants Perm.
type StaffNavItem struct {
	// Order places the item (smaller first); Nav names it for View.Nav.
	Order       int
	Path, Label string
	Nav         string
	Perm        staff.Permission
	Description string
}

// staffNav is the console's menu; see registerStaffNav.
var staffNav []StaffNavItem

// registerStaffNav adds items to the console's menu (call it from an init
// function).
func registerStaffNav(items ...StaffNavItem) {
	staffNav = append(staffNav, items...)
	slices.SortStableFunc(staffNav, func(a, b StaffNavItem) int { return a.Order - b.Order })
}

// StaffMe is the staff person signed in to the console, as its pages
// show them and ask what they may do.
type StaffMe struct {
	ID, Email, DisplayName string
	Role                   staff.Role
	// Token is the staff session's bearer token (never rendered).
	token string
}

// staffPermissions names every permission, for Can.
var staffPermissions = []staff.Permission{staff.PermOrders, staff.PermCatalog, staff.PermRead, staff.PermSupport,
	staff.PermSwitches, staff.PermAudit, staff.PermFinance, staff.PermStaff, staff.PermClock}

// Can reports whether the person's role grants the permission named perm
// (staff.Permission.String): what a page offers (forms, buttons) follows
// it. The handlers behind the forms ask the roster again.
func (m *StaffMe) Can(perm string) bool {
	if m == nil {
		return false
	}
	for _, p := range staffPermissions {
		if p.String() == perm {
			return m.Role.Grants(p)
		}
	}
	return false
}

// StaffNav is the menu of the page's staff person: the items their role
// may open.
func (v *View) StaffNav() []StaffNavItem {
	var out []StaffNavItem
	for _, item := range staffNav {
		if v.Staff != nil && v.Staff.Role.Grants(item.Perm) {
			out = append(out, item)
		}
	}
	return out
}

// staffPages mounts the console: sign-in and out, the home page, and the
// registered pages.
func (p *Portal) staffPages(r chi.Router) {
	r.Get("/staff", p.staffHome)
	r.Get("/staff/sign-in", p.staffSignInPage)
	r.Post("/staff/sign-in", p.staffSignIn)
	r.Post("/staff/sign-out", p.staffSignOut)
	for _, mount := range staffRoutes {
		mount(p, r)
	}
}

// staffActorKey is the request context's key of the staff actor that
// checkStaffCSRF authenticated for a form.
type staffActorKey struct{}

// errStaffSignIn: no staff session (or it has ended); the page sends the
// browser to the console's sign-in.
var errStaffSignIn = errors.New("portal: staff sign-in required")

// staffToken is the browser's staff session token, or "".
func staffToken(r *http.Request) string {
	c, err := r.Cookie(StaffCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// staffActor returns the staff person the browser's staff cookie signs
// in, from the roster's latest events (a sign-out or a removal counts at
// once). A cookie that signs nobody in is dropped and errStaffSignIn
// returned.
func (p *Portal) staffActor(w http.ResponseWriter, r *http.Request) (event.Actor, error) {
	if a, ok := r.Context().Value(staffActorKey{}).(event.Actor); ok {
		return a, nil
	}
	token := staffToken(r)
	if token == "" {
		return event.Actor{}, errStaffSignIn
	}
	actor, err := p.cfg.Commands.Staff.AuthenticateStaff(r.Context(), token)
	if errors.Is(err, staff.ErrBadCredentials) {
		p.clearStaffCookie(w)
		return event.Actor{}, errStaffSignIn
	}
	return actor, err
}

// setStaffCookie gives the browser the staff session's token: HttpOnly,
// Secure over TLS, SameSite=Strict (no other site's link or form carries
// it) and only under /staff. It lasts as long as the browser, the session
// at most staff.SessionLifetime (the server's check).
func (p *Portal) setStaffCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: StaffCookie, Value: token, Path: staffPrefix, HttpOnly: true,
		Secure: p.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (p *Portal) clearStaffCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: StaffCookie, Value: "", Path: staffPrefix, HttpOnly: true,
		Secure: p.cfg.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// staffCSRF is the token of the browser's staff session ("" when none).
func (p *Portal) staffCSRF(r *http.Request) string {
	token := staffToken(r)
	if token == "" {
		return ""
	}
	return p.cfg.Tokens(staffCSRFPurpose, token)
}

// checkStaffCSRF is checkCSRF for the console (the cross-origin check has
// run already): the staff session is authenticated before the form is
// read, a browser without one may send a small form only (the sign-in),
// and a signed-in browser's form must carry the token derived from its
// staff session.
func (p *Portal) checkStaffCSRF(w http.ResponseWriter, r *http.Request, next http.Handler) {
	token := staffToken(r)
	signedIn := false
	if token != "" {
		actor, err := p.staffActor(w, r)
		switch {
		case err == nil:
			signedIn = true
			r = r.WithContext(context.WithValue(r.Context(), staffActorKey{}, actor))
		case errors.Is(err, errStaffSignIn):
		default:
			p.cfg.Logger.ErrorContext(r.Context(), "portal: staff session lookup failed", "request_id", httpapi.RequestID(r.Context()), "error", err)
			p.renderStaff(w, r, "staff_error.html", &View{Title: "Unavailable", Status: http.StatusServiceUnavailable,
				Problem: &httpapi.Problem{Status: http.StatusServiceUnavailable, Title: "Unavailable", Detail: "the session could not be checked; try again shortly"}})
			return
		}
	}
	limit, memory := int64(maxAnonymousForm), int64(maxAnonymousForm)
	if signedIn {
		limit, memory = maxForm, maxFormMemory
		if l, ok := staffUploadLimits[p.router.Find(chi.NewRouteContext(), r.Method, r.URL.Path)]; ok {
			limit = l
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseMultipartForm(memory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		p.staffBadForm(w, r, err)
		return
	}
	if !signedIn {
		next.ServeHTTP(w, r) // the sign-in form; any other page sends the browser to sign in
		return
	}
	want := p.cfg.Tokens(staffCSRFPurpose, token)
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
		p.staffForbidden(w, r, "the form has expired or did not come from the staff console; reload the page and send it again")
		return
	}
	next.ServeHTTP(w, r)
}

// staffPage starts a console page that needs perm: the staff person
// signed in (else the browser is sent to sign in), allowed perm by the
// roster's policy (else 403). It returns nil when it has answered the
// request itself. The view's viewer is the staff person, so the use cases
// the page calls authorize them again.
func (p *Portal) staffPage(w http.ResponseWriter, r *http.Request, title, nav string, perm staff.Permission) *View {
	v := &View{Title: title, Nav: nav, CSRF: p.staffCSRF(r), Form: url.Values{}}
	actor, err := p.staffActor(w, r)
	if err != nil {
		p.staffFail(w, r, v, err)
		return nil
	}
	roster, err := p.cfg.Commands.Staff.Roster(r.Context())
	if err != nil {
		p.staffFail(w, r, v, err)
		return nil
	}
	id, _ := staff.StaffOf(actor)
	m, ok := roster.Member(id)
	if !ok {
		p.staffFail(w, r, v, errStaffSignIn)
		return nil
	}
	v.Staff = &StaffMe{ID: m.ID, Email: m.Email, DisplayName: m.DisplayName, Role: m.Role, token: staffToken(r)}
	if err := roster.Authorize(actor, perm); err != nil {
		p.staffFail(w, r, v, err)
		return nil
	}
	v.viewer = queries.Viewer{Actor: actor}
	if c, err := r.Cookie(positionCookie); err == nil {
		if _, err := strconv.ParseUint(c.Value, 10, 64); err == nil {
			v.viewer.MinPosition = c.Value
		}
	}
	v.Flash = p.takeFlash(w, r)
	if r.Method == http.MethodPost {
		v.Form = r.PostForm
	} else {
		v.Form = r.URL.Query()
	}
	return v
}

// staffMeta is the metadata of a command the staff person sends: their
// actor, the request ID as the correlation ID.
func staffMeta(v *View, r *http.Request) commands.Meta {
	return commands.Meta{Actor: v.viewer.Actor, CorrelationID: httpapi.RequestID(r.Context())}
}

// renderStaff renders a console page in the console's layout.
func (p *Portal) renderStaff(w http.ResponseWriter, r *http.Request, page string, v *View) {
	p.renderIn(w, r, "staff-layout", page, v)
}

// staffFail answers a console page that cannot be shown: sign in again
// when the staff session is gone, else the error page with the API's
// problem (a role's refusal is 403).
func (p *Portal) staffFail(w http.ResponseWriter, r *http.Request, v *View, err error) {
	if errors.Is(err, errStaffSignIn) {
		p.staffSignInRedirect(w, r)
		return
	}
	p.failed(r, v, err)
	p.renderStaff(w, r, "staff_error.html", v)
}

func (p *Portal) staffForbidden(w http.ResponseWriter, r *http.Request, detail string) {
	p.renderStaff(w, r, "staff_error.html", refusedView(detail))
}

func (p *Portal) staffBadForm(w http.ResponseWriter, r *http.Request, err error) {
	p.renderStaff(w, r, "staff_error.html", badFormView(err))
}

// staffDone reports whether a command succeeded; on success it remembers
// its position (read your writes), on failure it records the problem.
func (p *Portal) staffDone(w http.ResponseWriter, v *View, res event.AppendResult, err error) bool {
	if err != nil {
		v.fail(err)
		return false
	}
	p.wrote(w, res)
	return true
}

// staffSignInRedirect sends the browser to the console's sign-in, to come
// back here after (a GET page only).
func (p *Portal) staffSignInRedirect(w http.ResponseWriter, r *http.Request) {
	target := "/staff/sign-in"
	if r.Method == http.MethodGet && r.URL.Path != staffPrefix {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// staffNext keeps a post-sign-in target inside the console.
func staffNext(next string) string {
	if target, ok := localTarget(next); ok && isStaffPath(strings.SplitN(strings.SplitN(target, "?", 2)[0], "#", 2)[0]) {
		return target
	}
	return staffPrefix
}

// staffAnonymous is the view of the console's sign-in page.
func (p *Portal) staffAnonymous(w http.ResponseWriter, r *http.Request) *View {
	v := &View{Title: "Staff sign-in", Flash: p.takeFlash(w, r), Form: r.URL.Query()}
	if r.Method == http.MethodPost {
		v.Form = r.PostForm
	}
	return v
}

func (p *Portal) staffSignInPage(w http.ResponseWriter, r *http.Request) {
	if _, err := p.staffActor(w, r); err == nil {
		http.Redirect(w, r, staffNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	p.renderStaff(w, r, "staff_signin.html", p.staffAnonymous(w, r))
}

// staffSignIn checks the email, password and second factor (a TOTP code
// or a recovery code) at the access desk, which counts the attempts
// against the same limits as the API's staff and people sign-ins, and
// gives the browser the staff session's cookie.
func (p *Portal) staffSignIn(w http.ResponseWriter, r *http.Request) {
	v := p.staffAnonymous(w, r)
	f := v.Form
	meta := commands.Meta{Actor: access.Anonymous, CorrelationID: httpapi.RequestID(r.Context())}
	sess, err := p.cfg.Access.SignInStaff(r.Context(), meta, httpapi.ClientAddr(r), f.Get("email"), f.Get("password"), f.Get("code"))
	if err != nil {
		v.fail(err)
		p.renderStaff(w, r, "staff_signin.html", v)
		return
	}
	p.setStaffCookie(w, sess.Token)
	p.wrote(w, sess.AppendResult)
	p.cfg.Logger.InfoContext(r.Context(), "staff signed in", "request_id", httpapi.RequestID(r.Context()), "staff_id", sess.StaffID)
	p.redirect(w, r, staffNext(f.Get("next")), "")
}

// staffSignOut ends the staff session and forgets its cookie.
func (p *Portal) staffSignOut(w http.ResponseWriter, r *http.Request) {
	if actor, err := p.staffActor(w, r); err == nil {
		meta := commands.Meta{Actor: actor, CorrelationID: httpapi.RequestID(r.Context())}
		if _, err := p.cfg.Commands.Staff.SignOutStaff(r.Context(), meta, staffToken(r)); err != nil && !errors.Is(err, staff.ErrBadCredentials) {
			p.staffFail(w, r, &View{Title: "Sign out"}, err)
			return
		}
	}
	p.clearStaffCookie(w)
	p.redirect(w, r, "/staff/sign-in", "You are signed out of the staff console.")
}

// staffHome is the console's start page: what the person's role may open.
func (p *Portal) staffHome(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Staff console", "home", staff.PermRead)
	if v == nil {
		return
	}
	p.renderStaff(w, r, "staff_home.html", v)
}
