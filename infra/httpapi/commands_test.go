package httpapi

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

// newTestCommands builds the write side from cfg for a test of the API,
// with test dependencies standing in for those cfg leaves out (cheap
// password hashing, fixed keys, a fresh MDM authority, no entitlements):
// the write side refuses to be built without any of them.
func newTestCommands(t testing.TB, cfg commands.Config) *commands.Set {
	t.Helper()
	if cfg.Passwords == nil {
		cfg.Passwords = passwords.New(argon2id.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1})
	}
	if cfg.Tokens == nil {
		key, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tokens = key
	}
	if cfg.Keys == nil {
		keys, err := keyring.New([]byte("fedcba9876543210fedcba9876543210"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys = keys
	}
	if cfg.CA == nil {
		ca, err := mdmca.Generate(cfg.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		cfg.CA = ca
	}
	if cfg.Entitlements == nil {
		cfg.Entitlements = noEntitlements{}
	}
	if cfg.OfflineFormat == nil {
		cfg.OfflineFormat = offline.Format{}
	}
	if cfg.OfflineSigner == nil {
		cfg.OfflineSigner = offline.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	}
	h, err := commands.NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// noEntitlements entitles no account to MDM certificates.
type noEntitlements struct{}

func (noEntitlements) ActiveSubscriptions(context.Context, string, product.Model) ([]string, error) {
	return nil, nil
}
