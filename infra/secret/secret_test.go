package secret_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// Tokens differ by purpose and subject, and are 256 bits in base64url.
func TestKey_tokens_differ_by_purpose_and_subject(t *testing.T) {
	t.Parallel()
	a, _ := secret.New(bytes.Repeat([]byte{1}, 32))
	other, _ := secret.New(bytes.Repeat([]byte{2}, 32))
	for name, tok := range map[string]string{
		"another purpose": a.Token("password-reset", "i-1"),
		"another subject": a.Token("invitation", "i-2"),
		"another key":     other.Token("invitation", "i-1"),
		"a shifted split": a.Token("invitatio", "ni-1"),
	} {
		if tok == a.Token("invitation", "i-1") {
			t.Errorf("%s derives the same token", name)
		}
	}
	if len(a.Token("x", "y")) != 43 {
		t.Errorf("token %q is not 256 bits in base64url", a.Token("x", "y"))
	}
}

func TestNew_refuses_short_keys(t *testing.T) {
	t.Parallel()
	if _, err := secret.New(make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}

// The link key's file is created once, private (0600 in a 0700 folder),
// and read again by every later start; a truncated file is refused, not
// replaced.
func TestLoadFile_creates_a_private_file_once(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "link-key.secret")
	a, err := secret.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.LoadFile(path)
	if err != nil || a.Token("p", "s") != b.Token("p", "s") {
		t.Fatalf("the second load derives other tokens (%v)", err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secret.LoadFile(path); err == nil || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("a truncated file: %v", err)
	}
}

// legacy stores key in server_keys as earlier versions did.
func legacy(t *testing.T, db *sqldb.DB, key []byte) {
	t.Helper()
	if _, err := db.Exec(db.Rebind(`INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)`),
		"link-tokens", base64.StdEncoding.EncodeToString(key), time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
}

func legacyRows(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM server_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An earlier version kept the link key in the database, where whoever read
// the database file could forge reset links with it. On the first start
// after the upgrade it moves to the key file and leaves the database, and
// the tokens of links already mailed stay valid; a second start has
// nothing to move; a crash between the two steps is finished next time.
func TestMoveFromDatabase_moves_the_link_key_to_its_file(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		db := sqldbtest.Open(t, target)
		old := bytes.Repeat([]byte{0x5a}, 32)
		mailed, _ := secret.New(old)
		legacy(t, db, old)
		path := filepath.Join(t.TempDir(), "link-key.secret")

		if moved, err := secret.MoveFromDatabase(ctx, db, path, nil); err != nil || moved != secret.MovedToFile {
			t.Fatalf("move = %v, %v", moved, err)
		}
		if n := legacyRows(t, db); n != 0 {
			t.Fatalf("%d rows left in server_keys", n)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file %v, %v", fi, err)
		}
		key, err := secret.LoadFile(path)
		if err != nil || key.Token("password-reset", "r-1") != mailed.Token("password-reset", "r-1") {
			t.Fatalf("a link mailed before the move no longer works (%v)", err)
		}
		if moved, err := secret.MoveFromDatabase(ctx, db, path, nil); err != nil || moved != secret.NothingToMove {
			t.Fatalf("second start: %v, %v", moved, err)
		}

		// A crash after the file was written and before the row was removed.
		legacy(t, db, old)
		if moved, err := secret.MoveFromDatabase(ctx, db, path, nil); err != nil || moved != secret.RemovedUnused || legacyRows(t, db) != 0 {
			t.Fatalf("finishing an interrupted move: %v, %v", moved, err)
		}
	})
}

// With LEDGER_SECRET_KEY set, earlier versions never used the database's
// key: it is only removed. A key file holding another key than the
// database's is the operator's call: refused, the row kept.
func TestMoveFromDatabase_removes_an_unused_key_and_refuses_a_conflicting_file(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		db := sqldbtest.Open(t, target)
		legacy(t, db, bytes.Repeat([]byte{1}, 32))
		path := filepath.Join(t.TempDir(), "link-key.secret")
		if moved, err := secret.MoveFromDatabase(ctx, db, path, bytes.Repeat([]byte{2}, 32)); err != nil || moved != secret.RemovedUnused {
			t.Fatalf("configured key: %v, %v", moved, err)
		}
		if _, err := os.Stat(path); err == nil || legacyRows(t, db) != 0 {
			t.Fatal("the unused key was written to a file or kept")
		}

		legacy(t, db, bytes.Repeat([]byte{1}, 32))
		if err := os.WriteFile(path, bytes.Repeat([]byte{3}, 32), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := secret.MoveFromDatabase(ctx, db, path, nil)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "holds another") || legacyRows(t, db) != 1 {
			t.Fatalf("conflicting file: %v, rows %d", err, legacyRows(t, db))
		}
	})
}

