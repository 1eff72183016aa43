package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/person"
	"seatledger/domain/subscription"
)

// Audit answers the auditors' questions from the event log itself, not
// from a read model (rules ): the history of a subscription, a
// license key, an installation, a business account or a person — every
// event with who, when, why and what changed — and the state of any of
// them as of a past recorded time or log position.
//
// Long streams stay fast with snapshots: as a read folds a stream it
// stores the aggregate's state every SnapshotEvery versions, and a later
// read starts from the newest snapshot within its bound and folds only
// the events after it. A snapshot is the state a fold from the start
// reaches (tests check it on random points), so it never changes an
// answer, only its cost.
type Audit struct {
	// Log is the event store. Required.
	Log StreamLog
	// Registry decodes the stored events. Required.
	Registry *event.Registry
	// Snapshots keeps the snapshots; nil: every read folds from the start.
	Snapshots SnapshotDB
	// SnapshotEvery is how many versions apart snapshots are taken.
	// Default 1024.
	SnapshotEvery uint64
	// SnapshotFailed, if set, is told when a snapshot could not be
	// stored; the read goes on without it.
	SnapshotFailed func(stream string, err error)

	// names is the back office's names as folded so far from the roster's
	// stream, which grows with every staff sign-in: each history read
	// folds only what was appended since (backOfficeNames).
	namesMu sync.Mutex
	names   BackOfficeNames
	namesAt uint64 // the roster's version folded into names
}

// StreamLog reads streams of the event log.
type StreamLog interface {
	// ReadStream returns up to limit events of stream with version >=
	// from, in version order.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error)
}

// SnapshotDB is the read store with the one write the audit makes.
type SnapshotDB interface {
	DB
	// Write runs one statement in a write transaction of its own.
	Write(ctx context.Context, query string, args ...any) error
}

// The audit's errors.
var (
	// ErrUnknownEntity: the entity has no events at all.
	ErrUnknownEntity = errors.New("queries: no such entity")
	// ErrInvalidAuditQuery: an unknown kind, a malformed as-of point, a
	// bad cursor or limit.
	ErrInvalidAuditQuery = errors.New("queries: invalid audit query")
)

// auditError is an error of the audit's reads: its message is for the
// caller, and it matches its kind (ErrUnknownEntity, ErrInvalidAuditQuery).
type auditError struct {
	kind error
	msg  string
}

func (e auditError) Error() string        { return "queries: " + e.msg }
func (e auditError) Is(target error) bool { return target == e.kind }

func invalidAudit(format string, args ...any) error {
	return auditError{ErrInvalidAuditQuery, fmt.Sprintf(format, args...)}
}

func unknownEntity(kind EntityKind, id string) error {
	return auditError{ErrUnknownEntity, fmt.Sprintf("no %s %q has ever existed", kind, id)}
}

// EntityKind is what an audit read is about.
type EntityKind string

// The kinds of entities an auditor can read.
const (
	KindSubscription EntityKind = "subscription"
	KindKey          EntityKind = "key"
	KindInstallation EntityKind = "installation"
	KindAccount      EntityKind = "account"
	KindPerson       EntityKind = "person"
)

// EntityKinds lists the kinds, for messages and the CLI's help.
var EntityKinds = []EntityKind{KindSubscription, KindKey, KindInstallation, KindAccount, KindPerson}

// ParseEntityKind returns the kind named s, singular or plural
// ("subscriptions").
func ParseEntityKind(s string) (EntityKind, error) {
	name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "s")
	if name == "people" {
		name = string(KindPerson)
	}
	for _, k := range EntityKinds {
		if string(k) == name {
			return k, nil
		}
	}
	names := make([]string, len(EntityKinds))
	for i, k := range EntityKinds {
		names[i] = string(k)
	}
	return "", invalidAudit("unknown kind %q (use %s)", s, strings.Join(names, ", "))
}

// AsOf bounds a read to what the log held at a point of its history: the
// events at or before a global position, or recorded at or before a time.
// The zero value is unbounded (now).
type AsOf struct {
	Position   uint64    `json:"position,omitempty"`
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}

