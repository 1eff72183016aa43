package commands

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/person"
)

// InviteMembers invites several addresses at once, in one language (rule
// MEM-4). The notifier mails each a single-use link.
type InviteMembers struct {
	AccountID string
	Language  string
	Emails    []string
}

// Invited is what InviteMembers returns: the new invitations' IDs, in the
// order of the addresses.
type Invited struct {
	event.AppendResult
	InvitationIDs []string
}

// InviteMembers runs the use case.
func (h *AccountsHandler) InviteMembers(ctx context.Context, meta Meta, cmd InviteMembers) (Invited, error) {
	invitees := make([]account.Invitee, len(cmd.Emails))
	ids := make([]string, len(cmd.Emails))
	for i, email := range cmd.Emails {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		invitees[i] = account.Invitee{InvitationID: ids[i], Email: email,
			TokenHash: person.HashToken(h.tokens.Token(account.TokenInvitation, ids[i]))}
	}
	res, err := h.updateAccount(ctx, "InviteMembers", cmd.AccountID, meta, func(a account.Account, now time.Time) ([]any, error) {
		return a.Invite(meta.Actor.ID, cmd.Language, invitees, now)
	})
	if err != nil {
		return Invited{}, err
	}
	return Invited{AppendResult: res, InvitationIDs: ids}, nil
}

// RevokeInvitation withdraws a pending invitation (rule MEM-4).
func (h *AccountsHandler) RevokeInvitation(ctx context.Context, meta Meta, accountID, invitationID string) (event.AppendResult, error) {
	return h.updateAccount(ctx, "RevokeInvitation", accountID, meta, func(a account.Account, _ time.Time) ([]any, error) {
		return a.RevokeInvitation(meta.Actor.ID, invitationID)
	})
}

// AcceptInvitation redeems an invitation link (rule MEM-4).
type AcceptInvitation struct {
	AccountID    string
	InvitationID string
	Token        string
	// NewPerson, if set, signs up a new person with the invited address
	// first (their email counts as verified: the link proved it; an
	// address the request gives must be that one); else the acting person
	// joins.
	NewPerson *SignUp
}

// Accepted is what AcceptInvitation returns.
type Accepted struct {
	event.AppendResult
	PersonID string
}

// AcceptInvitation runs the use case: the acting person (or the new one)
// joins as a regular member. The link is checked before anybody is signed
// up, and again, under the account's exact version, when joining. An
// existing person joins only when the invited address is their verified
// one (rule MEM-4), as their stream says now.
func (h *AccountsHandler) AcceptInvitation(ctx context.Context, meta Meta, cmd AcceptInvitation) (Accepted, error) {
	joiner := account.Joiner{PersonID: meta.Actor.ID}
	if cmd.NewPerson != nil {
		a, err := h.loader.account(ctx, cmd.AccountID)
		if err != nil {
			return Accepted{}, err
		}
		// Check the link as joining will, before anybody is created.
		inv, err := a.CheckInvitation(cmd.InvitationID, cmd.Token, h.loader.clock.Now())
		if err != nil {
			return Accepted{}, err
		}
		signUp := *cmd.NewPerson
		if signUp.Email != "" {
			// rule X-7: an address given is the invited one, or refused;
			// it is never silently replaced by it.
			given, err := person.NormalizeEmail(signUp.Email)
			if err != nil || given != inv.Email {
				return Accepted{}, invalid.New(person.ErrInvalid, "new_person.email",
					"the invitation is for %s; leave email out or send that address", inv.Email)
			}
		}
		signUp.Email = inv.Email
		signedUp, err := h.people.signUp(ctx, meta, signUp, cmd.InvitationID)
		if err != nil {
			return Accepted{}, err
		}
		// Signed up with the invited address, which the link proved.
		joiner = account.Joiner{PersonID: signedUp.PersonID, Email: inv.Email, Verified: true}
		meta.Actor = event.Actor{Kind: event.ActorPerson, ID: joiner.PersonID}
	} else if meta.Actor.Kind != event.ActorPerson {
		return Accepted{}, person.ErrBadCredentials
	} else {
		p, err := h.loader.person(ctx, joiner.PersonID)
		if err != nil {
			return Accepted{}, err
		}
		if !p.Exists() {
			return Accepted{}, person.ErrBadCredentials
		}
		joiner.Email, joiner.Verified = p.Email(), p.Verified()
	}
	res, err := h.updateAccount(ctx, "AcceptInvitation", cmd.AccountID, meta, func(a account.Account, now time.Time) ([]any, error) {
		return a.Accept(cmd.InvitationID, cmd.Token, joiner, now)
	})
	if err != nil {
		return Accepted{}, err
	}
	return Accepted{AppendResult: res, PersonID: joiner.PersonID}, nil
}

// InvitationPreview is what an invitation's page says before it is
// accepted (rule MEM-4): the company, who invited, the address it is for,
// its language and until when it can be accepted.
type InvitationPreview struct {
	Company string
	// Inviter is the inviting admin's name; empty if they are unknown.
	Inviter   string
	Email     string
	Language  string
	ExpiresAt time.Time
}

// PreviewInvitation returns what the page of invitation invitationID of
// account accountID shows. The link is checked as accepting it checks it
// (account.Account.CheckInvitation), so nothing of the account is shown to
// whoever lacks a link that still works: a wrong token is
// account.ErrNoInvitation as an unknown invitation is; a used or revoked
// one wraps account.ErrInvitationUsed, an expired one
// account.ErrInvitationExpired.
func (h *AccountsHandler) PreviewInvitation(ctx context.Context, accountID, invitationID, token string) (InvitationPreview, error) {
	a, err := h.loader.account(ctx, accountID)
	if err != nil {
		return InvitationPreview{}, err
	}
	inv, err := a.CheckInvitation(invitationID, token, h.loader.clock.Now())
	if err != nil {
		return InvitationPreview{}, err
	}
	out := InvitationPreview{Company: a.Company().Name, Email: inv.Email, Language: inv.Language, ExpiresAt: inv.ExpiresAt}
	inviter, err := h.loader.person(ctx, inv.InvitedBy)
	if err != nil {
		return InvitationPreview{}, err
	}
	if first, last := inviter.Name(); inviter.Exists() {
		out.Inviter = strings.TrimSpace(first + " " + last)
	}
	return out, nil
}
