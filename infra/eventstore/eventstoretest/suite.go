// Package eventstoretest is the contract suite every event-store backend
// passes. A backend's test calls Run with a factory for empty stores.
package eventstoretest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

// Factory returns an empty store whose recorded times come from clk. The
// factory registers the store's cleanup with t.
type Factory func(t *testing.T, clk clock.Clock) eventstore.Store

// Options tune the suite to a backend's documented differences.
type Options struct {
	// ContiguousPositions says that global positions run 1, 2, 3 … with no
	// holes (true for the SQL backends, false for KurrentDB's commit
	// positions).
	ContiguousPositions bool
}

// Start is the simulated time every suite store begins at.
var Start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Run runs the contract against stores made by newStore.
func Run(t *testing.T, newStore Factory, opts Options) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s eventstore.Store, clk *clock.Simulated, opts Options)
	}{
		{"append_and_read_round_trip", testRoundTrip},
		{"expected_version_no_stream", testExpectNoStream},
		{"expected_version_exact", testExpectExact},
		{"expected_version_any", testExpectAny},
		{"idempotent_append_by_event_id", testIdempotent},
		{"event_id_reused_elsewhere_is_refused", testDuplicateID},
		{"invalid_input_is_refused_and_writes_nothing", testInvalid},
		{"read_stream_from_version", testReadStreamFrom},
		{"read_all_from_position", testReadAll},
		{"subscribe_catches_up_then_follows_live", testSubscribe},
		{"concurrent_appends_keep_their_own_outcome", testConcurrentOutcomes},
		{"hash_chain_verifies", testHashChain},
		{"read_stream_as_of_position_and_time", testAsOf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewSimulated(Start)
			tc.fn(t, newStore(t, clk), clk, opts)
		})
	}
}

// Actor is the actor the suite's events carry.
var Actor = event.Actor{Kind: event.ActorProcess, ID: "contract-suite"}

// NewEvent returns a valid proposed event with a fresh ID and payload {"n": n}.
func NewEvent(typ string, n int) event.Proposed {
	return event.Proposed{
		ID: uuid.NewString(), Type: typ, SchemaVersion: 1,
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: event.Metadata{Actor: Actor, Command: "Test", CorrelationID: "corr-1"},
	}
}

func events(n int) []event.Proposed {
	out := make([]event.Proposed, n)
	for i := range out {
		out[i] = NewEvent("test.happened", i+1)
	}
	return out
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp event.ExpectedVersion, evs ...event.Proposed) event.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func readStream(t *testing.T, s eventstore.Store, stream string) []event.Record {
	t.Helper()
	recs, err := s.ReadStream(context.Background(), stream, 1, 10000)
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	return recs
}

