// Package person is the aggregate of a person who uses the portal (rules
// MEM-1, MEM-2): their name and email, the terms they accepted, the
// verification of their email, their password (as a hash: the domain never
// sees a password, only the argon2id hash infra made of it), password
// resets by a single-use emailed link, and their personal API tokens
// (stored as hashes, revocable).
//
// That an email belongs to one person only is decided where it can be:
// the sign-up command claims the address on a stream of its own with
// "no stream" as the expected version, so two sign-ups cannot both win.
package person

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// Policy choices, recorded here because the guides are silent.
const (
	// MinPasswordLength is the shortest password accepted (NIST 800-63B
	// asks for at least 8; we ask for 12).
	MinPasswordLength = 12
	// MaxPasswordLength bounds what the hash function is fed.
	MaxPasswordLength = 128
	// VerificationValidity is how long the email-verification link works.
	VerificationValidity = 7 * 24 * time.Hour
	// ResetValidity is how long a password-reset link works.
	ResetValidity = time.Hour
	// MaxAPITokens bounds a person's live API tokens.
	MaxAPITokens  = 20
	maxNameLength = 100
)

// The purposes of the person's emailed links: the commands derive each
// link's token from its purpose and subject with the server's key, and
// the mail sender derives it again to render the link.
const (
	TokenVerifyEmail   = "verify-email"   // subject: the person ID
	TokenPasswordReset = "password-reset" // subject: the reset ID
)

// Stable event type names of the person stream.
const (
	TypeSignedUp               = "person.signed_up"
	TypeEmailVerified          = "person.email_verified"
	TypeProfileChanged         = "person.profile_changed"
	TypePasswordChanged        = "person.password_changed"
	TypePasswordResetRequested = "person.password_reset_requested"
	TypePasswordReset          = "person.password_reset"
	TypeAPITokenIssued         = "person.api_token_issued"
	TypeAPITokenRevoked        = "person.api_token_revoked"
	TypeEmailClaimed           = "person.email_claimed"
)

// EmailClaimed: an email address was claimed for a person at sign-up. It
// lives on the address's own stream (EmailStreamID); the last claim names
// the owner, so an address belongs to one person at a time (rule MEM-1).
type EmailClaimed struct {
	PersonID string `json:"person_id"`
	Email    string `json:"email"`
}

// EmailStreamID returns the claim stream of a normalized address: a hash,
// so that stream names do not spell out addresses.
func EmailStreamID(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "email-" + hex.EncodeToString(sum[:])
}

// MaxEmailLength bounds an email address, in bytes (RFC 5321's path
// limit less its angle brackets).
const MaxEmailLength = 254

// NormalizeEmail returns the address in the form the ledger compares and
// stores: the bare address, lower-cased. It refuses display names,
// anything that is not one address, and addresses that are not clean
// identifiers (rules MEM-1, X-7): white space around them, control
// characters, and invisible characters such as a zero-width space or a
// right-to-left override, with which a look-alike of an existing address
// would sign up as someone new. The error names the field "email".
func NormalizeEmail(raw string) (string, error) {
	if reason := text.Required("email", raw, text.Identifier, MaxEmailLength); reason != "" {
		return "", invalid.New(ErrInvalid, "email", "%s", reason)
	}
	addr, err := mail.ParseAddress(raw)
	if err != nil || addr.Name != "" || len(addr.Address) > MaxEmailLength || addr.Address != raw {
		return "", invalid.New(ErrInvalid, "email", "%q is not an email address", raw)
	}
	return strings.ToLower(addr.Address), nil
}

