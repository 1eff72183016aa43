package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
)

// Issue 21, rules: while a store is the file's only writer it
// commits a batch without reading the streams' heads first (the log head
// and the inline checkpoints are checked under the write lock instead),
// and when another process appended meanwhile, or an append is a retry of
// a stored one, nothing is written as decided: the batch is decided again
// under the lock, with the conflict, the gap-free positions and the
// retry's first answer intact.
func TestAppend_without_a_read_first_while_the_only_writer_X4_X8(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	open := func() *Store {
		db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := sqldb.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, db, Config{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	appendOK := func(s *Store, stream string, expected event.ExpectedVersion, e event.Proposed) event.AppendResult {
		t.Helper()
		res, err := s.Append(ctx, stream, expected, e)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := open(), open()
	appendOK(a, "s", event.NoStream(), eventstoretest.NewEvent("test.1", 1))
	appendOK(a, "s", event.Exact(1), eventstoretest.NewEvent("test.2", 2))
	appendOK(a, "s", event.Exact(2), eventstoretest.NewEvent("test.3", 3))
	if n := a.batches.expected.Load(); n != 2 {
		t.Fatalf("%d batches committed without a read first, want 2: the stream's head was known after the first", n)
	}

	// Another process appends: a's knowledge is stale, and its next batch,
	// decided on it, must not be written as decided.
	appendOK(b, "s", event.Exact(3), eventstoretest.NewEvent("test.4", 4))
	_, err := a.Append(ctx, "s", event.Exact(3), eventstoretest.NewEvent("test.5", 5))
	var ce *event.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 4 {
		t.Fatalf("append on a stale head: %v, want a conflict at version 4", err)
	}
	if res := appendOK(a, "s", event.Exact(4), eventstoretest.NewEvent("test.6", 6)); res.FirstVersion != 5 || res.Position != 5 {
		t.Fatalf("after the conflict: %+v, want version 5 at position 5", res)
	}

	// A retry of a stored append, on a store that would commit it without
	// reading: answered with its first result, not stored twice.
	c := open()
	appendOK(c, "r", event.NoStream(), eventstoretest.NewEvent("test.r1", 7))
	retried := eventstoretest.NewEvent("test.r2", 8)
	first := appendOK(c, "r", event.Any(), retried)
	if n := c.batches.expected.Load(); n != 1 {
		t.Fatalf("store c committed %d batches without a read first, want 1", n)
	}
	if again := appendOK(c, "r", event.Any(), retried); again.FirstVersion != first.FirstVersion || again.Position != first.Position {
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
