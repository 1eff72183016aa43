package licensekey_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/licensekey"
)

// storedSnapshot is k's snapshot as a snapshot store hands it back: as
// JSON, decoded again.
func storedSnapshot(t *testing.T, k licensekey.Key) licensekey.Snapshot {
	t.Helper()
	b, err := json.Marshal(k.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s licensekey.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// storedEvents returns evs as the event store hands them back: encoded
// under their registered names and decoded again. They must hold every
// event type of the key stream, so that a new event is snapshotted too.
func storedEvents(t *testing.T, evs []any) []any {
	t.Helper()
	reg := event.NewRegistry()
	licensekey.Register(reg)
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

// recordedAt is when the ledger recorded the nth event of a key's stream
// in these tests: an hour apart, in UTC as the event stores give it.
func recordedAt(n int) time.Time {
	return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
}

// foldFrom folds evs into k, the first as the stream's event number from.
func foldFrom(k licensekey.Key, evs []any, from int) licensekey.Key {
	for i, e := range evs {
		k = k.EvolveAt(e, recordedAt(from+i))
	}
	return k
}

// Rule X-2: the state as of any past point can be read back. A snapshot of
// the key after any prefix of its history, stored as JSON and restored, is
// exactly the key after that prefix, and folds on through the rest of the
// history (each event at its own record time) to exactly the key of the
// whole history.
func TestSnapshot_restores_every_prefix_X2(t *testing.T) {
	t.Parallel()
	evs := storedEvents(t, []any{issued,
		licensekey.Bound{InstallationID: "i-1"},
		licensekey.Released{InstallationID: "i-2", Reason: "portal"}, // not the bound one: changes nothing
		licensekey.Released{InstallationID: "i-1", Reason: "portal"},
		licensekey.Bound{InstallationID: "i-2", Change: true, Changes: 1},
		licensekey.Released{InstallationID: "i-2", Reason: "installation"},
		licensekey.Bound{InstallationID: "i-2", Changes: 1}, // the last one again: no change (KEY-8)
	})
	whole := foldFrom(licensekey.Key{}, evs, 0)
	for k := range len(evs) + 1 {
		then := foldFrom(licensekey.Key{}, evs[:k], 0)
		got := licensekey.FromSnapshot(storedSnapshot(t, then))
		if !reflect.DeepEqual(got, then) {
			t.Fatalf("restored after %d of %d events: %#v, want %#v", k, len(evs), got, then)
		}
		if got = foldFrom(got, evs[k:], k); !reflect.DeepEqual(got, whole) {
			t.Fatalf("restored after %d of %d events and folded on: %#v, want %#v", k, len(evs), got, whole)
		}
	}
}

// Rule X-2: the key before its first event, the one every fold starts
// from, survives its snapshot.
func TestSnapshot_of_nothing_yet_X2(t *testing.T) {
	t.Parallel()
	if got := licensekey.FromSnapshot(storedSnapshot(t, licensekey.Key{})); !reflect.DeepEqual(got, licensekey.Key{}) {
		t.Fatalf("restored %#v, want the zero key", got)
	}
}

// A snapshot holds every field of the key: one added to the aggregate
// without its snapshot fails here.
func TestSnapshot_holds_every_field(t *testing.T) {
	t.Parallel()
	if a, s := reflect.TypeFor[licensekey.Key]().NumField(), reflect.TypeFor[licensekey.Snapshot]().NumField(); a != s {
		t.Errorf("the key has %d fields, its snapshot %d: snapshot the new ones", a, s)
	}
}
