// Package newfile writes files that must never be replaced once they
// exist — the secrets and keys the server creates on first start — so
// that two processes starting at once agree on one file, and a crash
// leaves the file complete or absent.
package newfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path with mode unless path exists, and reports
// whether it did. The data goes to a temporary file first, which is then
// linked into place: a link, unlike a rename, fails when the file exists.
// On a file system without hard links the file is created exclusively.
func Write(path string, data []byte, mode os.FileMode) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		return createExclusive(path, data, mode)
	}
	syncDir(dir)
	return true, nil
}

// LoadOrCreate returns what the file at path holds, creating it first
// with generate's data and mode 0600 when it does not exist. When another
// process creates it at the same time, its file wins.
func LoadOrCreate(path string, generate func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return data, err
	}
	if data, err = generate(); err != nil {
		return nil, err
	}
	created, err := Write(path, data, 0o600)
	if err != nil || created {
		return data, err
	}
	return os.ReadFile(path)
}

func createExclusive(path string, data []byte, mode os.FileMode) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return true, nil
}

// syncDir makes a new directory entry durable, where the platform allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
