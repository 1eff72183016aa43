package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/person"
	"seatledger/infra/argon2id"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

// hasher keeps the tests quick; ledgerd uses argon2id.Default.
var hasher = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 1024, Passes: 1, Lanes: 1}}

// pid returns the n-th test person's ID.
func pid(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }

func signUp(email, id string) commands.SignUp {
	return commands.SignUp{PersonID: id, FirstName: "Ada", LastName: "Lovelace", Email: email,
		Password: "correct horse battery", TermsVersion: "2026-01"}
}

var anonymous = commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: "anonymous"}, CorrelationID: "signup"}

// Rule MEM-1: a person signs up with names, email, password and accepted
// terms; the password is stored only as an argon2id hash; the email is
// verified with the link's token.
func TestSignUp_MEM1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		res, err := h.People.SignUp(ctx, anonymous, signUp("Ada@Example.com", pid(1)))
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := store.ReadStream(ctx, person.StreamID(pid(1)), 1, 10)
		if len(recs) != 1 || recs[0].Type != person.TypeSignedUp || strings.Contains(string(recs[0].Data), "horse") {
			t.Fatalf("person stream: %d events, %s", len(recs), recs[0].Data)
		}
		reg := event.NewRegistry()
		person.Register(reg)
		payload, _ := reg.Decode(recs[0])
		su := payload.(person.SignedUp)
		if ok, err := hasher.Verify("correct horse battery", su.PasswordHash); !ok || err != nil || su.Email != "ada@example.com" {
			t.Fatalf("stored %+v: verify %v, %v", su, ok, err)
		}
		if _, err := h.People.VerifyEmail(ctx, anonymous, res.PersonID, "not the token"); !errors.Is(err, person.ErrBadLink) {
			t.Fatalf("a wrong token verifies: %v", err)
		}
		if _, err := h.People.VerifyEmail(ctx, anonymous, res.PersonID, linkKey.Token(person.TokenVerifyEmail, res.PersonID)); err != nil {
			t.Fatalf("the mailed token does not verify: %v", err)
		}
		// A retry with the same person ID after a lost answer is not a second sign-up.
		if _, err := h.People.SignUp(ctx, anonymous, signUp("ada@example.com", pid(1))); !errors.Is(err, person.ErrExists) {
			t.Fatalf("retry: err = %v", err)
		}
	})
}

// Rule MEM-1: an email is unique, whatever its case, even when sign-ups race.
func TestSignUp_email_is_unique_under_concurrency_MEM1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		if _, err := h.People.SignUp(ctx, anonymous, signUp("bob@example.com", pid(1))); err != nil {
			t.Fatal(err)
		}
		if _, err := h.People.SignUp(ctx, anonymous, signUp("BOB@example.com", pid(2))); !errors.Is(err, person.ErrEmailTaken) {
			t.Fatalf("same address in capitals: err = %v", err)
		}
		const racers = 8
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = h.People.SignUp(ctx, anonymous, signUp("cyd@example.com", pid(100+i)))
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, person.ErrEmailTaken):
				t.Fatalf("racer: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d sign-ups won one address, want 1", won)
		}
	})
}

// Rule MEM-1: a sign-up reusing an existing person's ID is refused before
// it claims its address, so the address stays free for its real owner.
func TestSignUp_with_a_taken_person_ID_leaves_the_address_free_MEM1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		if _, err := h.People.SignUp(ctx, anonymous, signUp("eve@example.com", pid(1))); err != nil {
			t.Fatal(err)
		}
		if _, err := h.People.SignUp(ctx, anonymous, signUp("fay@example.com", pid(1))); !errors.Is(err, person.ErrExists) {
			t.Fatalf("a taken person ID: err = %v", err)
		}
		if _, err := h.People.SignUp(ctx, anonymous, signUp("fay@example.com", pid(2))); err != nil {
			t.Fatalf("the address was blocked by the refused sign-up: %v", err)
		}
	})
}

// A claim whose person was never created (the process died between the
// two appends) blocks the address only for a while.
func TestSignUp_takes_over_a_stale_claim(t *testing.T) {
	forEachEngineClock(t, func(t *testing.T, h *commands.Set, store eventstore.Store, clk *clock.Simulated) {
		ctx := context.Background()
		email := "dan@example.com"
		if _, err := store.Append(ctx, person.EmailStreamID(email), event.NoStream(), event.Proposed{
			Type: person.TypeEmailClaimed, SchemaVersion: 1, Data: []byte(`{"person_id":"ghost","email":"dan@example.com"}`),
			Metadata: event.Metadata{Actor: anonymous.Actor}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.People.SignUp(ctx, anonymous, signUp(email, pid(1))); !errors.Is(err, person.ErrEmailTaken) {
			t.Fatalf("a fresh claim may be a sign-up in progress: err = %v", err)
		}
		if _, err := clk.Advance(6 * time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := h.People.SignUp(ctx, anonymous, signUp(email, pid(1))); err != nil {
			t.Fatalf("stale claim: %v", err)
		}
	})
}

// Bad input changes nothing.
func TestSignUp_refused_input_appends_nothing_MEM1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		weak := signUp("eve@example.com", pid(1))
		weak.Password = "short"
		noTerms := signUp("eve@example.com", pid(1))
		noTerms.TermsVersion = ""
		badEmail := signUp("Eve <eve@example.com>", pid(1))
		common := signUp("eve@example.com", pid(1))
		common.Password = "qwertyuiopasdf"
		badID := signUp("eve@example.com", "p-1")
		for name, c := range map[string]struct {
			cmd  commands.SignUp
			want error
		}{
			"weak password":   {weak, person.ErrWeakPassword},
			"terms declined":  {noTerms, person.ErrTerms},
			"not one address": {badEmail, person.ErrInvalid},
			"common password": {common, person.ErrWeakPassword},
			"ID not a UUID":   {badID, person.ErrInvalid},
		} {
			if _, err := h.People.SignUp(ctx, anonymous, c.cmd); !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", name, err, c.want)
			}
		}
		// Issue 20: an empty sign-up is told every problem at once, each
		// naming its field, not one per attempt.
		var several *invalid.Several
		_, err := h.People.SignUp(ctx, anonymous, commands.SignUp{})
		if !errors.As(err, &several) || !errors.Is(err, person.ErrInvalid) || !errors.Is(err, person.ErrWeakPassword) || !errors.Is(err, person.ErrTerms) {
			t.Fatalf("an empty sign-up: %v, want the address, names, password and terms at once", err)
		}
		var names *invalid.Error
		if !errors.As(several.Errs[1], &names) || len(names.Fields) != 2 {
			t.Fatalf("the names' problems: %v", several.Errs[1])
		}
		if head, _ := store.Head(ctx); head != 0 {
			t.Fatalf("refused sign-ups appended; head = %d", head)
		}
	})
}
