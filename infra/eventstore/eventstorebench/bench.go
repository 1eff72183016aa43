// Package eventstorebench measures an event store the same way for every
// backend, for the Go benchmarks and for `ledger bench`: append throughput
// with concurrent writers, replay speed and memory, and the latency from an
// append to a live subscriber.
package eventstorebench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

var benchActor = event.Actor{Kind: event.ActorProcess, ID: "bench"}

// payload is a typical small event body (a usage report).
var payload = json.RawMessage(`{"installation":"farm-0001","seats_in_use":17,"reported_at":"2026-03-01T09:00:00Z"}`)

// newEvent returns a typical event. Its ID is left to the store, as for
// most events commands append (idempotent commands choose theirs).
func newEvent() event.Proposed {
	return event.Proposed{Type: "bench.usage_reported", SchemaVersion: 1, Data: payload,
		Metadata: event.Metadata{Actor: benchActor, Command: "Bench"}}
}

// AppendReport is the outcome of an append run.
type AppendReport struct {
	Writers  int
	Appends  int64
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond returns appends per second.
func (r AppendReport) PerSecond() float64 { return float64(r.Appends) / r.Elapsed.Seconds() }

// Append runs writers goroutines for duration (or until maxAppends appends
// in total, when positive), each appending single events to a stream of
// its own with exact expected versions, as commands do. With callerIDs
// every event carries a random UUIDv4 chosen by the caller, as events of
// idempotent commands do (their IDs derive from a client's request ID);
// otherwise the store assigns UUIDv7s.
func Append(ctx context.Context, s eventstore.Store, writers int, duration time.Duration, maxAppends int64, callerIDs bool) (AppendReport, error) {
	run := uuid.NewString()[:8]
	var (
		count    atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		latency  []time.Duration
		firstErr error
	)
	deadline := time.Now().Add(duration)
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("bench-%s-%d", run, w)
			var version uint64
			own := make([]time.Duration, 0, 4096)
			defer func() { mu.Lock(); latency = append(latency, own...); mu.Unlock() }()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if maxAppends > 0 && count.Add(1) > maxAppends {
					return
				}
				e := newEvent()
				if callerIDs {
					e.ID = uuid.NewString()
				}
				t0 := time.Now()
				res, err := s.Append(ctx, stream, event.Exact(version), e)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				own = append(own, time.Since(t0))
				version = res.LastVersion
				if maxAppends <= 0 {
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	rep := AppendReport{Writers: writers, Appends: int64(len(latency)), Elapsed: time.Since(start)}
	rep.P50, rep.P99 = percentiles(latency)
	return rep, firstErr
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
}

// Fill appends n events quickly (in batches of 100 to a rotating set of
// streams) so that a replay has something to read.
func Fill(ctx context.Context, s eventstore.Store, n int, progress func(done int)) error {
	const batch, streams = 100, 1000
	run := uuid.NewString()[:8]
	var wg sync.WaitGroup
	var done atomic.Int64
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * batch; i < n; i += 4 * batch {
				evs := make([]event.Proposed, min(batch, n-i))
				for j := range evs {
					evs[j] = newEvent()
				}
				stream := fmt.Sprintf("fill-%s-%d", run, (i/batch)%streams)
				if _, err := s.Append(ctx, stream, event.Any(), evs...); err != nil {
					errs <- err
					return
				}
				if progress != nil {
					progress(int(done.Add(int64(len(evs)))))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// ReplayReport is the outcome of a replay.
type ReplayReport struct {
	Events  uint64
	Elapsed time.Duration
	// PeakHeap is the largest heap in use seen during the replay, in bytes.
	PeakHeap uint64
}

// PerSecond returns events read per second.
func (r ReplayReport) PerSecond() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// Replay reads the whole log from position zero into a projection that
// does nothing but look at each event, through eventstore.ScanLog with
// readers parallel readers, as a rebuild reads it.
func Replay(ctx context.Context, s eventstore.Store, pageSize, readers int) (ReplayReport, error) {
	var (
		rep  ReplayReport
		ms   runtime.MemStats
		sink int
	)
	head, err := s.Head(ctx)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	pages := 0
	err = eventstore.ScanLog(ctx, s, 0, head, pageSize, readers, func(page []event.Record) error {
		for _, r := range page {
			sink += len(r.Data) // the no-op projection touches every event
		}
		rep.Events += uint64(len(page))
		if pages++; pages%64 == 0 {
			runtime.ReadMemStats(&ms)
			rep.PeakHeap = max(rep.PeakHeap, ms.HeapInuse)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	runtime.ReadMemStats(&ms)
	rep.PeakHeap = max(rep.PeakHeap, ms.HeapInuse)
	_ = sink
	return rep, nil
}

// LiveReport is the outcome of a live-subscription latency run.
type LiveReport struct {
	Events   int
	P50, P99 time.Duration
}

// LiveLatency appends at rate events per second for duration while a
// subscriber follows the log, and measures the time from each append's
// start to its delivery to the subscriber's handler.
func LiveLatency(ctx context.Context, s eventstore.Store, rate int, duration time.Duration) (LiveReport, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return LiveReport{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		started = map[string]time.Time{}
		lat     []time.Duration
	)
	total := int(duration.Seconds() * float64(rate))
	all := make(chan struct{})
	subErr := make(chan error, 1)
	go func() {
		subErr <- s.Subscribe(ctx, head, func(r event.Record) error {
			now := time.Now()
			mu.Lock()
			if t0, ok := started[r.ID]; ok {
				lat = append(lat, now.Sub(t0))
				if len(lat) == total {
					close(all)
				}
			}
			mu.Unlock()
			return nil
		})
	}()
	run := uuid.NewString()[:8]
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := range total {
		<-tick.C
		e := newEvent()
		e.ID = uuid.Must(uuid.NewV7()).String() // to match deliveries to appends
		mu.Lock()
		started[e.ID] = time.Now()
		mu.Unlock()
		wg.Add(1)
		go func() { // appends are concurrent, as from many API requests
			defer wg.Done()
			if _, err := s.Append(ctx, fmt.Sprintf("live-%s-%d", run, i%64), event.Any(), e); err != nil && ctx.Err() == nil {
				select {
				case subErr <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case err := <-subErr:
		return LiveReport{}, err
	case <-time.After(30 * time.Second):
		return LiveReport{}, fmt.Errorf("eventstorebench: subscriber saw %d of %d events", len(lat), total)
	}
	mu.Lock()
	defer mu.Unlock()
	rep := LiveReport{Events: len(lat)}
	rep.P50, rep.P99 = percentiles(lat)
	return rep, nil
}
