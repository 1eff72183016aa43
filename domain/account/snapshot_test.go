package account_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
)

// storedSnapshot is a's snapshot as a snapshot store hands it back: as
// JSON, decoded again.
func storedSnapshot(t *testing.T, a account.Account) account.Snapshot {
	t.Helper()
	b, err := json.Marshal(a.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s account.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// storedEvents returns evs as the event store hands them back: encoded
// under their registered names and decoded again. They must hold every
// event type the account stream registers, so that a new event is
// snapshotted too.
func storedEvents(t *testing.T, evs []any) []any {
	t.Helper()
	reg := event.NewRegistry()
	account.Register(reg)
	seen := map[string]bool{}
	out := make([]any, 0, len(evs))
	for _, e := range evs {
		name, ok := reg.NameOf(e)
		if !ok {
			t.Fatalf("%T is not a registered event", e)
		}
		data, version, err := reg.Encode(name, e)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := reg.Decode(event.Record{Type: name, SchemaVersion: version, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		out = append(out, decoded)
	}
	for _, name := range reg.Names() {
		if !seen[name] {
			t.Errorf("the history has no %s event", name)
		}
	}
	return out
}

// Rule X-2: the state as of any past point can be read back. A snapshot of
// the account after any prefix of its history, stored as JSON and
// restored, is exactly the account after that prefix, and folds on
// through the rest of the history (each event at its own time, as given
// folds them) to exactly the account of the whole history.
func TestSnapshot_restores_every_prefix_X2(t *testing.T) {
	t.Parallel()
	evs := storedEvents(t, append(withMembers(),
		invited("inv-1", "dan@example.com"), invited("inv-2", "eve@example.com"), invited("inv-3", "fay@example.com"),
		account.MemberJoined{PersonID: "dan", InvitationID: "inv-1"},
		account.InvitationRevoked{InvitationID: "inv-2", By: "ada"},
		account.MemberBlocked{PersonID: "bob", By: "ada"},
		account.ProfileChanged{Company: account.Company{Name: "Acme AG", City: "Zürich", Country: "CH", ZIP: "8000", Phone: "+41 44 000 00 00"}, By: "ada"},
		account.OfflineActivationSet{Enabled: true, By: "back-office"},
		account.MemberUnblocked{PersonID: "bob", By: "ada"},
		account.RoleChanged{PersonID: "bob", Role: account.RoleAdmin, By: "ada"},
		account.MemberRemoved{PersonID: "bob", By: "ada"},
		account.MemberLeft{PersonID: "cyd"},
		account.OfflineActivationSet{Enabled: false, By: "back-office"}))
	whole := given(evs...)
	for k := range len(evs) + 1 {
		then := given(evs[:k]...)
		got := account.FromSnapshot(storedSnapshot(t, then))
		if !reflect.DeepEqual(got, then) {
			t.Fatalf("restored after %d of %d events:\n%#v\nwant\n%#v", k, len(evs), got, then)
		}
		for n, e := range evs[k:] {
			got = got.Evolve(e, t0.AddDate(0, 0, k+n))
		}
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("restored after %d of %d events and folded on:\n%#v\nwant\n%#v", k, len(evs), got, whole)
		}
	}
}

// Rule X-2: the accounts every fold starts from — nothing yet, or a
// personal account with its owner as its admin (MEM-2) — survive their
// snapshots.
func TestSnapshot_of_the_seeds_X2_MEM2(t *testing.T) {
	t.Parallel()
	for _, seed := range []account.Account{{}, account.Personal("ada")} {
		if got := account.FromSnapshot(storedSnapshot(t, seed)); !reflect.DeepEqual(got, seed) {
			t.Errorf("restored %#v, want %#v", got, seed)
		}
	}
}

// A snapshot holds every field of the account, its members and its
// invitations: one added to them without their snapshots fails here.
func TestSnapshot_holds_every_field(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ aggregate, snapshot reflect.Type }{
		{reflect.TypeFor[account.Account](), reflect.TypeFor[account.Snapshot]()},
		{reflect.TypeFor[account.Member](), reflect.TypeFor[account.MemberSnapshot]()},
		{reflect.TypeFor[account.Invitation](), reflect.TypeFor[account.InvitationSnapshot]()},
	} {
		if a, s := c.aggregate.NumField(), c.snapshot.NumField(); a != s {
			t.Errorf("%s has %d fields, %s %d: snapshot the new ones", c.aggregate, a, c.snapshot, s)
		}
	}
}

// A snapshot shares nothing with the account it was taken of, nor a
// restored account with its snapshot: changing one leaves the other.
func TestSnapshot_shares_nothing(t *testing.T) {
	t.Parallel()
	// Each call builds new events, so that a snapshot sharing a token hash
	// with the events cannot change the account to compare with.
	fold := func() account.Account {
		inv := invited("inv-1", "dan@example.com")
		inv.TokenHash = person.HashToken("link")
		return given(append(withMembers(), inv)...)
	}
	a := fold()
	scribble := func(s account.Snapshot) {
		s.Members["bob"] = account.MemberSnapshot{PersonID: "bob", Role: "admin"}
		s.Members["eve"] = account.MemberSnapshot{PersonID: "eve"}
		inv := s.Invitations["inv-1"]
		inv.TokenHash[0]++
		inv.State = "revoked"
		s.Invitations["inv-1"] = inv
	}
	scribble(a.Snapshot())
	if !reflect.DeepEqual(a, fold()) {
		t.Fatal("changing a snapshot changed the account")
	}
	s := a.Snapshot()
	restored := account.FromSnapshot(s)
	scribble(s)
	if !reflect.DeepEqual(restored, a) {
		t.Fatal("changing a snapshot changed the account restored from it")
	}
}