// SignedUp: a person created their login (rule MEM-1).
type SignedUp struct {
	PersonID     string `json:"person_id"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Email        string `json:"email"`
	PasswordHash string `json:"password_hash"`
	// TermsVersion is the version of the terms of use they accepted.
	TermsVersion          string    `json:"terms_version"`
	VerificationTokenHash []byte    `json:"verification_token_hash,omitempty"`
	VerificationExpiresAt time.Time `json:"verification_expires_at,omitzero"`
	// VerifiedByInvitation is set when the person signed up through an
	// invitation link, which proved the address: no verification mail.
	VerifiedByInvitation string `json:"verified_by_invitation,omitempty"`
}

// EmailVerified: the person followed the verification link.
type EmailVerified struct{}

// ProfileChanged: the person changed their name.
type ProfileChanged struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// PasswordChanged: the person set a new password, knowing the old one.
type PasswordChanged struct {
	PasswordHash string `json:"password_hash"`
}

// PasswordResetRequested: a reset link was mailed (rule MEM-1).
type PasswordResetRequested struct {
	// ResetID names this request; the link's token is derived from it.
	ResetID   string    `json:"reset_id"`
	TokenHash []byte    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PasswordReset: the person set a new password through the reset link.
type PasswordReset struct {
	PasswordHash string `json:"password_hash"`
}

// APITokenIssued: the person created a personal API token for scripts.
type APITokenIssued struct {
	TokenID   string `json:"token_id"`
	Name      string `json:"name"`
	TokenHash []byte `json:"token_hash"`
}

// APITokenRevoked: a token was revoked, by the person or by a password
// reset (rule MEM-1).
type APITokenRevoked struct {
	TokenID string `json:"token_id"`
	// Reason is empty when the person revoked the token, ReasonPasswordReset
	// when a password reset did.
	Reason string `json:"reason,omitempty"`
}

// ReasonPasswordReset is the Reason of the tokens a password reset revokes.
const ReasonPasswordReset = "password_reset"

// Register adds the person's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeSignedUp, 1, SignedUp{})
	reg.Register(TypeEmailVerified, 1, EmailVerified{})
	reg.Register(TypeProfileChanged, 1, ProfileChanged{})
	reg.Register(TypePasswordChanged, 1, PasswordChanged{})
	reg.Register(TypePasswordResetRequested, 1, PasswordResetRequested{})
	reg.Register(TypePasswordReset, 1, PasswordReset{})
	reg.Register(TypeAPITokenIssued, 1, APITokenIssued{})
	reg.Register(TypeAPITokenRevoked, 1, APITokenRevoked{})
	reg.Register(TypeEmailClaimed, 1, EmailClaimed{})
}

// The person's domain errors.
var (
	ErrExists        = errors.New("person: already signed up")
	ErrNotFound      = errors.New("person: no such person")
	ErrTerms         = errors.New("person: the terms of use must be accepted")
	ErrInvalid       = errors.New("person: invalid details")
	ErrWeakPassword  = errors.New("person: password too weak")
	ErrBadLink       = errors.New("person: the link is not valid or has expired")
	ErrVerified      = errors.New("person: the email is verified already")
	ErrNoChange      = errors.New("person: nothing to change")
	ErrTooManyTokens = errors.New("person: too many API tokens; revoke one first")
	ErrNoToken       = errors.New("person: no such API token")
	// ErrBadCredentials: sign-in failed. It never says whether the email
	// exists, nor whether the password or a blocked membership was the cause.
	ErrBadCredentials = errors.New("person: the email address or the password is wrong")
	ErrEmailTaken     = errors.New("person: an account with this email address exists already; sign in or reset the password")
)

// Person is a person as of the events folded into it.
type Person struct {
	id, first, last, email string
	passwordHash           string
	verified               bool
	verifyHash             []byte
	verifyUntil            time.Time
	resetHash              []byte
	resetUntil             time.Time
	tokens                 map[string]APITokenIssued // live tokens by ID
	version                uint64
}

// StreamID returns the event stream of person id.
func StreamID(id string) string { return "person-" + id }

// ID returns the person's ID ("" before sign-up).
func (p Person) ID() string { return p.id }

// Exists reports whether the person signed up.
func (p Person) Exists() bool { return p.id != "" }

// Name returns the first and last name.
func (p Person) Name() (first, last string) { return p.first, p.last }

// Email returns the normalized email address.
func (p Person) Email() string { return p.email }

// Verified reports whether the email was verified.
func (p Person) Verified() bool { return p.verified }

// PasswordHash returns the stored password hash, for the sign-in check.
func (p Person) PasswordHash() string { return p.passwordHash }

// Version returns how many events were folded.
func (p Person) Version() uint64 { return p.version }

// APIToken returns the live token whose hash is tokenHash, if any: the
// lookup a bearer-token request makes.
func (p Person) APIToken(tokenHash []byte) (APITokenIssued, bool) {
	for _, t := range p.tokens {
		if subtle.ConstantTimeCompare(t.TokenHash, tokenHash) == 1 {
			return t, true
		}
	}
	return APITokenIssued{}, false
}

// APITokens returns the live API tokens, by ID.
func (p Person) APITokens() []APITokenIssued {
	out := make([]APITokenIssued, 0, len(p.tokens))
	for _, t := range p.tokens {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b APITokenIssued) int { return strings.Compare(a.TokenID, b.TokenID) })
	return out
}

// Evolve returns the person with one more recorded event applied.
func (p Person) Evolve(payload any) Person {
	switch e := payload.(type) {
	case SignedUp:
		p.id, p.first, p.last, p.email, p.passwordHash = e.PersonID, e.FirstName, e.LastName, e.Email, e.PasswordHash
		p.verifyHash, p.verifyUntil = e.VerificationTokenHash, e.VerificationExpiresAt
		p.verified = e.VerifiedByInvitation != ""
	case EmailVerified:
		p.verified, p.verifyHash = true, nil
	case ProfileChanged:
		p.first, p.last = e.FirstName, e.LastName
	case PasswordChanged:
		p.passwordHash = e.PasswordHash
	case PasswordResetRequested:
		p.resetHash, p.resetUntil = e.TokenHash, e.ExpiresAt
	case PasswordReset:
		p.passwordHash, p.resetHash = e.PasswordHash, nil // the link is single-use
	case APITokenIssued:
		p.tokens = cloneTokens(p.tokens)
		p.tokens[e.TokenID] = e
	case APITokenRevoked:
		p.tokens = cloneTokens(p.tokens)
		delete(p.tokens, e.TokenID)
	}
	p.version++
	return p
}

func cloneTokens(m map[string]APITokenIssued) map[string]APITokenIssued {
	out := make(map[string]APITokenIssued, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// HashToken returns the stored form of a secret token (a link's or an
// API token's).
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CheckPassword applies the password policy to a new password, before
// infra hashes it.
func CheckPassword(password string, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password) || strings.ContainsFunc(password, unicode.IsControl):
		// rule X-7: a password is typed text; a control character or broken
		// UTF-8 is a client's mistake, and one it could never type again.
		return fmt.Errorf("%w: use letters, digits, spaces and symbols only, no control characters", ErrWeakPassword)
	case n < MinPasswordLength:
		return fmt.Errorf("%w: use at least %d characters", ErrWeakPassword, MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Errorf("%w: use at most %d characters", ErrWeakPassword, MaxPasswordLength)
	case email != "" && strings.EqualFold(strings.TrimSpace(password), email):
		return fmt.Errorf("%w: it must not be your email address", ErrWeakPassword)
	}
	return nil
}

// CheckNames checks a person's first and last name (rules MEM-1, X-7)
// before anything is recorded for the person, such as the claim of their
// address: both required, names on one line without invisible
// characters, as given (nothing trimmed). The error names each field.
func CheckNames(first, last string) error {
	_, _, err := checkName(first, last)
	return err
}

// checkName checks a person's first and last name (see CheckNames).
func checkName(first, last string) (string, string, error) {
	var problems invalid.List
	problems.AddReason("first_name", text.Required("first_name", first, text.Name, maxNameLength))
	problems.AddReason("last_name", text.Required("last_name", last, text.Name, maxNameLength))
	if err := problems.Err(ErrInvalid); err != nil {
		return "", "", err
	}
	return first, last, nil
}

// SignUp records a new person (rule MEM-1): names, a normalized email, the
// hash of a password that passed CheckPassword, accepted terms, and the
// hash of the email-verification link's token.
func (p Person) SignUp(id, first, last, email, passwordHash, termsVersion string, verifyHash []byte, now time.Time) ([]any, error) {
	if p.Exists() {
		return nil, ErrExists
	}
	if termsVersion == "" {
		return nil, ErrTerms
	}
	first, last, err := checkName(first, last)
	if err != nil {
		return nil, err
	}
	if id == "" || email == "" || passwordHash == "" || len(verifyHash) != sha256.Size {
		return nil, fmt.Errorf("%w: sign-up needs an ID, an email, a password hash and a verification token", ErrInvalid)
	}
	return []any{SignedUp{PersonID: id, FirstName: first, LastName: last, Email: email, PasswordHash: passwordHash,
		TermsVersion: termsVersion, VerificationTokenHash: verifyHash, VerificationExpiresAt: now.Add(VerificationValidity)}}, nil
}

// SignUpInvited records a new person who signed up through an invitation
// link sent to email (rule MEM-4): the link proved the address, so it
// counts as verified.
func (p Person) SignUpInvited(id, first, last, email, passwordHash, termsVersion, invitationID string) ([]any, error) {
	if p.Exists() {
		return nil, ErrExists
	}
	if termsVersion == "" {
		return nil, ErrTerms
	}
	first, last, err := checkName(first, last)
	if err != nil {
		return nil, err
	}
	if id == "" || email == "" || passwordHash == "" || invitationID == "" {
		return nil, fmt.Errorf("%w: sign-up needs an ID, an email, a password hash and the invitation", ErrInvalid)
	}
	return []any{SignedUp{PersonID: id, FirstName: first, LastName: last, Email: email, PasswordHash: passwordHash,
		TermsVersion: termsVersion, VerifiedByInvitation: invitationID}}, nil
}

// VerifyEmail redeems the verification link's token.
func (p Person) VerifyEmail(token string, now time.Time) ([]any, error) {
	switch {
	case !p.Exists():
		return nil, ErrNotFound
	case p.verified:
		return nil, ErrVerified
	case subtle.ConstantTimeCompare(HashToken(token), p.verifyHash) != 1 || !now.Before(p.verifyUntil):
		return nil, ErrBadLink
	}
	return []any{EmailVerified{}}, nil
}

// ChangeProfile renames the person.
func (p Person) ChangeProfile(first, last string) ([]any, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	first, last, err := checkName(first, last)
	if err != nil {
		return nil, err
	}
	if first == p.first && last == p.last {
		return nil, ErrNoChange
	}
	return []any{ProfileChanged{FirstName: first, LastName: last}}, nil
}

// ChangePassword records a new password hash; the caller has checked the
// current password against PasswordHash and the new one with CheckPassword.
func (p Person) ChangePassword(newHash string) ([]any, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	return []any{PasswordChanged{PasswordHash: newHash}}, nil
}

// RequestPasswordReset records the hash of a newly mailed reset link's
// token; it replaces any earlier link.
func (p Person) RequestPasswordReset(resetID string, tokenHash []byte, now time.Time) ([]any, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	if resetID == "" || len(tokenHash) != sha256.Size {
		return nil, fmt.Errorf("%w: a reset needs an ID and a token hash", ErrInvalid)
	}
	return []any{PasswordResetRequested{ResetID: resetID, TokenHash: tokenHash, ExpiresAt: now.Add(ResetValidity)}}, nil
}

// ResetPassword sets a new password through the reset link: the newest
// link only, once, within ResetValidity. It also revokes every live
// personal API token (rule MEM-1): a reset usually follows a compromise,
// and a token an intruder took must not outlive it. Each revocation is an
// event of its own, so the history says which tokens the reset ended.
func (p Person) ResetPassword(token, newHash string, now time.Time) ([]any, error) {
	switch {
	case !p.Exists():
		return nil, ErrNotFound
	case p.resetHash == nil || subtle.ConstantTimeCompare(HashToken(token), p.resetHash) != 1 || !now.Before(p.resetUntil):
		return nil, ErrBadLink
	}
	out := []any{PasswordReset{PasswordHash: newHash}}
	for _, t := range p.APITokens() { // sorted: the same events for the same state
		out = append(out, APITokenRevoked{TokenID: t.TokenID, Reason: ReasonPasswordReset})
	}
	return out, nil
}

// IssueAPIToken records a new personal API token (its hash only).
func (p Person) IssueAPIToken(tokenID, name string, tokenHash []byte) ([]any, error) {
	switch reason := text.Required("name", name, text.Name, maxNameLength); {
	case !p.Exists():
		return nil, ErrNotFound
	case reason != "":
		return nil, invalid.New(ErrInvalid, "name", "%s", reason)
	case len(p.tokens) >= MaxAPITokens:
		return nil, ErrTooManyTokens
	case tokenID == "" || len(tokenHash) != sha256.Size:
		return nil, fmt.Errorf("%w: a token needs an ID and a hash", ErrInvalid)
	}
	return []any{APITokenIssued{TokenID: tokenID, Name: name, TokenHash: tokenHash}}, nil
}

// RevokeAPIToken ends a token; requests bearing it are refused from then on.
func (p Person) RevokeAPIToken(tokenID string) ([]any, error) {
	if _, ok := p.tokens[tokenID]; !ok {
		return nil, ErrNoToken
	}
	return []any{APITokenRevoked{TokenID: tokenID}}, nil
}
