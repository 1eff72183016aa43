package commands

import (
	"context"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// BlockMember takes all access to the account away from a member, or with
// Unblock gives it back (rule MEM-8).
type BlockMember struct {
	AccountID string
	PersonID  string
	Unblock   bool
}

// BlockMember runs the use case.
func (h *AccountsHandler) BlockMember(ctx context.Context, meta Meta, cmd BlockMember) (event.AppendResult, error) {
	name := "BlockMember"
	if cmd.Unblock {
		name = "UnblockMember"
	}
	return h.updateAccount(ctx, name, cmd.AccountID, meta,
		func(a account.Account, _ time.Time) ([]any, error) {
			if cmd.Unblock {
				return a.Unblock(meta.Actor.ID, cmd.PersonID)
			}
			return a.Block(meta.Actor.ID, cmd.PersonID)
		})
}
