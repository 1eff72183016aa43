package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// HashSize is the length of a chain hash in bytes.
const HashSize = sha256.Size

// ChainHash computes r's chain hash: SHA-256 over the previous event's hash
// in the stream (nil for the first event) and every field of r that a
// reader can see, except Position and Hash. Fields are length-prefixed so
// that no two different events encode alike. Position is left out because
// the per-stream chain proves each stream's content and order; the global
// order is proven by the audit log's Merkle checkpoints. The bytes hashed
// are ChainInput's; docs/formats.md specifies them.
func ChainHash(prev []byte, r Record) []byte {
	// The input is gathered in a buffer on the stack (an event's fields
	// are mostly short; a larger Data grows it onto the heap) and hashed
	// at once: writing each field to a hash.Hash, an interface, made every
	// string's bytes and the length prefix escape, a dozen allocations per
	// event on every append and every verification.
	var buf [1024]byte
	sum := sha256.Sum256(appendChainInput(buf[:0], prev, r))
	return sum[:]
}

// ChainInput returns the bytes ChainHash hashes, for test vectors and for
// implementers in other languages: the context "seatledger/event/v1", the
// previous hash, stream ID, version, event ID, type, schema version, data,
// actor kind, actor ID, command, correlation ID, causation ID, effective
// time and recorded time. Byte strings are an 8-byte big-endian length and
// the bytes; numbers are 8-byte big-endian; times are their Unix time in
// nanoseconds as 8-byte big-endian two's complement, 0 for no time.
func ChainInput(prev []byte, r Record) []byte {
	return appendChainInput(nil, prev, r)
}

// chainContext opens every chain hash's input.
const chainContext = "seatledger/event/v1"

// appendChainInput appends the hash input to b.
func appendChainInput(b []byte, prev []byte, r Record) []byte {
	putTime := func(b []byte, t time.Time) []byte {
		if t.IsZero() {
			return binary.BigEndian.AppendUint64(b, 0)
		}
		return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
	}
	b = appendField(b, chainContext)
	b = appendField(b, prev)
	b = appendField(b, r.StreamID)
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = appendField(b, r.ID)
	b = appendField(b, r.Type)
	b = binary.BigEndian.AppendUint64(b, uint64(r.SchemaVersion))
	b = appendField(b, r.Data)
	b = appendField(b, r.Metadata.Actor.Kind.s)
	b = appendField(b, r.Metadata.Actor.ID)
	b = appendField(b, r.Metadata.Command)
	b = appendField(b, r.Metadata.CorrelationID)
	b = appendField(b, r.Metadata.CausationID)
	b = putTime(b, r.Metadata.EffectiveAt)
	return putTime(b, r.RecordedAt)
}

// appendField appends a byte string: its length, 8 bytes big-endian, and
// its bytes.
func appendField[T ~string | ~[]byte](b []byte, v T) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
	return append(b, v...)
}

// ErrBrokenChain is matched by every *ChainError.
var ErrBrokenChain = errors.New("event: broken hash chain")

// ChainError names the first event of a stream whose stored hash or
// version does not follow from its predecessors.
type ChainError struct {
	StreamID string
	Version  uint64
	Position uint64
	Reason   string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("event: stream %q version %d (position %d): %s", e.StreamID, e.Version, e.Position, e.Reason)
}

// Is makes errors.Is(err, ErrBrokenChain) true.
func (e *ChainError) Is(target error) bool { return target == ErrBrokenChain }

// ChainVerifier checks a stream's events one at a time, in version order,
// so that a stream of any length is verified in constant memory.
type ChainVerifier struct {
	stream  string
	version uint64
	prev    []byte
}

// NewChainVerifier starts verifying stream from its first event.
func NewChainVerifier(stream string) *ChainVerifier {
	return &ChainVerifier{stream: stream}
}

// Next checks that r is the stream's next event and that its stored hash
// is the one its content and predecessor imply.
func (v *ChainVerifier) Next(r Record) error {
	fail := func(format string, args ...any) error {
		return &ChainError{StreamID: v.stream, Version: r.Version, Position: r.Position, Reason: fmt.Sprintf(format, args...)}
	}
	if r.StreamID != v.stream {
		return fail("event belongs to stream %q", r.StreamID)
	}
	if r.Version != v.version+1 {
		return fail("expected version %d after %d: an event is missing or out of order", v.version+1, v.version)
	}
	want := ChainHash(v.prev, r)
	if !bytes.Equal(want, r.Hash) {
		return fail("stored hash %s, content hashes to %s: the event was altered", short(r.Hash), short(want))
	}
	v.version, v.prev = r.Version, r.Hash
	return nil
}

// Version returns the version of the last verified event.
func (v *ChainVerifier) Version() uint64 { return v.version }

func short(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 16 {
		s = s[:16]
	}
	if s == "" {
		s = "(none)"
	}
	return s
}
