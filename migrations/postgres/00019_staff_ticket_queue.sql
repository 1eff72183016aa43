-- +goose Up
-- projections.Tickets: the staff console's ticket queue (issue 23). The
-- staff person a ticket is assigned to ("assign to me"), by ID and by the
-- display name the event recorded; and waiting_since, the time of the
-- customer's last message (the ticket's opening or their last reply) while
-- support has not answered it since, NULL once it has: the queue filters
-- on how long a customer has waited and shows the longest wait first.
-- Times are bigint Unix microseconds.
ALTER TABLE tkt_tickets ADD COLUMN assignee_id text NOT NULL DEFAULT '';
ALTER TABLE tkt_tickets ADD COLUMN assignee_name text NOT NULL DEFAULT '';
ALTER TABLE tkt_tickets ADD COLUMN waiting_since bigint;
UPDATE tkt_tickets SET waiting_since = (
    SELECT CASE WHEN s.last_support IS NULL OR s.last_support < s.last_customer THEN s.last_customer END
    FROM (SELECT COALESCE((SELECT MAX(r.created_at) FROM tkt_replies r WHERE r.ticket_id = tkt_tickets.ticket_id AND r.from_support = 0),
                          tkt_tickets.created_at) AS last_customer,
                 (SELECT MAX(r.created_at) FROM tkt_replies r WHERE r.ticket_id = tkt_tickets.ticket_id AND r.from_support = 1) AS last_support) s);
CREATE INDEX tkt_tickets_waiting ON tkt_tickets (waiting_since, ticket_id);

-- +goose Down
DROP INDEX tkt_tickets_waiting;
ALTER TABLE tkt_tickets DROP COLUMN waiting_since;
ALTER TABLE tkt_tickets DROP COLUMN assignee_name;
ALTER TABLE tkt_tickets DROP COLUMN assignee_id;