// IsZero reports whether the bound is "now".
func (a AsOf) IsZero() bool { return a.Position == 0 && a.RecordedAt.IsZero() }

// Includes reports whether r lies within the bound.
func (a AsOf) Includes(r event.Record) bool {
	if a.Position > 0 && r.Position > a.Position {
		return false
	}
	return a.RecordedAt.IsZero() || !r.RecordedAt.After(a.RecordedAt)
}

// String renders the bound as ParseAsOf reads it.
func (a AsOf) String() string {
	switch {
	case a.Position > 0:
		return "position " + strconv.FormatUint(a.Position, 10)
	case !a.RecordedAt.IsZero():
		return a.RecordedAt.Format(time.RFC3339Nano)
	}
	return "now"
}

// ParseAsOf reads an as-of point: "" (now), a log position (a positive
// integer), an RFC 3339 time, or a date (YYYY-MM-DD), which means the end
// of that day in UTC: "what did key K have on 1 March" counts the
// changes made on 1 March.
func ParseAsOf(s string) (AsOf, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return AsOf{}, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 {
			return AsOf{}, invalidAudit("as-of position 0 is before the log's first event (positions start at 1)")
		}
		return AsOf{Position: n}, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return AsOf{RecordedAt: d.AddDate(0, 0, 1).Add(-time.Microsecond)}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return AsOf{RecordedAt: t.UTC()}, nil
	}
	return AsOf{}, invalidAudit("as-of %q is neither a log position, an RFC 3339 time nor a date (YYYY-MM-DD)", s)
}

// AuditEvent is one event of an entity's history: what happened (type
// and payload), to which stream, who did it, when (effective and
// recorded time), why (the command and the correlation of the request
// that caused it), and what it changed in the entity's state.
type AuditEvent struct {
	Position      uint64      `json:"position"`
	StreamID      string      `json:"stream_id"`
	Version       uint64      `json:"version"`
	EventID       string      `json:"event_id"`
	Type          string      `json:"type"`
	SchemaVersion int         `json:"schema_version"`
	Actor         event.Actor `json:"actor"`
	// ActorName names a back-office actor (X-1, issue 23): a staff
	// person by name and role then, a service account by its name, the
	// admin token; absent for other actors.
	ActorName     string    `json:"actor_name,omitempty"`
	Command       string    `json:"command,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
	EffectiveAt   time.Time `json:"effective_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	// Data is the payload as stored, less secrets (hashes, sealed keys).
	Data json.RawMessage `json:"data"`
	// Changes are the fields of the entity's state the event changed.
	Changes []FieldChange `json:"changes"`
}

// FieldChange is one field of an entity's state before and after an
// event; a field that did not exist is null.
type FieldChange struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from"`
	To    json.RawMessage `json:"to"`
}

// HistoryQuery selects a page of an entity's history.
type HistoryQuery struct {
	// AsOf ends the history at a point (zero: now).
	AsOf AsOf
	// After is the cursor: only events after this global position.
	After uint64
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Field keeps only the events that changed this field of the state
	// or one under it ("quota", "key.quota", "members").
	Field string
}

// HistoryPage is a page of an entity's history, oldest first.
type HistoryPage struct {
	Kind   EntityKind   `json:"kind"`
	ID     string       `json:"id"`
	AsOf   AsOf         `json:"as_of"`
	Events []AuditEvent `json:"events"`
	// NextAfter is the cursor of the next page; 0 when this is the last.
	NextAfter uint64 `json:"next_after,omitempty"`
}

// EntityState is an entity as of a point of the log.
type EntityState struct {
	Kind EntityKind `json:"kind"`
	ID   string     `json:"id"`
	AsOf AsOf       `json:"as_of"`
	// Exists is false when the entity's first event came after the point;
	// FirstRecordedAt and FirstPosition then say when it did.
	Exists          bool       `json:"exists"`
	Message         string     `json:"message,omitempty"`
	FirstRecordedAt *time.Time `json:"first_recorded_at,omitempty"`
	FirstPosition   uint64     `json:"first_position,omitempty"`
	// Streams are the streams the state is folded from, each with its
	// version and last event as of the point.
	Streams []StreamAt `json:"streams"`
	// State is the entity's state, less secrets.
	State json.RawMessage `json:"state,omitempty"`
}

