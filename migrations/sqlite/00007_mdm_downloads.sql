-- Downloads catalog (rule MISC-2): the versions the back office published
-- per product, each with its installation files and documents, behind
-- an account's downloads page and its version selector.
--
-- MDM certificates (rule MISC-1) need no table: an account's certificates
-- are listed from its own "mdm-<account>" stream, a handful of events.
--
-- This file and migrations/postgres/00007_mdm_downloads.sql have the same
-- shape. Times are bigint Unix microseconds.

-- +goose Up

-- projections.Downloads: one row per published version. v1..v4 are the
-- version's numeric components (-1 where it has fewer), so that versions
-- sort as numbers ("2.10" after "2.9"), not as text.
CREATE TABLE dl_releases (
    product_id   text    NOT NULL,
    version      text    NOT NULL,
    v1           integer NOT NULL,
    v2           integer NOT NULL,
    v3           integer NOT NULL,
    v4           integer NOT NULL,
    released_at  bigint  NOT NULL,
    notes        text    NOT NULL,
    withdrawn    integer NOT NULL DEFAULT 0,      -- 1: withdrawn, no longer listed
    published_at bigint  NOT NULL,                -- when the event was recorded
    PRIMARY KEY (product_id, version)
);
-- A product's versions, newest first.
CREATE INDEX dl_releases_order ON dl_releases (product_id, v1, v2, v3, v4, version);

-- projections.Downloads: the files of a version, in the order published.
CREATE TABLE dl_files (
    product_id text    NOT NULL,
    version    text    NOT NULL,
    seq        integer NOT NULL,                  -- order within the release
    name       text    NOT NULL,
    kind       text    NOT NULL,                  -- installer | document
    size       bigint  NOT NULL,                  -- bytes
    sha256     text    NOT NULL,                  -- 64 lower-case hex digits
    url        text    NOT NULL,                  -- absolute https
    PRIMARY KEY (product_id, version, name)
);

-- +goose Down
DROP TABLE dl_files;
DROP TABLE dl_releases;
