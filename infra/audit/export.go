package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

// ExportFormat names the NDJSON layout Export writes; a reader refuses any
// other.
const ExportFormat = "seatledger-audit-export/v1"

// Filter selects the events of a filtered export. The zero value selects
// the whole log.
type Filter struct {
	// StreamID keeps one stream's events.
	StreamID string `json:"stream,omitempty"`
	// StreamPrefix keeps the streams whose ID starts with it.
	StreamPrefix string `json:"stream_prefix,omitempty"`
	// Type keeps the events of one type.
	Type string `json:"type,omitempty"`
	// FromPosition and ToPosition bound the positions, inclusive (0: unbounded).
	FromPosition uint64 `json:"from_position,omitempty"`
	ToPosition   uint64 `json:"to_position,omitempty"`
}

// IsZero reports whether f selects the whole log.
func (f Filter) IsZero() bool { return f == Filter{} }

// Validate reports a filter that can select nothing by construction.
func (f Filter) Validate() error {
	if f.ToPosition > 0 && f.FromPosition > f.ToPosition {
		return fmt.Errorf("audit: from position %d is after to position %d", f.FromPosition, f.ToPosition)
	}
	if f.StreamID != "" && f.StreamPrefix != "" && !strings.HasPrefix(f.StreamID, f.StreamPrefix) {
		return fmt.Errorf("audit: stream %q does not start with prefix %q", f.StreamID, f.StreamPrefix)
	}
	return nil
}

// Matches reports whether r is selected.
func (f Filter) Matches(r event.Record) bool {
	return (f.StreamID == "" || r.StreamID == f.StreamID) &&
		(f.StreamPrefix == "" || strings.HasPrefix(r.StreamID, f.StreamPrefix)) &&
		(f.Type == "" || r.Type == f.Type) &&
		r.Position >= f.FromPosition && (f.ToPosition == 0 || r.Position <= f.ToPosition)
}

// complete reports whether the filter keeps every event of each stream it
// touches from that stream's first kept event on, so that a reader can
// demand unbroken versions: no type filter, and no lower position bound.
func (f Filter) complete() bool { return f.Type == "" && f.FromPosition == 0 }

// exportHeader is the first line of an export.
type exportHeader struct {
	Format string `json:"format"`
	// Checkpoint is the signed note the export is bounded by: a whole-log
	// export holds its first Size events, a filtered one proves each line
	// against it.
	Checkpoint string `json:"checkpoint"`
	// Filter is what was selected; nil for the whole log.
	Filter *Filter `json:"filter,omitempty"`
	// ContiguousPositions says the source's positions run 1, 2, 3 … (the
	// SQL stores), so that a hole in a whole-log export is a removed event.
	ContiguousPositions bool `json:"contiguous_positions"`
}

// exportLine is one event. Every field of event.Record is there, so the
// reader recomputes the chain hash; a filtered export adds the stream's
// previous hash and an inclusion proof, so that each line verifies alone.
type exportLine struct {
	Position      uint64          `json:"position"`
	StreamID      string          `json:"stream_id"`
	Version       uint64          `json:"version"`
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	Data          json.RawMessage `json:"data,omitempty"`
	// DataBase64 carries a payload that cannot travel as JSON byte for
	// byte (insignificant white space, which an NDJSON line cannot keep).
	DataBase64 b64            `json:"data_base64,omitempty"`
	Metadata   exportMetadata `json:"metadata"`
	RecordedAt string         `json:"recorded_at"`
	Hash       string         `json:"hash"`
	PrevHash   *string        `json:"prev_hash,omitempty"`
	Proof      *lineProof     `json:"proof,omitempty"`
}

type exportMetadata struct {
	Actor struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"actor"`
	Command       string `json:"command,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
	EffectiveAt   string `json:"effective_at,omitempty"`
}

// lineProof proves a line's leaf in the tree of the header's checkpoint.
type lineProof struct {
	LeafIndex uint64 `json:"leaf_index"`
	Hashes    []b64  `json:"hashes"`
}

// b64 is bytes that travel as standard base64, as encoding/json writes
// []byte; read back, only the canonical spelling is taken (padded, unused
// bits zero), so that an export line has one spelling of its bytes.
type b64 []byte

// MarshalJSON writes b in standard base64.
func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON reads canonical standard base64 (null: no bytes).
func (b *b64) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := canonical.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%q is not canonical base64", s)
	}
	*b = d
	return nil
}

