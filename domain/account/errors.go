package account

import (
	"errors"
	"fmt"
)

// The account's domain errors. The HTTP layer maps each to a problem type.
var (
	// ErrNotFound: the account does not exist.
	ErrNotFound = errors.New("account: no such business account")
	// ErrExists: the account was already created.
	ErrExists = errors.New("account: business account already exists")
	// ErrForbidden: the actor may not do this in this account (not a
	// member, blocked, or not an admin).
	ErrForbidden = errors.New("account: not allowed")
	// ErrNotMember: the person the command is about is not a member.
	ErrNotMember = errors.New("account: not a member of this business account")
	// ErrAlreadyMember: the person is a member already.
	ErrAlreadyMember = errors.New("account: already a member of this business account")
	// ErrLastAdmin: the command would leave the account without an
	// unblocked admin (rule MEM-9).
	ErrLastAdmin = errors.New("account: the last account admin cannot leave, be demoted, blocked or removed")
	// ErrNoChange: the command asks for the state the account is in already.
	ErrNoChange = errors.New("account: nothing to change")
	// ErrInvalidInvitation: an address or language of an invitation
	// request is not valid (rule MEM-4).
	ErrInvalidInvitation = errors.New("account: invalid invitation")
	// ErrNoInvitation: no such invitation, or the link's token is wrong.
	ErrNoInvitation = errors.New("account: the invitation link is not valid")
	// ErrInvitationUsed: the invitation was accepted or withdrawn already.
	ErrInvitationUsed = errors.New("account: the invitation can no longer be used")
	// ErrInvitationAddress: the person redeeming an invitation is not the
	// owner of the verified address it was sent to (rule MEM-4).
	ErrInvitationAddress = errors.New("account: an invitation is for the verified owner of the address it was sent to")
	// ErrInvitationExpired: the invitation is older than InvitationValidity.
	ErrInvitationExpired = errors.New("account: the invitation has expired; ask an account admin for a new one")
	// ErrInvalidCompany: the company details are not valid; the error is
	// an *invalid.Error naming each field ("company.zip").
	ErrInvalidCompany = errors.New("account: invalid company details")
	// ErrInvalid: a field of a member command (a role, a note) is not
	// valid; the error is an *invalid.Error naming it (rule X-7).
	ErrInvalid = errors.New("account: invalid request")
)

func forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, args...))
}
