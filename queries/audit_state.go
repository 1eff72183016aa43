package queries

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/person"
	"seatledger/domain/subscription"
)

// folding is an aggregate being folded, whatever its type.
type folding interface {
	apply(payload any, rec event.Record)
	// state returns the aggregate's Snapshot (its whole state).
	state() any
	snapshot() ([]byte, error)
	restore(snapshotRow) error
	// schema fingerprints the snapshot's Go type, so that snapshots
	// taken by code with another shape are never read back.
	schema() string
}

// aggregateFold folds aggregate A, whose snapshots are S.
type aggregateFold[A, S any] struct {
	agg    A
	evolve func(A, any, event.Record) A
	snap   func(A) S
	from   func(S) A
	shape  string
}

func newFold[A, S any](seed A, evolve func(A, any, event.Record) A, snap func(A) S, from func(S) A) *aggregateFold[A, S] {
	return &aggregateFold[A, S]{agg: seed, evolve: evolve, snap: snap, from: from, shape: schemaOf(reflect.TypeFor[S]())}
}

func (f *aggregateFold[A, S]) apply(payload any, rec event.Record) {
	f.agg = f.evolve(f.agg, payload, rec)
}
func (f *aggregateFold[A, S]) state() any                { return f.snap(f.agg) }
func (f *aggregateFold[A, S]) snapshot() ([]byte, error) { return json.Marshal(f.snap(f.agg)) }
func (f *aggregateFold[A, S]) schema() string            { return f.shape }

func (f *aggregateFold[A, S]) restore(row snapshotRow) error {
	var s S
	if err := json.Unmarshal(row.state, &s); err != nil {
		return err
	}
	f.agg = f.from(s)
	return nil
}

// The folds of the aggregates, evolving each as the write side does
// (the caches of commands.Loader), so that a state as of now is the state
// the write side decides on.

func subscriptionFold() *aggregateFold[subscription.Subscription, subscription.Snapshot] {
	return newFold(subscription.Subscription{},
		func(s subscription.Subscription, p any, _ event.Record) subscription.Subscription { return s.Evolve(p) },
		subscription.Subscription.Snapshot, subscription.FromSnapshot)
}

func keyFold() *aggregateFold[licensekey.Key, licensekey.Snapshot] {
	return newFold(licensekey.Key{},
		func(k licensekey.Key, p any, rec event.Record) licensekey.Key { return k.EvolveAt(p, rec.RecordedAt) },
		licensekey.Key.Snapshot, licensekey.FromSnapshot)
}

func installationFold() *aggregateFold[installation.Installation, installation.Snapshot] {
	return newFold(installation.Installation{},
		func(i installation.Installation, p any, rec event.Record) installation.Installation {
			return i.Evolve(p, rec.Effective())
		},
		installation.Installation.Snapshot, installation.FromSnapshot)
}

// accountFold starts from what the account is before its first event: a
// personal account has its owner as its only admin (MEM-2).
func accountFold(id string) *aggregateFold[account.Account, account.Snapshot] {
	seed := account.Account{}
	if owner, ok := account.PersonalOwner(id); ok {
		seed = account.Personal(owner)
	}
	return newFold(seed,
		func(a account.Account, p any, rec event.Record) account.Account { return a.Evolve(p, rec.Effective()) },
		account.Account.Snapshot, account.FromSnapshot)
}

func personFold() *aggregateFold[person.Person, person.Snapshot] {
	return newFold(person.Person{},
		func(x person.Person, p any, _ event.Record) person.Person { return x.Evolve(p) },
		person.Person.Snapshot, person.FromSnapshot)
}

