// Package access is where people sign up, sign in and out, and where
// passwords are checked, changed and reset (rule MEM-1). Both edges, the
// JSON API and the portal, go through one Desk: a password attempt counts
// against the same limits whichever edge it comes through, and the
// sessions it opens are the same sessions.
package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/domain/staff"
	"seatledger/infra/session"
)

// Anonymous stands for a request nobody is signed in to (sign-up, the
// links of mails); it is what the events of such requests record as their
// actor.
var Anonymous = event.Actor{Kind: event.ActorPerson, ID: "anonymous"}

// ErrSignInRequired: the request needs a signed-in person, or credentials
// of its own.
var ErrSignInRequired = errors.New("access: sign in, send your email and password, or send new_person to sign up")

// ErrResetsUnavailable: the server takes no password-reset requests.
var ErrResetsUnavailable = errors.New("access: password resets are not available on this server")

// TooManyAttemptsError refuses an attempt the limits do not admit now.
type TooManyAttemptsError struct {
	// Wait is how long until the client may try again.
	Wait time.Duration
}

func (e *TooManyAttemptsError) Error() string {
	return fmt.Sprintf("too many attempts; try again in %d seconds", e.Seconds())
}

// Seconds is Wait in whole seconds, rounded up: what Retry-After says.
func (e *TooManyAttemptsError) Seconds() int { return int(e.Wait.Seconds()) + 1 }

// PasswordResets queues forgotten-password requests (rule MEM-1). The
// request is only queued while the client waits, and the queue looks the
// address up later, so a known address and an unknown one cost the same
// work and time: the answer's timing does not tell whether an address has
// an account.
type PasswordResets interface {
	// Request durably queues a reset link for the owner of email, a
	// normalized address, if it has one; meta is the request's.
	Request(ctx context.Context, meta commands.Meta, email string) error
}

// Config is what a Desk needs.
type Config struct {
	// Commands are the use cases the desk calls. Required.
	Commands *commands.Set
	// Sessions keeps browser sessions. Required.
	Sessions *session.Store
	// PasswordResets takes forgotten-password requests; nil: ForgotPassword
	// returns ErrResetsUnavailable.
	PasswordResets PasswordResets
	// TermsVersion is the version of the terms of use that a sign-up
	// accepts.
	TermsVersion string
}

// Desk signs people up, in and out, and changes and resets passwords.
type Desk struct {
	cfg Config
	// passwords limits every password attempt (sign-in, the current
	// password of a change, an invitation accepted with a password);
	// resets limits reset requests, so that asking for a reset link never
	// counts against signing in.
	passwords, resets *attemptGuard
}

// New returns a desk; it refuses a missing required dependency.
func New(cfg Config) (*Desk, error) {
	if cfg.Commands == nil || cfg.Sessions == nil {
		return nil, errors.New("access: Commands and Sessions are required")
	}
	return &Desk{cfg: cfg, passwords: newAttemptGuard(), resets: newAttemptGuard()}, nil
}

// NewPerson is a sign-up as a form or a request has it: accepting the
// terms is a box, which the desk turns into the version in force.
type NewPerson struct {
	PersonID, FirstName, LastName, Email, Password string
	AcceptTerms                                    bool
}

func (d *Desk) signUpCommand(np NewPerson) commands.SignUp {
	cmd := commands.SignUp{PersonID: np.PersonID, FirstName: np.FirstName, LastName: np.LastName, Email: np.Email, Password: np.Password}
	if np.AcceptTerms {
		cmd.TermsVersion = d.cfg.TermsVersion
	}
	return cmd
}

// SignUp creates a person (MEM-1).
func (d *Desk) SignUp(ctx context.Context, meta commands.Meta, np NewPerson) (commands.SignedUp, error) {
	return d.cfg.Commands.People.SignUp(ctx, meta, d.signUpCommand(np))
}

// Credentials sign a person in.
type Credentials struct {
	Email, Password string
	// AccountID, if set, signs in to that account: a blocked or missing
	// membership fails like a wrong password.
	AccountID string
	// KeepSignedIn makes the session outlive the browser.
	KeepSignedIn bool
}

// SignedIn is an opened session: Cookie is the value of its cookie.
type SignedIn struct {
	PersonID string
	Cookie   string
	Session  session.Session
}

// SignIn checks the credentials that client (an IP address) sends and
// opens a session.
func (d *Desk) SignIn(ctx context.Context, client string, c Credentials) (SignedIn, error) {
	p, err := d.checkPassword(ctx, client, c.Email, c.Password, c.AccountID)
	if err != nil {
		return SignedIn{}, err
	}
	value, sess, err := d.cfg.Sessions.Create(ctx, p.ID(), c.KeepSignedIn)
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{PersonID: p.ID(), Cookie: value, Session: sess}, nil
}

// SignInStaff checks the email, password and second factor that client
// sends for a staff person and opens a staff session (issue 23). The
// attempts count against the same limits as people's sign-ins: a staff
// address is guarded like any other.
func (d *Desk) SignInStaff(ctx context.Context, meta commands.Meta, client, email, password, code string) (commands.StaffSession, error) {
	address := attemptAddress(email)
	if err := d.passwords.admitErr(address, client); err != nil {
		return commands.StaffSession{}, err
	}
	s, err := d.cfg.Commands.Staff.SignInStaff(ctx, meta, email, password, code)
	d.passwords.record(address, client, err)
	return s, err
}

