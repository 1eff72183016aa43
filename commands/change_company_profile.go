package commands

import (
	"context"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// ChangeCompanyProfile replaces a business account's company details (rule MEM-3).
type ChangeCompanyProfile struct {
	AccountID string
	Company   account.Company
}

// ChangeCompanyProfile runs the use case.
func (h *AccountsHandler) ChangeCompanyProfile(ctx context.Context, meta Meta, cmd ChangeCompanyProfile) (event.AppendResult, error) {
	return h.updateAccount(ctx, "ChangeCompanyProfile", cmd.AccountID, meta,
		func(a account.Account, _ time.Time) ([]any, error) {
			return a.ChangeProfile(meta.Actor.ID, cmd.Company)
		})
}
