package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/audit"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
	"seatledger/infra/storage"
)

// auditedLog writes a SQLite log of 12 events in 3 streams, checkpoints
// it, and returns the database, the saved checkpoint and public key files.
func auditedLog(t *testing.T) (db, checkpoint, publicKey string, signer *audit.Signer) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db = filepath.Join(dir, "ledger.db")
	s, err := storage.Open(ctx, storage.Options{Database: sqldb.Target{Engine: sqldb.SQLite, DSN: db}, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 12 {
		if _, err := s.Store.Append(ctx, fmt.Sprintf("acct-%d", i%3), event.Any(), eventstoretest.NewEvent("test.happened", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if signer, err = audit.NewSigner(audit.DefaultOrigin, key); err != nil {
		t.Fatal(err)
	}
	c, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: s.DB, Log: s.Store, Signer: signer, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := c.CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint, publicKey = filepath.Join(dir, "checkpoint.txt"), filepath.Join(dir, "audit.pub")
	if err := os.WriteFile(checkpoint, cp.Note, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(publicKey, []byte(signer.VerifierKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return db, checkpoint, publicKey, signer
}

// Rule X-2: ledger verify passes an intact database and export, names the
// first altered event with exit 1, and refuses bad input with exit 2.
func TestVerify_database_and_export_X2(t *testing.T) {
	db, checkpoint, publicKey, signer := auditedLog(t)
	code, out, errOut := runCLI(t, nil, "verify", "--checkpoint", checkpoint, "--public-key", publicKey, "--database-url", db)
	if code != exitOK || !strings.Contains(out, "verified 12 events in 3 streams") {
		t.Fatalf("verify = %d %q %q", code, out, errOut)
	}
	// The key may be given as a string too.
	if code, out, errOut = runCLI(t, nil, "verify", "--checkpoint", checkpoint, "--public-key", signer.VerifierKey(), "--database-url", db); code != exitOK {
		t.Fatalf("verify with the key string = %d %q %q", code, out, errOut)
	}

	export := filepath.Join(t.TempDir(), "log.ndjson")
	if code, _, errOut = runCLI(t, map[string]string{"LEDGER_DATABASE_URL": db}, "export", "--output", export); code != exitOK || !strings.Contains(errOut, "exported 12 events") {
		t.Fatalf("export = %d %q", code, errOut)
	}
	if code, out, errOut = runCLI(t, nil, "verify", "--checkpoint", checkpoint, "--public-key", publicKey, "--export", export); code != exitOK {
		t.Fatalf("verify --export = %d %q %q", code, out, errOut)
	}
	filtered := filepath.Join(t.TempDir(), "acct-1.ndjson")
	if code, _, errOut = runCLI(t, nil, "export", "--database-url", db, "--stream", "acct-1", "--output", filtered); code != exitOK {
		t.Fatalf("filtered export = %d %q", code, errOut)
	}
	if code, out, errOut = runCLI(t, nil, "verify", "--checkpoint", checkpoint, "--public-key", publicKey, "--export", filtered); code != exitOK ||
		!strings.Contains(out, "4 events, each with its inclusion proof") {
		t.Fatalf("verify filtered export = %d %q %q", code, out, errOut)
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"verify", "--public-key", publicKey, "--database-url", db},
		{"verify", "--checkpoint", publicKey, "--public-key", publicKey, "--database-url", db}, // a key is no checkpoint
		{"verify", "--checkpoint", checkpoint, "--public-key", "nonsense", "--database-url", db},
		{"verify", "--checkpoint", checkpoint, "--public-key", publicKey, "--database-url", db, "--export", export},
		{"export", "--database-url", db, "--output", export}, // exists already
	} {
		if code, _, errOut := runCLI(t, nil, args...); code != exitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v = %d %q, want exit 2 and one line", args, code, errOut)
		}
	}

	// Another key's checkpoint fails the verification.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := audit.NewSigner(audit.DefaultOrigin, otherKey)
	if code, _, errOut = runCLI(t, nil, "verify", "--checkpoint", checkpoint, "--public-key", other.VerifierKey(), "--database-url", db); code != exitFailure ||
		!strings.Contains(errOut, "not signed by the trusted key") {
		t.Errorf("another key = %d %q", code, errOut)
	}

	// An altered row: exit 1, the event named on one line.
	sdb, err := sqldb.Open(context.Background(), sqldb.Target{Engine: sqldb.SQLite, DSN: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec(`UPDATE events SET data = ? WHERE position = 5`, []byte(`{"n":99}`)); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	code, _, errOut = runCLI(t, nil, "verify", "--checkpoint", checkpoint, "--public-key", publicKey, "--database-url", db)
	if code != exitFailure || !strings.Contains(errOut, "event at position 5") || !strings.Contains(errOut, "was altered") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("altered row = %d %q", code, errOut)
	}
}
