// Package session keeps the browser sessions of signed-in people in the
// SQL store (SQLite or PostgreSQL through infra/sqldb). The cookie carries
// a random 256-bit ID; the table holds only its SHA-256, so a copy of the
// database signs nobody in. Sessions age in ledger time, so a simulated
// clock expires them too.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
)

// Lifetimes of sessions.
const (
	// IdleTimeout ends a session that was not "kept signed in" after this
	// long without a request.
	IdleTimeout = 12 * time.Hour
	// PersistentLifetime is how long a "keep me signed in" session lasts.
	PersistentLifetime = 30 * 24 * time.Hour
	// touchEvery bounds how often a request moves last_seen_at (a write).
	touchEvery = time.Minute
)

// ErrNoSession: the cookie names no live session.
var ErrNoSession = errors.New("session: not signed in or the session has expired")

// Session is a live session.
type Session struct {
	PersonID   string
	ExpiresAt  time.Time
	Persistent bool
	// LastAccount is the account the person last used in the portal,
	// on any browser (RememberAccount), or "".
	LastAccount string
	idHash      string
}

// Store keeps sessions.
type Store struct {
	db    *sqldb.DB
	clock clock.Clock
}

// New returns a Store on db's sessions table, aging sessions by clk.
func New(db *sqldb.DB, clk clock.Clock) *Store { return &Store{db: db, clock: clk} }

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Create starts a session for person and returns the cookie's value.
func (s *Store) Create(ctx context.Context, personID string, persistent bool) (string, Session, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms we run on
	id := base64.RawURLEncoding.EncodeToString(b)
	now := s.clock.Now()
	exp := now.Add(IdleTimeout)
	if persistent {
		exp = now.Add(PersistentLifetime)
	}
	sess := Session{PersonID: personID, ExpiresAt: exp, Persistent: persistent, idHash: hashID(id)}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at, expires_at, persistent)
		VALUES (?, ?, ?, ?, ?, ?)`), sess.idHash, personID, now.UnixMicro(), now.UnixMicro(), exp.UnixMicro(), boolInt(persistent))
	if err != nil {
		return "", Session{}, fmt.Errorf("session: create: %w", err)
	}
	return id, sess, nil
}

// Lookup returns the live session of a cookie's value, extending an idle
// session's expiry.
func (s *Store) Lookup(ctx context.Context, id string) (Session, error) {
	if id == "" || len(id) > 64 {
		return Session{}, ErrNoSession
	}
	sess := Session{idHash: hashID(id)}
	var exp, seen int64
	var persistent int
	var last sql.NullString
	err := s.db.SelectRow(ctx, `SELECT s.person_id, s.expires_at, s.last_seen_at, s.persistent, l.account_id
		FROM sessions s LEFT JOIN last_accounts l ON l.person_id = s.person_id WHERE s.id_hash = ?`, sess.idHash).
		Scan(&sess.PersonID, &exp, &seen, &persistent, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: lookup: %w", err)
	}
	now := s.clock.Now()
	sess.ExpiresAt, sess.Persistent, sess.LastAccount = time.UnixMicro(exp).UTC(), persistent == 1, last.String
	if !now.Before(sess.ExpiresAt) {
		return Session{}, ErrNoSession
	}
	if now.Sub(time.UnixMicro(seen)) >= touchEvery {
		if !sess.Persistent {
			sess.ExpiresAt = now.Add(IdleTimeout)
		}
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`),
			now.UnixMicro(), sess.ExpiresAt.UnixMicro(), sess.idHash); err != nil {
			return Session{}, fmt.Errorf("session: touch: %w", err)
		}
	}
	return sess, nil
}

// RememberAccount records accountID as the account person last used in
// the portal: where it opens after their next sign-in, on any browser.
// (A preference of the portal, kept beside the sessions rather than in
// the ledger's log: see migrations/*/00016_last_accounts.sql.)
func (s *Store) RememberAccount(ctx context.Context, personID, accountID string) error {
	err := s.db.Write(ctx, `INSERT INTO last_accounts (person_id, account_id, used_at) VALUES (?, ?, ?)
		ON CONFLICT (person_id) DO UPDATE SET account_id = excluded.account_id, used_at = excluded.used_at`,
		personID, accountID, s.clock.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("session: remember the account of %s: %w", personID, err)
	}
	return nil
}

// LastAccount returns the account person last used in the portal, or ""
// when none is remembered.
func (s *Store) LastAccount(ctx context.Context, personID string) (string, error) {
	var id string
	err := s.db.SelectRow(ctx, `SELECT account_id FROM last_accounts WHERE person_id = ?`, personID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("session: the last account of %s: %w", personID, err)
	}
	return id, nil
}

// Delete ends the session of a cookie's value (sign-out).
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE id_hash = ?`), hashID(id))
	if err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}

// DeleteAllOf ends every session of person except the one of keep (a
// cookie's value, or ""): after a password change or reset, nobody stays
// signed in with the old password.
func (s *Store) DeleteAllOf(ctx context.Context, personID, keep string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE person_id = ? AND id_hash <> ?`), personID, hashID(keep))
	if err != nil {
		return fmt.Errorf("session: delete sessions of %s: %w", personID, err)
	}
	return nil
}

// Purge deletes expired sessions and returns how many.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE expires_at <= ?`), s.clock.Now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("session: purge: %w", err)
	}
	return res.RowsAffected()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
