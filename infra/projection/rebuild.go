package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
)

// Rebuild empties projection name's tables, resets its checkpoint to zero
// and replays the whole log through it, RebuildBatch events per
// transaction, reading the log page by page so that memory stays flat
// whatever its size. progress, if not nil, is called after each batch with
// the position reached and the log's head.
//
// The projection's live handler in this process waits while the rebuild
// runs and then resumes from where the rebuild got to. A rebuild clears a
// failure; if an event fails to apply during the rebuild, the projection
// is marked failed at it and a *FailedError is returned. A rebuild that is
// interrupted (ctx, database error) leaves a consistent projection at the
// position it reached, which live processing then continues.
func (r *Runtime) Rebuild(ctx context.Context, name string, progress func(done, total uint64)) error {
	e, err := r.entry(name)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = func(done, total uint64) {}
	}
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	defer r.progress.Broadcast()
	e.applied.Store(0) // the rebuild applies every event again

	total, err := r.cfg.Log.Head(ctx)
	if err != nil {
		return fmt.Errorf("projection %s: rebuild: read log head: %w", name, err)
	}
	if err := r.reset(ctx, e); err != nil {
		return err
	}
	progress(0, total)
	var after uint64
	// Pages are read ahead, outside any transaction (on SQLite the log is
	// read without holding the write lock), while the last one applies.
	err = eventstore.ScanLog(ctx, r.cfg.Log, 0, total, r.cfg.RebuildBatch, 2, func(page []event.Record) error {
		reached, err := r.applyBatch(ctx, e, after, page)
		if err != nil {
			return err
		}
		after = reached
		total = max(total, after)
		progress(after, total)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrFailed) { // marked failed at the event that did not apply
			return err
		}
		r.abandonRebuild(name)
		return fmt.Errorf("projection %s: rebuild after position %d: %w", name, after, err)
	}
	_, err = r.db.ExecContext(ctx, r.db.Rebind(`UPDATE projection_checkpoints SET status = 'live', updated_at = ?
		WHERE name = ? AND status = 'rebuilding'`), r.cfg.Clock.Now().UnixMicro(), name)
	if err != nil {
		return fmt.Errorf("projection %s: rebuild: mark live: %w", name, err)
	}
	r.cfg.Logger.Info("projection rebuilt", "projection", name, "position", after)
	return nil
}

// reset empties e's tables and moves its checkpoint to zero, in one
// transaction.
func (r *Runtime) reset(ctx context.Context, e *entry) (err error) {
	name := e.p.Name()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projection %s: rebuild: begin: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := r.lockCheckpoint(ctx, tx, name); err != nil {
		return err
	}
	stx := WrapTx(tx, r.db.Engine)
	for _, table := range e.p.Tables() {
		// Table names come from the projection's code, never from input.
		if err := stx.Exec(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("projection %s: rebuild: empty %s: %w", name, table, err)
		}
	}
	if err := stx.Exec(ctx, `UPDATE projection_checkpoints SET position = 0, updated_at = ?, status = 'rebuilding', error = '',
		failed_position = 0, failed_stream = '', failed_version = 0, failed_type = '' WHERE name = ?`,
		r.cfg.Clock.Now().UnixMicro(), name); err != nil {
		return fmt.Errorf("projection %s: rebuild: reset checkpoint: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projection %s: rebuild: commit reset: %w", name, err)
	}
	e.storedAt = 0
	return nil
}

// applyBatch applies the events of page that follow the checkpoint in one
// transaction and returns the new checkpoint. If the checkpoint is not at
// after (another process applied some of them meanwhile) only the events
// past it are applied. If an event fails, the events before it are
// committed and the projection is halted at it: it stops exactly there, as
// live processing would.
func (r *Runtime) applyBatch(ctx context.Context, e *entry, after uint64, page []event.Record) (uint64, error) {
	reached, failed, cause, err := r.tryBatch(ctx, e, after, page)
	if err != nil || cause == nil {
		return reached, err
	}
	if failed > 0 {
		// Deterministic Apply: the events before the failed one succeed again.
		if reached, failed2, cause2, err := r.tryBatch(ctx, e, after, page[:failed]); err != nil {
			return reached, err
		} else if cause2 != nil {
			failed, cause = failed2, cause2
		}
	}
	rec := page[failed]
	if haltErr := r.Halt(ctx, e.p.Name(), rec, cause); haltErr != nil {
		return 0, errors.Join(cause, haltErr)
	}
	return 0, &FailedError{Name: e.p.Name(), Failure: Failure{
		Position: rec.Position, StreamID: rec.StreamID, Version: rec.Version, EventType: rec.Type, Reason: cause.Error(),
	}}
}

// tryBatch applies page in one transaction. If Apply fails it rolls back
// and returns the failing event's index in page and the cause.
func (r *Runtime) tryBatch(ctx context.Context, e *entry, after uint64, page []event.Record) (reached uint64, failed int, cause, err error) {
	name := e.p.Name()
	tx, err := r.db.BeginRebuildable(ctx)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("projection %s: rebuild: begin: %w", name, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	cp, err := r.lockCheckpoint(ctx, tx, name)
	if err != nil {
		return 0, 0, nil, err
	}
	if cp.state == StateFailed {
		return 0, 0, nil, &FailedError{Name: name, Failure: *cp.failure}
	}
	if cp.position < after {
		return 0, 0, nil, fmt.Errorf("projection %s: rebuild: checkpoint went back to %d from %d: another rebuild is running", name, cp.position, after)
	}
	stx := WrapTx(tx, r.db.Engine)
	reached = cp.position
	for i, rec := range page {
		if rec.Position <= reached {
			continue
		}
		if err := e.p.Apply(ctx, stx, rec); err != nil {
			return 0, i, fmt.Errorf("projection %s: apply %s (stream %q version %d, position %d): %w",
				name, rec.Type, rec.StreamID, rec.Version, rec.Position, err), nil
		}
		reached = rec.Position
	}
	if err := stx.Exec(ctx, `UPDATE projection_checkpoints SET position = ?, updated_at = ? WHERE name = ?`,
		reached, r.cfg.Clock.Now().UnixMicro(), name); err != nil {
		return 0, 0, nil, fmt.Errorf("projection %s: rebuild: move checkpoint to %d: %w", name, reached, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, nil, fmt.Errorf("projection %s: rebuild: commit position %d: %w", name, reached, err)
	}
	committed = true
	e.storedAt = reached
	r.progress.Broadcast()
	return reached, 0, nil, nil
}

// abandonRebuild marks an interrupted rebuild's projection live again: it
// is consistent at the position it reached, and live processing continues
// from there.
func (r *Runtime) abandonRebuild(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.db.ExecContext(ctx, r.db.Rebind(`UPDATE projection_checkpoints SET status = 'live' WHERE name = ? AND status = 'rebuilding'`), name)
	if err != nil {
		r.cfg.Logger.Error("cannot mark an interrupted rebuild live", "projection", name, "error", err)
	}
}
