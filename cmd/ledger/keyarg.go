package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"seatledger/domain/subscription"
	"seatledger/infra/config"
	"seatledger/infra/keyring"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/queries"
)

// addKeyringFlags adds the flag keyID reads.
func addKeyringFlags(flags *pflag.FlagSet) {
	flags.String("keyring-file", "", "the ledger's keyring file, to find a license key given as the customer holds it (default $"+
		config.EnvKeyringFile+", else "+config.DefaultKeyringFile+"; $"+config.EnvKeyringSecret+" wins)")
}

// entityID returns the ID of the entity arg names. A key may be given as
// the customer holds it (7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5, any case, dashes
// optional) as well as by its 32-hex ID (issue 20): its ID is the keyed
// hash of the key, so finding it takes the ledger's keyring, read (never
// created) from LEDGER_KEYRING_SECRET or the keyring file, and checked
// against the fingerprint the database recorded, so that another keyring
// is named as such rather than the key reported as unknown.
func entityID(cmd *cobra.Command, a *app, db *sqldb.DB, kind queries.EntityKind, arg string) (string, error) {
	if kind != queries.KindKey {
		return arg, nil
	}
	canonical, err := subscription.ParseKey(arg)
	if err != nil {
		if looksLikeKey(arg) {
			// A key with a typo: say so, rather than "never existed".
			return "", usagef("%s", strings.TrimPrefix(err.Error(), "subscription: "))
		}
		return arg, nil // an ID
	}
	k, source, err := readKeyring(cmd, a)
	if err != nil {
		return "", err
	}
	if err := sameKeyring(cmd.Context(), db, k, source); err != nil {
		return "", err
	}
	return k.ID(canonical), nil
}

// looksLikeKey tells a mistyped license key (25 symbols, in groups of
// five) from an ID, which is 32 hexadecimal digits.
func looksLikeKey(arg string) bool {
	return len(strings.NewReplacer("-", "", " ", "").Replace(arg)) == 25
}

// readKeyring reads the keyring as ledgerd does: LEDGER_KEYRING_SECRET,
// else the keyring file; it returns where it came from.
func readKeyring(cmd *cobra.Command, a *app) (*keyring.Keyring, string, error) {
	if raw := a.getenv(config.EnvKeyringSecret); raw != "" {
		s, err := keyring.ParseSecret(raw)
		if err != nil {
			return nil, "", usagef("%s: %v", config.EnvKeyringSecret, err)
		}
		k, err := keyring.New(s)
		return k, config.EnvKeyringSecret, err
	}
	path, source := setting(cmd, a, "keyring-file", config.EnvKeyringFile, config.DefaultKeyringFile)
	k, err := keyring.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", usagef("finding a license key takes the ledger's keyring, and %s (%s) does not exist; give --keyring-file, or set %s or %s as ledgerd has them, or give the key's ID",
			path, source, config.EnvKeyringFile, config.EnvKeyringSecret)
	}
	if err != nil {
		return nil, "", err
	}
	return k, fmt.Sprintf("%s (%s)", path, source), nil
}

// sameKeyring refuses a keyring other than the one the ledger recorded:
// with it, every key would look unknown.
func sameKeyring(ctx context.Context, db *sqldb.DB, k *keyring.Keyring, source string) error {
	recorded, err := secret.RecordedFingerprints(ctx, db)
	if err != nil {
		return err
	}
	for _, r := range recorded {
		if r.Name == secret.NameKeyring && r.Fingerprint != k.Fingerprint() {
			return usagef("the keyring of %s is not this ledger's (its fingerprint is not the one recorded on %s); give the keyring ledgerd runs with",
				source, r.RecordedAt.Format("2006-01-02"))
		}
	}
	return nil
}
