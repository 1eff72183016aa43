package person_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"seatledger/domain/event"
	"seatledger/domain/person"
)

// storedSnapshot is p's snapshot as a snapshot store hands it back: as
// JSON, decoded again.
func storedSnapshot(t *testing.T, p person.Person) person.Snapshot {
	t.Helper()
	b, err := json.Marshal(p.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s person.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// storedEvents returns evs as the event store hands them back: encoded
// under their registered names and decoded again. Together the histories
// must hold every event type of a person's stream, so that a new event is
// snapshotted too. EmailClaimed is registered here but lives on an
// address's stream, never a person's.
func storedEvents(t *testing.T, histories ...[]any) [][]any {
	t.Helper()
	reg := event.NewRegistry()
	person.Register(reg)
	seen := map[string]bool{person.TypeEmailClaimed: true}
	out := make([][]any, len(histories))
	for h, evs := range histories {
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
			out[h] = append(out[h], decoded)
		}
	}
	for _, name := range reg.Names() {
		if !seen[name] {
			t.Errorf("no history has a %s event", name)
		}
	}
	return out
}

// Rule X-2: the state as of any past point can be read back. A snapshot of
// the person after any prefix of a history, stored as JSON and restored,
// is exactly the person after that prefix, and folds on through the rest
// of the history to exactly the person of the whole history.
func TestSnapshot_restores_every_prefix_X2(t *testing.T) {
	t.Parallel()
	verified := []any{signedUp(),
		person.PasswordResetRequested{ResetID: "r-1", TokenHash: person.HashToken("reset-1"), ExpiresAt: t0.Add(person.VerificationValidity)},
		person.EmailVerified{},
		person.ProfileChanged{FirstName: "Augusta", LastName: "King"},
		person.APITokenIssued{TokenID: "tok-1", Name: "backup", TokenHash: person.HashToken("slt_1")},
		person.APITokenIssued{TokenID: "tok-2", Name: "ci", TokenHash: person.HashToken("slt_2")},
		person.PasswordReset{PasswordHash: "$argon2id$new"},
		person.APITokenRevoked{TokenID: "tok-1"},
		person.PasswordChanged{PasswordHash: "$argon2id$newer"},
		person.PasswordResetRequested{ResetID: "r-2", TokenHash: person.HashToken("reset-2"), ExpiresAt: t0.AddDate(0, 1, 0)}}
	// MEM-4: signed up through an invitation, verified from the start; its
	// last token revoked leaves no tokens, but a map of them.
	invitedPerson := []any{person.SignedUp{PersonID: "bob", FirstName: "Bob", LastName: "B", Email: "bob@example.com",
		PasswordHash: "hash", TermsVersion: "2026-01", VerifiedByInvitation: "inv-1"},
		person.APITokenIssued{TokenID: "tok-1", Name: "ci", TokenHash: person.HashToken("slt_3")},
		person.APITokenRevoked{TokenID: "tok-1"}}

	for h, evs := range storedEvents(t, verified, invitedPerson) {
		whole := given(evs...)
		for k := range len(evs) + 1 {
			then := given(evs[:k]...)
			got := person.FromSnapshot(storedSnapshot(t, then))
			if !reflect.DeepEqual(got, then) {
				t.Fatalf("history %d restored after %d of %d events:\n%#v\nwant\n%#v", h, k, len(evs), got, then)
			}
			for _, e := range evs[k:] {
				got = got.Evolve(e)
			}
			if !reflect.DeepEqual(got, whole) {
				t.Fatalf("history %d restored after %d of %d events and folded on:\n%#v\nwant\n%#v", h, k, len(evs), got, whole)
			}
		}
	}
}

// Rule X-2: the person before sign-up, the one every fold starts from,
// survives its snapshot.
func TestSnapshot_of_nothing_yet_X2(t *testing.T) {
	t.Parallel()
	if got := person.FromSnapshot(storedSnapshot(t, person.Person{})); !reflect.DeepEqual(got, person.Person{}) {
		t.Fatalf("restored %#v, want the zero person", got)
	}
}

// A snapshot holds every field of the person: one added to the aggregate
// without its snapshot fails here.
func TestSnapshot_holds_every_field(t *testing.T) {
	t.Parallel()
	if a, s := reflect.TypeFor[person.Person]().NumField(), reflect.TypeFor[person.Snapshot]().NumField(); a != s {
		t.Errorf("the person has %d fields, its snapshot %d: snapshot the new ones", a, s)
	}
}

// A snapshot shares nothing with the person it was taken of, nor a
// restored person with its snapshot: changing one leaves the other.
func TestSnapshot_shares_nothing(t *testing.T) {
	t.Parallel()
	// Each call builds new events, so that a snapshot sharing a hash with
	// the events cannot change the person to compare with.
	fold := func() person.Person {
		s := signedUp()
		s.VerificationTokenHash = person.HashToken("verify")
		return given(s, person.APITokenIssued{TokenID: "tok-1", Name: "ci", TokenHash: person.HashToken("slt_1")},
			person.PasswordResetRequested{ResetID: "r-1", TokenHash: person.HashToken("reset"), ExpiresAt: t0.AddDate(0, 0, 1)})
	}
	p := fold()
	scribble := func(s person.Snapshot) {
		s.VerifyHash[0]++
		s.ResetHash[0]++
		s.Tokens["tok-1"].TokenHash[0]++
		s.Tokens["tok-2"] = person.APITokenIssued{TokenID: "tok-2"}
	}
	scribble(p.Snapshot())
	if !reflect.DeepEqual(p, fold()) {
		t.Fatal("changing a snapshot changed the person")
	}
	s := p.Snapshot()
	restored := person.FromSnapshot(s)
	scribble(s)
	if !reflect.DeepEqual(restored, p) {
		t.Fatal("changing a snapshot changed the person restored from it")
	}
}
