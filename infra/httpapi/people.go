package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/queries"
)

// peopleRoutes mounts the /v1 API of people, accounts and members.
func (s *Server) peopleRoutes(r chi.Router) {
	// One guard for every password attempt (MEM-1), and one of its own for
	// reset requests, so that asking for a reset link never counts
	// against signing in.
	limit, resets := attempts{newAttemptGuard()}, attempts{newAttemptGuard()}
	r.Use(s.authenticate)
	r.Post("/signup", s.signUp)
	r.Post("/email/verify", s.verifyEmail)
	r.Post("/session", func(w http.ResponseWriter, r *http.Request) { s.signIn(w, r, limit) })
	r.Delete("/session", s.signOut)
	r.Post("/password/forgot", func(w http.ResponseWriter, r *http.Request) { s.forgotPassword(w, r, resets) })
	r.Post("/password/reset", s.resetPassword)
	r.Post("/invitations/accept", func(w http.ResponseWriter, r *http.Request) { s.acceptInvitation(w, r, limit) })
	r.Group(func(r chi.Router) {
		r.Use(requirePerson)
		r.Get("/me", s.me)
		r.Put("/me", s.changeMe)
		r.Put("/me/password", func(w http.ResponseWriter, r *http.Request) { s.changePassword(w, r, limit) })
		r.Get("/me/accounts", s.myAccounts)
		r.Post("/me/tokens", s.issueToken)
		r.Delete("/me/tokens/{tokenID}", s.revokeToken)
		r.Post("/accounts", s.createAccount)
	})
	r.Group(func(r chi.Router) {
		r.Use(requireSignedIn)
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
	})
	s.licenseRoutes(r)
	s.supportRoutes(r)
	s.installationRoutes(r)
	s.financeRoutes(r)
	s.auditLogRoutes(r)
	s.historyRoutes(r)
}

// attempts applies the attempt guard to requests: admit answers 429 when
// the guard refuses, record counts an attempt's outcome.
type attempts struct{ guard *attemptGuard }

// admit reports whether the request may try address now; if not, it has
// answered 429 with Retry-After.
func (a attempts) admit(w http.ResponseWriter, r *http.Request, address string) bool {
	ok, wait := a.guard.admit(address, clientAddr(r))
	if !ok {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		WriteProblem(w, r, ProblemTooManyRequests.New("too many attempts; try again in %d seconds", secs))
	}
	return ok
}

// record counts the outcome of a password check on address: a wrong
// password is a failure, a right one clears the client's failures there.
func (a attempts) record(r *http.Request, address string, err error) {
	switch {
	case err == nil:
		a.guard.succeed(address, clientAddr(r))
	case errors.Is(err, person.ErrBadCredentials):
		a.guard.fail(address, clientAddr(r))
	}
}

// attemptAddress is the key of an email address in the guard: its
// normalized form, so that ADA@example.com and ada@example.com are one.
func attemptAddress(raw string) string {
	if email, err := person.NormalizeEmail(raw); err == nil {
		return email
	}
	return strings.ToLower(strings.TrimSpace(raw))
}

