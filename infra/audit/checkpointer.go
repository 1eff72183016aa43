package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
)

// Log is the part of an event store the audit reads: the global log in
// position order, and its head.
type Log interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]event.Record, error)
	Head(ctx context.Context) (uint64, error)
}

// CheckpointerConfig configures a Checkpointer.
type CheckpointerConfig struct {
	// DB holds the tree (audit_nodes, audit_checkpoints). Required.
	DB *sqldb.DB
	// Log is the event log folded into the tree. Required.
	Log Log
	// Signer signs the checkpoints. Required.
	Signer *Signer
	// Clock stamps the checkpoints' creation times. Required.
	Clock clock.Clock
	// Interval is how often Run looks for new events (default 10s).
	Interval time.Duration
	// MaxLeaves caps the events one checkpoint adds (default 16384): the
	// transaction that stores a checkpoint holds the database's write
	// lock on SQLite, so a long backlog is folded in several short ones.
	MaxLeaves int
	// Logger receives a line per checkpoint and per failure. Default slog.Default().
	Logger *slog.Logger
	// Observe, if set, is told after each round the tree's size and the
	// log's head, for metrics.
	Observe func(size, head uint64)
}

// Validate reports every problem with the configuration.
func (c CheckpointerConfig) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("audit: checkpointer needs a database"))
	}
	if c.Log == nil {
		errs = append(errs, errors.New("audit: checkpointer needs the event log"))
	}
	if c.Signer == nil {
		errs = append(errs, errors.New("audit: checkpointer needs a signer"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("audit: checkpointer needs a clock"))
	}
	return errors.Join(errs...)
}

func (c *CheckpointerConfig) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = 10 * time.Second
	}
	if c.MaxLeaves <= 0 {
		c.MaxLeaves = 16384
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Checkpointer folds the log's new events into the stored tree and signs
// a checkpoint of each new size.
type Checkpointer struct {
	cfg  CheckpointerConfig
	tree *Tree
}

// NewCheckpointer returns a checkpointer; Run starts it.
func NewCheckpointer(cfg CheckpointerConfig) (*Checkpointer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Checkpointer{cfg: cfg, tree: NewTree(cfg.DB)}, nil
}

// Run checkpoints at once and then every interval until ctx ends. A failed
// round is logged and retried at the next tick: the log stays writable
// while the audit lags, and the lag is visible in the metrics.
func (c *Checkpointer) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := c.CatchUp(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Error("audit checkpoint failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CatchUp folds every event appended since the latest checkpoint into the
// tree, signing a checkpoint per MaxLeaves events, and returns the latest
// checkpoint. On a log that has not grown it signs nothing; on an empty
// log it signs the empty tree once, so that there is always a checkpoint
// to start from.
func (c *Checkpointer) CatchUp(ctx context.Context) (StoredCheckpoint, error) {
	for {
		cp, more, err := c.round(ctx)
		if err != nil || !more {
			return cp, err
		}
	}
}

// round adds up to MaxLeaves events and reports whether more are waiting.
func (c *Checkpointer) round(ctx context.Context) (StoredCheckpoint, bool, error) {
	head, err := c.cfg.Log.Head(ctx)
	if err != nil {
		return StoredCheckpoint{}, false, err
	}
	latest, err := c.tree.Latest(ctx)
	first := errors.Is(err, ErrNotFound)
	if err != nil && !first {
		return latest, false, err
	}
	if c.cfg.Observe != nil {
		defer func() { c.cfg.Observe(latest.Size, head) }()
	}
	if !first && latest.LastPosition >= head {
		return latest, false, nil
	}
	rng, err := compactRange(ctx, c.cfg.DB, c.cfg.DB, latest.Size)
	if err != nil {
		return latest, false, fmt.Errorf("audit: rebuild the tree of size %d: %w", latest.Size, err)
	}
	var nodes []node
	visit := func(id compact.NodeID, hash []byte) { nodes = append(nodes, node{id: id, hash: hash}) }
	after, added := latest.LastPosition, 0
	for added < c.cfg.MaxLeaves && after < head {
		page, err := c.cfg.Log.ReadAll(ctx, after, min(exportPageSize, c.cfg.MaxLeaves-added))
		if err != nil {
			return latest, false, err
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			leaf := LeafHash(r.Position, r.Hash)
			mark := len(nodes)
			if err := rng.Append(leaf[:], visit); err != nil {
				return latest, false, fmt.Errorf("audit: fold position %d: %w", r.Position, err)
			}
			nodes[mark].position = r.Position // the leaf comes first
			after = r.Position
			added++
		}
	}
	if added == 0 && !first {
		return latest, false, nil
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return latest, false, err
	}
	if root == nil {
		root = hasher.EmptyRoot()
	}
	cp := StoredCheckpoint{Checkpoint: Checkpoint{Origin: c.cfg.Signer.Name(), Size: rng.End(), Root: root},
		LastPosition: after, CreatedAt: c.cfg.Clock.Now().UTC()}
	if cp.Note, err = c.cfg.Signer.SignCheckpoint(cp.Checkpoint); err != nil {
		return latest, false, err
	}
	base := int64(latest.Size)
	if first {
		base = -1
	}
	stored, err := c.tree.store(ctx, base, nodes, cp)
	if err != nil {
		return latest, false, err
	}
	if !stored {
		// Another process checkpointed meanwhile; go on from its tree.
		return latest, true, nil
	}
	c.cfg.Logger.Info("audit checkpoint signed", "size", cp.Size, "last_position", cp.LastPosition)
	latest = cp
	return cp, after < head, nil
}
