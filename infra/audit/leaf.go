// Package audit makes the global event log tamper-evident (rule X-2): a
// checkpointer folds the log into an RFC 6962 Merkle tree
// (transparency-dev/merkle) and signs each new tree head as a checkpoint
// (a C2SP tlog-checkpoint in a signed note, Ed25519); the tree's nodes are
// kept so that inclusion and consistency proofs are a few reads; Verify
// checks a database or an NDJSON export against a checkpoint an auditor
// saved and names the first altered, removed or reordered event.
//
// Leaf i is the i-th event of the log in position order. Its data is the
// event's position (8 bytes, big-endian) followed by its 32-byte chain
// hash: the chain hash covers every field of the event but the position
// (see event.ChainHash), so the leaf covers the whole event, and the tree
// adds what the per-stream chains cannot prove, the global order.
package audit

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"seatledger/domain/event"
)

// LeafDataSize is the length of a leaf's data: position and chain hash.
const LeafDataSize = 8 + event.HashSize

// LeafData returns the data of the leaf of the event at position whose
// chain hash is chainHash.
func LeafData(position uint64, chainHash []byte) []byte {
	b := make([]byte, LeafDataSize)
	binary.BigEndian.PutUint64(b, position)
	copy(b[8:], chainHash)
	return b
}

// LeafHash returns the RFC 6962 leaf hash of LeafData(position,
// chainHash). It is what rfc6962.DefaultHasher.HashLeaf computes, without
// its allocations: verifying a million events hashes a million leaves.
func LeafHash(position uint64, chainHash []byte) [sha256.Size]byte {
	var b [1 + LeafDataSize]byte
	b[0] = rfc6962.RFC6962LeafHashPrefix
	binary.BigEndian.PutUint64(b[1:], position)
	copy(b[9:], chainHash)
	return sha256.Sum256(b[:])
}

// hashChildren is rfc6962.DefaultHasher.HashChildren with one allocation
// instead of three; the compact range calls it about once per leaf.
func hashChildren(l, r []byte) []byte {
	var b [1 + 2*sha256.Size]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	h := sha256.Sum256(b[:])
	return h[:]
}

// hasher is the tree's hash: RFC 6962 with SHA-256, which the proofs'
// verifiers (proof.VerifyInclusion, VerifyConsistency) are given.
var hasher = rfc6962.DefaultHasher

// ranges builds the compact ranges the tree is folded with.
var ranges = &compact.RangeFactory{Hash: hashChildren}
