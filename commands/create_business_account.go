package commands

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// CreateBusinessAccount opens a business account with the acting person as
// its first admin (rules MEM-3, KEY-2).
type CreateBusinessAccount struct {
	AccountID string
	Company   account.Company
}

// supportCodeAlphabet leaves out look-alikes (0/O, 1/I/L) since people read
// the code out to support on the phone.
const supportCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newSupportCode returns a random code such as "7K2M-QX9P".
func newSupportCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms we run on
	for i := range b {
		b[i] = supportCodeAlphabet[int(b[i])%len(supportCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// CreateBusinessAccount runs the use case.
func (h *AccountsHandler) CreateBusinessAccount(ctx context.Context, meta Meta, cmd CreateBusinessAccount) (event.AppendResult, error) {
	if meta.Actor.Kind != event.ActorPerson {
		return event.AppendResult{}, fmt.Errorf("%w: a business account is created by a person", account.ErrForbidden)
	}
	code := newSupportCode()
	return h.updateAccount(ctx, "CreateBusinessAccount", cmd.AccountID, meta,
		func(a account.Account, _ time.Time) ([]any, error) {
			return a.Create(cmd.AccountID, meta.Actor.ID, code, cmd.Company)
		})
}
