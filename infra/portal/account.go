package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// accountPages: the signed-in person's own profile and security settings,
// and a business account's profile and users (rules MEM-1..MEM-9). Every
// decision (who may change what, the last admin, valid company details)
// is the API's; these pages show its answers.
func (p *Portal) accountPages(r chi.Router) {
	r.Get("/me", p.meProfile)
	r.Post("/me", p.meChangeName)
	r.Post("/me/accounts", p.meCreateAccount)
	r.Get("/me/security", p.meSecurity)
	r.Post("/me/password", p.meChangePassword)
	r.Post("/me/tokens", p.meIssueToken)
	r.Post("/me/tokens/{tokenID}/revoke", p.meRevokeToken)

	const acc = "/accounts/{accountID}"
	r.Get(acc+"/profile", p.businessPage(""))
	r.Post(acc+"/profile", p.businessChange)
	r.Get(acc+"/profile/edit", p.businessPage("edit"))
	r.Get(acc+"/profile/leave", p.businessPage("leave"))
	r.Post(acc+"/profile/leave", p.businessLeave)

	r.Get(acc+"/users", p.usersPage(""))
	r.Get(acc+"/users/invite", p.usersPage("invite"))
	r.Post(acc+"/users/invite", p.usersInvite)
	r.Post(acc+"/invitations/{invitationID}/revoke", p.usersRevokeInvitation)
	r.Get(acc+"/users/{personID}", p.usersPage("member"))
	r.Post(acc+"/users/{personID}/role", p.usersChangeRole)
	r.Post(acc+"/users/{personID}/block", p.usersBlock(false))
	r.Post(acc+"/users/{personID}/unblock", p.usersBlock(true))
	r.Get(acc+"/users/{personID}/delete", p.usersPage("delete"))
	r.Post(acc+"/users/{personID}/delete", p.usersDelete)
}

// acctPlace puts a 400 problem that names no field next to field, so
// that the reason stands beside the input it is about.
func acctPlace(v *View, field string) {
	if v.Problem == nil || v.Status != http.StatusBadRequest || len(v.Problem.InvalidParams) > 0 || field == "" {
		return
	}
	reason := v.Problem.Detail
	if reason == "" {
		reason = v.Problem.Title
	}
	v.Problem.InvalidParams = []httpapi.InvalidParam{{Name: field, Reason: reason}}
}

// acctRename renames the fields a problem names (the API's name → the
// form's).
func acctRename(v *View, names map[string]string) {
	if v.Problem == nil {
		return
	}
	for i, ip := range v.Problem.InvalidParams {
		if to, ok := names[ip.Name]; ok {
			v.Problem.InvalidParams[i].Name = to
		}
	}
}

// meView is the data of the person's own pages: the form whose problem
// is shown, and a new API token shown once (its name and secret).
type meView struct {
	Failed      string
	Token, Name string
}

// acctCompany is the company of the company form.
func acctCompany(f url.Values) account.Company {
	t := func(name string) string { return strings.TrimSpace(f.Get("company." + name)) }
	return account.Company{Name: t("name"), Street: t("street"), City: t("city"), Country: t("country"), State: t("state"),
		ZIP: t("zip"), Phone: t("phone")}
}

// acctContext shows /me's pages in the account used last (or the
// personal one), so that the header and the account's menu stay.
func acctContext(v *View) {
	v.framed = true
	if !v.setAccount(v.lastAccount) {
		v.setAccount(v.Me.PersonalAccountID)
	}
}

// --- Personal profile (MEM-1, MEM-2, MEM-3) ---

func (p *Portal) meProfile(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Personal profile", "profile")
	if v == nil {
		return
	}
	p.meRenderProfile(w, r, v, "")
}

// meRenderProfile renders /me; failed names the form whose problem is
// shown ("name" or "account").
func (p *Portal) meRenderProfile(w http.ResponseWriter, r *http.Request, v *View, failed string) {
	acctContext(v)
	if failed != "name" {
		v.Form.Set("first_name", v.Me.FirstName)
		v.Form.Set("last_name", v.Me.LastName)
	}
	v.Page = meView{Failed: failed}
	p.render(w, r, "account-profile.html", v)
}

