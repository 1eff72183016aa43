-- Installations' process manager and mail (USE-3, USE-4, USE-6, KEY-6,
-- SUB-6, SUB-8): what the installation manager remembers of each
-- installation to plan its timers, and what the notifier needs to name an
-- installation and find its account's admins.
--
-- This file and migrations/sqlite/00009_installation_manager.sql have the
-- same shape.

-- +goose Up

-- projections.InstallationManager: each installation's subscription and
-- key, whether it holds its key (an expired subscription or a deleted
-- sublicense deactivates the licensed ones), and the pending timer of each
-- recurring kind ('' when none), cancelled when the next one is planned or
-- the installation is deactivated.
CREATE TABLE pm_installations (
    installation_id  text   PRIMARY KEY,
    subscription_id  text   NOT NULL DEFAULT '',  -- '' for a trial
    key_id           text   NOT NULL DEFAULT '',  -- '' for a trial
    licensed         bigint NOT NULL DEFAULT 0,   -- 1: active, suspended or pending deactivation
    grace_timer      text   NOT NULL DEFAULT '',  -- installation.grace_end
    overuse_timer    text   NOT NULL DEFAULT '',  -- installation.overuse_deactivate
    revalidate_timer text   NOT NULL DEFAULT '',  -- installation.revalidate
    alert_timer      text   NOT NULL DEFAULT '',  -- installation.over_limit_alert
    trial_timer      text   NOT NULL DEFAULT ''   -- installation.deactivate at the trial's end
);
CREATE INDEX pm_installations_subscription ON pm_installations (subscription_id, installation_id);
CREATE INDEX pm_installations_key ON pm_installations (key_id, installation_id);

-- projections.Notifier: how to name an installation in mail, and whose
-- admins to tell.
CREATE TABLE notify_installations (
    installation_id text PRIMARY KEY,
    account_id      text NOT NULL DEFAULT '',     -- '' for a trial: nobody to tell
    kind            text NOT NULL,                -- farm | proxy_server
    product_id      text NOT NULL DEFAULT '',
    server_id       text NOT NULL DEFAULT '',     -- a farm's
    farm_name       text NOT NULL DEFAULT '',
    server_name     text NOT NULL DEFAULT '',     -- a proxy server's
    site_code       text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE notify_installations;
DROP TABLE pm_installations;
