package commands

import (
	"context"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/staff"
)

// AccountsHandler runs the use cases of business accounts: their
// company, members and invitations (rules MEM-2..9), and whether they
// may activate offline (ACT-3). It answers every authorization that
// depends on an account.
type AccountsHandler struct {
	loader *Loader
	tokens Tokens
	people *PeopleHandler // an invitation may sign a new person up
}

// NewAccountsHandler returns an AccountsHandler on loader; tokens derives
// the invitations' links, and people signs up the new people who accept
// an invitation. It returns an error wrapping ErrMissingDependency if one
// of them is nil.
func NewAccountsHandler(loader *Loader, tokens Tokens, people *PeopleHandler) (*AccountsHandler, error) {
	if err := dependencies("NewAccountsHandler", dep{"a Loader", loader != nil}, dep{"Tokens", tokens != nil},
		dep{"a PeopleHandler", people != nil}); err != nil {
		return nil, err
	}
	return &AccountsHandler{loader: loader, tokens: tokens, people: people}, nil
}

// evolveAccount folds one recorded event into a business account; members
// joined at the event's effective time are "members since" then.
func evolveAccount(a account.Account, payload any, rec event.Record) account.Account {
	return a.Evolve(payload, rec.Effective())
}

// seedAccount is an account before its first event: nothing, or for a
// personal account its owner as sole admin (rule MEM-2).
func seedAccount(id string) account.Account {
	if owner, ok := account.PersonalOwner(id); ok {
		return account.Personal(owner)
	}
	return account.Account{}
}

// updateAccount runs decide on account id as of its latest event.
func (h *AccountsHandler) updateAccount(ctx context.Context, command, id string, meta Meta, decide func(account.Account, time.Time) ([]any, error)) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.accounts, id, command, meta, decide)
}

// Account returns account id as of its stream's latest event: the state
// authorization decides from. It is shared; never evolve it.
func (h *AccountsHandler) Account(ctx context.Context, id string) (account.Account, error) {
	return h.loader.account(ctx, id)
}

// Authorize answers whether actor may do action in account id, from the
// account's latest events (rules MEM-5, MEM-8, X-5): the check every query
// makes before it reads a read model. A nil error allows.
func (h *AccountsHandler) Authorize(ctx context.Context, actor event.Actor, id string, action account.Action) error {
	return h.loader.authorize(ctx, actor, id, action)
}

// SetOfflineActivation enables or disables offline activation for a
// business account (ACT-3), for a reason the event records (required):
// the back office only (staff.PermSwitches).
func (h *AccountsHandler) SetOfflineActivation(ctx context.Context, meta Meta, accountID string, enabled bool, reason string) (event.AppendResult, error) {
	if err := h.loader.backOffice(ctx, meta.Actor, staff.PermSwitches); err != nil {
		return event.AppendResult{}, err
	}
	return h.updateAccount(ctx, "SetOfflineActivation", accountID, meta, func(a account.Account, _ time.Time) ([]any, error) {
		return a.SetOfflineActivation(enabled, meta.Actor.ID, reason)
	})
}
