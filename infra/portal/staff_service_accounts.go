package portal

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/staff"
)

// The console's service accounts page (issue 23): the owners keep the
// credentials of the vendor's machines (the order system): create one
// with a name, list them, rotate a token (the old one stops at once) and
// revoke one for good. A token is shown once, on the page that answers
// the form that made it, and stored hashed. Every handler asks the
// roster's policy for staff.PermStaff before it reads the form.

func init() {
	registerStaffPages(func(p *Portal, r chi.Router) {
		r.Get("/staff/service-accounts", p.staffServicesPage)
		r.Post("/staff/service-accounts", p.staffCreateService)
		r.Post("/staff/service-accounts/{serviceID}/rotate", p.staffRotateService)
		r.Post("/staff/service-accounts/{serviceID}/revoke", p.staffRevokeService)
	})
	registerStaffNav(StaffNavItem{Order: 85, Path: "/staff/service-accounts", Label: "Service accounts", Nav: "service-accounts",
		Perm: staff.PermStaff, Description: "The order system's and other machines' credentials: create, rotate and revoke them."})
}

// staffServicesView is the service accounts page's data.
type staffServicesView struct {
	Accounts []staffServiceRow
	// Issued is the token a form just made, shown once.
	Issued *issuedServiceToken
}

// staffServiceRow is one service account as the page lists it.
type staffServiceRow struct {
	ID, Name string
	Revoked  bool
}

// issuedServiceToken is a service account's new token.
type issuedServiceToken struct {
	Name, Token, Why string
}

func (p *Portal) staffServices(r *http.Request, v *View, issued *issuedServiceToken) error {
	roster, err := p.cfg.Commands.Staff.ListStaff(r.Context(), v.viewer.Actor)
	if err != nil {
		return err
	}
	view := staffServicesView{Issued: issued}
	for _, s := range roster.Services() {
		view.Accounts = append(view.Accounts, staffServiceRow{ID: s.ID, Name: s.Name, Revoked: s.Revoked})
	}
	v.Page = view
	return nil
}

func (p *Portal) staffServicesPage(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Service accounts", "service-accounts", staff.PermStaff)
	if v == nil {
		return
	}
	if err := p.staffServices(r, v, nil); err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	p.renderStaff(w, r, "staff_service_accounts.html", v)
}

// staffServicesAnswer renders the page after a form: with the problem
// when the use case refused it, else with the token it issued.
func (p *Portal) staffServicesAnswer(w http.ResponseWriter, r *http.Request, v *View, issued *issuedServiceToken) {
	problem, status := v.Problem, v.Status
	if err := p.staffServices(r, v, issued); err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	v.Problem, v.Status = problem, status
	p.renderStaff(w, r, "staff_service_accounts.html", v)
}

func (p *Portal) staffCreateService(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Service accounts", "service-accounts", staff.PermStaff)
	if v == nil {
		return
	}
	name := v.Form.Get("name")
	res, err := p.cfg.Commands.Staff.CreateServiceAccount(r.Context(), staffMeta(v, r), name)
	if !p.staffDone(w, v, res.AppendResult, err) {
		p.staffServicesAnswer(w, r, v, nil)
		return
	}
	v.Form = url.Values{}
	p.staffServicesAnswer(w, r, v, &issuedServiceToken{Name: name, Token: res.Token, Why: "created"})
}

func (p *Portal) staffRotateService(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Service accounts", "service-accounts", staff.PermStaff)
	if v == nil {
		return
	}
	id := chi.URLParam(r, "serviceID")
	res, err := p.cfg.Commands.Staff.RotateServiceAccount(r.Context(), staffMeta(v, r), id)
	if !p.staffDone(w, v, res.AppendResult, err) {
		p.staffServicesAnswer(w, r, v, nil)
		return
	}
	issued := &issuedServiceToken{Token: res.Token, Why: "rotated: the old token stopped working"}
	if roster, err := p.cfg.Commands.Staff.Roster(r.Context()); err == nil {
		for _, s := range roster.Services() {
			if s.ID == id {
				issued.Name = s.Name
			}
		}
	}
	p.staffServicesAnswer(w, r, v, issued)
}

func (p *Portal) staffRevokeService(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Service accounts", "service-accounts", staff.PermStaff)
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Staff.RevokeServiceAccount(r.Context(), staffMeta(v, r), chi.URLParam(r, "serviceID"))
	if !p.staffDone(w, v, res, err) {
		p.staffServicesAnswer(w, r, v, nil)
		return
	}
	p.redirect(w, r, "/staff/service-accounts", "The service account was revoked; its token stopped working.")
}
