-- People, business accounts and members (issue 3): the server's key for
-- link tokens, browser sessions, the directory read model (the person's
-- accounts, business profiles, members, invitations) and the notifier's
-- lookups for addressing mail.
--
-- This file and migrations/postgres/00003_people.sql have the same shape.
-- Times are bigint Unix microseconds.

-- +goose Up

-- Keys the server generates on first start when none is configured: the
-- HMAC key that derives emailed links' tokens (infra/secret).
CREATE TABLE server_keys (
    name       text   PRIMARY KEY,
    value      text   NOT NULL,                  -- base64
    created_at bigint NOT NULL
);

-- Browser sessions (infra/session). The cookie holds a random ID; only its
-- SHA-256 is stored, so the table alone signs nobody in. Times are ledger
-- time, so a simulated clock ages sessions too.
CREATE TABLE sessions (
    id_hash      text    PRIMARY KEY,            -- hex SHA-256 of the cookie's ID
    person_id    text    NOT NULL,
    created_at   bigint  NOT NULL,
    last_seen_at bigint  NOT NULL,
    expires_at   bigint  NOT NULL,
    persistent   integer NOT NULL                -- 1: "keep me signed in"
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- projections.Directory: people as the portal lists them.
CREATE TABLE dir_persons (
    person_id  text    PRIMARY KEY,
    first_name text    NOT NULL,
    last_name  text    NOT NULL,
    email      text    NOT NULL,
    verified   integer NOT NULL DEFAULT 0
);

-- projections.Directory: business accounts' profiles (MEM-3).
CREATE TABLE dir_accounts (
    account_id   text   PRIMARY KEY,
    company_name text   NOT NULL,
    street       text   NOT NULL,
    city         text   NOT NULL,
    country      text   NOT NULL,
    state        text   NOT NULL,
    zip          text   NOT NULL,
    phone        text   NOT NULL,
    support_code text   NOT NULL,
    created_at   bigint NOT NULL
);

-- projections.Directory: memberships (MEM-2, MEM-5, MEM-8). sort_key orders
-- the members list by name; search holds the lower-cased name and email.
CREATE TABLE dir_members (
    account_id text   NOT NULL,
    person_id  text   NOT NULL,
    role       text   NOT NULL,                  -- member | admin
    status     text   NOT NULL,                  -- active | blocked
    since      bigint NOT NULL,
    sort_key   text   NOT NULL,
    search     text   NOT NULL,
    PRIMARY KEY (account_id, person_id)
);
-- Covers the members list: filters are checked in the index, in name order.
CREATE INDEX dir_members_sorted ON dir_members (account_id, sort_key, role, status, search);
CREATE INDEX dir_members_person ON dir_members (person_id);

-- projections.Directory: invitations (MEM-4).
CREATE TABLE dir_invitations (
    account_id    text   NOT NULL,
    invitation_id text   NOT NULL,
    email         text   NOT NULL,
    language      text   NOT NULL,
    invited_by    text   NOT NULL,
    invited_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    status        text   NOT NULL,               -- pending | accepted | revoked
    PRIMARY KEY (account_id, invitation_id)
);

-- projections.Notifier: what it needs to address and word mail.
CREATE TABLE notify_persons (
    person_id  text PRIMARY KEY,
    email      text NOT NULL,
    first_name text NOT NULL,
    last_name  text NOT NULL
);
CREATE TABLE notify_accounts (
    account_id   text PRIMARY KEY,
    company_name text NOT NULL
);
-- The language a member was invited in, for the mail they get later.
CREATE TABLE notify_languages (
    key      text PRIMARY KEY,                   -- "invitation/<id>" or "member/<account>/<person>"
    language text NOT NULL
);

-- +goose Down
DROP TABLE notify_languages;
DROP TABLE notify_accounts;
DROP TABLE notify_persons;
DROP TABLE dir_invitations;
DROP TABLE dir_members;
DROP TABLE dir_accounts;
DROP TABLE dir_persons;
DROP TABLE sessions;
DROP TABLE server_keys;
