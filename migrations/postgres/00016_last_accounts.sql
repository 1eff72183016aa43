-- The account each person last used in the portal (infra/session), where
-- the portal opens after their next sign-in, on any browser (rule MEM-2).
-- A preference of the portal, like the sessions beside it, not a fact of
-- the ledger: it is not in the event log, and losing it only means
-- landing on the only business account or the personal one. used_at is
-- ledger time in Unix microseconds.

-- +goose Up
CREATE TABLE last_accounts (
    person_id  text   PRIMARY KEY,
    account_id text   NOT NULL,
    used_at    bigint NOT NULL
);

-- +goose Down
DROP TABLE last_accounts;
