// Package logtest holds what tests need to read a log while it is written.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer collects what a logger (or a child process's output) writes
// while a test reads it: a bytes.Buffer safe for one writer and readers
// on other goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
