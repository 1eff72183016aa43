package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
)

func proposed(n int) []event.Proposed {
	out := make([]event.Proposed, n)
	for i := range out {
		out[i] = event.Proposed{ID: uuid.NewString(), Type: "t", SchemaVersion: 1, Data: json.RawMessage(`{}`),
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}
	}
	return out
}

func req(stream string, exp event.ExpectedVersion, evs []event.Proposed) *appendRequest {
	return &appendRequest{ctx: context.Background(), stream: stream, expected: exp, events: evs}
}

var now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// Appends coalesced into one batch see each other: later requests decide
// against the versions earlier ones in the same batch produced.
func TestDecideBatch_requests_in_one_batch_see_each_other(t *testing.T) {
	t.Parallel()
	state := LogState{Head: 10, Streams: map[string]StreamHead{"a": {StreamID: "a", Version: 2, Hash: []byte("h")}}}
	dup := proposed(1)
	batch := []*appendRequest{
		req("a", event.Exact(2), proposed(2)), // a: 3, 4
		req("a", event.Exact(2), proposed(1)), // conflicts: a is at 4 now
		req("b", event.NoStream(), dup),       // b: 1
		req("a", event.Exact(4), proposed(1)), // a: 5
		req("b", event.NoStream(), dup),       // retry of the b append in the same batch
		req("c", event.Exact(1), proposed(1)), // conflicts: c does not exist
	}
	replies, records, heads := decideBatch(state, batch, now)
	want := []event.AppendResult{
		{StreamID: "a", FirstVersion: 3, LastVersion: 4, Position: 12, RecordedAt: now},
		{},
		{StreamID: "b", FirstVersion: 1, LastVersion: 1, Position: 13, RecordedAt: now},
		{StreamID: "a", FirstVersion: 5, LastVersion: 5, Position: 14, RecordedAt: now},
		{StreamID: "b", FirstVersion: 1, LastVersion: 1, Position: 13}, // a retry: when is the stored event's
		{},
	}
	for i, r := range replies {
		if r.result != want[i] {
			t.Errorf("request %d: %+v, %v; want %+v", i, r.result, r.err, want[i])
		}
	}
	var ce *event.ConflictError
	if !errors.As(replies[1].err, &ce) || ce.Actual != 4 {
		t.Errorf("request 1: err = %v, want a conflict at actual version 4", replies[1].err)
	}
	if !errors.As(replies[5].err, &ce) || ce.Actual != 0 || ce.StreamID != "c" {
		t.Errorf("request 5: err = %v, want a conflict on absent stream c", replies[5].err)
	}
	if len(records) != 4 {
		t.Fatalf("%d records, want 4", len(records))
	}
	for i, r := range records {
		if r.Position != uint64(11+i) || !r.RecordedAt.Equal(now) {
			t.Errorf("record %d at position %d recorded %v", i, r.Position, r.RecordedAt)
		}
	}
	// Stream a's chain runs on from its stored head across both requests.
	if string(records[0].Hash) != string(event.ChainHash([]byte("h"), records[0])) ||
		string(records[3].Hash) != string(event.ChainHash(records[1].Hash, records[3])) {
		t.Error("hash chain broken across requests of one batch")
	}
	if len(heads) != 2 || heads[0].StreamID != "a" || heads[0].Version != 5 || heads[1].StreamID != "b" || heads[1].Version != 1 {
		t.Errorf("heads = %+v", heads)
	}
}

func TestDecideBatch_recorded_time_never_decreases(t *testing.T) {
	t.Parallel()
	later := now.Add(time.Hour) // e.g. the wall clock stepped back
	_, records, _ := decideBatch(LogState{LastRecordedAt: later}, []*appendRequest{req("a", event.Any(), proposed(1))}, now)
	if !records[0].RecordedAt.Equal(later) {
		t.Fatalf("recorded %v, want %v", records[0].RecordedAt, later)
	}
}

func TestDecideBatch_retry_returns_the_stored_result(t *testing.T) {
	t.Parallel()
	evs := proposed(2)
	state := LogState{Head: 9, Streams: map[string]StreamHead{"a": {StreamID: "a", Version: 5}},
		Stored: map[string]StoredID{evs[0].ID: {"a", 4, 8}, evs[1].ID: {"a", 5, 9}}}
	replies, records, _ := decideBatch(state, []*appendRequest{req("a", event.Exact(3), evs)}, now)
	if replies[0].err != nil || replies[0].result != (event.AppendResult{StreamID: "a", FirstVersion: 4, LastVersion: 5, Position: 9}) || len(records) != 0 {
		t.Fatalf("retry: %+v, %v, %d records", replies[0].result, replies[0].err, len(records))
	}
	// The same IDs in the wrong order are not a retry.
	replies, _, _ = decideBatch(state, []*appendRequest{req("a", event.Any(), []event.Proposed{evs[1], evs[0]})}, now)
	if !errors.Is(replies[0].err, event.ErrDuplicateID) {
		t.Fatalf("reordered IDs: err = %v", replies[0].err)
	}
}
