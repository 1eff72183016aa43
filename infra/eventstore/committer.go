package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/projections"
)

// BatchBackend is what a SQL engine gives the group committer: a
// transaction that locks the log head until it commits.
type BatchBackend interface {
	// BeginBatch starts a transaction for one batch. inline names the
	// checkpoints of the inline projections (see Inline): the first Load
	// then also locks and reads those rows, in that order (LogState.Inline).
	BeginBatch(ctx context.Context, inline []string) (BatchTx, error)
}

// BatchTx is one batch's transaction. The committer calls Load once, then
// either Commit or Rollback.
type BatchTx interface {
	// Load locks the log head for the rest of the transaction (so that
	// positions are allocated under a lock held to commit, and a reader
	// can never see position n+1 before n), then returns the log's state:
	// the head, the heads of the given streams and the already-stored
	// events among ids. The committer may call it a second time in the
	// same transaction, for more streams.
	Load(ctx context.Context, streams []string, ids []string) (LogState, error)
	// Commit stores records (positions head+1 … in order), moves the given
	// stream heads and the log head, runs inline (if not nil) on the same
	// transaction, and commits. A statement of inline's that fails fails
	// the commit.
	Commit(ctx context.Context, records []event.Record, heads []StreamHead, inline func(projections.Tx) error) error
	// Rollback abandons the transaction.
	Rollback(ctx context.Context) error
}

// ExpectingBackend is a BatchBackend that can also commit a batch in one
// round trip, without Load's: on the committer's own knowledge of the
// log, which is exact while it is the log's only writer (issue 21: on
// PostgreSQL, Load is a round trip of its own while the append lock is
// held, and its reads a fifth of the batch's statements).
type ExpectingBackend interface {
	BatchBackend
	// CommitExpected begins a transaction, takes the append lock, and
	// checks that the log head is still head and that each of the inline
	// checkpoints is live at it; then it writes and commits as
	// BatchTx.Commit does, all in one round trip. If a check fails, or a
	// record breaks a unique key (its event ID is stored already: a
	// retry), nothing is written and the error is ErrStale; the committer
	// then decides the batch again the usual way. Any other error is as
	// BatchTx.Commit's.
	CommitExpected(ctx context.Context, head uint64, inline []string, records []event.Record, heads []StreamHead,
		apply func(projections.Tx) error) error
}

// ErrStale is an ExpectingBackend's refusal of a batch decided on a log
// state that was not the log's: nothing was written.
var ErrStale = errors.New("eventstore: the log is not as the batch expected")

// LogState is the part of the log a batch decides on.
type LogState struct {
	// Head is the position of the last stored event (0: empty log).
	Head uint64
	// LastRecordedAt is the recorded time of the last stored event.
	LastRecordedAt time.Time
	// Streams holds the heads of the requested streams that exist.
	Streams map[string]StreamHead
	// Stored holds, by event ID, the requested IDs that are already stored.
	Stored map[string]StoredID
	// Inline holds the inline projections' checkpoints, in the order
	// BeginBatch named them.
	Inline []InlineCheckpoint
}

// InlineCheckpoint is an inline projection's checkpoint row as a batch
// found it under the append lock.
type InlineCheckpoint struct {
	Position uint64
	// Live is false for a projection that is failed or being rebuilt, or
	// that has no checkpoint row yet.
	Live bool
}

// Inline is a read model applied inside the append batches' own
// transactions (an inline projection, as Marten has them): an event then
// costs one write transaction, not one for the append and another for the
// projection. The committer applies each to a batch only when its
// checkpoint is live at exactly the log head the batch follows, so every
// earlier event is applied and none twice; Apply moves the checkpoint to
// the batch's last event in the same transaction. Otherwise (the
// projection is behind, failed or rebuilding: a restart, another process
// without it, `ledger projections rebuild`) the batch commits without it,
// and the projection's asynchronous runtime catches up in log order as
// before; once it has, the next batch is applied inline again.
type Inline interface {
	// Checkpoint is the name of the projection's checkpoint row.
	Checkpoint() string
	// Apply applies records (one batch, in position order) through tx and
	// moves the checkpoint to the last of them.
	Apply(ctx context.Context, tx projections.Tx, records []event.Record) error
	// Applied is told, after the commit, the position the checkpoint was
	// moved to.
	Applied(position uint64)
}

