package projections

import (
	"context"
	"testing"

	"seatledger/domain/event"
	"seatledger/domain/events"
)

// spyTx fails the test on any statement: a projection given an event it
// says it ignores must not touch its tables.
type spyTx struct {
	t     *testing.T
	event string
}

func (s spyTx) Exec(context.Context, string, ...any) error {
	s.t.Errorf("applying %s, which its prefixes exclude, ran a statement", s.event)
	return nil
}

func (s spyTx) QueryRow(context.Context, string, ...any) Row {
	s.t.Errorf("applying %s, which its prefixes exclude, ran a query", s.event)
	return nil
}

func (s spyTx) Query(context.Context, string, ...any) (Rows, error) {
	s.t.Errorf("applying %s, which its prefixes exclude, ran a query", s.event)
	return nil, nil
}

type noScheduler struct{ t *testing.T }

func (n noScheduler) Schedule(context.Context, Tx, Timer) error {
	n.t.Error("a timer was scheduled for an excluded event")
	return nil
}

func (n noScheduler) Cancel(context.Context, Tx, string) error {
	n.t.Error("a timer was cancelled for an excluded event")
	return nil
}

// A Selective projection's prefixes name every event it reacts to: the
// runtime passes over the others without calling it, so one it left out
// would be lost silently. Every registered event its prefixes exclude
// must leave it untouched.
func TestSelective_projections_ignore_what_their_prefixes_exclude(t *testing.T) {
	names := events.Registry().Names()
	for _, p := range All(noScheduler{t}) {
		sel, ok := p.(Selective)
		if !ok {
			continue
		}
		for _, name := range names {
			if Handles(sel.Prefixes(), name) {
				continue
			}
			rec := event.Record{Position: 1, StreamID: "x-1", Version: 1, Type: name, SchemaVersion: 1, Data: []byte(`{}`)}
			if err := p.Apply(context.Background(), spyTx{t: t, event: name}, rec); err != nil {
				t.Errorf("%s: applying %s: %v", p.Name(), name, err)
			}
		}
	}
}
