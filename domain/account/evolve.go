package account

import "time"

// Evolve returns the account with one more recorded event applied: the
// decoded payload, effective at at. It does not validate; the events are
// facts.
//
// Folding is linear in the number of events: Evolve writes into the maps
// the account already has, which the value it was called on shares. Fold
// into a value only you hold (the zero Account, Personal, or a Clone), as
// loading does; a decision never evolves.
func (a Account) Evolve(payload any, at time.Time) Account {
	if a.members == nil {
		a.members = map[string]Member{}
	}
	if a.invitations == nil {
		a.invitations = map[string]Invitation{}
	}
	switch e := payload.(type) {
	case Created:
		a.id, a.company, a.supportCode = e.AccountID, e.Company, e.SupportCode
		a.members[e.CreatorID] = Member{PersonID: e.CreatorID, Role: RoleAdmin, Since: at}
	case ProfileChanged:
		a.company = e.Company
	case OfflineActivationSet:
		a.offline = e.Enabled
	case MemberJoined:
		a.members[e.PersonID] = Member{PersonID: e.PersonID, Role: RoleMember, Since: at}
		if inv, ok := a.invitations[e.InvitationID]; ok {
			inv.State = StateAccepted
			a.invitations[e.InvitationID] = inv
		}
	case RoleChanged:
		m := a.members[e.PersonID]
		m.Role = e.Role
		a.members[e.PersonID] = m
	case MemberBlocked:
		m := a.members[e.PersonID]
		m.Blocked = true
		a.members[e.PersonID] = m
	case MemberUnblocked:
		m := a.members[e.PersonID]
		m.Blocked = false
		a.members[e.PersonID] = m
	case MemberRemoved:
		delete(a.members, e.PersonID)
	case MemberLeft:
		delete(a.members, e.PersonID)
	case MemberInvited:
		a.invitations[e.InvitationID] = Invitation{ID: e.InvitationID, Email: e.Email, Language: e.Language,
			InvitedBy: e.InvitedBy, ExpiresAt: e.ExpiresAt, TokenHash: e.TokenHash, State: StatePending}
	case InvitationRevoked:
		inv := a.invitations[e.InvitationID]
		inv.State = StateRevoked
		a.invitations[e.InvitationID] = inv
	}
	a.version++
	return a
}
