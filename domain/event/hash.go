package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	h := sha256.New()
	writeChainInput(h, prev, r)
	return h.Sum(nil)
}

// ChainInput returns the bytes ChainHash hashes, for test vectors and for
// implementers in other languages: the context "seatledger/event/v1", the
// previous hash, stream ID, version, event ID, type, schema version, data,
// actor kind, actor ID, command, correlation ID, causation ID, effective
// time and recorded time. Byte strings are an 8-byte big-endian length and
// the bytes; numbers are 8-byte big-endian; times are their Unix time in
// nanoseconds as 8-byte big-endian two's complement, 0 for no time.
func ChainInput(prev []byte, r Record) []byte {
	var b bytes.Buffer
	writeChainInput(&b, prev, r)
	return b.Bytes()
}

// writeChainInput writes the hash input to w; ChainHash hands it the
// hash itself, so that hashing allocates no copy of the input.
func writeChainInput(w io.Writer, prev []byte, r Record) {
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		_, _ = w.Write(n[:]) // a hash or a bytes.Buffer: writes never fail
		_, _ = w.Write(b)
	}
	putUint := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		_, _ = w.Write(n[:])
	}
	putTime := func(t time.Time) {
		if t.IsZero() {
			putUint(0)
			return
		}
		putUint(uint64(t.UnixNano()))
	}
	put([]byte("seatledger/event/v1"))
	put(prev)
	put([]byte(r.StreamID))
	putUint(r.Version)
	put([]byte(r.ID))
	put([]byte(r.Type))
	putUint(uint64(r.SchemaVersion))
	put(r.Data)
	put([]byte(r.Metadata.Actor.Kind.s))
	put([]byte(r.Metadata.Actor.ID))
	put([]byte(r.Metadata.Command))
	put([]byte(r.Metadata.CorrelationID))
	put([]byte(r.Metadata.CausationID))
	putTime(r.Metadata.EffectiveAt)
	putTime(r.RecordedAt)
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
