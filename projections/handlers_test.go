package projections

import (
	"context"
	"errors"
	"slices"
	"testing"

	"seatledger/domain/event"
)

// spyTx fails the test on any statement: a projection given an event it
// does not handle must not touch its tables.
type spyTx struct {
	t     *testing.T
	event string
}

func (s spyTx) Exec(context.Context, string, ...any) error {
	s.t.Errorf("applying %s, which it does not handle, ran a statement", s.event)
	return nil
}

func (s spyTx) QueryRow(context.Context, string, ...any) Row {
	s.t.Errorf("applying %s, which it does not handle, ran a query", s.event)
	return nil
}

func (s spyTx) Query(context.Context, string, ...any) (Rows, error) {
	s.t.Errorf("applying %s, which it does not handle, ran a query", s.event)
	return nil, errors.New("spyTx: no queries")
}

type noScheduler struct{ t *testing.T }

func (n noScheduler) Schedule(context.Context, Tx, Timer) error {
	n.t.Error("a timer was scheduled for an event the projection does not handle")
	return nil
}

func (n noScheduler) Cancel(context.Context, Tx, string) error {
	n.t.Error("a timer was cancelled for an event the projection does not handle")
	return nil
}

// A Selective projection's event types are derived from its handlers, and
// are exactly the events it handles: the runtime passes over every other
// event without calling it, so a type missing from the list would be
// lost silently, and a type listed but not handled would cost a
// transaction for nothing. Every registered event is tried on every
// projection with a payload that cannot be decoded: one of its types is
// handed to a handler (the decoding fails, naming the projection), any
// other is left alone without a statement.
func TestSelective_event_types_are_exactly_those_handled(t *testing.T) {
	names := registry.Names()
	for _, p := range All(noScheduler{t}) {
		sel, ok := p.(Selective)
		if !ok {
			continue
		}
		types := sel.EventTypes()
		if len(types) == 0 || !slices.IsSorted(types) || len(slices.Compact(slices.Clone(types))) != len(types) {
			t.Errorf("%s: event types %v, want some, sorted, each once", p.Name(), types)
		}
		for _, typ := range types {
			if !registry.Known(typ) {
				t.Errorf("%s handles %q, which is not a registered event", p.Name(), typ)
			}
		}
		for _, name := range names {
			rec := event.Record{Position: 1, StreamID: "x-1", Version: 1, Type: name, SchemaVersion: 1, Data: []byte(`not json`)}
			err := p.Apply(context.Background(), spyTx{t: t, event: name}, rec)
			switch handled := slices.Contains(types, name); {
			case handled && !errors.Is(err, event.ErrUndecodable):
				t.Errorf("%s lists %s but did not decode it: %v", p.Name(), name, err)
			case !handled && err != nil:
				t.Errorf("%s does not list %s but applying it failed: %v", p.Name(), name, err)
			}
		}
	}
}

// Every projection the server runs but the log's statistics is
// Selective: the others pass over what they do not handle.
func TestSelective_every_projection_but_the_statistics(t *testing.T) {
	for _, p := range All(noScheduler{t}) {
		if _, ok := p.(Selective); !ok && p.Name() != (StreamStats{}).Name() {
			t.Errorf("%s is not Selective: the runtime gives it every event in a transaction", p.Name())
		}
	}
}

// A table refuses two handlers of one event type and a payload type that
// is not a registered event, when it is built (at start-up).
func TestTable_refuses_duplicates_and_unregistered_types(t *testing.T) {
	mustPanic := func(what string, build func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", what)
			}
		}()
		build()
	}
	mustPanic("a type twice", func() { newTable("twice", on(Tickets.opened), on(Tickets.opened)) })
	type notAnEvent struct{}
	mustPanic("an unregistered type", func() {
		on(func(Tickets, context.Context, Tx, event.Record, notAnEvent) error { return nil })
	})
}
