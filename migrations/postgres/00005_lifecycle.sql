-- Subscriptions' lifecycle (issue 4): what the notifier needs to mail an
-- account's admins about their subscriptions, and what the lifecycle
-- process manager remembers of each subscription's end date.

-- +goose Up

-- projections.Notifier: members with their role, so that mail meant for
-- an account's admins finds them.
CREATE TABLE notify_members (
    account_id text   NOT NULL,
    person_id  text   NOT NULL,
    role       text   NOT NULL,                  -- member | admin
    blocked    bigint NOT NULL DEFAULT 0,        -- 1: blocked
    PRIMARY KEY (account_id, person_id)
);

-- projections.Notifier: the subscription's account and how to name it.
CREATE TABLE notify_subscriptions (
    subscription_id text PRIMARY KEY,
    account_id      text NOT NULL DEFAULT '',    -- '' until registered
    name            text NOT NULL DEFAULT '',    -- '' : the product's name
    product_id      text NOT NULL,
    channel         text NOT NULL
);

CREATE TABLE notify_products (
    product_id text PRIMARY KEY,
    name       text NOT NULL
);

-- projections.Lifecycle: each dated subscription's current end date and
-- auto-renewal, to re-plan its timers when they change.
CREATE TABLE lifecycle_subscriptions (
    subscription_id text   PRIMARY KEY,
    end_at          bigint NOT NULL,             -- Unix microseconds
    auto_renew      bigint NOT NULL              -- 1: on
);

-- The notifier learns members from events it has already applied: replay
-- the log into it. Mail already sent is never sent again (a mail timer's
-- ID is spent once it fired).
DELETE FROM notify_persons;
DELETE FROM notify_accounts;
DELETE FROM notify_languages;
UPDATE projection_checkpoints SET position = 0 WHERE name = 'notifier';

-- +goose Down
DROP TABLE lifecycle_subscriptions;
DROP TABLE notify_products;
DROP TABLE notify_subscriptions;
DROP TABLE notify_members;
