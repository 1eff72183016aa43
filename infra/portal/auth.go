package portal

import (
	"net/http"
	"net/url"

	"seatledger/commands"
	"seatledger/infra/access"
	"seatledger/infra/httpapi"

	"github.com/go-chi/chi/v5"
)

// authPages: sign up, sign in and out, forgotten passwords, and the pages
// the mails' links open (verify the address, reset the password, accept
// an invitation).
func (p *Portal) authPages(r chi.Router) {
	r.Get("/", p.home)
	r.Get("/switch", p.switchAccount)
	r.Get("/signup", p.signUpPage)
	r.Post("/signup", p.signUp)
	r.Get("/signin", p.signInPage)
	r.Post("/signin", p.signInForm)
	r.Post("/signout", p.signOut)
	r.Get("/password/forgot", p.forgotPage)
	r.Post("/password/forgot", p.forgot)
	r.Get("/reset-password", p.resetPage)
	r.Post("/reset-password", p.reset)
	r.Get("/verify-email", p.verifyPage)
	r.Post("/verify-email", p.verify)
	r.Get("/invitations/accept", p.invitationPage)
	r.Post("/invitations/accept", p.acceptInvitation)
}

// anonymous is the view of a page anyone may open.
func (p *Portal) anonymous(w http.ResponseWriter, r *http.Request, title string) *View {
	v := &View{Title: title, CSRF: p.csrfToken(r), Flash: p.takeFlash(w, r), Form: r.URL.Query()}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			v.Form = r.PostForm
		}
	}
	return v
}

func (p *Portal) signUpPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "signup.html", p.anonymous(w, r, "Create your account"))
}

// signUp creates the person and signs them in at once, so that they can
// register a key before they have read the verification mail.
func (p *Portal) signUp(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Create your account")
	f := v.Form
	res, err := p.cfg.Access.SignUp(r.Context(), p.formMeta(w, r), access.NewPerson{FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
		Email: f.Get("email"), Password: f.Get("password"), AcceptTerms: f.Get("accept_terms") != ""})
	if !p.done(w, v, res.AppendResult, err) {
		p.render(w, r, "signup.html", v)
		return
	}
	if _, ok := p.signInAs(w, r, v, access.Credentials{Email: f.Get("email"), Password: f.Get("password")}); !ok {
		p.redirect(w, r, "/signin", "Your account is created; sign in.")
		return
	}
	p.redirect(w, r, "/", "Welcome! We have sent you a mail to verify your address.")
}

// signInAs opens a session with the credentials, gives the browser its
// cookie and returns the person signed in; on a problem it records it in
// v and returns false.
func (p *Portal) signInAs(w http.ResponseWriter, r *http.Request, v *View, c access.Credentials) (string, bool) {
	in, err := p.cfg.Access.SignIn(r.Context(), httpapi.ClientAddr(r), c)
	if err != nil {
		v.fail(err)
		return "", false
	}
	httpapi.SetSessionCookie(w, in.Cookie, in.Session, p.cfg.SecureCookies)
	p.cfg.Logger.InfoContext(r.Context(), "signed in", "request_id", httpapi.RequestID(r.Context()), "person_id", in.PersonID, "keep_signed_in", c.KeepSignedIn)
	return in.PersonID, true
}

// formMeta is the metadata of a form anyone may send: its actor is the
// signed-in person, if any, else access.Anonymous, as in the API.
func (p *Portal) formMeta(w http.ResponseWriter, r *http.Request) commands.Meta {
	actor := access.Anonymous
	if viewer, _, err := p.viewer(w, r); err == nil {
		actor = viewer.Actor
	}
	return commands.Meta{Actor: actor, CorrelationID: httpapi.RequestID(r.Context())}
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "signin.html", p.anonymous(w, r, "Sign in"))
}

func (p *Portal) signInForm(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Sign in")
	f := v.Form
	person, ok := p.signInAs(w, r, v, access.Credentials{Email: f.Get("email"), Password: f.Get("password"), KeepSignedIn: f.Get("keep_signed_in") != ""})
	if !ok {
		p.render(w, r, "signin.html", v)
		return
	}
	p.redirect(w, r, p.landing(r.Context(), person, f.Get("next")), "")
}

func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(httpapi.SessionCookie); err == nil {
		if err := p.cfg.Access.SignOut(r.Context(), c.Value); err != nil {
			p.fail(w, r, p.anonymous(w, r, "Sign out"), err)
			return
		}
	}
	httpapi.ClearSessionCookie(w, p.cfg.SecureCookies)
	p.redirect(w, r, "/signin", "You are signed out.")
}

func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "forgot.html", p.anonymous(w, r, "Forgotten password"))
}

func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Forgotten password")
	if err := p.cfg.Access.ForgotPassword(r.Context(), p.formMeta(w, r), httpapi.ClientAddr(r), v.Form.Get("email")); err != nil {
		v.fail(err)
		p.render(w, r, "forgot.html", v)
		return
	}
	p.redirect(w, r, "/signin", "If the address belongs to an account, a mail with a link to choose a new password is on its way.")
}

func (p *Portal) resetPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "reset.html", p.anonymous(w, r, "Choose a new password"))
}

// The pages a mail's link opens keep the link's person and token in the
// form's hidden fields "person" and "token".

func (p *Portal) reset(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Choose a new password")
	f := v.Form
	res, err := p.cfg.Access.ResetPassword(r.Context(), p.formMeta(w, r), f.Get("person"), f.Get("token"), f.Get("password"))
	if !p.done(w, v, res, err) {
		p.render(w, r, "reset.html", v)
		return
	}
	p.redirect(w, r, "/signin", "Your password is changed; sign in with it. Every session signed in as you has been signed out, "+
		"and your personal API tokens are revoked: create new ones for your scripts.")
}

func (p *Portal) verifyPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "verify.html", p.anonymous(w, r, "Verify your email address"))
}

func (p *Portal) verify(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Verify your email address")
	res, err := p.cfg.Commands.People.VerifyEmail(r.Context(), p.formMeta(w, r), v.Form.Get("person"), v.Form.Get("token"))
	if !p.done(w, v, res, err) {
		p.render(w, r, "verify.html", v)
		return
	}
	p.redirect(w, r, "/", "Your email address is verified.")
}

// acceptInvitation joins the account as the signed-in person, as an
// existing person with their email and password, or as a new person
// (the form's "mode").
func (p *Portal) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Join a business account")
	f := v.Form
	in := access.Acceptance{AccountID: f.Get("account"), InvitationID: f.Get("invitation"), Token: f.Get("token")}
	email, password := f.Get("email"), f.Get("password")
	switch f.Get("mode") {
	case "new":
		in.NewPerson = &access.NewPerson{FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
			Email: email, Password: password, AcceptTerms: f.Get("accept_terms") != ""}
	case "existing":
		in.Email, in.Password = email, password
	}
	res, err := p.cfg.Access.AcceptInvitation(r.Context(), p.formMeta(w, r), httpapi.ClientAddr(r), in)
	if !p.done(w, v, res.AppendResult, err) {
		p.renderInvitation(w, r, v)
		return
	}
	if v.CSRF == "" { // not signed in yet: sign in as the person who joined
		p.signInAs(w, r, v, access.Credentials{Email: email, Password: password})
	}
	p.redirect(w, r, "/switch?account="+url.QueryEscape(f.Get("account")), "You have joined the account.")
}
