package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/transparency-dev/merkle/proof"

	"seatledger/domain/event"
)

// ErrNotAnExport is matched by an error about input that is not an export
// of a version this build reads.
var ErrNotAnExport = errors.New("audit: not an audit export")

// ErrStaleExport is matched by an error about an export bounded by
// another checkpoint than the auditor's, against which it cannot be
// verified: a filtered export of another size, or a whole-log export
// smaller than the auditor's checkpoint. Export again, bounded by yours.
var ErrStaleExport = errors.New("audit: the export is bounded by another checkpoint than yours")

// VerifyExport checks an export (as Export writes it) against a
// checkpoint the auditor trusts (opened with OpenCheckpoint), using only
// the export, that checkpoint and verifierKey, which must also have signed
// the checkpoint in the export's header.
//
// A whole-log export must hold the first cp.Size events: their chains are
// recomputed and their root compared with the auditor's checkpoint and with
// the header's, whose size it must have exactly. A filtered export must be
// bounded by the auditor's checkpoint itself; each line's chain hash is
// recomputed from its previous hash and its inclusion proof checked
// against the root, and where the filter keeps whole streams (no type, no
// lower position) each stream's versions must follow one another. The
// reader is read again to tell a reordered line from a removed one.
func VerifyExport(ctx context.Context, r io.ReadSeeker, cp Checkpoint, verifierKey string) (VerifyReport, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	first, err := readLine(br)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("%w: %v", ErrNotAnExport, err)
	}
	var h exportHeader
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil || dec.More() || h.Format != ExportFormat {
		return VerifyReport{}, fmt.Errorf("%w: the first line is not a %s header", ErrNotAnExport, ExportFormat)
	}
	if h.Filter != nil && h.Filter.IsZero() {
		return VerifyReport{}, fmt.Errorf("%w: the header's filter selects nothing; a whole-log export has no filter", ErrNotAnExport)
	}
	hc, err := OpenCheckpoint([]byte(h.Checkpoint), verifierKey)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("the export's checkpoint: %w", err)
	}
	if hc.Size == cp.Size && !bytes.Equal(hc.Root, cp.Root) {
		return VerifyReport{}, fmt.Errorf("%w: the export's checkpoint and yours both have size %d but different roots: the key signed two histories",
			ErrUntrustedCheckpoint, cp.Size)
	}
	lines := &lineReader{r: br}
	if h.Filter != nil {
		if hc.Size != cp.Size {
			return VerifyReport{}, fmt.Errorf("%w: the filtered export is proved against the checkpoint of size %d, yours has size %d: export again bounded by yours (--size %d)",
				ErrStaleExport, hc.Size, cp.Size, cp.Size)
		}
		return verifyFiltered(ctx, lines, cp, *h.Filter, &exportDiagnosis{r: r, cp: hc, contiguous: h.ContiguousPositions})
	}
	if cp.Size > hc.Size {
		return VerifyReport{}, fmt.Errorf("%w: your checkpoint (size %d) is newer than the export's (size %d): export again", ErrStaleExport, cp.Size, hc.Size)
	}
	targets := []Checkpoint{cp}
	if hc.Size > cp.Size {
		targets = append(targets, hc)
	}
	v := newVerifier(targets, h.ContiguousPositions)
	// The header's checkpoint covers hc.Size events and no more: with the
	// empty tree's checkpoint, not even one.
	v.limit, v.limited = hc.Size, true
	v.lineOf = func(ordinal uint64) uint64 { return ordinal + 2 }
	scan := func(ctx context.Context, fn func([]event.Record) error) error {
		for {
			page, err := lines.page(exportPageSize)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				return nil
			}
			if err := fn(page); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	rep, err := v.run(ctx, scan, &exportDiagnosis{r: r, cp: hc, contiguous: h.ContiguousPositions})
	rep.Checkpoint = cp
	return rep, err
}

// lineReader decodes an export's event lines.
type lineReader struct {
	r    *bufio.Reader
	line uint64 // the last line read; the header is line 1
	err  error
}

func readLine(r *bufio.Reader) ([]byte, error) {
	b, err := r.ReadBytes('\n')
	if err == io.EOF && len(b) > 0 {
		err = nil
	}
	return bytes.TrimRight(b, "\r\n"), err
}

// next returns the next event line; io.EOF at the end.
func (l *lineReader) next() (event.Record, exportLine, error) {
	if l.line == 0 {
		l.line = 1
	}
	for {
		b, err := readLine(l.r)
		if err != nil {
			return event.Record{}, exportLine{}, err
		}
		l.line++
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var el exportLine
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&el)
		if err == nil && dec.More() {
			err = errors.New("more than one JSON value on the line")
		}
		if err != nil {
			return event.Record{}, el, &TamperError{Reason: ReasonAltered, Line: l.line, Detail: "not an event line: " + err.Error()}
		}
		rec, err := fromLine(el)
		if err != nil {
			return rec, el, &TamperError{Reason: ReasonAltered, Line: l.line, Position: el.Position, StreamID: el.StreamID,
				Version: el.Version, EventID: el.EventID, Detail: "not an event line: " + err.Error()}
		}
		return rec, el, nil
	}
}