// StreamAt is a stream as of a point: its version and its last event.
type StreamAt struct {
	StreamID  string      `json:"stream_id"`
	Version   uint64      `json:"version"`
	LastEvent *AuditEvent `json:"last_event,omitempty"`
}

// State returns the entity kind/id as of asOf.
func (a *Audit) State(ctx context.Context, kind EntityKind, id string, asOf AsOf) (EntityState, error) {
	e, err := a.open(ctx, kind, id, &asOf)
	if err != nil {
		return EntityState{}, err
	}
	out := EntityState{Kind: kind, ID: id, AsOf: asOf}
	for _, s := range e.streams {
		for {
			rec, payload, err := s.next(ctx, asOf)
			if err != nil {
				return out, err
			}
			if rec == nil {
				break
			}
			s.apply(ctx, a, *rec, payload)
		}
		if s.last == nil && s.version > 0 { // started from a snapshot at the bound
			recs, err := a.Log.ReadStream(ctx, s.stream, s.version, 1)
			if err != nil {
				return out, err
			}
			if len(recs) == 1 {
				s.last = &recs[0]
			}
		}
		at := StreamAt{StreamID: s.stream, Version: s.version}
		if s.last != nil {
			ev := auditEvent(*s.last)
			at.LastEvent = &ev
		}
		out.Streams = append(out.Streams, at)
	}
	primary := e.streams[0]
	if primary.version == 0 {
		first, err := a.Log.ReadStream(ctx, primary.stream, 1, 1)
		if err != nil {
			return out, err
		}
		if len(first) == 0 {
			return out, unknownEntity(kind, id)
		}
		at := first[0].RecordedAt
		out.FirstRecordedAt, out.FirstPosition = &at, first[0].Position
		out.Message = fmt.Sprintf("%s %s did not exist yet as of %s: its first event was recorded at %s (position %d)",
			kind, id, asOf, at.Format(time.RFC3339Nano), first[0].Position)
		return out, nil
	}
	tree, err := e.view()
	if err != nil {
		return out, err
	}
	state, err := json.Marshal(tree)
	if err != nil {
		return out, err
	}
	out.Exists, out.State = true, state
	return out, nil
}

// History returns a page of the history of entity kind/id: the events of
// its own stream, and the events of related streams that changed its
// state (for a key, the subscription's events that changed that key).
func (a *Audit) History(ctx context.Context, kind EntityKind, id string, q HistoryQuery) (HistoryPage, error) {
	switch {
	case q.Limit == 0:
		q.Limit = 100
	case q.Limit < 0 || q.Limit > 1000:
		return HistoryPage{}, invalidAudit("limit %d (1–1000)", q.Limit)
	}
	page := HistoryPage{Kind: kind, ID: id, AsOf: q.AsOf, Events: []AuditEvent{}}
	// The page starts from the state as of the cursor.
	var start *AsOf
	if q.After > 0 {
		start = &AsOf{Position: q.After}
	}
	e, err := a.open(ctx, kind, id, start)
	if err != nil {
		return page, err
	}
	for _, s := range e.streams {
		for start != nil {
			rec, payload, err := s.next(ctx, *start)
			if err != nil {
				return page, err
			}
			if rec == nil {
				break
			}
			s.apply(ctx, a, *rec, payload)
		}
	}
	before, err := e.flatView()
	if err != nil {
		return page, err
	}
	for {
		// The next event of the entity's streams, in log order.
		var (
			s       *streamFold
			rec     *event.Record
			payload any
		)
		for _, c := range e.streams {
			r, p, err := c.peek(ctx, q.AsOf)
			if err != nil {
				return page, err
			}
			if r != nil && (rec == nil || r.Position < rec.Position) {
				s, rec, payload = c, r, p
			}
		}
		if rec == nil {
			break
		}
		if len(page.Events) == q.Limit {
			page.NextAfter = page.Events[len(page.Events)-1].Position
			break
		}
		s.pop()
		s.apply(ctx, a, *rec, payload)
		after, err := e.flatView()
		if err != nil {
			return page, err
		}
		changes := diff(before, after)
		before = after
		// A related stream's event counts when it changed the entity, once
		// the entity exists (a key's subscription was sold before the key).
		related := s != e.streams[0]
		if (related && (len(changes) == 0 || e.streams[0].version == 0)) || !touches(changes, q.Field) {
			continue
		}
		ev := auditEvent(*rec)
		ev.Changes = changes
		page.Events = append(page.Events, ev)
	}
	if len(page.Events) == 0 {
		first, err := a.Log.ReadStream(ctx, e.streams[0].stream, 1, 1)
		if err != nil {
			return page, err
		}
		if len(first) == 0 {
			return page, unknownEntity(kind, id)
		}
	}
	return page, a.nameBackOffice(ctx, &page)
}

