package projections

import (
	"context"
	"fmt"

	"seatledger/domain/event"
)

// StreamStats counts the log by event type: how many events of each type,
// and the position and recorded time of the first and last one. Operators
// read it with `ledger stats` to see what the ledger holds and how fresh it
// is, without scanning the log.
type StreamStats struct{}

var _ Projection = StreamStats{}

// Name implements Projection.
func (StreamStats) Name() string { return "stream_stats" }

// Tables implements Projection.
func (StreamStats) Tables() []string { return []string{"event_type_stats"} }

// Apply implements Projection. Positions and recorded times never decrease
// along the log, so the event being applied is always the type's last one.
func (StreamStats) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	at := rec.RecordedAt.UnixMicro()
	err := tx.Exec(ctx, `INSERT INTO event_type_stats
		(event_type, event_count, first_position, first_recorded_at, last_position, last_recorded_at)
		VALUES (?, 1, ?, ?, ?, ?)
		ON CONFLICT (event_type) DO UPDATE SET
			event_count = event_type_stats.event_count + 1,
			last_position = excluded.last_position,
			last_recorded_at = excluded.last_recorded_at`,
		rec.Type, rec.Position, at, rec.Position, at)
	if err != nil {
		return fmt.Errorf("stream_stats: count %s at position %d: %w", rec.Type, rec.Position, err)
	}
	return nil
}