// StreamHead is a stream's current version and the hash of its last event.
type StreamHead struct {
	StreamID string
	Version  uint64
	Hash     []byte
}

// StoredID says where an already-stored event ID lives.
type StoredID struct {
	StreamID          string
	Version, Position uint64
}

// CommitObserver is told about each committed batch (for metrics).
type CommitObserver interface {
	ObserveCommit(requests, events int, took time.Duration, err error)
}

// CommitterConfig configures a Committer.
type CommitterConfig struct {
	// Backend opens batch transactions. Required.
	Backend BatchBackend
	// Clock stamps recorded times. Required.
	Clock clock.Clock
	// MaxBatchEvents caps the events of one transaction. Default 1024.
	MaxBatchEvents int
	// CommitTimeout bounds one batch's transaction. Default 30s.
	CommitTimeout time.Duration
	// MaxGatherWait bounds how long a batch waits for appenders that are
	// active but have not queued yet (see Committer). Default 500µs;
	// negative disables waiting.
	MaxGatherWait time.Duration
	// Observer, if set, is told about each batch.
	Observer CommitObserver
	// OnCommit, if set, runs after each successful commit (e.g. to wake
	// subscribers in other processes).
	OnCommit func(head uint64)
	// RetryFor is how long a batch that failed because the database was
	// unavailable (the backend's error matches ErrUnavailable: a restart,
	// a failover to a standby) is tried again before its appends fail.
	// Zero: not retried. A retry looks every event ID of the batch up
	// first, so an append whose commit went through although its answer
	// was lost gets its first result, and is never stored twice.
	RetryFor time.Duration
}

func (c *CommitterConfig) setDefaults() {
	if c.MaxBatchEvents <= 0 {
		c.MaxBatchEvents = 1024
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = 30 * time.Second
	}
	if c.MaxGatherWait == 0 {
		c.MaxGatherWait = 500 * time.Microsecond
	}
}

