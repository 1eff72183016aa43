package commands

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
)

// PeopleHandler runs the use cases of people: signing up and in, their
// email address, password, profile and API tokens (rule MEM-1).
type PeopleHandler struct {
	loader    *Loader
	passwords Passwords
	tokens    Tokens
	claims    *cache[emailClaim] // who owns an address: only sign-up and sign-in read them

	dummyOnce sync.Once
	dummyHash string
}

// NewPeopleHandler returns a PeopleHandler on loader; passwords hashes
// and checks passwords, tokens derives the mailed links. It returns an
// error wrapping ErrMissingDependency if one of them is nil.
func NewPeopleHandler(loader *Loader, passwords Passwords, tokens Tokens) (*PeopleHandler, error) {
	if err := dependencies("NewPeopleHandler", dep{"a Loader", loader != nil}, dep{"Passwords", passwords != nil},
		dep{"Tokens", tokens != nil}); err != nil {
		return nil, err
	}
	return &PeopleHandler{loader: loader, passwords: passwords, tokens: tokens,
		claims: newCache(loader.cacheSize, person.EmailStreamID, func(string) emailClaim { return emailClaim{} }, evolveClaim, nil)}, nil
}

// Person returns person id as of its latest event (shared; never evolve it).
func (h *PeopleHandler) Person(ctx context.Context, id string) (person.Person, error) {
	return h.loader.person(ctx, id)
}

// updatePerson runs decide on person id as of its latest event.
func (h *PeopleHandler) updatePerson(ctx context.Context, command, id string, meta Meta, decide func(person.Person, time.Time) ([]any, error)) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.persons, id, command, meta, decide)
}

// VerifyEmail redeems the emailed verification link (rule MEM-1).
func (h *PeopleHandler) VerifyEmail(ctx context.Context, meta Meta, personID, token string) (event.AppendResult, error) {
	return h.updatePerson(ctx, "VerifyEmail", personID, meta, func(p person.Person, now time.Time) ([]any, error) {
		if !p.Exists() {
			return nil, person.ErrBadLink // a link to nobody is just a bad link
		}
		return p.VerifyEmail(token, now)
	})
}

// SignIn checks an email and password and returns the person (rule
// MEM-1). With accountID, the person must also be an unblocked member of
// that account. Every failure — unknown address, wrong password, blocked
// or no membership — is the same person.ErrBadCredentials, and an unknown
// address costs a password hash like a known one, so neither the answer
// nor its timing tells whether the address exists.
func (h *PeopleHandler) SignIn(ctx context.Context, email, password, accountID string) (person.Person, error) {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return person.Person{}, person.ErrBadCredentials
	}
	p, err := h.ownerOf(ctx, normalized)
	if err != nil {
		return person.Person{}, err
	}
	encoded := p.PasswordHash()
	if !p.Exists() {
		encoded = h.dummyPasswordHash()
	}
	ok, err := h.passwords.Verify(password, encoded)
	if err != nil {
		return person.Person{}, fmt.Errorf("commands: sign-in: %w", err)
	}
	if !ok || !p.Exists() {
		return person.Person{}, person.ErrBadCredentials
	}
	if accountID != "" {
		if err := h.loader.authorize(ctx, event.Actor{Kind: event.ActorPerson, ID: p.ID()}, accountID, account.ActionView); err != nil {
			return person.Person{}, person.ErrBadCredentials
		}
	}
	return p, nil
}

// dummyPasswordHash is a hash of a random password, verified against when
// the address is unknown so that a sign-in takes as long either way.
func (h *PeopleHandler) dummyPasswordHash() string {
	h.dummyOnce.Do(func() {
		h.dummyHash, _ = h.passwords.Hash(newSecret())
	})
	return h.dummyHash
}

// newSecret returns a random, URL-safe secret of 256 bits.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms we run on
	return base64.RawURLEncoding.EncodeToString(b)
}

// RequestPasswordReset records reset request resetID for the owner of
// email, whose link the notifier mails (rule MEM-1). An unknown address is
// not an error: the answer must not tell whether the address exists. It
// runs after the request was answered (a durable timer: see ledgerd's
// password-reset queue), so that a known address and an unknown one cost
// the client the same; resetID and meta's idempotency key come from that
// timer, so a second run of the same request changes nothing.
func (h *PeopleHandler) RequestPasswordReset(ctx context.Context, meta Meta, email, resetID string) (event.AppendResult, error) {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return event.AppendResult{}, err
	}
	if resetID == "" {
		return event.AppendResult{}, fmt.Errorf("%w: a reset needs an ID", person.ErrInvalid)
	}
	p, err := h.ownerOf(ctx, normalized)
	if err != nil || !p.Exists() {
		return event.AppendResult{}, err
	}
	hash := person.HashToken(h.tokens.Token(person.TokenPasswordReset, resetID))
	return h.updatePerson(ctx, "RequestPasswordReset", p.ID(), meta, func(p person.Person, now time.Time) ([]any, error) {
		return p.RequestPasswordReset(resetID, hash, now)
	})
}

