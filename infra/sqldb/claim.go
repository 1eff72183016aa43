package sqldb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrInUse is matched by Claim's error when another process serves the
// SQLite file.
var ErrInUse = errors.New("SQLite runs one ledgerd process at a time; run several on PostgreSQL")

// Claim makes this process the only server of the SQLite file at path
// (rule X-8): SQLite is the one-machine, one-process deployment, and a
// second ledgerd on the same file is refused at start rather than left to
// share it. The claim is an exclusive lock on path+".lock", which the
// operating system releases when the process ends however it ends, so a
// crash never leaves the file claimed. The lock file holds the claiming
// process's ID, for the refusal to name. Release gives the claim up.
func Claim(path string) (release func() error, err error) {
	lockPath := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), sqliteDirMode); err != nil {
		return nil, fmt.Errorf("sqldb: create folder for %s: %w", path, err)
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, sqliteFileMode)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", lockPath, err)
	}
	locked, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqldb: lock %s: %w", lockPath, err)
	}
	if !locked {
		holder := "another process"
		if b, err := os.ReadFile(lockPath); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				holder = fmt.Sprintf("process %d", pid)
			}
		}
		f.Close()
		return nil, fmt.Errorf("database %s is in use by %s: %w", path, holder, ErrInUse)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // only for the refusal's message
	}
	return f.Close, nil // closing the file releases the lock
}
