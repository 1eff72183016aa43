package subscription

import (
	"errors"
	"fmt"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// Action is what an actor may want to do with a subscription; it extends
// account.Authorize, the one policy, with license administrators (MEM-6).
type Action struct{ s string }

// The actions on a subscription.
var (
	// ActionView: see the subscription, its keys (masked) and orders.
	ActionView = Action{"view"}
	// ActionManage: rename, auto-renew, grant key administrators.
	ActionManage = Action{"manage"}
	// ActionManageKey: create sublicenses under a key, change, rename or
	// delete one, show it in full, activate and deactivate its
	// installations: the account's admins and that key's administrators.
	ActionManageKey = Action{"manage-key"}
)

// String returns the action's stable name.
func (a Action) String() string { return a.s }

// Authorize answers whether actor may do action with this subscription
// (and, for ActionManageKey, with key keyID), given acct, the business
// account it is registered to, as of its latest events. It is
// account.Authorize extended: account admins may do everything, members
// view, and an unblocked member who administers a key manages that key
// and the sublicenses under it (MEM-6). An unregistered subscription is
// nobody's yet.
func (s Subscription) Authorize(actor event.Actor, acct account.Account, action Action, keyID string) error {
	if !s.Exists() || s.accountID == "" || acct.ID() != s.accountID {
		return fmt.Errorf("%w: not a subscription of this account", account.ErrForbidden)
	}
	switch action {
	case ActionView:
		return acct.Authorize(actor, account.ActionView)
	case ActionManage:
		return acct.Authorize(actor, account.ActionManage)
	case ActionManageKey:
		err := acct.Authorize(actor, account.ActionManage)
		if err == nil || !errors.Is(err, account.ErrForbidden) {
			return err
		}
		if acct.Authorize(actor, account.ActionView) != nil {
			return err // blocked, or not a member
		}
		if k, ok := s.keys[keyID]; ok && (k.Administrators[actor.ID] || k.Type == Reserved && s.keys[s.primary].Administrators[actor.ID]) {
			return nil
		}
		return fmt.Errorf("%w: only an account admin or this key's license administrator may do this", account.ErrForbidden)
	}
	return fmt.Errorf("%w: unknown action %q", account.ErrForbidden, action.s)
}
