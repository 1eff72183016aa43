-- Installations (issue 5): the farms and proxy servers lists with their
-- filters, selection and CSV export (INST-1..3), an installation's
-- details with its usage history (INST-4, USE-2), the dashboard's farm
-- and proxy server counts (INST-5) and the seats a key uses (KEY-7).
--
-- This file and migrations/postgres/00008_installations.sql have the same
-- shape. Times are bigint Unix microseconds; NULL where there is none.

-- +goose Up

-- projections.Installations: one row per installation, farm or proxy
-- server (PROD-4, INST-1, USE-2). account_id, subscription_id, key_id and
-- key_hint are '' for a trial (SUB-8). sort_name is the farm's or proxy
-- server's name lower-cased, the name sort's key. offline_use is 1 when
-- the proxy server says it is used offline or was last activated by an
-- offline request file (ACT-2).
CREATE TABLE inst_installations (
    installation_id  text    PRIMARY KEY,
    account_id       text    NOT NULL DEFAULT '',
    subscription_id  text    NOT NULL DEFAULT '',
    key_id           text    NOT NULL DEFAULT '',
    key_hint         text    NOT NULL DEFAULT '',  -- the key's last group
    product_id       text    NOT NULL,
    kind             text    NOT NULL,             -- farm | proxy_server
    server_id        text    NOT NULL DEFAULT '',  -- a farm's
    farm_name        text    NOT NULL DEFAULT '',  -- a farm's
    server_name      text    NOT NULL DEFAULT '',  -- a proxy server's
    site_code        text    NOT NULL DEFAULT '',  -- a proxy server's
    site_description text    NOT NULL DEFAULT '',  -- a proxy server's
    sort_name        text    NOT NULL,
    offline_use      integer NOT NULL DEFAULT 0,
    app_version      text    NOT NULL,
    status           text    NOT NULL,             -- active | deactivation_pending | suspended | deactivated
    trial            integer NOT NULL DEFAULT 0,
    generation       integer NOT NULL,             -- the activation's (installation.Activated)
    activated_at     bigint  NOT NULL,             -- the last new activation
    last_report_at   bigint,                       -- the ledger's receive time of the last current report
    last_observed_at bigint,                       -- the installation's time of that report
    current_usage    integer NOT NULL DEFAULT 0,   -- seats or managed computers (USE-2)
    peak_usage       integer NOT NULL DEFAULT 0,   -- the highest of every report (USE-2)
    quota            integer NOT NULL,             -- of the last current report, or the license's seats
    notes            text    NOT NULL DEFAULT '',  -- admins' notes (INST-4)
    license_end      bigint,                       -- as last certified; NULL: permanent
    grace_ends       bigint,                       -- end of the overuse grace (USE-3); NULL: never started
    over_limit       integer NOT NULL DEFAULT 0    -- a proxy server over its limit (USE-6)
);
-- An account's farms or proxy servers by activation date (the lists'
-- default order), by name, and by status then activation date (INST-2).
CREATE INDEX inst_installations_account_activated ON inst_installations (account_id, kind, activated_at, installation_id);
CREATE INDEX inst_installations_account_name ON inst_installations (account_id, kind, sort_name, installation_id);
CREATE INDEX inst_installations_account_status ON inst_installations (account_id, kind, status, activated_at, installation_id);
-- The seats each key of a subscription uses (KEY-7).
CREATE INDEX inst_installations_subscription_key ON inst_installations (subscription_id, key_id);

-- projections.Installations: the usage history (USE-2, INST-4), one row
-- per installation and UTC day of observation (YYYY-MM-DD). Every report,
-- an out-of-order one too, may raise its day's peak; last_report_at and
-- last_observed_at are the latest receive and observation times of the
-- day's reports.
CREATE TABLE inst_usage_days (
    installation_id  text    NOT NULL,
    day              text    NOT NULL,
    peak             integer NOT NULL,
    last_report_at   bigint  NOT NULL,
    last_observed_at bigint  NOT NULL,
    PRIMARY KEY (installation_id, day)
);

-- +goose Down
DROP TABLE inst_usage_days;
DROP TABLE inst_installations;
