package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

// signedUp signs up person n with email and returns their ID.
func signedUp(t *testing.T, h *commands.Set, n int, email string) string {
	t.Helper()
	res, err := h.People.SignUp(context.Background(), anonymous, signUp(email, pid(n)))
	if err != nil {
		t.Fatal(err)
	}
	return res.PersonID
}

// verified verifies the address of person id through its mailed link.
func verified(t *testing.T, h *commands.Set, id string) {
	t.Helper()
	if _, err := h.People.VerifyEmail(context.Background(), anonymous, id, linkKey.Token(person.TokenVerifyEmail, id)); err != nil {
		t.Fatal(err)
	}
}

// Rule MEM-1 (and the bad-input rule): sign-in fails alike for an unknown
// address, a wrong password and a blocked membership.
func TestSignIn_MEM1_MEM8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		ada := signedUp(t, h, 1, "ada@example.com")
		bob := signedUp(t, h, 2, "bob@example.com")
		must(t)(h.Accounts.CreateBusinessAccount(ctx, as(ada), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme}))
		inv, err := h.Accounts.InviteMembers(ctx, as(ada), commands.InviteMembers{AccountID: "acc-1", Language: "en", Emails: []string{"bob@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		verified(t, h, bob)
		if _, err := h.Accounts.AcceptInvitation(ctx, as(bob), commands.AcceptInvitation{AccountID: "acc-1", InvitationID: inv.InvitationIDs[0],
			Token: linkKey.Token(account.TokenInvitation, inv.InvitationIDs[0])}); err != nil {
			t.Fatal(err)
		}
		if p, err := h.People.SignIn(ctx, "ADA@example.com", "correct horse battery", ""); err != nil || p.ID() != ada {
			t.Fatalf("sign in = %v, %v", p.ID(), err)
		}
		if _, err := h.People.SignIn(ctx, "bob@example.com", "correct horse battery", "acc-1"); err != nil {
			t.Fatalf("sign in to an account bob is in: %v", err)
		}
		must(t)(h.Accounts.BlockMember(ctx, as(ada), commands.BlockMember{AccountID: "acc-1", PersonID: bob}))
		for name, c := range map[string][3]string{
			"unknown address":    {"nobody@example.com", "correct horse battery", ""},
			"wrong password":     {"ada@example.com", "correct horse batter", ""},
			"not an address":     {"ada", "correct horse battery", ""},
			"blocked membership": {"bob@example.com", "correct horse battery", "acc-1"},
			"no membership":      {"ada@example.com", "correct horse battery", "acc-404"},
		} {
			if _, err := h.People.SignIn(ctx, c[0], c[1], c[2]); !errors.Is(err, person.ErrBadCredentials) || err.Error() != person.ErrBadCredentials.Error() {
				t.Errorf("%s: err = %v, want exactly ErrBadCredentials", name, err)
			}
		}
	})
}

