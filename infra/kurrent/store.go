// Package kurrent is the ledger's event store on KurrentDB (formerly
// EventStoreDB), through github.com/EventStore/EventStore-Client-Go/v4.
//
// It fulfils the same contract as the SQL backends (eventstore.Store), with
// these documented differences and the way each is bridged:
//
//   - Versions: KurrentDB revisions start at 0, ledger versions at 1
//     (version = revision + 1).
//   - Positions: a record's Position is its $all commit position. Positions
//     increase but are not contiguous. The server must report $all
//     positions on stream reads (EventStoreDB 22.10 or later, any KurrentDB),
//     and events must not come from the TCP API's explicit transactions
//     (commit position = prepare position); anything else is refused with
//     an error rather than given a wrong position.
//   - Idempotency: KurrentDB recognises a retried append only in some cases
//     and never refuses an event ID reused in another stream. The store keeps
//     its own event-ID index (one small reservation stream per event ID,
//     created with expected version "no stream") and reads back what it
//     wrote, so that a retry returns the first append's result and any other
//     reuse of an ID fails with event.ErrDuplicateID. See index.go.
//   - Hash chain and recorded time: each append reads the stream's last event
//     and appends with that exact expected revision, so that the chain and
//     the never-decreasing recorded time are computed against the event
//     actually preceding; an append with event.Any() retries when it loses
//     that race.
//   - The global log the store shows (ReadAll, Head, Subscribe) holds only
//     its own events: system events (type or stream starting with $), the
//     event-ID index and, with Config.StreamPrefix, other prefixes' streams
//     are left out. Any other event found there is an error, never skipped.
package kurrent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Config configures a Store.
type Config struct {
	// Clock stamps recorded times. Required.
	Clock clock.Clock
	// StreamPrefix, if set, is put before every stream name in KurrentDB, and
	// the store's global log shows only streams carrying it. It lets several
	// ledgers (or test runs) share one database; a production ledger
	// normally has a database of its own and leaves it empty. It must not
	// start with $, which KurrentDB reserves for system streams.
	StreamPrefix string
	// Logger receives the client library's log lines. Default: slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Clock == nil {
		errs = append(errs, errors.New("kurrent: config needs a clock"))
	}
	if strings.HasPrefix(c.StreamPrefix, "$") {
		errs = append(errs, fmt.Errorf("kurrent: stream prefix %q starts with $, which KurrentDB reserves for system streams", c.StreamPrefix))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Store is an eventstore.Store on a KurrentDB database or cluster. It is
// safe for concurrent use.
type Store struct {
	client *esdb.Client
	cfg    Config
	prefix string

	// lastRecorded (Unix nanoseconds) is the latest recorded time this
	// store has stamped: times from one process never go back even if the
	// wall clock does. Across processes, see the package comment of Append.
	lastRecorded atomic.Int64

	mu       sync.RWMutex // guards closed against new operations
	closed   bool
	inflight sync.WaitGroup
	closing  context.Context // ended by Close: stops subscriptions
	stop     context.CancelFunc
}

// Open connects to the KurrentDB named by url, an esdb connection string
// such as "esdb://localhost:2113?tls=false" or
// "esdb+discover://user:pass@cluster.example:2113", and checks that it can
// read $all (the connection's user needs that right). A malformed string or
// an unreachable server is an error.
func Open(ctx context.Context, url string, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	conf, err := parseConnectionString(url)
	if err != nil {
		return nil, err
	}
	conf.Logger = clientLogger(cfg.Logger)
	client, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("kurrent: connect to %s: %s", redactURL(url), redact(url, err.Error()))
	}
	closing, stop := context.WithCancel(context.Background())
	s := &Store{client: client, cfg: cfg, prefix: cfg.StreamPrefix, closing: closing, stop: stop}
	if err := s.ping(ctx); err != nil {
		stop()
		_ = client.Close()
		return nil, fmt.Errorf("kurrent: connect to %s: %s", redactURL(url), redact(url, err.Error()))
	}
	return s, nil
}

// parseConnectionString parses url with the client's parser and turns its
// terse errors into one that says what was expected, without the password.
func parseConnectionString(url string) (*esdb.Configuration, error) {
	if strings.TrimSpace(url) == "" {
		return nil, errors.New("kurrent: connection string is empty; want e.g. esdb://localhost:2113?tls=false")
	}
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("kurrent: bad connection string %s: %s; want e.g. esdb://localhost:2113?tls=false",
			redactURL(url), redact(url, err.Error()))
	}
	return conf, nil
}

