package portal

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/account"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// accountCookie remembers the account the person last switched to, so
// that "/" opens its dashboard.
const accountCookie = "seatledger_account"

// page starts a signed-in page: it reads who is signed in and the
// accounts they may switch between. When nobody is, it sends the browser
// to sign in; on any other failure it shows the error page. It returns nil
// when it has answered the request itself.
func (p *Portal) page(w http.ResponseWriter, r *http.Request, title, nav string) *View {
	v := &View{Title: title, Nav: nav, CSRF: p.csrfToken(r), Form: url.Values{}}
	if v.CSRF == "" {
		p.signIn(w, r)
		return nil
	}
	viewer, err := p.viewer(w, r)
	var me queries.Me
	if err == nil {
		me, err = p.cfg.Queries.Me(r.Context(), viewer)
	}
	if err == nil {
		v.Accounts, err = p.cfg.Queries.MyAccounts(r.Context(), viewer)
	}
	if err != nil {
		p.fail(w, r, v, err)
		return nil
	}
	v.viewer, v.Me = viewer, &me
	v.Flash = p.takeFlash(w, r)
	if r.Method == http.MethodPost {
		v.Form = r.PostForm
	} else {
		v.Form = r.URL.Query()
	}
	return v
}

// accountPage is a page of the account named by the route's {accountID}.
func (p *Portal) accountPage(w http.ResponseWriter, r *http.Request, title, nav string) *View {
	v := p.page(w, r, title, nav)
	if v == nil {
		return nil
	}
	if !v.setAccount(chi.URLParam(r, "accountID")) {
		p.fail(w, r, v, &httpapi.Problem{Status: http.StatusForbidden, Title: "Forbidden",
			Detail: "you are not an active member of this account; switch to one of yours"})
		return nil
	}
	return v
}

// setAccount makes id the page's account; false if it is not one of the
// person's active accounts.
func (v *View) setAccount(id string) bool {
	for i, a := range v.Accounts {
		if a.AccountID == id && a.Status == "active" {
			v.Account, v.AccountID = &v.Accounts[i], id
			return true
		}
	}
	return false
}

// IsAdmin reports whether the person is an admin of the page's account.
func (v *View) IsAdmin() bool {
	return v.Account != nil && v.Account.Role == account.RoleAdmin.String()
}

// IsBusiness reports whether the page's account is a business account.
func (v *View) IsBusiness() bool { return v.Account != nil && v.Account.Kind == "business" }

// fail answers a page whose data could not be read: sign in again after
// a 401, the error page with the API's problem otherwise.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, v *View, err error) {
	if errors.Is(err, errSignIn) {
		p.signIn(w, r)
		return
	}
	v.fail(err)
	if v.Status >= 500 {
		p.cfg.Logger.ErrorContext(r.Context(), "portal: a page's read failed", "path", r.URL.Path, "error", err,
			"request_id", httpapi.RequestID(r.Context()))
	}
	v.Title = v.Problem.Title
	p.render(w, r, "error.html", v)
}

// home opens the dashboard of the account last switched to (or the
// personal account); signed-out browsers go to sign in.
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "")
	if v == nil {
		return
	}
	id := v.Me.PersonalAccountID
	if c, err := r.Cookie(accountCookie); err == nil && v.setAccount(c.Value) {
		id = c.Value
	}
	p.redirect(w, r, "/accounts/"+url.PathEscape(id), v.Flash) // the message is for the page after
}

// switchAccount is the header's account switcher (a GET form).
func (p *Portal) switchAccount(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "")
	if v == nil {
		return
	}
	id := r.URL.Query().Get("account")
	if !v.setAccount(id) {
		p.fail(w, r, v, &httpapi.Problem{Status: http.StatusForbidden, Title: "Forbidden", Detail: "you cannot switch to that account"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: accountCookie, Value: id, Path: "/", HttpOnly: true, Secure: p.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	p.redirect(w, r, "/accounts/"+url.PathEscape(id), v.Flash)
}
