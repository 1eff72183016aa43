package kurrent

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

// metadataFormat marks an event's user metadata as the ledger's, and
// versions its shape.
const metadataFormat = 1

// storedMetadata is the JSON user metadata of every ledger event: what the
// SQL backends keep in columns besides the payload.
type storedMetadata struct {
	Format  int         `json:"seatledger"`
	Actor   event.Actor `json:"actor"`
	Command string      `json:"command,omitempty"`
	// The correlation and causation IDs use KurrentDB's own metadata keys,
	// so that its $by_correlation_id projection works on ledger events.
	CorrelationID string    `json:"$correlationId,omitempty"`
	CausationID   string    `json:"$causationId,omitempty"`
	EffectiveAt   time.Time `json:"effective_at,omitzero"`
	RecordedAt    time.Time `json:"recorded_at"`
	SchemaVersion int       `json:"schema_version"`
	// Hash is the event's chain hash, lower-case hex.
	Hash string `json:"hash"`
}

// encodeMetadata returns r's user metadata.
func encodeMetadata(r event.Record) ([]byte, error) {
	b, err := json.Marshal(storedMetadata{
		Format: metadataFormat, Actor: r.Metadata.Actor, Command: r.Metadata.Command,
		CorrelationID: r.Metadata.CorrelationID, CausationID: r.Metadata.CausationID,
		EffectiveAt: r.Metadata.EffectiveAt, RecordedAt: r.RecordedAt,
		SchemaVersion: r.SchemaVersion, Hash: hex.EncodeToString(r.Hash),
	})
	if err != nil {
		return nil, fmt.Errorf("encode metadata of event %s: %w", r.ID, err)
	}
	return b, nil
}

// decodeMetadata parses user metadata written by encodeMetadata, and
// refuses anything else: an event without it was not written by the ledger.
func decodeMetadata(b []byte) (storedMetadata, error) {
	var m storedMetadata
	if len(b) == 0 {
		return m, errors.New("no ledger metadata (not written by the ledger)")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("metadata is not the ledger's: %w", err)
	}
	switch {
	case m.Format == 0:
		return m, errors.New("no ledger metadata (not written by the ledger)")
	case m.Format != metadataFormat:
		return m, fmt.Errorf("ledger metadata format %d, this version reads %d", m.Format, metadataFormat)
	case m.SchemaVersion < 1:
		return m, fmt.Errorf("schema version %d in metadata", m.SchemaVersion)
	case m.RecordedAt.IsZero():
		return m, errors.New("metadata has no recorded time")
	}
	if err := m.Actor.Validate(); err != nil {
		return m, err
	}
	hash, err := hex.DecodeString(m.Hash)
	if err != nil || len(hash) != event.HashSize {
		return m, fmt.Errorf("metadata hash %q is not %d bytes of hex", m.Hash, event.HashSize)
	}
	return m, nil
}

// decodeRecord turns a stored event of the ledger into a Record, with the
// stream name stripped of prefix.
func decodeRecord(prefix string, e *esdb.RecordedEvent) (event.Record, error) {
	fail := func(err error) (event.Record, error) {
		return event.Record{}, fmt.Errorf("stream %q revision %d (event %s): %w", e.StreamID, e.EventNumber, e.EventID, err)
	}
	pos, err := position(e.Position)
	if err != nil {
		return fail(err)
	}
	m, err := decodeMetadata(e.UserMetadata)
	if err != nil {
		return fail(err)
	}
	hash, _ := hex.DecodeString(m.Hash) // checked by decodeMetadata
	effective := m.EffectiveAt
	if !effective.IsZero() {
		effective = effective.UTC()
	}
	return event.Record{
		Position: pos, StreamID: strings.TrimPrefix(e.StreamID, prefix), Version: e.EventNumber + 1,
		ID: e.EventID.String(), Type: e.EventType, SchemaVersion: m.SchemaVersion, Data: json.RawMessage(e.Data),
		Metadata: event.Metadata{
			Actor: m.Actor, Command: m.Command, CorrelationID: m.CorrelationID, CausationID: m.CausationID,
			EffectiveAt: effective,
		},
		RecordedAt: m.RecordedAt.UTC(),
		Hash:       hash,
	}, nil
}

