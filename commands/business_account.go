package commands

import (
	"context"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

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
func (h *Handler) updateAccount(ctx context.Context, command, id string, meta Meta, decide func(account.Account, time.Time) ([]any, error)) (event.AppendResult, error) {
	return update(ctx, h, h.accounts, id, command, meta, decide)
}

// Account returns account id as of its stream's latest event: the state
// authorization decides from. It is shared; never evolve it.
func (h *Handler) Account(ctx context.Context, id string) (account.Account, error) {
	a, _, err := h.accounts.current(ctx, h, id)
	return a, err
}

// Authorize answers whether actor may do action in account id, from the
// account's latest events (rules MEM-5, MEM-8, X-5): the check every query
// makes before it reads a read model. A nil error allows.
func (h *Handler) Authorize(ctx context.Context, actor event.Actor, id string, action account.Action) error {
	a, err := h.Account(ctx, id)
	if err != nil {
		return err
	}
	return a.Authorize(actor, action)
}
