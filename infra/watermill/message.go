// Package watermill carries the event log through watermill
// (github.com/ThreeDotsLabs/watermill): a message.Subscriber that exposes
// the ordered log to a named consumer (catch-up from the consumer's stored
// checkpoint, then live), and the Router the ledger's projections, process
// managers and notifiers run in, with retry, poison-queue, recoverer and
// correlation middleware.
//
// The log must never be skipped. Watermill's own poison queue acknowledges
// the poisoned message and moves on; here a message that still fails after
// the retries is published on the poison topic for operators and its
// consumer is halted at that event (see Halter), so that nothing after it
// is applied before it.
package watermill

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"seatledger/domain/event"
)

// Metadata keys of a log message. The payload is the event's data byte for
// byte as appended (it is what the chain hash covers, so a consumer can
// verify it); every other field of event.Record travels in metadata, where
// any watermill transport keeps it. The message UUID is the event ID.
const (
	MetaStreamID      = "stream_id"
	MetaVersion       = "stream_version"
	MetaPosition      = "position"
	MetaType          = "event_type"
	MetaSchemaVersion = "schema_version"
	// MetaCorrelationID is watermill's own correlation key, so that its
	// CorrelationID middleware passes the event's correlation ID on to
	// every message a handler produces.
	MetaCorrelationID = middleware.CorrelationIDMetadataKey
	MetaCausationID   = "causation_id"
	MetaActorKind     = "actor_kind"
	MetaActorID       = "actor_id"
	MetaCommand       = "command"
	MetaEffectiveAt   = "effective_at" // RFC 3339, empty: when recorded
	MetaRecordedAt    = "recorded_at"  // RFC 3339
	MetaHash          = "hash"         // hex
	// MetaAfter is the position the subscription had delivered up to
	// before this event: the consumer's checkpoint if it has applied
	// everything delivered so far. A consumer that finds a different
	// checkpoint knows its delivery is stale (see ErrStaleDelivery).
	MetaAfter = "after_position"
)

// NewMessage returns rec as a log message delivered after position after.
func NewMessage(rec event.Record, after uint64) *message.Message {
	msg := message.NewMessage(rec.ID, message.Payload(rec.Data))
	md := msg.Metadata
	md.Set(MetaStreamID, rec.StreamID)
	md.Set(MetaVersion, strconv.FormatUint(rec.Version, 10))
	md.Set(MetaPosition, strconv.FormatUint(rec.Position, 10))
	md.Set(MetaAfter, strconv.FormatUint(after, 10))
	md.Set(MetaType, rec.Type)
	md.Set(MetaSchemaVersion, strconv.Itoa(rec.SchemaVersion))
	md.Set(MetaCorrelationID, rec.Metadata.CorrelationID)
	md.Set(MetaCausationID, rec.Metadata.CausationID)
	md.Set(MetaActorKind, rec.Metadata.Actor.Kind.String())
	md.Set(MetaActorID, rec.Metadata.Actor.ID)
	md.Set(MetaCommand, rec.Metadata.Command)
	if !rec.Metadata.EffectiveAt.IsZero() {
		md.Set(MetaEffectiveAt, rec.Metadata.EffectiveAt.UTC().Format(time.RFC3339Nano))
	}
	md.Set(MetaRecordedAt, rec.RecordedAt.UTC().Format(time.RFC3339Nano))
	md.Set(MetaHash, hex.EncodeToString(rec.Hash))
	return msg
}

// ErrMalformed is matched by the error of Decode for a message that is not
// a log message written by NewMessage.
var ErrMalformed = errors.New("watermill: malformed log message")

// Decode returns the event a log message carries and the position the
// subscription had delivered up to before it. On a malformed message it
// returns what it could read (at least the ID) and an error matching
// ErrMalformed, so that the failure can still name the event.
func Decode(msg *message.Message) (rec event.Record, after uint64, err error) {
	md := msg.Metadata
	rec = event.Record{
		ID: msg.UUID, StreamID: md.Get(MetaStreamID), Type: md.Get(MetaType),
		Data: append([]byte(nil), msg.Payload...),
	}
	var errs []error
	uintField := func(key string) uint64 {
		v, err := strconv.ParseUint(md.Get(key), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a number", key, md.Get(key)))
		}
		return v
	}
	timeField := func(key string, optional bool) time.Time {
		s := md.Get(key)
		if s == "" && optional {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not an RFC 3339 time", key, s))
		}
		return t.UTC()
	}
	rec.Position = uintField(MetaPosition)
	rec.Version = uintField(MetaVersion)
	after = uintField(MetaAfter)
	rec.SchemaVersion = int(uintField(MetaSchemaVersion))
	rec.RecordedAt = timeField(MetaRecordedAt, false)
	rec.Metadata.EffectiveAt = timeField(MetaEffectiveAt, true)
	rec.Metadata.CorrelationID = md.Get(MetaCorrelationID)
	rec.Metadata.CausationID = md.Get(MetaCausationID)
	rec.Metadata.Command = md.Get(MetaCommand)
	rec.Metadata.Actor.ID = md.Get(MetaActorID)
	if kind := md.Get(MetaActorKind); kind != "" {
		k, err := event.ParseActorKind(kind)
		if err != nil {
			errs = append(errs, err)
		}
		rec.Metadata.Actor.Kind = k
	}
	if rec.Hash, err = hex.DecodeString(md.Get(MetaHash)); err != nil {
		errs = append(errs, fmt.Errorf("%s is not hex", MetaHash))
	}
	if rec.StreamID == "" || rec.Type == "" {
		errs = append(errs, errors.New("stream or event type missing"))
	}
	if len(errs) > 0 {
		return rec, after, fmt.Errorf("%w %s: %w", ErrMalformed, msg.UUID, errors.Join(errs...))
	}
	return rec, after, nil
}
