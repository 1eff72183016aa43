package eventstore

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"seatledger/domain/event"
)

// MaxStreamIDLength bounds stream IDs, which every backend indexes.
const MaxStreamIDLength = 200

// Normalize checks an append's input and returns the events ready to
// store: every ID a lower-case canonical UUID (a new random one where the
// caller left it empty). Errors match ErrInvalid and name the problem.
func Normalize(stream string, events []event.Proposed) ([]event.Proposed, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: stream %q: %s", ErrInvalid, stream, fmt.Sprintf(format, args...))
	}
	switch {
	case stream == "":
		return nil, fmt.Errorf("%w: stream ID is empty", ErrInvalid)
	case len(stream) > MaxStreamIDLength:
		return nil, invalid("stream ID is longer than %d bytes", MaxStreamIDLength)
	case strings.HasPrefix(stream, "$"):
		return nil, invalid("stream IDs starting with $ are reserved")
	case !storableText(stream):
		return nil, invalid("stream ID is not valid UTF-8 or holds a NUL byte")
	case len(events) == 0:
		return nil, invalid("no events to append")
	}
	out := make([]event.Proposed, len(events))
	seen := make(map[string]bool, len(events))
	for i, e := range events {
		if e.ID == "" {
			e.ID = uuid.Must(uuid.NewV7()).String()
		} else {
			id, err := uuid.Parse(e.ID)
			if err != nil {
				return nil, invalid("event %d: ID %q is not a UUID", i, e.ID)
			}
			e.ID = id.String()
		}
		if seen[e.ID] {
			return nil, invalid("event %d: ID %s appears twice in one append", i, e.ID)
		}
		seen[e.ID] = true
		if e.Type == "" {
			return nil, invalid("event %d: type is empty", i)
		}
		if e.SchemaVersion < 1 {
			return nil, invalid("event %d (%s): schema version %d, want 1 or more", i, e.Type, e.SchemaVersion)
		}
		if e.SchemaVersion > math.MaxInt32 {
			return nil, invalid("event %d (%s): schema version %d is beyond %d", i, e.Type, e.SchemaVersion, math.MaxInt32)
		}
		for _, f := range []struct{ name, value string }{
			{"type", e.Type}, {"actor ID", e.Metadata.Actor.ID}, {"command", e.Metadata.Command},
			{"correlation ID", e.Metadata.CorrelationID}, {"causation ID", e.Metadata.CausationID},
		} {
			if !storableText(f.value) {
				return nil, invalid("event %d: %s is not valid UTF-8 or holds a NUL byte", i, f.name)
			}
		}
		if !json.Valid(e.Data) {
			return nil, invalid("event %d (%s): payload is not valid JSON", i, e.Type)
		}
		if payloadHoldsNUL(e.Data) {
			return nil, invalid("event %d (%s): payload holds a NUL character, which no read model can store", i, e.Type)
		}
		if err := e.Metadata.Actor.Validate(); err != nil {
			return nil, invalid("event %d (%s): %v", i, e.Type, err)
		}
		if !e.Metadata.EffectiveAt.IsZero() {
			e.Metadata.EffectiveAt = Timestamp(e.Metadata.EffectiveAt)
			if y := e.Metadata.EffectiveAt.Year(); y < 1 || y > 9999 { // beyond JSON's and PostgreSQL's times
				return nil, invalid("event %d (%s): effective time %s is outside the years 1–9999", i, e.Type, e.Metadata.EffectiveAt)
			}
		}
		out[i] = e
	}
	return out, nil
}

// NamesAStream reports whether stream could name a stream: appends refuse
// any other name, so a read of it finds nothing without asking a database
// (PostgreSQL fails a query on invalid UTF-8 or NUL instead of finding
// nothing).
func NamesAStream(stream string) bool {
	return stream != "" && len(stream) <= MaxStreamIDLength && storableText(stream)
}

// payloadHoldsNUL reports whether a JSON payload holds a \u0000 escape:
// no read model on PostgreSQL can store a NUL in text or JSON, so an event
// carrying one could never be applied there (rule X-7). It reads escapes
// the way JSON does, so "\\u0000" (a backslash, then text) is not one.
func payloadHoldsNUL(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 >= len(data) {
			continue
		}
		i++
		if data[i] == 'u' && i+4 < len(data) && string(data[i+1:i+5]) == "0000" {
			return true
		}
	}
	return false
}

// storableText reports whether every backend can store s as text: a
// PostgreSQL text column refuses invalid UTF-8 and NUL bytes, and the
// server would then fail the whole batch, with every append in it, not
// only the offending one.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Timestamp returns t as the ledger stores times: UTC, at microsecond
// precision, the finest every backend keeps (PostgreSQL's timestamptz), so
// that a time hashed at append hashes alike when read back.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
