package event

import (
	"encoding/json"
	"time"
)

// Metadata says who caused an event, why, and when it happened in the
// business (rule X-1). The ledger adds the recorded time itself.
type Metadata struct {
	// Actor is who caused the change.
	Actor Actor `json:"actor"`
	// Command is the name of the command that produced the event (the "why").
	Command string `json:"command,omitempty"`
	// CorrelationID ties together everything one request caused.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the ID of the message (event or command) that caused this one.
	CausationID string `json:"causation_id,omitempty"`
	// EffectiveAt is when the fact became true in the business, for example
	// an installation's own report time. Zero means "when recorded".
	EffectiveAt time.Time `json:"effective_at,omitzero"`
}

// Proposed is an event a command wants to append.
type Proposed struct {
	// ID is a UUID chosen by the caller. Appending the same IDs again is a
	// no-op that returns the first append's result (rule X-4).
	ID string
	// Type is the stable event type name, e.g. "subscription.seats_added".
	Type string
	// SchemaVersion is the version of Data's shape, starting at 1.
	SchemaVersion int
	// Data is the JSON payload. Its bytes are stored and hashed as given.
	Data json.RawMessage
	// Metadata describes who, why and when.
	Metadata Metadata
}

// Record is an event as stored in the log.
type Record struct {
	// Position is the event's place in the global log. Positions increase
	// with commit order; on the SQL backends they are also contiguous from 1.
	Position uint64
	// StreamID names the stream (usually one aggregate instance).
	StreamID string
	// Version is the event's place in its stream, starting at 1.
	Version uint64
	// ID is the event's UUID.
	ID string
	// Type is the stable event type name.
	Type string
	// SchemaVersion is the version of Data's shape.
	SchemaVersion int
	// Data is the JSON payload exactly as appended.
	Data json.RawMessage
	// Metadata describes who, why and when.
	Metadata Metadata
	// RecordedAt is when the ledger stored the event, by the ledger's clock.
	// It never decreases along the global log.
	RecordedAt time.Time
	// Hash is the SHA-256 chain hash: it covers this event's content and the
	// previous event's hash in the same stream (see ChainHash).
	Hash []byte
}

// Effective returns the metadata's effective time, or RecordedAt when the
// event carried none.
func (r Record) Effective() time.Time {
	if r.Metadata.EffectiveAt.IsZero() {
		return r.RecordedAt
	}
	return r.Metadata.EffectiveAt
}

// AppendResult is what a successful append wrote.
type AppendResult struct {
	// StreamID is the stream appended to.
	StreamID string
	// FirstVersion and LastVersion are the stream versions of the first and
	// last appended events. LastVersion is the stream's version after the
	// append, the expected version for the next one.
	FirstVersion, LastVersion uint64
	// Position is the global position of the last appended event: a query
	// that waits for it reads its own writes.
	Position uint64
	// RecordedAt is when the events were recorded, where the backend
	// says (zero otherwise, and for a retry answered from the stored
	// events): with it, a writer can fold what it appended without
	// reading it back.
	RecordedAt time.Time
}