func (p *Portal) meChangeName(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Personal profile", "profile")
	if v == nil {
		return
	}
	first, last := v.Form.Get("first_name"), v.Form.Get("last_name")
	res, err := p.cfg.Commands.People.ChangePersonProfile(r.Context(), v.meta(r), first, last)
	if !p.done(w, v, res, err) {
		field := "first_name"
		if strings.TrimSpace(first) != "" && strings.TrimSpace(last) == "" {
			field = "last_name"
		}
		acctPlace(v, field)
		p.meRenderProfile(w, r, v, "name")
		return
	}
	p.redirect(w, r, "/me", "Your name is changed.")
}

// meCreateAccount creates a business account with the person as its
// admin (MEM-3) and opens its business profile.
func (p *Portal) meCreateAccount(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Personal profile", "profile")
	if v == nil {
		return
	}
	company := acctCompany(v.Form)
	id := uuid.Must(uuid.NewV7()).String()
	res, err := p.cfg.Commands.Accounts.CreateBusinessAccount(r.Context(), v.meta(r), commands.CreateBusinessAccount{AccountID: id, Company: company})
	if !p.done(w, v, res, err) {
		p.meRenderProfile(w, r, v, "account")
		return
	}
	p.redirect(w, r, "/accounts/"+url.PathEscape(id)+"/profile",
		fmt.Sprintf("The business account %s is created; you are its account admin.", company.Name))
}

// --- Security settings (MEM-1) ---

func (p *Portal) meSecurity(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Security settings", "security")
	if v == nil {
		return
	}
	p.meRenderSecurity(w, r, v, "")
}

// meRenderSecurity renders /me/security; failed names the form whose
// problem is shown ("password", "token" or "revoke").
func (p *Portal) meRenderSecurity(w http.ResponseWriter, r *http.Request, v *View, failed string) {
	acctContext(v)
	v.Page = meView{Failed: failed}
	p.render(w, r, "account-security.html", v)
}

// meChangePassword changes the password; every other session of the
// person then ends. A wrong current password is the field's problem.
func (p *Portal) meChangePassword(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Security settings", "security")
	if v == nil {
		return
	}
	var keep string
	if c, err := r.Cookie(httpapi.SessionCookie); err == nil {
		keep = c.Value
	}
	res, err := p.cfg.Access.ChangePassword(r.Context(), v.meta(r), httpapi.ClientAddr(r), keep, v.Form.Get("current_password"), v.Form.Get("new_password"))
	if !p.done(w, v, res, err) {
		if errors.Is(err, person.ErrBadCredentials) && len(v.Problem.InvalidParams) == 0 {
			v.Problem.InvalidParams = []httpapi.InvalidParam{{Name: "current_password", Reason: v.Problem.Detail}}
		}
		acctRename(v, map[string]string{"password": "new_password"})
		p.meRenderSecurity(w, r, v, "password")
		return
	}
	p.redirect(w, r, "/me/security", "Your password is changed. Every other session signed in as you has been signed out; this browser stays signed in.")
}

// meIssueToken creates a personal API token and shows it once: the API
// keeps only its hash.
func (p *Portal) meIssueToken(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Security settings", "security")
	if v == nil {
		return
	}
	name := v.Form.Get("name")
	res, err := p.cfg.Commands.People.IssueAPIToken(r.Context(), v.meta(r), name)
	if !p.done(w, v, res.AppendResult, err) {
		acctPlace(v, "name")
		p.meRenderSecurity(w, r, v, "token")
		return
	}
	acctContext(v)
	v.Title = "Your new API token"
	v.Page = meView{Token: res.Token, Name: strings.TrimSpace(name)}
	v.Status = http.StatusCreated
	p.render(w, r, "account-token.html", v)
}

func (p *Portal) meRevokeToken(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Security settings", "security")
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.People.RevokeAPIToken(r.Context(), v.meta(r), chi.URLParam(r, "tokenID"))
	if !p.done(w, v, res, err) {
		p.meRenderSecurity(w, r, v, "revoke")
		return
	}
	msg := "The API token is revoked; requests that bear it are refused from now on."
	if n := strings.TrimSpace(v.Form.Get("token_name")); n != "" {
		msg = fmt.Sprintf("The API token “%s” is revoked; requests that bear it are refused from now on.", n)
	}
	p.redirect(w, r, "/me/security", msg)
}

// --- Business profile (MEM-3, MEM-9) ---

// acctBusiness refuses the business pages of a personal account.
func (p *Portal) acctBusiness(w http.ResponseWriter, r *http.Request, v *View) bool {
	if v.IsBusiness() {
		return true
	}
	p.fail(w, r, v, &httpapi.Problem{Status: http.StatusNotFound, Title: "Not found",
		Detail: "a personal account has no business profile or users; switch to a business account"})
	return false
}

