package event

import (
	"errors"
	"fmt"
)

// ExpectedVersion is the optimistic-concurrency condition of an append.
// Build one with Any, NoStream or Exact.
type ExpectedVersion struct {
	kind    expectedKind
	version uint64
}

type expectedKind uint8

const (
	expectAny expectedKind = iota
	expectNoStream
	expectExact
)

// Any accepts the append whatever the stream's version.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream accepts the append only if the stream has no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// Exact accepts the append only if the stream's current version is v.
// Exact(0) is the same condition as NoStream.
func Exact(v uint64) ExpectedVersion {
	if v == 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// IsAny reports whether e accepts any version.
func (e ExpectedVersion) IsAny() bool { return e.kind == expectAny }

// Version returns the version e demands and whether it demands one
// (NoStream demands version 0).
func (e ExpectedVersion) Version() (uint64, bool) {
	switch e.kind {
	case expectNoStream:
		return 0, true
	case expectExact:
		return e.version, true
	}
	return 0, false
}

// Allows reports whether a stream at version current satisfies e.
func (e ExpectedVersion) Allows(current uint64) bool {
	want, ok := e.Version()
	return !ok || want == current
}

// String renders e as "any", "no stream" or the version number.
func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectExact:
		return fmt.Sprint(e.version)
	}
	return "any"
}

// ErrConflict is matched (with errors.Is) by every *ConflictError.
var ErrConflict = errors.New("event: concurrency conflict")

// ConflictError is returned by an append whose expected version does not
// match the stream's actual version. Nothing of that append was written.
type ConflictError struct {
	StreamID string
	Expected ExpectedVersion
	// Actual is the stream's version at the time of the append (0: no stream).
	Actual uint64
}

func (e *ConflictError) Error() string {
	actual := "no stream"
	if e.Actual > 0 {
		actual = fmt.Sprint(e.Actual)
	}
	return fmt.Sprintf("event: stream %q: expected version %s, actual %s", e.StreamID, e.Expected, actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrDuplicateID is matched by an append that reuses event IDs already
// stored in a way that is not a retry of the same append (another stream,
// another position, or only some of the IDs).
var ErrDuplicateID = errors.New("event: event ID already used")
