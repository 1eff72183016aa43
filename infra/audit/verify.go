package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

// Reason says how the log differs from what was checkpointed. It is a
// closed set.
type Reason struct{ s string }

// The reasons Verify names.
var (
	// ReasonAltered: an event's content is not what was checkpointed.
	ReasonAltered = Reason{"altered"}
	// ReasonRemoved: a checkpointed event is gone.
	ReasonRemoved = Reason{"removed"}
	// ReasonReordered: an event is at another place than checkpointed.
	ReasonReordered = Reason{"reordered"}
	// ReasonAdded: an export holds an event its checkpoint does not cover.
	ReasonAdded = Reason{"added"}
)

// String returns the reason's name.
func (r Reason) String() string { return r.s }

// ErrTampered is matched by every *TamperError.
var ErrTampered = errors.New("audit: the log does not match the checkpoint")

// TamperError names the first event that differs from what the checkpoint
// and the hash chains say (rule X-2).
type TamperError struct {
	Reason Reason
	// Position is the event's position; 0 when no single event can be
	// named (Detail says why).
	Position uint64
	// StreamID, Version and EventID identify the event found at Position
	// (for a removed event, the missing one as far as known).
	StreamID string
	Version  uint64
	EventID  string
	// Line is the export's line number (the header is line 1); 0 for a database.
	Line uint64
	// Detail explains what was found.
	Detail string
}

// Error names the event, the reason and the detail, on one line.
func (e *TamperError) Error() string {
	var b strings.Builder
	b.WriteString("audit: ")
	switch {
	case e.Position > 0 && e.Reason == ReasonRemoved && e.EventID == "":
		fmt.Fprintf(&b, "position %d", e.Position)
		if e.StreamID != "" {
			fmt.Fprintf(&b, " (stream %q version %d)", e.StreamID, e.Version)
		}
	case e.Position > 0:
		fmt.Fprintf(&b, "event at position %d", e.Position)
		if e.StreamID != "" {
			fmt.Fprintf(&b, " (stream %q version %d, event ID %s)", e.StreamID, e.Version, e.EventID)
		}
	case e.StreamID != "":
		fmt.Fprintf(&b, "stream %q version %d", e.StreamID, e.Version)
	default:
		b.WriteString("the log")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " on line %d", e.Line)
	}
	fmt.Fprintf(&b, " was %s", e.Reason)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrTampered) true.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

func tamper(reason Reason, r event.Record, format string, args ...any) *TamperError {
	return &TamperError{Reason: reason, Position: r.Position, StreamID: r.StreamID, Version: r.Version, EventID: r.ID,
		Detail: fmt.Sprintf(format, args...)}
}

// VerifyReport is what a successful verification checked.
type VerifyReport struct {
	// Checkpoint is the trusted checkpoint verified against.
	Checkpoint Checkpoint
	// Events is how many events were read and their chains verified.
	Events uint64
	// Streams is how many streams they belong to.
	Streams int
	// Beyond is how many of them came after the checkpoint: their chains
	// were verified, but no checkpoint covers them yet.
	Beyond uint64
	// Proofs is how many inclusion proofs a filtered export carried and
	// passed.
	Proofs uint64
}

// VerifyOptions tunes VerifyLog.
type VerifyOptions struct {
	// Contiguous says positions run 1, 2, 3 … (SQLite, PostgreSQL): a
	// hole is a removed event.
	Contiguous bool
	// Tree is the stored tree of the database being verified. When every
	// chain holds but the root differs (a forger rewrote a stream's chain),
	// its leaves, checked against the trusted root first, name the event.
	Tree *Tree
	// Streams looks up where a stream's missing version went, to tell a
	// removed event from a reordered one.
	Streams eventstore.StreamReader
	// Readers is how many pages are read at once (default 2), PageSize
	// how many events each holds (default 2000).
	Readers, PageSize int
	// Progress, if set, is told how many events were verified, now and then.
	Progress func(events uint64)
}

