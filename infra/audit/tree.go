package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"seatledger/infra/sqldb"
)

// ErrNotFound is matched by a request for a checkpoint, a position or a
// tree size the stored tree does not have.
var ErrNotFound = errors.New("audit: not found")

// StoredCheckpoint is a checkpoint as the checkpointer stored it.
type StoredCheckpoint struct {
	Checkpoint
	// LastPosition is the position of the event of the last leaf (0 for
	// the empty tree).
	LastPosition uint64
	// Note is the signed note auditors keep.
	Note []byte
	// CreatedAt is when the checkpoint was signed.
	CreatedAt time.Time
}

// Tree is the log's Merkle tree as stored in the audit_nodes and
// audit_checkpoints tables (migrations 00010_audit_log.sql).
type Tree struct {
	db *sqldb.DB
}

// NewTree returns the tree stored in db, which must be migrated.
func NewTree(db *sqldb.DB) *Tree { return &Tree{db: db} }

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const selectCheckpoint = `SELECT size, last_position, root, note, created_at FROM audit_checkpoints `

func scanCheckpoint(row *sql.Row) (StoredCheckpoint, error) {
	var (
		c              StoredCheckpoint
		size, last, at int64
		note           string
	)
	if err := row.Scan(&size, &last, &c.Root, &note, &at); err != nil {
		return c, err
	}
	c.Size, c.LastPosition, c.Note, c.CreatedAt = uint64(size), uint64(last), []byte(note), time.UnixMicro(at).UTC()
	body, err := parseBody(noteBody(c.Note))
	if err != nil {
		return c, fmt.Errorf("audit: stored checkpoint of size %d: %w", size, err)
	}
	c.Origin = body.Origin
	return c, nil
}

