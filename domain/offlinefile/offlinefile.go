// Package offlinefile holds the rules of offline activation files (rules
// ACT-2, ACT-3, ACT-5, ACT-6): the kinds of files, what a request and an
// answer carry, how old a request may be when it is uploaded, how far a
// clock may be ahead, and how long an answer stays valid.
//
// An installation without a connection writes a request file; a person
// uploads it in the portal; the ledger answers with a file it signs, which
// the installation imports. Requests are not signed — the installation
// holds no key — so an answer is bound to its request's nonce and server
// identity, and a refresh or deactivation request proves with an HMAC that
// it was written by the holder of the activation's credential (Proof).
//
// How a file is written as text (its armor, headers and base64 body), how
// its content is read strictly, and how an answer is signed with the
// ledger's Ed25519 key are infra/offline's (docs/formats.md), behind
// Format and Signer.
package offlinefile

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Kind is what a file is for.
type Kind string

// The kinds of files: three requests, each answered by the kind below it.
const (
	ActivationRequest   Kind = "activation-request"
	Activation          Kind = "activation"
	RefreshRequest      Kind = "refresh-request"
	SubscriptionInfo    Kind = "subscription-information"
	DeactivationRequest Kind = "deactivation-request"
	Deactivation        Kind = "deactivation"
)

// Kinds are every kind of file.
var Kinds = []Kind{ActivationRequest, Activation, RefreshRequest, SubscriptionInfo, DeactivationRequest, Deactivation}

// RequestKinds are the kinds of files an installation writes.
var RequestKinds = []Kind{ActivationRequest, RefreshRequest, DeactivationRequest}

// Signed reports whether files of kind k carry the ledger's signature:
// the answers do, the requests do not.
func (k Kind) Signed() bool {
	return k == Activation || k == SubscriptionInfo || k == Deactivation
}

// File is an offline file, as its headers and its content (JSON) say.
type File struct {
	Kind    Kind
	Issued  time.Time
	Expires time.Time // zero: no expiry (requests)
	Nonce   string    // binds an answer to its request
	Server  string    // the installation's identity
	Content []byte    // JSON
}

// Errors of reading and checking files; each error wraps one of them.
// Their text, which people see, keeps the "offline:" of the file format.
var (
	ErrMalformed = errors.New("offline: not a well-formed file")
	ErrKind      = errors.New("offline: a file of another kind")
	ErrSignature = errors.New("offline: the signature does not match: the file was altered or signed by another ledger")
	ErrExpired   = errors.New("offline: the file has expired")
	ErrFuture    = errors.New("offline: the file is issued in the future")
)

// MaxRequestAge is how old a request file may be when it is uploaded
// (ACT-2): an older one is refused, and the installation writes a new one.
const MaxRequestAge = 30 * 24 * time.Hour

// DefaultDrift is how far in the future a file's issue time may lie
// before it is refused: clocks differ a little.
const DefaultDrift = 5 * time.Minute

// AnswerValidity is how long a signed answer may wait to be imported.
const AnswerValidity = 14 * 24 * time.Hour

// Format reads files as an installation writes them; infra/offline
// implements it.
type Format interface {
	// Decode reads a file of kind want, without a signature. Its errors
	// wrap ErrKind for a file of another kind and ErrMalformed for
	// anything that is not a well-formed file.
	Decode(raw []byte, want Kind) (File, error)
	// DecodeContent reads f's content into v, one of this package's
	// content types, strictly (rule X-7); its errors wrap ErrMalformed.
	DecodeContent(f File, v any) error
}

// Signer writes the ledger's answers, signed with its key; infra/offline
// implements it.
type Signer interface {
	// Sign returns f as a signed file; an error wraps ErrKind if files
	// of f's kind are not signed.
	Sign(f File) ([]byte, error)
}

// ReadRequest reads an uploaded request file of any kind with format and
// checks it at now (ACT-2): a request dated more than DefaultDrift in the
// future is refused with ErrFuture, one older than MaxRequestAge with
// ErrExpired. A file that is no request is refused with ErrKind, a
// malformed one with ErrMalformed.
func ReadRequest(format Format, raw []byte, now time.Time) (File, error) {
	f, err := decodeRequest(format, raw)
	if err != nil {
		return File{}, err
	}
	switch {
	case f.Issued.After(now.Add(DefaultDrift)):
		return File{}, fmt.Errorf("%w: the request is dated %s, in the future", ErrFuture, f.Issued.Format(time.RFC3339))
	case now.Sub(f.Issued) > MaxRequestAge:
		return File{}, fmt.Errorf("%w: the request was written on %s; write a new one", ErrExpired, f.Issued.Format(time.DateOnly))
	}
	return f, nil
}

func decodeRequest(format Format, raw []byte) (File, error) {
	for _, k := range RequestKinds {
		f, err := format.Decode(raw, k)
		if !errors.Is(err, ErrKind) {
			return f, err
		}
	}
	return File{}, fmt.Errorf("%w: not an activation, refresh or deactivation request file", ErrKind)
}

// Answer returns the answer of kind k to request req, issued at now (in
// whole seconds, UTC) and valid for AnswerValidity, bound to the
// request's nonce and server, with content. It is refused with ErrKind if
// k is not an answer.
func Answer(k Kind, req File, content []byte, now time.Time) (File, error) {
	if !k.Signed() {
		return File{}, fmt.Errorf("%w: %s is not an answer", ErrKind, k)
	}
	issued := now.UTC().Truncate(time.Second)
	return File{Kind: k, Issued: issued, Expires: issued.Add(AnswerValidity), Nonce: req.Nonce, Server: req.Server, Content: content}, nil
}

// CheckAnswer checks the times of answer f, whose signature holds, at
// now: it was not issued more than drift in the future (ErrFuture), and
// it has not expired (ErrExpired).
func CheckAnswer(f File, now time.Time, drift time.Duration) error {
	if f.Issued.After(now.Add(drift)) {
		return fmt.Errorf("%w: issued %s, now %s", ErrFuture, f.Issued.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !now.Before(f.Expires) {
		return fmt.Errorf("%w: it expired on %s", ErrExpired, f.Expires.Format(time.RFC3339))
	}
	return nil
}

// Proof is what a request of kind k proves with credential (ACT-5,
// ACT-6): an HMAC-SHA256 under the credential of the kind, the nonce, the
// server and the installation, so a proof fits one request only.
func Proof(credential string, k Kind, nonce, server, installationID string) string {
	m := hmac.New(sha256.New, []byte(credential))
	fmt.Fprintf(m, "seatledger offline proof v1\n%s\n%s\n%s\n%s", k, nonce, server, installationID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckProof reports whether proof is Proof's answer for these inputs, in
// constant time.
func CheckProof(proof, credential string, k Kind, nonce, server, installationID string) bool {
	return hmac.Equal([]byte(proof), []byte(Proof(credential, k, nonce, server, installationID)))
}