// Rule MEM-4: an admin invites; the owner of the invited, verified
// address joins with the link (nobody else, and not before verifying),
// a new person signs up through it; the link works once; a revoked or
// expired invitation does not work.
func TestInvitations_MEM4(t *testing.T) {
	forEachEngineClock(t, func(t *testing.T, h *commands.Set, store eventstore.Store, clk *clock.Simulated) {
		ctx := context.Background()
		ada := signedUp(t, h, 1, "ada@example.com")
		bob := signedUp(t, h, 2, "bob@example.com")
		must(t)(h.Accounts.CreateBusinessAccount(ctx, as(ada), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme}))
		if _, err := h.Accounts.InviteMembers(ctx, as(bob), commands.InviteMembers{AccountID: "acc-1", Language: "en", Emails: []string{"x@example.com"}}); !errors.Is(err, account.ErrForbidden) {
			t.Fatalf("a stranger invites: %v", err)
		}
		inv, err := h.Accounts.InviteMembers(ctx, as(ada), commands.InviteMembers{AccountID: "acc-1", Language: "de",
			Emails: []string{"bob@example.com", "New@Example.com", "late@example.com", "gone@example.com"}})
		if err != nil || len(inv.InvitationIDs) != 4 || inv.LastVersion-inv.FirstVersion != 3 {
			t.Fatalf("invite = %+v, %v", inv, err)
		}
		token := func(i int) string { return linkKey.Token(account.TokenInvitation, inv.InvitationIDs[i]) }
		accept := func(meta commands.Meta, i int, tok string, newPerson *commands.SignUp) (commands.Accepted, error) {
			return h.Accounts.AcceptInvitation(ctx, meta, commands.AcceptInvitation{AccountID: "acc-1", InvitationID: inv.InvitationIDs[i], Token: tok, NewPerson: newPerson})
		}
		if _, err := accept(as(bob), 0, "forged", nil); !errors.Is(err, account.ErrNoInvitation) {
			t.Fatalf("forged token: %v", err)
		}
		if _, err := accept(as(bob), 0, token(0), nil); !errors.Is(err, account.ErrInvitationAddress) {
			t.Fatalf("existing person, address not verified: %v", err)
		}
		if _, err := accept(as(ada), 0, token(0), nil); !errors.Is(err, account.ErrInvitationAddress) {
			t.Fatalf("another person with bob's link: %v", err)
		}
		verified(t, h, bob)
		if _, err := accept(as(bob), 0, token(0), nil); err != nil {
			t.Fatalf("existing person: %v", err)
		}
		if _, err := accept(as(bob), 0, token(0), nil); !errors.Is(err, account.ErrInvitationUsed) {
			t.Fatalf("the link twice: %v", err)
		}
		// rule X-7: the new person's address is the invited one; another
		// is refused, not silently replaced; none at all takes the invited.
		newcomer := signUp("other@example.com", pid(3))
		if _, err := accept(anonymous, 1, token(1), &newcomer); !errors.Is(err, person.ErrInvalid) {
			t.Fatalf("a new person with another address: %v", err)
		}
		newcomer.Email = ""
		got, err := accept(anonymous, 1, token(1), &newcomer)
		if err != nil || got.PersonID != pid(3) {
			t.Fatalf("new person: %+v, %v", got, err)
		}
		p, _ := h.People.Person(ctx, pid(3))
		if p.Email() != "new@example.com" || !p.Verified() {
			t.Fatalf("the new person has %q, verified %v; want the invited address, verified", p.Email(), p.Verified())
		}
		a, _ := h.Accounts.Account(ctx, "acc-1")
		for _, id := range []string{bob, pid(3)} {
			if m, ok := a.Member(id); !ok || m.Role != account.RoleMember {
				t.Fatalf("%s joined as %+v, %v; want a regular member", id, m, ok)
			}
		}
		must(t)(h.Accounts.RevokeInvitation(ctx, as(ada), "acc-1", inv.InvitationIDs[3]))
		other := signUp("x@example.com", pid(4))
		if _, err := accept(anonymous, 3, token(3), &other); !errors.Is(err, account.ErrInvitationUsed) {
			t.Fatalf("revoked: %v", err)
		}
		if _, err := clk.Advance(account.InvitationValidity); err != nil {
			t.Fatal(err)
		}
		if _, err := accept(anonymous, 2, token(2), &other); !errors.Is(err, account.ErrInvitationExpired) {
			t.Fatalf("expired: %v", err)
		}
		if _, err := h.People.Person(ctx, pid(4)); err != nil {
			t.Fatal(err)
		}
		if p, _ := h.People.Person(ctx, pid(4)); p.Exists() {
			t.Fatal("a refused invitation signed somebody up")
		}
	})
}

