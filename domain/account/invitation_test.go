package account_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
)

var linkHash = person.HashToken("s3cret-link-token")

func invited(id, email string) account.MemberInvited {
	return account.MemberInvited{InvitationID: id, Email: email, Language: "de", InvitedBy: "ada",
		ExpiresAt: t0.AddDate(0, 0, 4).Add(account.InvitationValidity), TokenHash: linkHash}
}

// Rule MEM-4: an admin invites several addresses at once, in a language;
// each invitation expires 14 days after it was issued.
func TestInvite_MEM4(t *testing.T) {
	t.Parallel()
	now := t0.AddDate(0, 0, 4)
	in := func(id, email string) account.Invitee {
		return account.Invitee{InvitationID: id, Email: email, TokenHash: linkHash}
	}
	run(t, []tc{
		{name: "several addresses, normalized", given: withMembers(),
			then: []any{invited("inv-1", "bob@example.com"), invited("inv-2", "eve@example.org")},
			when: func(a account.Account) ([]any, error) {
				return a.Invite("ada", "DE", []account.Invitee{in("inv-1", "Bob@Example.COM"), in("inv-2", "eve@example.org")}, now)
			}},
		{name: "by a regular member (MEM-5)", given: withMembers(), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) {
				return a.Invite("bob", "en", []account.Invitee{in("inv-1", "x@example.com")}, now)
			}},
		{name: "rules MEM-1, X-7: an address with white space around it", given: withMembers(), err: account.ErrInvalidInvitation,
			when: func(a account.Account) ([]any, error) {
				return a.Invite("ada", "en", []account.Invitee{in("inv-1", " bob@example.com")}, now)
			}},
		{name: "rules MEM-1, X-7: a look-alike address with a zero-width space", given: withMembers(), err: account.ErrInvalidInvitation,
			when: func(a account.Account) ([]any, error) {
				return a.Invite("ada", "en", []account.Invitee{in("inv-1", "bob\u200b@example.com")}, now)
			}},
		{name: "not an address", given: withMembers(), err: account.ErrInvalidInvitation,
			when: func(a account.Account) ([]any, error) {
				return a.Invite("ada", "en", []account.Invitee{in("inv-1", "x@example.com"), in("inv-2", "Eve <eve@example.org>")}, now)
			}},
		{name: "bad language", given: withMembers(), err: account.ErrInvalidInvitation,
			when: func(a account.Account) ([]any, error) {
				return a.Invite("ada", "german", []account.Invitee{in("inv-1", "x@example.com")}, now)
			}},
		{name: "nobody", given: withMembers(), err: account.ErrInvalidInvitation,
			when: func(a account.Account) ([]any, error) { return a.Invite("ada", "en", nil, now) }},
		{name: "an address twice", given: withMembers(), err: account.ErrInvalidInvitation,
			when: func(a account.Account) ([]any, error) {
				return a.Invite("ada", "en", []account.Invitee{in("inv-1", "x@example.com"), in("inv-2", "X@example.com")}, now)
			}},
	})
	many := make([]account.Invitee, account.MaxInvitees+1)
	for i := range many {
		many[i] = in(string(rune('a'+i%26))+string(rune('a'+i/26)), string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com")
	}
	if _, err := given(withMembers()...).Invite("ada", "en", many, now); !errors.Is(err, account.ErrInvalidInvitation) {
		t.Errorf("%d addresses: err = %v", len(many), err)
	}
}

// Rule MEM-4: the link works once, with its own token, within 14 days,
// unless revoked, and only for the owner of the invited, verified
// address; the person joins as a regular member.
func TestAccept_MEM4(t *testing.T) {
	t.Parallel()
	pending := append(withMembers(), invited("inv-1", "dan@example.com"))
	expires := invited("inv-1", "").ExpiresAt
	cases := []struct {
		name  string
		given []any
		token string
		at    time.Time
		want  error
		// joiner is who accepts; default dan with the invited, verified address.
		joiner *account.Joiner
	}{
		{"on time", pending, "s3cret-link-token", expires.Add(-time.Second), nil, nil},
		{"a wrong token", pending, "guess", t0, account.ErrNoInvitation, nil},
		{"after 14 days", pending, "s3cret-link-token", expires, account.ErrInvitationExpired, nil},
		{"twice", append(pending, account.MemberJoined{PersonID: "dan", InvitationID: "inv-1"}), "s3cret-link-token", t0, account.ErrInvitationUsed, nil},
		{"revoked", append(pending, account.InvitationRevoked{InvitationID: "inv-1", By: "ada"}), "s3cret-link-token", t0, account.ErrInvitationUsed, nil},
		{"never issued", withMembers(), "s3cret-link-token", t0, account.ErrNoInvitation, nil},
		{"by the holder of a forwarded link, with another address", pending, "s3cret-link-token", t0, account.ErrInvitationAddress,
			&account.Joiner{PersonID: "dan", Email: "eve@example.com", Verified: true}},
		{"by the address's owner before they verified it", pending, "s3cret-link-token", t0, account.ErrInvitationAddress,
			&account.Joiner{PersonID: "dan", Email: "dan@example.com"}},
	}
	for _, c := range cases {
		joiner := account.Joiner{PersonID: "dan", Email: "dan@example.com", Verified: true}
		if c.joiner != nil {
			joiner = *c.joiner
		}
		got, err := given(c.given...).Accept("inv-1", c.token, joiner, c.at)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && !reflect.DeepEqual(got, []any{account.MemberJoined{PersonID: "dan", InvitationID: "inv-1"}}) {
			t.Errorf("%s: decided %#v", c.name, got)
		}
	}
	if _, err := given(append(pending[:len(pending):len(pending)], invited("inv-2", "bob@example.com"))...).Accept("inv-2", "s3cret-link-token",
		account.Joiner{PersonID: "bob", Email: "bob@example.com", Verified: true}, t0); !errors.Is(err, account.ErrAlreadyMember) {
		t.Errorf("a member accepts: err = %v", err)
	}
	a := given(append(pending, account.MemberJoined{PersonID: "dan", InvitationID: "inv-1"})...)
	if m, _ := a.Member("dan"); m.Role != account.RoleMember {
		t.Errorf("joined as %s, want a regular member", m.Role)
	}
	if inv, _ := a.Invitation("inv-1"); inv.State != account.StateAccepted {
		t.Errorf("invitation is %s after joining", inv.State)
	}
}

