package account_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
)

var (
	t0   = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	acme = account.Company{Name: "Acme GmbH", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"}
)

// given folds events into an account, one day apart.
func given(events ...any) account.Account {
	var a account.Account
	for i, e := range events {
		a = a.Evolve(e, t0.AddDate(0, 0, i))
	}
	return a
}

// created is an account whose first admin is "ada".
func created() []any {
	return []any{account.Created{AccountID: "acc-1", Company: acme, SupportCode: "SC-1", CreatorID: "ada"}}
}

// withMembers adds "bob" (member) and "cyd" (admin) to created().
func withMembers() []any {
	return append(created(),
		account.MemberJoined{PersonID: "bob"},
		account.MemberJoined{PersonID: "cyd"},
		account.RoleChanged{PersonID: "cyd", Role: account.RoleAdmin, By: "ada"},
	)
}

type decision func(account.Account) ([]any, error)

type tc struct {
	name  string
	given []any
	when  decision
	then  []any // the events decided, when err is nil
	err   error
}

func run(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := given(c.given...)
			got, err := c.when(before)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				if got != nil {
					t.Fatalf("decided %v alongside an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("decided %#v, want %#v", got, c.then)
			}
			if !reflect.DeepEqual(before, given(c.given...)) {
				t.Fatal("deciding changed the account")
			}
		})
	}
}

// Rules MEM-3 and KEY-2: a business account is created from company name,
// country, ZIP and phone; its creator is its first admin.
func TestCreate_MEM3(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{name: "the country upper-cased",
			when: func(a account.Account) ([]any, error) {
				return a.Create("acc-1", "ada", "SC-1", account.Company{Name: "Acme GmbH", Country: "de", ZIP: "8200", Phone: "+41 52 672 20 30"})
			},
			then: created()},
		{name: "rule X-7: details are not trimmed but refused", err: account.ErrInvalidCompany,
			when: func(a account.Account) ([]any, error) {
				return a.Create("acc-1", "ada", "SC-1", account.Company{Name: " Acme GmbH ", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"})
			}},
		{name: "rule X-7: a control character or an invisible one in a company field", err: account.ErrInvalidCompany,
			when: func(a account.Account) ([]any, error) {
				return a.Create("acc-1", "ada", "SC-1", account.Company{Name: "Acme\u200bGmbH", City: "Zü\x00rich", Country: "DE", ZIP: "8200", Phone: "1"})
			}},
		{name: "twice", given: created(), err: account.ErrExists,
			when: func(a account.Account) ([]any, error) { return a.Create("acc-1", "ada", "SC-1", acme) }},
		{name: "missing details", err: account.ErrInvalidCompany,
			when: func(a account.Account) ([]any, error) {
				return a.Create("acc-1", "ada", "SC-1", account.Company{Name: "Acme", Country: "Germany"})
			}},
	})
	a := given(created()...)
	if m, ok := a.Member("ada"); !ok || m.Role != account.RoleAdmin || !m.Since.Equal(t0) {
		t.Fatalf("creator = %+v, %v; want an admin since %v", m, ok, t0)
	}
}

func TestCompany_Validate_names_every_problem(t *testing.T) {
	t.Parallel()
	err := account.Company{Country: "Deutschland", Phone: "call me"}.Validate()
	for _, want := range []string{"name is required", "zip is required", "two-letter ISO 3166", "phone may hold only"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, lacks %q", err, want)
		}
	}
	var fields *invalid.Error
	if !errors.As(err, &fields) || !errors.Is(err, account.ErrInvalidCompany) {
		t.Fatalf("%v is not an *invalid.Error of ErrInvalidCompany", err)
	}
	var names []string
	for _, f := range fields.Fields {
		names = append(names, f.Name)
	}
	if want := []string{"company.name", "company.zip", "company.country", "company.phone"}; !reflect.DeepEqual(names, want) {
		t.Errorf("fields %v, want %v", names, want)
	}
}

