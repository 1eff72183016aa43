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
	idHash     string
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
	err := s.db.SelectRow(ctx, `SELECT person_id, expires_at, last_seen_at, persistent FROM sessions WHERE id_hash = ?`, sess.idHash).
		Scan(&sess.PersonID, &exp, &seen, &persistent)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: lookup: %w", err)
	}
	now := s.clock.Now()
	sess.ExpiresAt, sess.Persistent = time.UnixMicro(exp).UTC(), persistent == 1
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