// businessPage is the business profile; dialog is "", "edit" (the
// company form) or "leave" (confirm leaving).
func (p *Portal) businessPage(dialog string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, "Business profile", "business")
		if v == nil {
			return
		}
		p.businessRender(w, r, v, dialog)
	}
}

// businessView is the business profile page's data.
type businessView struct {
	Profile queries.BusinessProfile
	// Dialog is "", "edit" or "leave".
	Dialog string
}

func (p *Portal) businessRender(w http.ResponseWriter, r *http.Request, v *View, dialog string) {
	if !p.acctBusiness(w, r, v) {
		return
	}
	profile, err := p.cfg.Queries.AccountProfile(r.Context(), v.viewer, v.AccountID)
	if err == nil && profile.Business == nil {
		err = &httpapi.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "a personal account has no business profile"}
	}
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	if dialog == "edit" && r.Method == http.MethodGet {
		c := profile.Business.Company
		for k, val := range map[string]string{"name": c.Name, "street": c.Street, "city": c.City, "country": c.Country, "state": c.State,
			"zip": c.ZIP, "phone": c.Phone} {
			v.Form.Set("company."+k, val)
		}
	}
	v.Page = businessView{Profile: *profile.Business, Dialog: dialog}
	p.render(w, r, "account-business.html", v)
}

func (p *Portal) businessChange(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Business profile", "business")
	if v == nil {
		return
	}
	if !p.acctBusiness(w, r, v) {
		return
	}
	res, err := p.cfg.Commands.Accounts.ChangeCompanyProfile(r.Context(), v.meta(r), commands.ChangeCompanyProfile{AccountID: v.AccountID, Company: acctCompany(v.Form)})
	if !p.done(w, v, res, err) {
		p.businessRender(w, r, v, "edit")
		return
	}
	p.redirect(w, r, "/accounts/"+url.PathEscape(v.AccountID)+"/profile", "The company information is saved.")
}

// businessLeave ends the person's own membership (MEM-9); the last admin
// gets the API's problem.
func (p *Portal) businessLeave(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Business profile", "business")
	if v == nil {
		return
	}
	if !p.acctBusiness(w, r, v) {
		return
	}
	res, err := p.cfg.Commands.Accounts.LeaveBusinessAccount(r.Context(), v.meta(r), commands.LeaveBusinessAccount{AccountID: v.AccountID})
	if !p.done(w, v, res, err) {
		p.businessRender(w, r, v, "leave")
		return
	}
	p.redirect(w, r, "/me", fmt.Sprintf("You have left the business account %s.", v.Account.CompanyName))
}

// --- Users (MEM-4, MEM-5, MEM-7, MEM-8, MEM-9) ---

// usersPage is the members list; dialog is "", "invite", "member" (one
// member's page) or "delete" (confirm deleting a member).
func (p *Portal) usersPage(dialog string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, "Users", "users")
		if v == nil {
			return
		}
		p.usersRender(w, r, v, dialog)
	}
}

// usersView is the users page's data.
type usersView struct {
	// Base is the account's path; List the list's URL with its filters;
	// QS the filters' query ("" or "?…"), kept by the dialogs' links.
	Base, List, QS string
	// Search, Role and Status are the list's filters.
	Search, Role, Status string
	Members              queries.MembersPage
	// Invitations are the pending (or expired) invitations, shown to
	// admins (ShowInvitations) when the filters let invited people in.
	Invitations     []queries.Invitation
	ShowInvitations bool
	// Dialog is "", "invite", "member" or "delete"; Member and MemberName
	// the member it is about.
	Dialog     string
	Member     *queries.Member
	MemberName string
}

