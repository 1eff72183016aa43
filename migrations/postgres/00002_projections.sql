-- The read side's runtime: projection checkpoints, the first read model
-- (event_type_stats), durable timers and the simulated clock's state.
--
-- This file and migrations/postgres/00002_projections.sql have the same
-- shape, so that the runtime's queries (written with ? placeholders) run
-- unchanged on both engines. Times are bigint Unix microseconds on both,
-- the one time encoding the two drivers store and compare alike.

-- +goose Up

-- One row per projection (and per process manager): the position of the
-- last event it applied, written in the same transaction as its rows, so a
-- crash never double-applies or loses an update. A projection that cannot
-- apply an event stops there (status 'failed') and names the event.
CREATE TABLE projection_checkpoints (
    name            text   PRIMARY KEY,
    position        bigint NOT NULL DEFAULT 0,
    updated_at      bigint NOT NULL DEFAULT 0,   -- Unix microseconds, wall clock
    status          text   NOT NULL DEFAULT 'live', -- live | failed | rebuilding
    error           text   NOT NULL DEFAULT '',
    failed_position bigint NOT NULL DEFAULT 0,   -- the event it stopped at (status 'failed')
    failed_stream   text   NOT NULL DEFAULT '',
    failed_version  bigint NOT NULL DEFAULT 0,
    failed_type     text   NOT NULL DEFAULT ''
);

-- projections.StreamStats: per event type, how many and when (ledger stats).
CREATE TABLE event_type_stats (
    event_type        text   PRIMARY KEY,
    event_count       bigint NOT NULL,
    first_position    bigint NOT NULL,
    first_recorded_at bigint NOT NULL,           -- Unix microseconds
    last_position     bigint NOT NULL,
    last_recorded_at  bigint NOT NULL            -- Unix microseconds
);

-- Durable timers of the process managers ("at due_at, do kind"). due_at and
-- fired_at are in ledger time (the simulated clock when it runs); retry_at
-- and claimed_until are in wall-clock time, because retries and claims are
-- about processes, not about the business.
CREATE TABLE timers (
    id            text    PRIMARY KEY,           -- chosen by the scheduler, deterministic
    kind          text    NOT NULL,
    due_at        bigint  NOT NULL,
    payload       text    NOT NULL,              -- JSON
    status        text    NOT NULL DEFAULT 'pending', -- pending | fired | cancelled
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text    NOT NULL DEFAULT '',
    retry_at      bigint  NOT NULL DEFAULT 0,    -- after a failure: not before this
    claimed_by    text    NOT NULL DEFAULT '',   -- SQLite: the loop running it
    claimed_until bigint  NOT NULL DEFAULT 0,    -- SQLite: the claim's lease
    fired_at      bigint  NOT NULL DEFAULT 0
);
CREATE INDEX timers_pending_due ON timers (due_at) WHERE status = 'pending';

-- The simulated clock's time, so that a restarted ledgerd --clock=simulated
-- resumes where it was instead of jumping back.
CREATE TABLE clock_state (
    id           integer PRIMARY KEY CHECK (id = 1),
    simulated_at bigint  NOT NULL,               -- Unix microseconds
    saved_at     bigint  NOT NULL                -- Unix microseconds, wall clock
);

-- +goose Down
DROP TABLE clock_state;
DROP TABLE timers;
DROP TABLE event_type_stats;
DROP TABLE projection_checkpoints;