func head(t *testing.T, s eventstore.Store) uint64 {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

// rule X-1: every event keeps who (actor), why (command, correlation and
// causation IDs) and when (effective and recorded time).
func testRoundTrip(t *testing.T, s eventstore.Store, clk *clock.Simulated, opts Options) {
	eff := time.Date(2026, 2, 27, 13, 14, 15, 123456000, time.UTC)
	e1 := NewEvent("subscription.purchased", 1)
	e1.Data = json.RawMessage(`{"seats": 10, "b":"x",  "a":[1,2]}`) // stored byte for byte
	e1.Metadata = event.Metadata{
		Actor: event.Actor{Kind: event.ActorBackOffice, ID: "orders"}, Command: "Purchase",
		CorrelationID: "c-1", CausationID: "cause-1", EffectiveAt: eff,
	}
	e2 := NewEvent("subscription.renamed", 2)
	res := mustAppend(t, s, "subscription-1", event.NoStream(), e1, e2)
	if res.StreamID != "subscription-1" || res.FirstVersion != 1 || res.LastVersion != 2 || res.Position == 0 {
		t.Fatalf("result = %+v", res)
	}
	recs := readStream(t, s, "subscription-1")
	if len(recs) != 2 {
		t.Fatalf("read %d events, want 2", len(recs))
	}
	r := recs[0]
	if r.ID != e1.ID || r.Type != e1.Type || r.SchemaVersion != 1 || string(r.Data) != string(e1.Data) {
		t.Errorf("event 1 = %+v", r)
	}
	if r.Metadata.Actor != e1.Metadata.Actor || r.Metadata.Command != "Purchase" || r.Metadata.CorrelationID != "c-1" ||
		r.Metadata.CausationID != "cause-1" || !r.Metadata.EffectiveAt.Equal(eff) {
		t.Errorf("metadata = %+v", r.Metadata)
	}
	if !r.RecordedAt.Equal(Start) {
		t.Errorf("recorded at %v, want the clock's %v", r.RecordedAt, Start)
	}
	if !recs[1].Effective().Equal(recs[1].RecordedAt) {
		t.Errorf("an event without effective time is effective when recorded")
	}
	if r.Version != 1 || recs[1].Version != 2 || recs[1].Position != res.Position || r.Position >= recs[1].Position {
		t.Errorf("versions/positions = %d@%d, %d@%d; result %+v", r.Version, r.Position, recs[1].Version, recs[1].Position, res)
	}
	if opts.ContiguousPositions && (r.Position != 1 || recs[1].Position != 2) {
		t.Errorf("positions %d, %d on an empty log, want 1, 2", r.Position, recs[1].Position)
	}
	if len(r.Hash) != event.HashSize {
		t.Errorf("hash has %d bytes", len(r.Hash))
	}
	if h := head(t, s); h != res.Position {
		t.Errorf("head = %d, want %d", h, res.Position)
	}
	if recs := readStream(t, s, "no-such-stream"); len(recs) != 0 {
		t.Errorf("unknown stream has %d events", len(recs))
	}
}

func wantConflict(t *testing.T, err error, stream string, actual uint64) {
	t.Helper()
	var ce *event.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, event.ErrConflict) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if ce.StreamID != stream || ce.Actual != actual {
		t.Fatalf("conflict = %+v, want stream %s actual %d", ce, stream, actual)
	}
}

func testExpectNoStream(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	mustAppend(t, s, "key-1", event.NoStream(), events(2)...)
	_, err := s.Append(context.Background(), "key-1", event.NoStream(), events(1)...)
	wantConflict(t, err, "key-1", 2)
	if n := len(readStream(t, s, "key-1")); n != 2 {
		t.Fatalf("stream has %d events after a refused append", n)
	}
}

func testExpectExact(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	res := mustAppend(t, s, "key-2", event.NoStream(), events(3)...)
	_, err := s.Append(context.Background(), "key-2", event.Exact(2), events(1)...)
	wantConflict(t, err, "key-2", 3)
	var ce *event.ConflictError
	errors.As(err, &ce)
	if v, ok := ce.Expected.Version(); !ok || v != 2 {
		t.Errorf("conflict names expected %s, want 2", ce.Expected)
	}
	_, err = s.Append(context.Background(), "key-absent", event.Exact(1), events(1)...)
	wantConflict(t, err, "key-absent", 0)
	res2 := mustAppend(t, s, "key-2", event.Exact(res.LastVersion), events(2)...)
	if res2.FirstVersion != 4 || res2.LastVersion != 5 {
		t.Fatalf("result = %+v", res2)
	}
	if n := len(readStream(t, s, "key-absent")); n != 0 {
		t.Fatalf("a refused append created a stream with %d events", n)
	}
}

func testExpectAny(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	mustAppend(t, s, "any-1", event.Any(), events(1)...)
	res := mustAppend(t, s, "any-1", event.Any(), events(2)...)
	if res.FirstVersion != 2 || res.LastVersion != 3 {
		t.Fatalf("result = %+v", res)
	}
}