// usersRender renders the members list with the filters of the URL's
// query (q: name or email; role; status: active, blocked or invited),
// the pending invitations for admins, and the dialog.
func (p *Portal) usersRender(w http.ResponseWriter, r *http.Request, v *View, dialog string) {
	if !p.acctBusiness(w, r, v) {
		return
	}
	base := "/accounts/" + url.PathEscape(v.AccountID)
	q := r.URL.Query()
	search, role, status := strings.TrimSpace(q.Get("q")), q.Get("role"), q.Get("status")
	if search == "" {
		search = strings.TrimSpace(q.Get("search")) // the API's name
	}
	filter := url.Values{}
	for k, s := range map[string]string{"q": search, "role": role, "status": status} {
		if s != "" {
			filter.Set(k, s)
		}
	}
	qs := ""
	if len(filter) > 0 {
		qs = "?" + filter.Encode()
	}
	page := &usersView{Base: base, List: base + "/users" + qs, QS: qs, Search: search, Role: role, Status: status, Dialog: dialog}
	v.Page = page

	// The members: "invited" is the portal's own status (invitations, no
	// members); the others are the query's filters.
	if status != "invited" {
		if role != "" && role != "member" && role != "admin" {
			p.fail(w, r, v, httpapi.ProblemInvalidRequest.New("role must be member or admin").Field("role"))
			return
		}
		if status != "" && status != "active" && status != "blocked" {
			p.fail(w, r, v, httpapi.ProblemInvalidRequest.New("status must be active or blocked").Field("status"))
			return
		}
		if len(search) > 200 || len(q.Get("after")) > 1000 {
			p.fail(w, r, v, httpapi.ProblemInvalidRequest.New("search or after is too long"))
			return
		}
		members, err := p.cfg.Queries.Members(r.Context(), v.viewer, queries.MembersFilter{AccountID: v.AccountID, Search: search, Role: role,
			Status: status, After: q.Get("after")})
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		page.Members = members
	}

	// Pending invitations, for admins (the query lists them to those who
	// manage members), when the filters let invited people in.
	if v.IsAdmin() && (status == "" || status == "invited") && role != "admin" && q.Get("after") == "" {
		list, err := p.cfg.Queries.Invitations(r.Context(), v.viewer, v.AccountID, p.cfg.Now())
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		for _, inv := range list {
			if (inv.Status == "pending" || inv.Status == "expired") && strings.Contains(strings.ToLower(inv.Email), strings.ToLower(search)) {
				page.Invitations = append(page.Invitations, inv)
			}
		}
		page.ShowInvitations = true
	}

	if dialog == "member" || dialog == "delete" {
		member, err := p.acctFindMember(r, v, chi.URLParam(r, "personID"))
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		if member == nil {
			p.fail(w, r, v, &httpapi.Problem{Status: http.StatusNotFound, Title: "Not found",
				Detail: "this person is not a member of the account (any more)"})
			return
		}
		page.Member = member
		page.MemberName = strings.TrimSpace(member.FirstName + " " + member.LastName)
		if page.MemberName == "" {
			page.MemberName = member.Email
		}
		if r.Method == http.MethodGet || v.Form.Get("role") == "" { // a GET's "role" is the list's filter
			v.Form.Set("role", member.Role)
		}
	}
	p.render(w, r, "account-users.html", v)
}

// acctFindMember reads the member personID of the page's account; nil if
// they are not a member.
func (p *Portal) acctFindMember(r *http.Request, v *View, personID string) (*queries.Member, error) {
	page, err := p.cfg.Queries.Members(r.Context(), v.viewer, queries.MembersFilter{AccountID: v.AccountID, PersonIDs: []string{personID}})
	if err != nil {
		return nil, err
	}
	for _, m := range page.Members {
		if m.PersonID == personID {
			return &m, nil
		}
	}
	return nil, nil
}

// acctUsersPost starts a POST of the users pages.
func (p *Portal) acctUsersPost(w http.ResponseWriter, r *http.Request) *View {
	v := p.accountPage(w, r, "Users", "users")
	if v == nil || !p.acctBusiness(w, r, v) {
		return nil
	}
	return v
}

// acctUsersURL is the users list, keeping the filters the form carried.
func acctUsersURL(v *View, suffix string) string {
	u := "/accounts/" + url.PathEscape(v.AccountID) + "/users" + suffix
	if back := v.Form.Get("back"); strings.HasPrefix(back, "?") {
		u += back
	}
	return u
}

