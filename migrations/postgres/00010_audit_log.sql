-- The audit log's Merkle tree (rule X-2, RFC 6962) and its signed
-- checkpoints, written by infra/audit's checkpointer. Leaf i is the i-th
-- event of the log in position order; its data is the event's position
-- (8 bytes, big-endian) and its chain hash.
--
-- Every complete subtree of the tree is kept (the nodes a compact range
-- reports as it grows), so that an inclusion or consistency proof is a
-- handful of primary-key reads, and the checkpointer resumes after a
-- restart from the few nodes of the compact range of the last checkpoint.
-- The leaves (level 0) also keep the position they were checkpointed at:
-- it finds an event's leaf on a log whose positions are not contiguous
-- (KurrentDB), and lets 'ledger verify' name an event moved elsewhere.
--
-- This file and migrations/sqlite/00010_audit_log.sql have the same shape.

-- +goose Up
CREATE TABLE audit_nodes (
    level    bigint NOT NULL,  -- 0: a leaf; n: the root of 2^n leaves
    idx      bigint NOT NULL,  -- index within the level
    hash     bytea  NOT NULL,  -- RFC 6962 leaf or node hash, 32 bytes
    position bigint,           -- leaves only: the event's global position
    PRIMARY KEY (level, idx)
);
CREATE UNIQUE INDEX audit_nodes_position ON audit_nodes (position) WHERE level = 0;

-- Each checkpoint is written in the same transaction as the nodes it
-- covers; note is the signed note (C2SP tlog-checkpoint) auditors save.
CREATE TABLE audit_checkpoints (
    size          bigint PRIMARY KEY,  -- leaves covered
    last_position bigint NOT NULL,     -- position of the last leaf's event (0: empty)
    root          bytea  NOT NULL,     -- RFC 6962 root hash
    note          text   NOT NULL,
    created_at    bigint NOT NULL      -- Unix microseconds
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_nodes;
