package installation_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/usage"
)

// storedSnapshot is i's snapshot as a snapshot store hands it back: as
// JSON, decoded again.
func storedSnapshot(t *testing.T, i installation.Installation) installation.Snapshot {
	t.Helper()
	b, err := json.Marshal(i.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s installation.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// storedEvents returns evs as the event store hands them back: encoded
// under their registered names and decoded again. Together the histories
// must hold every event type of an installation's stream, so that a new
// event is snapshotted too.
func storedEvents(t *testing.T, histories map[string][]any) map[string][]any {
	t.Helper()
	reg := event.NewRegistry()
	installation.Register(reg)
	seen := map[string]bool{}
	out := make(map[string][]any, len(histories))
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
// the installation after any prefix of a history, stored as JSON and
// restored, is exactly the installation after that prefix, and folds on
// through the rest of the history (each event at its own time, a minute
// apart as given folds them) to exactly the installation of the whole
// history.
func TestSnapshot_restores_every_prefix_X2(t *testing.T) {
	t.Parallel()
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	offline := activated(proxyActivation())
	offline.Mode, offline.Nonce, offline.By = installation.Offline, "nonce-1", "ada"
	again := activated(farmActivation()) // a new activation of the same farm (ACT-1)
	again.Generation = 2
	histories := storedEvents(t, map[string][]any{
		"farm": {activated(farmActivation()),
			installation.UsageReported{Seats: 8, ObservedAt: at(1), Current: true, Quota: 10,
				Connections: &usage.Summary{Connections: 1, Users: 1, Hosts: 1, ByType: map[usage.ConnectionType]int{usage.PublishedDesktop: 1}}},
			installation.UsageReported{Seats: 12, ObservedAt: at(2), Current: true, Quota: 10},
			installation.GraceStarted{Seats: 12, Quota: 10, Ends: at(2).Add(installation.GracePeriod)},
			installation.OveruseDetected{Seats: 12, Quota: 10, DeactivateAt: at(70)},
			installation.OveruseCleared{Seats: 9, Quota: 10},
			installation.OveruseDetected{Seats: 13, Quota: 10, DeactivateAt: at(80)},
			installation.Suspended{Seats: 13, Quota: 10},
			installation.Revalidated{Seats: 11, Quota: 10},
			installation.UsageReported{Seats: 3, ObservedAt: at(1), Current: false, Quota: 10}, // older: moves nothing (USE-1)
			installation.Resumed{Seats: 9, Quota: 10},
			installation.NotesSet{Notes: "rack 4", By: "ada"},
			installation.DeactivationRequested{By: "ada"},
			installation.Deactivated{Reason: installation.ByPortal, Mode: installation.Online, By: "ada"},
			installation.ReportRefused{Seats: 4, ObservedAt: at(20), Reason: "deactivated"},
			again,
			installation.UsageReported{Seats: 5, ObservedAt: at(30), Current: true, Quota: 10}},
		"proxy": {offline,
			installation.Refreshed{Mode: installation.Offline, Nonce: "nonce-2", License: proxyLicense, By: "ada"},
			installation.OverLimitStarted{AccountID: "acc-1", Computers: 60, Quota: 50},
			installation.OverLimitAlerted{AccountID: "acc-1", Computers: 61, Quota: 50, Alert: 1},
			installation.OverLimitAlerted{AccountID: "acc-1", Computers: 62, Quota: 50, Alert: 2},
			installation.OverLimitEnded{Computers: 50, Quota: 50},
			installation.Enrolled{Computers: 2, Managed: 52, Quota: 60},
			installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Offline, Nonce: "nonce-3", By: "ada"}},
		"trial": {activated(trialActivation()), installation.Deactivated{Reason: installation.TrialEnded}},
	})

	for name, evs := range histories {
		whole := given(evs...)
		for k := range len(evs) + 1 {
			then := given(evs[:k]...)
			got := installation.FromSnapshot(storedSnapshot(t, then))
			if !reflect.DeepEqual(got, then) {
				t.Fatalf("%s restored after %d of %d events:\n%#v\nwant\n%#v", name, k, len(evs), got, then)
			}
			for n, e := range evs[k:] {
				got = got.Evolve(e, at(k+n))
			}
			if !reflect.DeepEqual(got, whole) {
				t.Fatalf("%s restored after %d of %d events and folded on:\n%#v\nwant\n%#v", name, k, len(evs), got, whole)
			}
		}
	}
}

// Rule X-2: the installation before its first event, the one every fold
// starts from, survives its snapshot.
func TestSnapshot_of_nothing_yet_X2(t *testing.T) {
	t.Parallel()
	if got := installation.FromSnapshot(storedSnapshot(t, installation.Installation{})); !reflect.DeepEqual(got, installation.Installation{}) {
		t.Fatalf("restored %#v, want the zero installation", got)
	}
}

// A snapshot holds every field of the installation: one added to the
// aggregate without its snapshot fails here.
func TestSnapshot_holds_every_field(t *testing.T) {
	t.Parallel()
	if a, s := reflect.TypeFor[installation.Installation]().NumField(), reflect.TypeFor[installation.Snapshot]().NumField(); a != s {
		t.Errorf("the installation has %d fields, its snapshot %d: snapshot the new ones", a, s)
	}
}

// A snapshot shares nothing with the installation it was taken of, nor a
// restored installation with its snapshot: changing one leaves the other.
func TestSnapshot_shares_nothing(t *testing.T) {
	t.Parallel()
	offline := activated(proxyActivation())
	offline.Mode, offline.Nonce = installation.Offline, "nonce-1"
	i := given(offline)
	scribble := func(s installation.Snapshot) { s.Nonces["nonce-2"] = true }
	scribble(i.Snapshot())
	if !reflect.DeepEqual(i, given(offline)) {
		t.Fatal("changing a snapshot changed the installation")
	}
	s := i.Snapshot()
	restored := installation.FromSnapshot(s)
	scribble(s)
	if !reflect.DeepEqual(restored, i) {
		t.Fatal("changing a snapshot changed the installation restored from it")
	}
}
