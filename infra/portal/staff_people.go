package portal

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/staff"
	"seatledger/infra/access"
	"seatledger/infra/httpapi"
)

// The console's people page (issue 23): the owners keep the back office's
// staff: invite (add) a person with a role, change roles, remove (never
// the last owner), re-issue a lost enrolment token and reset a lost
// second factor. A new enrolment token is shown once, on the page that
// answers the form that made it, and nowhere else (it is stored hashed).
// Every handler asks the roster's policy for staff.PermStaff (staffPage)
// before it reads the form, and the use case asks again.

func init() {
	registerStaffPages(func(p *Portal, r chi.Router) {
		r.Get("/staff/people", p.staffPeoplePage)
		r.Post("/staff/people", p.staffAddPerson)
		r.Post("/staff/people/{staffID}/role", p.staffChangeRole)
		r.Post("/staff/people/{staffID}/remove", p.staffRemovePerson)
		r.Post("/staff/people/{staffID}/enrolment", p.staffReissueEnrolment)
		r.Post("/staff/people/{staffID}/totp-reset", p.staffResetTOTP)
	})
	registerStaffNav(StaffNavItem{Order: 80, Path: "/staff/people", Label: "People", Nav: "people", Perm: staff.PermStaff,
		Description: "Invite staff with a role, change roles, remove them, re-issue enrolment and reset a lost second factor."})
}

// staffPeopleView is the people page's data.
type staffPeopleView struct {
	People []staffPersonRow
	Roles  []string
	// Issued is the enrolment token a form just made, shown once.
	Issued *issuedEnrolment
}

// staffPersonRow is one staff person as the page lists them.
type staffPersonRow struct {
	ID, Email, DisplayName, Role string
	// State is "enrolled", "enrolment started" or "not enrolled".
	State             string
	Enrolled          bool
	RecoveryCodesLeft int
	// Me: the row is the signed-in owner.
	Me bool
}

// issuedEnrolment is a one-time enrolment token and whom it is for.
type issuedEnrolment struct {
	Email, Token, Why string
}

// staffPeople fills v with the roster's staff.
func (p *Portal) staffPeople(r *http.Request, v *View, issued *issuedEnrolment) error {
	roster, err := p.cfg.Commands.Staff.ListStaff(r.Context(), v.viewer.Actor)
	if err != nil {
		return err
	}
	view := staffPeopleView{Issued: issued}
	for _, role := range staff.Roles {
		view.Roles = append(view.Roles, role.String())
	}
	for _, m := range roster.Members() {
		row := staffPersonRow{ID: m.ID, Email: m.Email, DisplayName: m.DisplayName, Role: m.Role.String(), Enrolled: m.Enrolled,
			RecoveryCodesLeft: m.RecoveryCodesLeft(), Me: v.Staff != nil && v.Staff.ID == m.ID, State: "not enrolled"}
		switch {
		case m.Enrolled:
			row.State = "enrolled"
		case m.EnrolmentPending():
			row.State = "enrolment started"
		}
		view.People = append(view.People, row)
	}
	v.Page = view
	return nil
}

func (p *Portal) staffPeoplePage(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "People", "people", staff.PermStaff)
	if v == nil {
		return
	}
	if err := p.staffPeople(r, v, nil); err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	p.renderStaff(w, r, "staff_people.html", v)
}

// staffPeopleAnswer renders the people page after a form: with the
// problem when the use case refused it (the form shown again), else with
// the token it issued.
func (p *Portal) staffPeopleAnswer(w http.ResponseWriter, r *http.Request, v *View, issued *issuedEnrolment) {
	problem, status := v.Problem, v.Status
	if err := p.staffPeople(r, v, issued); err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	v.Problem, v.Status = problem, status
	p.renderStaff(w, r, "staff_people.html", v)
}

// staffAddPerson adds a staff person (an owner's) and shows their
// enrolment token once.
func (p *Portal) staffAddPerson(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "People", "people", staff.PermStaff)
	if v == nil {
		return
	}
	f := v.Form
	role, err := staff.ParseRole(f.Get("role"))
	if err != nil {
		v.fail(err)
		p.staffPeopleAnswer(w, r, v, nil)
		return
	}
	added, err := p.cfg.Commands.Staff.AddStaff(r.Context(), staffMeta(v, r), f.Get("email"), f.Get("display_name"), role)
	if !p.staffDone(w, v, added.AppendResult, err) {
		p.staffPeopleAnswer(w, r, v, nil)
		return
	}
	v.Flash = f.Get("display_name") + " was added as " + role.String() + "."
	v.Form = url.Values{}
	p.staffPeopleAnswer(w, r, v, &issuedEnrolment{Email: f.Get("email"), Token: added.EnrolmentToken, Why: "added"})
}

func (p *Portal) staffChangeRole(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "People", "people", staff.PermStaff)
	if v == nil {
		return
	}
	role, err := staff.ParseRole(v.Form.Get("role"))
	if err != nil {
		v.fail(err)
		p.staffPeopleAnswer(w, r, v, nil)
		return
	}
	res, err := p.cfg.Commands.Staff.ChangeStaffRole(r.Context(), staffMeta(v, r), chi.URLParam(r, "staffID"), role)
	if !p.staffDone(w, v, res, err) {
		p.staffPeopleAnswer(w, r, v, nil)
		return
	}
	p.redirect(w, r, "/staff/people", "The role was changed to "+role.String()+"; it counts from their next request.")
}

