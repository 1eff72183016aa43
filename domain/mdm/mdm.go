// Package mdm is the record of the MDM certificates the ledger's signing
// authority issued to one business account (rule MISC-1): an account
// admin of a managed-computers subscription uploads a certificate signing
// request and gets a certificate signed by the ledger, which the
// account's Mac management server uses for Apple device enrollment.
//
// The aggregate is one stream per account, "mdm-<account ID>". Signing
// itself happens outside the domain (infra/mdmca); the domain decides
// whether an issued certificate may be recorded and keeps the list.
package mdm

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/text"

	"seatledger/domain/event"
)

// TypeCertificateIssued is the stable name of the stream's one event.
const TypeCertificateIssued = "mdm.certificate_issued"

// CertificateIssued: the ledger's signing authority issued a certificate
// to the account, at the request of By (an account admin).
type CertificateIssued struct {
	// Serial is the certificate's serial number in lower-case hex.
	Serial string `json:"serial"`
	// Subject is the certificate's subject, as the CSR gave it (RFC 2253
	// string form).
	Subject   string    `json:"subject"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// FingerprintSHA256 is the SHA-256 of the certificate's DER, lower-case hex.
	FingerprintSHA256 string `json:"fingerprint_sha256"`
	// By is the person who asked for it.
	By string `json:"by"`
	// SubscriptionID is the managed-computers subscription that entitled
	// the account to it (rule X-1: why).
	SubscriptionID string `json:"subscription_id,omitempty"`
	// Certificate is the certificate itself (DER; base64 in JSON). It is
	// public, and keeping it lets a retried request answer with the very
	// certificate the first one issued.
	Certificate []byte `json:"certificate,omitempty"`
}

// Register adds the stream's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeCertificateIssued, 1, CertificateIssued{})
}

// The errors of MDM certificate signing.
var (
	// ErrCSR: the certificate signing request is malformed or not
	// acceptable; the wrapping error says why, in words a person can act on.
	ErrCSR = errors.New("mdm: invalid certificate signing request")
	// ErrNoEntitlement: the account has no active (or in-grace)
	// subscription of a managed-computers product, which MDM certificates
	// come with.
	ErrNoEntitlement = errors.New("mdm: MDM certificates need an active managed-computers subscription")
	// ErrInvalid: a certificate record that cannot be right (a bug of the
	// caller, not of the person asking).
	ErrInvalid = errors.New("mdm: invalid certificate record")
	// ErrDuplicateSerial: a serial number issued before (128 random bits:
	// never in practice, refused all the same).
	ErrDuplicateSerial = errors.New("mdm: serial number issued before")
)

// Certificate is one issued certificate, as listed.
type Certificate struct {
	Serial            string    `json:"serial"`
	Subject           string    `json:"subject"`
	NotBefore         time.Time `json:"not_before"`
	NotAfter          time.Time `json:"not_after"`
	FingerprintSHA256 string    `json:"fingerprint_sha256"`
	IssuedBy          string    `json:"issued_by"`
	IssuedAt          time.Time `json:"issued_at"`
	SubscriptionID    string    `json:"subscription_id,omitempty"`
	// DER is the certificate; not listed.
	DER []byte `json:"-"`
	// Version is the stream version of the event that issued it.
	Version uint64 `json:"-"`
}

// Certificates is the MDM certificates of one account, as of the events
// folded into it, oldest first.
type Certificates struct {
	certs   []Certificate
	version uint64
}

// StreamID returns the MDM stream of account accountID.
func StreamID(accountID string) string { return "mdm-" + accountID }

// Version returns how many events were folded.
func (c Certificates) Version() uint64 { return c.version }

// List returns the certificates, oldest first. The slice is the caller's.
func (c Certificates) List() []Certificate { return slices.Clone(c.certs) }

// At returns the certificate issued by the event at stream version v.
func (c Certificates) At(v uint64) (Certificate, bool) {
	for _, cert := range c.certs {
		if cert.Version == v {
			return cert, true
		}
	}
	return Certificate{}, false
}

// Clone returns a copy that shares nothing with c: fold new events into a
// clone of a value others may still read.
func (c Certificates) Clone() Certificates {
	c.certs = slices.Clone(c.certs)
	return c
}

// Evolve applies one event recorded at time at.
func (c Certificates) Evolve(payload any, at time.Time) Certificates {
	c.version++
	if e, ok := payload.(CertificateIssued); ok {
		c.certs = append(c.certs, Certificate{Serial: e.Serial, Subject: e.Subject, NotBefore: e.NotBefore, NotAfter: e.NotAfter,
			FingerprintSHA256: e.FingerprintSHA256, IssuedBy: e.By, IssuedAt: at, SubscriptionID: e.SubscriptionID,
			DER: e.Certificate, Version: c.version})
	}
	return c
}

var (
	serialPattern = regexp.MustCompile(`^[0-9a-f]{1,40}$`) // RFC 5280: at most 20 octets
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Issue records certificate e. The signing authority has made it; the
// domain checks that the record is whole and its serial new.
func (c Certificates) Issue(e CertificateIssued) ([]any, error) {
	var problems []string
	if !serialPattern.MatchString(e.Serial) {
		problems = append(problems, fmt.Sprintf("serial %q must be 1 to 40 lower-case hex digits", e.Serial))
	}
	if strings.TrimSpace(e.Subject) == "" {
		problems = append(problems, "subject is required")
	} else if reason := text.Check("subject", e.Subject, text.Name, 1024); reason != "" {
		problems = append(problems, reason) // rule X-7
	}
	if e.NotBefore.IsZero() || !e.NotAfter.After(e.NotBefore) {
		problems = append(problems, "not_after must come after not_before")
	}
	if !sha256Pattern.MatchString(e.FingerprintSHA256) {
		problems = append(problems, "fingerprint_sha256 must be 64 lower-case hex digits")
	}
	if e.By == "" {
		problems = append(problems, "by is required")
	}
	if err := invalid.Fields(problems).Err(ErrInvalid); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(c.certs, func(x Certificate) bool { return x.Serial == e.Serial }) {
		return nil, fmt.Errorf("%w: %s", ErrDuplicateSerial, e.Serial)
	}
	return []any{e}, nil
}
