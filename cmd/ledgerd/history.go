package main

import (
	"context"
	"time"

	"seatledger/domain/event"
	"seatledger/queries"
)

// historyReads returns the auditors' history and as-of reads,
// made once: the HTTP API and the snapshot worker, which run on different
// goroutines, share them.
func (m *Main) historyReads() *queries.Audit {
	m.historyOnce.Do(func() {
		m.history = &queries.Audit{Log: m.Store, Registry: Registry(), Snapshots: m.DB,
			SnapshotFailed: func(stream string, err error) {
				m.Logger.Warn("storing an audit snapshot failed; reads fold from an older one", "stream", stream, "error", err)
			}}
	})
	return m.history
}

// takeSnapshots follows the log from its head and snapshots every stream
// that reaches a multiple of the snapshot interval, so that even the
// first as-of read of a long stream folds at most that many events. The
// snapshots are a cache: events appended while no process took them (the
// server was down, or the worker was moving to another process) are not
// snapshotted here, and a read then folds from an older snapshot and
// stores the missing ones itself. A failed read of the log (the database
// is restarting or failing over) is logged and the worker goes on from
// where it was; it never stops the server. It keeps the streams' states
// folded as their records arrive (queries.LiveSnapshots, issue 21), so a
// snapshot due is stored without reading the stream back; the states
// live only as long as this run of the worker, which holds the lease.
func (m *Main) takeSnapshots(ctx context.Context) error {
	live := &queries.LiveSnapshots{Audit: m.historyReads()}
	var (
		after uint64
		known bool
	)
	for {
		err := func() error {
			if !known {
				head, err := m.Store.Head(ctx)
				if err != nil {
					return err
				}
				after, known = head, true
			}
			live.From(after)
			return m.Store.Subscribe(ctx, after, func(rec event.Record) error {
				if err := live.Apply(ctx, rec); err != nil && ctx.Err() == nil {
					m.Logger.Warn("taking an audit snapshot failed; reads fold from an older one", "stream", rec.StreamID, "error", err)
				}
				after = rec.Position
				return nil
			})
		}()
		if ctx.Err() != nil {
			return nil
		}
		m.Logger.Warn("the audit snapshot worker cannot read the log; trying again", "after", after, "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