func testIdempotent(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	evs := events(3)
	first := mustAppend(t, s, "order-1", event.NoStream(), evs...)
	mustAppend(t, s, "other", event.NoStream(), events(1)...)
	h := head(t, s)
	// A retry after a lost answer: same IDs, same expected version.
	again, err := s.Append(context.Background(), "order-1", event.NoStream(), evs...)
	if err != nil {
		t.Fatalf("retried append: %v", err)
	}
	first.RecordedAt = time.Time{} // a retry need not know when the original was recorded
	if again.RecordedAt = (time.Time{}); again != first {
		t.Fatalf("retry returned %+v, want the original %+v", again, first)
	}
	if got := head(t, s); got != h {
		t.Fatalf("retry moved the head from %d to %d", h, got)
	}
	if n := len(readStream(t, s, "order-1")); n != 3 {
		t.Fatalf("stream has %d events after a retry", n)
	}
	// Concurrent retries of one fresh append: exactly one write.
	fresh := events(2)
	var wg sync.WaitGroup
	results := make([]event.AppendResult, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Append(context.Background(), "order-2", event.NoStream(), fresh...)
		}()
	}
	wg.Wait()
	for i := range results {
		results[i].RecordedAt = time.Time{} // known to the one that wrote only
	}
	for i := range results {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("concurrent retry %d: %+v, %v; first %+v", i, results[i], errs[i], results[0])
		}
	}
	if n := len(readStream(t, s, "order-2")); n != 2 {
		t.Fatalf("concurrent retries wrote %d events, want 2", n)
	}
}

func testDuplicateID(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	evs := events(2)
	mustAppend(t, s, "dup-1", event.NoStream(), evs...)
	h := head(t, s)
	if _, err := s.Append(context.Background(), "dup-2", event.Any(), evs[0]); !errors.Is(err, event.ErrDuplicateID) {
		t.Errorf("same ID in another stream: err = %v", err)
	}
	if _, err := s.Append(context.Background(), "dup-1", event.Any(), evs[1], NewEvent("x", 1)); !errors.Is(err, event.ErrDuplicateID) {
		t.Errorf("partly reused IDs: err = %v", err)
	}
	if got := head(t, s); got != h {
		t.Fatalf("refused appends moved the head from %d to %d", h, got)
	}
}

