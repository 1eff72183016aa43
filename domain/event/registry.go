package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// Upcaster turns the payload of one schema version into the next one's.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// Registry maps stable event type names to Go types, with upcasters for
// older schema versions. Register everything at start-up; lookups are safe
// for concurrent use afterwards.
type Registry struct {
	mu    sync.RWMutex
	types map[string]registered
	names map[reflect.Type]string
}

type registered struct {
	goType    reflect.Type
	version   int
	upcasters map[int]Upcaster // from version -> to version+1
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]registered{}, names: map[reflect.Type]string{}}
}

// Register binds name to the type of example at schema version version.
// It panics on a duplicate name: that is a programming error found at start-up.
func (r *Registry) Register(name string, version int, example any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[name]; dup {
		panic(fmt.Sprintf("event: type %q registered twice", name))
	}
	t := reflect.TypeOf(example)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if other, dup := r.names[t]; dup {
		panic(fmt.Sprintf("event: %s registered as %q and %q", t, other, name))
	}
	r.types[name] = registered{goType: t, version: version, upcasters: map[int]Upcaster{}}
	r.names[t] = name
}

// NameOf returns the stable name payload's type is registered under.
func (r *Registry) NameOf(payload any) (string, bool) {
	t := reflect.TypeOf(payload)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	name, ok := r.names[t]
	return name, ok
}

// RegisterUpcaster adds the step that turns name's payloads of schema
// version from into version from+1.
func (r *Registry) RegisterUpcaster(name string, from int, up Upcaster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reg, ok := r.types[name]
	if !ok {
		panic(fmt.Sprintf("event: upcaster for unregistered type %q", name))
	}
	reg.upcasters[from] = up
}

// Names returns the name of every registered event, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Known reports whether name is registered.
func (r *Registry) Known(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.types[name]
	return ok
}

// ErrUndecodable is matched by every *DecodeError.
var ErrUndecodable = errors.New("event: cannot decode")

// DecodeError names a stored event that cannot be turned into a domain
// event, and why. It is never skipped silently.
type DecodeError struct {
	StreamID string
	Version  uint64
	Position uint64
	Type     string
	Reason   string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("event: stream %q version %d (position %d), type %q: %s", e.StreamID, e.Version, e.Position, e.Type, e.Reason)
}

// Is makes errors.Is(err, ErrUndecodable) true.
func (e *DecodeError) Is(target error) bool { return target == ErrUndecodable }

// Decode returns rec's payload as a value of its registered Go type (not a
// pointer), upcast to the current schema version.
func (r *Registry) Decode(rec Record) (any, error) {
	fail := func(format string, args ...any) error {
		return &DecodeError{StreamID: rec.StreamID, Version: rec.Version, Position: rec.Position, Type: rec.Type, Reason: fmt.Sprintf(format, args...)}
	}
	r.mu.RLock()
	reg, ok := r.types[rec.Type]
	r.mu.RUnlock()
	if !ok {
		return nil, fail("unknown event type")
	}
	data := rec.Data
	switch {
	case rec.SchemaVersion < 1:
		return nil, fail("schema version %d is not valid", rec.SchemaVersion)
	case rec.SchemaVersion > reg.version:
		return nil, fail("schema version %d is newer than the known %d", rec.SchemaVersion, reg.version)
	}
	for v := rec.SchemaVersion; v < reg.version; v++ {
		up, ok := reg.upcasters[v]
		if !ok {
			return nil, fail("no upcaster from schema version %d", v)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fail("upcast from schema version %d: %v", v, err)
		}
	}
	ptr := reflect.New(reg.goType)
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return nil, fail("corrupt payload: %v", err)
	}
	return ptr.Elem().Interface(), nil
}

// Encode marshals payload for appending as name at its registered version.
func (r *Registry) Encode(name string, payload any) (json.RawMessage, int, error) {
	r.mu.RLock()
	reg, ok := r.types[name]
	r.mu.RUnlock()
	if !ok {
		return nil, 0, fmt.Errorf("event: encode unknown type %q", name)
	}
	if t := reflect.TypeOf(payload); t != reg.goType && !(t.Kind() == reflect.Pointer && t.Elem() == reg.goType) {
		return nil, 0, fmt.Errorf("event: encode %q: got %s, registered %s", name, t, reg.goType)
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, 0, fmt.Errorf("event: encode %q: %w", name, err)
	}
	return data, reg.version, nil
}
