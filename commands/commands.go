// Package commands is the write side: one file per use case. Each loads an
// aggregate by folding its stream, asks it to decide, and appends the
// events it decided with the exact version it was decided on, so a
// decision is always made from consistent state. A concurrent change makes
// the append conflict; the use case then loads again and decides again.
package commands

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/event"
)

// EventStore is what the write side needs of the event store.
type EventStore interface {
	Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error)
}

// Clock tells the ledger's time.
type Clock interface{ Now() time.Time }

// Meta says who asks and why: it becomes every event's metadata (rule X-1).
type Meta struct {
	Actor         event.Actor
	CorrelationID string
	CausationID   string
	// IdempotencyKey, if set, makes the command safe to retry (rule X-4):
	// its events get IDs derived from the key, and a retry of a command
	// that already took effect returns the first result instead of
	// deciding again.
	IdempotencyKey string
}

// Handler runs use cases against an event store.
type Handler struct {
	store    EventStore
	registry *event.Registry
	clock    Clock
}

// NewHandler returns a Handler. registry must know every event the use
// cases read and write.
func NewHandler(store EventStore, registry *event.Registry, clock Clock) *Handler {
	return &Handler{store: store, registry: registry, clock: clock}
}

// maxAttempts bounds how often a use case decides again after losing a race.
const maxAttempts = 5

// readPage is how many events a load reads at a time.
const readPage = 512

// update loads the aggregate of stream by folding every event into a zero
// A with evolve, lets decide choose events from it, and appends them with
// the version they were decided on; on a conflict it does it all again.
// With an idempotency key, a retry whose events are already in the stream
// returns their original result.
func update[A any](ctx context.Context, h *Handler, command, stream string, meta Meta,
	evolve func(A, any, event.Record) A, decide func(A, time.Time) ([]any, error)) (event.AppendResult, error) {
	var lastErr error
	for range maxAttempts {
		agg, version, done, err := load(ctx, h, stream, meta, evolve)
		if err != nil || done != nil {
			if done != nil {
				return *done, nil
			}
			return event.AppendResult{}, err
		}
		now := h.clock.Now()
		payloads, err := decide(agg, now)
		if err != nil {
			return event.AppendResult{}, err
		}
		proposed, err := h.encode(command, stream, meta, payloads)
		if err != nil {
			return event.AppendResult{}, err
		}
		res, err := h.store.Append(ctx, stream, event.Exact(version), proposed...)
		if errors.Is(err, event.ErrConflict) {
			lastErr = err // decided on stale state: load and decide again
			continue
		}
		return res, err
	}
	return event.AppendResult{}, fmt.Errorf("commands: %s on %q lost %d races: %w", command, stream, maxAttempts, lastErr)
}

// load folds stream. It returns done, the original result, when the
// stream already holds the events of this idempotent command.
func load[A any](ctx context.Context, h *Handler, stream string, meta Meta, evolve func(A, any, event.Record) A) (A, uint64, *event.AppendResult, error) {
	var (
		agg     A
		version uint64
		done    *event.AppendResult
	)
	for from := uint64(1); ; {
		page, err := h.store.ReadStream(ctx, stream, from, readPage)
		if err != nil {
			return agg, 0, nil, fmt.Errorf("commands: load %q: %w", stream, err)
		}
		for _, rec := range page {
			payload, err := h.registry.Decode(rec)
			if err != nil {
				return agg, 0, nil, err // an undecodable event is never skipped
			}
			if meta.IdempotencyKey != "" {
				done = extendRetried(done, meta.IdempotencyKey, stream, rec)
			}
			agg = evolve(agg, payload, rec)
			version = rec.Version
		}
		if len(page) < readPage {
			return agg, version, done, nil
		}
		from = page[len(page)-1].Version + 1
	}
}

// extendRetried recognises the events of an idempotent command already in
// the stream: a run of consecutive versions whose IDs are the ones the key
// derives, the first one first.
func extendRetried(done *event.AppendResult, key, stream string, rec event.Record) *event.AppendResult {
	switch {
	case done == nil && rec.ID == eventID(key, stream, 0):
		return &event.AppendResult{StreamID: stream, FirstVersion: rec.Version, LastVersion: rec.Version, Position: rec.Position}
	case done != nil && rec.Version == done.LastVersion+1 && rec.ID == eventID(key, stream, int(rec.Version-done.FirstVersion)):
		done.LastVersion, done.Position = rec.Version, rec.Position
	}
	return done
}

// encode turns decided payloads into events to append.
func (h *Handler) encode(command, stream string, meta Meta, payloads []any) ([]event.Proposed, error) {
	out := make([]event.Proposed, len(payloads))
	for i, p := range payloads {
		name, ok := h.registry.NameOf(p)
		if !ok {
			return nil, fmt.Errorf("commands: %s decided an unregistered event %T", command, p)
		}
		data, version, err := h.registry.Encode(name, p)
		if err != nil {
			return nil, err
		}
		md := event.Metadata{Actor: meta.Actor, Command: command, CorrelationID: meta.CorrelationID, CausationID: meta.CausationID}
		var id string // empty: the store assigns one
		if meta.IdempotencyKey != "" {
			id = eventID(meta.IdempotencyKey, stream, i)
		}
		out[i] = event.Proposed{ID: id, Type: name, SchemaVersion: version, Data: data, Metadata: md}
	}
	return out, nil
}

// eventID derives the i-th event ID of an idempotent command on stream
// from its key: a name-based UUID (version 5), the same on every retry.
func eventID(key, stream string, i int) string {
	h := sha1.New()
	fmt.Fprintf(h, "seatledger/command-event/%d/%s/%s", i, stream, key)
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50 // version 5
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