// schemaOf fingerprints a type: its fields' names, types and tags, all
// the way down.
func schemaOf(t reflect.Type) string {
	var b strings.Builder
	describeType(&b, t, map[reflect.Type]bool{})
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

func describeType(b *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) {
	b.WriteString(t.Kind().String())
	b.WriteString("(" + t.String() + ")")
	if seen[t] {
		return
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		describeType(b, t.Elem(), seen)
	case reflect.Map:
		describeType(b, t.Key(), seen)
		describeType(b, t.Elem(), seen)
	case reflect.Struct:
		b.WriteString("{")
		for i := range t.NumField() {
			f := t.Field(i)
			b.WriteString(f.Name + " " + string(f.Tag) + ":")
			describeType(b, f.Type, seen)
			b.WriteString(";")
		}
		b.WriteString("}")
	}
}

// redactedView shows f's whole state less its secrets.
func redactedView(f folding) func() (any, error) {
	return func() (any, error) { return view(f.state()) }
}

// keyView shows key id: the key as its subscription holds it (name,
// type, quota, expiry, administrators), the subscription it belongs to
// (without its other keys), and the key's binding to an installation.
func keyView(id string, kf *aggregateFold[licensekey.Key, licensekey.Snapshot], sf *aggregateFold[subscription.Subscription, subscription.Snapshot]) (any, error) {
	sub := sf.snap(sf.agg)
	var key any
	if k, ok := sub.Keys[id]; ok {
		key = k
	}
	sub.Keys = nil
	return view(struct {
		Key          any                   `json:"key"`
		Subscription subscription.Snapshot `json:"subscription"`
		Binding      licensekey.Snapshot   `json:"binding"`
	}{key, sub, kf.snap(kf.agg)})
}

// view renders a state for auditors, as a decoded JSON tree: without
// secrets, and without the aggregates' version counters, which every
// event moves (the streams' versions are reported beside the state).
func view(state any) (any, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	dropVersions(v, 0)
	return redact(v), nil
}

// dropVersions deletes the "version" fields of v and of the objects
// directly under it.
func dropVersions(v any, depth int) {
	m, ok := v.(map[string]any)
	if !ok || depth > 1 {
		return
	}
	delete(m, "version")
	for _, sub := range m {
		dropVersions(sub, depth+1)
	}
}

func decodeJSON(b []byte) (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	err := d.Decode(&v)
	return v, err
}

// redactJSON drops secrets from a JSON document: password, token and
// link hashes, and the lookup hash and sealed copy of license keys
// (KEY-9). The log keeps them; an auditor's view never shows them.
func redactJSON(b []byte) json.RawMessage {
	v, err := decodeJSON(b)
	if err != nil {
		return json.RawMessage(b) // stored events are JSON; nothing else reaches here
	}
	out, err := json.Marshal(redact(v))
	if err != nil {
		return json.RawMessage(b)
	}
	return out
}

func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretField(k) {
				delete(x, k)
				continue
			}
			x[k] = redact(val)
		}
	case []any:
		for i := range x {
			x[i] = redact(x[i])
		}
	}
	return v
}

// secretField reports whether a JSON field holds a secret or what
// verifies one.
func secretField(name string) bool {
	n := strings.ToLower(name)
	return n == "lookup" || n == "sealed" || strings.HasSuffix(n, "hash") || strings.HasSuffix(n, "secret")
}

// flatten turns a decoded JSON tree into field path → compact JSON value,
// with object keys and array indexes joined by dots.
func flatten(v any) (map[string]string, error) {
	out := map[string]string{}
	var walk func(path string, v any) error
	walk = func(path string, v any) error {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 && path != "" {
				out[path] = "{}"
			}
			for k, val := range x {
				if err := walk(join(path, k), val); err != nil {
					return err
				}
			}
			return nil
		case []any:
			if len(x) == 0 && path != "" {
				out[path] = "[]"
			}
			for i, val := range x {
				if err := walk(join(path, strconv.Itoa(i)), val); err != nil {
					return err
				}
			}
			return nil
		}
		switch x := v.(type) { // the leaves a decoded tree holds, as JSON
		case json.Number:
			out[path] = string(x)
			return nil
		case bool:
			out[path] = strconv.FormatBool(x)
			return nil
		case nil:
			out[path] = "null"
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out[path] = string(b)
		return nil
	}
	return out, walk("", v)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// diff lists the fields whose values differ between two flattened
// states, by field name.
func diff(before, after map[string]string) []FieldChange {
	var out []FieldChange
	for k, b := range before {
		if a, ok := after[k]; !ok || a != b {
			out = append(out, FieldChange{Field: k, From: json.RawMessage(b), To: rawOrNull(a, ok)})
		}
	}
	for k, a := range after {
		if _, ok := before[k]; !ok {
			out = append(out, FieldChange{Field: k, From: json.RawMessage("null"), To: json.RawMessage(a)})
		}
	}
	slices.SortFunc(out, func(x, y FieldChange) int { return strings.Compare(x.Field, y.Field) })
	if out == nil {
		out = []FieldChange{}
	}
	return out
}

func rawOrNull(v string, ok bool) json.RawMessage {
	if !ok {
		return json.RawMessage("null")
	}
	return json.RawMessage(v)
}

// touches reports whether changes include field or a field under it; an
// empty field matches any event.
func touches(changes []FieldChange, field string) bool {
	if field == "" {
		return true
	}
	for _, c := range changes {
		if c.Field == field || strings.HasPrefix(c.Field, field+".") {
			return true
		}
	}
	return false
}
