-- The event log. An append batch locks the log_head row (UPDATE … RETURNING)
-- and keeps the lock until it commits, so positions are allocated in commit
-- order: no reader can see position n+1 before n is visible, and positions
-- run 1, 2, 3 … with no gaps (a rolled-back batch rolls the head back too).

-- +goose Up
CREATE TABLE events (
    position       bigint      PRIMARY KEY,        -- global order, contiguous from 1
    stream_id      text        NOT NULL,
    version        bigint      NOT NULL,           -- place in the stream, from 1
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    schema_version integer     NOT NULL,
    data           bytea       NOT NULL,           -- JSON, byte for byte as appended (it is hashed)
    actor_kind     text        NOT NULL,
    actor_id       text        NOT NULL,
    command        text        NOT NULL DEFAULT '',
    correlation_id text        NOT NULL DEFAULT '',
    causation_id   text        NOT NULL DEFAULT '',
    effective_at   timestamptz,                    -- NULL: when recorded
    recorded_at    timestamptz NOT NULL,           -- never decreasing along the log
    hash           bytea       NOT NULL,           -- SHA-256 chain hash, see domain/event.ChainHash
    UNIQUE (stream_id, version)
);

-- One row per stream: its version and last hash, so an append reads one row.
CREATE TABLE streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL,
    hash      bytea  NOT NULL
);

-- The log head: the last position and its recorded time. Its row lock is
-- the append lock.
CREATE TABLE log_head (
    id          integer     PRIMARY KEY CHECK (id = 1),
    position    bigint      NOT NULL,
    recorded_at timestamptz NOT NULL
);
INSERT INTO log_head (id, position, recorded_at) VALUES (1, 0, 'epoch');

-- +goose Down
DROP TABLE log_head;
DROP TABLE streams;
DROP TABLE events;