// page returns up to n events; an empty page at the end.
func (l *lineReader) page(n int) ([]event.Record, error) {
	if l.err != nil {
		return nil, l.takeErr()
	}
	out := make([]event.Record, 0, n)
	for len(out) < n {
		rec, _, err := l.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if len(out) > 0 {
				l.err = err // the events before it are checked first
				return out, nil
			}
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func (l *lineReader) takeErr() error {
	err := l.err
	l.err = nil
	return err
}

// exportDiagnosis names lines of a whole-log export, reading the export
// again from the start to find where a missing line went.
type exportDiagnosis struct {
	r          io.ReadSeeker
	cp         Checkpoint
	contiguous bool
}

// find returns the line of the first event match accepts.
func (d *exportDiagnosis) find(match func(event.Record) bool) (uint64, bool, error) {
	if _, err := d.r.Seek(0, io.SeekStart); err != nil {
		return 0, false, err
	}
	l := &lineReader{r: bufio.NewReaderSize(d.r, 256<<10)}
	if _, err := readLine(l.r); err != nil { // the header
		return 0, false, err
	}
	for {
		rec, _, err := l.next()
		if err == io.EOF {
			return 0, false, nil
		}
		if err != nil {
			continue // a malformed line cannot be the one looked for
		}
		if match(rec) {
			return l.line, true, nil
		}
	}
}

func (d *exportDiagnosis) gap(_ context.Context, want uint64, r event.Record) error {
	line, found, err := d.find(func(x event.Record) bool { return x.Position == want })
	if err != nil {
		return err
	}
	if found || r.Position < want {
		return tamper(ReasonReordered, r, "it stands where position %d belongs, which is on line %d", want, line)
	}
	return &TamperError{Reason: ReasonRemoved, Position: want,
		Detail: fmt.Sprintf("the export goes from position %d to %d (stream %q version %d)", want-1, r.Position, r.StreamID, r.Version)}
}

func (d *exportDiagnosis) version(_ context.Context, want uint64, r event.Record) error {
	if r.Version < want {
		return tamper(ReasonReordered, r, "version %d of its stream came earlier in the export", want-1)
	}
	line, found, err := d.find(func(x event.Record) bool { return x.StreamID == r.StreamID && x.Version == want })
	if err != nil {
		return err
	}
	if found {
		return tamper(ReasonReordered, r, "it comes before version %d of its stream, which is on line %d", want, line)
	}
	return &TamperError{Reason: ReasonRemoved, StreamID: r.StreamID, Version: want,
		Detail: fmt.Sprintf("the stream goes from version %d to %d at position %d", want-1, r.Version, r.Position)}
}

func (d *exportDiagnosis) root(_ context.Context, size uint64, got []byte) error {
	return &TamperError{Reason: ReasonAltered, Detail: fmt.Sprintf(
		"every stream's chain holds, but the first %d events do not hash to the checkpoint's root: a stream's chain was rewritten (verify the database to name the event)", size)}
}

func (d *exportDiagnosis) short(_ context.Context, count, lastPos uint64) error {
	e := &TamperError{Reason: ReasonRemoved, Detail: fmt.Sprintf("the export ends after %d events; its checkpoint covers %d", count, d.cp.Size)}
	if d.contiguous {
		e.Position = lastPos + 1
	}
	return e
}

// verifyFiltered checks a filtered export line by line against cp; d
// tells a reordered line from a removed one, as for the whole log.
func verifyFiltered(ctx context.Context, lines *lineReader, cp Checkpoint, f Filter, d *exportDiagnosis) (VerifyReport, error) {
	rep := VerifyReport{Checkpoint: cp}
	streams := map[string]*streamHead{}
	var lastPos uint64
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r, el, err := lines.next()
		if err == io.EOF {
			rep.Streams = len(streams)
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
		fail := func(reason Reason, format string, args ...any) (VerifyReport, error) {
			e := tamper(reason, r, format, args...)
			e.Line = lines.line
			return rep, e
		}
		if !f.Matches(r) {
			return fail(ReasonAdded, "the export's filter does not select it")
		}
		if r.Position <= lastPos {
			return fail(ReasonReordered, "it comes after position %d", lastPos)
		}
		lastPos = r.Position
		if el.PrevHash == nil || el.Proof == nil {
			return fail(ReasonAltered, "a filtered export's line needs prev_hash and proof")
		}
		prev, err := parseHash(*el.PrevHash)
		if err != nil || (len(prev) != 0 && len(prev) != event.HashSize) {
			return fail(ReasonAltered, "prev_hash is not a hash")
		}
		if len(prev) == 0 {
			prev = nil
		}
		if want := event.ChainHash(prev, r); !bytes.Equal(want, r.Hash) {
			return fail(ReasonAltered, "its stored hash %s is not what its content hashes to (%s)", shortHex(r.Hash), shortHex(want))
		}
		if (prev == nil) != (r.Version == 1) {
			return fail(ReasonAltered, "version %d with a previous hash %q", r.Version, *el.PrevHash)
		}
		leaf := LeafHash(r.Position, r.Hash)
		if err := proof.VerifyInclusion(hasher, el.Proof.LeafIndex, cp.Size, leaf[:], fromB64s(el.Proof.Hashes), cp.Root); err != nil {
			return fail(ReasonAltered, "its inclusion proof (leaf %d of %d) does not lead to the checkpoint's root: %v", el.Proof.LeafIndex, cp.Size, err)
		}
		rep.Proofs++
		st := streams[r.StreamID]
		if st == nil {
			st = &streamHead{}
			streams[r.StreamID] = st
		}
		if f.complete() {
			// The filter keeps whole streams: each starts at version 1 and
			// goes on one version at a time, each line linked to its
			// stream's previous line.
			if want := st.version + 1; r.Version != want {
				err := d.version(ctx, want, r)
				var te *TamperError
				if errors.As(err, &te) && te.EventID != "" {
					te.Line = lines.line
				}
				return rep, err
			}
			if st.version > 0 && !bytes.Equal(prev, st.hash) {
				return fail(ReasonAltered, "its previous hash is not the hash of version %d on an earlier line", st.version)
			}
		}
		st.version, st.hash = r.Version, r.Hash
		rep.Events++
	}
}
