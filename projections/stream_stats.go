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

var _ BatchApplier = StreamStats{}

// Name implements Projection.
func (StreamStats) Name() string { return "stream_stats" }

// Tables implements Projection.
func (StreamStats) Tables() []string { return []string{"event_type_stats"} }

// Apply implements Projection.
func (st StreamStats) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return st.ApplyBatch(ctx, tx, []event.Record{rec})
}

// ApplyBatch implements BatchApplier: one statement per event type of
// the run, which adds the run's count of the type. Positions and recorded
// times never decrease along the log, so a run's last event of a type is
// the type's last one, and its first is the type's first if the type is
// new.
func (StreamStats) ApplyBatch(ctx context.Context, tx Tx, records []event.Record) error {
	type count struct {
		n               int
		first, last     uint64
		firstAt, lastAt int64
	}
	counts := map[string]*count{}
	var types []string
	for _, rec := range records {
		at := rec.RecordedAt.UnixMicro()
		c, ok := counts[rec.Type]
		if !ok {
			c = &count{first: rec.Position, firstAt: at}
			counts[rec.Type] = c
			types = append(types, rec.Type)
		}
		c.n++
		c.last, c.lastAt = rec.Position, at
	}
	for _, typ := range types {
		c := counts[typ]
		err := tx.Exec(ctx, `INSERT INTO event_type_stats
			(event_type, event_count, first_position, first_recorded_at, last_position, last_recorded_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (event_type) DO UPDATE SET
				event_count = event_type_stats.event_count + excluded.event_count,
				last_position = excluded.last_position,
				last_recorded_at = excluded.last_recorded_at`,
			typ, c.n, c.first, c.firstAt, c.last, c.lastAt)
		if err != nil {
			return fmt.Errorf("stream_stats: count %s at positions %d–%d: %w", typ, c.first, c.last, err)
		}
	}
	return nil
}