// written answers a command with body and where its events are in the
// log: "position" and X-Ledger-Position, which a following read sends as
// X-Ledger-Min-Position to see the change (read your writes).
func written(w http.ResponseWriter, status int, res event.AppendResult, body map[string]any) {
	if body == nil {
		body = map[string]any{}
	}
	body["position"] = res.Position
	w.Header().Set("X-Ledger-Position", strconv.FormatUint(res.Position, 10))
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

func (s *Server) toSignUp(req signUpRequest) commands.SignUp {
	cmd := commands.SignUp{PersonID: req.PersonID, FirstName: req.FirstName, LastName: req.LastName, Email: req.Email, Password: req.Password}
	if req.AcceptTerms {
		cmd.TermsVersion = s.cfg.People.TermsVersion
	}
	return cmd
}

func (s *Server) signUp(w http.ResponseWriter, r *http.Request) {
	var req signUpRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.People.SignUp(r.Context(), meta(r), s.toSignUp(req))
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

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, limit attempts) {
	var req signInRequest
	if !s.decode(w, r, &req) {
		return
	}
	address := attemptAddress(req.Email)
	if !limit.admit(w, r, address) {
		return
	}
	p, err := s.cfg.People.Commands.People.SignIn(r.Context(), req.Email, req.Password, req.AccountID)
	limit.record(r, address, err)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	value, sess, err := s.cfg.People.Sessions.Create(r.Context(), p.ID(), req.KeepSignedIn)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setSessionCookie(w, value, sess, s.cfg.People.SecureCookies)
	s.cfg.Logger.InfoContext(r.Context(), "signed in", "request_id", RequestID(r.Context()), "person_id", p.ID(), "keep_signed_in", req.KeepSignedIn)
	writeJSON(w, http.StatusOK, map[string]any{"person_id": p.ID(), "expires_at": sess.ExpiresAt, "keep_signed_in": sess.Persistent})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if id := principalOf(r.Context()).sessionID; id != "" {
		if err := s.cfg.People.Sessions.Delete(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	clearSessionCookie(w, s.cfg.People.SecureCookies)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request, limit attempts) {
	var req struct {
		Email string `json:"email"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	// Only the address's form is checked here, which says nothing about
	// whether it has an account; the lookup happens after the answer.
	email, err := person.NormalizeEmail(req.Email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !limit.admit(w, r, email) {
		return
	}
	// Each request may mail the address: it counts like a failed attempt,
	// so that one client cannot flood an address with reset mails.
	limit.guard.fail(email, clientAddr(r))
	if s.cfg.People.PasswordResets == nil {
		WriteProblem(w, r, ProblemUnavailable.New("password resets are not available on this server"))
		return
	}
	if err := s.cfg.People.PasswordResets.Request(r.Context(), meta(r), email); err != nil {
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
	res, err := s.cfg.People.Commands.People.ResetPassword(r.Context(), meta(r), req.PersonID, req.Token, req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.People.Sessions.DeleteAllOf(r.Context(), req.PersonID, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
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

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request, limit attempts) {
	var req acceptRequest
	if !s.decode(w, r, &req) {
		return
	}
	address := attemptAddress(req.Email)
	if req.Email != "" && !limit.admit(w, r, address) { // a password is checked: limited like a sign-in
		return
	}
	m := meta(r)
	cmd := commands.AcceptInvitation{AccountID: req.AccountID, InvitationID: req.InvitationID, Token: req.Token}
	switch {
	case req.NewPerson != nil:
		su := s.toSignUp(signUpRequest(*req.NewPerson))
		cmd.NewPerson = &su
	case req.Email != "":
		p, err := s.cfg.People.Commands.People.SignIn(r.Context(), req.Email, req.Password, "")
		limit.record(r, address, err)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		m.Actor = personActor(p.ID())
	case principalOf(r.Context()).actor.Kind != event.ActorPerson:
		unauthorized(w, r, "sign in, send your email and password, or send new_person to sign up")
		return
	}
	res, err := s.cfg.People.Commands.Accounts.AcceptInvitation(r.Context(), m, cmd)
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
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, limit attempts) {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	address := "person:" + principalOf(r.Context()).actor.ID
	if !s.decode(w, r, &req) || !limit.admit(w, r, address) {
		return
	}
	res, err := s.cfg.People.Commands.People.ChangePassword(r.Context(), meta(r), req.CurrentPassword, req.NewPassword)
	limit.record(r, address, err)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := principalOf(r.Context())
	if err := s.cfg.People.Sessions.DeleteAllOf(r.Context(), p.actor.ID, p.sessionID); err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
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
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// validID reports whether s is a UUID in its canonical form.
func validID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
