package kurrent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"seatledger/domain/event"
)

// The event-ID index.
//
// KurrentDB does not keep event IDs unique: it accepts an ID already used
// in another stream, and recognises a retried append only when the retry's
// expected version is behind the stream (or, for "any", from a bounded
// cache). The contract demands more: a retry returns the first append's
// result whatever it expected, and every other reuse is refused.
//
// KurrentDB's only atomic "create if absent" is an append with expected
// version "no stream", so the index is one stream per event ID,
// "<prefix>seatledger-eventid-<uuid>", whose single event names the ledger
// stream that owns the ID. Every append creates these reservations before
// appending its events; a reservation that already exists tells whose the
// ID is:
//
//   - another stream's: event.ErrDuplicateID, nothing appended;
//   - this stream's: the append may be a retry, so the stream is scanned
//     for the IDs (all of them in one run: the first result; some: a
//     duplicate; none: a new append after all);
//   - none (all created now): no event with these IDs existed before, so
//     only events appended since the stream head read before reserving can
//     carry them, and only those are checked after a lost race.
//
// One stream per ID rather than a single index stream: checking an ID
// against a shared stream would mean reading all of it. The price is one
// small append per event (run concurrently, so one round trip) and a
// second stream per event in the database's index; the reservations are
// left out of the ledger's global log.
//
// Reservation and append are not atomic (the client has no multi-stream
// transaction), so an append that fails after reserving leaves its new
// reservations behind. They are harmless for the stream that holds them (a
// later append there finds the IDs absent and proceeds), and refuse the
// same IDs in any other stream: that errs on the side of refusing. An
// append whose exact expected version is already wrong only looks the IDs
// up and leaves nothing behind, so ordinary conflicts do not accumulate
// reservations.

// indexPrefix starts the name of every reservation stream (after
// Config.StreamPrefix). Ledger streams may not start with it.
const indexPrefix = "seatledger-eventid-"

// reservationType is the event type of a reservation.
const reservationType = "seatledger.event_id_reserved"

// reserveParallelism bounds the concurrent reservation calls of one append.
const reserveParallelism = 16

// reservationData is a reservation's payload.
type reservationData struct {
	Stream string `json:"stream"`
}

// reservation is what the index says about one event ID.
type reservation struct {
	// Owner is the ledger stream the ID belongs to; empty if the ID is not
	// reserved (only when looking up without creating).
	Owner string
	// Fresh says the reservation was created by this call.
	Fresh bool
}

// checkOwners refuses IDs owned by another stream, and reports whether
// any ID was already reserved for stream (the append may be a retry).
func checkOwners(stream string, ids []string, res []reservation) (maybeStored bool, err error) {
	for i, r := range res {
		switch {
		case r.Owner == "":
		case r.Owner != stream:
			return false, fmt.Errorf("%w: event ID %s already belongs to stream %q; this append to %q cannot use it",
				event.ErrDuplicateID, ids[i], r.Owner, stream)
		case !r.Fresh:
			maybeStored = true
		}
	}
	return maybeStored, nil
}

// reserve reserves ids for stream (or, with create false, only looks them
// up) and returns what the index says about each.
func (s *Store) reserve(ctx context.Context, stream string, ids []string, create bool) ([]reservation, error) {
	out := make([]reservation, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, reserveParallelism)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = s.reserveOne(ctx, stream, id, create)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (s *Store) reserveOne(ctx context.Context, stream, id string, create bool) (reservation, error) {
	name := s.prefix + indexPrefix + id
	if create {
		data, err := json.Marshal(reservationData{Stream: stream})
		if err != nil {
			return reservation{}, fmt.Errorf("reserve event ID %s: %w", id, err)
		}
		// A random event ID: a deterministic one would let KurrentDB take a
		// second stream's reservation for a retry of the first's and answer
		// success to both.
		_, err = s.client.AppendToStream(ctx, name, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, esdb.EventData{
			EventID: uuid.New(), EventType: reservationType, ContentType: esdb.ContentTypeJson, Data: data,
		})
		if err == nil {
			return reservation{Owner: stream, Fresh: true}, nil
		}
		if _, _, taken := conflictFromError(err); !taken {
			return reservation{}, fmt.Errorf("reserve event ID %s: %w", id, err)
		}
	}
	owner, err := s.readReservation(ctx, name)
	if err != nil {
		return reservation{}, fmt.Errorf("look up event ID %s: %w", id, err)
	}
	if owner == "" && create {
		return reservation{}, fmt.Errorf("event ID %s: reservation refused but not found", id)
	}
	return reservation{Owner: owner}, nil
}

// readReservation returns the owner named by a reservation stream's first
// event, or "" if there is none.
func (s *Store) readReservation(ctx context.Context, name string) (string, error) {
	rs, err := s.client.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Start{}}, 1)
	if err != nil {
		return "", err
	}
	var owner string
	err = each(rs, func(e *esdb.RecordedEvent) error {
		var d reservationData
		if err := json.Unmarshal(e.Data, &d); err != nil || d.Stream == "" {
			return fmt.Errorf("reservation %q is damaged: %q", name, e.Data)
		}
		owner = d.Stream
		return nil
	})
	if isNotFound(err) {
		return "", nil
	}
	return owner, err
}
