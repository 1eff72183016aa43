package subscription_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"seatledger/domain/event"
	"seatledger/domain/subscription"
)

// storedSnapshot is s's snapshot as a snapshot store hands it back: as
// JSON, decoded again.
func storedSnapshot(t *testing.T, s subscription.Subscription) subscription.Snapshot {
	t.Helper()
	b, err := json.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var sn subscription.Snapshot
	if err := json.Unmarshal(b, &sn); err != nil {
		t.Fatal(err)
	}
	return sn
}

// storedEvents returns evs as the event store hands them back: encoded
// under their registered names and decoded again. Together the histories
// must hold every event type the subscription stream registers, so that
// a new event is snapshotted too.
func storedEvents(t *testing.T, histories ...[]any) [][]any {
	t.Helper()
	reg := event.NewRegistry()
	subscription.Register(reg)
	seen := map[string]bool{}
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
// the state after any prefix of a history, stored as JSON and restored, is
// exactly the state after that prefix, and folds on through the rest of
// the history to exactly the state of the whole history.
func TestSnapshot_restores_every_prefix_X2(t *testing.T) {
	t.Parallel()
	expires, later := t0.AddDate(0, 6, 0), t0.AddDate(0, 9, 0)
	insurance := t0.AddDate(3, 0, 0)
	yearly := append(registered(t),
		subscription.Renamed{Name: "Berlin farms", By: "ada"},
		subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k-1", Lookup: []byte("l1"), Sealed: []byte("s1"), Hint: "AB"},
			Name: "Lab", Quota: 4, ExpiresAt: &expires, By: "ada"},
		subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k-2", Lookup: []byte("l2"), Sealed: []byte("s2"), Hint: "CD"},
			Name: "Office", Quota: 2, By: "ada"},
		subscription.AdministratorGranted{KeyID: "k-1", PersonID: "bob", By: "ada"},
		subscription.AdministratorGranted{KeyID: "k-2", PersonID: "cyd", By: "ada"},
		subscription.SeatsAdded{OrderID: "ord-2", OrderDigest: "d2", Seats: 5},
		subscription.SublicenseChanged{KeyID: "k-1", Quota: 6, ExpiresAt: &later, By: "ada"},
		subscription.SublicenseRenamed{KeyID: "k-1", Name: "Lab 2", By: "ada"},
		subscription.SublicenseGraceStarted{KeyID: "k-1", KeyName: "Lab 2", ExpiresAt: later},
		subscription.SublicenseExpired{KeyID: "k-1", KeyName: "Lab 2", ExpiresAt: later, Quota: 6},
		subscription.ExpiryReminded{End: t0.AddDate(1, 0, 0), DaysLeft: 30, AutoRenew: true},
		subscription.RenewalRequested{RequestID: "req-1", ProductID: "prod-1", Seats: 15, Period: subscription.Year, End: t0.AddDate(1, 0, 0)},
		subscription.AutoRenewSet{On: false, By: "ada"},
		subscription.GraceStarted{End: t0.AddDate(1, 0, 0)},
		subscription.Renewed{OrderID: "ord-3", OrderDigest: "d3", Period: subscription.Year, End: t0.AddDate(2, 0, 0)},
		subscription.AdministratorRevoked{KeyID: "k-1", PersonID: "bob", By: "ada"}, // leaves an empty, not a nil, set
		subscription.SublicenseDeleted{KeyID: "k-2", By: "ada"},
		subscription.GraceStarted{End: t0.AddDate(2, 0, 0)},
		subscription.Expired{End: t0.AddDate(2, 0, 0)},
		subscription.Cancelled{OrderID: "ord-4", OrderDigest: "d4"})
	perpetual := []any{purchased(t, permanent), subscription.Registered{AccountID: "acc-1", By: "ada"},
		subscription.Renewed{OrderID: "ord-ins", OrderDigest: "d-ins", Period: subscription.Years2, InsuranceEnd: &insurance}}
	histories := storedEvents(t, yearly, perpetual)

	for h, evs := range histories {
		whole := given(evs...)
		for k := range len(evs) + 1 {
			then := given(evs[:k]...)
			got := subscription.FromSnapshot(storedSnapshot(t, then))
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

// Rule X-2: the subscription before its first event, the one every fold
// starts from, survives its snapshot.
func TestSnapshot_of_nothing_yet_X2(t *testing.T) {
	t.Parallel()
	if got := subscription.FromSnapshot(storedSnapshot(t, subscription.Subscription{})); !reflect.DeepEqual(got, subscription.Subscription{}) {
		t.Fatalf("restored %#v, want the zero subscription", got)
	}
}

// A snapshot holds every field of the subscription and of its keys: one
// added to the aggregate without its snapshot fails here.
func TestSnapshot_holds_every_field(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ aggregate, snapshot reflect.Type }{
		{reflect.TypeFor[subscription.Subscription](), reflect.TypeFor[subscription.Snapshot]()},
		{reflect.TypeFor[subscription.Key](), reflect.TypeFor[subscription.KeySnapshot]()},
	} {
		if a, s := c.aggregate.NumField(), c.snapshot.NumField(); a != s {
			t.Errorf("%s has %d fields, %s %d: snapshot the new ones", c.aggregate, a, c.snapshot, s)
		}
	}
}

// A snapshot shares nothing with the subscription it was taken of, nor a
// restored subscription with its snapshot: changing one leaves the other.
func TestSnapshot_shares_nothing(t *testing.T) {
	t.Parallel()
	// Each call builds new events, so that a snapshot sharing a slice or
	// pointer with the events cannot change the state to compare with.
	fold := func() subscription.Subscription {
		expires := t0.AddDate(0, 6, 0)
		return given(append(registered(t),
			subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k-1", Lookup: []byte("l1"), Sealed: []byte("s1")},
				Name: "Lab", Quota: 4, ExpiresAt: &expires, By: "ada"},
			subscription.AdministratorGranted{KeyID: "k-1", PersonID: "bob", By: "ada"})...)
	}
	s := fold()
	scribble := func(sn subscription.Snapshot) {
		sn.Orders["ord-x"] = "x"
		k := sn.Keys["k-1"]
		k.Lookup[0], k.Sealed[0] = 'X', 'X'
		*k.ExpiresAt = k.ExpiresAt.AddDate(1, 0, 0)
		k.Administrators["eve"] = true
		sn.Keys["k-x"] = k
	}
	scribble(s.Snapshot())
	if !reflect.DeepEqual(s, fold()) {
		t.Fatal("changing a snapshot changed the subscription")
	}
	sn := s.Snapshot()
	restored := subscription.FromSnapshot(sn)
	scribble(sn)
	if !reflect.DeepEqual(restored, s) {
		t.Fatal("changing a snapshot changed the subscription restored from it")
	}
}
