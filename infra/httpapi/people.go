package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/access"
	"seatledger/queries"
)

// peopleRoutes mounts the /v1 API of people, accounts and members.
func (s *Server) peopleRoutes(r chi.Router) {
	r.Use(s.authenticate)
	r.Post("/signup", s.signUp)
	r.Post("/email/verify", s.verifyEmail)
	r.Post("/session", s.signIn)
	r.Delete("/session", s.signOut)
	r.Post("/password/forgot", s.forgotPassword)
	r.Post("/password/reset", s.resetPassword)
	r.Post("/invitations/accept", s.acceptInvitation)
	r.Group(func(r chi.Router) {
		r.Use(requirePerson)
		r.Get("/me", s.me)
		r.Put("/me", s.changeMe)
		r.Put("/me/password", s.changePassword)
		r.Get("/me/accounts", s.myAccounts)
		r.Post("/me/tokens", s.issueToken)
		r.Delete("/me/tokens/{tokenID}", s.revokeToken)
		r.Post("/accounts", s.createAccount)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.requireSignedIn)
		const acc = "/accounts/{accountID}"
		r.Get(acc, s.accountProfile)
		r.Put(acc+"/profile", s.changeAccountProfile)
		r.Get(acc+"/members", s.members)
		r.Put(acc+"/members/{personID}/role", s.changeRole)
		r.Post(acc+"/members/{personID}/block", s.blockMember(false))
		r.Post(acc+"/members/{personID}/unblock", s.blockMember(true))
		r.Delete(acc+"/members/{personID}", s.removeMember)
		r.Post(acc+"/leave", s.leave)
		r.Get(acc+"/invitations", s.invitations)
		r.Post(acc+"/invitations", s.invite)
		r.Delete(acc+"/invitations/{invitationID}", s.revokeInvitation)
		r.Get(acc+"/events", s.accountEvents)
		r.Get(acc+"/events/stream", s.accountEventStream)
	})
	s.licenseRoutes(r)
	s.supportRoutes(r)
	s.installationRoutes(r)
	s.financeRoutes(r)
	s.auditLogRoutes(r)
	s.historyRoutes(r)
	s.staffRoutes(r)
	s.webhookRoutes(r)
}

// written answers a command with body and where its events are in the
// log: "position" and X-Ledger-Position, which a following read sends as
// X-Ledger-Min-Position to see the change (read your writes).
func written(w http.ResponseWriter, status int, res event.AppendResult, body map[string]any) {
	if body == nil {
		body = map[string]any{}
	}
	body["position"] = res.Position
	writtenAs(w, status, res.Position, body)
}

// writtenAs answers a successful write with body, which holds the
// position the write reached, as written does.
func writtenAs(w http.ResponseWriter, status int, position uint64, body any) {
	w.Header().Set("X-Ledger-Position", strconv.FormatUint(position, 10))
	writeJSON(w, status, body)
}

// decode reads the request body into dst and answers the problem if it
// cannot; it reports whether the handler may go on.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := DecodeJSON(w, r, dst); err != nil {
		WriteError(w, r, s.cfg.Logger, err)
		return false
	}
	return true
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var stopped *queries.StoppedError
	if errors.As(err, &stopped) {
		s.cfg.Logger.WarnContext(r.Context(), "read refused: its read model is stopped", "request_id", RequestID(r.Context()),
			"projection", stopped.ReadModel, "stopped", stopped.Why)
		w.Header().Set("Retry-After", "60")
	}
	var position *queries.PositionError
	if errors.As(err, &position) {
		err = ProblemInvalidRequest.New("header X-Ledger-Min-Position must be a log position (a whole number), not %q", position.Raw).Field("X-Ledger-Min-Position")
	}
	WriteError(w, r, s.cfg.Logger, err)
}

// viewerOf is who asks a query use case: the request's actor and the log
// position it names in X-Ledger-Min-Position (read your writes), which
// the use case reads once the actor is authorized.
func viewerOf(r *http.Request) queries.Viewer {
	return queries.Viewer{Actor: principalOf(r.Context()).actor, MinPosition: r.Header.Get("X-Ledger-Min-Position")}
}

