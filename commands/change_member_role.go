package commands

import (
	"context"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// ChangeMemberRole promotes or demotes a member, with a note (rule MEM-7).
type ChangeMemberRole struct {
	AccountID string
	PersonID  string
	Role      account.Role
	Note      string
}

// ChangeMemberRole runs the use case.
func (h *AccountsHandler) ChangeMemberRole(ctx context.Context, meta Meta, cmd ChangeMemberRole) (event.AppendResult, error) {
	return h.updateAccount(ctx, "ChangeMemberRole", cmd.AccountID, meta,
		func(a account.Account, _ time.Time) ([]any, error) {
			return a.ChangeRole(meta.Actor.ID, cmd.PersonID, cmd.Role, cmd.Note)
		})
}
