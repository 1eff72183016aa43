package portal

import (
	"net/http"
	"net/url"

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
	body := map[string]any{"first_name": f.Get("first_name"), "last_name": f.Get("last_name"), "email": f.Get("email"),
		"password": f.Get("password"), "accept_terms": f.Get("accept_terms") != ""}
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/signup", body), nil) {
		p.render(w, r, "signup.html", v)
		return
	}
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/session", map[string]any{"email": f.Get("email"), "password": f.Get("password")}), nil) {
		p.redirect(w, r, "/signin", "Your account is created; sign in.")
		return
	}
	p.redirect(w, r, "/", "Welcome! We have sent you a mail to verify your address.")
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "signin.html", p.anonymous(w, r, "Sign in"))
}

func (p *Portal) signInForm(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Sign in")
	f := v.Form
	body := map[string]any{"email": f.Get("email"), "password": f.Get("password"), "keep_signed_in": f.Get("keep_signed_in") != ""}
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/session", body), nil) {
		p.render(w, r, "signin.html", v)
		return
	}
	p.redirect(w, r, safeNext(f.Get("next")), "")
}

func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	p.call(w, r, request{method: http.MethodDelete, path: "/v1/session"})
	p.redirect(w, r, "/signin", "You are signed out.")
}

func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "forgot.html", p.anonymous(w, r, "Forgotten password"))
}

func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Forgotten password")
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/password/forgot", map[string]any{"email": v.Form.Get("email")}), nil) {
		p.render(w, r, "forgot.html", v)
		return
	}
	p.redirect(w, r, "/signin", "If the address belongs to an account, a mail with a link to choose a new password is on its way.")
}

// linkBody is the body of the calls that a mail's link makes: the person
// and token from the link's query, kept in the form's hidden fields.
func linkBody(f url.Values) map[string]any {
	return map[string]any{"person_id": f.Get("person"), "token": f.Get("token")}
}

func (p *Portal) resetPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "reset.html", p.anonymous(w, r, "Choose a new password"))
}

func (p *Portal) reset(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Choose a new password")
	body := linkBody(v.Form)
	body["password"] = v.Form.Get("password")
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/password/reset", body), nil) {
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
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/email/verify", linkBody(v.Form)), nil) {
		p.render(w, r, "verify.html", v)
		return
	}
	p.redirect(w, r, "/", "Your email address is verified.")
}

func (p *Portal) invitationPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "invitation.html", p.anonymous(w, r, "Join a business account"))
}

// acceptInvitation joins the account as the signed-in person, as an
// existing person with their email and password, or as a new person
// (the form's "mode").
func (p *Portal) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	v := p.anonymous(w, r, "Join a business account")
	f := v.Form
	body := map[string]any{"account_id": f.Get("account"), "invitation_id": f.Get("invitation"), "token": f.Get("token")}
	email, password := f.Get("email"), f.Get("password")
	switch f.Get("mode") {
	case "new":
		body["new_person"] = map[string]any{"first_name": f.Get("first_name"), "last_name": f.Get("last_name"),
			"email": email, "password": password, "accept_terms": f.Get("accept_terms") != ""}
	case "existing":
		body["email"], body["password"] = email, password
	}
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/invitations/accept", body), nil) {
		p.render(w, r, "invitation.html", v)
		return
	}
	if v.CSRF == "" { // not signed in yet: sign in as the person who joined
		p.submit(w, r, v, jsonRequest(http.MethodPost, "/v1/session", map[string]any{"email": email, "password": password}), nil)
	}
	p.redirect(w, r, "/switch?account="+url.QueryEscape(f.Get("account")), "You have joined the account.")
}
