package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/postgres/pgtest"
)

// The architecture's proof of a gap-free global order: processes that
// commit independently (one Store each, as separate ledgerd processes
// would be), with a random delay between reading the log head and
// committing, while one subscriber in yet another process follows the log
// from the start. Every acknowledged event must reach it exactly once, at
// contiguous positions, each stream in version order.
func TestGapFreeOrder_stress(t *testing.T) {
	const (
		processes         = 16
		writersPerProcess = 2   // so that batches also coalesce within a process
		eventsPerWriter   = 100 // in appends of 1–6 events
		streamsPerWriter  = 3
	)
	dsn := pgtest.NewDatabase(t)
	var stats batchStats
	delay := func() { time.Sleep(rand.N(5 * time.Millisecond)) } // while holding the append lock
	small := withParam(t, dsn, "pool_max_conns", "2")            // 17 stores share max_connections

	stores := make([]*Store, processes)
	var opening sync.WaitGroup
	for i := range stores {
		opening.Add(1)
		go func() { // all at once: migrations must serialise, not collide
			defer opening.Done()
			s, err := Open(context.Background(), small, Config{beforeCommit: delay, Observer: &stats})
			if err != nil {
				t.Errorf("open store %d: %v", i, err)
				return
			}
			stores[i] = s
		}()
	}
	opening.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The subscriber checks order as it goes; the full check comes after.
	reader := openStore(t, small, Config{})
	var (
		delivered []event.Record
		last      atomic.Uint64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subDone := make(chan error, 1)
	go func() {
		subDone <- reader.Subscribe(ctx, 0, func(r event.Record) error {
			if r.Position != last.Load()+1 {
				return fmt.Errorf("position %d delivered after %d", r.Position, last.Load())
			}
			delivered = append(delivered, r)
			last.Store(r.Position)
			return nil
		})
	}()

	type ack struct {
		stream            string
		version, position uint64
	}
	var (
		mu    sync.Mutex
		acked = map[string]ack{}
		wg    sync.WaitGroup
	)
	start := time.Now()
	for p, s := range stores {
		for w := range writersPerProcess {
			wg.Add(1)
			go func() {
				defer wg.Done()
				versions := make([]uint64, streamsPerWriter)
				for sent := 0; sent < eventsPerWriter; {
					k := rand.IntN(streamsPerWriter)
					stream := fmt.Sprintf("stress-%d-%d-%d", p, w, k)
					evs := make([]event.Proposed, min(1+rand.IntN(6), eventsPerWriter-sent))
					for i := range evs {
						evs[i] = eventstoretest.NewEvent("test.stress", sent+i)
					}
					res, err := s.Append(context.Background(), stream, event.Exact(versions[k]), evs...)
					if err != nil {
						t.Errorf("process %d writer %d: append to %s at version %d: %v", p, w, stream, versions[k], err)
						return
					}
					if res.FirstVersion != versions[k]+1 || res.LastVersion != versions[k]+uint64(len(evs)) {
						t.Errorf("append to %s at version %d: result %+v", stream, versions[k], res)
					}
					versions[k] = res.LastVersion
					mu.Lock()
					for i, e := range evs { // an append's events take consecutive positions
						acked[e.ID] = ack{stream, res.FirstVersion + uint64(i), res.Position - uint64(len(evs)-1-i)}
					}
					mu.Unlock()
					sent += len(evs)
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("%d events appended in %s by %d processes", len(acked), time.Since(start).Round(time.Millisecond), processes)
	t.Logf("%d commits of %.1f events on average", stats.commits.Load(), stats.eventsPerCommit())
	if t.Failed() {
		t.FailNow()
	}

	n := uint64(len(acked))
	if h, err := reader.Head(context.Background()); err != nil || h != n {
		t.Fatalf("log head = %d, %v; want the %d acknowledged events", h, err, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for last.Load() < n && time.Now().Before(deadline) {
		select {
		case err := <-subDone:
			t.Fatalf("subscription stopped at position %d: %v", last.Load(), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-subDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v", err)
	}

	if uint64(len(delivered)) != n {
		t.Fatalf("subscriber saw %d events, %d were acknowledged", len(delivered), n)
	}
	seen := map[string]bool{}
	streamVersion := map[string]uint64{}
	for i, r := range delivered {
		if r.Position != uint64(i+1) {
			t.Fatalf("event %d has position %d: positions are not contiguous from 1", i, r.Position)
		}
		a, ok := acked[r.ID]
		if !ok {
			t.Fatalf("position %d: event %s was never acknowledged", r.Position, r.ID)
		}
		if seen[r.ID] {
			t.Fatalf("position %d: event %s delivered twice", r.Position, r.ID)
		}
		seen[r.ID] = true
		if a.stream != r.StreamID || a.version != r.Version || a.position != r.Position {
			t.Fatalf("event %s delivered as %s v%d @%d, acknowledged as %s v%d @%d",
				r.ID, r.StreamID, r.Version, r.Position, a.stream, a.version, a.position)
		}
		if r.Version != streamVersion[r.StreamID]+1 {
			t.Fatalf("stream %s: version %d after %d", r.StreamID, r.Version, streamVersion[r.StreamID])
		}
		streamVersion[r.StreamID] = r.Version
	}
}
