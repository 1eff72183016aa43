package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

// ReadStream implements eventstore.Store. Names the ledger cannot append to
// (empty, starting with $, or the event-ID index's) have no events.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	if limit <= 0 || stream == "" || strings.HasPrefix(stream, "$") || strings.HasPrefix(stream, indexPrefix) {
		return nil, nil
	}
	if from == 0 {
		from = 1
	}
	recs, err := s.readRange(ctx, s.prefix+stream, from-1, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("kurrent: read stream %q from version %d: %w", stream, from, err)
	}
	return recs, nil
}

// readPage bounds the events asked of the server per read of $all or of a
// stream being scanned.
const readPage = 512

// errEnough stops an iteration that has what it needs.
var errEnough = errors.New("kurrent: enough")

// ReadAll implements eventstore.Store: it reads $all from after and keeps
// the ledger's events (see the package comment).
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	if limit <= 0 {
		return nil, nil
	}
	var (
		out    []event.Record
		from   = allFrom(after)
		cursor *esdb.Position // the last event read; the next page starts at it, inclusively
	)
	for {
		// One more than wanted: a page repeats the event it starts at.
		count := uint64(min(max(limit-len(out), 64), readPage)) + 1
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: from}, count)
		if err != nil {
			return nil, fmt.Errorf("kurrent: read $all after %d: %w", after, err)
		}
		var n uint64
		err = each(rs, func(e *esdb.RecordedEvent) error {
			n++
			if cursor != nil && !positionAfter(e.Position, *cursor) {
				return nil
			}
			p := e.Position
			cursor = &p
			if _, ok := ledgerStream(s.prefix, e.StreamID, e.EventType); !ok {
				return nil
			}
			r, err := decodeRecord(s.prefix, e)
			if err != nil {
				return err
			}
			if r.Position <= after {
				return nil
			}
			out = append(out, r)
			if len(out) == limit {
				return errEnough
			}
			return nil
		})
		switch {
		case errors.Is(err, errEnough):
			return out, nil
		case err != nil:
			return nil, fmt.Errorf("kurrent: read $all after %d: %w", after, err)
		case n < count || cursor == nil:
			return out, nil // the end of the log
		}
		from = *cursor
	}
}

// Head implements eventstore.Store: it reads $all backwards to the last
// event of the ledger. System events written since (statistics, projection
// state) are read past; with a StreamPrefix shared with other ledgers, so
// are their events, which makes Head slow on a prefix with few events in a
// busy database.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	done, err := s.begin()
	if err != nil {
		return 0, err
	}
	defer done()
	var (
		from   esdb.AllPosition = esdb.End{}
		cursor *esdb.Position
	)
	for {
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, readPage)
		if err != nil {
			return 0, fmt.Errorf("kurrent: head of $all: %w", err)
		}
		var (
			n    int
			head uint64
		)
		err = each(rs, func(e *esdb.RecordedEvent) error {
			n++
			if cursor != nil && !positionAfter(*cursor, e.Position) {
				return nil // backward reads exclude their start, but make sure
			}
			p := e.Position
			cursor = &p
			if _, ok := ledgerStream(s.prefix, e.StreamID, e.EventType); !ok {
				return nil
			}
			r, err := decodeRecord(s.prefix, e)
			if err != nil {
				return err
			}
			head = r.Position
			return errEnough
		})
		switch {
		case errors.Is(err, errEnough):
			return head, nil
		case err != nil:
			return 0, fmt.Errorf("kurrent: head of $all: %w", err)
		case n < readPage || cursor == nil:
			return 0, nil // the ledger has no events
		}
		from = *cursor
	}
}

