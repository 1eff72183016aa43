package commands

import (
	"context"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// RemoveMember ends a membership (rule MEM-8).
type RemoveMember struct {
	AccountID string
	PersonID  string
}

// RemoveMember runs the use case.
func (h *AccountsHandler) RemoveMember(ctx context.Context, meta Meta, cmd RemoveMember) (event.AppendResult, error) {
	return h.updateAccount(ctx, "RemoveMember", cmd.AccountID, meta,
		func(a account.Account, _ time.Time) ([]any, error) { return a.Remove(meta.Actor.ID, cmd.PersonID) })
}
