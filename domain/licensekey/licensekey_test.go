package licensekey_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"seatledger/domain/licensekey"
)

// Rule KEY-9: a key's stream names the one subscription that issued it.
func TestIssue_KEY9(t *testing.T) {
	t.Parallel()
	evs, err := licensekey.Key{}.Issue("k1", "sub-1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	k := licensekey.Key{}.Evolve(evs[0])
	if k.SubscriptionID() != "sub-1" {
		t.Fatalf("key %+v", k)
	}
	if evs, err := k.Issue("k1", "sub-1"); err != nil || len(evs) != 0 {
		t.Errorf("issuing again to the same subscription: %v %v", evs, err)
	}
	if _, err := k.Issue("k1", "sub-2"); !errors.Is(err, licensekey.ErrTaken) {
		t.Errorf("issuing to another subscription: %v", err)
	}
}

func given(events ...any) licensekey.Key {
	var k licensekey.Key
	for _, e := range events {
		k = k.Evolve(e)
	}
	return k
}

var issued = licensekey.Issued{KeyID: "k1", SubscriptionID: "sub-1"}

// bind decides Bind on k and folds what it decided into k.
func bind(t *testing.T, k licensekey.Key, installation string) (licensekey.Key, []any) {
	t.Helper()
	evs, err := k.Bind(installation)
	if err != nil {
		t.Fatalf("binding %s: %v", installation, err)
	}
	for _, e := range evs {
		k = k.Evolve(e)
	}
	return k, evs
}

// release decides Release on k and folds what it decided into k.
func release(t *testing.T, k licensekey.Key, installation string) licensekey.Key {
	t.Helper()
	evs, err := k.Release(installation, "installation")
	if err != nil || len(evs) != 1 {
		t.Fatalf("releasing %s: %v %v", installation, evs, err)
	}
	return k.Evolve(evs[0])
}

// Rule KEY-8: a key activates one installation at a time; binding,
// re-binding and a second installation, decided on a folded key.
func TestBind_KEY8(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		given []any
		bind  string
		want  []any
		err   error
	}{
		{"KEY-8 a fresh key binds its first installation: no change", []any{issued}, "i1",
			[]any{licensekey.Bound{InstallationID: "i1", Change: false, Changes: 0}}, nil},
		{"KEY-8 re-binding the bound installation records nothing",
			[]any{issued, licensekey.Bound{InstallationID: "i1"}}, "i1", nil, nil},
		{"KEY-8 a second installation while bound is refused",
			[]any{issued, licensekey.Bound{InstallationID: "i1"}}, "i2", nil, licensekey.ErrInUse},
		{"KEY-8 after a release, another installation is change 1",
			[]any{issued, licensekey.Bound{InstallationID: "i1"}, licensekey.Released{InstallationID: "i1"}}, "i2",
			[]any{licensekey.Bound{InstallationID: "i2", Change: true, Changes: 1}}, nil},
		{"KEY-8 after a release, the same installation again is no change",
			[]any{issued, licensekey.Bound{InstallationID: "i1"}, licensekey.Released{InstallationID: "i1"}}, "i1",
			[]any{licensekey.Bound{InstallationID: "i1", Change: false, Changes: 0}}, nil},
		{"KEY-8 a release by another installation leaves the key bound",
			[]any{issued, licensekey.Bound{InstallationID: "i1"}, licensekey.Released{InstallationID: "i9"}}, "i2",
			nil, licensekey.ErrInUse},
		{"KEY-8 an unissued key binds nothing", nil, "i1", nil, licensekey.ErrNotIssued},
	} {
		k := given(c.given...)
		evs, err := k.Bind(c.bind)
		if !errors.Is(err, c.err) || !reflect.DeepEqual(evs, c.want) {
			t.Errorf("%s: %#v %v; want %#v %v", c.name, evs, err, c.want, c.err)
		}
	}
}

// Rule KEY-8: the installation bound to a key can change at most 3 times
// over its life; the first activation is not a change, and re-binding the
// last installation it released is none either.
func TestBind_three_changes_KEY8(t *testing.T) {
	t.Parallel()
	k, evs := bind(t, given(issued), "i0")
	if b := evs[0].(licensekey.Bound); b.Change || b.Changes != 0 || k.Bound() != "i0" || k.Changes() != 0 {
		t.Fatalf("first activation: %+v, key bound to %q with %d changes", b, k.Bound(), k.Changes())
	}
	for n, inst := range []string{"i1", "i2", "i3"} {
		k = release(t, k, k.Bound())
		if k.Bound() != "" {
			t.Fatalf("released, still bound to %q", k.Bound())
		}
		k, evs = bind(t, k, inst)
		want := licensekey.Bound{InstallationID: inst, Change: true, Changes: n + 1}
		if !reflect.DeepEqual(evs, []any{want}) || k.Bound() != inst || k.Changes() != n+1 {
			t.Fatalf("change %d: %#v, key bound to %q with %d changes", n+1, evs, k.Bound(), k.Changes())
		}
	}
	k = release(t, k, "i3")
	// The 4th change is refused, saying how many were used.
	evs, err := k.Bind("i4")
	if !errors.Is(err, licensekey.ErrChangesUsedUp) || evs != nil {
		t.Fatalf("4th change: %v %v", evs, err)
	}
	if !strings.Contains(err.Error(), "3 of 3 changes used") {
		t.Errorf("the refusal says %q", err)
	}
	// The first installation is not the last one released: binding it
	// again is a change, refused too.
	if _, err := k.Bind("i0"); !errors.Is(err, licensekey.ErrChangesUsedUp) {
		t.Errorf("back to the first installation: %v", err)
	}
	// Re-binding the last released installation is not a change.
	k, evs = bind(t, k, "i3")
	if !reflect.DeepEqual(evs, []any{licensekey.Bound{InstallationID: "i3", Change: false, Changes: 3}}) || k.Changes() != 3 {
		t.Errorf("re-binding the last installation: %#v, %d changes", evs, k.Changes())
	}
	// And again, as often as it likes.
	k = release(t, k, "i3")
	if _, evs = bind(t, k, "i3"); evs[0].(licensekey.Bound).Change {
		t.Errorf("re-binding the last installation twice: %#v", evs)
	}
}

// Rule KEY-8: only the bound installation releases the key.
func TestRelease_KEY8(t *testing.T) {
	t.Parallel()
	bound := given(issued, licensekey.Bound{InstallationID: "i1"})
	for _, c := range []struct {
		name string
		k    licensekey.Key
		inst string
		want []any
	}{
		{"KEY-8 the bound installation releases the key", bound, "i1",
			[]any{licensekey.Released{InstallationID: "i1", Reason: "portal"}}},
		{"KEY-8 another installation releases nothing", bound, "i2", nil},
		{"KEY-8 an unbound key releases nothing", given(issued), "i1", nil},
		{"KEY-8 a released key releases nothing again", given(issued, licensekey.Bound{InstallationID: "i1"}, licensekey.Released{InstallationID: "i1"}), "i1", nil},
		{"KEY-8 an unissued key releases nothing", licensekey.Key{}, "i1", nil},
	} {
		evs, err := c.k.Release(c.inst, "portal")
		if err != nil || !reflect.DeepEqual(evs, c.want) {
			t.Errorf("%s: %#v %v; want %#v", c.name, evs, err, c.want)
		}
	}
	if k := bound.Evolve(licensekey.Released{InstallationID: "i2"}); k.Bound() != "i1" {
		t.Errorf("a foreign release unbound the key: %q", k.Bound())
	}
}