// Rule MEM-3: admins edit the company's details; members cannot.
func TestChangeProfile_MEM3(t *testing.T) {
	t.Parallel()
	moved := acme
	moved.City = "Schaffhausen"
	run(t, []tc{
		{name: "admin", given: withMembers(), then: []any{account.ProfileChanged{Company: moved, By: "cyd"}},
			when: func(a account.Account) ([]any, error) { return a.ChangeProfile("cyd", moved) }},
		{name: "regular member", given: withMembers(), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.ChangeProfile("bob", moved) }},
		{name: "same details", given: withMembers(), err: account.ErrNoChange,
			when: func(a account.Account) ([]any, error) { return a.ChangeProfile("ada", acme) }},
		{name: "invalid details", given: withMembers(), err: account.ErrInvalidCompany,
			when: func(a account.Account) ([]any, error) { return a.ChangeProfile("ada", account.Company{Name: "x"}) }},
	})
}

// Rules MEM-5, MEM-8 and X-5: unblocked members may look, only unblocked
// admins may manage, and nobody outside the account may do either —
// including for an account that does not exist.
func TestAuthorization_MEM5_MEM8_X5(t *testing.T) {
	t.Parallel()
	a := given(append(withMembers(), account.MemberBlocked{PersonID: "cyd", By: "ada"})...)
	cases := []struct {
		person       string
		view, manage bool
	}{
		{"ada", true, true},   // admin
		{"bob", true, false},  // regular member
		{"cyd", false, false}, // blocked admin
		{"eve", false, false}, // admin of another account, or nobody
		{"", false, false},
	}
	for _, c := range cases {
		if got := a.CanView(c.person) == nil; got != c.view {
			t.Errorf("CanView(%q) = %v, want %v", c.person, got, c.view)
		}
		if got := a.CanManage(c.person) == nil; got != c.manage {
			t.Errorf("CanManage(%q) = %v, want %v", c.person, got, c.manage)
		}
		// The event feed (issue 22) is the admins', as managing is.
		actor := event.Actor{Kind: event.ActorPerson, ID: c.person}
		if got := a.Authorize(actor, account.ActionReadEvents) == nil; got != c.manage {
			t.Errorf("Authorize(%q, read_events) = %v, want %v", c.person, got, c.manage)
		}
	}
	office := event.Actor{Kind: event.ActorBackOffice, ID: "support"}
	if a.Authorize(office, account.ActionReadEvents) != nil || a.Authorize(office, account.ActionManage) == nil {
		t.Error("the back office may read an account's event feed, and never manage it")
	}
	var missing account.Account
	if !errors.Is(missing.CanView("ada"), account.ErrForbidden) {
		t.Error("an account that does not exist answers differently from one the person is not in")
	}
}

// Rule MEM-4: people join as regular members.
func TestJoin_MEM4(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{name: "new person", given: created(), then: []any{account.MemberJoined{PersonID: "bob", InvitationID: "inv-1"}},
			when: func(a account.Account) ([]any, error) { return a.Join("bob", "inv-1") }},
		{name: "member already", given: withMembers(), err: account.ErrAlreadyMember,
			when: func(a account.Account) ([]any, error) { return a.Join("bob", "inv-2") }},
		{name: "no account", err: account.ErrNotFound,
			when: func(a account.Account) ([]any, error) { return a.Join("bob", "inv-1") }},
		{name: "removed person is invited again (MEM-8)", given: append(withMembers(), account.MemberRemoved{PersonID: "bob", By: "ada"}),
			then: []any{account.MemberJoined{PersonID: "bob", InvitationID: "inv-3"}},
			when: func(a account.Account) ([]any, error) { return a.Join("bob", "inv-3") }},
	})
	a := given(append(created(), account.MemberJoined{PersonID: "bob"})...)
	if m, _ := a.Member("bob"); m.Role != account.RoleMember {
		t.Fatalf("joined as %s", m.Role)
	}
}

