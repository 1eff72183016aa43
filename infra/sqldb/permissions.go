package sqldb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Modes of a SQLite database's files: only the user the ledger runs as may
// read them. The database holds password hashes, sessions' and tokens'
// hashes, license keys' sealed copies and every event; no secret that
// forges anything lives there, but it is nobody else's to read.
const (
	sqliteDirMode  fs.FileMode = 0o700
	sqliteFileMode fs.FileMode = 0o600
)

// sqliteCompanions are the files SQLite keeps beside a database in WAL
// mode. SQLite creates them with the database file's mode.
var sqliteCompanions = []string{"-wal", "-shm"}

// createSQLiteFiles creates what is missing of the database at path: its
// folder (mode 0700) and an empty file (mode 0600) for SQLite to fill, so
// that the file, and the -wal and -shm files SQLite then creates with its
// mode, are private from the start whatever the umask. An existing folder
// or file is left as it is (see CheckSQLitePermissions).
func createSQLiteFiles(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, sqliteDirMode); err != nil {
			return fmt.Errorf("sqldb: create folder for %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqldb: create %s: %w", path, err)
	}
	return f.Close()
}

// CheckSQLitePermissions checks, before the server opens it, that the
// SQLite database at path is private to the user the process runs as:
//
//   - a database file that other users may read or write is an error, in
//     one line that says how to fix it: the server refuses to start;
//   - its -wal and -shm files are made 0600 when wider (earlier versions
//     created all three 0644); one that cannot be is an error too;
//   - a folder that others may enter is made 0700 when the process may,
//     unless it is shared by design (sticky, like /tmp) or is the working
//     directory or one of its parents; either way a warning says so.
//
// A database that does not exist yet is fine: Open creates it private.
func CheckSQLitePermissions(path string) (warnings []string, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return checkSQLiteDir(path), nil
	case err != nil:
		return nil, fmt.Errorf("sqldb: %w", err)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("the database file %s is readable by other users (mode %04o); make it private with chmod 600 %s (and its -wal and -shm files) before starting",
			path, fi.Mode().Perm(), path)
	}
	for _, suffix := range sqliteCompanions {
		companion := path + suffix
		cfi, err := os.Stat(companion)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
		if cfi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(companion, sqliteFileMode); err != nil {
				return nil, fmt.Errorf("%s is readable by other users (mode %04o) and could not be made private: %v; chmod 600 %s before starting",
					companion, cfi.Mode().Perm(), err, companion)
			}
		}
	}
	return checkSQLiteDir(path), nil
}

// checkSQLiteDir tightens, or warns about, a database folder that others
// may enter; see CheckSQLitePermissions.
func checkSQLiteDir(path string) []string {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 == 0 {
		return nil // missing (Open creates it 0700), not a folder (Open fails), or private
	}
	mode := fi.Mode().Perm()
	if why := sharedDir(dir, fi); why != "" {
		return []string{fmt.Sprintf("the database folder %s is open to other users (mode %04o) and is left so because it is %s; keep the database in a folder of its own with mode 0700",
			dir, mode, why)}
	}
	if err := os.Chmod(dir, sqliteDirMode); err != nil {
		return []string{fmt.Sprintf("the database folder %s is open to other users (mode %04o) and could not be made 0700 (%v); chmod 700 %s", dir, mode, err, dir)}
	}
	return []string{fmt.Sprintf("the database folder %s was open to other users (mode %04o); it is now 0700", dir, mode)}
}

// sharedDir says why dir must keep its mode, or "" when it need not: a
// sticky folder is shared on purpose (/tmp), and the working directory
// and its parents hold other things than the ledger's data.
func sharedDir(dir string, fi fs.FileInfo) string {
	if fi.Mode()&fs.ModeSticky != 0 {
		return "a shared folder (sticky bit)"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "a folder whose path cannot be resolved"
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "possibly the working directory"
	}
	if abs == cwd || strings.HasPrefix(cwd, strings.TrimSuffix(abs, string(filepath.Separator))+string(filepath.Separator)) {
		return "the working directory or one of its parents"
	}
	return ""
}
