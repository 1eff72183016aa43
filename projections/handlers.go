package projections

import (
	"context"
	"fmt"
	"slices"

	"seatledger/domain/event"
	"seatledger/domain/events"
)

// registry knows every event the projections read.
var registry = events.Registry()

// A projection reacts to events through a table of typed handlers, one
// per event type (the models: watermill's cqrs.NewEventHandler[T], goes'
// event.ApplyWith):
//
//	var licensesTable = newTable("licenses",
//		on(Licenses.purchased),  // func(Licenses, ctx, Tx, event.Record, subscription.Purchased) error
//		on(Licenses.seatsAdded),
//		…)
//
// Each handler is a method of the projection taking the event's payload
// as its own type, and the record it came in (stream, times, ID). The
// event types the projection reacts to are derived from the table — the
// registered name of each handler's payload type — so nothing else lists
// them: the runtime passes over the other events without a transaction
// (Selective), and a handler added to the table is delivered its events.

// handler is one entry of a table: an event type and its handler, which
// takes the decoded payload.
type handler[P any] struct {
	typ   string
	apply func(p P, ctx context.Context, tx Tx, rec event.Record, payload any) error
}

// on returns the table entry of fn, for the events whose payload is a T:
// the type T is registered under. A T that is not a registered event is a
// programming error, and on panics when the table is built, at start-up.
func on[P, T any](fn func(p P, ctx context.Context, tx Tx, rec event.Record, e T) error) handler[P] {
	var zero T
	name, ok := registry.NameOf(zero)
	if !ok {
		panic(fmt.Sprintf("projections: %T is not a registered event", zero))
	}
	return handler[P]{typ: name, apply: func(p P, ctx context.Context, tx Tx, rec event.Record, payload any) error {
		return fn(p, ctx, tx, rec, payload.(T))
	}}
}

// table is a projection's handlers by event type.
type table[P any] struct {
	name  string
	byTyp map[string]func(p P, ctx context.Context, tx Tx, rec event.Record, payload any) error
	types []string // sorted
}

// newTable returns the table of projection name's handlers. Two handlers
// of one event type are a programming error: it panics.
func newTable[P any](name string, handlers ...handler[P]) *table[P] {
	t := &table[P]{name: name, byTyp: make(map[string]func(P, context.Context, Tx, event.Record, any) error, len(handlers))}
	for _, h := range handlers {
		if _, dup := t.byTyp[h.typ]; dup {
			panic(fmt.Sprintf("projections: %s handles %s twice", name, h.typ))
		}
		t.byTyp[h.typ] = h.apply
		t.types = append(t.types, h.typ)
	}
	slices.Sort(t.types)
	return t
}

// apply decodes rec and hands it to its handler, if the table has one
// (other events are ignored without being decoded). An error names the
// projection and the event.
func (t *table[P]) apply(p P, ctx context.Context, tx Tx, rec event.Record) error {
	fn, ok := t.byTyp[rec.Type]
	if !ok {
		return nil
	}
	payload, err := registry.Decode(rec)
	if err == nil {
		err = fn(p, ctx, tx, rec, payload)
	}
	if err != nil {
		return fmt.Errorf("%s: %s at position %d: %w", t.name, rec.Type, rec.Position, err)
	}
	return nil
}

// eventTypes returns the event types the table handles, sorted.
func (t *table[P]) eventTypes() []string { return slices.Clone(t.types) }
