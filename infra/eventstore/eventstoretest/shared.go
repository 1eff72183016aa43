package eventstoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

// PairFactory returns two stores on one empty database, as two processes
// would open them (each with its own connections, committer and caches),
// both stamping recorded times from clk. It registers their cleanup with t.
type PairFactory func(t *testing.T, clk clock.Clock) (a, b eventstore.Store)

// RunShared runs the contract of rule X-8 against pairs of stores on one
// database: whatever one store appends, the other's caches (stream heads,
// the tail of its own commits) never let it decide on stale state. A
// conflict another process caused is a *event.ConflictError for the
// append it concerns, and never fails the other appends of its batch.
func RunShared(t *testing.T, newPair PairFactory) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, a, b eventstore.Store)
	}{
		{"stale_head_after_a_batch_of_other_streams_X8", testStaleHeadAfterOtherStreams},
		{"conflict_from_another_store_fails_only_its_append_X8", testConflictSparesNeighbours},
		{"idempotent_retry_through_the_other_store_X8", testRetryThroughOther},
		{"read_all_interleaves_both_stores_without_gaps_X8", testReadAllInterleaved},
		{"subscription_sees_the_other_stores_appends_X8", testSubscribeSeesOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t, clock.NewSimulated(Start))
			tc.fn(t, a, b)
		})
	}
}

// The bug of issue 18: a caches a stream's head; b appends to that
// stream; a then commits a batch of other streams only, which must not
// make its stale head look current. Its next append on the stream, with
// the version it knew, is a conflict (409), not a failed insert (500);
// with the right version it succeeds.
func testStaleHeadAfterOtherStreams(t *testing.T, a, b eventstore.Store) {
	mustAppend(t, a, "installation-1", event.NoStream(), NewEvent("test.reported", 1))
	for round := range 5 {
		v := uint64(1 + 2*round) // a's view of installation-1
		mustAppend(t, b, "installation-1", event.Exact(v), NewEvent("test.reported", 2))
		mustAppend(t, a, fmt.Sprintf("other-%d", round), event.Any(), NewEvent("test.other", 3))
		_, err := a.Append(context.Background(), "installation-1", event.Exact(v), NewEvent("test.reported", 4))
		wantConflict(t, err, "installation-1", v+1)
		mustAppend(t, a, "installation-1", event.Exact(v+1), NewEvent("test.reported", 5))
	}
	if n, err := eventstore.VerifyStream(context.Background(), b, "installation-1"); err != nil || n != 11 {
		t.Fatalf("installation-1 after two writers: %d events, %v", n, err)
	}
}

// Appends that share a batch with one made stale by the other store
// succeed; only the stale one conflicts.
func testConflictSparesNeighbours(t *testing.T, a, b eventstore.Store) {
	const neighbours = 16
	mustAppend(t, a, "contested", event.NoStream(), NewEvent("test.first", 0))
	for round := range 5 {
		v := uint64(1 + round)
		mustAppend(t, b, "contested", event.Exact(v), NewEvent("test.elsewhere", round)) // a's head is stale now
		var wg sync.WaitGroup
		errs := make([]error, neighbours)
		var stale error
		wg.Go(func() {
			_, stale = a.Append(context.Background(), "contested", event.Exact(v), NewEvent("test.stale", round))
		})
		for i := range neighbours {
			wg.Go(func() {
				_, errs[i] = a.Append(context.Background(), fmt.Sprintf("neighbour-%d-%d", round, i), event.NoStream(), NewEvent("test.own", i))
			})
		}
		wg.Wait()
		wantConflict(t, stale, "contested", v+1)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: neighbour %d failed beside another store's conflict: %v", round, i, err)
			}
		}
	}
}

// An append whose answer was lost (rule X-4) is retried through the other
// store with the same event IDs: the retry gets the first result and
// writes nothing, even though the retrying store never saw the stream.
func testRetryThroughOther(t *testing.T, a, b eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, b, "usage", event.NoStream(), NewEvent("test.first", 0))
	e1, e2 := NewEvent("test.report", 1), NewEvent("test.report", 2)
	first := mustAppend(t, a, "usage", event.Exact(1), e1, e2)
	mustAppend(t, a, "elsewhere", event.Any(), NewEvent("test.other", 3))
	retry, err := b.Append(ctx, "usage", event.Exact(1), e1, e2)
	if err != nil || retry.FirstVersion != first.FirstVersion || retry.LastVersion != first.LastVersion || retry.Position != first.Position {
		t.Fatalf("retry through the other store = %+v, %v; want the first result %+v", retry, err, first)
	}
	if n := len(readStream(t, a, "usage")); n != 3 {
		t.Fatalf("usage has %d events after a retry, want 3", n)
	}
}

// Each store reads the whole log in order, its own events and the
// other's interleaved, whatever it holds in memory of its own commits: a
// page may be short (the contract says "up to limit"), but reading on
// from its last event never skips one.
func testReadAllInterleaved(t *testing.T, a, b eventstore.Store) {
	ctx := context.Background()
	for i := range 6 {
		s := a
		if i%3 == 2 {
			s = b
		}
		mustAppend(t, s, fmt.Sprintf("s-%d", i), event.NoStream(), NewEvent("test.n", i))
	}
	for _, s := range []eventstore.Store{a, b} {
		for start := range uint64(6) {
			after := start
			for reads := 0; after < 6; reads++ {
				recs, err := s.ReadAll(ctx, after, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 || reads > 6 {
					t.Fatalf("reading on from %d: stuck after position %d of 6", start, after)
				}
				for _, r := range recs {
					if r.Position != after+1 {
						t.Fatalf("reading on from %d: position %d after %d", start, r.Position, after)
					}
					after = r.Position
				}
			}
		}
	}
}

// A subscription on one store gets the other store's appends too, in log
// order between its own.
func testSubscribeSeesOther(t *testing.T, a, b eventstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan event.Record, 16)
	done := make(chan error, 1)
	go func() {
		done <- a.Subscribe(ctx, 0, func(r event.Record) error { got <- r; return nil })
	}()
	for i := range 6 {
		s := a
		if i%2 == 1 {
			s = b
		}
		mustAppend(t, s, "mixed", event.Any(), NewEvent("test.n", i))
	}
	for want := uint64(1); want <= 6; want++ {
		var r event.Record
		select {
		case r = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("subscription never delivered position %d", want)
		}
		if r.Position != want {
			t.Fatalf("subscription delivered position %d, want %d", r.Position, want)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v", err)
	}
}