// Latest returns the newest checkpoint, or ErrNotFound when none was
// signed yet.
func (t *Tree) Latest(ctx context.Context) (StoredCheckpoint, error) {
	c, err := scanCheckpoint(t.db.QueryRowContext(ctx, selectCheckpoint+`ORDER BY size DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%w: no checkpoint was signed yet", ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("audit: read the latest checkpoint: %w", err)
	}
	return c, nil
}

// Checkpoint returns the stored checkpoint of the tree of size leaves.
func (t *Tree) Checkpoint(ctx context.Context, size uint64) (StoredCheckpoint, error) {
	c, err := scanCheckpoint(t.db.QueryRowContext(ctx, t.db.Rebind(selectCheckpoint+`WHERE size = ?`), int64(size)))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%w: no checkpoint of size %d", ErrNotFound, size)
	}
	if err != nil {
		return c, fmt.Errorf("audit: read the checkpoint of size %d: %w", size, err)
	}
	return c, nil
}

// LeafIndex returns the index of the leaf of the event at position.
func (t *Tree) LeafIndex(ctx context.Context, position uint64) (uint64, error) {
	var idx int64
	err := t.db.QueryRowContext(ctx, t.db.Rebind(`SELECT idx FROM audit_nodes WHERE level = 0 AND position = ?`), int64(position)).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: no checkpointed event at position %d", ErrNotFound, position)
	}
	if err != nil {
		return 0, fmt.Errorf("audit: find the leaf of position %d: %w", position, err)
	}
	return uint64(idx), nil
}

// nodeHashes reads the hashes of ids, in their order. Every complete
// subtree is stored, so a missing node means a damaged table.
func nodeHashes(ctx context.Context, db *sqldb.DB, q queryer, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var (
		where strings.Builder
		args  = make([]any, 0, 2*len(ids))
	)
	for i, id := range ids {
		if i > 0 {
			where.WriteString(" OR ")
		}
		where.WriteString("(level = ? AND idx = ?)")
		args = append(args, int64(id.Level), int64(id.Index))
	}
	rows, err := q.QueryContext(ctx, db.Rebind(`SELECT level, idx, hash FROM audit_nodes WHERE `+where.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: read tree nodes: %w", err)
	}
	defer rows.Close()
	found := make(map[compact.NodeID][]byte, len(ids))
	for rows.Next() {
		var (
			level, idx int64
			hash       []byte
		)
		if err := rows.Scan(&level, &idx, &hash); err != nil {
			return nil, fmt.Errorf("audit: read tree nodes: %w", err)
		}
		found[compact.NewNodeID(uint(level), uint64(idx))] = hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read tree nodes: %w", err)
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, ok := found[id]
		if !ok {
			return nil, fmt.Errorf("audit: tree node (level %d, index %d) is missing from audit_nodes", id.Level, id.Index)
		}
		out[i] = h
	}
	return out, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of leaf index in the
// tree of size leaves, which must not be larger than the stored tree.
func (t *Tree) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: leaf %d is not in a tree of size %d", ErrNotFound, index, size)
	}
	hashes, err := nodeHashes(ctx, t.db, t.db, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nonNil(nodes.Rehash(hashes, hashChildren))
}

// nonNil makes an empty proof an empty list, never nil: its JSON is
// "hashes": [], as docs/formats.md states, not null.
func nonNil(hashes [][]byte, err error) ([][]byte, error) {
	if hashes == nil && err == nil {
		hashes = [][]byte{}
	}
	return hashes, err
}

// ConsistencyProof returns the RFC 6962 consistency proof between the
// trees of size1 and size2 leaves (size1 ≤ size2 ≤ the stored tree).
func (t *Tree) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("audit: consistency from %d to %d: %w", size1, size2, err)
	}
	hashes, err := nodeHashes(ctx, t.db, t.db, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nonNil(nodes.Rehash(hashes, hashChildren))
}

// compactRange rebuilds the compact range of the first size leaves from
// the stored nodes: the few perfect subtrees that cover them.
func compactRange(ctx context.Context, db *sqldb.DB, q queryer, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := nodeHashes(ctx, db, q, ids)
	if err != nil {
		return nil, err
	}
	return ranges.NewRange(0, size, hashes)
}

// storedLeaf is a leaf as stored: its hash and the position its event
// had when it was checkpointed.
type storedLeaf struct {
	hash     []byte
	position uint64
}

// leaves calls fn with the stored leaves from index from on, in order,
// up to (excluding) to, page by page.
func (t *Tree) leaves(ctx context.Context, from, to uint64, fn func(index uint64, l storedLeaf) error) error {
	const page = 4096
	for from < to {
		rows, err := t.db.QueryContext(ctx, t.db.Rebind(`SELECT idx, hash, position FROM audit_nodes
			WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx`), int64(from), int64(min(to, from+page)))
		if err != nil {
			return fmt.Errorf("audit: read leaves: %w", err)
		}
		next := from
		for rows.Next() {
			var (
				idx int64
				pos sql.NullInt64
				l   storedLeaf
			)
			if err := rows.Scan(&idx, &l.hash, &pos); err != nil {
				rows.Close()
				return fmt.Errorf("audit: read leaves: %w", err)
			}
			if uint64(idx) != next {
				rows.Close()
				return fmt.Errorf("audit: leaf %d is missing from audit_nodes", next)
			}
			l.position = uint64(pos.Int64)
			if err := fn(uint64(idx), l); err != nil {
				rows.Close()
				return err
			}
			next++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("audit: read leaves: %w", err)
		}
		if next == from {
			return fmt.Errorf("audit: leaf %d is missing from audit_nodes", from)
		}
		from = next
	}
	return nil
}

// node is a tree node the checkpointer is about to store.
type node struct {
	id       compact.NodeID
	hash     []byte
	position uint64 // leaves only
}

// advisoryLock is the PostgreSQL transaction lock that admits one
// checkpointer at a time across every ledgerd process on a database.
const advisoryLock int64 = 0x5ea7_1ed9_a0d1_0001

// store writes nodes and cp in one transaction if the latest stored
// checkpoint still has base leaves (-1: there is none yet), and reports
// whether it did: another
// process may have checkpointed the same events meanwhile, and the tree
// must grow from one writer only (SQLite's write lock; on PostgreSQL an
// advisory lock held to commit).
func (t *Tree) store(ctx context.Context, base int64, nodes []node, cp StoredCheckpoint) (bool, error) {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("audit: begin checkpoint: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if t.db.Engine == sqldb.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryLock); err != nil {
			return false, fmt.Errorf("audit: take the checkpoint lock: %w", err)
		}
	}
	var latest int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(size), -1) FROM audit_checkpoints`).Scan(&latest); err != nil {
		return false, fmt.Errorf("audit: read the latest checkpoint: %w", err)
	}
	if latest != base {
		return false, nil
	}
	const perStatement = 200 // 800 parameters, well under both engines' limits
	for len(nodes) > 0 {
		chunk := nodes[:min(perStatement, len(nodes))]
		nodes = nodes[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_nodes (level, idx, hash, position) VALUES `)
		args := make([]any, 0, 4*len(chunk))
		for i, n := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(?, ?, ?, ?)")
			var pos any
			if n.id.Level == 0 {
				pos = int64(n.position)
			}
			args = append(args, int64(n.id.Level), int64(n.id.Index), n.hash, pos)
		}
		if _, err := tx.ExecContext(ctx, t.db.Rebind(q.String()), args...); err != nil {
			return false, fmt.Errorf("audit: store tree nodes: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, t.db.Rebind(`INSERT INTO audit_checkpoints (size, last_position, root, note, created_at) VALUES (?, ?, ?, ?, ?)`),
		int64(cp.Size), int64(cp.LastPosition), cp.Root, string(cp.Note), cp.CreatedAt.UnixMicro()); err != nil {
		return false, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("audit: commit checkpoint: %w", err)
	}
	return true, nil
}

// leafID returns the ID of leaf index, for nodeHashes.
func leafID(index uint64) []compact.NodeID { return []compact.NodeID{compact.NewNodeID(0, index)} }
