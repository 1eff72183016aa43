package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// DefaultOrigin names the log in checkpoints when nothing else is
// configured; it is also the name of the signing key.
const DefaultOrigin = "seatledger"

// ErrMalformedCheckpoint is matched by an error about a checkpoint or
// verifier key that cannot be parsed.
var ErrMalformedCheckpoint = errors.New("audit: malformed checkpoint")

// ErrUntrustedCheckpoint is matched by an error about a checkpoint that is
// not signed by the trusted key: signed by another key, or altered after
// signing.
var ErrUntrustedCheckpoint = errors.New("audit: checkpoint not signed by the trusted key")

// Checkpoint is a tree head: the log's name, how many leaves the tree
// has, and its root hash.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// Body returns the checkpoint's text as C2SP tlog-checkpoint has it: the
// origin, the tree size in decimal and the root hash in base64, one line
// each. A signed note of this text is what auditors keep.
func (c Checkpoint) Body() string {
	return c.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root) + "\n"
}

// String describes the checkpoint for messages.
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s size %d root %s", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// canonical is standard base64 as every reader of notes and keys takes
// it: padded, and with the unused bits of the last symbol zero, so that a
// signature, a root or a key has one spelling only.
var canonical = base64.StdEncoding.Strict()

// parseBody reads a tlog-checkpoint text. Extension lines after the root
// are allowed by the format and ignored.
func parseBody(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, fmt.Errorf("%w: the text needs an origin, a tree size and a root hash, one line each", ErrMalformedCheckpoint)
	}
	c := Checkpoint{Origin: lines[0]}
	if c.Origin == "" {
		return Checkpoint{}, fmt.Errorf("%w: the origin line is empty", ErrMalformedCheckpoint)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: tree size %q is not a decimal number", ErrMalformedCheckpoint, lines[1])
	}
	c.Size = size
	root, err := canonical.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q is not the base64 of %d bytes", ErrMalformedCheckpoint, lines[2], sha256.Size)
	}
	c.Root = root
	return c, nil
}

// Signer signs checkpoints with the log's Ed25519 key. It is a
// note.Signer whose name is the log's origin.
type Signer struct {
	name     string
	hash     uint32
	key      ed25519.PrivateKey
	verifier string
}

var _ note.Signer = (*Signer)(nil)

// NewSigner returns a signer of checkpoints of the log named origin with key.
func NewSigner(origin string, key ed25519.PrivateKey) (*Signer, error) {
	if err := CheckOrigin(origin); err != nil {
		return nil, err
	}
	vkey, err := note.NewEd25519VerifierKey(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("audit: verifier key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: verifier key: %w", err)
	}
	return &Signer{name: origin, hash: v.KeyHash(), key: key, verifier: vkey}, nil
}

// CheckOrigin refuses an origin a note cannot carry as a key name (a
// checkpoint's origin is its signing key's name).
func CheckOrigin(origin string) error {
	if origin == "" || strings.ContainsAny(origin, "+ \t\r\n") || !isPrintable(origin) {
		return fmt.Errorf("audit: origin %q must be non-empty printable text without spaces or '+'", origin)
	}
	return nil
}

func isPrintable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }) < 0
}

// Name implements note.Signer: the log's origin.
func (s *Signer) Name() string { return s.name }

// KeyHash implements note.Signer.
func (s *Signer) KeyHash() uint32 { return s.hash }

// Sign implements note.Signer.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

// VerifierKey returns the note verifier key ("origin+hash+base64") that
// auditors verify checkpoints with. It is public.
func (s *Signer) VerifierKey() string { return s.verifier }

// SignCheckpoint returns the signed note of c, which must carry the
// signer's origin.
func (s *Signer) SignCheckpoint(c Checkpoint) ([]byte, error) {
	if c.Origin != s.name {
		return nil, fmt.Errorf("audit: checkpoint of %q signed with the key of %q", c.Origin, s.name)
	}
	return note.Sign(&note.Note{Text: c.Body()}, s)
}

// MaxNoteSize bounds a checkpoint note read from a file or a request: a
// real one is a few hundred bytes.
const MaxNoteSize = 64 << 10

// OpenCheckpoint checks that msg is a checkpoint note signed by the key
// verifierKey names and returns the checkpoint. Its origin must be the
// key's name. A note without a valid signature of that key matches
// ErrUntrustedCheckpoint; anything unparsable, ErrMalformedCheckpoint.
func OpenCheckpoint(msg []byte, verifierKey string) (Checkpoint, error) {
	v, err := ParseVerifierKey(verifierKey)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(msg) > MaxNoteSize {
		return Checkpoint{}, fmt.Errorf("%w: %d bytes is too long for a checkpoint note", ErrMalformedCheckpoint, len(msg))
	}
	if err := checkNoteShape(msg); err != nil {
		return Checkpoint{}, err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			var by []string
			for _, sig := range unverified.Note.UnverifiedSigs {
				by = append(by, fmt.Sprintf("%s+%08x", sig.Name, sig.Hash))
			}
			return Checkpoint{}, fmt.Errorf("%w: it carries no signature of key %s+%08x (signed by %s)", ErrUntrustedCheckpoint,
				v.Name(), v.KeyHash(), orNone(strings.Join(by, ", ")))
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("%w: the signature of key %s+%08x does not verify: the checkpoint was altered after signing",
				ErrUntrustedCheckpoint, v.Name(), v.KeyHash())
		}
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	c, err := parseBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: the checkpoint is of log %q, the key of log %q", ErrUntrustedCheckpoint, c.Origin, v.Name())
	}
	return c, nil
}

// checkNoteShape refuses, before any signature is looked at, what
// note.Open would take but the format does not: a second empty line (the
// text of a checkpoint has none, so the signatures follow the one empty
// line there is) and signature lines whose base64 is not canonical.
func checkNoteShape(msg []byte) error {
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return fmt.Errorf("%w: no empty line before the signatures", ErrMalformedCheckpoint)
	}
	if bytes.Contains(msg[:split+1], []byte("\n\n")) || bytes.HasPrefix(msg, []byte("\n")) {
		return fmt.Errorf("%w: more than one empty line", ErrMalformedCheckpoint)
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(msg[split+2:]), "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "— ")
		_, b64, _ := strings.Cut(rest, " ")
		if _, err := canonical.DecodeString(b64); !ok || err != nil {
			return fmt.Errorf("%w: signature line %q is not an em dash, a name, a space and canonical base64", ErrMalformedCheckpoint, line)
		}
	}
	return nil
}

// ParseVerifierKey reads a note verifier key as Signer.VerifierKey writes
// it (surrounding white space is ignored: keys are copied from files):
// the name, '+', the key hash in 8 lower-case hex digits, '+', and the
// canonical base64 of the algorithm byte and the key.
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	_, rest, _ := strings.Cut(vkey, "+")
	hash, key, _ := strings.Cut(rest, "+")
	if _, err := canonical.DecodeString(key); err != nil || len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: the public key is not a note verifier key (name+8 lower-case hex digits+canonical base64)", ErrMalformedCheckpoint)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: the public key is not a note verifier key (name+hash+base64): %v", ErrMalformedCheckpoint, err)
	}
	return v, nil
}

func orNone(s string) string {
	if s == "" {
		return "no known key"
	}
	return s
}

// noteBody returns the text of a note without checking its signatures:
// only for telling a size from a note this process stored itself.
func noteBody(msg []byte) string {
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return string(msg[:i+1])
	}
	return string(msg)
}
