package commands

import (
	"context"
	"fmt"
	"sync"
	"time"

	"seatledger/domain/event"
)

// cache keeps recently used aggregates of one kind folded in memory, each
// with the stream version it was folded to. current brings an entry up to
// its stream's head by reading only the events after that version, so a
// decision is still made from consistent state — the events the store
// holds when it is asked — at the cost of one small read instead of a
// whole fold.
//
// Cached values are shared: decide never changes an aggregate, and an
// entry that has to catch up is cloned before new events are folded into
// it.
type cache[A any] struct {
	stream func(id string) string
	seed   func(id string) A // the aggregate before its first event
	evolve func(A, any, event.Record) A
	clone  func(A) A // nil: evolving never writes into shared state

	max     int
	mu      sync.Mutex
	entries map[string]entry[A]
}

type entry[A any] struct {
	agg     A
	version uint64
	synced  time.Time // when the stream was last read up to version (wall clock)
}

func newCache[A any](max int, stream func(string) string, seed func(string) A, evolve func(A, any, event.Record) A, clone func(A) A) *cache[A] {
	return &cache[A]{stream: stream, seed: seed, evolve: evolve, clone: clone, max: max, entries: map[string]entry[A]{}}
}

// current returns aggregate id as of its stream's current version.
func (c *cache[A]) current(ctx context.Context, l *Loader, id string) (A, uint64, error) {
	stream := c.stream(id)
	c.mu.Lock()
	e, cached := c.entries[stream]
	c.mu.Unlock()
	agg, version, owned := e.agg, e.version, false
	if !cached {
		agg, version, owned = c.seed(id), 0, true
	}
	changed := false
	for {
		page, err := l.store.ReadStream(ctx, stream, version+1, readPage)
		if err != nil {
			return agg, 0, fmt.Errorf("commands: load %q: %w", stream, err)
		}
		if len(page) > 0 && !owned {
			if c.clone != nil {
				agg = c.clone(agg)
			}
			owned = true
		}
		for _, rec := range page {
			payload, err := l.registry.Decode(rec)
			if err != nil {
				return agg, 0, err // an undecodable event is never skipped
			}
			agg = c.evolve(agg, payload, rec)
			version, changed = rec.Version, true
		}
		if len(page) < readPage {
			break
		}
	}
	c.put(stream, agg, version, changed)
	return agg, version, nil
}

// recent returns aggregate id as cached if its stream was read no longer
// than maxAge ago, and as of the stream's current version otherwise. It
// is for reading another aggregate than the one a decision is appended
// to — the quota of a key while recording a usage report — where a read
// from a moment ago is as good as one now: the other aggregate may change
// the instant after either read.
func (c *cache[A]) recent(ctx context.Context, l *Loader, id string, maxAge time.Duration) (A, uint64, error) {
	c.mu.Lock()
	e, ok := c.entries[c.stream(id)]
	c.mu.Unlock()
	if ok && time.Since(e.synced) <= maxAge {
		return e.agg, e.version, nil
	}
	return c.current(ctx, l, id)
}

// put stores agg at version, read from the stream just now, unless a
// newer one is cached; changed says whether agg differs from the cached
// entry, which otherwise only learns when it was last read. A full cache
// drops an arbitrary entry (Go's map order is random enough for that).
func (c *cache[A]) put(stream string, agg A, version uint64, changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if cur, ok := c.entries[stream]; ok && (cur.version > version || (cur.version == version && !changed)) {
		if cur.version == version {
			cur.synced = now
			c.entries[stream] = cur
		}
		return
	}
	if !changed && version == 0 {
		return // nothing there: nothing to keep
	}
	if _, ok := c.entries[stream]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[stream] = entry[A]{agg: agg, version: version, synced: now}
}

// appended brings the cached entry of stream up to what this process
// just appended: agg, decided at version, with the payloads proposed as
// the events res reports. When the store said when it recorded them, the
// events are folded in as a read would fold them, so the next decision
// needs no read; otherwise the entry is marked as behind, and recent
// reads the stream again.
func (c *cache[A]) appended(agg A, version uint64, payloads []any, proposed []event.Proposed, res event.AppendResult) {
	if res.RecordedAt.IsZero() || res.FirstVersion != version+1 || res.LastVersion != version+uint64(len(payloads)) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e, ok := c.entries[res.StreamID]; ok {
			e.synced = time.Time{}
			c.entries[res.StreamID] = e
		}
		return
	}
	if c.clone != nil {
		agg = c.clone(agg)
	}
	for i, p := range payloads {
		agg = c.evolve(agg, p, event.Record{StreamID: res.StreamID, Version: version + 1 + uint64(i), ID: proposed[i].ID,
			Type: proposed[i].Type, SchemaVersion: proposed[i].SchemaVersion, Data: proposed[i].Data, Metadata: proposed[i].Metadata,
			RecordedAt: res.RecordedAt})
	}
	c.put(res.StreamID, agg, res.LastVersion, true)
}