// Rules MEM-7 and MEM-9: admins promote and demote with a note; the last
// admin cannot be demoted; the change shows in the very next decision.
func TestChangeRole_MEM7_MEM9(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{name: "promote with a note", given: withMembers(),
			then: []any{account.RoleChanged{PersonID: "bob", Role: account.RoleAdmin, Note: "runs IT now", By: "ada"}},
			when: func(a account.Account) ([]any, error) {
				return a.ChangeRole("ada", "bob", account.RoleAdmin, "runs IT now")
			}},
		{name: "demote another admin", given: withMembers(),
			then: []any{account.RoleChanged{PersonID: "cyd", Role: account.RoleMember, By: "ada"}},
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("ada", "cyd", account.RoleMember, "") }},
		{name: "demote the last admin", given: created(), err: account.ErrLastAdmin,
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("ada", "ada", account.RoleMember, "") }},
		{name: "demote the last unblocked admin", given: append(withMembers(), account.MemberBlocked{PersonID: "cyd", By: "ada"}),
			err:  account.ErrLastAdmin,
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("ada", "ada", account.RoleMember, "") }},
		{name: "by a regular member", given: withMembers(), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("bob", "bob", account.RoleAdmin, "") }},
		{name: "of a stranger", given: withMembers(), err: account.ErrNotMember,
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("ada", "eve", account.RoleAdmin, "") }},
		{name: "to the same role", given: withMembers(), err: account.ErrNoChange,
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("ada", "cyd", account.RoleAdmin, "") }},
		{name: "rule X-7: no role (a null body once answered 500)", given: withMembers(), err: account.ErrInvalid,
			when: func(a account.Account) ([]any, error) { return a.ChangeRole("ada", "bob", account.Role{}, "") }},
		{name: "rule X-7: a note with a NUL", given: withMembers(), err: account.ErrInvalid,
			when: func(a account.Account) ([]any, error) {
				return a.ChangeRole("ada", "bob", account.RoleAdmin, "runs\x00IT")
			}},
		{name: "rule X-7: a note keeps its line breaks", given: withMembers(),
			then: []any{account.RoleChanged{PersonID: "bob", Role: account.RoleAdmin, Note: "runs IT\nfrom May", By: "ada"}},
			when: func(a account.Account) ([]any, error) {
				return a.ChangeRole("ada", "bob", account.RoleAdmin, "runs IT\nfrom May")
			}},
	})
	// MEM-7: a demoted admin loses management at once.
	a := given(append(withMembers(), account.RoleChanged{PersonID: "cyd", Role: account.RoleMember, By: "ada"})...)
	if !errors.Is(a.CanManage("cyd"), account.ErrForbidden) {
		t.Fatal("a demoted admin can still manage")
	}
}

// Rules MEM-8 and MEM-9: block, unblock and remove; never the last admin,
// never oneself.
func TestBlockUnblockRemove_MEM8_MEM9(t *testing.T) {
	t.Parallel()
	blocked := append(withMembers(), account.MemberBlocked{PersonID: "bob", By: "ada"})
	run(t, []tc{
		{name: "block a member", given: withMembers(), then: []any{account.MemberBlocked{PersonID: "bob", By: "ada"}},
			when: func(a account.Account) ([]any, error) { return a.Block("ada", "bob") }},
		{name: "block twice", given: blocked, err: account.ErrNoChange,
			when: func(a account.Account) ([]any, error) { return a.Block("ada", "bob") }},
		{name: "unblock", given: blocked, then: []any{account.MemberUnblocked{PersonID: "bob", By: "cyd"}},
			when: func(a account.Account) ([]any, error) { return a.Unblock("cyd", "bob") }},
		{name: "unblock one not blocked", given: withMembers(), err: account.ErrNoChange,
			when: func(a account.Account) ([]any, error) { return a.Unblock("ada", "bob") }},
		{name: "blocked admin cannot act", given: append(withMembers(), account.MemberBlocked{PersonID: "cyd", By: "ada"}), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.Block("cyd", "bob") }},
		{name: "block oneself", given: withMembers(), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.Block("ada", "ada") }},
		{name: "block the last other admin leaves one", given: withMembers(), then: []any{account.MemberBlocked{PersonID: "cyd", By: "ada"}},
			when: func(a account.Account) ([]any, error) { return a.Block("ada", "cyd") }},
		{name: "remove a member", given: blocked, then: []any{account.MemberRemoved{PersonID: "bob", By: "ada"}},
			when: func(a account.Account) ([]any, error) { return a.Remove("ada", "bob") }},
		{name: "remove a stranger", given: withMembers(), err: account.ErrNotMember,
			when: func(a account.Account) ([]any, error) { return a.Remove("ada", "eve") }},
		{name: "member removes", given: withMembers(), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.Remove("bob", "cyd") }},
	})
	a := given(blocked...)
	if !errors.Is(a.CanView("bob"), account.ErrForbidden) {
		t.Fatal("a blocked member still has access")
	}
	if m, ok := a.Member("bob"); !ok || !m.Blocked {
		t.Fatal("a blocked member lost the membership")
	}
}

