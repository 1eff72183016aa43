// Package offline is the file format of offline activation (rules ACT-2,
// ACT-3, ACT-5, ACT-6): armored text files that an installation without a
// connection writes (requests) and imports (the ledger's signed answers).
//
// A file looks like this (testdata/vectors/offline.json, test key):
//
//	-----BEGIN SEATLEDGER ACTIVATION FILE-----
//	Kind: activation
//	Issued: 2026-03-01T09:00:00Z
//	Expires: 2026-03-15T09:00:00Z
//	Nonce: q1Yc3t0mJ9kLwX2bVn8RfA
//	Server: farm/srv-berlin-1
//	Signer: 7aff0aa5630025cd
//	Signature: ZpnwuLg-Wq9aE61dwPpd7URlAw84DjX3jH9ZDEgIo_XApuk05cKbh37h31tVY9SS0iLAgB-HVubtY18H_Qk7BQ
//
//	eyJpbnN0YWxsYXRpb25faWQiOiI1YjhmMGMxZS0yZDNhLTVjNGItOGU2Zi03YTli
//	…
//	InJlbWFpbmluZyI6MTB9fQ==
//	-----END SEATLEDGER ACTIVATION FILE-----
//
// The body is the standard, padded base64 of the content (JSON), wrapped
// at 64 columns. Signer names the key: the hex of the first 8 bytes of the
// SHA-256 of the Ed25519 public key. Signature is the raw 64-byte Ed25519
// signature in unpadded base64url (RFC 4648 §5). It covers signedBytes:
// each of these, as a 4-byte big-endian length and the bytes — the context
// "seatledger offline file v1", the kind, then the name and the value of
// every header but Signature in the order they appear (Kind, Issued,
// Expires, Nonce, Server, Signer), then the decoded content (not its
// base64). So a file of one kind can never pass as another, and no header
// can be changed, added or reordered. Readers accept one spelling of each
// signed thing only (canonical base64, times in whole UTC seconds), and
// verify against the pinned key that Signer names, never another.
// docs/formats.md specifies the format byte for byte. Requests are not signed: the installation
// holds no key; the ledger binds its answer to the request's nonce and
// server identity instead, and a refresh or deactivation request proves
// the activation's credential with an HMAC (Proof).
//
// Verify is all an installation needs to check an answer offline with the
// ledger's public key; it imports nothing else of the ledger.
package offline

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"seatledger/domain/offlinefile"
	"seatledger/domain/text"
)

// armor is the label of the armor of a file of kind k.
func armor(k Kind) string {
	return "SEATLEDGER " + strings.ToUpper(strings.ReplaceAll(string(k), "-", " ")) + " FILE"
}

// MaxSize bounds a file: an upload larger than this is refused unread.
const MaxSize = 64 << 10

// Signer signs files with the ledger's Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer of key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// KeyID names a public key: the hex of the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// PublicKey returns the key a verifier needs.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign encodes f, signed.
func (s *Signer) Sign(f File) ([]byte, error) {
	if !f.Kind.Signed() {
		return nil, fmt.Errorf("%w: %s files are not signed", ErrKind, f.Kind)
	}
	h := headers(f)
	h = append(h, [2]string{"Signer", s.id})
	sig := ed25519.Sign(s.key, signedBytes(f.Kind, h, f.Content))
	h = append(h, [2]string{"Signature", base64.RawURLEncoding.EncodeToString(sig)})
	return encode(f.Kind, h, f.Content), nil
}

// Encode encodes an unsigned file (a request).
func Encode(f File) ([]byte, error) {
	if f.Kind.Signed() || !slices.Contains(offlinefile.Kinds, f.Kind) {
		return nil, fmt.Errorf("%w: %s is not a request", ErrKind, f.Kind)
	}
	return encode(f.Kind, headers(f), f.Content), nil
}

func headers(f File) [][2]string {
	h := [][2]string{{"Kind", string(f.Kind)}, {"Issued", f.Issued.UTC().Format(time.RFC3339)}}
	if !f.Expires.IsZero() {
		h = append(h, [2]string{"Expires", f.Expires.UTC().Format(time.RFC3339)})
	}
	return append(h, [2]string{"Nonce", f.Nonce}, [2]string{"Server", f.Server})
}