// errNoPosition explains the max-value positions older servers send on
// stream reads.
var errNoPosition = errors.New("the server reported no $all position for the event: " +
	"the KurrentDB backend needs EventStoreDB 22.10 or later, or KurrentDB")

// position returns the ledger position of an event: its commit position,
// which for every event appended through gRPC equals its prepare position,
// so that one number is enough to resume reading $all from it.
func position(p esdb.Position) (uint64, error) {
	switch {
	case p.Commit == math.MaxUint64 || p.Prepare == math.MaxUint64:
		return 0, errNoPosition
	case p.Commit != p.Prepare:
		return 0, fmt.Errorf("event has commit position %d but prepare position %d (written in an explicit transaction): "+
			"its position cannot be told in one number", p.Commit, p.Prepare)
	}
	return p.Commit, nil
}

// allFrom is where a forward read of $all starts to find the events after
// position after. KurrentDB reads forward from a position inclusively, so
// the event at after comes too and the caller skips it. Only 0 and
// positions this store handed out are valid: another number may fall
// inside a log record.
func allFrom(after uint64) esdb.AllPosition {
	if after == 0 {
		return esdb.Start{}
	}
	return esdb.Position{Commit: after, Prepare: after}
}

// expectedRevision maps an expected version to KurrentDB's 0-based
// revisions: version v is revision v-1, version 0 means "no stream".
func expectedRevision(e event.ExpectedVersion) esdb.ExpectedRevision {
	v, ok := e.Version()
	switch {
	case !ok:
		return esdb.Any{}
	case v == 0:
		return esdb.NoStream{}
	}
	return esdb.Revision(v - 1)
}

// conflict builds the contract's conflict error.
func conflict(stream string, expected event.ExpectedVersion, actual uint64) error {
	return &event.ConflictError{StreamID: stream, Expected: expected, Actual: actual}
}

// conflictFromError reports whether err is KurrentDB's wrong-expected-version
// error and, when its message says so, the stream's actual version then.
func conflictFromError(err error) (actual uint64, known, isConflict bool) {
	var ee *esdb.Error
	if !errors.As(err, &ee) || !ee.IsErrorCode(esdb.ErrorCodeWrongExpectedVersion) {
		return 0, false, false
	}
	actual, known = parseActual(ee.Error())
	return actual, known, true
}

// gotRevision finds the actual revision in the client's message "wrong
// expected version: expecting '…' but got '…'", the only place the client
// exposes it.
var gotRevision = regexp.MustCompile(`but got '([^']*)'`)

// parseActual reads the stream's actual version (revision + 1, 0 for no
// stream) from a wrong-expected-version message.
func parseActual(msg string) (uint64, bool) {
	m := gotRevision.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	if m[1] == "no_stream" {
		return 0, true
	}
	rev, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || rev == math.MaxUint64 {
		return 0, false
	}
	return rev + 1, true
}

// buildRecords stamps events as the next ones of stream after head (its
// last event, or the zero Record for no stream): versions, recorded time
// and chain hashes.
func buildRecords(stream string, head event.Record, events []event.Proposed, now time.Time) []event.Record {
	recordedAt := now
	if recordedAt.Before(head.RecordedAt) {
		recordedAt = head.RecordedAt // recorded time never decreases along a stream
	}
	out := make([]event.Record, len(events))
	prev, version := head.Hash, head.Version
	for i, e := range events {
		version++
		r := event.Record{
			StreamID: stream, Version: version, ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion,
			Data: e.Data, Metadata: e.Metadata, RecordedAt: recordedAt,
		}
		r.Hash = event.ChainHash(prev, r)
		prev = r.Hash
		out[i] = r
	}
	return out
}