func toB64s(hashes [][]byte) []b64 {
	out := make([]b64, len(hashes))
	for i, h := range hashes {
		out[i] = h
	}
	return out
}

func fromB64s(hashes []b64) [][]byte {
	out := make([][]byte, len(hashes))
	for i, h := range hashes {
		out[i] = h
	}
	return out
}

// formatTime writes t in RFC 3339 with microseconds, the precision every
// store keeps (finer digits only if t has them, so no hash ever changes).
func formatTime(t time.Time) string {
	if t.Nanosecond()%1000 != 0 {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func toLine(r event.Record) exportLine {
	l := exportLine{Position: r.Position, StreamID: r.StreamID, Version: r.Version, EventID: r.ID, Type: r.Type,
		SchemaVersion: r.SchemaVersion, RecordedAt: formatTime(r.RecordedAt), Hash: hex.EncodeToString(r.Hash)}
	if rawJSONSafe(r.Data) {
		l.Data = r.Data
	} else {
		l.DataBase64 = b64(r.Data)
		if l.DataBase64 == nil {
			l.DataBase64 = []byte{}
		}
	}
	m := r.Metadata
	l.Metadata.Actor.Kind, l.Metadata.Actor.ID = m.Actor.Kind.String(), m.Actor.ID
	l.Metadata.Command, l.Metadata.CorrelationID, l.Metadata.CausationID = m.Command, m.CorrelationID, m.CausationID
	if !m.EffectiveAt.IsZero() {
		l.Metadata.EffectiveAt = formatTime(m.EffectiveAt)
	}
	return l
}

// rawJSONSafe reports whether data survives encoding/json as a raw value
// byte for byte and makes a valid NDJSON line: valid JSON in valid UTF-8,
// already compact (the encoder compacts raw values; HTML escaping is off).
func rawJSONSafe(data []byte) bool {
	if len(data) == 0 || !utf8.Valid(data) || !json.Valid(data) {
		return false
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return false
	}
	return bytes.Equal(b.Bytes(), data)
}

func fromLine(l exportLine) (event.Record, error) {
	r := event.Record{Position: l.Position, StreamID: l.StreamID, Version: l.Version, ID: l.EventID, Type: l.Type,
		SchemaVersion: l.SchemaVersion, Data: l.Data}
	if l.DataBase64 != nil {
		if l.Data != nil {
			return r, errors.New("both data and data_base64")
		}
		r.Data = json.RawMessage(l.DataBase64)
	}
	kind, err := event.ParseActorKind(l.Metadata.Actor.Kind)
	if err != nil {
		return r, err
	}
	r.Metadata = event.Metadata{Actor: event.Actor{Kind: kind, ID: l.Metadata.Actor.ID}, Command: l.Metadata.Command,
		CorrelationID: l.Metadata.CorrelationID, CausationID: l.Metadata.CausationID}
	if l.Metadata.EffectiveAt != "" {
		if r.Metadata.EffectiveAt, err = parseTime(l.Metadata.EffectiveAt); err != nil {
			return r, fmt.Errorf("effective_at: %v", err)
		}
	}
	if r.RecordedAt, err = parseTime(l.RecordedAt); err != nil {
		return r, fmt.Errorf("recorded_at: %v", err)
	}
	if r.Hash, err = parseHash(l.Hash); err != nil || len(r.Hash) != event.HashSize {
		return r, fmt.Errorf("hash %q is not %d bytes in lower-case hex", l.Hash, event.HashSize)
	}
	return r, nil
}

// parseTime reads a time written as formatTime writes it, and no other
// spelling of the same instant (an offset, other fractional digits).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, err
	}
	if formatTime(t) != s {
		return t, fmt.Errorf("%q is not a UTC time with six (or nine) fractional digits", s)
	}
	return t.UTC(), nil
}

// parseHash reads lower-case hex, the one spelling the export writes.
func parseHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err == nil && hex.EncodeToString(b) != s {
		err = fmt.Errorf("%q is not lower-case hex", s)
	}
	return b, err
}

// ExportReport says what an export wrote.
type ExportReport struct {
	// Checkpoint bounds the export.
	Checkpoint StoredCheckpoint
	// Events is the number of event lines written.
	Events uint64
}

// exportPageSize is how many events an export reads at a time; with the
// encoder's buffer it is all an export holds in memory.
const exportPageSize = 512