func testInvalid(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	bad := func(mut func(*event.Proposed)) event.Proposed {
		e := NewEvent("test.ok", 1)
		mut(&e)
		return e
	}
	cases := map[string]struct {
		stream string
		evs    []event.Proposed
	}{
		"empty stream":    {"", events(1)},
		"no events":       {"s", nil},
		"reserved stream": {"$all", events(1)},
		"bad id":          {"s", []event.Proposed{bad(func(e *event.Proposed) { e.ID = "not-a-uuid" })}},
		"no type":         {"s", []event.Proposed{bad(func(e *event.Proposed) { e.Type = "" })}},
		"bad json":        {"s", []event.Proposed{bad(func(e *event.Proposed) { e.Data = json.RawMessage(`{"n":`) })}},
		"no schema":       {"s", []event.Proposed{bad(func(e *event.Proposed) { e.SchemaVersion = 0 })}},
		"no actor":        {"s", []event.Proposed{bad(func(e *event.Proposed) { e.Metadata.Actor = event.Actor{} })}},
		"id twice in one": {"s", func() []event.Proposed { e := NewEvent("t", 1); return []event.Proposed{e, e} }()},
		"one bad of two":  {"s", []event.Proposed{NewEvent("t", 1), bad(func(e *event.Proposed) { e.Data = nil })}},
		// rule X-7: a NUL no read model on PostgreSQL could store
		"NUL in the payload": {"s", []event.Proposed{bad(func(e *event.Proposed) { e.Data = json.RawMessage(`{"order_id":"sw-11\u0000"}`) })}},
		"NUL in the stream":  {"s\x00", events(1)},
		"invalid stream":     {"s\xc0\xaf", events(1)},
	}
	for name, c := range cases {
		if _, err := s.Append(context.Background(), c.stream, event.Any(), c.evs...); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if h := head(t, s); h != 0 {
		t.Fatalf("invalid appends wrote; head = %d", h)
	}
	// A payload that only spells a backslash before "u0000" holds no NUL.
	mustAppend(t, s, "s", event.NoStream(), bad(func(e *event.Proposed) { e.Data = json.RawMessage(`{"path":"C:\\\\u0000"}`) }))
	// rule X-7: a name no append accepts names no stream; reading it finds
	// nothing rather than failing the database's query.
	for _, stream := range []string{"s\x00", "s\xc0\xaf", "\xff", strings.Repeat("s", eventstore.MaxStreamIDLength+1)} {
		if recs, err := s.ReadStream(context.Background(), stream, 1, 10); err != nil || len(recs) != 0 {
			t.Errorf("reading stream %q: %d events, %v", stream, len(recs), err)
		}
	}
}

func testReadStreamFrom(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	mustAppend(t, s, "long", event.NoStream(), events(10)...)
	recs, err := s.ReadStream(context.Background(), "long", 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Version != 4 || recs[2].Version != 6 {
		t.Fatalf("read from 4 limit 3: %d events starting %v", len(recs), recs)
	}
	recs, _ = s.ReadStream(context.Background(), "long", 11, 5)
	if len(recs) != 0 {
		t.Fatalf("read past the end returned %d events", len(recs))
	}
}

func testReadAll(t *testing.T, s eventstore.Store, _ *clock.Simulated, opts Options) {
	var want []string
	for i := range 5 {
		stream := fmt.Sprintf("all-%d", i%2)
		e := NewEvent("test.all", i)
		want = append(want, e.ID)
		mustAppend(t, s, stream, event.Any(), e)
	}
	all, err := s.ReadAll(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("read all: %d events", len(all))
	}
	for i, r := range all {
		if r.ID != want[i] {
			t.Fatalf("event %d is %s, want %s (append order)", i, r.ID, want[i])
		}
		if i > 0 && r.Position <= all[i-1].Position {
			t.Fatalf("positions not increasing: %d after %d", r.Position, all[i-1].Position)
		}
		if opts.ContiguousPositions && r.Position != uint64(i+1) {
			t.Fatalf("position %d at index %d", r.Position, i)
		}
	}
	rest, _ := s.ReadAll(context.Background(), all[1].Position, 2)
	if len(rest) != 2 || rest[0].ID != want[2] || rest[1].ID != want[3] {
		t.Fatalf("read after %d limit 2 = %v", all[1].Position, rest)
	}
}

func testSubscribe(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	for i := range 5 {
		mustAppend(t, s, "sub", event.Any(), NewEvent("test.sub", i))
	}
	all, _ := s.ReadAll(context.Background(), 0, 100)
	checkpoint := all[1].Position
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan event.Record, 100)
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, checkpoint, func(r event.Record) error {
			got <- r
			return nil
		})
	}()
	expect := func(id string) {
		t.Helper()
		select {
		case r := <-got:
			if r.ID != id {
				t.Fatalf("subscription delivered %s (position %d), want %s", r.ID, r.Position, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("subscription did not deliver %s", id)
		}
	}
	for _, r := range all[2:] {
		expect(r.ID)
	}
	for i := range 3 {
		e := NewEvent("test.live", i)
		mustAppend(t, s, fmt.Sprintf("live-%d", i), event.NoStream(), e)
		expect(e.ID)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("subscription ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not stop when its context ended")
	}
	// A failing handler stops the subscription with its error.
	boom := errors.New("boom")
	if err := s.Subscribe(context.Background(), 0, func(event.Record) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing handler: subscription returned %v", err)
	}
}

func testConcurrentOutcomes(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	const writers = 32
	mustAppend(t, s, "contended", event.NoStream(), events(1)...)
	var wg sync.WaitGroup
	contendedWins := make([]bool, writers)
	distinctErrs := make([]error, writers)
	for i := range writers {
		wg.Add(2)
		go func() { // every writer races for version 2 of one stream
			defer wg.Done()
			_, err := s.Append(context.Background(), "contended", event.Exact(1), NewEvent("test.race", i))
			if err != nil && !errors.Is(err, event.ErrConflict) {
				t.Errorf("contended append %d: %v", i, err)
			}
			contendedWins[i] = err == nil
		}()
		go func() { // while its neighbours append to streams of their own
			defer wg.Done()
			_, distinctErrs[i] = s.Append(context.Background(), fmt.Sprintf("own-%d", i), event.NoStream(), NewEvent("test.own", i))
		}()
	}
	wg.Wait()
	wins := 0
	for i := range writers {
		if contendedWins[i] {
			wins++
		}
		if distinctErrs[i] != nil {
			t.Errorf("append to own stream %d failed beside a conflict: %v", i, distinctErrs[i])
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won version 2, want exactly 1", wins)
	}
	if n := len(readStream(t, s, "contended")); n != 2 {
		t.Fatalf("contended stream has %d events", n)
	}
}

func testHashChain(t *testing.T, s eventstore.Store, _ *clock.Simulated, _ Options) {
	for range 3 {
		mustAppend(t, s, "chain", event.Any(), events(2)...)
	}
	n, err := eventstore.VerifyStream(context.Background(), s, "chain")
	if err != nil || n != 6 {
		t.Fatalf("verify = %d, %v", n, err)
	}
	recs := readStream(t, s, "chain")
	var prev []byte
	for _, r := range recs {
		if want := event.ChainHash(prev, r); string(want) != string(r.Hash) {
			t.Fatalf("version %d: stored hash does not chain", r.Version)
		}
		prev = r.Hash
	}
	// The verifier names an altered event.
	recs[3].Data = json.RawMessage(`{"n":999}`)
	v := event.NewChainVerifier("chain")
	var firstErr error
	for _, r := range recs {
		if err := v.Next(r); err != nil {
			firstErr = err
			break
		}
	}
	var ce *event.ChainError
	if !errors.As(firstErr, &ce) || ce.Version != 4 {
		t.Fatalf("altered event: %v", firstErr)
	}
}

// rule X-2: a stream can be read as it was at any past position or time.
func testAsOf(t *testing.T, s eventstore.Store, clk *clock.Simulated, _ Options) {
	var results []event.AppendResult
	for range 4 {
		results = append(results, mustAppend(t, s, "asof", event.Any(), events(1)...))
		mustAppend(t, s, "noise", event.Any(), events(1)...)
		if _, err := clk.Advance(24 * time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := eventstore.ReadStreamAsOf(context.Background(), s, "asof", eventstore.AsOf{Position: results[1].Position})
	if err != nil || len(recs) != 2 {
		t.Fatalf("as of position %d: %d events, %v", results[1].Position, len(recs), err)
	}
	recs, err = eventstore.ReadStreamAsOf(context.Background(), s, "asof", eventstore.AsOf{RecordedAt: Start.Add(50 * time.Hour)})
	if err != nil || len(recs) != 3 {
		t.Fatalf("as of 50h: %d events, %v", len(recs), err)
	}
	for i, r := range recs {
		if want := Start.Add(time.Duration(i) * 24 * time.Hour); !r.RecordedAt.Equal(want) {
			t.Fatalf("event %d recorded %v, want %v", i, r.RecordedAt, want)
		}
	}
	recs, _ = eventstore.ReadStreamAsOf(context.Background(), s, "asof", eventstore.AsOf{RecordedAt: Start.Add(-time.Hour)})
	if len(recs) != 0 {
		t.Fatalf("as of before the stream existed: %d events", len(recs))
	}
}
