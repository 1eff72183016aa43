package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// secretFiles are the files of one ledger's secrets, in dir, as the
// environment of ledgerd names them.
func secretFiles(dir string) []string {
	return []string{
		"LEDGER_LINK_KEY_FILE", filepath.Join(dir, "link-key.secret"),
		"LEDGER_KEYRING_FILE", filepath.Join(dir, "keyring.secret"),
		"LEDGER_MDM_CA_CERT", filepath.Join(dir, "mdm-ca.crt"),
		"LEDGER_MDM_CA_KEY", filepath.Join(dir, "mdm-ca.key"),
		"LEDGER_OFFLINE_KEY", filepath.Join(dir, "offline-signing.key"),
		"LEDGER_AUDIT_KEY", filepath.Join(dir, "audit-signing.key"),
	}
}

// start starts ledgerd with env and stops it again; it returns the lines
// ledgerd prints when its start fails ("ledgerd: …"), none when it started.
func start(t *testing.T, env func(string) string) []string {
	t.Helper()
	m := NewMain()
	m.Getenv, m.LogOutput, m.PasswordParams = env, &syncBuffer{}, &cheap
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	err := m.Run(t.Context())
	if cerr := m.Close(); err == nil && cerr != nil {
		t.Fatal(cerr)
	}
	if err == nil {
		return nil
	}
	var out bytes.Buffer
	printLines(&out, err)
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// Finding 2 of issue 17: nothing in the database forges anything. The
// link key (which signs reset links) is in its file, not in server_keys;
// the database's bytes hold neither it nor the keyring's secret, only
// their fingerprints; on SQLite, the database's files are private (0600,
// folder 0700). Before, the link key was a row of server_keys in a 0644
// file: any local user could read it and reset anybody's password.
func TestSecrets_the_database_holds_no_secret_and_its_files_are_private(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		dir := t.TempDir()
		m, _ := peopleServer(t, target, secretFiles(dir)...)
		c := newClient(t, m)
		c.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		c.must(202, "POST", "/v1/password/forgot", map[string]any{"email": "ada@example.com"})

		var rows int
		if err := m.DB.QueryRow(`SELECT COUNT(*) FROM server_keys`).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("server_keys holds %d rows (%v)", rows, err)
		}
		recorded, err := secret.RecordedFingerprints(t.Context(), m.DB)
		if err != nil || len(recorded) != len(secret.Names) {
			t.Fatalf("fingerprints %v, %v", recorded, err)
		}
		if target.Engine != sqldb.SQLite {
			return
		}
		var stored []byte
		for _, p := range []string{target.DSN, target.DSN + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, b...)
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s is mode %04o", filepath.Base(p), fi.Mode().Perm())
			}
		}
		if fi, _ := os.Stat(filepath.Dir(target.DSN)); fi.Mode().Perm() != 0o700 {
			t.Errorf("the database folder is mode %04o", fi.Mode().Perm())
		}
		for _, f := range []string{"link-key.secret", "keyring.secret"} {
			raw, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range [][]byte{raw, []byte(base64.StdEncoding.EncodeToString(raw)), []byte(base64.RawURLEncoding.EncodeToString(raw))} {
				if bytes.Contains(stored, form) {
					t.Errorf("the database's files hold the secret of %s", f)
				}
			}
		}
	})
}

