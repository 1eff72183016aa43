package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readers are the commands that read a ledger's database: none of them
// may create or migrate one (issue 20).
func readers(t *testing.T) map[string][]string {
	t.Helper()
	_, checkpoint, publicKey, _ := auditedLog(t)
	return map[string][]string{
		"history":            {"history", "subscription", "s-1"},
		"state":              {"state", "key", "k-1"},
		"reconcile":          {"reconcile", "--from", "2026-03-01", "--to", "2026-03-31"},
		"verify":             {"verify", "--checkpoint", checkpoint, "--public-key", publicKey},
		"export":             {"export"},
		"projections status": {"projections", "status"},
		"projections retry":  {"projections", "retry", "licenses"},
		"secrets list":       {"secrets", "list"},
		"secrets forget":     {"secrets", "forget", "keyring"},
	}
}

// Issue 20: run where there is no ledger, the commands that read one
// created and migrated an empty ./data/ledger.db, then reported the entity
// as never existing, zeros, or "leaf 0 is missing" (which reads like
// tampering). Each now refuses in one line, naming the database and how to
// name another, and creates nothing.
func TestReaders_refuse_a_missing_database_in_one_line_and_create_nothing(t *testing.T) {
	t.Parallel()
	for name, args := range readers(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			db := filepath.Join(dir, "ledger.db")
			code, _, errOut := runCLI(t, map[string]string{"LEDGER_DATABASE_URL": db}, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			wantOneLine(t, errOut, "ledger: no ledger database at "+db+": the file does not exist (ledgerd creates it on its first start); "+
				"name the ledger's database with --database-url or LEDGER_DATABASE_URL")
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the folder of the database was created: %v", err)
			}
		})
	}
}

// Issue 20: a file that holds no ledger (an empty one, as earlier
// versions of these commands left behind) is refused too, and not
// migrated.
func TestReaders_refuse_a_database_without_the_ledgers_tables(t *testing.T) {
	t.Parallel()
	for name, args := range readers(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "ledger.db")
			if err := os.WriteFile(db, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runCLI(t, map[string]string{"LEDGER_DATABASE_URL": db}, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			wantOneLine(t, errOut, "ledger: no ledger database at "+db+": it has none of the ledger's tables; name the ledger's database with")
			// Still no ledger: the next reader says the same.
			if _, _, again := runCLI(t, map[string]string{"LEDGER_DATABASE_URL": db}, args...); !strings.Contains(again, "none of the ledger's tables") {
				t.Errorf("after the first run: %q", again)
			}
		})
	}
}
