-- Webhooks (issue 22): an account's endpoints as a read model
-- (projections.Webhooks), and the delivery worker's own durable state
-- (infra/webhook): each endpoint's cursor on the account feed, its retry
-- schedule, the resends asked for, and the delivery log. The worker's
-- tables are not a projection's: a rebuild of the endpoints must not
-- forget what was delivered.
--
-- This file and its twin for the other engine have the same shape. Times
-- are bigint Unix microseconds (ledger time); booleans are 0 or 1.

-- +goose Up

-- The endpoints, as their account's webhooks stream tells them.
CREATE TABLE webhook_endpoints (
    endpoint_id       text   PRIMARY KEY,
    account_id        text   NOT NULL,
    url               text   NOT NULL,
    types             text   NOT NULL DEFAULT '',  -- public feed names, comma-separated; '' every event
    secret_nonce      text   NOT NULL,
    previous_nonce    text   NOT NULL DEFAULT '',
    previous_until    bigint NOT NULL DEFAULT 0,
    enabled           integer NOT NULL DEFAULT 1,
    disabled_reason   text   NOT NULL DEFAULT '',
    created_at        bigint NOT NULL,
    created_by        text   NOT NULL,
    created_position  bigint NOT NULL,            -- deliveries start after this log position
    switched_position bigint NOT NULL DEFAULT 0   -- log position of the last enable or disable
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at);

-- The worker's place in each endpoint's queue: the feed position of the
-- last event delivered (or skipped by the types filter), and the retry
-- state of the next one.
CREATE TABLE webhook_state (
    endpoint_id      text   PRIMARY KEY,
    account_id       text   NOT NULL,
    cursor           bigint NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    failing_since    bigint NOT NULL DEFAULT 0,
    next_attempt_at  bigint NOT NULL DEFAULT 0,
    last_error       text   NOT NULL DEFAULT '',
    gave_up_position bigint NOT NULL DEFAULT 0,  -- log position of the worker's own disable: wait for a later enable
    seen_switch      bigint NOT NULL DEFAULT 0   -- the endpoint's switched_position when the retry state began: a later enable starts afresh
);

-- Resends an admin asked for, delivered before the endpoint's next event.
CREATE TABLE webhook_resends (
    request_id   text   PRIMARY KEY,            -- the webhook.resend_requested event's ID
    endpoint_id  text   NOT NULL,
    delivery_id  text   NOT NULL,
    position     bigint NOT NULL,               -- the feed event's log position
    requested_at bigint NOT NULL,
    done         integer NOT NULL DEFAULT 0
);
CREATE INDEX webhook_resends_pending ON webhook_resends (endpoint_id, done, requested_at);

-- The delivery log: one row per attempt, kept 90 days.
CREATE TABLE webhook_deliveries (
    delivery_id  text    PRIMARY KEY,
    endpoint_id  text    NOT NULL,
    account_id   text    NOT NULL,
    event_id     text    NOT NULL,               -- the webhook-id
    event_type   text    NOT NULL,
    position     bigint  NOT NULL,
    attempt      integer NOT NULL,
    resend       integer NOT NULL DEFAULT 0,
    outcome      text    NOT NULL,               -- delivered, failed, gave_up
    status       integer NOT NULL DEFAULT 0,     -- the HTTP status; 0 when none came
    latency_ms   bigint  NOT NULL DEFAULT 0,
    error        text    NOT NULL DEFAULT '',
    attempted_at bigint  NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, attempted_at);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (attempted_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_resends;
DROP TABLE webhook_state;
DROP TABLE webhook_endpoints;
