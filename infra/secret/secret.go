// Package secret holds the server's key for emailed links: a token is the
// HMAC-SHA256 of the link's purpose and subject under the key, so that the
// command that issues a link and the mail sender that renders it later
// derive the same token, and only its hash ever reaches the event log or
// the outbox. The same key derives the portal's CSRF tokens and the
// installations' credentials.
//
// The key comes from the configuration (LEDGER_SECRET_KEY) or from a file
// (LoadFile), mode 0600, created on first start: never from the database,
// since whoever could read the database file could then forge any link. A
// database of an earlier version kept the key in its server_keys table;
// MoveFromDatabase moves it to the file, so the links already mailed keep
// working.
//
// The package also records the fingerprints of the ledger's secrets in
// the database (CheckFingerprints), so that a process started with
// another secret than the others refuses to start.
package secret

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"seatledger/infra/newfile"
	"seatledger/infra/sqldb"
)

// MinKeyBytes is the shortest key accepted.
const MinKeyBytes = 32

// Key derives link tokens. Its zero value is unusable; use New or LoadFile.
type Key struct{ k []byte }

// New returns a Key of raw bytes, at least MinKeyBytes long.
func New(raw []byte) (Key, error) {
	if len(raw) < MinKeyBytes {
		return Key{}, fmt.Errorf("secret: the key must be at least %d bytes, got %d", MinKeyBytes, len(raw))
	}
	return Key{k: append([]byte(nil), raw...)}, nil
}

// Token returns the link token of purpose and subject: 256 bits, URL-safe.
func (k Key) Token(purpose, subject string) string {
	m := hmac.New(sha256.New, k.k)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Fingerprint identifies the key without revealing it (see FingerprintOf).
func (k Key) Fingerprint() string { return FingerprintOf(NameLinkKey, k.k) }

// LoadFile returns the key kept in the file at path, whose bytes are the
// key as they are (at least MinKeyBytes). When the file does not exist, it
// is created, with its parent directory (mode 0700), holding MinKeyBytes
// random bytes, mode 0600. Creation is atomic and never replaces a file:
// when two processes start at once, the first file written wins and both
// use it.
func LoadFile(path string) (Key, error) {
	raw, err := newfile.LoadOrCreate(path, func() ([]byte, error) {
		raw := make([]byte, MinKeyBytes)
		_, err := rand.Read(raw)
		return raw, err
	})
	if err != nil {
		return Key{}, fmt.Errorf("secret: link key file %s: %w", path, err)
	}
	if len(raw) < MinKeyBytes {
		return Key{}, fmt.Errorf("secret: link key file %s holds %d bytes, fewer than %d; restore it from a backup (an empty or truncated file is never replaced, since that would break every link and installation credential)",
			path, len(raw), MinKeyBytes)
	}
	return New(raw)
}

// legacyKeyName is the row of the link key in server_keys, where earlier
// versions generated and kept it.
const legacyKeyName = "link-tokens"

// Moved says what MoveFromDatabase did.
type Moved int

// What MoveFromDatabase did.
const (
	// NothingToMove: the database holds no link key (a new database, or
	// one moved already).
	NothingToMove Moved = iota
	// MovedToFile: the database's key was written to the file and removed
	// from the database.
	MovedToFile
	// RemovedUnused: the configuration's key (LEDGER_SECRET_KEY), which
	// earlier versions preferred, or the file already held the key; the
	// database's copy was removed.
	RemovedUnused
)

// MoveFromDatabase moves the link key that an earlier version generated
// into the database (table server_keys) out of it, once, on the first
// start after an upgrade: so that reading the database file no longer
// yields a key that forges reset links, while the links it signed and
// already mailed keep working.
//
// With configured (LEDGER_SECRET_KEY) set, the earlier version used that
// and never the database's row, which is only removed. Otherwise the key
// is written to path (mode 0600, see LoadFile) first and then removed from
// the database, so a crash in between leaves both copies, which the next
// start finds equal and finishes. A file at path that holds another key is
// an error: the links already mailed were signed with the database's key,
// and which one to keep is the operator's call; the row is then left as it
// is.
func MoveFromDatabase(ctx context.Context, db *sqldb.DB, path string, configured []byte) (Moved, error) {
	var stored string
	err := db.QueryRowContext(ctx, db.Rebind(`SELECT value FROM server_keys WHERE name = ?`), legacyKeyName).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return NothingToMove, nil
	}
	if err != nil {
		return NothingToMove, fmt.Errorf("secret: read the database's link key: %w", err)
	}
	legacy, err := base64.StdEncoding.DecodeString(stored)
	if err != nil || len(legacy) < MinKeyBytes {
		return NothingToMove, errors.New("secret: the database's link key (table server_keys) is damaged; restore the database from a backup")
	}
	moved := RemovedUnused
	if len(configured) == 0 {
		existing, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if _, err := newfile.Write(path, legacy, 0o600); err != nil {
				return NothingToMove, fmt.Errorf("secret: move the database's link key to %s: %w", path, err)
			}
			if existing, err = os.ReadFile(path); err != nil { // another process may have written it first
				return NothingToMove, fmt.Errorf("secret: %w", err)
			}
			moved = MovedToFile
		case err != nil:
			return NothingToMove, fmt.Errorf("secret: %w", err)
		}
		if subtle.ConstantTimeCompare(existing, legacy) != 1 {
			return NothingToMove, fmt.Errorf("secret: the database holds the link key that signed the links already mailed, and %s holds another; move %s away to keep the database's key (it is then written there), or delete the row name='%s' of table server_keys to keep the file's",
				path, path, legacyKeyName)
		}
	}
	if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM server_keys WHERE name = ?`), legacyKeyName); err != nil {
		return NothingToMove, fmt.Errorf("secret: remove the link key from the database: %w", err)
	}
	return moved, nil
}
