-- Support tickets (TKT-1..4): the bytes of files attached to replies, the
-- tickets read model behind "My Tickets" and a ticket's page, and what the
-- notifier needs to mail a ticket's owner and watchers.
--
-- This file and migrations/sqlite/00006_tickets.sql have the same shape.
-- Times are bigint Unix microseconds; NULL where there is none. Ticket IDs
-- sort bytewise (COLLATE "C"), as SQLite sorts them, whatever the
-- server's locale: the tickets list pages by them.

-- +goose Up

-- infra/attachments: files attached to ticket replies, kept out of the
-- event log (the reply's event holds their metadata and SHA-256). A file
-- is written before the event that references it; one no event references
-- (a reply that failed) is harmless and never served.
CREATE TABLE ticket_attachments (
    ticket_id     text   NOT NULL,
    attachment_id text   NOT NULL,
    name          text   NOT NULL,
    content_type  text   NOT NULL,
    size          bigint NOT NULL,
    sha256        text   NOT NULL,               -- hex
    data          bytea  NOT NULL,
    stored_at     bigint NOT NULL,
    PRIMARY KEY (ticket_id, attachment_id)
);

-- projections.Tickets: tickets (TKT-1, TKT-2, TKT-4).
CREATE TABLE tkt_tickets (
    ticket_id   text    COLLATE "C" PRIMARY KEY, -- T-XXXX-XXXX
    account_id  text    NOT NULL,
    owner       text    NOT NULL,                -- person ID
    product_id  text    NOT NULL,
    category    text    NOT NULL,
    subject     text    NOT NULL,
    description text    NOT NULL,
    status      text    NOT NULL,                -- open | in_progress | awaiting_customer | resolved | closed
    channel     text    NOT NULL,                -- email | phone | chat | call
    call_at     bigint,                          -- a booked call's time; NULL otherwise
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL,
    reply_count integer NOT NULL DEFAULT 0
);
-- "My Tickets", newest first: an account's tickets, or one owner's.
CREATE INDEX tkt_tickets_account ON tkt_tickets (account_id, created_at, ticket_id);
CREATE INDEX tkt_tickets_owner ON tkt_tickets (account_id, owner, created_at, ticket_id);

-- projections.Tickets: replies, in log order (TKT-2).
CREATE TABLE tkt_replies (
    ticket_id    text    NOT NULL,
    reply_id     text    NOT NULL,
    position     bigint  NOT NULL,               -- the event's log position
    author       text    NOT NULL,               -- person ID or support:<agent>
    from_support integer NOT NULL,
    body         text    NOT NULL,
    created_at   bigint  NOT NULL,
    PRIMARY KEY (ticket_id, reply_id)
);
CREATE INDEX tkt_replies_order ON tkt_replies (ticket_id, position);

-- projections.Tickets: the metadata of replies' attachments.
CREATE TABLE tkt_attachments (
    ticket_id     text    NOT NULL,
    attachment_id text    NOT NULL,
    reply_id      text    NOT NULL,
    ordinal       integer NOT NULL,              -- place in the reply
    name          text    NOT NULL,
    content_type  text    NOT NULL,
    size          bigint  NOT NULL,
    sha256        text    NOT NULL,
    PRIMARY KEY (ticket_id, attachment_id)
);
CREATE INDEX tkt_attachments_reply ON tkt_attachments (ticket_id, reply_id, ordinal);

-- projections.Tickets: watchers (TKT-3).
CREATE TABLE tkt_watchers (
    ticket_id text   NOT NULL,
    person_id text   NOT NULL,
    added_by  text   NOT NULL,
    added_at  bigint NOT NULL,
    PRIMARY KEY (ticket_id, person_id)
);

-- projections.Tickets: the survey of a resolved ticket, one per ticket (TKT-2).
CREATE TABLE tkt_surveys (
    ticket_id    text    PRIMARY KEY,
    rating       integer NOT NULL,               -- 1 to 5
    feedback     text    NOT NULL,
    submitted_by text    NOT NULL,
    submitted_at bigint  NOT NULL
);

-- projections.Notifier: what it needs to mail a ticket's owner and
-- watchers (TKT-3).
CREATE TABLE notify_tickets (
    ticket_id  text PRIMARY KEY,
    account_id text NOT NULL,
    owner      text NOT NULL,
    product_id text NOT NULL,
    subject    text NOT NULL,
    status     text NOT NULL
);
CREATE TABLE notify_ticket_watchers (
    ticket_id text NOT NULL,
    person_id text NOT NULL,
    PRIMARY KEY (ticket_id, person_id)
);

-- +goose Down
DROP TABLE notify_ticket_watchers;
DROP TABLE notify_tickets;
DROP TABLE tkt_surveys;
DROP TABLE tkt_watchers;
DROP TABLE tkt_attachments;
DROP TABLE tkt_replies;
DROP TABLE tkt_tickets;
DROP TABLE ticket_attachments;