// VerifyLog checks the log against a checkpoint the auditor trusts (opened
// with OpenCheckpoint): it recomputes every stream's hash chain and the
// Merkle root of the first cp.Size events, in one pass (reading, chain
// hashing and tree folding run on different goroutines). It returns a
// *TamperError naming the first altered, removed or reordered event, or
// the report.
func VerifyLog(ctx context.Context, log Log, cp Checkpoint, opts VerifyOptions) (VerifyReport, error) {
	if opts.Readers <= 0 {
		opts.Readers = 2
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2000
	}
	head, err := log.Head(ctx)
	if err != nil {
		return VerifyReport{}, err
	}
	v := newVerifier([]Checkpoint{cp}, opts.Contiguous)
	v.progress = opts.Progress
	scan := func(ctx context.Context, fn func([]event.Record) error) error {
		return eventstore.ScanLog(ctx, log, 0, head, opts.PageSize, opts.Readers, fn)
	}
	d := &logDiagnosis{log: log, opts: opts, cp: cp}
	return v.run(ctx, scan, d)
}

// diagnosis turns what the single pass found into the event to name: it
// may read more (another place in the log, the stored tree).
type diagnosis interface {
	// gap: position want is missing; the next event has r's position.
	gap(ctx context.Context, want uint64, r event.Record) error
	// version: r is not the next version (want) of its stream.
	version(ctx context.Context, want uint64, r event.Record) error
	// root: every chain holds but the first size events hash to another root.
	root(ctx context.Context, size uint64, got []byte) error
	// short: the log ends after count events, before the checkpoint's size.
	short(ctx context.Context, count, lastPos uint64) error
}

type streamHead struct {
	version uint64
	hash    []byte
}

// order problems the single pass notices before hashing.
type orderProblem struct {
	gap  bool   // a hole in contiguous positions (else a version problem)
	want uint64 // the expected position or version
}

// verifier is the single pass: positions and versions in order on the
// scanning goroutine, chain and leaf hashes on workers, the tree folded
// in order on the caller's goroutine.
type verifier struct {
	targets    []Checkpoint // ascending sizes; the root is compared at each
	contiguous bool
	limit      uint64 // events allowed (an export's size) when limited
	limited    bool   // an export: no event beyond limit, even when limit is 0
	progress   func(uint64)
	// lineOf, if set, gives the export line of the event of an ordinal.
	lineOf func(ordinal uint64) uint64

	// owned by the scanning goroutine until it ends
	streams map[string]*streamHead
	count   uint64
	lastPos uint64
}

func newVerifier(targets []Checkpoint, contiguous bool) *verifier {
	return &verifier{targets: targets, contiguous: contiguous, streams: map[string]*streamHead{}}
}

type job struct {
	recs    []event.Record
	first   uint64 // ordinal of recs[0] in the log
	prev    [][]byte
	stop    int // recs[stop] has an order problem; len(recs) if none
	problem orderProblem
	leaves  [][32]byte
	badHash int // the first event whose chain hash fails; len(recs) if none
	done    chan struct{}
}

// prepare checks the page's order and links each event to its stream's
// previous hash (as stored: an altered predecessor is reported first).
func (v *verifier) prepare(page []event.Record) *job {
	j := &job{recs: page, first: v.count, prev: make([][]byte, len(page)), stop: len(page), badHash: len(page),
		leaves: make([][32]byte, len(page)), done: make(chan struct{})}
	for i, r := range page {
		if want := v.lastPos + 1; v.contiguous && r.Position != want || r.Position <= v.lastPos {
			j.stop, j.problem = i, orderProblem{gap: true, want: want}
			return j
		}
		st := v.streams[r.StreamID]
		if st == nil {
			st = &streamHead{}
			v.streams[r.StreamID] = st
		}
		if r.Version != st.version+1 {
			j.stop, j.problem = i, orderProblem{want: st.version + 1}
			return j
		}
		j.prev[i] = st.hash
		st.version, st.hash = r.Version, r.Hash
		v.count++
		v.lastPos = r.Position
	}
	return j
}

// hash recomputes the chain hashes and the leaves of the job's events.
func (j *job) hash() {
	defer close(j.done)
	for i := range j.stop {
		r := &j.recs[i]
		if !bytes.Equal(event.ChainHash(j.prev[i], *r), r.Hash) {
			j.badHash = i
			return
		}
		j.leaves[i] = LeafHash(r.Position, r.Hash)
	}
}