// ping reads the last event of $all: it proves the server answers and lets
// this user read $all, which ReadAll, Head and Subscribe need.
func (s *Store) ping(ctx context.Context) error {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return err
	}
	return each(rs, func(*esdb.RecordedEvent) error { return nil })
}

// begin registers an operation so that Close waits for it, or refuses it
// once the store is closed.
func (s *Store) begin() (done func(), err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	s.inflight.Add(1)
	return s.inflight.Done, nil
}

// Close refuses new operations, ends subscriptions, waits for appends and
// reads in flight, then closes the connection.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.inflight.Wait()
	return s.client.Close()
}

// maxAnyAttempts bounds how often an append with event.Any() re-reads the
// stream's head after losing the race for it, so that a stream under
// endless contention yields an error instead of a stuck caller.
const maxAnyAttempts = 64

// Append implements eventstore.Store.
//
// An append costs, without contention: one read of the stream's last event,
// one reservation per event ID (concurrent), the append itself, and one
// read of what was written (for the exact positions: the append answer's
// position is not the last event's on every server version, and is absent
// when the server recognised a retry).
//
// Recorded time never decreases along a stream, nor among the appends of
// one Store. Two processes appending to different streams at the same
// moment can commit in the opposite order of their clock readings, so along
// the global log recorded time can step back by that much.
func (s *Store) Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error) {
	done, err := s.begin()
	if err != nil {
		return event.AppendResult{}, err
	}
	defer done()
	events, err = eventstore.Normalize(stream, events)
	if err != nil {
		return event.AppendResult{}, err
	}
	if err := checkNames(stream, events); err != nil {
		return event.AppendResult{}, err
	}
	res, err := s.append(ctx, stream, expected, events)
	if err != nil {
		var ce *event.ConflictError
		if errors.As(err, &ce) || errors.Is(err, event.ErrDuplicateID) {
			return event.AppendResult{}, err // they name the stream already
		}
		return event.AppendResult{}, fmt.Errorf("kurrent: append to %q: %w", stream, err)
	}
	return res, nil
}

func (s *Store) append(ctx context.Context, stream string, expected event.ExpectedVersion, events []event.Proposed) (event.AppendResult, error) {
	name := s.prefix + stream
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	// The head is read before the IDs are reserved. A fresh reservation
	// proves no event with these IDs was stored before it, so none of them
	// lies at or below this head, and checking what comes after is enough.
	head, err := s.readLast(ctx, name)
	if err != nil {
		return event.AppendResult{}, err
	}
	want, exact := expected.Version()
	if exact && head.Version != want {
		// Not appendable as asked; only a retry of an append already stored
		// can still succeed. Look the IDs up without reserving them, so that
		// a plain conflict leaves nothing behind.
		return s.settleMismatch(ctx, stream, expected, head, events)
	}
	res, err := s.reserve(ctx, stream, ids, true)
	if err != nil {
		return event.AppendResult{}, err
	}
	maybeStored, err := checkOwners(stream, ids, res)
	if err != nil {
		return event.AppendResult{}, err
	}
	floor := head.Version // no event with these IDs lies at or below floor
	if maybeStored {
		// An ID was reserved for this stream before: this may be a retry.
		found, last, err := s.scan(ctx, name, 0, ids)
		if err != nil {
			return event.AppendResult{}, err
		}
		if r, retry, err := retried(stream, events, found); retry || err != nil {
			return r, err
		}
		if last != nil {
			head = *last
		}
		floor = head.Version
		if exact && head.Version != want {
			return event.AppendResult{}, conflict(stream, expected, head.Version)
		}
	}
	for attempt := 1; ; attempt++ {
		records := buildRecords(stream, head, events, s.now())
		data, err := toEventData(records)
		if err != nil {
			return event.AppendResult{}, err
		}
		wr, err := s.client.AppendToStream(ctx, name, esdb.AppendToStreamOptions{
			ExpectedRevision: expectedRevision(event.Exact(head.Version)),
		}, data...)
		if err == nil {
			return s.confirm(ctx, stream, events, wr)
		}
		actual, known, isConflict := conflictFromError(err)
		if !isConflict {
			return event.AppendResult{}, err
		}
		// Someone appended first; perhaps this very append (a concurrent
		// retry), so look at what arrived after floor.
		found, last, err := s.scan(ctx, name, floor, ids)
		if err != nil {
			return event.AppendResult{}, err
		}
		if r, retry, err := retried(stream, events, found); retry || err != nil {
			return r, err
		}
		if !known {
			actual = head.Version
			if last != nil {
				actual = last.Version
			}
		}
		if exact || last == nil {
			// With event.Any() and no newer event to chain on (a stream
			// deleted under us), trying again would only spin.
			return event.AppendResult{}, conflict(stream, expected, actual)
		}
		if attempt == maxAnyAttempts {
			return event.AppendResult{}, fmt.Errorf("expected version any: the stream moved on %d times in a row; last seen at version %d", attempt, actual)
		}
		head, floor = *last, last.Version
	}
}

