package commands

import (
	"context"
	"fmt"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// LeaveBusinessAccount ends the acting person's own membership (rule MEM-9).
type LeaveBusinessAccount struct {
	AccountID string
}

// LeaveBusinessAccount runs the use case.
func (h *AccountsHandler) LeaveBusinessAccount(ctx context.Context, meta Meta, cmd LeaveBusinessAccount) (event.AppendResult, error) {
	if meta.Actor.Kind != event.ActorPerson {
		return event.AppendResult{}, fmt.Errorf("%w: only a person leaves an account", account.ErrForbidden)
	}
	return h.updateAccount(ctx, "LeaveBusinessAccount", cmd.AccountID, meta,
		func(a account.Account, _ time.Time) ([]any, error) { return a.Leave(meta.Actor.ID) })
}
