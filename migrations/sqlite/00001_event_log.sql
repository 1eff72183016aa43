-- The event log. Positions are allocated by the single writer under the
-- log_head row's lock, so they run 1, 2, 3 … in commit order with no gaps.

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

-- One row per stream: its version and last hash, so an append reads one row.
CREATE TABLE streams (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL,
    hash      BLOB    NOT NULL
) WITHOUT ROWID;

-- The log head: the last position and its recorded time.
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
INSERT INTO log_head (id, position, recorded_at) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE log_head;
DROP TABLE streams;
DROP TABLE events;