var errStopScan = errors.New("audit: stop scanning")

func (v *verifier) run(ctx context.Context, scan func(context.Context, func([]event.Record) error) error, d diagnosis) (VerifyReport, error) {
	rep := VerifyReport{Checkpoint: v.targets[0]}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	ordered, work := make(chan *job, 8), make(chan *job, 8)
	var scanErr error
	wg.Go(func() {
		defer close(ordered)
		defer close(work)
		scanErr = scan(ctx, func(page []event.Record) error {
			j := v.prepare(page)
			for _, ch := range []chan *job{work, ordered} {
				select {
				case ch <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if j.stop < len(j.recs) {
				return errStopScan
			}
			return nil
		})
	})
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for j := range work {
				j.hash()
			}
		})
	}

	rng := ranges.NewEmptyRange(0)
	next := 0 // the next target to compare
	var folded uint64
	checkRoot := func() error {
		for next < len(v.targets) && v.targets[next].Size == folded {
			root, err := rng.GetRootHash(nil)
			if err != nil {
				return err
			}
			if root == nil {
				root = hasher.EmptyRoot()
			}
			if !bytes.Equal(root, v.targets[next].Root) {
				return d.root(ctx, folded, root)
			}
			next++
		}
		return nil
	}
	if err := checkRoot(); err != nil {
		return rep, err
	}
	last := v.targets[len(v.targets)-1].Size
	for j := range ordered {
		select {
		case <-j.done:
		case <-ctx.Done():
			return rep, ctx.Err()
		}
		end := min(j.stop, j.badHash)
		for i := range end {
			if v.limited && folded == v.limit {
				return rep, v.annotate(tamper(ReasonAdded, j.recs[i], "the export's checkpoint covers %d events; this one is beyond it", v.limit), folded)
			}
			if folded < last {
				if err := rng.Append(j.leaves[i][:], nil); err != nil {
					return rep, err
				}
			} else {
				rep.Beyond++
			}
			folded++
			if err := checkRoot(); err != nil {
				return rep, err
			}
		}
		rep.Events = folded
		if v.progress != nil {
			v.progress(folded)
		}
		if end < len(j.recs) {
			r := j.recs[end]
			var err error
			switch {
			case v.limited && folded == v.limit:
				err = tamper(ReasonAdded, r, "the export's checkpoint covers %d events; this one is beyond it", v.limit)
			case j.badHash == end:
				want := event.ChainHash(j.prev[end], r)
				err = tamper(ReasonAltered, r, "its stored hash %s is not what its content hashes to (%s)", shortHex(r.Hash), shortHex(want))
			case j.problem.gap:
				err = d.gap(ctx, j.problem.want, r)
			default:
				err = d.version(ctx, j.problem.want, r)
			}
			return rep, v.annotate(err, j.first+uint64(end))
		}
	}
	if scanErr != nil {
		return rep, scanErr
	}
	rep.Streams = len(v.streams)
	if folded < last {
		return rep, d.short(ctx, folded, v.lastPos)
	}
	return rep, nil
}

// annotate adds the export line of the event of ordinal to a TamperError
// about it.
func (v *verifier) annotate(err error, ordinal uint64) error {
	var te *TamperError
	if v.lineOf != nil && errors.As(err, &te) && te.Line == 0 && te.EventID != "" {
		te.Line = v.lineOf(ordinal)
	}
	return err
}