// Validate reports every missing required field.
func (c CommitterConfig) Validate() error {
	var errs []error
	if c.Backend == nil {
		errs = append(errs, errors.New("eventstore: committer needs a backend"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("eventstore: committer needs a clock"))
	}
	return errors.Join(errs...)
}

// Committer coalesces concurrent appends into one transaction per commit
// (group commit): while one batch commits, the appends that arrive queue
// up and go together in the next. Each append keeps its own optimistic
// concurrency result: a conflict fails that append only.
//
// Left alone, N steady writers settle into two alternating half-batches:
// the writers acknowledged by one commit come back just after the next
// batch has started. So a batch also waits, briefly (MaxGatherWait), for
// appenders that are inside Append but not yet queued: it never waits for
// a writer that is not there, so a lone writer never waits at all.
type Committer struct {
	cfg      CommitterConfig
	requests chan *appendRequest
	notifier *Notifier
	tail     *Tail
	active   atomic.Int64 // appends between entering Append and their reply

	mu     sync.RWMutex // guards closed against sends on requests
	closed bool
	done   chan struct{}

	// heads caches stream heads as of lastHead, the log head after this
	// committer's last commit; only the run goroutine touches them. The
	// cache is a hint (rule X-8): trusted only while the locked log head
	// still equals lastHead, i.e. nobody else (another process) appended
	// since, and emptied as soon as somebody did.
	heads    map[string]StreamHead
	lastHead uint64
	known    bool // lastHead is meaningful
	// lastRecordedAt is the recorded time at lastHead, and inlineAt the
	// inline projections (by checkpoint name) the batch that ended at
	// lastHead applied, so live at it: with the heads, what a batch
	// needs to be committed without a Load (ExpectingBackend).
	lastRecordedAt time.Time
	inlineAt       []string
	// unexpected counts down the batches that are not tried without a
	// Load after a try found the log moved by another writer.
	unexpected int

	inline atomic.Pointer[inlineSet] // see SetInline
}

// inlineSet is the inline projections and their checkpoints' names.
type inlineSet struct {
	ps    []Inline
	names []string
}

// SetInline makes ps the inline projections of the batches that begin
// from now on; none stops them. Their database must be the log's.
func (c *Committer) SetInline(ps ...Inline) {
	set := &inlineSet{ps: ps, names: make([]string, len(ps))}
	for i, p := range ps {
		set.names[i] = p.Checkpoint()
	}
	c.inline.Store(set)
}

// errInline marks a batch that failed with its inline projection applied:
// the batch is committed again without it.
var errInline = errors.New("eventstore: the inline projection failed")

// maxCachedHeads bounds the stream-head cache; past it the cache starts over.
const maxCachedHeads = 100_000

type appendRequest struct {
	ctx      context.Context
	stream   string
	expected event.ExpectedVersion
	events   []event.Proposed
	// callerIDs says whether the caller chose the events' IDs. IDs the
	// store generated (UUIDv7) are new by construction and need no
	// idempotency lookup.
	callerIDs bool
	reply     chan appendReply
}

type appendReply struct {
	result event.AppendResult
	err    error
}

// NewCommitter starts a committer. Close it to stop it.
func NewCommitter(cfg CommitterConfig) (*Committer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	c := &Committer{
		cfg:      cfg,
		requests: make(chan *appendRequest, cfg.MaxBatchEvents),
		notifier: NewNotifier(),
		tail:     NewTail(),
		done:     make(chan struct{}),
		heads:    map[string]StreamHead{},
	}
	go c.run()
	return c, nil
}

// Notifier is signalled after every commit.
func (c *Committer) Notifier() *Notifier { return c.notifier }

// Tail holds the latest events this committer committed.
func (c *Committer) Tail() *Tail { return c.tail }

// ReadTail implements TailReader: the latest events this committer
// committed after after, or nothing when after is the newest head this
// process knows of (its notifier's).
func (c *Committer) ReadTail(after uint64, limit int) ([]event.Record, bool) {
	recs, ok := c.tail.ReadKnown(after, limit)
	if ok && len(recs) == 0 && after < c.notifier.Head() {
		return nil, false // another process's commit is known: it is in the database
	}
	return recs, ok
}

// TailReader is a store that can tell what it knows of the log's newest
// events without asking the database (see Committer.ReadTail): for reads
// ahead, which may stop short of what another process appended unheard.
type TailReader interface {
	ReadTail(after uint64, limit int) ([]event.Record, bool)
}

// Append queues an append for the next batch and waits for its outcome.
// If ctx ends first, Append returns ctx's error; the append may still have
// been committed, and retrying it with the same event IDs is safe.
func (c *Committer) Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error) {
	callerIDs := false
	for _, e := range events {
		callerIDs = callerIDs || e.ID != ""
	}
	events, err := Normalize(stream, events)
	if err != nil {
		return event.AppendResult{}, err
	}
	if len(events) > c.cfg.MaxBatchEvents {
		return event.AppendResult{}, fmt.Errorf("%w: stream %q: %d events in one append, at most %d", ErrInvalid, stream, len(events), c.cfg.MaxBatchEvents)
	}
	req := &appendRequest{ctx: ctx, stream: stream, expected: expected, events: events, callerIDs: callerIDs, reply: make(chan appendReply, 1)}
	c.active.Add(1)
	defer c.active.Add(-1)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return event.AppendResult{}, ErrClosed
	}
	select {
	case c.requests <- req:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return event.AppendResult{}, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.result, r.err
	case <-ctx.Done():
		return event.AppendResult{}, ctx.Err()
	}
}

// Close stops taking appends, commits those already queued, and returns
// when the last batch is done.
func (c *Committer) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.requests)
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

func (c *Committer) run() {
	defer close(c.done)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for first := range c.requests {
		c.gather(first, gather)
	}
}

// gather builds batches from first and what follows it, committing each:
// it takes whatever is queued, then waits (at most MaxGatherWait) while
// fewer appends are in hand than are active, and commits.
func (c *Committer) gather(first *appendRequest, timer *time.Timer) {
	batch, n := []*appendRequest{first}, len(first.events)
	add := func(req *appendRequest) {
		if n+len(req.events) > c.cfg.MaxBatchEvents {
			c.commit(batch)
			batch, n = nil, 0
		}
		batch = append(batch, req)
		n += len(req.events)
	}
	var deadline <-chan time.Time // nil until the batch starts waiting
	defer timer.Stop()
	for n < c.cfg.MaxBatchEvents {
		select { // first, whatever is queued
		case req, ok := <-c.requests:
			if !ok {
				c.commitRest(batch)
				return
			}
			add(req)
			continue
		default:
		}
		// Nothing queued: wait only for appenders already inside Append,
		// and only until the deadline.
		if c.cfg.MaxGatherWait < 0 || int64(len(batch)) >= c.active.Load() {
			break
		}
		if deadline == nil {
			timer.Reset(c.cfg.MaxGatherWait)
			deadline = timer.C
		}
		select {
		case req, ok := <-c.requests:
			if !ok {
				c.commitRest(batch)
				return
			}
			add(req)
			continue
		case <-deadline:
		}
		break
	}
	c.commitRest(batch)
}

