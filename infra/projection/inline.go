package projection

import (
	"context"
	"fmt"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/projections"
)

// Inline returns projection name as the event store's inline projection
// (eventstore.Inline): the append batches apply it in their own
// transaction, with its checkpoint, whenever the checkpoint is live at the
// log head they follow. The runtime keeps running it as before; it
// acknowledges what was applied inline without a transaction, and it
// catches up in log order whenever a batch could not apply it (behind,
// failed, rebuilt, or an error in the batch). Only a projection whose
// Apply only writes may be applied inline on PostgreSQL, where its
// statements join the commit's pipeline.
func (r *Runtime) Inline(name string) (eventstore.Inline, error) {
	e, err := r.entry(name)
	if err != nil {
		return nil, err
	}
	return inline{r: r, e: e}, nil
}

type inline struct {
	r *Runtime
	e *entry
}

// Checkpoint implements eventstore.Inline.
func (in inline) Checkpoint() string { return in.e.p.Name() }

// Apply implements eventstore.Inline. A projections.BatchApplier applies
// the batch at once, in fewer statements.
func (in inline) Apply(ctx context.Context, tx projections.Tx, records []event.Record) error {
	name := in.e.p.Name()
	if b, ok := in.e.p.(projections.BatchApplier); ok {
		if err := b.ApplyBatch(ctx, tx, records); err != nil {
			return fmt.Errorf("projection %s: apply positions %d–%d inline: %w", name, records[0].Position, records[len(records)-1].Position, err)
		}
	} else {
		for _, rec := range records {
			if err := in.e.p.Apply(ctx, tx, rec); err != nil {
				return fmt.Errorf("projection %s: apply %s inline (position %d): %w", name, rec.Type, rec.Position, err)
			}
		}
	}
	last := records[len(records)-1].Position
	return tx.Exec(ctx, `UPDATE projection_checkpoints SET position = ?, updated_at = ? WHERE name = ?`,
		last, in.r.cfg.Clock.Now().UnixMicro(), name)
}

// Applied implements eventstore.Inline: the runtime acknowledges the
// batch's deliveries from memory. The stored position is updated only if
// the projection's lock is free at once (the append must not wait for a
// projection); otherwise the runtime's next transaction reads the
// checkpoint as moved by someone else, which is equally correct.
func (in inline) Applied(position uint64) {
	in.e.markApplied(position)
	select {
	case in.e.lock <- struct{}{}:
		if position > in.e.storedAt {
			in.e.stored, in.e.storedAt = time.Now(), position
		}
		in.e.release()
	default:
	}
	in.r.progress.Broadcast()
}