func encode(k Kind, h [][2]string, content []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "-----BEGIN %s-----\n", armor(k))
	for _, kv := range h {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	b.WriteByte('\n')
	body := base64.StdEncoding.EncodeToString(content)
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	if body != "" {
		b.WriteString(body + "\n")
	}
	fmt.Fprintf(&b, "-----END %s-----\n", armor(k))
	return b.Bytes()
}

// signedBytes is what the signature covers: a context string, the kind,
// each header but the signature, and the content, each length-prefixed so
// that no two different files share an encoding.
func signedBytes(k Kind, h [][2]string, content []byte) []byte {
	var b bytes.Buffer
	put := func(s []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.Write(s)
	}
	put([]byte("seatledger offline file v1"))
	put([]byte(k))
	for _, kv := range h {
		if kv[0] != "Signature" {
			put([]byte(kv[0]))
			put([]byte(kv[1]))
		}
	}
	put(content)
	return b.Bytes()
}

// Decode reads a file of kind want without checking a signature: for
// requests, which are not signed, and for a first look at an answer.
func Decode(raw []byte, want Kind) (File, error) {
	f, _, err := decode(raw, want)
	return f, err
}

// Verify reads a signed file of kind want and checks it against the
// ledger's public key at now, in the order docs/formats.md gives: the
// file parses (ErrMalformed), it is of kind want (ErrKind), it carries the
// headers an answer needs (ErrMalformed), its Signer names pub and its
// signature holds (ErrSignature), it was not issued more than drift in
// the future (ErrFuture), and it has not expired (ErrExpired).
func Verify(raw []byte, want Kind, pub ed25519.PublicKey, now time.Time, drift time.Duration) (File, error) {
	if !want.Signed() {
		return File{}, fmt.Errorf("%w: %s files are not signed", ErrKind, want)
	}
	f, h, err := decode(raw, want)
	if err != nil {
		return File{}, err
	}
	// Signer picks the pinned key; a file naming any other key is refused
	// outright rather than tried against the keys one happens to hold.
	if signer, pinned := header(h, "Signer"), KeyID(pub); signer != pinned {
		return File{}, fmt.Errorf("%w: signed by key %s, the pinned key is %s", ErrSignature, signer, pinned)
	}
	sig, _ := signatureEncoding.DecodeString(header(h, "Signature")) // checked by decode
	if !ed25519.Verify(pub, signedBytes(f.Kind, h, f.Content), sig) {
		return File{}, ErrSignature
	}
	if err := offlinefile.CheckAnswer(f, now, drift); err != nil {
		return File{}, err
	}
	return f, nil
}

// The encodings a reader accepts: exactly the ones the writer uses, in
// their canonical form (no stray padding, unused bits zero), so that a
// signature or a content has one spelling only.
var (
	bodyEncoding      = base64.StdEncoding.Strict()
	signatureEncoding = base64.RawURLEncoding.Strict()
)

// timeLayout is the one form of Issued and Expires: UTC, whole seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// parseTime reads a time written in timeLayout, and nothing else (no
// offset, no fraction), so that a signed time has one spelling only.
func parseTime(v string) (time.Time, bool) {
	t, err := time.Parse(timeLayout, v)
	return t, err == nil && t.Format(timeLayout) == v
}

func header(h [][2]string, name string) string {
	v, _ := lookup(h, name)
	return v
}

func lookup(h [][2]string, name string) (string, bool) {
	for _, kv := range h {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// validName reports whether s may name a header: ASCII letters, digits
// and '-', at least one.
func validName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}) < 0
}