type signUpRequest struct {
	PersonID    string `json:"person_id,omitempty"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
	AcceptTerms bool   `json:"accept_terms"`
}

func (req signUpRequest) newPerson() access.NewPerson { return access.NewPerson(req) }

func (s *Server) signUp(w http.ResponseWriter, r *http.Request) {
	var req signUpRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.access.SignUp(r.Context(), meta(r), req.newPerson())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"person_id": res.PersonID})
}

type linkRequest struct {
	PersonID string `json:"person_id"`
	Token    string `json:"token"`
	Password string `json:"password,omitempty"`
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var req linkRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.People.VerifyEmail(r.Context(), meta(r), req.PersonID, req.Token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"email_verified": true})
}

type signInRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	KeepSignedIn bool   `json:"keep_signed_in,omitempty"`
	// AccountID, if set, signs in to that account: a blocked or missing
	// membership fails like a wrong password.
	AccountID string `json:"account_id,omitempty"`
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var req signInRequest
	if !s.decode(w, r, &req) {
		return
	}
	in, err := s.access.SignIn(r.Context(), clientAddr(r),
		access.Credentials{Email: req.Email, Password: req.Password, AccountID: req.AccountID, KeepSignedIn: req.KeepSignedIn})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	SetSessionCookie(w, in.Cookie, in.Session, s.cfg.People.SecureCookies)
	s.cfg.Logger.InfoContext(r.Context(), "signed in", "request_id", RequestID(r.Context()), "person_id", in.PersonID, "keep_signed_in", req.KeepSignedIn)
	writeJSON(w, http.StatusOK, map[string]any{"person_id": in.PersonID, "expires_at": in.Session.ExpiresAt, "keep_signed_in": in.Session.Persistent})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if err := s.access.SignOut(r.Context(), principalOf(r.Context()).sessionID); err != nil {
		s.fail(w, r, err)
		return
	}
	ClearSessionCookie(w, s.cfg.People.SecureCookies)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if err := s.access.ForgotPassword(r.Context(), meta(r), clientAddr(r), req.Email); err != nil {
		s.fail(w, r, err)
		return
	}
	// The same work, answer and time whether or not the address exists.
	writeJSON(w, http.StatusAccepted, map[string]any{"detail": "if the address belongs to a person, a reset link is on its way"})
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	var req linkRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.access.ResetPassword(r.Context(), meta(r), req.PersonID, req.Token, req.Password)
	s.answer(w, r, res, err)
}

type acceptRequest struct {
	AccountID    string `json:"account_id"`
	InvitationID string `json:"invitation_id"`
	Token        string `json:"token"`
	// An existing person joins with their email and password (or by
	// being signed in); a new person sends NewPerson.
	Email     string                `json:"email,omitempty"`
	Password  string                `json:"password,omitempty"`
	NewPerson *invitedSignUpRequest `json:"new_person,omitempty"`
}

// invitedSignUpRequest is a new person signing up through an invitation:
// their address is the invited one, so email is optional, and one given
// must be that address (it is never silently replaced).
type invitedSignUpRequest struct {
	PersonID    string `json:"person_id,omitempty"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email,omitempty"`
	Password    string `json:"password"`
	AcceptTerms bool   `json:"accept_terms"`
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	var req acceptRequest
	if !s.decode(w, r, &req) {
		return
	}
	in := access.Acceptance{AccountID: req.AccountID, InvitationID: req.InvitationID, Token: req.Token, Email: req.Email, Password: req.Password}
	if req.NewPerson != nil {
		np := signUpRequest(*req.NewPerson).newPerson()
		in.NewPerson = &np
	}
	res, err := s.access.AcceptInvitation(r.Context(), meta(r), clientAddr(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res.AppendResult, map[string]any{"person_id": res.PersonID, "account_id": req.AccountID})
}

// MeToken is a live personal API token, without its secret.
type MeToken = queries.MeToken

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	me, err := s.reads.Me(r.Context(), queries.Viewer{Actor: principalOf(r.Context()).actor})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, me)
}

func (s *Server) changeMe(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.People.ChangePersonProfile(r.Context(), meta(r), req.FirstName, req.LastName)
	s.answer(w, r, res, err)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.access.ChangePassword(r.Context(), meta(r), clientAddr(r), principalOf(r.Context()).sessionID, req.CurrentPassword, req.NewPassword)
	s.answer(w, r, res, err)
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.People.IssueAPIToken(r.Context(), meta(r), req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"token_id": res.TokenID, "token": res.Token})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.People.RevokeAPIToken(r.Context(), meta(r), chi.URLParam(r, "tokenID"))
	s.answer(w, r, res, err)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// validID reports whether s is a UUID in its canonical form.
func validID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
