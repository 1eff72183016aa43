package commands

import (
	"seatledger/domain/account"
	"seatledger/domain/event"
)

// evolveAccount folds one recorded event into a business account; members
// joined at the event's effective time are "members since" then.
func evolveAccount(a account.Account, payload any, rec event.Record) account.Account {
	return a.Evolve(payload, rec.Effective())
}
