package account

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/person"
)

// Invitations are part of the account (rule MEM-4): inviting, revoking and
// joining are decided from the one stream that also holds the inviter's
// role, so an admin demoted a moment ago cannot invite, and a link is
// redeemed at most once, under the account's exact-version append.

// InvitationValidity is how long an invitation can be accepted (rule
// MEM-4; the 14 days are our choice, recorded in domain.md).
const InvitationValidity = 14 * 24 * time.Hour

// TokenInvitation is the purpose of an invitation link's token, whose
// subject is the invitation ID (see person.TokenVerifyEmail).
const TokenInvitation = "invitation"

// MaxInvitees bounds the addresses of one invitation request.
const MaxInvitees = 50

// InvitationState is where an invitation stands.
type InvitationState struct{ s string }

// The states of an invitation. An expired invitation stays pending; see
// Invitation.Expired.
var (
	StatePending  = InvitationState{"pending"}
	StateAccepted = InvitationState{"accepted"}
	StateRevoked  = InvitationState{"revoked"}
)

// String returns the state's stable name.
func (s InvitationState) String() string { return s.s }

// Invitation is one invitation as the account's events tell it.
type Invitation struct {
	ID        string
	Email     string
	Language  string
	InvitedBy string
	ExpiresAt time.Time
	TokenHash []byte
	State     InvitationState
}

// Expired reports whether the invitation can no longer be accepted at now.
func (i Invitation) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// Invitee is one address to invite, with the ID and link-token hash the
// command chose for its invitation.
type Invitee struct {
	InvitationID string
	Email        string
	TokenHash    []byte
}

// normalizeLanguage accepts a two-letter ISO 639-1 code.
func normalizeLanguage(raw string) (string, error) {
	lang := strings.ToLower(raw)
	if len(lang) != 2 || strings.Trim(lang, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", invalid.New(ErrInvalidInvitation, "language", "language %q is not a two-letter code such as en or de", raw)
	}
	return lang, nil
}

// Invitation returns the invitation id, if the account issued it.
func (a Account) Invitation(id string) (Invitation, bool) {
	inv, ok := a.invitations[id]
	return inv, ok
}

// Invitations returns every invitation the account issued, in no order.
func (a Account) Invitations() []Invitation {
	return slices.Collect(maps.Values(a.invitations))
}

// Invite invites several addresses at once in one language (rule MEM-4):
// one MemberInvited per address, each with its own link, valid for
// InvitationValidity. Admins only. Every address is checked before any is
// invited, and the same address twice in one request is refused.
func (a Account) Invite(actor, language string, invitees []Invitee, now time.Time) ([]any, error) {
	if err := a.CanManage(actor); err != nil {
		return nil, err
	}
	if a.personal {
		return nil, fmt.Errorf("%w: a personal account has no other members", ErrForbidden)
	}
	lang, err := normalizeLanguage(language)
	if err != nil {
		return nil, err
	}
	switch {
	case len(invitees) == 0:
		return nil, fmt.Errorf("%w: name at least one email address", ErrInvalidInvitation)
	case len(invitees) > MaxInvitees:
		return nil, fmt.Errorf("%w: at most %d addresses at once", ErrInvalidInvitation, MaxInvitees)
	}
	seen := make(map[string]bool, len(invitees))
	out := make([]any, 0, len(invitees))
	for _, in := range invitees {
		email, err := person.NormalizeEmail(in.Email)
		if err != nil {
			var fields *invalid.Error
			reason := fmt.Sprintf("%q is not an email address", in.Email)
			if errors.As(err, &fields) {
				reason = fields.Fields[0].Reason
			}
			return nil, invalid.New(ErrInvalidInvitation, "emails", "%s", reason)
		}
		if seen[email] {
			return nil, fmt.Errorf("%w: %s is named twice", ErrInvalidInvitation, email)
		}
		seen[email] = true
		if _, used := a.invitations[in.InvitationID]; used || in.InvitationID == "" || len(in.TokenHash) != sha256.Size {
			return nil, fmt.Errorf("account: invite needs a fresh invitation ID and a token hash for %s", email)
		}
		out = append(out, MemberInvited{InvitationID: in.InvitationID, Email: email, Language: lang, InvitedBy: actor,
			ExpiresAt: now.Add(InvitationValidity), TokenHash: in.TokenHash})
	}
	return out, nil
}

// RevokeInvitation withdraws a pending invitation (rule MEM-4). Admins only.
func (a Account) RevokeInvitation(actor, id string) ([]any, error) {
	if err := a.CanManage(actor); err != nil {
		return nil, err
	}
	inv, ok := a.invitations[id]
	switch {
	case !ok:
		return nil, ErrNoInvitation
	case inv.State != StatePending:
		return nil, fmt.Errorf("%w: it is %s", ErrInvitationUsed, inv.State)
	}
	return []any{InvitationRevoked{InvitationID: id, By: actor}}, nil
}

// CheckInvitation returns invitation id if token is its link's and it can
// still be accepted at now (rule MEM-4): once, within
// InvitationValidity, unless revoked. A wrong token is answered as if the
// invitation did not exist.
func (a Account) CheckInvitation(id, token string, now time.Time) (Invitation, error) {
	inv, ok := a.invitations[id]
	switch {
	case !ok || subtle.ConstantTimeCompare(person.HashToken(token), inv.TokenHash) != 1:
		return Invitation{}, ErrNoInvitation
	case inv.State == StateAccepted:
		return Invitation{}, fmt.Errorf("%w: it was accepted already", ErrInvitationUsed)
	case inv.State == StateRevoked:
		return Invitation{}, fmt.Errorf("%w: it was withdrawn", ErrInvitationUsed)
	case inv.Expired(now):
		return Invitation{}, ErrInvitationExpired
	}
	return inv, nil
}

// Joiner is the person who redeems an invitation, as their own stream
// tells it: their ID, their normalized address and whether they verified it.
type Joiner struct {
	PersonID string
	Email    string
	Verified bool
}

// Accept redeems invitation id for joiner with the token from its link
// (rule MEM-4): they join as a regular member. An invitation is for its
// address: whoever holds the link joins only if the invited address is
// their own verified one, so a forwarded or leaked link lets nobody else
// in. (A new person signs up with the invited address, which the link
// proves, and is verified by it.)
func (a Account) Accept(id, token string, joiner Joiner, now time.Time) ([]any, error) {
	inv, err := a.CheckInvitation(id, token, now)
	if err != nil {
		return nil, err
	}
	switch {
	case !strings.EqualFold(joiner.Email, inv.Email):
		return nil, fmt.Errorf("%w: it was sent to another address; sign in as the person it was sent to, or sign up with that address", ErrInvitationAddress)
	case !joiner.Verified:
		return nil, fmt.Errorf("%w: your address is not verified yet; follow the link of the verification mail, then open the invitation again",
			ErrInvitationAddress)
	}
	return a.Join(joiner.PersonID, id)
}
