package audit

import (
	"context"
	"fmt"

	"seatledger/infra/eventstore"
)

// Service answers auditors: the public key, checkpoints, proofs and
// exports, all from the stored tree and the log.
type Service struct {
	// Tree is the stored tree. Required.
	Tree *Tree
	// Log is the event log. Required for exports.
	Log Log
	// Streams reads single streams: a filtered export uses it for each
	// event's previous chain hash. Every event store implements it.
	Streams eventstore.StreamReader
	// VerifierKey is the note verifier key of the checkpoints' signer,
	// served to auditors; empty where the service only exports (the CLI).
	VerifierKey string
	// Contiguous says the log's positions run 1, 2, 3 … (SQLite and
	// PostgreSQL, not KurrentDB); exports record it for Verify.
	Contiguous bool
}

// PublicKey returns the note verifier key auditors check checkpoints with.
func (s *Service) PublicKey() string { return s.VerifierKey }

// Checkpoint returns the stored checkpoint of size leaves, or the latest
// for size 0. The empty tree's checkpoint is only returned as the latest.
func (s *Service) Checkpoint(ctx context.Context, size uint64) (StoredCheckpoint, error) {
	if size == 0 {
		return s.Tree.Latest(ctx)
	}
	return s.Tree.Checkpoint(ctx, size)
}

// InclusionProof proves that an event is a leaf of a checkpointed tree.
type InclusionProof struct {
	// Position is the event's position; LeafIndex its leaf.
	Position  uint64 `json:"position"`
	LeafIndex uint64 `json:"leaf_index"`
	// TreeSize is the size of the checkpoint the proof is for.
	TreeSize uint64 `json:"tree_size"`
	// LeafHash is the leaf's RFC 6962 hash (of the position and the
	// event's chain hash).
	LeafHash []byte `json:"leaf_hash"`
	// Hashes is the audit path, leaf to root.
	Hashes [][]byte `json:"hashes"`
	// Checkpoint is the signed note of the tree.
	Checkpoint string `json:"checkpoint"`
}

// InclusionProof returns the proof that the event at position is in the
// checkpointed tree of size leaves (0: the latest checkpoint). It returns
// ErrNotFound when there is no such checkpoint or the event is not in it.
func (s *Service) InclusionProof(ctx context.Context, position, size uint64) (InclusionProof, error) {
	cp, err := s.Checkpoint(ctx, size)
	if err != nil {
		return InclusionProof{}, err
	}
	index, err := s.Tree.LeafIndex(ctx, position)
	if err != nil {
		return InclusionProof{}, err
	}
	if index >= cp.Size {
		return InclusionProof{}, fmt.Errorf("%w: position %d is not in the checkpoint of size %d", ErrNotFound, position, cp.Size)
	}
	leaf, err := nodeHashes(ctx, s.Tree.db, s.Tree.db, leafID(index))
	if err != nil {
		return InclusionProof{}, err
	}
	hashes, err := s.Tree.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Position: position, LeafIndex: index, TreeSize: cp.Size, LeafHash: leaf[0], Hashes: hashes,
		Checkpoint: string(cp.Note)}, nil
}

// ConsistencyProof proves that one checkpointed tree extends another.
type ConsistencyProof struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
	// FromCheckpoint and ToCheckpoint are the two trees' signed notes.
	FromCheckpoint string `json:"from_checkpoint"`
	ToCheckpoint   string `json:"to_checkpoint"`
}

// ConsistencyProof returns the proof that the checkpoint of to leaves
// extends the checkpoint of from leaves. Both must be stored checkpoints
// (a proof between sizes nobody signed proves nothing to an auditor);
// ErrNotFound otherwise. from must not exceed to.
func (s *Service) ConsistencyProof(ctx context.Context, from, to uint64) (ConsistencyProof, error) {
	if from > to {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency from size %d to the smaller size %d", from, to)
	}
	a, err := s.Tree.Checkpoint(ctx, from)
	if err != nil {
		return ConsistencyProof{}, err
	}
	b, err := s.Tree.Checkpoint(ctx, to)
	if err != nil {
		return ConsistencyProof{}, err
	}
	hashes, err := s.Tree.ConsistencyProof(ctx, from, to)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{From: from, To: to, Hashes: hashes, FromCheckpoint: string(a.Note), ToCheckpoint: string(b.Note)}, nil
}
