-- One ledger, one set of secrets (issue 18): the fingerprint of each
-- secret the ledger's processes sign, seal and derive with (the link key,
-- the keyring's secret, the offline and audit signing keys, the MDM CA),
-- recorded by the first process to start, so that a process started with
-- another refuses to start (infra/secret.CheckFingerprints). A fingerprint
-- is a SHA-256 that identifies a secret without revealing it; the secrets
-- themselves live in files or the environment, never in the database.
--
-- The same file exists for both engines. Times are bigint Unix microseconds.

-- +goose Up
CREATE TABLE secret_fingerprints (
    name        text   PRIMARY KEY,
    fingerprint text   NOT NULL,
    recorded_at bigint NOT NULL
);

-- +goose Down
DROP TABLE secret_fingerprints;