// toEventData turns stamped records into what the client appends.
func toEventData(records []event.Record) ([]esdb.EventData, error) {
	out := make([]esdb.EventData, len(records))
	for i, r := range records {
		id, err := uuid.Parse(r.ID)
		if err != nil {
			return nil, fmt.Errorf("event ID %q: %w", r.ID, err)
		}
		meta, err := encodeMetadata(r)
		if err != nil {
			return nil, err
		}
		out[i] = esdb.EventData{EventID: id, EventType: r.Type, ContentType: esdb.ContentTypeJson, Data: r.Data, Metadata: meta}
	}
	return out, nil
}

// checkNames refuses what eventstore.Normalize lets through but this
// backend cannot store faithfully.
func checkNames(stream string, events []event.Proposed) error {
	if strings.HasPrefix(stream, indexPrefix) {
		return fmt.Errorf("%w: stream %q: names starting with %q are reserved for the KurrentDB backend's event-ID index",
			eventstore.ErrInvalid, stream, indexPrefix)
	}
	for i, e := range events {
		if strings.HasPrefix(e.Type, "$") {
			return fmt.Errorf("%w: stream %q: event %d: type %q starts with $, which KurrentDB reserves for system events",
				eventstore.ErrInvalid, stream, i, e.Type)
		}
	}
	return nil
}

// ledgerStream returns the ledger's name for a KurrentDB stream, and
// whether events of that stream and type belong to the ledger's global log
// at all: system streams and events, the event-ID index and other
// prefixes' streams do not.
func ledgerStream(prefix, stream, eventType string) (string, bool) {
	if strings.HasPrefix(stream, "$") || strings.HasPrefix(eventType, "$") || !strings.HasPrefix(stream, prefix) {
		return "", false
	}
	name := stream[len(prefix):]
	if name == "" || strings.HasPrefix(name, "$") || strings.HasPrefix(name, indexPrefix) {
		return "", false
	}
	return name, true
}

// retried recognises a retry of an append already stored, from the events
// of the stream found carrying its IDs: all of them, one consecutive run in
// order, is a retry and yields the first append's result; some of them is
// a reuse of IDs; none is a new append.
func retried(stream string, events []event.Proposed, found map[string]event.Record) (event.AppendResult, bool, error) {
	if len(found) == 0 {
		return event.AppendResult{}, false, nil
	}
	first, consistent := found[events[0].ID]
	for i, e := range events {
		r, ok := found[e.ID]
		if !consistent || !ok || r.Version != first.Version+uint64(i) {
			consistent = false
			break
		}
	}
	if !consistent {
		for _, e := range events {
			if r, ok := found[e.ID]; ok {
				return event.AppendResult{}, false, fmt.Errorf("%w: event %s is stored in stream %q at version %d; this append to %q is not a retry of that one",
					event.ErrDuplicateID, e.ID, r.StreamID, r.Version, stream)
			}
		}
	}
	last := found[events[len(events)-1].ID]
	return event.AppendResult{StreamID: stream, FirstVersion: first.Version, LastVersion: last.Version, Position: last.Position}, true, nil
}

// redactURL renders a connection string for messages, without its password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return redact(raw, raw)
	}
	return u.Redacted()
}

// redact removes the connection string's password from msg, which may
// quote the string (url.Parse errors do).
func redact(raw, msg string) string {
	rest, ok := strings.CutPrefix(raw, "esdb://")
	if !ok {
		rest, ok = strings.CutPrefix(raw, "esdb+discover://")
	}
	if !ok {
		if _, after, found := strings.Cut(raw, "://"); found {
			rest = after
		}
	}
	at := strings.LastIndex(rest, "@") // a password may hold an unescaped @
	if at < 0 {
		return msg
	}
	userinfo := rest[:at]
	_, password, hasPassword := strings.Cut(userinfo, ":")
	if !hasPassword || password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "xxxxx")
}
