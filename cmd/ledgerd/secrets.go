package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"

	"seatledger/infra/config"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
)

// Secrets. Every secret that can forge something — the link key (emailed
// links, CSRF tokens, installation credentials), the keyring's secret
// (license keys), the offline and audit signing keys and the MDM CA's
// key — lives in a file (mode 0600) or the environment, never in the
// database, so that whoever can read the database cannot forge a reset
// link or a license. Every process of one ledger must use the same ones:
// the database keeps their fingerprints, and a process started with
// another secret refuses to start (checkSecrets).

// linkKey returns the key of emailed links' tokens: LEDGER_SECRET_KEY, or
// the link-key file, created on first start. A database of an earlier
// version kept the key in its server_keys table: it is moved to the file
// first, so the links already mailed keep working.
func (m *Main) linkKey(ctx context.Context) (secret.Key, error) {
	moved, err := secret.MoveFromDatabase(ctx, m.DB, m.Config.LinkKeyFile, m.Config.SecretKey)
	if err != nil {
		return secret.Key{}, err
	}
	switch moved {
	case secret.MovedToFile:
		m.Logger.Warn("the link key was moved out of the database into its file; copy that file to every host that runs ledgerd on this database, and back it up",
			"file", m.Config.LinkKeyFile)
	case secret.RemovedUnused:
		m.Logger.Info("an earlier version's copy of the link key was removed from the database")
	}
	var (
		key    secret.Key
		source string
	)
	if len(m.Config.SecretKey) > 0 {
		key, err = secret.New(m.Config.SecretKey)
		source = config.EnvSecretKey
	} else {
		key, err = secret.LoadFile(m.Config.LinkKeyFile)
		source = "--link-key-file " + m.Config.LinkKeyFile
		m.warnIfShared(m.Config.LinkKeyFile, "the link key")
	}
	if err != nil {
		return secret.Key{}, err
	}
	m.recordSecret(secret.NameLinkKey, source, key.Fingerprint())
	return key, nil
}

// recordSecret notes the fingerprint of a secret this process loaded, for
// checkSecrets.
func (m *Main) recordSecret(name, source, fingerprint string) {
	m.secrets = append(m.secrets, secret.Fingerprint{Name: name, Source: source, Value: fingerprint})
}

// publicKeyFingerprint is the fingerprint of an Ed25519 signing key: of
// its public half, which identifies it.
func publicKeyFingerprint(name string, pub ed25519.PublicKey) string {
	return secret.FingerprintOf(name, pub)
}

// checkSecrets refuses to go on when a secret this process loaded is not
// the one the ledger's database was first started with (issue 18: one
// ledger, one set of secrets). The first process records them.
func (m *Main) checkSecrets(ctx context.Context) error {
	return secret.CheckFingerprints(ctx, m.DB, m.secrets, m.Clock.Now())
}

// warnIfShared warns when a secret's file may be read by other users: it
// was created 0600, so someone widened it.
func (m *Main) warnIfShared(path, what string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	m.Logger.Warn("a secret's file is readable by other users; make it private (chmod 600)", "secret", what, "file", path,
		"mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
}

// checkSQLiteFiles refuses a SQLite database file that other users may
// read, and makes its folder and companions private (sqldb's rules).
func (m *Main) checkSQLiteFiles() error {
	if m.Config.Database.Engine != sqldb.SQLite {
		return nil
	}
	warnings, err := sqldb.CheckSQLitePermissions(m.Config.Database.DSN)
	for _, w := range warnings {
		m.Logger.Warn(w)
	}
	return err
}
