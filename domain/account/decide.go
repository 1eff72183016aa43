package account

import (
	"fmt"

	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// maxNoteLength bounds the note of a role change, in characters.
const maxNoteLength = 500

// Create opens the account with creator as its first admin (rules MEM-3,
// KEY-2). The support code is chosen by the caller.
func (a Account) Create(id, creator, supportCode string, company Company) ([]any, error) {
	if _, personal := PersonalOwner(id); a.Exists() || personal {
		return nil, ErrExists
	}
	company = company.Normalize()
	if err := company.Validate(); err != nil {
		return nil, err
	}
	if id == "" || creator == "" || supportCode == "" {
		return nil, fmt.Errorf("account: create needs an ID, a creator and a support code")
	}
	return []any{Created{AccountID: id, Company: company, SupportCode: supportCode, CreatorID: creator}}, nil
}

// ChangeProfile replaces the company's details (rule MEM-3: admins only).
func (a Account) ChangeProfile(actor string, company Company) ([]any, error) {
	if err := a.CanManage(actor); err != nil {
		return nil, err
	}
	if a.personal {
		return nil, fmt.Errorf("%w: a personal account has no company profile", ErrForbidden)
	}
	company = company.Normalize()
	if err := company.Validate(); err != nil {
		return nil, err
	}
	if company == a.company {
		return nil, ErrNoChange
	}
	return []any{ProfileChanged{Company: company, By: actor}}, nil
}

// Join adds person as a regular member through invitation invitationID
// (rule MEM-4); Accept checks the invitation.
func (a Account) Join(person, invitationID string) ([]any, error) {
	if !a.Exists() || a.personal {
		return nil, ErrNotFound
	}
	if _, ok := a.members[person]; ok {
		return nil, ErrAlreadyMember
	}
	return []any{MemberJoined{PersonID: person, InvitationID: invitationID}}, nil
}

// member returns the member a command is about, or ErrNotMember.
func (a Account) member(person string) (Member, error) {
	m, ok := a.members[person]
	if !ok {
		return Member{}, fmt.Errorf("%w: %s", ErrNotMember, person)
	}
	return m, nil
}

// wouldLoseLastAdmin reports whether taking m out of the unblocked admins
// leaves none (rule MEM-9).
func (a Account) wouldLoseLastAdmin(m Member) bool {
	return m.Role == RoleAdmin && !m.Blocked && a.admins() == 1
}

// ChangeRole promotes or demotes person, with a note (rule MEM-7).
func (a Account) ChangeRole(actor, person string, role Role, note string) ([]any, error) {
	if err := a.CanManage(actor); err != nil {
		return nil, err
	}
	m, err := a.member(person)
	if err != nil {
		return nil, err
	}
	var problems invalid.List
	if role != RoleAdmin && role != RoleMember {
		problems.Add("role", "role must be %s or %s, not %q", RoleAdmin, RoleMember, role)
	}
	problems.AddReason("note", text.Check("note", note, text.Free, maxNoteLength))
	if err := problems.Err(ErrInvalid); err != nil {
		return nil, err
	}
	switch {
	case m.Role == role:
		return nil, fmt.Errorf("%w: %s is %s already", ErrNoChange, person, role)
	case role == RoleMember && a.wouldLoseLastAdmin(m):
		return nil, ErrLastAdmin
	}
	return []any{RoleChanged{PersonID: person, Role: role, Note: note, By: actor}}, nil
}

// Block takes all access away from person, who stays a member (rule MEM-8).
func (a Account) Block(actor, person string) ([]any, error) {
	m, err := a.manageOther(actor, person, "block")
	if err != nil {
		return nil, err
	}
	switch {
	case m.Blocked:
		return nil, fmt.Errorf("%w: %s is blocked already", ErrNoChange, person)
	case a.wouldLoseLastAdmin(m):
		return nil, ErrLastAdmin
	}
	return []any{MemberBlocked{PersonID: person, By: actor}}, nil
}

// Unblock gives a blocked member their access back (rule MEM-8).
func (a Account) Unblock(actor, person string) ([]any, error) {
	m, err := a.manageOther(actor, person, "unblock")
	if err != nil {
		return nil, err
	}
	if !m.Blocked {
		return nil, fmt.Errorf("%w: %s is not blocked", ErrNoChange, person)
	}
	return []any{MemberUnblocked{PersonID: person, By: actor}}, nil
}

// Remove ends person's membership (rule MEM-8); they may be invited again.
func (a Account) Remove(actor, person string) ([]any, error) {
	m, err := a.manageOther(actor, person, "remove")
	if err != nil {
		return nil, err
	}
	if a.wouldLoseLastAdmin(m) {
		return nil, ErrLastAdmin
	}
	return []any{MemberRemoved{PersonID: person, By: actor}}, nil
}

// Leave ends the actor's own membership (rule MEM-9). A blocked member may
// leave too: leaving takes nothing from the account.
func (a Account) Leave(person string) ([]any, error) {
	m, ok := a.members[person]
	switch {
	case !a.Exists() || !ok:
		return nil, forbidden("not a member of this account")
	case a.personal:
		return nil, fmt.Errorf("%w: nobody leaves their personal account", ErrForbidden)
	case a.wouldLoseLastAdmin(m):
		return nil, ErrLastAdmin
	}
	return []any{MemberLeft{PersonID: person}}, nil
}

// manageOther checks that actor may manage and that person is another
// member: an admin blocks or removes others, and leaves to end their own
// membership (choice: blocking oneself is refused rather than locking an
// admin out by a slip).
func (a Account) manageOther(actor, person, what string) (Member, error) {
	if err := a.CanManage(actor); err != nil {
		return Member{}, err
	}
	if a.personal {
		return Member{}, fmt.Errorf("%w: a personal account has no other members", ErrForbidden)
	}
	if actor == person {
		return Member{}, fmt.Errorf("%w: an admin cannot %s themselves (to go, leave the account)", ErrForbidden, what)
	}
	return a.member(person)
}
