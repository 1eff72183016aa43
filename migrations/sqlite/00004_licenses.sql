-- Subscriptions, license keys and products (issue 4): the licenses read
-- model behind the dashboard, the subscriptions list, a subscription's
-- details with its keys and orders history, and the product catalog.
--
-- This file and migrations/postgres/00004_licenses.sql have the same shape.
-- Times are bigint Unix microseconds; NULL where there is none.

-- +goose Up

-- projections.Licenses: the product catalog (PROD-1, SUB-8, SUB-9).
CREATE TABLE lic_products (
    product_id    text    PRIMARY KEY,
    name          text    NOT NULL,
    model         text    NOT NULL,               -- concurrent_users | managed_computers
    trial_days    integer NOT NULL,
    trial_seats   integer NOT NULL,
    major_version integer NOT NULL
);

-- projections.Licenses: subscriptions and permanent licenses (SUB-1..9).
-- account_id is '' until a key is registered (KEY-2, SUB-7).
CREATE TABLE lic_subscriptions (
    subscription_id text    PRIMARY KEY,
    account_id      text    NOT NULL DEFAULT '',
    product_id      text    NOT NULL,
    name            text    NOT NULL DEFAULT '',  -- display name (SUB-5); '' until renamed
    seats           integer NOT NULL,
    period          text    NOT NULL,             -- 1m | 1y | 2y | 3y | permanent
    channel         text    NOT NULL,             -- online | reseller
    support_plan    text    NOT NULL,             -- standard | premium
    start_at        bigint  NOT NULL,
    end_at          bigint,                       -- NULL: a permanent license (SUB-9)
    auto_renew      integer NOT NULL,
    cancelled       integer NOT NULL DEFAULT 0,
    status          text    NOT NULL,             -- active | grace | expired
    licensed_major  integer NOT NULL DEFAULT 0,
    insurance_end   bigint                        -- NULL: no upgrade insurance
);
-- An account's subscriptions by end date.
CREATE INDEX lic_subscriptions_account_end ON lic_subscriptions (account_id, end_at, subscription_id);

-- projections.Licenses: license keys, the primary and the sublicenses
-- (KEY-1, KEY-3..7). The primary's quota is the seats no sublicense
-- reserves (KEY-4).
CREATE TABLE lic_keys (
    key_id          text    PRIMARY KEY,
    subscription_id text    NOT NULL,
    account_id      text    NOT NULL DEFAULT '',
    type            text    NOT NULL,             -- primary | reserved
    name            text    NOT NULL,
    quota           integer NOT NULL,
    used            integer NOT NULL DEFAULT 0,
    hint            text    NOT NULL,             -- the key's last group
    expires_at      bigint,                       -- NULL: renews with the subscription
    created_at      bigint  NOT NULL
);
CREATE INDEX lic_keys_subscription ON lic_keys (subscription_id);

-- projections.Licenses: members who may manage one key (MEM-6).
CREATE TABLE lic_key_admins (
    key_id    text NOT NULL,
    person_id text NOT NULL,
    PRIMARY KEY (key_id, person_id)
);

-- projections.Licenses: the orders history (SUB-4).
CREATE TABLE lic_orders (
    subscription_id text    NOT NULL,
    order_id        text    NOT NULL,
    kind            text    NOT NULL,             -- purchase | seats_added | renewal | cancellation
    seats           integer NOT NULL,             -- bought, added or renewed; 0 for a cancellation
    period          text    NOT NULL DEFAULT '',  -- bought or renewed for; '' otherwise
    recorded_at     bigint  NOT NULL,
    PRIMARY KEY (subscription_id, order_id)
);

-- +goose Down
DROP TABLE lic_orders;
DROP TABLE lic_key_admins;
DROP TABLE lic_keys;
DROP TABLE lic_subscriptions;
DROP TABLE lic_products;