// Subscribe implements eventstore.Store with a catch-up subscription to
// $all, filtered on the server to the ledger's streams (or away from
// system events) and again here. A subscription the server drops ends
// with an error; the caller resumes from its last checkpoint. Close ends
// running subscriptions with eventstore.ErrClosed.
func (s *Store) Subscribe(ctx context.Context, after uint64, handle func(event.Record) error) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.closing, cancel)()
	sub, err := s.client.SubscribeToAll(subCtx, esdb.SubscribeToAllOptions{From: allFrom(after), Filter: s.filter()})
	if err != nil {
		return s.ended(ctx, fmt.Errorf("kurrent: subscribe to $all after %d: %w", after, err))
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.EventAppeared != nil:
			e := ev.EventAppeared.OriginalEvent()
			if e == nil {
				continue
			}
			if _, ok := ledgerStream(s.prefix, e.StreamID, e.EventType); !ok {
				continue
			}
			r, err := decodeRecord(s.prefix, e)
			if err != nil {
				return fmt.Errorf("kurrent: subscription after %d: %w", after, err)
			}
			if r.Position <= after {
				continue // a start position may be delivered again
			}
			if err := handle(r); err != nil {
				return err
			}
			after = r.Position
		case ev.SubscriptionDropped != nil:
			return s.ended(ctx, fmt.Errorf("kurrent: subscription to $all dropped after position %d: %w", after, ev.SubscriptionDropped.Error))
		}
	}
}

// filter is the server-side filter of subscriptions: the prefix's streams,
// or without one every event whose type does not start with $.
func (s *Store) filter() *esdb.SubscriptionFilter {
	if s.prefix != "" {
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.prefix}}
	}
	return esdb.ExcludeSystemEventsFilter()
}

// ended explains why a subscription stopped: its context, the store's
// Close, or err.
func (s *Store) ended(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.closing.Err() != nil {
		return eventstore.ErrClosed
	}
	return err
}

// readLast returns the last event of the KurrentDB stream name, or the zero
// Record if there is none.
func (s *Store) readLast(ctx context.Context, name string) (event.Record, error) {
	rs, err := s.client.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return event.Record{}, fmt.Errorf("read the head of %q: %w", name, err)
	}
	var last event.Record
	err = each(rs, func(e *esdb.RecordedEvent) error {
		r, err := decodeRecord(s.prefix, e)
		last = r
		return err
	})
	if err != nil && !isNotFound(err) {
		return event.Record{}, fmt.Errorf("read the head of %q: %w", name, err)
	}
	return last, nil
}

// readRange returns up to count events of the KurrentDB stream name from
// revision from on.
func (s *Store) readRange(ctx context.Context, name string, from, count uint64) ([]event.Record, error) {
	rs, err := s.client.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(from)}, count)
	if err != nil {
		return nil, err
	}
	var out []event.Record
	err = each(rs, func(e *esdb.RecordedEvent) error {
		r, err := decodeRecord(s.prefix, e)
		out = append(out, r)
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return out, err
}

// scan reads the KurrentDB stream name after version after to its end, and
// returns its events carrying one of ids, and the last event read (nil if
// none).
func (s *Store) scan(ctx context.Context, name string, after uint64, ids []string) (map[string]event.Record, *event.Record, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	found := map[string]event.Record{}
	var last *event.Record
	for rev := after; ; {
		page, err := s.readRange(ctx, name, rev, readPage)
		if err != nil {
			return nil, nil, fmt.Errorf("look for the event IDs in %q: %w", name, err)
		}
		for _, r := range page {
			if want[r.ID] {
				found[r.ID] = r
			}
		}
		if len(page) > 0 {
			l := page[len(page)-1]
			last = &l
			rev = l.Version // the revision after version v is v
		}
		if len(page) < readPage {
			return found, last, nil
		}
	}
}

// each calls fn for every event rs yields, then closes it. A missing
// stream comes back as the client's not-found error (see isNotFound).
func each(rs *esdb.ReadStream, fn func(*esdb.RecordedEvent) error) error {
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if e := ev.OriginalEvent(); e != nil {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}

// isNotFound reports the client's error for a stream with no events.
func isNotFound(err error) bool {
	var ee *esdb.Error
	return errors.As(err, &ee) && ee.IsErrorCode(esdb.ErrorCodeResourceNotFound)
}

// positionAfter reports whether a comes after b in $all.
func positionAfter(a, b esdb.Position) bool {
	return a.Commit > b.Commit || (a.Commit == b.Commit && a.Prepare > b.Prepare)
}
