package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"seatledger/domain/account"
)

// The invitation's page (rule MEM-4): it names the company and the admin
// who invited, the address the invitation is for and until when it
// works, in the invitation's own language, as its mail did.

// invitationView is the invitation page's data.
type invitationView struct {
	// T is the page's text in the invitation's language.
	T invitationText
	// Intro and For say who invited whom to what; Valid: the link works,
	// so the page offers its forms.
	Intro, For string
	Valid      bool
}

// invitationText is the invitation page's text in one language.
type invitationText struct {
	Lang, Title, Generic, SignedIn, New, Existing   string
	FirstName, LastName, Email, Password, Terms     string
	CreateAndJoin, SignInAndJoin, InvitedAddressTag string
	// intro is the format of "<inviter> invited you to join <company>",
	// anonymous of the same without an inviter, forAddress of the address
	// and the expiry's day (written as date).
	intro, anonymous, forAddress, date string
}

// invitationTexts are the languages the page speaks: those of the
// invitation mails (infra/mail/templates); any other is English's.
var invitationTexts = map[string]invitationText{
	"en": {Lang: "en", Title: "Join a business account",
		Generic:  "You have been invited to join a business account. The invitation is for the address it was sent to: join as the person who owns that address (verified), or sign up with it.",
		SignedIn: "Join as the person signed in", New: "I am new here", Existing: "I have an account",
		FirstName: "First name", LastName: "Last name", Email: "Email address", Password: "Password", Terms: "I accept the terms of use",
		CreateAndJoin: "Create my account and join", SignInAndJoin: "Sign in and join", InvitedAddressTag: "the invited one",
		intro:      "%s invited you to join the business account %s on seatledger.",
		anonymous:  "You have been invited to join the business account %s on seatledger.",
		forAddress: "The invitation is for %s and works until %s: join as the person who owns that address (once it is verified), or sign up with it.",
		date:       "2 Jan 2006"},
	"de": {Lang: "de", Title: "Einem Geschäftskonto beitreten",
		Generic:  "Sie wurden eingeladen, einem Geschäftskonto beizutreten. Die Einladung gilt für die Adresse, an die sie ging: Treten Sie als die Person bei, der diese Adresse gehört (bestätigt), oder registrieren Sie sich mit ihr.",
		SignedIn: "Als angemeldete Person beitreten", New: "Ich bin neu hier", Existing: "Ich habe ein Konto",
		FirstName: "Vorname", LastName: "Nachname", Email: "E-Mail-Adresse", Password: "Passwort", Terms: "Ich akzeptiere die Nutzungsbedingungen",
		CreateAndJoin: "Konto anlegen und beitreten", SignInAndJoin: "Anmelden und beitreten", InvitedAddressTag: "die eingeladene",
		intro:      "%s hat Sie eingeladen, dem Geschäftskonto %s bei seatledger beizutreten.",
		anonymous:  "Sie wurden eingeladen, dem Geschäftskonto %s bei seatledger beizutreten.",
		forAddress: "Die Einladung gilt für %s bis zum %s: Treten Sie als die Person bei, der diese Adresse gehört (sobald sie bestätigt ist), oder registrieren Sie sich mit ihr.",
		date:       "02.01.2006"},
}

// invitationLanguage is the page's language for an invitation's language
// tag ("de-AT" is German); English for any other.
func invitationLanguage(tag string) invitationText {
	tag = strings.ToLower(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	if t, ok := invitationTexts[tag]; ok {
		return t
	}
	return invitationTexts["en"]
}

func (p *Portal) invitationPage(w http.ResponseWriter, r *http.Request) {
	p.renderInvitation(w, r, p.anonymous(w, r, "Join a business account"))
}

// renderInvitation renders the invitation's page of the form's link
// (account, invitation, token): in its language, naming the company and
// the inviter once the link is checked. A link that does not work any
// more says why instead of offering forms; a problem v holds already
// (a failed join) is kept.
func (p *Portal) renderInvitation(w http.ResponseWriter, r *http.Request, v *View) {
	page := invitationView{T: invitationTexts["en"], Valid: true}
	acc, inv, token := v.Value("account"), v.Value("invitation"), v.Value("token")
	if acc != "" && inv != "" && token != "" {
		preview, err := p.cfg.Commands.Accounts.PreviewInvitation(r.Context(), acc, inv, token)
		switch {
		case err == nil:
			page.T = invitationLanguage(preview.Language)
			page.Intro = fmt.Sprintf(page.T.anonymous, preview.Company)
			if preview.Inviter != "" {
				page.Intro = fmt.Sprintf(page.T.intro, preview.Inviter, preview.Company)
			}
			page.For = fmt.Sprintf(page.T.forAddress, preview.Email, formatTime(preview.ExpiresAt, page.T.date))
		case errors.Is(err, account.ErrNoInvitation) || errors.Is(err, account.ErrInvitationUsed) || errors.Is(err, account.ErrInvitationExpired):
			if v.Problem == nil {
				v.fail(err)
				page.Valid = false
			}
		default:
			p.fail(w, r, v, err)
			return
		}
	}
	v.Title, v.Lang, v.Page = page.T.Title, page.T.Lang, page
	p.render(w, r, "invitation.html", v)
}
