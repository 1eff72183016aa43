package eventstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
		if !json.Valid(e.Data) {
			return nil, invalid("event %d (%s): payload is not valid JSON", i, e.Type)
		}
		if err := e.Metadata.Actor.Validate(); err != nil {
			return nil, invalid("event %d (%s): %v", i, e.Type, err)
		}
		if !e.Metadata.EffectiveAt.IsZero() {
			e.Metadata.EffectiveAt = Timestamp(e.Metadata.EffectiveAt)
		}
		out[i] = e
	}
	return out, nil
}

// Timestamp returns t as the ledger stores times: UTC, at microsecond
// precision, the finest every backend keeps (PostgreSQL's timestamptz), so
// that a time hashed at append hashes alike when read back.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
