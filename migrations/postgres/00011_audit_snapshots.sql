-- Snapshots of aggregates for the auditors' "as of" reads (rule X-2): a
-- stream's state after a version, so that the state of a long stream as of
-- any point is a snapshot plus the few events after it rather than a fold
-- from the start. They are a cache of what the log says: taken by the reads
-- themselves as they fold, never changed, and safe to delete. A snapshot is
-- used only by code whose snapshot shape (schema) matches.
--
-- This file and migrations/sqlite/00011_audit_snapshots.sql have the same
-- shape.

-- +goose Up
CREATE TABLE audit_snapshots (
    stream_id   text   NOT NULL,
    schema      text   NOT NULL,  -- fingerprint of the snapshot's Go type
    version     bigint NOT NULL,  -- the stream version the state is as of
    position    bigint NOT NULL,  -- global position of that version's event
    recorded_at bigint NOT NULL,  -- its recorded time, Unix microseconds
    state       bytea  NOT NULL,  -- the aggregate's snapshot, JSON
    PRIMARY KEY (stream_id, schema, version)
);

-- +goose Down
DROP TABLE audit_snapshots;