// commitRest commits what is left of a batch.
func (c *Committer) commitRest(batch []*appendRequest) {
	if len(batch) > 0 {
		c.commit(batch)
	}
}

// commit runs one batch and replies to every request in it.
func (c *Committer) commit(batch []*appendRequest) {
	live := batch[:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.reply <- appendReply{err: err} // given up before the batch began
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	replies, records, head, err := c.commitOnce(live, false, true)
	if errors.Is(err, errInline) {
		// A read model must never cost an append: the batch commits without
		// it, and the projection's runtime meets the error on its own and
		// stops the projection at the event, as for any projection.
		replies, records, head, err = c.commitOnce(live, false, false)
	}
	for wait := retryWaitMin; err != nil && errors.Is(err, ErrUnavailable) && time.Since(start)+wait < c.cfg.RetryFor; wait = min(2*wait, retryWaitMax) {
		// The database is away: restarting, or failing over to its
		// standby. The batch may have committed before the connection
		// broke, so the retry looks up every event ID of it.
		time.Sleep(wait)
		replies, records, head, err = c.commitOnce(live, true, true)
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.ObserveCommit(len(live), len(records), time.Since(start), err)
	}
	// The tail learns of the batch before anyone is told it committed, so
	// that a read after an acknowledged append sees it.
	if err != nil {
		c.tail.forget()
	} else {
		c.tail.push(records)
	}
	for i, req := range live {
		r := replies[i]
		if err != nil && r.err == nil {
			r = appendReply{err: fmt.Errorf("eventstore: append to %q: %w", req.stream, err)}
		}
		req.reply <- r
	}
	if err == nil && len(records) > 0 {
		c.notifier.Advance(head)
		if c.cfg.OnCommit != nil {
			c.cfg.OnCommit(head)
		}
	}
}

// The waits between the tries of a batch the database was unavailable for.
const (
	retryWaitMin = 50 * time.Millisecond
	retryWaitMax = time.Second
)

// commitOnce decides and commits batch in one transaction bounded by
// CommitTimeout; lookupAll looks every event ID up, not only the caller's;
// withInline applies the inline projection, if any and caught up.
func (c *Committer) commitOnce(batch []*appendRequest, lookupAll, withInline bool) ([]appendReply, []event.Record, uint64, error) {
	// One caller's cancellation must not abort its neighbours' commit.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CommitTimeout)
	defer cancel()
	var inline inlineSet
	if set := c.inline.Load(); set != nil && withInline {
		inline = *set
	}
	return c.decideAndCommit(ctx, batch, lookupAll, inline)
}

func (c *Committer) decideAndCommit(ctx context.Context, batch []*appendRequest, lookupAll bool, inline inlineSet) ([]appendReply, []event.Record, uint64, error) {
	fail := func(err error) ([]appendReply, []event.Record, uint64, error) {
		c.known = false // the transaction may or may not have committed
		return make([]appendReply, len(batch)), nil, 0, err
	}
	var uncached, all, ids []string
	seenStream := map[string]bool{}
	for _, req := range batch {
		if !seenStream[req.stream] {
			seenStream[req.stream] = true
			all = append(all, req.stream)
			if _, ok := c.heads[req.stream]; !ok || !c.known {
				uncached = append(uncached, req.stream)
			}
		}
		if req.callerIDs || lookupAll {
			for _, e := range req.events {
				ids = append(ids, e.ID)
			}
		}
	}
	if len(uncached) == 0 && !lookupAll {
		replies, records, head, err, done := c.commitExpected(ctx, batch, all, inline)
		if done || errors.Is(err, ErrUnavailable) {
			if err != nil {
				return fail(err)
			}
			return replies, records, head, nil
		}
	}
	tx, err := c.cfg.Backend.BeginBatch(ctx, inline.names)
	if err != nil {
		return fail(err)
	}
	state, err := tx.Load(ctx, uncached, ids)
	if err != nil {
		_ = tx.Rollback(ctx)
		return fail(err)
	}
	if c.known && state.Head == c.lastHead {
		for _, s := range all { // nobody appended since our last commit: the cache is exact
			if h, ok := c.heads[s]; ok {
				if _, loaded := state.Streams[s]; !loaded {
					state.Streams[s] = h
				}
			}
		}
	} else {
		// Another writer (another process) moved the log: every cached head
		// may be stale, those of streams this batch does not touch too, so
		// the cache starts over from what is read under this lock (issue
		// 18: kept, a stale head looked current again after the next
		// commit, and an append on it failed its whole batch on the unique
		// (stream, version) key).
		clear(c.heads)
		if len(uncached) < len(all) {
			more, err := tx.Load(ctx, all, nil)
			if err != nil {
				_ = tx.Rollback(ctx)
				return fail(err)
			}
			state.Streams = more.Streams
		}
	}
	replies, records, heads := decideBatch(state, batch, Timestamp(c.cfg.Clock.Now()))
	if len(records) == 0 {
		_ = tx.Rollback(ctx) // only retries and refusals: nothing to write
		c.remember(state.Head, state.Streams)
		return replies, nil, state.Head, nil
	}
	var (
		applied []Inline
		apply   func(projections.Tx) error
	)
	for i, cp := range state.Inline {
		if cp.Live && cp.Position == state.Head {
			applied = append(applied, inline.ps[i])
		}
	}
	if len(applied) > 0 {
		apply = func(ptx projections.Tx) error {
			for _, p := range applied {
				if err := p.Apply(ctx, ptx, records); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := tx.Commit(ctx, records, heads, apply); err != nil {
		_ = tx.Rollback(ctx)
		if apply != nil && !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", errInline, err)
		}
		return fail(err)
	}
	last := records[len(records)-1].Position
	c.remember(last, state.Streams)
	c.committed(records, heads, applied)
	return replies, records, last, nil
}

// committed updates what the committer knows of the log after it
// committed records, moving heads, with the inline projections applied,
// and tells those.
func (c *Committer) committed(records []event.Record, heads []StreamHead, applied []Inline) {
	last := records[len(records)-1]
	for _, h := range heads {
		c.heads[h.StreamID] = h
	}
	c.lastRecordedAt = last.RecordedAt
	c.inlineAt = c.inlineAt[:0]
	for _, p := range applied {
		c.inlineAt = append(c.inlineAt, p.Checkpoint())
		p.Applied(last.Position)
	}
}

// unexpectedCooldown is how many batches go the usual way after a batch
// committed without a Load found the log moved by another writer: with
// several processes appending, most tries would fail and cost a round
// trip each.
const unexpectedCooldown = 64

// commitExpected commits batch without a Load when the backend can and
// the committer knows all it needs: the log head and the heads of every
// stream of the batch (all), and every inline projection live at the
// head. It decides on that knowledge, and commits only a batch it
// accepts whole (a conflict or a retry is decided again the usual way,
// under the lock). done is false when it did not commit: not tried, or
// refused as stale (nothing was written); err is then nil, or
// ErrUnavailable's (the commit may have happened).
func (c *Committer) commitExpected(ctx context.Context, batch []*appendRequest, all []string, inline inlineSet) (replies []appendReply, records []event.Record, head uint64, err error, done bool) {
	backend, ok := c.cfg.Backend.(ExpectingBackend)
	if !ok || !c.known || c.lastHead == 0 || !slices.Equal(c.inlineAt, inline.names) {
		return nil, nil, 0, nil, false
	}
	if c.unexpected > 0 {
		c.unexpected--
		return nil, nil, 0, nil, false
	}
	state := LogState{Head: c.lastHead, LastRecordedAt: c.lastRecordedAt, Streams: make(map[string]StreamHead, len(all))}
	for _, s := range all {
		state.Streams[s] = c.heads[s]
	}
	replies, records, heads := decideBatch(state, batch, Timestamp(c.cfg.Clock.Now()))
	if len(records) == 0 {
		return nil, nil, 0, nil, false
	}
	for _, r := range replies {
		if r.err != nil {
			return nil, nil, 0, nil, false
		}
	}
	var apply func(projections.Tx) error
	if len(inline.ps) > 0 {
		apply = func(ptx projections.Tx) error {
			for _, p := range inline.ps {
				if err := p.Apply(ctx, ptx, records); err != nil {
					return err
				}
			}
			return nil
		}
	}
	switch err := backend.CommitExpected(ctx, c.lastHead, inline.names, records, heads, apply); {
	case errors.Is(err, ErrUnavailable):
		return nil, nil, 0, err, false
	case err != nil:
		// Moved by another writer, a retry, or a failing inline
		// projection: the usual way decides it under the lock, and knows.
		c.unexpected = unexpectedCooldown
		return nil, nil, 0, nil, false
	}
	last := records[len(records)-1].Position
	c.lastHead = last
	c.committed(records, heads, inline.ps)
	return replies, records, last, nil, true
}

// remember records head as the log head this committer last saw under
// the append lock, with the stream heads read under it.
func (c *Committer) remember(head uint64, streams map[string]StreamHead) {
	if len(c.heads)+len(streams) > maxCachedHeads {
		clear(c.heads)
	}
	for s, h := range streams {
		c.heads[s] = h
	}
	c.lastHead, c.known = head, true
}

// decideBatch applies each request's idempotency and expected-version
// rules in arrival order against the log state and the batch's earlier
// requests, and builds the records of those accepted.
func decideBatch(state LogState, batch []*appendRequest, now time.Time) ([]appendReply, []event.Record, []StreamHead) {
	recordedAt := now
	if recordedAt.Before(state.LastRecordedAt) {
		recordedAt = state.LastRecordedAt // recorded time never decreases along the log
	}
	heads := map[string]StreamHead{}
	for id, h := range state.Streams {
		heads[id] = h
	}
	stored := map[string]StoredID{}
	for id, s := range state.Stored {
		stored[id] = s
	}
	var (
		replies = make([]appendReply, len(batch))
		records []event.Record
		order   []string // streams in the order they were first moved
		head    = state.Head
	)
	for i, req := range batch {
		if result, retried, err := retriedAppend(req, stored); retried || err != nil {
			replies[i] = appendReply{result: result, err: err}
			continue
		}
		cur := heads[req.stream]
		if !req.expected.Allows(cur.Version) {
			replies[i] = appendReply{err: &event.ConflictError{StreamID: req.stream, Expected: req.expected, Actual: cur.Version}}
			continue
		}
		if cur.Version == 0 {
			cur.StreamID = req.stream
		}
		order = appendOnce(order, req.stream)
		first := cur.Version + 1
		for _, e := range req.events {
			head++
			cur.Version++
			rec := event.Record{
				Position: head, StreamID: req.stream, Version: cur.Version, ID: e.ID, Type: e.Type,
				SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata, RecordedAt: recordedAt,
			}
			rec.Hash = event.ChainHash(cur.Hash, rec)
			cur.Hash = rec.Hash
			stored[e.ID] = StoredID{StreamID: req.stream, Version: cur.Version, Position: head}
			records = append(records, rec)
		}
		heads[req.stream] = cur
		replies[i] = appendReply{result: event.AppendResult{StreamID: req.stream, FirstVersion: first, LastVersion: cur.Version, Position: head,
			RecordedAt: recordedAt}}
	}
	moved := make([]StreamHead, 0, len(order))
	for _, s := range order {
		moved = append(moved, heads[s])
	}
	return replies, records, moved
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// retriedAppend recognises a retry of an append already stored: all of its
// event IDs stored as one consecutive run of the same stream, in order.
func retriedAppend(req *appendRequest, stored map[string]StoredID) (event.AppendResult, bool, error) {
	var found int
	for _, e := range req.events {
		if _, ok := stored[e.ID]; ok {
			found++
		}
	}
	if found == 0 {
		return event.AppendResult{}, false, nil
	}
	first := stored[req.events[0].ID]
	consistent := found == len(req.events) && first.StreamID == req.stream
	for i, e := range req.events {
		s := stored[e.ID]
		if !consistent || s.StreamID != req.stream || s.Version != first.Version+uint64(i) {
			consistent = false
			break
		}
	}
	if !consistent {
		for _, e := range req.events {
			if s, ok := stored[e.ID]; ok {
				return event.AppendResult{}, false, fmt.Errorf("%w: event %s is stored in stream %q at version %d; this append to %q is not a retry of that one",
					event.ErrDuplicateID, e.ID, s.StreamID, s.Version, req.stream)
			}
		}
	}
	last := stored[req.events[len(req.events)-1].ID]
	return event.AppendResult{StreamID: req.stream, FirstVersion: first.Version, LastVersion: last.Version, Position: last.Position}, true, nil
}
