package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

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
	viewer, sess, err := p.viewer(w, r)
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
	v.viewer, v.Me, v.lastAccount = viewer, &me, sess.LastAccount
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

// BusinessAccounts are the business accounts the person is an active
// member of, by company name.
func (v *View) BusinessAccounts() []queries.AccountSummary {
	var out []queries.AccountSummary
	for _, a := range v.Accounts {
		if a.Kind == "business" && a.Status == "active" {
			out = append(out, a)
		}
	}
	return out
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
	p.failed(r, v, err)
	p.render(w, r, "error.html", v)
}

// failed makes v the error page of err, logging a server-side failure
// (the customers' pages and the staff console share it).
func (p *Portal) failed(r *http.Request, v *View, err error) {
	v.fail(err)
	if v.Status >= 500 {
		p.cfg.Logger.ErrorContext(r.Context(), "portal: a page failed", "path", r.URL.Path, "error", err,
			"request_id", httpapi.RequestID(r.Context()))
	}
	v.Title = v.Problem.Title
}

// home opens the dashboard of the account the person lands on
// (queries.LandingAccount: the one used last, else the only business
// account, else the personal one); signed-out browsers go to sign in.
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "", "")
	if v == nil {
		return
	}
	id := queries.LandingAccount(v.Accounts, v.lastAccount)
	p.redirect(w, r, "/accounts/"+url.PathEscape(id), v.Flash) // the message is for the page after
}

// landing is where a person who has just signed in is sent: to next, the
// page they were asked to sign in for, when it names one of this portal's
// pages other than "/"; else to the dashboard of the account they land on
// (queries.Reads.Landing). The sign-in forms call it for their redirect.
// When the decision cannot be read, "/" makes it again (and shows the
// error if it persists).
func (p *Portal) landing(ctx context.Context, personID, next string) string {
	if target := safeNext(next); target != "/" {
		return target
	}
	last, err := p.cfg.Sessions.LastAccount(ctx, personID)
	var id string
	if err == nil {
		id, err = p.cfg.Queries.Landing(ctx, queries.Viewer{Actor: event.Actor{Kind: event.ActorPerson, ID: personID}}, last)
	}
	if err != nil {
		p.cfg.Logger.WarnContext(ctx, "portal: the account to land on could not be read", "error", err, "request_id", httpapi.RequestID(ctx))
		return "/"
	}
	return "/accounts/" + url.PathEscape(id)
}

// rememberAccount records the account of a page shown to its person as
// the one they used last (where their next sign-in lands), when it is
// not already. A failure is logged: the page is shown all the same.
func (p *Portal) rememberAccount(r *http.Request, v *View) {
	if v.Me == nil || v.AccountID == "" || v.AccountID == v.lastAccount || v.framed || v.Status >= http.StatusMultipleChoices {
		return
	}
	if err := p.cfg.Sessions.RememberAccount(r.Context(), v.Me.PersonID, v.AccountID); err != nil {
		p.cfg.Logger.WarnContext(r.Context(), "portal: the account used could not be remembered", "error", err,
			"request_id", httpapi.RequestID(r.Context()))
		return
	}
	v.lastAccount = v.AccountID
}

// switchAccount is the header's account switcher (a GET form). The
// account's dashboard, like any page of it, is remembered as the one used
// last (rememberAccount).
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
	p.redirect(w, r, "/accounts/"+url.PathEscape(id), v.Flash)
}
