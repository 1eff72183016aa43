// Package invitation is the aggregate of one invitation to join a business
// account (rule MEM-4): sent to one email address in a language, redeemed
// once through a secret link, expiring after 14 days (a choice, recorded in
// domain.md), and revocable by the account's admins. Whether the inviter
// may invite is the account's decision (account.CanManage); the invitation
// decides only about itself.
package invitation

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/person"
)

// Validity is how long an invitation can be accepted (rule MEM-4, choice).
const Validity = 14 * 24 * time.Hour

// Stable event type names of the invitation stream.
const (
	TypeIssued   = "invitation.issued"
	TypeAccepted = "invitation.accepted"
	TypeRevoked  = "invitation.revoked"
)

// Issued: an admin invited an email address to the account.
type Issued struct {
	InvitationID string    `json:"invitation_id"`
	AccountID    string    `json:"account_id"`
	Email        string    `json:"email"`
	Language     string    `json:"language"`
	InvitedBy    string    `json:"invited_by"`
	ExpiresAt    time.Time `json:"expires_at"`
	// TokenHash is the SHA-256 of the link's secret token: the database
	// alone never holds a usable link.
	TokenHash []byte `json:"token_hash"`
}

// Accepted: the invitation was redeemed by a person (who joins the account).
type Accepted struct {
	PersonID string `json:"person_id"`
}

// Revoked: an admin withdrew the invitation.
type Revoked struct {
	By string `json:"by"`
}

// Register adds the invitation's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeIssued, 1, Issued{})
	reg.Register(TypeAccepted, 1, Accepted{})
	reg.Register(TypeRevoked, 1, Revoked{})
}

// The invitation's domain errors.
var (
	ErrExists     = errors.New("invitation: already issued")
	ErrNotFound   = errors.New("invitation: no such invitation")
	ErrExpired    = errors.New("invitation: the invitation has expired; ask an account admin for a new one")
	ErrRevoked    = errors.New("invitation: the invitation was withdrawn")
	ErrUsed       = errors.New("invitation: the invitation was used already")
	ErrBadToken   = errors.New("invitation: the link is not valid")
	ErrBadEmail   = errors.New("invitation: not a valid email address")
	ErrBadLang    = errors.New("invitation: not a language code such as en or de")
	ErrNotPending = errors.New("invitation: only a pending invitation can be revoked")
)

// State is where an invitation stands.
type State struct{ s string }

// The states of an invitation.
var (
	StatePending  = State{"pending"}
	StateAccepted = State{"accepted"}
	StateRevoked  = State{"revoked"}
)

// String returns the state's stable name.
func (s State) String() string { return s.s }

// Invitation is an invitation as of the events folded into it.
type Invitation struct {
	issued  Issued
	state   State
	version uint64
}

// StreamID returns the event stream of invitation id.
func StreamID(id string) string { return "invitation-" + id }

// Exists reports whether the invitation was issued.
func (i Invitation) Exists() bool { return i.issued.InvitationID != "" }

// Issued returns the invitation's details.
func (i Invitation) Issued() Issued { return i.issued }

// State returns whether it is pending, accepted or revoked (an expired
// invitation stays pending; see Expired).
func (i Invitation) State() State { return i.state }

// Expired reports whether the invitation can no longer be accepted at now.
func (i Invitation) Expired(now time.Time) bool { return !now.Before(i.issued.ExpiresAt) }

// Version returns how many events were folded.
func (i Invitation) Version() uint64 { return i.version }

// Evolve returns the invitation with one more recorded event applied.
func (i Invitation) Evolve(payload any) Invitation {
	switch e := payload.(type) {
	case Issued:
		i.issued, i.state = e, StatePending
	case Accepted:
		i.state = StateAccepted
	case Revoked:
		i.state = StateRevoked
	}
	i.version++
	return i
}

// HashToken returns the stored form of a link's secret token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Issue invites email to account in language, with the hash of the link's
// token, valid for Validity from now.
func (i Invitation) Issue(id, accountID, email, language, invitedBy string, tokenHash []byte, now time.Time) ([]any, error) {
	if i.Exists() {
		return nil, ErrExists
	}
	email, err := person.NormalizeEmail(email)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrBadEmail, email)
	}
	language = strings.ToLower(strings.TrimSpace(language))
	if len(language) != 2 || strings.Trim(language, "abcdefghijklmnopqrstuvwxyz") != "" {
		return nil, fmt.Errorf("%w: %q", ErrBadLang, language)
	}
	if id == "" || accountID == "" || invitedBy == "" || len(tokenHash) != sha256.Size {
		return nil, errors.New("invitation: issue needs an ID, an account, an inviter and a token hash")
	}
	return []any{Issued{InvitationID: id, AccountID: accountID, Email: email, Language: language, InvitedBy: invitedBy,
		ExpiresAt: now.Add(Validity), TokenHash: tokenHash}}, nil
}

// Accept redeems the invitation for person, given the token from the link.
// It is single-use, and refused once expired or revoked.
func (i Invitation) Accept(person, token string, now time.Time) ([]any, error) {
	switch {
	case !i.Exists():
		return nil, ErrNotFound
	case subtle.ConstantTimeCompare(HashToken(token), i.issued.TokenHash) != 1:
		return nil, ErrBadToken
	case i.state == StateAccepted:
		return nil, ErrUsed
	case i.state == StateRevoked:
		return nil, ErrRevoked
	case i.Expired(now):
		return nil, ErrExpired
	}
	return []any{Accepted{PersonID: person}}, nil
}

// Revoke withdraws a pending invitation.
func (i Invitation) Revoke(by string) ([]any, error) {
	switch {
	case !i.Exists():
		return nil, ErrNotFound
	case i.state != StatePending:
		return nil, fmt.Errorf("%w: it is %s", ErrNotPending, i.state)
	}
	return []any{Revoked{By: by}}, nil
}
