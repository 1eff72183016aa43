package ticket

import (
	"errors"
	"fmt"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// Action is what an actor may want to do with a ticket; it extends
// account.Authorize, the one policy, with the ticket's owner (TKT-3).
type Action struct{ s string }

// The actions on a ticket.
var (
	// ActionView: see the ticket, its replies, attachments, watchers and
	// survey. The owner and the account's admins; the back office.
	ActionView = Action{"view"}
	// ActionManage: act as the customer — reply, close, reopen, fill
	// the survey. The owner and the account's admins (TKT-3).
	ActionManage = Action{"manage"}
	// ActionReply: reply, as the customer (ActionManage) for a person,
	// as support (ActionSupport) for the back office.
	ActionReply = Action{"reply"}
	// ActionWatchers: add and remove watchers. The owner only (TKT-3).
	ActionWatchers = Action{"watchers"}
	// ActionSupport: act as support — change the status, reply as
	// support. The back office only.
	ActionSupport = Action{"support"}
)

// String returns the action's stable name.
func (a Action) String() string { return a.s }

// errRefused is the one answer a person gets for a ticket they may not see,
// whether it exists or not.
var errRefused = fmt.Errorf("%w: no ticket of yours or of an account you administer has this ID", account.ErrForbidden)

// Authorize answers whether actor may do action with this ticket, given
// acct, the ticket's account as of its latest events (rules TKT-3, MEM-5,
// MEM-8, X-5):
//
//   - an unblocked admin of the account views and manages every ticket of
//     the account;
//   - the owner views and manages their own ticket while an unblocked
//     member, and alone adds and removes its watchers;
//   - the back office views every ticket and acts as support (status,
//     support replies), never as the customer;
//   - everyone else is refused with account.ErrForbidden, the same answer
//     whether the ticket exists or not.
//
// For the back office a ticket that does not exist is ErrNotFound: it
// sees every ticket, so may know which exist.
func (t Ticket) Authorize(actor event.Actor, acct account.Account, action Action) error {
	if actor.Kind == event.ActorBackOffice {
		switch {
		case action != ActionView && action != ActionSupport && action != ActionReply:
			return fmt.Errorf("%w: the back office acts on tickets as support, not as the customer", account.ErrForbidden)
		case !t.Exists():
			return ErrNotFound
		}
		return nil
	}
	if actor.Kind != event.ActorPerson || !t.Exists() || acct.ID() != t.accountID {
		return errRefused
	}
	if err := acct.Authorize(actor, account.ActionView); err != nil {
		if errors.Is(err, account.ErrForbidden) {
			return errRefused // blocked, or no longer a member
		}
		return err
	}
	admin := acct.Authorize(actor, account.ActionManage) == nil
	owner := actor.ID == t.owner
	if !admin && !owner {
		return errRefused
	}
	switch action {
	case ActionView, ActionManage, ActionReply:
		return nil
	case ActionWatchers:
		if owner {
			return nil
		}
		return fmt.Errorf("%w: only the ticket's owner adds or removes its watchers", account.ErrForbidden)
	case ActionSupport:
		return fmt.Errorf("%w: only support changes a ticket's status", account.ErrForbidden)
	}
	return fmt.Errorf("%w: unknown action %q", account.ErrForbidden, action.s)
}