// Issue 18 (one ledger, one set of secrets): the first process records
// each secret's fingerprint; a process with the same secrets starts, one
// with another is refused in one line naming the secret; after `ledger
// secrets forget`, the next process records its own. The database holds
// fingerprints only: neither the key nor anything that derives its tokens.
func TestCheckFingerprints_refuses_another_secret(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		db := sqldbtest.Open(t, target)
		now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		raw := bytes.Repeat([]byte{7}, 32)
		key, _ := secret.New(raw)
		first := []secret.Fingerprint{
			{Name: secret.NameLinkKey, Source: "--link-key-file a", Value: key.Fingerprint()},
			{Name: secret.NameAuditKey, Source: "--audit-key a", Value: secret.FingerprintOf(secret.NameAuditKey, []byte("public key A"))},
		}
		if err := secret.CheckFingerprints(ctx, db, first, now); err != nil {
			t.Fatal(err)
		}
		if err := secret.CheckFingerprints(ctx, db, first, now.Add(time.Hour)); err != nil {
			t.Fatalf("the same secrets again: %v", err)
		}
		other := []secret.Fingerprint{first[0], {Name: secret.NameAuditKey, Source: "--audit-key /elsewhere/audit.key",
			Value: secret.FingerprintOf(secret.NameAuditKey, []byte("public key B"))}}
		err := secret.CheckFingerprints(ctx, db, other, now)
		if !errors.Is(err, secret.ErrOtherSecrets) || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), "audit-signing (--audit-key /elsewhere/audit.key) is not the one recorded on 2026-03-01T09:00:00Z") ||
			strings.Contains(err.Error(), "link-key") {
			t.Fatalf("another audit key: %v", err)
		}

		recorded, err := secret.RecordedFingerprints(ctx, db)
		if err != nil || len(recorded) != 2 {
			t.Fatalf("recorded %v, %v", recorded, err)
		}
		for _, r := range recorded {
			if strings.Contains(r.Fingerprint, base64.StdEncoding.EncodeToString(raw)) || strings.Contains(r.Fingerprint, string(raw)) ||
				!strings.HasPrefix(r.Fingerprint, "sha256:") {
				t.Errorf("%s is stored as %q", r.Name, r.Fingerprint)
			}
		}

		if ok, err := secret.ForgetFingerprint(ctx, db, secret.NameAuditKey); !ok || err != nil {
			t.Fatalf("forget = %v, %v", ok, err)
		}
		if err := secret.CheckFingerprints(ctx, db, other, now); err != nil {
			t.Fatalf("after forgetting, the new key: %v", err)
		}
		if err := secret.CheckFingerprints(ctx, db, first, now); !errors.Is(err, secret.ErrOtherSecrets) {
			t.Fatalf("the old key after the new one was recorded: %v", err)
		}
		if _, err := secret.ForgetFingerprint(ctx, db, "password"); !errors.Is(err, secret.ErrUnknownSecret) {
			t.Fatalf("an unknown name: %v", err)
		}
	})
}
