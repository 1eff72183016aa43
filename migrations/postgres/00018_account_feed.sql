-- projections.AccountFeed: every account's own events in their published
-- form (domain/feed), behind GET /v1/accounts/{id}/events and its
-- Server-Sent Events variant (issue 22). The rows are a read model: a
-- rebuild replays the log into the same rows, so a feed cursor (built on
-- the log position) stays valid across restarts and rebuilds.
--
-- This file and its twin for the other engine have the same shape. Times
-- are bigint Unix microseconds.

-- +goose Up

-- Which account owns a stream that is not named after it: a subscription
-- (from its registration on), an installation (by its subscription) and a
-- ticket. Account and MDM streams are named after their account.
CREATE TABLE feed_owners (
    stream_id       text PRIMARY KEY,
    account_id      text NOT NULL DEFAULT '',
    subscription_id text NOT NULL DEFAULT ''
);

-- The published events, one row per event and account, in log order.
CREATE TABLE feed_events (
    account_id   text   NOT NULL,
    position     bigint NOT NULL,             -- the event's global log position
    event_id     text   NOT NULL,
    type         text   NOT NULL,             -- the public name
    subject_kind text   NOT NULL,
    subject_id   text   NOT NULL,
    occurred_at  bigint NOT NULL,             -- effective time
    recorded_at  bigint NOT NULL,
    data         text   NOT NULL,             -- the public payload, JSON
    PRIMARY KEY (account_id, position)
);
CREATE INDEX feed_events_type ON feed_events (account_id, type, position);

-- +goose Down
DROP TABLE feed_events;
DROP TABLE feed_owners;
