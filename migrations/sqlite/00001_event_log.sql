-- The event log. Appends run under SQLite's write lock (BEGIN IMMEDIATE),
-- held to commit, and allocate position max+1, so positions run 1, 2, 3 …
-- in commit order with no gaps. A stream's head is its row with the highest
-- version, found through the (stream_id, version) index; the log's head is
-- the highest position. Unlike PostgreSQL, no separate head tables: each
-- would add a written page to every commit.

-- +goose Up
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,          -- global order, contiguous from 1
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,             -- place in the stream, from 1
    event_id       TEXT    NOT NULL UNIQUE,      -- canonical lower-case UUID
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           BLOB    NOT NULL,             -- JSON, byte for byte as appended (it is hashed)
    actor_kind     TEXT    NOT NULL,
    actor_id       TEXT    NOT NULL,
    command        TEXT    NOT NULL DEFAULT '',
    correlation_id TEXT    NOT NULL DEFAULT '',
    causation_id   TEXT    NOT NULL DEFAULT '',
    effective_at   INTEGER,                      -- Unix microseconds, NULL: when recorded
    recorded_at    INTEGER NOT NULL,             -- Unix microseconds, never decreasing
    hash           BLOB    NOT NULL,             -- SHA-256 chain hash, see domain/event.ChainHash
    UNIQUE (stream_id, version)
);

-- +goose Down
DROP TABLE events;