// settleMismatch decides an append whose exact expected version differs
// from the stream's: a retry of an append already stored returns its
// result, a reuse of IDs is a duplicate, anything else a conflict.
func (s *Store) settleMismatch(ctx context.Context, stream string, expected event.ExpectedVersion, head event.Record, events []event.Proposed) (event.AppendResult, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	res, err := s.reserve(ctx, stream, ids, false)
	if err != nil {
		return event.AppendResult{}, err
	}
	maybeStored, err := checkOwners(stream, ids, res)
	if err != nil {
		return event.AppendResult{}, err
	}
	if !maybeStored {
		return event.AppendResult{}, conflict(stream, expected, head.Version)
	}
	found, last, err := s.scan(ctx, s.prefix+stream, 0, ids)
	if err != nil {
		return event.AppendResult{}, err
	}
	if r, retry, err := retried(stream, events, found); retry || err != nil {
		return r, err
	}
	actual := head.Version
	if last != nil {
		actual = last.Version
	}
	return event.AppendResult{}, conflict(stream, expected, actual)
}

// confirm reads back the events the server reports at the end of the
// stream and returns their versions and exact positions. They must be this
// append's events: the server answers success for a retry it recognised,
// and what it recognises is checked here, not assumed.
func (s *Store) confirm(ctx context.Context, stream string, events []event.Proposed, wr *esdb.WriteResult) (event.AppendResult, error) {
	n := uint64(len(events))
	last := wr.NextExpectedVersion // the revision of the last event written
	if last+1 < n {
		return event.AppendResult{}, fmt.Errorf("server reported revision %d after appending %d events", last, n)
	}
	recs, err := s.readRange(ctx, s.prefix+stream, last+1-n, n)
	if err != nil {
		return event.AppendResult{}, fmt.Errorf("read back the appended events: %w", err)
	}
	if uint64(len(recs)) != n {
		return event.AppendResult{}, fmt.Errorf("read back %d events at revisions %d-%d, want %d", len(recs), last+1-n, last, n)
	}
	for i, r := range recs {
		if r.ID != events[i].ID {
			return event.AppendResult{}, fmt.Errorf("server reported success but version %d holds event %s, not %s", r.Version, r.ID, events[i].ID)
		}
	}
	return event.AppendResult{StreamID: stream, FirstVersion: recs[0].Version, LastVersion: recs[n-1].Version, Position: recs[n-1].Position}, nil
}

// now returns the clock's time as stored, never before a time this store
// has already stamped.
func (s *Store) now() time.Time {
	t := eventstore.Timestamp(s.cfg.Clock.Now())
	for {
		last := s.lastRecorded.Load()
		if t.UnixNano() <= last {
			return time.Unix(0, last).UTC()
		}
		if s.lastRecorded.CompareAndSwap(last, t.UnixNano()) {
			return t
		}
	}
}

// clientLogger sends the client library's log lines to slog. The client
// logs as errors things the store handles and reports itself (a
// subscription ended by its context, a failed call it returns), so its
// errors become warnings.
func clientLogger(l *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		lv := slog.LevelDebug
		switch level {
		case esdb.LogInfo:
			lv = slog.LevelInfo
		case esdb.LogWarn, esdb.LogError:
			lv = slog.LevelWarn
		}
		l.Log(context.Background(), lv, fmt.Sprintf(format, args...), "component", "kurrentdb-client")
	}
}