// An upgraded database: an earlier version generated the link key into
// server_keys. The first start of this version moves it to the key file
// (0600) and out of the database, and a reset link mailed before the
// upgrade still works.
func TestSecrets_an_upgrade_moves_the_link_key_out_and_mailed_links_still_work(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		dir := t.TempDir()
		old := bytes.Repeat([]byte{0x42}, 32)
		files := secretFiles(dir)
		before, smtp := peopleServer(t, target, append(files, "LEDGER_SECRET_KEY", base64.StdEncoding.EncodeToString(old))...)
		newClient(t, before).must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com"))
		newClient(t, before).must(202, "POST", "/v1/password/forgot", map[string]any{"email": "ada@example.com"})
		link := linkQuery(t, smtp.WaitFor(t, "ada@example.com", "Reset", 10e9))
		if err := before.Close(); err != nil {
			t.Fatal(err)
		}
		// What the earlier version kept in the database.
		db := sqldbtest.Open(t, target)
		if _, err := db.Exec(db.Rebind(`INSERT INTO server_keys (name, value, created_at) VALUES ('link-tokens', ?, 0)`),
			base64.StdEncoding.EncodeToString(old)); err != nil {
			t.Fatal(err)
		}

		after, _ := peopleServer(t, target, files...) // no LEDGER_SECRET_KEY: the file, missing, is written
		keyFile := filepath.Join(dir, "link-key.secret")
		if raw, err := os.ReadFile(keyFile); err != nil || !bytes.Equal(raw, old) {
			t.Fatalf("the key file holds %x (%v), want the database's key", raw, err)
		}
		if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %04o", fi.Mode().Perm())
		}
		var rows int
		if err := after.DB.QueryRow(`SELECT COUNT(*) FROM server_keys`).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("server_keys still holds %d rows (%v)", rows, err)
		}
		newClient(t, after).must(200, "POST", "/v1/password/reset", map[string]any{"person_id": link.Get("person"),
			"token": link.Get("token"), "password": "tangerine vault orbit"})
		newClient(t, after).must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": "tangerine vault orbit"})
	})
}

// Issue 18, item 3 (one ledger, one set of secrets): a process started
// against an existing database with another link key, keyring, offline or
// audit signing key or MDM CA than the ledger's refuses to start, in one
// line naming the secret; with the same files it starts.
func TestSecrets_a_process_with_another_secret_refuses_to_start(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		dir := t.TempDir()
		files := secretFiles(dir)
		env := func(extra ...string) func(string) string {
			return testEnv(t, append(append([]string{"LEDGER_DATABASE_URL", target.DSN}, files...), extra...)...)
		}
		if lines := start(t, env()); lines != nil {
			t.Fatalf("first start: %q", lines)
		}
		if lines := start(t, env()); lines != nil {
			t.Fatalf("the same secrets again: %q", lines)
		}
		elsewhere := t.TempDir()
		for _, tc := range []struct {
			name  string
			extra []string
		}{
			{secret.NameLinkKey, []string{"LEDGER_LINK_KEY_FILE", filepath.Join(elsewhere, "link-key.secret")}},
			{secret.NameLinkKey, []string{"LEDGER_SECRET_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}},
			{secret.NameKeyring, []string{"LEDGER_KEYRING_FILE", filepath.Join(elsewhere, "keyring.secret")}},
			{secret.NameOfflineKey, []string{"LEDGER_OFFLINE_KEY", filepath.Join(elsewhere, "offline.key")}},
			{secret.NameAuditKey, []string{"LEDGER_AUDIT_KEY", filepath.Join(elsewhere, "audit.key")}},
			{secret.NameMDMCA, []string{"LEDGER_MDM_CA_CERT", filepath.Join(elsewhere, "ca.crt"), "LEDGER_MDM_CA_KEY", filepath.Join(elsewhere, "ca.key")}},
		} {
			lines := start(t, env(tc.extra...))
			if len(lines) != 1 || !strings.Contains(lines[0], tc.name+" (") || !strings.Contains(lines[0], "ledger secrets forget") {
				t.Errorf("%s changed: %q", tc.name, lines)
			}
		}
		// Replaced on purpose: forget the recorded one, and the new key starts.
		db := sqldbtest.Open(t, target)
		if ok, err := secret.ForgetFingerprint(t.Context(), db, secret.NameAuditKey); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if lines := start(t, env("LEDGER_AUDIT_KEY", filepath.Join(elsewhere, "audit.key"))); lines != nil {
			t.Fatalf("after forgetting the audit key: %q", lines)
		}
	})
}

// A SQLite database file that other users may read stops the start, in
// one line saying how to fix it.
func TestSecrets_a_database_file_readable_by_others_refuses_to_start(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "ledger.db")
	if lines := start(t, testEnv(t, "LEDGER_DATABASE_URL", path)); lines != nil {
		t.Fatalf("first start: %q", lines)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	lines := start(t, testEnv(t, "LEDGER_DATABASE_URL", path))
	if len(lines) != 1 || !strings.Contains(lines[0], "readable by other users (mode 0644)") || !strings.Contains(lines[0], "chmod 600") {
		t.Fatalf("lines %q", lines)
	}
}
