package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/queries"
)

// readWait bounds how long a read waits for its read models to reach the
// position the client asked for.
const readWait = 5 * time.Second

// myAccountsResponse is GET /v1/me/accounts.
type myAccountsResponse struct {
	Accounts []queries.AccountSummary `json:"accounts"`
}

func (s *Server) myAccounts(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	list, err := s.reads.MyAccounts(r.Context(), v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, myAccountsResponse{Accounts: list})
}

type createAccountRequest struct {
	AccountID string          `json:"account_id,omitempty"`
	Company   account.Company `json:"company"`
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) {
	var req createAccountRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.AccountID == "" {
		req.AccountID = newID()
	} else if !validID(req.AccountID) {
		WriteProblem(w, r, ProblemInvalidRequest.New("account_id must be a UUID").Field("account_id"))
		return
	}
	res, err := s.cfg.People.Commands.Accounts.CreateBusinessAccount(r.Context(), meta(r), commands.CreateBusinessAccount{AccountID: req.AccountID, Company: req.Company})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res, map[string]any{"account_id": req.AccountID})
}

func (s *Server) accountProfile(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	p, err := s.reads.AccountProfile(r.Context(), v, chi.URLParam(r, "accountID"))
	switch {
	case err != nil:
		s.fail(w, r, err)
	case p.Personal != nil:
		writeJSON(w, http.StatusOK, p.Personal)
	default:
		writeJSON(w, http.StatusOK, p.Business)
	}
}

func (s *Server) changeAccountProfile(w http.ResponseWriter, r *http.Request) {
	var company account.Company
	if !s.decode(w, r, &company) {
		return
	}
	res, err := s.cfg.People.Commands.Accounts.ChangeCompanyProfile(r.Context(), meta(r), commands.ChangeCompanyProfile{AccountID: chi.URLParam(r, "accountID"), Company: company})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "accountID")
	q := r.URL.Query()
	f := queries.MembersFilter{AccountID: id, Search: q.Get("search"), Role: q.Get("role"), Status: q.Get("status"), After: q.Get("after"),
		PersonIDs: q["person_id"]}
	if f.Role != "" && f.Role != "member" && f.Role != "admin" {
		WriteProblem(w, r, ProblemInvalidRequest.New("role must be member or admin").Field("role"))
		return
	}
	if f.Status != "" && f.Status != "active" && f.Status != "blocked" {
		WriteProblem(w, r, ProblemInvalidRequest.New("status must be active or blocked").Field("status"))
		return
	}
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > queries.MaxMembersPage {
			WriteProblem(w, r, ProblemInvalidRequest.New("limit must be a whole number from 1 to %d", queries.MaxMembersPage).Field("limit"))
			return
		}
		f.Limit = n
	}
	if len(f.Search) > 200 {
		WriteProblem(w, r, ProblemInvalidRequest.New("search is longer than 200 bytes").Field("search"))
		return
	}
	if len(f.After) > 1000 {
		WriteProblem(w, r, ProblemInvalidRequest.New("after is longer than 1000 bytes").Field("after"))
		return
	}
	for _, pid := range f.PersonIDs {
		if pid == "" || len(pid) > 100 {
			WriteProblem(w, r, ProblemInvalidRequest.New("a person_id is 1 to 100 characters").Field("person_id"))
			return
		}
	}
	v := viewerOf(r)
	page, err := s.reads.Members(r.Context(), v, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) changeRole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role account.Role `json:"role"`
		Note string       `json:"note,omitempty"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Accounts.ChangeMemberRole(r.Context(), meta(r), commands.ChangeMemberRole{
		AccountID: chi.URLParam(r, "accountID"), PersonID: chi.URLParam(r, "personID"), Role: req.Role, Note: req.Note})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

func (s *Server) blockMember(unblock bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := s.cfg.People.Commands.Accounts.BlockMember(r.Context(), meta(r), commands.BlockMember{
			AccountID: chi.URLParam(r, "accountID"), PersonID: chi.URLParam(r, "personID"), Unblock: unblock})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		written(w, http.StatusOK, res, nil)
	}
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Accounts.RemoveMember(r.Context(), meta(r), commands.RemoveMember{
		AccountID: chi.URLParam(r, "accountID"), PersonID: chi.URLParam(r, "personID")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Accounts.LeaveBusinessAccount(r.Context(), meta(r), commands.LeaveBusinessAccount{AccountID: chi.URLParam(r, "accountID")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

// invitationsResponse is GET /v1/accounts/{accountID}/invitations.
type invitationsResponse struct {
	Invitations []queries.Invitation `json:"invitations"`
}

func (s *Server) invitations(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	list, err := s.reads.Invitations(r.Context(), v, chi.URLParam(r, "accountID"), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, invitationsResponse{Invitations: list})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Emails []string `json:"emails"`
		// Language of the invitation mail; absent: English.
		Language string `json:"language,omitempty"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.Language == "" {
		req.Language = "en"
	}
	res, err := s.cfg.People.Commands.Accounts.InviteMembers(r.Context(), meta(r), commands.InviteMembers{
		AccountID: chi.URLParam(r, "accountID"), Language: req.Language, Emails: req.Emails})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"invitation_ids": res.InvitationIDs})
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Accounts.RevokeInvitation(r.Context(), meta(r), chi.URLParam(r, "accountID"), chi.URLParam(r, "invitationID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}
