package queries

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/events"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/person"
	"seatledger/domain/subscription"
)

// statePaths lists the JSON paths of every field of a state of type t as
// the audit's views show it (view: no versions, no secrets), with a map's
// keys as "x1".
func statePaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if prefix != "" {
		*out = append(*out, prefix)
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
	case t.Kind() == reflect.Map:
		statePaths(t.Elem(), join(prefix, "x1"), out)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || name == "version" || secretField(name) {
				continue
			}
			statePaths(f.Type, join(prefix, name), out)
		}
	}
}

// every field of every state the history shows is labelled for
// people or left out of their view on purpose: a field added to an
// aggregate's state fails here until it is given a label (or hidden),
// rather than silently missing from the history.
func TestHistoryLabels_cover_every_field_of_every_state_X1(t *testing.T) {
	t.Parallel()
	states := map[EntityKind]reflect.Type{
		KindSubscription: reflect.TypeFor[subscription.Snapshot](),
		KindKey: reflect.TypeFor[struct {
			Key          subscription.KeySnapshot `json:"key"`
			Subscription subscription.Snapshot    `json:"subscription"`
			Binding      licensekey.Snapshot      `json:"binding"`
		}](),
		KindInstallation: reflect.TypeFor[installation.Snapshot](),
		KindAccount:      reflect.TypeFor[account.Snapshot](),
		KindPerson:       reflect.TypeFor[person.Snapshot](),
	}
	for kind, typ := range states {
		var paths []string
		statePaths(typ, "", &paths)
		if len(paths) < 5 {
			t.Fatalf("%s: only %v", kind, paths)
		}
		for _, p := range paths {
			f, ok := schemas[kind].lookup(p, HistoryNames{})
			if !ok {
				t.Errorf("%s: the field %s has no label (nor is it hidden)", kind, p)
			} else if !f.spec.hidden && (f.spec.label == "" || strings.HasSuffix(f.label, "› ")) {
				t.Errorf("%s: the field %s is labelled %q", kind, p, f.label)
			}
		}
	}
}

// every event of the streams the history reads has a title people
// understand, not its type's name.
func TestEventTitles_cover_every_event_of_the_audited_streams_X1(t *testing.T) {
	t.Parallel()
	n := 0
	for _, name := range events.Registry().Names() {
		for _, prefix := range []string{"subscription.", "license_key.", "installation.", "account.", "person."} {
			if strings.HasPrefix(name, prefix) {
				n++
				if eventTitles[name] == "" {
					t.Errorf("the event %s has no title", name)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d events of the audited streams are registered", n)
	}
}
