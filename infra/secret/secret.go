// Package secret holds the server's key for emailed links: a token is the
// HMAC-SHA256 of the link's purpose and subject under the key, so that the
// command that issues a link and the mail sender that renders it later
// derive the same token, and only its hash ever reaches the event log or
// the outbox.
//
// The key comes from the configuration (LEDGER_SECRET_KEY) or, when none
// is set, is generated on first start and kept in the database's
// server_keys table, so every ledgerd sharing the database agrees on it.
package secret

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"seatledger/infra/sqldb"
)

// MinKeyBytes is the shortest key accepted.
const MinKeyBytes = 32

// Key derives link tokens. Its zero value is unusable; use New or Load.
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

// keyName is the row of the link key in server_keys.
const keyName = "link-tokens"

// Load returns the link key stored in db, creating it on first use. Two
// processes starting at once agree: the first insert wins and both read it.
func Load(ctx context.Context, db *sqldb.DB) (Key, error) {
	raw := make([]byte, MinKeyBytes)
	_, _ = rand.Read(raw) // crypto/rand never fails on the platforms we run on
	_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), keyName, base64.StdEncoding.EncodeToString(raw), time.Now().UnixMicro())
	if err != nil {
		return Key{}, fmt.Errorf("secret: store the link key: %w", err)
	}
	var stored string
	err = db.QueryRowContext(ctx, db.Rebind(`SELECT value FROM server_keys WHERE name = ?`), keyName).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) || err != nil {
		return Key{}, fmt.Errorf("secret: read the link key: %w", err)
	}
	decoded, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return Key{}, fmt.Errorf("secret: the stored link key is not base64: %w", err)
	}
	return New(decoded)
}