// KeySubscription returns the subscription that issued key id, so that
// the caller can authorize a read of the key's history.
func (a *Audit) KeySubscription(ctx context.Context, id string) (string, error) {
	recs, err := a.Log.ReadStream(ctx, licensekey.StreamID(id), 1, 1)
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return "", unknownEntity(KindKey, id)
	}
	payload, err := a.Registry.Decode(recs[0])
	if err != nil {
		return "", err
	}
	issued, ok := payload.(licensekey.Issued)
	if !ok {
		return "", fmt.Errorf("queries: key %q starts with %s, not %s", id, recs[0].Type, licensekey.TypeIssued)
	}
	return issued.SubscriptionID, nil
}

// SnapshotDue reports whether rec ends a stretch of SnapshotEvery events
// of a stream the audit snapshots: the moment to take a snapshot ahead of
// any read (see TakeSnapshot).
func (a *Audit) SnapshotDue(rec event.Record) bool {
	return a.Snapshots != nil && rec.Version%a.every() == 0 && foldOf(rec.StreamID) != nil
}

// TakeSnapshot folds stream up to version from its newest snapshot and
// stores the snapshot at version, so that reads as of later points fold
// at most SnapshotEvery events even the first time.
func (a *Audit) TakeSnapshot(ctx context.Context, stream string, version uint64) error {
	_, err := a.foldTo(ctx, stream, version)
	return err
}

// foldTo is TakeSnapshot returning the fold it made: stream's state at
// version, or nil when the stream is not snapshotted or did not end up
// at version (the log holds fewer events, or a newer snapshot exists).
func (a *Audit) foldTo(ctx context.Context, stream string, version uint64) (folding, error) {
	f := foldOf(stream)
	if f == nil || a.Snapshots == nil {
		return nil, nil
	}
	s, err := a.stream(ctx, stream, f, &AsOf{})
	if err != nil {
		return nil, err
	}
	for s.version < version {
		rec, payload, err := s.next(ctx, AsOf{})
		if err != nil || rec == nil {
			return nil, err
		}
		s.apply(ctx, a, *rec, payload)
	}
	if s.version != version {
		return nil, nil
	}
	return f, nil
}

func (a *Audit) every() uint64 {
	if a.SnapshotEvery == 0 {
		return 1024
	}
	return a.SnapshotEvery
}

// foldOf returns a fold for the aggregate of stream, or nil for streams
// the audit does not snapshot.
func foldOf(stream string) folding {
	prefix, id, _ := strings.Cut(stream, "-")
	switch prefix + "-" {
	case subscription.StreamID(""):
		return subscriptionFold()
	case licensekey.StreamID(""):
		return keyFold()
	case installation.StreamID(""):
		return installationFold()
	case account.StreamID(""):
		return accountFold(id)
	case person.StreamID(""):
		return personFold()
	}
	return nil
}