// decode reads a file of kind want in the order docs/formats.md gives:
// first its structure (armor, headers, body: ErrMalformed), then its kind
// (armor label and Kind header: ErrKind), then the headers that kind
// needs (ErrMalformed). It returns the headers in file order for the
// signature.
func decode(raw []byte, want Kind) (File, [][2]string, error) {
	label, h, content, err := parse(raw)
	if err != nil {
		return File{}, nil, err
	}
	if label != armor(want) {
		return File{}, nil, fmt.Errorf("%w: this is a %q file, not a %s file", ErrKind, label, want)
	}
	if k := header(h, "Kind"); Kind(k) != want {
		return File{}, nil, fmt.Errorf("%w: the Kind header says %q, not %s", ErrKind, k, want)
	}
	f := File{Kind: want, Nonce: header(h, "Nonce"), Server: header(h, "Server"), Content: content}
	var ok bool
	if f.Issued, ok = parseTime(header(h, "Issued")); !ok {
		return File{}, nil, fmt.Errorf("%w: no valid Issued header (a UTC time in whole seconds, like 2026-03-01T09:00:00Z)", ErrMalformed)
	}
	if v, present := lookup(h, "Expires"); present || want.Signed() {
		if f.Expires, ok = parseTime(v); !ok {
			return File{}, nil, fmt.Errorf("%w: no valid Expires header (a UTC time in whole seconds, like 2026-03-15T09:00:00Z)", ErrMalformed)
		}
	}
	if f.Nonce == "" || f.Server == "" {
		return File{}, nil, fmt.Errorf("%w: the Nonce and Server headers are required", ErrMalformed)
	}
	if want.Signed() {
		if header(h, "Signer") == "" {
			return File{}, nil, fmt.Errorf("%w: the Signer header is required", ErrMalformed)
		}
		if h[len(h)-1][0] != "Signature" {
			return File{}, nil, fmt.Errorf("%w: the Signature header must be the last header", ErrMalformed)
		}
		sig, err := signatureEncoding.DecodeString(h[len(h)-1][1])
		if err != nil || len(sig) != ed25519.SignatureSize {
			return File{}, nil, fmt.Errorf("%w: the Signature header is not the unpadded base64url of %d bytes", ErrMalformed, ed25519.SignatureSize)
		}
	}
	return f, h, nil
}

// maxHeaderValue bounds a header's value, in characters: a server's name
// is at most two identity fields of 200.
const maxHeaderValue = 512

// parse reads the structure every file shares: the armor lines, the
// headers up to the empty line (the Kind header among them), and the
// body. Anything else is ErrMalformed.
func parse(raw []byte) (label string, h [][2]string, content []byte, err error) {
	malformed := func(format string, args ...any) (string, [][2]string, []byte, error) {
		return "", nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	if len(raw) > MaxSize {
		return malformed("larger than %d bytes", MaxSize)
	}
	if !utf8.Valid(raw) {
		return malformed("not UTF-8 text")
	}
	lines := strings.Split(string(bytes.Trim(raw, " \t\r\n")), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	if len(lines) < 4 {
		return malformed("too short")
	}
	begin, end := lines[0], lines[len(lines)-1]
	label, ok := strings.CutPrefix(begin, "-----BEGIN ")
	label, ok2 := strings.CutSuffix(label, "-----")
	if !ok || !ok2 || label == "" {
		return malformed("the first line is not a -----BEGIN …----- line")
	}
	if end != "-----END "+label+"-----" {
		return malformed("the last line is not -----END %s-----", label)
	}
	i := 1
	for ; i < len(lines)-1 && lines[i] != ""; i++ {
		name, value, ok := strings.Cut(lines[i], ": ")
		if _, dup := lookup(h, name); !ok || !validName(name) || dup {
			return malformed("line %d is not a header (Name: value, each name once)", i+1)
		}
		// rule X-7: values are identifiers (a nonce, a server, times, a
		// signature): clean, bounded text, or the file is refused.
		if text.Check("", value, text.Identifier, maxHeaderValue) != "" {
			return malformed("line %d: the %s header is not one line of visible text of at most %d characters", i+1, name, maxHeaderValue)
		}
		h = append(h, [2]string{name, value})
	}
	if i == len(lines)-1 {
		return malformed("no empty line after the headers")
	}
	if _, ok := lookup(h, "Kind"); !ok {
		return malformed("the Kind header is required")
	}
	var body strings.Builder
	for i++; i < len(lines)-1; i++ {
		body.WriteString(strings.Trim(lines[i], " \t"))
	}
	if content, err = bodyEncoding.DecodeString(body.String()); err != nil || len(content) == 0 {
		return malformed("the body is not the padded base64 of a content")
	}
	return label, h, content, nil
}
