package secret

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"seatledger/infra/sqldb"
)

// The names of the secrets whose fingerprints a database records. They
// are the names `ledger secrets forget` takes.
const (
	NameLinkKey    = "link-key"        // emailed links, CSRF tokens, installation credentials
	NameKeyring    = "keyring"         // license keys' lookup hashes and sealed copies
	NameOfflineKey = "offline-signing" // offline activation files
	NameAuditKey   = "audit-signing"   // the audit log's checkpoints
	NameMDMCA      = "mdm-ca"          // MDM certificates
)

// Names lists every secret a ledger fingerprints.
var Names = []string{NameLinkKey, NameKeyring, NameOfflineKey, NameAuditKey, NameMDMCA}

// fingerprintLabel separates the fingerprints' hash input from any other
// use of the same bytes.
const fingerprintLabel = "seatledger secret fingerprint v1"

// FingerprintOf returns the fingerprint of the secret name made of
// material: "sha256:" and the hex SHA-256 of a label, the name and the
// material. For a random key of 256 bits (the link key, the keyring's
// secret) it reveals nothing usable: finding the key from it means
// inverting SHA-256. For a signing key the material is its public half
// (or the CA's certificate), public anyway.
func FingerprintOf(name string, material []byte) string {
	h := sha256.New()
	h.Write([]byte(fingerprintLabel))
	h.Write([]byte{0})
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(material)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Fingerprint is one secret a process started with.
type Fingerprint struct {
	// Name is one of Names.
	Name string
	// Source says where the process took the secret from, for the
	// message that refuses it ("--audit-key ./data/audit-signing.key").
	Source string
	// Value is FingerprintOf the secret.
	Value string
}

// ErrOtherSecrets is matched by the error of CheckFingerprints when a
// secret is not the one the database was first started with.
var ErrOtherSecrets = errors.New("secret: this process's secrets are not the ones this ledger runs with")

// CheckFingerprints records the fingerprint of each secret the first time
// a process starts on the database, and from then on refuses a process
// whose secret differs: every process of one ledger must sign, seal and
// derive with the same keys, or the links, credentials, license keys,
// offline files, checkpoints and certificates of one would not work with
// another. Only fingerprints are stored, never a secret. Two processes
// starting at once agree: the first insert wins, and the other is checked
// against it.
//
// The error, ErrOtherSecrets, is one line naming each secret that
// differs, with its source and when the recorded one was first seen.
func CheckFingerprints(ctx context.Context, db *sqldb.DB, fps []Fingerprint, now time.Time) error {
	var differ []string
	for _, fp := range fps {
		if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO secret_fingerprints (name, fingerprint, recorded_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`), fp.Name, fp.Value, now.UnixMicro()); err != nil {
			return fmt.Errorf("secret: record the fingerprint of %s: %w", fp.Name, err)
		}
		var (
			recorded string
			at       int64
		)
		if err := db.QueryRowContext(ctx, db.Rebind(`SELECT fingerprint, recorded_at FROM secret_fingerprints WHERE name = ?`), fp.Name).
			Scan(&recorded, &at); err != nil {
			return fmt.Errorf("secret: read the fingerprint of %s: %w", fp.Name, err)
		}
		if recorded != fp.Value {
			differ = append(differ, fmt.Sprintf("%s (%s) is not the one recorded on %s", fp.Name, fp.Source,
				time.UnixMicro(at).UTC().Format(time.RFC3339)))
		}
	}
	if len(differ) > 0 {
		return fmt.Errorf("%w: %s; give every process the same files or variables (copy them from the first host), or, to replace one on purpose, stop every process and run `ledger secrets forget NAME`",
			ErrOtherSecrets, strings.Join(differ, "; "))
	}
	return nil
}

// Recorded is a fingerprint a database holds.
type Recorded struct {
	Name        string
	Fingerprint string
	RecordedAt  time.Time
}

// RecordedFingerprints lists the fingerprints db holds, by name.
func RecordedFingerprints(ctx context.Context, db *sqldb.DB) ([]Recorded, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, fingerprint, recorded_at FROM secret_fingerprints ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("secret: list fingerprints: %w", err)
	}
	defer rows.Close()
	var out []Recorded
	for rows.Next() {
		var (
			r  Recorded
			at int64
		)
		if err := rows.Scan(&r.Name, &r.Fingerprint, &at); err != nil {
			return nil, fmt.Errorf("secret: list fingerprints: %w", err)
		}
		r.RecordedAt = time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrUnknownSecret is matched by the error of ForgetFingerprint for a name
// that is not one of Names.
var ErrUnknownSecret = errors.New("secret: no such secret")

// ForgetFingerprint drops the recorded fingerprint of secret name, so that
// the next process to start records the secret it has: the step that
// replaces a secret on purpose. It reports whether one was recorded.
func ForgetFingerprint(ctx context.Context, db *sqldb.DB, name string) (bool, error) {
	known := false
	for _, n := range Names {
		known = known || n == name
	}
	if !known {
		return false, fmt.Errorf("%w %q (use one of %s)", ErrUnknownSecret, name, strings.Join(Names, ", "))
	}
	res, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM secret_fingerprints WHERE name = ?`), name)
	if err != nil {
		return false, fmt.Errorf("secret: forget %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return n > 0, err
}
