-- Leases (rule X-8): each projection, the audit checkpointer and the audit
-- snapshot worker runs in one ledgerd process at a time, the holder of its
-- lease. The holder renews the lease well before it expires; when the
-- holder dies or stalls, the lease expires and another process takes it
-- over. Times are Unix microseconds of the database's clock (PostgreSQL's
-- clock_timestamp(); on SQLite, one machine, the process's), so that the
-- processes' own clocks never decide who holds what.

-- +goose Up
CREATE TABLE leases (
    name        text   PRIMARY KEY,
    holder      text   NOT NULL,                -- the process: host, pid and a random suffix
    token       bigint NOT NULL,                -- counts the takeovers: one holder's term from another's
    acquired_at bigint NOT NULL,
    expires_at  bigint NOT NULL
);

-- +goose Down
DROP TABLE leases;
