package commands

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/domain/person"
)

// PasswordHasher turns a password into the slow salted hash that is
// stored (rule MEM-1); infra/argon2id is the implementation.
type PasswordHasher interface {
	Hash(password string) (string, error)
}

// SignUp creates a person's login (rule MEM-1).
type SignUp struct {
	// PersonID is the new person's ID; empty: a new UUID. A retry after a
	// lost answer passes the same ID.
	PersonID     string
	FirstName    string
	LastName     string
	Email        string
	Password     string
	TermsVersion string // the terms of use accepted; empty: not accepted
}

// SignedUp is what SignUp returns: where it wrote, and the email
// verification link's secret token, to be mailed and never stored.
type SignedUp struct {
	event.AppendResult
	PersonID          string
	VerificationToken string
}

// newSecret returns a random, URL-safe token of 256 bits.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms we run on
	return base64.RawURLEncoding.EncodeToString(b)
}

// staleClaim is how old a claim whose person was never created must be
// before another sign-up may take the address over: younger, it may be a
// sign-up still in progress.
const staleClaim = 5 * time.Minute

// SignUp runs the use case. The address is claimed first, on a stream of
// its own appended with an exact expected version, so that of two
// sign-ups with one address exactly one wins; then the person is created.
// A claim whose person was never created (the process died in between)
// is taken over once it is staleClaim old, so an address is never locked
// out for good.
func (h *Handler) SignUp(ctx context.Context, meta Meta, hasher PasswordHasher, cmd SignUp) (SignedUp, error) {
	email, err := person.NormalizeEmail(cmd.Email)
	if err != nil {
		return SignedUp{}, err
	}
	if err := person.CheckPassword(cmd.Password, email); err != nil {
		return SignedUp{}, err
	}
	if cmd.TermsVersion == "" {
		return SignedUp{}, person.ErrTerms
	}
	if cmd.PersonID == "" {
		cmd.PersonID = uuid.Must(uuid.NewV7()).String()
	}
	if err := h.claimEmail(ctx, meta, email, cmd.PersonID); err != nil {
		return SignedUp{}, err
	}
	hash, err := hasher.Hash(cmd.Password)
	if err != nil {
		return SignedUp{}, err
	}
	token := newSecret()
	res, err := update(ctx, h, "SignUp", person.StreamID(cmd.PersonID), meta,
		func(p person.Person, payload any, _ event.Record) person.Person { return p.Evolve(payload) },
		func(p person.Person, now time.Time) ([]any, error) {
			return p.SignUp(cmd.PersonID, cmd.FirstName, cmd.LastName, email, hash, cmd.TermsVersion, person.HashToken(token), now)
		})
	if err != nil {
		return SignedUp{}, err
	}
	return SignedUp{AppendResult: res, PersonID: cmd.PersonID, VerificationToken: token}, nil
}

// claimEmail makes personID the owner of email, or returns
// person.ErrEmailTaken.
func (h *Handler) claimEmail(ctx context.Context, meta Meta, email, personID string) error {
	stream := person.EmailStreamID(email)
	for range maxAttempts {
		claim, version, _, err := load(ctx, h, stream, Meta{}, evolveClaim)
		if err != nil {
			return err
		}
		owner, claimedAt := claim.owner, claim.claimedAt
		if owner == personID {
			return nil // a retry of this sign-up
		}
		if owner != "" {
			created, err := h.store.ReadStream(ctx, person.StreamID(owner), 1, 1)
			if err != nil {
				return fmt.Errorf("commands: sign-up: look up %s: %w", owner, err)
			}
			if len(created) > 0 || h.clock.Now().Sub(claimedAt) < staleClaim {
				return person.ErrEmailTaken
			}
		}
		claimed, err := h.encode("SignUp", stream, Meta{Actor: meta.Actor, CorrelationID: meta.CorrelationID}, []any{person.EmailClaimed{PersonID: personID, Email: email}})
		if err != nil {
			return err
		}
		_, err = h.store.Append(ctx, stream, event.Exact(version), claimed...)
		if !errors.Is(err, event.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("commands: sign-up: the address is being claimed by others; try again")
}

// emailClaim is an address's claim stream folded: its current owner.
type emailClaim struct {
	owner     string
	claimedAt time.Time
}

func evolveClaim(c emailClaim, payload any, rec event.Record) emailClaim {
	if e, ok := payload.(person.EmailClaimed); ok {
		c = emailClaim{owner: e.PersonID, claimedAt: rec.RecordedAt}
	}
	return c
}