// checkPassword admits client's attempt on email, checks the password and
// counts the outcome.
func (d *Desk) checkPassword(ctx context.Context, client, email, password, accountID string) (person.Person, error) {
	address := attemptAddress(email)
	if err := d.passwords.admitErr(address, client); err != nil {
		return person.Person{}, err
	}
	p, err := d.cfg.Commands.People.SignIn(ctx, email, password, accountID)
	d.passwords.record(address, client, err)
	return p, err
}

// SignOut ends the session whose cookie is value; "" ends nothing.
func (d *Desk) SignOut(ctx context.Context, value string) error {
	if value == "" {
		return nil
	}
	return d.cfg.Sessions.Delete(ctx, value)
}

// ForgotPassword queues a reset link for email's owner, if it has one
// (MEM-1). Only the address's form is checked here, which says nothing
// about whether it has an account; the lookup happens later.
func (d *Desk) ForgotPassword(ctx context.Context, meta commands.Meta, client, email string) error {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := d.resets.admitErr(normalized, client); err != nil {
		return err
	}
	// Each request may mail the address: it counts like a failed attempt,
	// so that one client cannot flood an address with reset mails.
	d.resets.fail(normalized, client)
	if d.cfg.PasswordResets == nil {
		return ErrResetsUnavailable
	}
	return d.cfg.PasswordResets.Request(ctx, meta, normalized)
}

// ResetPassword sets a new password from a reset link and ends every
// session of the person.
func (d *Desk) ResetPassword(ctx context.Context, meta commands.Meta, personID, token, password string) (event.AppendResult, error) {
	res, err := d.cfg.Commands.People.ResetPassword(ctx, meta, personID, token, password)
	if err != nil {
		return res, err
	}
	return res, d.cfg.Sessions.DeleteAllOf(ctx, personID, "")
}

// ChangePassword changes the acting person's password, limited like a
// sign-in, and ends every other session of theirs: keep is the cookie
// value of the session that asked ("" for a token).
func (d *Desk) ChangePassword(ctx context.Context, meta commands.Meta, client, keep, current, next string) (event.AppendResult, error) {
	address := "person:" + meta.Actor.ID
	if err := d.passwords.admitErr(address, client); err != nil {
		return event.AppendResult{}, err
	}
	res, err := d.cfg.Commands.People.ChangePassword(ctx, meta, current, next)
	d.passwords.record(address, client, err)
	if err != nil {
		return res, err
	}
	return res, d.cfg.Sessions.DeleteAllOf(ctx, meta.Actor.ID, keep)
}

// Acceptance accepts an invitation: as the acting person, as an existing
// person with their email and password, or as a new person.
type Acceptance struct {
	AccountID, InvitationID, Token string
	Email, Password                string
	NewPerson                      *NewPerson
}

// AcceptInvitation joins the invitation's account. A password sent is
// checked and limited like a sign-in; without one and without a new
// person, meta's actor joins, who must be a signed-in person.
func (d *Desk) AcceptInvitation(ctx context.Context, meta commands.Meta, client string, a Acceptance) (commands.Accepted, error) {
	cmd := commands.AcceptInvitation{AccountID: a.AccountID, InvitationID: a.InvitationID, Token: a.Token}
	switch {
	case a.NewPerson != nil:
		su := d.signUpCommand(*a.NewPerson)
		cmd.NewPerson = &su
	case a.Email != "":
		p, err := d.checkPassword(ctx, client, a.Email, a.Password, "")
		if err != nil {
			return commands.Accepted{}, err
		}
		meta.Actor = event.Actor{Kind: event.ActorPerson, ID: p.ID()}
	case meta.Actor.Kind != event.ActorPerson || meta.Actor == Anonymous:
		return commands.Accepted{}, ErrSignInRequired
	}
	return d.cfg.Commands.Accounts.AcceptInvitation(ctx, meta, cmd)
}

// attemptAddress is the key of an email address in the guard: its
// normalized form, so that ADA@example.com and ada@example.com are one.
func attemptAddress(raw string) string {
	if email, err := person.NormalizeEmail(raw); err == nil {
		return email
	}
	return strings.ToLower(strings.TrimSpace(raw))
}

// admitErr is admit as an error: nil, or a TooManyAttemptsError.
func (g *attemptGuard) admitErr(address, client string) error {
	if ok, wait := g.admit(address, client); !ok {
		return &TooManyAttemptsError{Wait: wait}
	}
	return nil
}

// record counts the outcome of a password check on address: a wrong
// password is a failure, a right one clears the client's failures there.
func (g *attemptGuard) record(address, client string, err error) {
	switch {
	case err == nil:
		g.succeed(address, client)
	case errors.Is(err, person.ErrBadCredentials), errors.Is(err, staff.ErrBadCredentials):
		g.fail(address, client)
	}
}
