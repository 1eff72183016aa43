package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/staff"
)

// staffRoutes mounts the back office's own API (issue 23), inside
// peopleRoutes' authentication:
//
//	POST   /v1/staff/enrolment                      public (the token)  enrolStaff
//	POST   /v1/staff/enrolment/confirm              public (the token, the first code)  confirmStaffEnrolment
//	POST   /v1/staff/session                        public (password, TOTP)  signInStaff
//	DELETE /v1/staff/session                        a staff session     signOutStaff
//	GET    /v1/staff                                staff.PermStaff     listStaff
//	POST   /v1/staff                                staff.PermStaff     addStaff
//	PUT    /v1/staff/{staffID}/role                 staff.PermStaff     changeStaffRole
//	DELETE /v1/staff/{staffID}                      staff.PermStaff     removeStaff
//	POST   /v1/staff/{staffID}/enrolment            staff.PermStaff     reissueEnrolment
//	POST   /v1/staff/{staffID}/totp-reset           staff.PermStaff     resetStaffTOTP
//	GET    /v1/service-accounts                     staff.PermStaff     listServiceAccounts
//	POST   /v1/service-accounts                     staff.PermStaff     createServiceAccount
//	POST   /v1/service-accounts/{serviceID}/rotate  staff.PermStaff     rotateServiceAccount
//	DELETE /v1/service-accounts/{serviceID}         staff.PermStaff     revokeServiceAccount
func (s *Server) staffRoutes(r chi.Router) {
	r.Post("/staff/enrolment", s.enrolStaff)
	r.Post("/staff/enrolment/confirm", s.confirmStaffEnrolment)
	r.Post("/staff/session", s.signInStaff)
	r.Delete("/staff/session", s.signOutStaff)
	r.Group(func(r chi.Router) {
		r.Use(s.requireBackOffice(staff.PermStaff))
		r.Get("/staff", s.listStaff)
		r.Post("/staff", s.addStaff)
		r.Put("/staff/{staffID}/role", s.changeStaffRole)
		r.Delete("/staff/{staffID}", s.removeStaff)
		r.Post("/staff/{staffID}/enrolment", s.reissueEnrolment)
		r.Post("/staff/{staffID}/totp-reset", s.resetStaffTOTP)
		r.Get("/service-accounts", s.listServiceAccounts)
		r.Post("/service-accounts", s.createServiceAccount)
		r.Post("/service-accounts/{serviceID}/rotate", s.rotateServiceAccount)
		r.Delete("/service-accounts/{serviceID}", s.revokeServiceAccount)
	})
}

type enrolStaffRequest struct {
	Email    string `json:"email"`
	Token    string `json:"token"`
	Password string `json:"password"`
}

// StaffEnrolment is the answer of POST /v1/staff/enrolment, shown once.
type StaffEnrolment struct {
	StaffID       string   `json:"staff_id"`
	TOTPSecret    string   `json:"totp_secret"`
	TOTPURL       string   `json:"totp_url"`
	RecoveryCodes []string `json:"recovery_codes"`
	Position      uint64   `json:"position"`
}

func (s *Server) enrolStaff(w http.ResponseWriter, r *http.Request) {
	var req enrolStaffRequest
	if !s.decode(w, r, &req) {
		return
	}
	e, err := s.cfg.People.Commands.Staff.EnrolStaff(r.Context(), meta(r), req.Email, req.Token, req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, StaffEnrolment{StaffID: e.StaffID, TOTPSecret: e.TOTPSecret, TOTPURL: e.TOTPURL,
		RecoveryCodes: e.RecoveryCodes, Position: e.Position})
}

type confirmStaffEnrolmentRequest struct {
	Email string `json:"email"`
	Token string `json:"token"`
	// Code is the six digits the authenticator shows.
	Code string `json:"code"`
}

// StaffEnrolmentConfirmed is the answer of POST
// /v1/staff/enrolment/confirm: the person is enrolled and signs in with
// their password and a later code.
type StaffEnrolmentConfirmed struct {
	StaffID  string `json:"staff_id"`
	Enrolled bool   `json:"enrolled"`
	Position uint64 `json:"position"`
}

