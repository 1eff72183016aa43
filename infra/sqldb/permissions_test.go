package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"seatledger/infra/sqldb"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// A new SQLite database is private from the start: its folder 0700, the
// database 0600 and, as SQLite creates them with the database's mode,
// its -wal and -shm files too, whatever the umask allows. (Before, all
// three were created 0644 and the folder 0750, so any local user could
// read them.)
func TestOpen_creates_SQLite_files_only_the_owner_can_read(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "ledger.db")
	db, err := sqldb.Open(context.Background(), sqldb.Target{Engine: sqldb.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqldb.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, filepath.Dir(path)); got != 0o700 {
		t.Errorf("folder mode %04o, want 0700", got)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if got := mode(t, p); got != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), got)
		}
	}
}

// At start the server refuses, in one line, a database file that other
// users may read; it makes wider -wal and -shm files and a wider folder
// private, saying so, but leaves a shared folder (sticky) as it is.
func TestCheckSQLitePermissions_refuses_a_readable_database_and_tightens_the_rest(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ledger.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := sqldb.CheckSQLitePermissions(path)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "readable by other users (mode 0644)") ||
		!strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("a 0644 database: %v", err)
	}

	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	warnings, err := sqldb.CheckSQLitePermissions(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if got := mode(t, p); got != 0o600 {
			t.Errorf("%s left at %04o", filepath.Base(p), got)
		}
	}
	if got := mode(t, dir); got != 0o700 || len(warnings) != 1 || !strings.Contains(warnings[0], "was open to other users (mode 0755); it is now 0700") {
		t.Errorf("folder %04o, warnings %q", got, warnings)
	}

	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	warnings, err = sqldb.CheckSQLitePermissions(filepath.Join(shared, "ledger.db"))
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "sticky") || mode(t, shared) != 0o777 {
		t.Errorf("a sticky folder: %v, %q, mode %04o", err, warnings, mode(t, shared))
	}
}
