package subscription_test

import (
	"errors"
	"testing"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/subscription"
)

// Rules MEM-6, MEM-5, MEM-8, X-5: license administrators manage their key
// (and the sublicenses under a primary they administer) and nothing else.
func TestAuthorize_license_administrators_MEM6(t *testing.T) {
	t.Parallel()
	var acct account.Account
	for i, e := range []any{
		account.Created{AccountID: "acc-1", CreatorID: "ada", SupportCode: "S", Company: account.Company{Name: "A", Country: "DE", ZIP: "1", Phone: "1"}},
		account.MemberJoined{PersonID: "bob"}, account.MemberJoined{PersonID: "cyd"}, account.MemberJoined{PersonID: "dan"},
		account.MemberBlocked{PersonID: "dan", By: "ada"},
	} {
		acct = acct.Evolve(e, t0.AddDate(0, 0, i))
	}
	key := subscription.SealedKey{KeyID: "k-1", Lookup: []byte("l"), Sealed: []byte("s")}
	s := given(registered(t)...)
	evs, _ := s.CreateSublicense(key, subscription.Sublicense{Name: "Lab", Quota: 2}, "ada", t0)
	s = s.Clone().Evolve(evs[0])
	for _, e := range []subscription.AdministratorGranted{{KeyID: "k-1", PersonID: "bob"}, {KeyID: s.PrimaryKey().ID, PersonID: "cyd"}, {KeyID: "k-1", PersonID: "dan"}} {
		s = s.Clone().Evolve(e)
	}
	person := func(id string) event.Actor { return event.Actor{Kind: event.ActorPerson, ID: id} }
	pk := s.PrimaryKey().ID
	cases := []struct {
		who    string
		action subscription.Action
		key    string
		ok     bool
	}{
		{"ada", subscription.ActionManage, "", true},
		{"ada", subscription.ActionManageKey, pk, true},
		{"bob", subscription.ActionView, "", true},
		{"bob", subscription.ActionManage, "", false},
		{"bob", subscription.ActionManageKey, "k-1", true},  // his key
		{"bob", subscription.ActionManageKey, pk, false},    // not his
		{"cyd", subscription.ActionManageKey, pk, true},     // the primary's administrator …
		{"cyd", subscription.ActionManageKey, "k-1", true},  // … manages the sublicenses under it
		{"dan", subscription.ActionManageKey, "k-1", false}, // blocked (MEM-8)
		{"eve", subscription.ActionView, "", false},         // stranger
	}
	for _, c := range cases {
		err := s.Authorize(person(c.who), acct, c.action, c.key)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, account.ErrForbidden)) {
			t.Errorf("%s %s %s: err = %v, want allowed=%v", c.who, c.action, c.key, err, c.ok)
		}
	}
	var other account.Account
	other = other.Evolve(account.Created{AccountID: "acc-2", CreatorID: "eve", SupportCode: "S", Company: account.Company{Name: "B", Country: "DE", ZIP: "1", Phone: "1"}}, t0)
	if err := s.Authorize(person("eve"), other, subscription.ActionView, ""); !errors.Is(err, account.ErrForbidden) {
		t.Errorf("another account's admin sees the subscription: %v", err)
	}
}
