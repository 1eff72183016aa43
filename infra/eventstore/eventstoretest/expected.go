package eventstoretest

import (
	"context"
	"errors"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

// ExpectingStore is a store whose backend is an eventstore.ExpectingBackend,
// with the count of the batches it committed without a read first.
type ExpectingStore struct {
	eventstore.Store
	Expected func() int64
}

// RunWithoutReadFirst checks issue 21's commit without a read first, and
// rules across it. open returns a new store on one database
// shared by every store it opens, as processes would open it. While a
// store is the log's only writer it commits a batch without reading the
// streams' heads once it knows them; when another process appended
// meanwhile, or an append is a retry of a stored one, nothing is written
// as decided: the batch is decided again under the append lock, with the
// conflict, the gap-free positions and the retry's first answer intact.
func RunWithoutReadFirst(t *testing.T, open func() ExpectingStore) {
	t.Helper()
	ctx := context.Background()
	a, b := open(), open()
	mustAppend(t, a, "s", event.NoStream(), NewEvent("test.1", 1))
	mustAppend(t, a, "s", event.Exact(1), NewEvent("test.2", 2))
	mustAppend(t, a, "s", event.Exact(2), NewEvent("test.3", 3))
	if n := a.Expected(); n != 2 {
		t.Fatalf("%d batches committed without a read first, want 2: the stream's head was known after the first", n)
	}

	// Another process appends: a's knowledge is stale, and its next batch,
	// decided on it, must not be written as decided.
	mustAppend(t, b, "s", event.Exact(3), NewEvent("test.4", 4))
	_, err := a.Append(ctx, "s", event.Exact(3), NewEvent("test.5", 5))
	wantConflict(t, err, "s", 4)
	var ce *event.ConflictError
	errors.As(err, &ce) // found by wantConflict
	if v, ok := ce.Expected.Version(); !ok || v != 3 {
		t.Fatalf("conflict = %+v, want expected version 3", ce)
	}
	if res := mustAppend(t, a, "s", event.Exact(4), NewEvent("test.6", 6)); res.FirstVersion != 5 || res.Position != 5 {
		t.Fatalf("after the conflict: %+v, want version 5 at position 5", res)
	}

	// A retry of a stored append, on a store that would commit it without
	// reading: answered with its first result, not stored twice.
	c := open()
	mustAppend(t, c, "r", event.NoStream(), NewEvent("test.r1", 7))
	retried := NewEvent("test.r2", 8)
	first := mustAppend(t, c, "r", event.Any(), retried)
	if n := c.Expected(); n != 1 {
		t.Fatalf("store c committed %d batches without a read first, want 1", n)
	}
	if again := mustAppend(t, c, "r", event.Any(), retried); again.FirstVersion != first.FirstVersion || again.Position != first.Position {
		t.Fatalf("retry answered %+v, want the first answer %+v", again, first)
	}
	recs, err := c.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.Position != uint64(i+1) {
			t.Fatalf("position %d at index %d: the log has a gap or a duplicate", r.Position, i)
		}
	}
	if len(recs) != 7 {
		t.Fatalf("%d events in the log, want 7 (the retry stored once)", len(recs))
	}
}