// Rule MEM-9: members leave; the last admin cannot until another exists.
func TestLeave_MEM9(t *testing.T) {
	t.Parallel()
	run(t, []tc{
		{name: "member leaves", given: withMembers(), then: []any{account.MemberLeft{PersonID: "bob"}},
			when: func(a account.Account) ([]any, error) { return a.Leave("bob") }},
		{name: "admin leaves while another admin exists", given: withMembers(), then: []any{account.MemberLeft{PersonID: "ada"}},
			when: func(a account.Account) ([]any, error) { return a.Leave("ada") }},
		{name: "last admin", given: append(created(), account.MemberJoined{PersonID: "bob"}), err: account.ErrLastAdmin,
			when: func(a account.Account) ([]any, error) { return a.Leave("ada") }},
		{name: "stranger", given: withMembers(), err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.Leave("eve") }},
		{name: "no such account (X-5: answered like a stranger)", err: account.ErrForbidden,
			when: func(a account.Account) ([]any, error) { return a.Leave("eve") }},
	})
}

// Every event round-trips through the registry under its stable name.
func TestEvents_round_trip_through_the_registry(t *testing.T) {
	t.Parallel()
	reg := event.NewRegistry()
	account.Register(reg)
	for name, payload := range map[string]any{
		account.TypeCreated:     created()[0],
		account.TypeRoleChanged: account.RoleChanged{PersonID: "bob", Role: account.RoleAdmin, Note: "n", By: "ada"},
		account.TypeMemberLeft:  account.MemberLeft{PersonID: "bob"},
	} {
		data, version, err := reg.Encode(name, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := reg.Decode(event.Record{StreamID: account.StreamID("acc-1"), Type: name, SchemaVersion: version, Data: data})
		if err != nil || !reflect.DeepEqual(got, payload) {
			t.Fatalf("%s: round trip gave %#v, %v", name, got, err)
		}
	}
}

// The offline switch records why the back office turned it (ACT-3, issue
// 23): a reason is required, bounded free text, checked even when
// the switch is already where it is asked to be.
func TestSetOfflineActivation_ACT3_requires_a_reason(t *testing.T) {
	run(t, []tc{
		{name: "a reason is recorded", given: created(),
			when: func(a account.Account) ([]any, error) {
				return a.SetOfflineActivation(true, "staff:s1", "air-gapped site, ticket T-1")
			},
			then: []any{account.OfflineActivationSet{Enabled: true, By: "staff:s1", Reason: "air-gapped site, ticket T-1"}}},
		{name: "no reason", given: created(), err: account.ErrInvalid,
			when: func(a account.Account) ([]any, error) { return a.SetOfflineActivation(true, "staff:s1", "") }},
		{name: "a blank reason", given: created(), err: account.ErrInvalid,
			when: func(a account.Account) ([]any, error) { return a.SetOfflineActivation(true, "staff:s1", " \n\t") }},
		{name: "a reason too long", given: created(), err: account.ErrInvalid,
			when: func(a account.Account) ([]any, error) {
				return a.SetOfflineActivation(true, "staff:s1", strings.Repeat("x", account.MaxSwitchReason+1))
			}},
		{name: "a control character", given: created(), err: account.ErrInvalid,
			when: func(a account.Account) ([]any, error) { return a.SetOfflineActivation(true, "staff:s1", "why\x00") }},
		{name: "already on: nothing, but the reason is still checked", given: append(created(), account.OfflineActivationSet{Enabled: true}),
			err: account.ErrInvalid, when: func(a account.Account) ([]any, error) { return a.SetOfflineActivation(true, "staff:s1", "") }},
		{name: "already on: nothing recorded", given: append(created(), account.OfflineActivationSet{Enabled: true}),
			when: func(a account.Account) ([]any, error) { return a.SetOfflineActivation(true, "staff:s1", "again") }},
	})
}
