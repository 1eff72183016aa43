package projection

import (
	"context"
	"errors"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/projections"
)

// setInline makes the named projections of rt the store's inline
// projections (issue 21), as ledgerd does.
func setInline(t *testing.T, store eventstore.Store, rt *Runtime, names ...string) {
	t.Helper()
	s, ok := store.(interface{ SetInline(...eventstore.Inline) })
	if !ok {
		t.Fatalf("%T takes no inline projection", store)
	}
	ps := make([]eventstore.Inline, len(names))
	for i, name := range names {
		p, err := rt.Inline(name)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	s.SetInline(ps...)
	t.Cleanup(func() { s.SetInline() })
}

// An inline projection is applied by the append's own transaction, with
// its checkpoint: with no pipeline running at all, the table equals a fold
// of the log and the checkpoint is at its head as soon as the appends
// return, and a read waiting for the head does not wait.
func TestInline_projection_is_applied_by_the_appends_own_transaction(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rt := newRuntime(t, e.db, e.store, stats)
		setInline(t, e.store, rt, "stream_stats")
		e.append(t, "license.issued", 3)
		head := e.appendMany(t, "seat.added", 150)
		checkStats(t, e.db, e.store, head)
		if cp := checkpointOf(t, rt, "stream_stats"); cp != head {
			t.Errorf("checkpoint %d after the appends, want the head %d", cp, head)
		}
		if err := rt.WaitFor(context.Background(), "stream_stats", head, 0); err != nil {
			t.Errorf("WaitFor the head right after the appends: %v", err)
		}
	})
}

// An inline projection that is behind the log (here: the log was written
// before it existed) is left to its runtime, which applies the log in
// order; once the runtime has caught up, the appends apply it again. No
// event is applied twice or skipped (the counts are a fold of the log).
func TestInline_projection_behind_the_log_is_caught_up_by_its_runtime_first(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		before := e.appendMany(t, "license.issued", 250)
		rt := newRuntime(t, e.db, e.store, stats)
		setInline(t, e.store, rt, "stream_stats")
		behind := e.append(t, "seat.added", 3)
		if cp := checkpointOf(t, rt, "stream_stats"); cp != 0 {
			t.Fatalf("checkpoint %d: an append applied a projection %d events behind", cp, before)
		}
		p := run(t, rt, e.store, 3)
		waitFor(t, rt, "stream_stats", behind)
		p.Stop()
		head := e.append(t, "seat.removed", 2)
		if cp := checkpointOf(t, rt, "stream_stats"); cp != head {
			t.Errorf("checkpoint %d with no pipeline running, want %d: the appends did not resume applying it", cp, head)
		}
		checkStats(t, e.db, e.store, head)
	})
}

// brokenSQL is StreamStats whose statement for one event type fails in the
// database (on PostgreSQL only when the commit's pipeline runs it).
type brokenSQL struct{ projections.StreamStats }

func (b brokenSQL) Apply(ctx context.Context, tx projections.Tx, rec event.Record) error {
	if rec.Type == "seat.floating_added" {
		return tx.Exec(ctx, `UPDATE no_such_table SET n = 1`)
	}
	return b.StreamStats.Apply(ctx, tx, rec)
}

// ApplyBatch applies the run through Apply, as the appends' inline batches
// do, so the broken statement is among them.
func (b brokenSQL) ApplyBatch(ctx context.Context, tx projections.Tx, records []event.Record) error {
	for _, rec := range records {
		if err := b.Apply(ctx, tx, rec); err != nil {
			return err
		}
	}
	return nil
}

// A read model never costs an append (X-4, nothing acknowledged is lost):
// when the inline projection fails, the batch commits without it, and the
// projection's runtime stops at the event as for any projection, while
// appends go on.
func TestInline_projection_that_fails_never_fails_the_append(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		rt := newRuntime(t, e.db, e.store, brokenSQL{})
		setInline(t, e.store, rt, "stream_stats")
		good := e.append(t, "license.issued", 2)
		bad := e.append(t, "seat.floating_added", 1)
		after := e.append(t, "license.issued", 2)
		if got, err := e.store.ReadAll(context.Background(), 0, 100); err != nil || len(got) != int(after) {
			t.Fatalf("log holds %d events (%v), want %d", len(got), err, after)
		}
		if cp := checkpointOf(t, rt, "stream_stats"); cp != good {
			t.Fatalf("checkpoint %d, want %d: the last event before the failing one", cp, good)
		}
		checkStats(t, e.db, e.store, good)
		run(t, rt, e.store, 1)
		eventually(t, "the runtime stops the projection at the failing event", func() bool {
			all, err := rt.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return all[0].State == StateFailed && all[0].Failure.Position == bad
		})
		more := e.append(t, "license.issued", 1) // not applied inline: the projection is failed
		if err := rt.WaitFor(context.Background(), "stream_stats", more, deadline); !errors.Is(err, ErrFailed) {
			t.Errorf("WaitFor past a failed inline projection = %v, want ErrFailed", err)
		}
		checkStats(t, e.db, e.store, good)
	})
}

// Rule X-8 with an inline projection: a rebuild by another process (ledger
// projections rebuild) while the appends go on. The appends leave the
// projection alone while it is rebuilt or behind, the table ends equal to
// a fold of the log, and the appends apply it again afterwards.
func TestInline_projection_rebuilt_by_another_process_while_appends_go_on_X8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		a := newRuntime(t, e.db, e.store, stats)
		setInline(t, e.store, a, "stream_stats")
		run(t, a, e.store, 3)
		head := e.appendMany(t, "license.issued", 300)
		b := newRuntime(t, e.reopen(t), e.store, stats)
		err := b.Rebuild(context.Background(), "stream_stats", func(done, _ uint64) {
			if done > 0 && done < head {
				head = e.append(t, "seat.added", 2) // live events while B is part way
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		last := e.append(t, "seat.removed", 1)
		waitFor(t, a, "stream_stats", last)
		checkStats(t, e.db, e.store, last)
		eventually(t, "the appends apply the projection again", func() bool {
			next := e.append(t, "seat.added", 1)
			return checkpointOf(t, a, "stream_stats") == next
		})
		checkStats(t, e.db, e.store, checkpointOf(t, a, "stream_stats"))
	})
}