// entity is an entity being folded: its streams (its own first) and how
// its state is seen.
type entity struct {
	streams []*streamFold
	view    func() (any, error) // the state as a decoded JSON tree
}

// flatView returns the entity's state as field → JSON value.
func (e *entity) flatView() (map[string]string, error) {
	v, err := e.view()
	if err != nil {
		return nil, err
	}
	return flatten(v)
}

// open prepares the folds of entity kind/id, each started from its newest
// snapshot within bound, or from the start when bound is nil.
func (a *Audit) open(ctx context.Context, kind EntityKind, id string, bound *AsOf) (*entity, error) {
	if strings.TrimSpace(id) == "" || len(id) > 200 {
		return nil, invalidAudit("%s ID %q", kind, id)
	}
	if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		// rule X-7: no stream is named so (appends refuse it), and
		// PostgreSQL would fail the lookup rather than find nothing.
		return nil, unknownEntity(kind, strings.ToValidUTF8(id, "\uFFFD"))
	}
	switch kind {
	case KindSubscription:
		f := subscriptionFold()
		s, err := a.stream(ctx, subscription.StreamID(id), f, bound)
		return &entity{streams: []*streamFold{s}, view: redactedView(f)}, err
	case KindInstallation:
		f := installationFold()
		s, err := a.stream(ctx, installation.StreamID(id), f, bound)
		return &entity{streams: []*streamFold{s}, view: redactedView(f)}, err
	case KindAccount:
		f := accountFold(id)
		s, err := a.stream(ctx, account.StreamID(id), f, bound)
		return &entity{streams: []*streamFold{s}, view: redactedView(f)}, err
	case KindPerson:
		f := personFold()
		s, err := a.stream(ctx, person.StreamID(id), f, bound)
		return &entity{streams: []*streamFold{s}, view: redactedView(f)}, err
	case KindKey:
		subID, err := a.KeySubscription(ctx, id)
		if err != nil {
			return nil, err
		}
		kf, sf := keyFold(), subscriptionFold()
		ks, err := a.stream(ctx, licensekey.StreamID(id), kf, bound)
		if err != nil {
			return nil, err
		}
		ss, err := a.stream(ctx, subscription.StreamID(subID), sf, bound)
		return &entity{streams: []*streamFold{ks, ss}, view: func() (any, error) { return keyView(id, kf, sf) }}, err
	}
	return nil, invalidAudit("unknown kind %q", kind)
}

// auditEvent describes rec without its changes.
func auditEvent(rec event.Record) AuditEvent {
	return AuditEvent{
		Position: rec.Position, StreamID: rec.StreamID, Version: rec.Version, EventID: rec.ID,
		Type: rec.Type, SchemaVersion: rec.SchemaVersion, Actor: rec.Metadata.Actor,
		Command: rec.Metadata.Command, CorrelationID: rec.Metadata.CorrelationID, CausationID: rec.Metadata.CausationID,
		EffectiveAt: rec.Effective(), RecordedAt: rec.RecordedAt, Data: redactJSON(rec.Data), Changes: []FieldChange{},
	}
}

// streamFold is one stream being folded, page by page.
type streamFold struct {
	stream string
	fold   folding
	// version is the last version folded; snapshotAt the snapshot's.
	version, snapshotAt uint64
	last                *event.Record
	reg                 *event.Registry
	log                 StreamLog
	buf                 []event.Record
	exhausted           bool
}

// stream starts folding stream with f from its newest snapshot within
// bound, or from the start when bound is nil.
func (a *Audit) stream(ctx context.Context, stream string, f folding, bound *AsOf) (*streamFold, error) {
	s := &streamFold{stream: stream, fold: f, reg: a.Registry, log: a.Log}
	if bound == nil {
		return s, nil
	}
	snap, ok, err := a.latestSnapshot(ctx, stream, f.schema(), *bound)
	if err != nil {
		return nil, err
	}
	if ok {
		if err := f.restore(snap); err != nil {
			return nil, fmt.Errorf("queries: snapshot of %q: %w", stream, err)
		}
		s.version, s.snapshotAt = snap.version, snap.version
	}
	return s, nil
}