// Rule MEM-4: admins revoke pending invitations, and nothing else.
func TestRevokeInvitation_MEM4(t *testing.T) {
	t.Parallel()
	pending := append(withMembers(), invited("inv-1", "dan@example.com"))
	run(t, []tc{
		{name: "pending", given: pending, then: []any{account.InvitationRevoked{InvitationID: "inv-1", By: "cyd"}},
			when: func(a account.Account) ([]any, error) { return a.RevokeInvitation("cyd", "inv-1") }},
		{name: "by a member", given: pending, err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.RevokeInvitation("bob", "inv-1") }},
		{name: "accepted", given: append(pending, account.MemberJoined{PersonID: "dan", InvitationID: "inv-1"}), err: account.ErrInvitationUsed,
			when: func(a account.Account) ([]any, error) { return a.RevokeInvitation("ada", "inv-1") }},
		{name: "unknown", given: pending, err: account.ErrNoInvitation,
			when: func(a account.Account) ([]any, error) { return a.RevokeInvitation("ada", "inv-9") }},
	})
}

// Rules MEM-5, MEM-8, X-5: the one policy, for every kind of actor.
func TestAuthorize_policy_MEM5_MEM8_X5(t *testing.T) {
	t.Parallel()
	a := given(append(withMembers(), account.MemberBlocked{PersonID: "cyd", By: "ada"})...)
	person := func(id string) event.Actor { return event.Actor{Kind: event.ActorPerson, ID: id} }
	cases := []struct {
		actor        event.Actor
		view, manage bool
	}{
		{person("ada"), true, true},
		{person("bob"), true, false},
		{person("cyd"), false, false},
		{person("eve"), false, false},
		{event.Actor{Kind: event.ActorBackOffice, ID: "support"}, true, false},
		{event.Actor{Kind: event.ActorInstallation, ID: "ada"}, false, false},
		{event.Actor{Kind: event.ActorProcess, ID: "ada"}, false, false},
	}
	for _, c := range cases {
		for action, want := range map[account.Action]bool{account.ActionView: c.view, account.ActionManage: c.manage} {
			err := a.Authorize(c.actor, action)
			if (err == nil) != want || (err != nil && !errors.Is(err, account.ErrForbidden)) {
				t.Errorf("%s %s: err = %v, want allowed=%v", c.actor, action, err, want)
			}
		}
	}
	var missing account.Account
	if missing.Authorize(event.Actor{Kind: event.ActorBackOffice, ID: "support"}, account.ActionView) == nil {
		t.Error("the back office sees an account that does not exist")
	}
}

// Rule MEM-2: every person has a personal account, with themselves as its
// only admin; it cannot be left, shared or given a company profile.
func TestPersonal_account_MEM2(t *testing.T) {
	t.Parallel()
	p := account.Personal("ada")
	if !p.Exists() || !p.IsPersonal() || p.ID() != account.PersonalID("ada") {
		t.Fatalf("personal account = %+v", p)
	}
	if owner, ok := account.PersonalOwner(p.ID()); !ok || owner != "ada" {
		t.Fatalf("PersonalOwner = %q, %v", owner, ok)
	}
	if err := p.CanManage("ada"); err != nil {
		t.Errorf("the owner cannot manage: %v", err)
	}
	if err := p.CanView("bob"); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("another person sees it: %v", err)
	}
	if _, err := p.Leave("ada"); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("leave: %v", err)
	}
	if _, err := p.Invite("ada", "en", []account.Invitee{{InvitationID: "i", Email: "b@example.com", TokenHash: linkHash}}, t0); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("invite: %v", err)
	}
	if _, err := p.ChangeProfile("ada", acme); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("profile: %v", err)
	}
	if _, err := (account.Account{}).Create(account.PersonalID("bob"), "bob", "SC", acme); err == nil {
		t.Error("a business account was created under a personal ID")
	}
}
