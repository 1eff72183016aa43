package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/queries"
)

// readWait bounds how long a read waits for its projection to reach the
// position the client asked for.
const readWait = 5 * time.Second

// authorizeRead asks the one policy whether the caller may read account
// id, from the account's latest events, and then waits for the directory
// to reach the position in X-Ledger-Min-Position (read your writes). It
// answers the request itself and returns false when the read may not go on.
func (s *Server) authorizeRead(w http.ResponseWriter, r *http.Request, id string) bool {
	if err := s.cfg.People.Commands.Accounts.Authorize(r.Context(), principalOf(r.Context()).actor, id, account.ActionView); err != nil {
		s.fail(w, r, err)
		return false
	}
	return s.waitForDirectory(w, r)
}

// directoryReadModel is the projection of people, accounts and members.
const directoryReadModel = "directory"

// waitForDirectory waits for the directory read model to apply the
// position a client names in X-Ledger-Min-Position.
func (s *Server) waitForDirectory(w http.ResponseWriter, r *http.Request) bool {
	return s.waitFor(w, r, directoryReadModel)
}

// waitFor makes sure the read models a read needs can answer it: none of
// them is stopped at an event it cannot apply (else 503 naming it: a
// stopped projection degrades only the reads that need it), and each has
// applied the position a client names in X-Ledger-Min-Position (read your
// writes). It answers the request itself and returns false when the read
// may not go on.
func (s *Server) waitFor(w http.ResponseWriter, r *http.Request, projections ...string) bool {
	if stopped := s.cfg.People.ProjectionStopped; stopped != nil {
		for _, p := range projections {
			halted, why, err := stopped(r.Context(), p)
			if err != nil {
				s.fail(w, r, err)
				return false
			}
			if halted {
				s.cfg.Logger.WarnContext(r.Context(), "read refused: its read model is stopped", "request_id", RequestID(r.Context()),
					"projection", p, "stopped", why)
				w.Header().Set("Retry-After", "60")
				WriteProblem(w, r, ProblemReadModelStopped.New("the read model %q this read needs is stopped at an event it cannot apply; "+
					"the operator has been told and resumes it once the cause is fixed (ledger projections retry %s); other reads and all writes go on", p, p))
				return false
			}
		}
	}
	raw := r.Header.Get("X-Ledger-Min-Position")
	if raw == "" || s.cfg.People.WaitFor == nil {
		return true
	}
	pos, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		WriteProblem(w, r, ProblemInvalidRequest.New("header X-Ledger-Min-Position must be a log position (a whole number), not %q", raw).Field("X-Ledger-Min-Position"))
		return false
	}
	for _, p := range projections {
		if err := s.cfg.People.WaitFor(r.Context(), p, pos, readWait); err != nil {
			WriteProblem(w, r, ProblemUnavailable.New("the read model has not reached position %d yet; retry shortly", pos))
			return false
		}
	}
	return true
}

func (s *Server) myAccounts(w http.ResponseWriter, r *http.Request) {
	if !s.waitForDirectory(w, r) {
		return
	}
	list, err := queries.AccountsOfPerson(r.Context(), s.cfg.People.Reads, principalOf(r.Context()).actor.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": list})
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
	id := chi.URLParam(r, "accountID")
	if !s.authorizeRead(w, r, id) {
		return
	}
	if owner, ok := account.PersonalOwner(id); ok {
		writeJSON(w, http.StatusOK, map[string]any{"account_id": id, "kind": "personal", "owner": owner, "my_role": account.RoleAdmin.String()})
		return
	}
	profile, err := queries.BusinessProfileOf(r.Context(), s.cfg.People.Reads, id, principalOf(r.Context()).actor.ID)
	if errors.Is(err, queries.ErrNotFound) {
		WriteProblem(w, r, ProblemUnavailable.New("the account's profile is not in the read model yet; retry shortly"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profile)
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
	if len(f.Search) > 200 || len(f.After) > 1000 {
		WriteProblem(w, r, ProblemInvalidRequest.New("search or after is too long"))
		return
	}
	for _, pid := range f.PersonIDs {
		if pid == "" || len(pid) > 100 {
			WriteProblem(w, r, ProblemInvalidRequest.New("a person_id is 1 to 100 characters").Field("person_id"))
			return
		}
	}
	if !s.authorizeRead(w, r, id) {
		return
	}
	page, err := queries.Members(r.Context(), s.cfg.People.Reads, f)
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

func (s *Server) invitations(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "accountID")
	// The invitations list is for those who manage members, and for the
	// back office, which reads everything and changes nothing.
	actor, action := principalOf(r.Context()).actor, account.ActionManage
	if actor.Kind == event.ActorBackOffice {
		action = account.ActionView
	}
	if err := s.cfg.People.Commands.Accounts.Authorize(r.Context(), actor, id, action); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.waitForDirectory(w, r) {
		return
	}
	list, err := queries.Invitations(r.Context(), s.cfg.People.Reads, id, s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": list})
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