func (p *Portal) staffRemovePerson(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "People", "people", staff.PermStaff)
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Staff.RemoveStaff(r.Context(), staffMeta(v, r), chi.URLParam(r, "staffID"))
	if !p.staffDone(w, v, res, err) {
		p.staffPeopleAnswer(w, r, v, nil)
		return
	}
	p.redirect(w, r, "/staff/people", "The person was removed from the back office; their sessions ended.")
}

// staffIssue runs a use case that issues a new enrolment token to staff
// person {staffID} and shows it once.
func (p *Portal) staffIssue(w http.ResponseWriter, r *http.Request, why string,
	issue func(*commands.StaffHandler, commands.Meta, string) (commands.StaffAdded, error)) {
	v := p.staffPage(w, r, "People", "people", staff.PermStaff)
	if v == nil {
		return
	}
	id := chi.URLParam(r, "staffID")
	res, err := issue(p.cfg.Commands.Staff, staffMeta(v, r), id)
	if !p.staffDone(w, v, res.AppendResult, err) {
		p.staffPeopleAnswer(w, r, v, nil)
		return
	}
	issued := &issuedEnrolment{Token: res.EnrolmentToken, Why: why}
	if roster, err := p.cfg.Commands.Staff.Roster(r.Context()); err == nil {
		if m, ok := roster.Member(id); ok {
			issued.Email = m.Email
		}
	}
	p.staffPeopleAnswer(w, r, v, issued)
}

func (p *Portal) staffReissueEnrolment(w http.ResponseWriter, r *http.Request) {
	p.staffIssue(w, r, "re-issued", func(h *commands.StaffHandler, meta commands.Meta, id string) (commands.StaffAdded, error) {
		return h.ReissueEnrolment(r.Context(), meta, id)
	})
}

func (p *Portal) staffResetTOTP(w http.ResponseWriter, r *http.Request) {
	p.staffIssue(w, r, "second factor reset", func(h *commands.StaffHandler, meta commands.Meta, id string) (commands.StaffAdded, error) {
		return h.ResetStaffTOTP(r.Context(), meta, id)
	})
}

// The console's enrolment (issue 23): a staff person holding the one-time
// enrolment token an owner handed them chooses a password, adds the TOTP
// secret to their authenticator, keeps the recovery codes, and confirms
// with the authenticator's first code; only then can they sign in. The
// pages are public (the token is the credential), like POST
// /v1/staff/enrolment and /confirm, whose use cases they call.

func init() {
	registerStaffPages(func(p *Portal, r chi.Router) {
		r.Get("/staff/enrol", p.staffEnrolPage)
		r.Post("/staff/enrol", p.staffEnrol)
		r.Post("/staff/enrol/confirm", p.staffConfirmEnrolment)
	})
}

// staffEnrolView is the enrolment page's data: after the first step, the
// secret, its otpauth:// URL and the recovery codes, shown once.
type staffEnrolView struct {
	Started    bool
	TOTPSecret string
	// TOTPURL is the otpauth:// URL authenticator apps open; the totp
	// package builds it with its parts escaped, so it is a safe link.
	TOTPURL       template.URL
	RecoveryCodes []string
}

func (p *Portal) staffEnrolView(w http.ResponseWriter, r *http.Request) *View {
	v := p.staffAnonymous(w, r)
	v.Title, v.CSRF, v.Page = "Staff enrolment", p.staffCSRF(r), staffEnrolView{}
	return v
}

func (p *Portal) staffEnrolPage(w http.ResponseWriter, r *http.Request) {
	p.renderStaff(w, r, "staff_enrol.html", p.staffEnrolView(w, r))
}

// staffEnrol starts the enrolment: the password, and the secret shown once.
func (p *Portal) staffEnrol(w http.ResponseWriter, r *http.Request) {
	v := p.staffEnrolView(w, r)
	f := v.Form
	meta := commands.Meta{Actor: access.Anonymous, CorrelationID: httpapi.RequestID(r.Context())}
	e, err := p.cfg.Commands.Staff.EnrolStaff(r.Context(), meta, f.Get("email"), f.Get("token"), f.Get("password"))
	if err != nil {
		v.fail(err)
		p.renderStaff(w, r, "staff_enrol.html", v)
		return
	}
	p.wrote(w, e.AppendResult)
	v.Page = staffEnrolView{Started: true, TOTPSecret: e.TOTPSecret, TOTPURL: template.URL(e.TOTPURL), RecoveryCodes: e.RecoveryCodes}
	p.renderStaff(w, r, "staff_enrol.html", v)
}

// staffConfirmEnrolment completes it with the authenticator's first code.
func (p *Portal) staffConfirmEnrolment(w http.ResponseWriter, r *http.Request) {
	v := p.staffEnrolView(w, r)
	f := v.Form
	meta := commands.Meta{Actor: access.Anonymous, CorrelationID: httpapi.RequestID(r.Context())}
	res, _, err := p.cfg.Commands.Staff.ConfirmStaffEnrolment(r.Context(), meta, f.Get("email"), f.Get("token"), f.Get("code"))
	if err != nil {
		v.fail(err)
		v.Page = staffEnrolView{Started: true}
		p.renderStaff(w, r, "staff_enrol.html", v)
		return
	}
	p.wrote(w, res)
	p.redirect(w, r, "/staff/sign-in", "You are enrolled. Sign in with your password and the next code your authenticator shows.")
}
