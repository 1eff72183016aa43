package account

import (
	"strings"

	"seatledger/domain/event"
)

// Action is something an actor may want to do in an account: the
// vocabulary of the one authorization policy (Authorize) that every
// command and query asks. It is a closed set; later capabilities add
// their actions here.
type Action struct{ s string }

// The actions.
var (
	// ActionView: read the account's data (profile, members, and what
	// later capabilities keep in it). Unblocked members; the back office
	// reads too, for support.
	ActionView = Action{"view"}
	// ActionManage: change the account (profile, roles, blocks, removals,
	// invitations, and everything an admin manages, rule MEM-5).
	// Unblocked admins only.
	ActionManage = Action{"manage"}
	// ActionReadEvents: follow the account's event feed (issue 22), which
	// tells everything of the account, members' tickets and management
	// included, for the admins' own systems. Unblocked admins; the back
	// office reads too, for support. Regular members see their part in
	// the portal, never the whole feed.
	ActionReadEvents = Action{"read_events"}
)

// String returns the action's stable name.
func (a Action) String() string { return a.s }

// Authorize answers the question every command and query asks: may actor
// do action in this account? It decides from the account's events — the
// caller folds them, up to the stream's current version — never from a
// read model, so a block or a demotion counts from the very next request
// (rules MEM-5, MEM-7, MEM-8, X-5). The answer is nil or an error that
// matches ErrForbidden and says why in words fit for the actor; an
// account that does not exist is refused like one the actor is not in, so
// nobody learns of another company's account by probing.
func (a Account) Authorize(actor event.Actor, action Action) error {
	switch actor.Kind {
	case event.ActorBackOffice:
		if (action == ActionView || action == ActionReadEvents) && a.Exists() {
			return nil
		}
		return forbidden("the back office may read accounts, not act in them")
	case event.ActorPerson:
	default:
		return forbidden("only people act in accounts")
	}
	m, ok := a.members[actor.ID]
	switch {
	case !a.Exists() || !ok || actor.ID == "":
		return forbidden("not a member of this account")
	case m.Blocked:
		return forbidden("blocked in this account")
	case action == ActionView:
		return nil
	case (action == ActionManage || action == ActionReadEvents) && m.Role == RoleAdmin:
		return nil
	case action == ActionManage:
		return forbidden("only an account admin may do this")
	case action == ActionReadEvents:
		return forbidden("only an account admin may read the account's event feed")
	}
	return forbidden("unknown action %q", action.s)
}

// CanView is Authorize(person, ActionView) for a person.
func (a Account) CanView(person string) error {
	return a.Authorize(event.Actor{Kind: event.ActorPerson, ID: person}, ActionView)
}

// CanManage is Authorize(person, ActionManage) for a person.
func (a Account) CanManage(person string) error {
	return a.Authorize(event.Actor{Kind: event.ActorPerson, ID: person}, ActionManage)
}

// personalPrefix marks the ID of a person's personal account.
const personalPrefix = "personal-"

// PersonalID returns the ID of person's personal account (rule MEM-2):
// every person has one, from sign-up on, with themselves as its only admin.
func PersonalID(person string) string { return personalPrefix + person }

// PersonalOwner returns the person whose personal account id is, if it is one.
func PersonalOwner(id string) (string, bool) {
	owner, ok := strings.CutPrefix(id, personalPrefix)
	return owner, ok && owner != ""
}

// Personal returns the personal account of person as it exists before any
// event: the account to fold its stream into. It has no company and one
// admin, the person, who can neither leave it nor share it.
func Personal(person string) Account {
	return Account{id: PersonalID(person), personal: true,
		members: map[string]Member{person: {PersonID: person, Role: RoleAdmin}}}
}

// IsPersonal reports whether this is a person's personal account.
func (a Account) IsPersonal() bool { return a.personal }