func shortHex(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// logDiagnosis names events in a database (or KurrentDB).
type logDiagnosis struct {
	log  Log
	opts VerifyOptions
	cp   Checkpoint
}

func (d *logDiagnosis) gap(ctx context.Context, want uint64, r event.Record) error {
	if r.Position < want {
		return tamper(ReasonReordered, r, "it comes after position %d", want-1)
	}
	return &TamperError{Reason: ReasonRemoved, Position: want,
		Detail: fmt.Sprintf("the log goes from position %d to %d (stream %q version %d)", want-1, r.Position, r.StreamID, r.Version)}
}

func (d *logDiagnosis) version(ctx context.Context, want uint64, r event.Record) error {
	if r.Version < want {
		return tamper(ReasonReordered, r, "version %d of its stream came earlier in the log", want-1)
	}
	if d.opts.Streams != nil {
		page, err := d.opts.Streams.ReadStream(ctx, r.StreamID, want, 1)
		if err != nil {
			return err
		}
		if len(page) == 1 && page[0].Version == want {
			return tamper(ReasonReordered, r, "it comes before version %d of its stream, which is at position %d", want, page[0].Position)
		}
	}
	return &TamperError{Reason: ReasonRemoved, StreamID: r.StreamID, Version: want,
		Detail: fmt.Sprintf("the stream goes from version %d to %d at position %d", want-1, r.Version, r.Position)}
}

func (d *logDiagnosis) short(ctx context.Context, count, lastPos uint64) error {
	e := &TamperError{Reason: ReasonRemoved, Position: lastPos + 1,
		Detail: fmt.Sprintf("the log ends after %d events; the checkpoint covers %d", count, d.cp.Size)}
	if d.opts.Tree != nil {
		err := d.opts.Tree.leaves(ctx, count, count+1, func(_ uint64, l storedLeaf) error {
			e.Position = l.position
			return nil
		})
		if err != nil {
			return err
		}
	} else if !d.opts.Contiguous {
		e.Position = 0
	}
	return e
}

// root names the event when every chain holds but the root differs: the
// stored leaves are trusted once they reproduce the checkpoint's root,
// and then the first event whose leaf differs from its stored one is it.
func (d *logDiagnosis) root(ctx context.Context, size uint64, got []byte) error {
	unnamed := &TamperError{Reason: ReasonAltered, Detail: fmt.Sprintf(
		"every stream's chain holds, but the first %d events hash to root %s, not the checkpoint's %s: a stream's chain was rewritten",
		size, base64.StdEncoding.EncodeToString(got), base64.StdEncoding.EncodeToString(d.cp.Root))}
	if d.opts.Tree == nil {
		return unnamed
	}
	// The stored leaves must reproduce the trusted root.
	rng := ranges.NewEmptyRange(0)
	err := d.opts.Tree.leaves(ctx, 0, size, func(_ uint64, l storedLeaf) error { return rng.Append(l.hash, nil) })
	if err != nil {
		unnamed.Detail += "; the stored tree cannot name the event: " + err.Error()
		return unnamed
	}
	if root, err := rng.GetRootHash(nil); err != nil || !bytes.Equal(root, d.cp.Root) {
		unnamed.Detail += "; the stored tree was altered too, so it cannot name the event"
		return unnamed
	}
	// The first event whose leaf differs from its stored one.
	var (
		found    *event.Record
		index    uint64
		errFound = errors.New("found")
	)
	err = eventstore.ScanLog(ctx, d.log, 0, 0, d.opts.PageSize, 1, func(page []event.Record) error {
		from := index
		var leaves []storedLeaf
		if err := d.opts.Tree.leaves(ctx, from, min(size, from+uint64(len(page))), func(_ uint64, l storedLeaf) error {
			leaves = append(leaves, l)
			return nil
		}); err != nil {
			return err
		}
		for i := range leaves {
			r := page[i]
			if h := LeafHash(r.Position, r.Hash); !bytes.Equal(h[:], leaves[i].hash) {
				found = &r
				return errFound
			}
			index++
		}
		if index >= size {
			return errFound
		}
		return nil
	})
	if !errors.Is(err, errFound) {
		if err == nil {
			err = errors.New("no differing leaf")
		}
		return err
	}
	if found == nil {
		return unnamed
	}
	r := *found
	// Was this event checkpointed at another position (moved), or is its
	// content new (altered)?
	var moved uint64
	err = d.opts.Tree.leaves(ctx, 0, size, func(_ uint64, l storedLeaf) error {
		if h := LeafHash(l.position, r.Hash); bytes.Equal(h[:], l.hash) {
			moved = l.position
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return err
	}
	if moved > 0 {
		return tamper(ReasonReordered, r, "the checkpoint has this event at position %d", moved)
	}
	return tamper(ReasonAltered, r, "its stream's chain holds, but the checkpoint has another event here: the chain was rewritten from this event on")
}