// peek returns the stream's next event within bound, decoded, without
// folding it; nil when there is none.
func (s *streamFold) peek(ctx context.Context, bound AsOf) (*event.Record, any, error) {
	if len(s.buf) == 0 && !s.exhausted {
		page, err := s.log.ReadStream(ctx, s.stream, s.version+1, auditPage)
		if err != nil {
			return nil, nil, fmt.Errorf("queries: read %q: %w", s.stream, err)
		}
		s.buf, s.exhausted = page, len(page) < auditPage
	}
	if len(s.buf) == 0 || !bound.Includes(s.buf[0]) {
		return nil, nil, nil
	}
	payload, err := s.reg.Decode(s.buf[0])
	if err != nil {
		return nil, nil, err // an undecodable event is never skipped
	}
	return &s.buf[0], payload, nil
}

// pop drops the event peek returned.
func (s *streamFold) pop() { s.buf = s.buf[1:] }

// next is peek and pop.
func (s *streamFold) next(ctx context.Context, bound AsOf) (*event.Record, any, error) {
	rec, payload, err := s.peek(ctx, bound)
	if rec != nil {
		r := *rec
		s.pop()
		return &r, payload, err
	}
	return nil, nil, err
}

// apply folds rec, and stores a snapshot when the stream reaches a
// multiple of SnapshotEvery past the one it started from.
func (s *streamFold) apply(ctx context.Context, a *Audit, rec event.Record, payload any) {
	s.fold.apply(payload, rec)
	s.version, s.last = rec.Version, &rec
	if a.Snapshots != nil && rec.Version%a.every() == 0 && rec.Version > s.snapshotAt {
		if err := a.saveSnapshot(ctx, s.stream, s.fold, rec); err != nil && a.SnapshotFailed != nil {
			a.SnapshotFailed(s.stream, err)
		}
		s.snapshotAt = rec.Version
	}
}

// auditPage is how many events a fold reads at a time.
const auditPage = 512

type snapshotRow struct {
	version uint64
	state   []byte
}

// latestSnapshot returns the newest snapshot of stream whose event lies
// within bound.
func (a *Audit) latestSnapshot(ctx context.Context, stream, schema string, bound AsOf) (snapshotRow, bool, error) {
	if a.Snapshots == nil {
		return snapshotRow{}, false, nil
	}
	maxPos, maxRec := int64(1<<62), int64(1<<62)
	if bound.Position > 0 {
		maxPos = int64(min(bound.Position, 1<<62))
	}
	if !bound.RecordedAt.IsZero() {
		maxRec = bound.RecordedAt.UnixMicro()
	}
	var row snapshotRow
	err := a.Snapshots.SelectRow(ctx, `SELECT version, state FROM audit_snapshots
		WHERE stream_id = ? AND schema = ? AND position <= ? AND recorded_at <= ?
		ORDER BY version DESC LIMIT 1`, stream, schema, maxPos, maxRec).Scan(&row.version, &row.state)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("queries: snapshot of %q: %w", stream, err)
	}
	return row, true, nil
}

// saveSnapshot stores f's state as of rec; a snapshot already stored is
// kept (it says the same).
func (a *Audit) saveSnapshot(ctx context.Context, stream string, f folding, rec event.Record) error {
	state, err := f.snapshot()
	if err != nil {
		return err
	}
	return a.writeSnapshot(ctx, stream, f, rec, state)
}

// writeSnapshot stores state, f's snapshot as of rec; a snapshot already
// stored is kept (it says the same).
func (a *Audit) writeSnapshot(ctx context.Context, stream string, f folding, rec event.Record, state []byte) error {
	return a.Snapshots.Write(ctx, `INSERT INTO audit_snapshots (stream_id, schema, version, position, recorded_at, state)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		stream, f.schema(), int64(rec.Version), int64(rec.Position), rec.RecordedAt.UnixMicro(), state)
}