// Export writes the events of the log that f selects, up to the stored
// checkpoint of size (0: the latest), to w as NDJSON: a header line with
// the checkpoint's signed note and the filter, then one line per event.
// The whole log's export holds the checkpoint's events and verifies by
// recomputing its root; a filtered export carries each event's previous
// chain hash and inclusion proof, so that every line verifies on its own.
// Events are read and written page by page: memory stays flat whatever
// the size of the log. It returns ErrNotFound when there is no such
// checkpoint.
func (s *Service) Export(ctx context.Context, w io.Writer, f Filter, size uint64) (ExportReport, error) {
	if err := f.Validate(); err != nil {
		return ExportReport{}, err
	}
	cp, err := s.Checkpoint(ctx, size)
	if err != nil {
		return ExportReport{}, err
	}
	rep := ExportReport{Checkpoint: cp}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // payloads travel byte for byte
	h := exportHeader{Format: ExportFormat, Checkpoint: string(cp.Note), ContiguousPositions: s.Contiguous}
	if !f.IsZero() {
		h.Filter = &f
	}
	if err := enc.Encode(h); err != nil {
		return rep, err
	}
	emit := func(r event.Record, prev []byte) error {
		l := toLine(r)
		if !f.IsZero() {
			p := hex.EncodeToString(prev)
			l.PrevHash = &p
			index, err := s.Tree.LeafIndex(ctx, r.Position)
			if err != nil {
				return err
			}
			hashes, err := s.Tree.InclusionProof(ctx, index, cp.Size)
			if err != nil {
				return err
			}
			l.Proof = &lineProof{LeafIndex: index, Hashes: toB64s(hashes)}
		}
		rep.Events++
		if err := enc.Encode(l); err != nil {
			return err
		}
		if bw.Buffered() > 32<<10 {
			return bw.Flush() // reaches a streaming HTTP client as it is written
		}
		return nil
	}
	if f.StreamID != "" {
		err = s.exportStream(ctx, f, cp, emit)
	} else {
		err = s.exportLog(ctx, f, cp, emit)
	}
	if err != nil {
		return rep, err
	}
	return rep, bw.Flush()
}

// exportLog scans the log up to the checkpoint's last event.
func (s *Service) exportLog(ctx context.Context, f Filter, cp StoredCheckpoint, emit func(event.Record, []byte) error) error {
	after := uint64(0)
	if f.FromPosition > 1 && s.Contiguous {
		after = f.FromPosition - 1
	}
	end := cp.LastPosition
	if f.ToPosition > 0 {
		end = min(end, f.ToPosition)
	}
	for after < end {
		page, err := s.Log.ReadAll(ctx, after, exportPageSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("audit: the log ends at position %d, before the checkpoint's last event at %d", after, cp.LastPosition)
		}
		for _, r := range page {
			if r.Position > end {
				return nil
			}
			if f.Matches(r) {
				var prev []byte
				if !f.IsZero() && r.Version > 1 {
					if prev, err = s.previousHash(ctx, r); err != nil {
						return err
					}
				}
				if err := emit(r, prev); err != nil {
					return err
				}
			}
			after = r.Position
		}
	}
	return nil
}

// exportStream reads one stream instead of the whole log.
func (s *Service) exportStream(ctx context.Context, f Filter, cp StoredCheckpoint, emit func(event.Record, []byte) error) error {
	if s.Streams == nil {
		return s.exportLog(ctx, f, cp, emit)
	}
	var prev []byte
	return eventstore.ForEachInStream(ctx, s.Streams, f.StreamID, eventstore.AsOf{Position: cp.LastPosition}, func(r event.Record) error {
		defer func() { prev = r.Hash }()
		if !f.Matches(r) {
			return nil
		}
		if prev == nil && r.Version > 1 {
			var err error
			if prev, err = s.previousHash(ctx, r); err != nil {
				return err
			}
		}
		return emit(r, prev)
	})
}

// previousHash returns the chain hash of the event before r in its stream.
func (s *Service) previousHash(ctx context.Context, r event.Record) ([]byte, error) {
	if s.Streams == nil {
		return nil, errors.New("audit: a filtered export needs a store that reads streams")
	}
	page, err := s.Streams.ReadStream(ctx, r.StreamID, r.Version-1, 1)
	if err != nil {
		return nil, err
	}
	if len(page) == 0 || page[0].Version != r.Version-1 {
		return nil, fmt.Errorf("audit: stream %q has no version %d before the event at position %d", r.StreamID, r.Version-1, r.Position)
	}
	return page[0].Hash, nil
}
