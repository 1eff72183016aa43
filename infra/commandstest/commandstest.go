// Package commandstest builds the write side for tests, with test
// dependencies standing in for those a test leaves out: the write side
// refuses to be built without any of them, and most tests use only a few.
package commandstest

import (
	"context"
	"crypto/ed25519"
	"testing"

	"seatledger/commands"
	"seatledger/domain/product"
	"seatledger/infra/argon2id"
	"seatledger/infra/keyring"
	"seatledger/infra/mdmca"
	"seatledger/infra/offline"
	"seatledger/infra/passwords"
	"seatledger/infra/secret"
)

// New builds the write side from cfg, filling what cfg leaves out: cheap
// password hashing, fixed link and key-sealing keys, a fresh MDM
// authority, no MDM entitlements, and an offline signer with an all-zero
// seed. cfg must name the store, registry and clock.
func New(tb testing.TB, cfg commands.Config) *commands.Set {
	tb.Helper()
	if cfg.Passwords == nil {
		cfg.Passwords = passwords.New(argon2id.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1})
	}
	if cfg.Tokens == nil {
		key, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Tokens = key
	}
	if cfg.Keys == nil {
		keys, err := keyring.New([]byte("fedcba9876543210fedcba9876543210"))
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Keys = keys
	}
	if cfg.CA == nil && cfg.Clock != nil {
		ca, err := mdmca.Generate(cfg.Clock.Now())
		if err != nil {
			tb.Fatal(err)
		}
		cfg.CA = ca
	}
	if cfg.Entitlements == nil {
		cfg.Entitlements = NoEntitlements{}
	}
	if cfg.OfflineFormat == nil {
		cfg.OfflineFormat = offline.Format{}
	}
	if cfg.OfflineSigner == nil {
		cfg.OfflineSigner = offline.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	}
	s, err := commands.NewSet(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// NoEntitlements entitles no account to MDM certificates.
type NoEntitlements struct{}

// ActiveSubscriptions returns none.
func (NoEntitlements) ActiveSubscriptions(context.Context, string, product.Model) ([]string, error) {
	return nil, nil
}