func (s *Server) confirmStaffEnrolment(w http.ResponseWriter, r *http.Request) {
	var req confirmStaffEnrolmentRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, id, err := s.cfg.People.Commands.Staff.ConfirmStaffEnrolment(r.Context(), meta(r), req.Email, req.Token, req.Code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writtenAs(w, http.StatusOK, res.Position, StaffEnrolmentConfirmed{StaffID: id, Enrolled: true, Position: res.Position})
}

// EnrolmentTokenIssued is the answer of POST /v1/staff/{staffID}/enrolment
// and /totp-reset: the person's new enrolment token, shown once.
type EnrolmentTokenIssued struct {
	StaffID        string `json:"staff_id"`
	EnrolmentToken string `json:"enrolment_token"`
	Position       uint64 `json:"position"`
}

func (s *Server) reissueEnrolment(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Staff.ReissueEnrolment(r.Context(), meta(r), chi.URLParam(r, "staffID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writtenAs(w, http.StatusOK, res.Position, EnrolmentTokenIssued{StaffID: res.StaffID, EnrolmentToken: res.EnrolmentToken, Position: res.Position})
}

func (s *Server) resetStaffTOTP(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Staff.ResetStaffTOTP(r.Context(), meta(r), chi.URLParam(r, "staffID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writtenAs(w, http.StatusOK, res.Position, EnrolmentTokenIssued{StaffID: res.StaffID, EnrolmentToken: res.EnrolmentToken, Position: res.Position})
}

type signInStaffRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Code is the authenticator's six digits, or a recovery code.
	Code string `json:"code"`
}

// StaffSessionOpened is the answer of POST /v1/staff/session: the token
// is the staff session's bearer token, shown once.
type StaffSessionOpened struct {
	StaffID   string    `json:"staff_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Position  uint64    `json:"position"`
}

func (s *Server) signInStaff(w http.ResponseWriter, r *http.Request) {
	var req signInStaffRequest
	if !s.decode(w, r, &req) {
		return
	}
	sess, err := s.access.SignInStaff(r.Context(), meta(r), clientAddr(r), req.Email, req.Password, req.Code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, StaffSessionOpened{StaffID: sess.StaffID, Token: sess.Token, ExpiresAt: sess.ExpiresAt, Position: sess.Position})
}

func (s *Server) signOutStaff(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if p.staffToken == "" {
		unauthorized(w, r, "send the staff session's token as Authorization: Bearer slst_…")
		return
	}
	res, err := s.cfg.People.Commands.Staff.SignOutStaff(r.Context(), meta(r), p.staffToken)
	s.answer(w, r, res, err)
}

// StaffMember is one staff person in GET /v1/staff.
type StaffMember struct {
	StaffID     string `json:"staff_id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Enrolled    bool   `json:"enrolled"`
	// EnrolmentPending: the person started enrolling and has not
	// confirmed it with the authenticator's first code.
	EnrolmentPending  bool `json:"enrolment_pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// StaffList is the answer of GET /v1/staff.
type StaffList struct {
	Staff []StaffMember `json:"staff"`
}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request) {
	roster, err := s.cfg.People.Commands.Staff.ListStaff(r.Context(), principalOf(r.Context()).actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := StaffList{Staff: []StaffMember{}}
	for _, m := range roster.Members() {
		out.Staff = append(out.Staff, StaffMember{StaffID: m.ID, Email: m.Email, DisplayName: m.DisplayName, Role: m.Role.String(),
			Enrolled: m.Enrolled, EnrolmentPending: m.EnrolmentPending(), RecoveryCodesLeft: m.RecoveryCodesLeft()})
	}
	writeJSON(w, http.StatusOK, out)
}

type addStaffRequest struct {
	Email       string     `json:"email"`
	DisplayName string     `json:"display_name"`
	Role        staff.Role `json:"role"`
}

func (s *Server) addStaff(w http.ResponseWriter, r *http.Request) {
	var req addStaffRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Staff.AddStaff(r.Context(), meta(r), req.Email, req.DisplayName, req.Role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"staff_id": res.StaffID, "enrolment_token": res.EnrolmentToken})
}

type staffRoleRequest struct {
	Role staff.Role `json:"role"`
}

func (s *Server) changeStaffRole(w http.ResponseWriter, r *http.Request) {
	var req staffRoleRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Staff.ChangeStaffRole(r.Context(), meta(r), chi.URLParam(r, "staffID"), req.Role)
	s.answer(w, r, res, err)
}

func (s *Server) removeStaff(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Staff.RemoveStaff(r.Context(), meta(r), chi.URLParam(r, "staffID"))
	s.answer(w, r, res, err)
}

// ServiceAccount is one service account in GET /v1/service-accounts.
type ServiceAccount struct {
	ServiceID string `json:"service_id"`
	Name      string `json:"name"`
	Revoked   bool   `json:"revoked"`
}

// ServiceAccountList is the answer of GET /v1/service-accounts.
type ServiceAccountList struct {
	ServiceAccounts []ServiceAccount `json:"service_accounts"`
}

func (s *Server) listServiceAccounts(w http.ResponseWriter, r *http.Request) {
	roster, err := s.cfg.People.Commands.Staff.ListStaff(r.Context(), principalOf(r.Context()).actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := ServiceAccountList{ServiceAccounts: []ServiceAccount{}}
	for _, a := range roster.Services() {
		out.ServiceAccounts = append(out.ServiceAccounts, ServiceAccount{ServiceID: a.ID, Name: a.Name, Revoked: a.Revoked})
	}
	writeJSON(w, http.StatusOK, out)
}

type serviceAccountRequest struct {
	Name string `json:"name"`
}

func (s *Server) createServiceAccount(w http.ResponseWriter, r *http.Request) {
	var req serviceAccountRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Staff.CreateServiceAccount(r.Context(), meta(r), req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"service_id": res.ServiceID, "token": res.Token})
}

func (s *Server) rotateServiceAccount(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Staff.RotateServiceAccount(r.Context(), meta(r), chi.URLParam(r, "serviceID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res.AppendResult, map[string]any{"service_id": res.ServiceID, "token": res.Token})
}

func (s *Server) revokeServiceAccount(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Staff.RevokeServiceAccount(r.Context(), meta(r), chi.URLParam(r, "serviceID"))
	s.answer(w, r, res, err)
}