// Rule MEM-1: a forgotten password is reset through a single-use link.
func TestPasswordReset_MEM1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		ada := signedUp(t, h, 1, "ada@example.com")
		head, _ := store.Head(ctx)
		if _, err := h.People.RequestPasswordReset(ctx, anonymous, "nobody@example.com", "reset-1"); err != nil {
			t.Fatalf("an unknown address must not be an error: %v", err)
		}
		if h2, _ := store.Head(ctx); h2 != head {
			t.Fatal("a reset for an unknown address appended")
		}
		res := must(t)(h.People.RequestPasswordReset(ctx, anonymous, "Ada@example.com", "reset-2"))
		recs, _ := store.ReadStream(ctx, person.StreamID(ada), res.LastVersion, 1)
		reg := event.NewRegistry()
		person.Register(reg)
		payload, _ := reg.Decode(recs[0])
		token := linkKey.Token(person.TokenPasswordReset, payload.(person.PasswordResetRequested).ResetID)
		if _, err := h.People.ResetPassword(ctx, anonymous, ada, token, "short"); !errors.Is(err, person.ErrWeakPassword) {
			t.Fatalf("weak password: %v", err)
		}
		must(t)(h.People.ResetPassword(ctx, anonymous, ada, token, "tangerine vault orbit"))
		if _, err := h.People.ResetPassword(ctx, anonymous, ada, token, "another tangerine vault"); !errors.Is(err, person.ErrBadLink) {
			t.Fatalf("the link twice: %v", err)
		}
		if _, err := h.People.SignIn(ctx, "ada@example.com", "tangerine vault orbit", ""); err != nil {
			t.Fatalf("sign in with the new password: %v", err)
		}
		if _, err := h.People.ChangePassword(ctx, as(ada), "wrong", "purple walrus lantern"); !errors.Is(err, person.ErrBadCredentials) {
			t.Fatalf("change with a wrong current password: %v", err)
		}
		must(t)(h.People.ChangePassword(ctx, as(ada), "tangerine vault orbit", "purple walrus lantern"))
		if _, err := h.People.SignIn(ctx, "ada@example.com", "tangerine vault orbit", ""); !errors.Is(err, person.ErrBadCredentials) {
			t.Fatalf("the old password still works: %v", err)
		}

		// A queued request fired twice (after a crash) records one reset.
		queued := commands.Meta{Actor: anonymous.Actor, CorrelationID: "forgot-1", IdempotencyKey: "password-reset/1"}
		first := must(t)(h.People.RequestPasswordReset(ctx, queued, "ada@example.com", "reset-3"))
		head, _ = store.Head(ctx)
		again := must(t)(h.People.RequestPasswordReset(ctx, queued, "ada@example.com", "reset-3"))
		if h2, _ := store.Head(ctx); h2 != head || again.LastVersion != first.LastVersion {
			t.Fatalf("the second run appended: %+v then %+v, head %d → %d", first, again, head, h2)
		}
	})
}

// Rule MEM-1: personal API tokens are stored hashed and stop working the
// moment they are revoked.
func TestAPITokens_MEM1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		ada := signedUp(t, h, 1, "ada@example.com")
		tok, err := h.People.IssueAPIToken(ctx, as(ada), "ci script")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := h.People.AuthenticateAPIToken(ctx, tok.Token); err != nil || p.ID() != ada {
			t.Fatalf("authenticate = %v, %v", p.ID(), err)
		}
		for _, bad := range []string{"", "slt_", "slt_" + ada + "_guess", tok.Token + "x", "slt_nobody_x", "Bearer " + tok.Token} {
			if _, err := h.People.AuthenticateAPIToken(ctx, bad); !errors.Is(err, person.ErrBadCredentials) {
				t.Errorf("token %q: err = %v", bad, err)
			}
		}
		must(t)(h.People.RevokeAPIToken(ctx, as(ada), tok.TokenID))
		if _, err := h.People.AuthenticateAPIToken(ctx, tok.Token); !errors.Is(err, person.ErrBadCredentials) {
			t.Fatalf("a revoked token works: %v", err)
		}
	})
}

// Rules MEM-7, MEM-8: authorization decides from the account's latest
// events, even when another process wrote them: a cached account catches
// up before every decision.
func TestAuthorize_sees_changes_made_elsewhere_MEM7_MEM8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		accountWithAdmins(t, h, store, "acc-1", "cyd")
		cyd := event.Actor{Kind: event.ActorPerson, ID: "cyd"}
		if err := h.Accounts.Authorize(ctx, cyd, "acc-1", account.ActionManage); err != nil {
			t.Fatal(err)
		}
		// Another handler (another ledgerd) demotes cyd.
		other := newSet(t, commands.Config{Store: store, Registry: registry(), Clock: clock.NewSimulated(time.Now())})
		must(t)(other.Accounts.ChangeMemberRole(ctx, as("ada"), commands.ChangeMemberRole{AccountID: "acc-1", PersonID: "cyd", Role: account.RoleMember}))
		if err := h.Accounts.Authorize(ctx, cyd, "acc-1", account.ActionManage); !errors.Is(err, account.ErrForbidden) {
			t.Fatalf("demoted elsewhere, still an admin here: %v", err)
		}
		must(t)(other.Accounts.BlockMember(ctx, as("ada"), commands.BlockMember{AccountID: "acc-1", PersonID: "cyd"}))
		if err := h.Accounts.Authorize(ctx, cyd, "acc-1", account.ActionView); !errors.Is(err, account.ErrForbidden) {
			t.Fatalf("blocked elsewhere, still sees the account: %v", err)
		}
	})
}