// usersInvite invites one or several addresses in one language (MEM-4).
func (p *Portal) usersInvite(w http.ResponseWriter, r *http.Request) {
	v := p.acctUsersPost(w, r)
	if v == nil {
		return
	}
	emails := strings.FieldsFunc(v.Form.Get("emails"), func(c rune) bool { return c == ',' || c == ';' || unicode.IsSpace(c) })
	if emails == nil {
		emails = []string{}
	}
	language := v.Form.Get("language")
	if language == "" {
		language = "en" // as the API: no language, an English mail
	}
	res, err := p.cfg.Commands.Accounts.InviteMembers(r.Context(), v.meta(r), commands.InviteMembers{AccountID: v.AccountID, Language: language, Emails: emails})
	if !p.done(w, v, res.AppendResult, err) {
		field := "emails"
		if v.Problem != nil && strings.Contains(v.Problem.Detail, "language") {
			field = "language"
		}
		acctPlace(v, field)
		p.usersRender(w, r, v, "invite")
		return
	}
	msg := fmt.Sprintf("%d invitations are on their way.", len(emails))
	if len(emails) <= 5 {
		msg = "Invitation sent to " + strings.Join(emails, ", ") + "."
	}
	p.redirect(w, r, acctUsersURL(v, ""), msg)
}

// usersRevokeInvitation withdraws a pending invitation (MEM-4).
func (p *Portal) usersRevokeInvitation(w http.ResponseWriter, r *http.Request) {
	v := p.acctUsersPost(w, r)
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Accounts.RevokeInvitation(r.Context(), v.meta(r), v.AccountID, chi.URLParam(r, "invitationID"))
	if !p.done(w, v, res, err) {
		p.usersRender(w, r, v, "")
		return
	}
	msg := "The invitation is withdrawn; its link no longer works."
	if e := strings.TrimSpace(v.Form.Get("email")); e != "" {
		msg = "The invitation of " + e + " is withdrawn; its link no longer works."
	}
	p.redirect(w, r, acctUsersURL(v, ""), msg)
}

// usersChangeRole promotes or demotes a member, with a note (MEM-7).
func (p *Portal) usersChangeRole(w http.ResponseWriter, r *http.Request) {
	v := p.acctUsersPost(w, r)
	if v == nil {
		return
	}
	person, role := chi.URLParam(r, "personID"), v.Form.Get("role")
	if role != "member" && role != "admin" {
		v.Problem = &httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: "choose a role",
			InvalidParams: []httpapi.InvalidParam{{Name: "role", Reason: "must be regular member or account admin"}}}
		v.Status = http.StatusBadRequest
		p.usersRender(w, r, v, "member")
		return
	}
	newRole, err := account.ParseRole(role)
	var res event.AppendResult
	if err == nil {
		res, err = p.cfg.Commands.Accounts.ChangeMemberRole(r.Context(), v.meta(r), commands.ChangeMemberRole{AccountID: v.AccountID, PersonID: person,
			Role: newRole, Note: strings.TrimSpace(v.Form.Get("note"))})
	}
	if !p.done(w, v, res, err) {
		p.usersRender(w, r, v, "member")
		return
	}
	label := "a regular member"
	if role == "admin" {
		label = "an account admin"
	}
	p.redirect(w, r, acctUsersURL(v, ""), fmt.Sprintf("%s is now %s.", acctWho(v), label))
}

// acctWho names the member a form was about (its hidden member_name).
func acctWho(v *View) string {
	if n := strings.TrimSpace(v.Form.Get("member_name")); n != "" {
		return n
	}
	return "The member"
}

// usersBlock blocks or unblocks a member (MEM-8).
func (p *Portal) usersBlock(unblock bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.acctUsersPost(w, r)
		if v == nil {
			return
		}
		person := chi.URLParam(r, "personID")
		res, err := p.cfg.Commands.Accounts.BlockMember(r.Context(), v.meta(r), commands.BlockMember{AccountID: v.AccountID, PersonID: person, Unblock: unblock})
		if !p.done(w, v, res, err) {
			p.usersRender(w, r, v, "member")
			return
		}
		msg := acctWho(v) + " is blocked: they keep their membership but cannot use the account until unblocked. They have been told by mail."
		if unblock {
			msg = acctWho(v) + " is unblocked and can use the account again. They have been told by mail."
		}
		p.redirect(w, r, acctUsersURL(v, "/"+url.PathEscape(person)), msg)
	}
}

// usersDelete removes a member (MEM-8); they can be invited again.
func (p *Portal) usersDelete(w http.ResponseWriter, r *http.Request) {
	v := p.acctUsersPost(w, r)
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Accounts.RemoveMember(r.Context(), v.meta(r), commands.RemoveMember{AccountID: v.AccountID, PersonID: chi.URLParam(r, "personID")})
	if !p.done(w, v, res, err) {
		p.usersRender(w, r, v, "delete")
		return
	}
	p.redirect(w, r, acctUsersURL(v, ""), acctWho(v)+" is removed from the account and has been told by mail; you can invite them again later.")
}