// ResetPassword sets a new password through the emailed link: the newest
// link only, once, within person.ResetValidity (rule MEM-1).
func (h *PeopleHandler) ResetPassword(ctx context.Context, meta Meta, personID, token, password string) (event.AppendResult, error) {
	p, err := h.Person(ctx, personID)
	if err != nil {
		return event.AppendResult{}, err
	}
	if !p.Exists() {
		return event.AppendResult{}, person.ErrBadLink
	}
	if err := h.checkPassword(password, p.Email(), names(p)...); err != nil {
		return event.AppendResult{}, err
	}
	hash, err := h.passwords.Hash(password)
	if err != nil {
		return event.AppendResult{}, err
	}
	return h.updatePerson(ctx, "ResetPassword", personID, meta, func(p person.Person, now time.Time) ([]any, error) {
		return p.ResetPassword(token, hash, now)
	})
}

// ChangePersonProfile renames the acting person.
func (h *PeopleHandler) ChangePersonProfile(ctx context.Context, meta Meta, first, last string) (event.AppendResult, error) {
	return h.updatePerson(ctx, "ChangePersonProfile", meta.Actor.ID, meta, func(p person.Person, _ time.Time) ([]any, error) {
		return p.ChangeProfile(first, last)
	})
}

// ChangePassword sets a new password for the acting person, who proves
// they know the current one.
func (h *PeopleHandler) ChangePassword(ctx context.Context, meta Meta, current, password string) (event.AppendResult, error) {
	p, err := h.Person(ctx, meta.Actor.ID)
	if err != nil {
		return event.AppendResult{}, err
	}
	if !p.Exists() {
		return event.AppendResult{}, person.ErrNotFound
	}
	ok, err := h.passwords.Verify(current, p.PasswordHash())
	if err != nil {
		return event.AppendResult{}, fmt.Errorf("commands: change password: %w", err)
	}
	if !ok {
		return event.AppendResult{}, person.ErrBadCredentials
	}
	if err := h.checkPassword(password, p.Email(), names(p)...); err != nil {
		return event.AppendResult{}, err
	}
	hash, err := h.passwords.Hash(password)
	if err != nil {
		return event.AppendResult{}, err
	}
	return h.updatePerson(ctx, "ChangePassword", meta.Actor.ID, meta, func(p person.Person, _ time.Time) ([]any, error) {
		return p.ChangePassword(hash)
	})
}

// apiTokenPrefix starts every personal API token, so that a leaked token
// is recognisable (secret scanners) and its person found without a table.
const apiTokenPrefix = "slt_"

// IssuedAPIToken is a new personal API token: shown once, stored hashed.
type IssuedAPIToken struct {
	event.AppendResult
	TokenID string
	Token   string
}

// IssueAPIToken creates a personal API token for the acting person's
// scripts (rule MEM-1). The token is "slt_<person ID>_<secret>".
func (h *PeopleHandler) IssueAPIToken(ctx context.Context, meta Meta, name string) (IssuedAPIToken, error) {
	id := uuid.Must(uuid.NewV7()).String()
	token := apiTokenPrefix + meta.Actor.ID + "_" + newSecret()
	res, err := h.updatePerson(ctx, "IssueAPIToken", meta.Actor.ID, meta, func(p person.Person, _ time.Time) ([]any, error) {
		return p.IssueAPIToken(id, name, person.HashToken(token))
	})
	if err != nil {
		return IssuedAPIToken{}, err
	}
	return IssuedAPIToken{AppendResult: res, TokenID: id, Token: token}, nil
}

// RevokeAPIToken ends one of the acting person's tokens, at once.
func (h *PeopleHandler) RevokeAPIToken(ctx context.Context, meta Meta, tokenID string) (event.AppendResult, error) {
	return h.updatePerson(ctx, "RevokeAPIToken", meta.Actor.ID, meta, func(p person.Person, _ time.Time) ([]any, error) {
		return p.RevokeAPIToken(tokenID)
	})
}

// AuthenticateAPIToken returns the person a bearer token belongs to, from
// the person's latest events: a revoked token fails on the next request.
func (h *PeopleHandler) AuthenticateAPIToken(ctx context.Context, token string) (person.Person, error) {
	rest, ok := strings.CutPrefix(token, apiTokenPrefix)
	personID, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || personID == "" {
		return person.Person{}, person.ErrBadCredentials
	}
	if _, err := uuid.Parse(personID); err != nil {
		return person.Person{}, person.ErrBadCredentials
	}
	p, err := h.Person(ctx, personID)
	if err != nil {
		return person.Person{}, err
	}
	if _, ok := p.APIToken(person.HashToken(token)); !ok {
		return person.Person{}, person.ErrBadCredentials
	}
	return p, nil
}

// names are a person's first and last name, hints for the password check.
func names(p person.Person) []string {
	first, last := p.Name()
	return []string{first, last}
}
