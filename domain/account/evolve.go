package account

import (
	"maps"
	"time"
)

// Evolve returns the account with one more recorded event applied: the
// decoded payload, effective at at. It does not validate; the events are
// facts. The account it is called on is left as it was.
func (a Account) Evolve(payload any, at time.Time) Account {
	a.members = maps.Clone(a.members) // values share the map: copy before writing
	if a.members == nil {
		a.members = map[string]Member{}
	}
	switch e := payload.(type) {
	case Created:
		a.id, a.company, a.supportCode = e.AccountID, e.Company, e.SupportCode
		a.members[e.CreatorID] = Member{PersonID: e.CreatorID, Role: RoleAdmin, Since: at}
	case ProfileChanged:
		a.company = e.Company
	case MemberJoined:
		a.members[e.PersonID] = Member{PersonID: e.PersonID, Role: RoleMember, Since: at}
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
	}
	a.version++
	return a
}
