package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/person"
)

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

// SignedUp is what SignUp returns: where it wrote, and who was created.
// The verification link is mailed by the notifier.
type SignedUp struct {
	event.AppendResult
	PersonID string
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
func (h *PeopleHandler) SignUp(ctx context.Context, meta Meta, cmd SignUp) (SignedUp, error) {
	return h.signUp(ctx, meta, cmd, "")
}

// signUp signs up; with invitationID the address counts as verified by
// that invitation's link (rule MEM-4).
func (h *PeopleHandler) signUp(ctx context.Context, meta Meta, cmd SignUp, invitationID string) (SignedUp, error) {
	// Everything the person's stream will check is checked before the
	// address is claimed on its own stream: a refused sign-up must record
	// nothing (rule X-7), nor lock its address for staleClaim. Every
	// problem is reported at once, each naming its field.
	email, err := person.NormalizeEmail(cmd.Email)
	problems := []error{err, person.CheckNames(cmd.FirstName, cmd.LastName)}
	hint := email
	if err != nil {
		hint = cmd.Email
	}
	problems = append(problems, h.checkPassword(cmd.Password, hint, cmd.FirstName, cmd.LastName))
	if cmd.TermsVersion == "" {
		problems = append(problems, person.ErrTerms)
	}
	if err := invalid.Join(problems...); err != nil {
		return SignedUp{}, err
	}
	if cmd.PersonID == "" {
		cmd.PersonID = uuid.Must(uuid.NewV7()).String()
	} else if id, err := uuid.Parse(cmd.PersonID); err != nil || id.String() != cmd.PersonID {
		return SignedUp{}, invalid.New(person.ErrInvalid, "person_id", "the person ID must be a UUID in lower-case hyphenated form")
	}
	// A person ID already in use must not claim a second address: the
	// claim would outlive the refused sign-up and block that address.
	if p, _, err := h.loader.persons.current(ctx, h.loader, cmd.PersonID); err != nil {
		return SignedUp{}, err
	} else if p.Exists() {
		return SignedUp{}, person.ErrExists
	}
	if err := h.claimEmail(ctx, meta, email, cmd.PersonID); err != nil {
		return SignedUp{}, err
	}
	hash, err := h.passwords.Hash(cmd.Password)
	if err != nil {
		return SignedUp{}, err
	}
	verify := person.HashToken(h.tokens.Token(person.TokenVerifyEmail, cmd.PersonID))
	res, err := update(ctx, h.loader, h.loader.persons, cmd.PersonID, "SignUp", meta, func(p person.Person, now time.Time) ([]any, error) {
		if invitationID != "" {
			return p.SignUpInvited(cmd.PersonID, cmd.FirstName, cmd.LastName, email, hash, cmd.TermsVersion, invitationID)
		}
		return p.SignUp(cmd.PersonID, cmd.FirstName, cmd.LastName, email, hash, cmd.TermsVersion, verify, now)
	})
	if err != nil {
		return SignedUp{}, err
	}
	return SignedUp{AppendResult: res, PersonID: cmd.PersonID}, nil
}

// checkPassword applies the password policy: the domain's length rules,
// then the check against common and easily guessed passwords, with the
// person's email and names as hints.
func (h *PeopleHandler) checkPassword(password, email string, names ...string) error {
	if err := person.CheckPassword(password, email); err != nil {
		return err
	}
	if h.passwords.Guessable(password, append(names, email)) {
		return fmt.Errorf("%w: it is a common or easily guessed password; try a few unrelated words", person.ErrWeakPassword)
	}
	return nil
}

// claimEmail makes personID the owner of email, or returns
// person.ErrEmailTaken.
func (h *PeopleHandler) claimEmail(ctx context.Context, meta Meta, email, personID string) error {
	stream := person.EmailStreamID(email)
	for range maxAttempts {
		claim, version, err := h.claims.current(ctx, h.loader, email)
		if err != nil {
			return err
		}
		owner, claimedAt := claim.owner, claim.claimedAt
		if owner == personID {
			return nil // a retry of this sign-up
		}
		if owner != "" {
			p, _, err := h.loader.persons.current(ctx, h.loader, owner)
			if err != nil {
				return fmt.Errorf("commands: sign-up: look up %s: %w", owner, err)
			}
			if p.Exists() || h.loader.clock.Now().Sub(claimedAt) < staleClaim {
				return person.ErrEmailTaken
			}
		}
		claimed, err := h.loader.encode("SignUp", stream, Meta{Actor: meta.Actor, CorrelationID: meta.CorrelationID}, []any{person.EmailClaimed{PersonID: personID, Email: email}})
		if err != nil {
			return err
		}
		_, err = h.loader.store.Append(ctx, stream, event.Exact(version), claimed...)
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

// ownerOf returns the person who owns email, or "" if nobody does.
func (h *PeopleHandler) ownerOf(ctx context.Context, email string) (person.Person, error) {
	claim, _, err := h.claims.current(ctx, h.loader, email)
	if err != nil || claim.owner == "" {
		return person.Person{}, err
	}
	p, _, err := h.loader.persons.current(ctx, h.loader, claim.owner)
	return p, err
}
