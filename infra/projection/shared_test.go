package projection

import (
	"context"
	"errors"
	"testing"
	"time"

	"seatledger/infra/watermill"
	"seatledger/projections"
)

// Rule X-8: what this process remembers of a projection's progress is a
// hint, never trusted past the stored checkpoint once another process
// moved it. Process A applied the log to its head; process B (ledger
// projections rebuild) resets the projection and replays it; while B is
// part way, A is handed the next live event. A must not apply it on top
// of B's half-rebuilt table (it did: B then passed over everything
// between its position and A's, and the rebuilt table missed them); it
// goes back to the checkpoint instead, and the table ends equal to a fold
// of the log.
func TestRuntime_rebuild_by_another_process_is_never_overtaken_X8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		head := e.appendMany(t, "license.issued", 300)
		a := newRuntime(t, e.db, e.store, stats)
		p := run(t, a, e.store, 3)
		waitFor(t, a, "stream_stats", head)
		p.Stop() // A's pipeline is fed by hand below

		next := e.append(t, "seat.added", 1)
		recs, err := e.store.ReadAll(context.Background(), head, 1)
		if err != nil || len(recs) != 1 || recs[0].Position != next {
			t.Fatalf("read the new event: %v %v", recs, err)
		}
		handle, err := a.Handler("stream_stats")
		if err != nil {
			t.Fatal(err)
		}
		b := newRuntime(t, e.reopen(t), e.store, stats) // RebuildBatch 100
		var delivered error
		err = b.Rebuild(context.Background(), "stream_stats", func(done, _ uint64) {
			if done != 100 {
				return
			}
			// B is a third of the way: A is handed the live event after
			// the head it applied.
			delivered = handle(watermill.NewMessage(recs[0], head))
		})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(delivered, watermill.ErrStaleDelivery) {
			t.Fatalf("A handled the event after %d while B's rebuild stood at 100: %v; want a stale delivery", head, delivered)
		}
		checkStats(t, e.db, e.store, next)

		run(t, a, e.store, 3) // A resumes from the checkpoint B left
		last := e.append(t, "seat.added", 2)
		waitFor(t, a, "stream_stats", last)
		checkStats(t, e.db, e.store, last)
	})
}

// seatsOnly is a selective projection: it reacts to seat events only, so
// the runtime passes over the others without a transaction.
type seatsOnly struct{ projections.StreamStats }

func (seatsOnly) EventTypes() []string { return []string{"seat.added", "seat.removed"} }

// Rule X-8: other processes learn a projection's progress only from its
// checkpoint. Events the projection passes over right after a commit are
// stored a moment later even when nothing else follows, so that a read in
// another process waiting for them (read your writes) is not left waiting
// for the next event that happens to arrive.
func TestRuntime_progress_passed_over_on_a_quiet_log_reaches_the_checkpoint_X8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		owner := newRuntime(t, e.db, e.store, seatsOnly{})
		run(t, owner, e.store, 3)
		seat := e.append(t, "seat.added", 1)
		waitFor(t, owner, "stream_stats", seat)
		head := e.append(t, "license.issued", 3) // passed over, just after a commit
		waitFor(t, owner, "stream_stats", head)
		other := newRuntime(t, e.reopen(t), e.store, seatsOnly{}) // another process, not applying it
		if err := other.WaitFor(context.Background(), "stream_stats", head, 10*time.Second); err != nil {
			t.Fatalf("another process never sees the projection at the head of a quiet log: %v", err)
		}
	})
}

// Rule X-8: the same, with process A's whole pipeline running (its
// subscriber passes over what A remembers applying, watermill.Applied),
// and events appended while B's rebuild runs: A follows B's checkpoint
// rather than its memory, and the table ends equal to a fold of the log.
func TestRuntime_pipeline_follows_a_rebuild_by_another_process_X8(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		head := e.appendMany(t, "license.issued", 300)
		a := newRuntime(t, e.db, e.store, stats)
		run(t, a, e.store, 3)
		waitFor(t, a, "stream_stats", head)
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
	})
}
