// Package events knows every event the ledger writes: the one place a new
// domain package registers its events, for the write side, the read side
// and the tests alike.
package events

import (
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/mdm"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/release"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
	"seatledger/domain/webhook"
)

// Registry returns a registry of every event of every aggregate.
func Registry() *event.Registry {
	reg := event.NewRegistry()
	for _, register := range []func(*event.Registry){
		account.Register, person.Register, staff.Register, product.Register, subscription.Register,
		licensekey.Register, installation.Register, mdm.Register, release.Register, ticket.Register,
		webhook.Register,
	} {
		register(reg)
	}
	return reg
}
