package offline

import "seatledger/domain/offlinefile"

// The rules of offline files — their kinds, what they carry, how old and
// how far ahead they may be — are the domain's (package
// domain/offlinefile). This package writes them as text and signs them.
// The names below are the domain's, given here too so that a reader of
// files (an installation, infra/farmclient) needs this package alone;
// they are the same types and values, so errors.Is matches either name.

// Kind is what a file is for; it names the armor.
type Kind = offlinefile.Kind

// The kinds of files.
const (
	ActivationRequest   = offlinefile.ActivationRequest
	Activation          = offlinefile.Activation
	RefreshRequest      = offlinefile.RefreshRequest
	SubscriptionInfo    = offlinefile.SubscriptionInfo
	DeactivationRequest = offlinefile.DeactivationRequest
	Deactivation        = offlinefile.Deactivation
)

// File is a decoded offline file.
type File = offlinefile.File

// The contents of the files, as JSON.
type (
	Identity                 = offlinefile.Identity
	License                  = offlinefile.License
	ActivationRequestContent = offlinefile.ActivationRequestContent
	ProofRequestContent      = offlinefile.ProofRequestContent
	AnswerContent            = offlinefile.AnswerContent
)

// Errors of reading and verifying files; each error wraps one of them.
var (
	ErrMalformed = offlinefile.ErrMalformed
	ErrKind      = offlinefile.ErrKind
	ErrSignature = offlinefile.ErrSignature
	ErrExpired   = offlinefile.ErrExpired
	ErrFuture    = offlinefile.ErrFuture
)

// DefaultDrift is how far in the future an issue time may lie before a
// verifier refuses the file (clocks differ a little).
const DefaultDrift = offlinefile.DefaultDrift

// AnswerValidity is how long a signed answer may wait to be imported.
const AnswerValidity = offlinefile.AnswerValidity

// Format reads the files installations write, as the domain's rules read
// them (offlinefile.Format): Decode and DecodeContent of this package.
type Format struct{}

var (
	_ offlinefile.Format = Format{}
	_ offlinefile.Signer = (*Signer)(nil)
)

// Decode is the package's Decode.
func (Format) Decode(raw []byte, want Kind) (File, error) { return Decode(raw, want) }

// DecodeContent is the package's DecodeContent.
func (Format) DecodeContent(f File, v any) error { return DecodeContent(f, v) }
