package queries

import (
	"container/list"
	"context"
	"fmt"

	"seatledger/domain/event"
)

// LiveStreamsMax is how many streams LiveSnapshots keeps folded by
// default. A stream earns its place by being appended to: one that
// reaches a snapshot does so over SnapshotEvery (1024) of its own events,
// and is evicted only if 4096 other streams are appended to between two
// of its events, while a busy fleet (ledger bench ingest reports for 64
// installations) reports on far fewer streams than that at a time. The
// states are small (as JSON an installation's is about 1 KB, a key's or a
// person's a few hundred bytes; an account's and a subscription's grow
// with their members and keys), so 4096 of them take a few megabytes to
// tens of megabytes, where an unbounded map would grow with every stream
// the process ever saw.
const LiveStreamsMax = 4096

// LiveSnapshots takes the audit's snapshots ahead of reads (see
// TakeSnapshot) from the records of the log as they are appended, for
// ledgerd's snapshot worker, which follows the log anyway (issue 21).
// It keeps, for the streams the audit snapshots, each one's state folded
// up to its last event, and stores that state when a snapshot is due
// instead of reading the stream's last SnapshotEvery events back from the
// database, which cost about 8% of the server's CPU under usage ingest.
//
// A kept state is complete by construction: it starts either at a
// stream's first event or from the state TakeSnapshot folded from the
// database, and takes only the stream's next version after it. A stream
// that is not kept (the follower started after its first event, it was
// evicted, or it lost events) has its next snapshot taken by
// TakeSnapshot, whose state is kept from then on; so a snapshot is never
// stored from a fold that missed events, and is the one TakeSnapshot
// would store, byte for byte.
//
// LiveSnapshots is not safe for concurrent use: one follower applies the
// log to it, in log order.
type LiveSnapshots struct {
	// Audit is the audit whose snapshots are taken. Required.
	Audit *Audit
	// MaxStreams bounds the streams kept; the least recently appended
	// is evicted first. Default LiveStreamsMax.
	MaxStreams int

	kept   map[string]*list.Element // of *liveStream, by stream ID
	recent list.List                // front: the most recently appended
	at     uint64                   // the position of the last record applied
}

// liveStream is a kept stream: its fold, complete up to version.
type liveStream struct {
	stream  string
	fold    folding
	version uint64
}

// From tells l that the records to come follow log position after. When
// that is not where the last record applied left off, the follower
// skipped records and every kept state may have missed events: they are
// all forgotten.
func (l *LiveSnapshots) From(after uint64) {
	if after != l.at {
		l.Reset()
	}
	l.at = after
}

// Reset forgets every kept state: their next snapshots are folded from
// the database.
func (l *LiveSnapshots) Reset() {
	clear(l.kept)
	l.recent.Init()
}

// Apply folds rec, the log's next record, into its stream's kept state,
// and stores the stream's snapshot when rec makes one due (SnapshotDue).
// It returns an error when the snapshot due could not be taken, or when
// rec cannot be decoded or folded; the stream is then no longer kept, and
// its next snapshot is folded from the database.
func (l *LiveSnapshots) Apply(ctx context.Context, rec event.Record) error {
	l.at = rec.Position
	if l.Audit.Snapshots == nil {
		return nil
	}
	s := l.touch(rec.StreamID)
	switch {
	case s != nil && rec.Version <= s.version:
		return nil // folded already: the log delivered it again
	case s != nil && rec.Version != s.version+1:
		l.drop(s) // a version went missing: the state is incomplete
		s = nil
	}
	if s == nil {
		if rec.Version != 1 {
			return l.load(ctx, rec)
		}
		if s = l.start(rec.StreamID); s == nil {
			return nil // a stream the audit does not snapshot
		}
	}
	return l.fold(ctx, s, rec)
}

// fold applies rec to s and stores the snapshot it makes due.
func (l *LiveSnapshots) fold(ctx context.Context, s *liveStream, rec event.Record) error {
	payload, err := l.Audit.Registry.Decode(rec)
	if err != nil {
		l.drop(s) // an undecodable event is never skipped
		return fmt.Errorf("queries: decode %s version %d: %w", rec.StreamID, rec.Version, err)
	}
	s.fold.apply(payload, rec)
	s.version = rec.Version
	if rec.Version%l.Audit.every() != 0 {
		return nil
	}
	state, err := s.fold.snapshot()
	if err != nil {
		l.drop(s)
		return fmt.Errorf("queries: snapshot of %q: %w", rec.StreamID, err)
	}
	// Like a read's fold, a failed write is reported and the state kept:
	// it is still right, only the database did not take it.
	if err := l.Audit.writeSnapshot(ctx, rec.StreamID, s.fold, rec, state); err != nil && l.Audit.SnapshotFailed != nil {
		l.Audit.SnapshotFailed(rec.StreamID, err)
	}
	return nil
}

// load takes the snapshot rec makes due of a stream that is not kept,
// from the database as TakeSnapshot does, and keeps the state it folded.
// Until its next snapshot is due such a stream is not folded at all: its
// state is unknown, and folding the events that follow would not make it
// known.
func (l *LiveSnapshots) load(ctx context.Context, rec event.Record) error {
	if !l.Audit.SnapshotDue(rec) {
		return nil
	}
	f, err := l.Audit.foldTo(ctx, rec.StreamID, rec.Version)
	if err != nil || f == nil {
		return err
	}
	l.keep(&liveStream{stream: rec.StreamID, fold: f, version: rec.Version})
	return nil
}

// start keeps a new fold of stream from its first event, or returns nil
// when the audit does not snapshot stream.
func (l *LiveSnapshots) start(stream string) *liveStream {
	f := foldOf(stream)
	if f == nil {
		return nil
	}
	s := &liveStream{stream: stream, fold: f}
	l.keep(s)
	return s
}

// touch returns stream's kept state, now the most recently appended, or
// nil when it is not kept.
func (l *LiveSnapshots) touch(stream string) *liveStream {
	e, ok := l.kept[stream]
	if !ok {
		return nil
	}
	l.recent.MoveToFront(e)
	return e.Value.(*liveStream)
}

// keep adds s as the most recently appended stream, evicting the least
// recently appended one past MaxStreams.
func (l *LiveSnapshots) keep(s *liveStream) {
	if l.kept == nil {
		l.kept = map[string]*list.Element{}
	}
	l.kept[s.stream] = l.recent.PushFront(s)
	limit := l.MaxStreams
	if limit <= 0 {
		limit = LiveStreamsMax
	}
	for l.recent.Len() > limit {
		l.drop(l.recent.Back().Value.(*liveStream))
	}
}

// drop forgets s.
func (l *LiveSnapshots) drop(s *liveStream) {
	if e, ok := l.kept[s.stream]; ok {
		l.recent.Remove(e)
		delete(l.kept, s.stream)
	}
}
