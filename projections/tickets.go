package projections

import (
	"context"
	"strings"

	"seatledger/domain/event"
	"seatledger/domain/ticket"
)

// Tickets is the portal's read model of support tickets: "My Tickets"
// with each ticket's status (TKT-1, TKT-2, TKT-4), a ticket's replies
// with their attachments' metadata, its watchers (TKT-3) and its survey.
// It is for display only: who may see a ticket is decided on the ticket's
// and the account's events, never on these rows.
//
// Every statement is an insert that ignores a row already there, an
// upsert, an update to values the event carries, or a count recomputed
// from rows: applying an event twice leaves the rows as applying it once
// did.
type Tickets struct{}

var _ Projection = Tickets{}

// Name implements Projection.
func (Tickets) Name() string { return "tickets" }

// Tables implements Projection. The files themselves (ticket_attachments)
// are not the read model's: a rebuild must not delete them.
func (Tickets) Tables() []string {
	return []string{"tkt_tickets", "tkt_replies", "tkt_attachments", "tkt_watchers", "tkt_surveys"}
}

var ticketsTable = newTable("tickets",
	on(Tickets.opened),
	on(Tickets.replied),
	on(Tickets.statusChanged),
	on(Tickets.closed),
	on(Tickets.reopened),
	on(Tickets.surveySubmitted),
	on(Tickets.watcherAdded),
	on(Tickets.watcherRemoved),
	on(Tickets.assigned),
)

// Apply implements Projection.
func (tk Tickets) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return ticketsTable.apply(tk, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Tickets) EventTypes() []string { return ticketsTable.eventTypes() }

// ticketID is the ticket whose stream rec is in.
func ticketID(rec event.Record) string {
	id, _ := strings.CutPrefix(rec.StreamID, "ticket-")
	return id
}

func (Tickets) opened(ctx context.Context, tx Tx, rec event.Record, e ticket.Opened) error {
	at := rec.Effective().UnixMicro()
	return tx.Exec(ctx, `INSERT INTO tkt_tickets (ticket_id, account_id, owner, product_id, category, subject, description,
			status, channel, call_at, created_at, updated_at, reply_count, waiting_since)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (ticket_id) DO NOTHING`,
		ticketID(rec), e.AccountID, e.Owner, e.ProductID, e.Category.String(), e.Subject, e.Description,
		ticket.StatusOpen.String(), e.Channel.Kind.String(), ptrOrNull(e.Channel.CallAt), at, at, at)
}

func (Tickets) replied(ctx context.Context, tx Tx, rec event.Record, e ticket.Replied) error {
	id, at := ticketID(rec), rec.Effective().UnixMicro()
	if err := tx.Exec(ctx, `INSERT INTO tkt_replies (ticket_id, reply_id, position, author, from_support, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, reply_id) DO NOTHING`,
		id, e.ReplyID, int64(rec.Position), e.Author, boolInt(e.FromSupport), e.Body, at); err != nil {
		return err
	}
	for i, a := range e.Attachments {
		if err := tx.Exec(ctx, `INSERT INTO tkt_attachments (ticket_id, attachment_id, reply_id, ordinal, name, content_type, size, sha256)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, attachment_id) DO NOTHING`,
			id, a.AttachmentID, e.ReplyID, i, a.Name, a.ContentType, a.Size, a.SHA256); err != nil {
			return err
		}
	}
	// The customer waits from their last message until support answers
	// (the staff console's queue, issue 23). A replay sets the same value.
	var waiting any
	if !e.FromSupport {
		waiting = at
	}
	return tx.Exec(ctx, `UPDATE tkt_tickets SET updated_at = ?, waiting_since = ?,
		reply_count = (SELECT COUNT(*) FROM tkt_replies r WHERE r.ticket_id = ?) WHERE ticket_id = ?`, at, waiting, id, id)
}

// assigned records who in the back office took the ticket on (issue 23).
func (Tickets) assigned(ctx context.Context, tx Tx, rec event.Record, e ticket.Assigned) error {
	return tx.Exec(ctx, `UPDATE tkt_tickets SET assignee_id = ?, assignee_name = ? WHERE ticket_id = ?`, e.StaffID, e.Name, ticketID(rec))
}

// touch moves the ticket's last update to rec's time, and its status to
// status unless that is "".
func (Tickets) touch(ctx context.Context, tx Tx, rec event.Record, status string) error {
	id, at := ticketID(rec), rec.Effective().UnixMicro()
	if status == "" {
		return tx.Exec(ctx, `UPDATE tkt_tickets SET updated_at = ? WHERE ticket_id = ?`, at, id)
	}
	return tx.Exec(ctx, `UPDATE tkt_tickets SET status = ?, updated_at = ? WHERE ticket_id = ?`, status, at, id)
}

func (tk Tickets) statusChanged(ctx context.Context, tx Tx, rec event.Record, e ticket.StatusChanged) error {
	return tk.touch(ctx, tx, rec, e.Status.String())
}

func (tk Tickets) closed(ctx context.Context, tx Tx, rec event.Record, _ ticket.Closed) error {
	return tk.touch(ctx, tx, rec, ticket.StatusClosed.String())
}

func (tk Tickets) reopened(ctx context.Context, tx Tx, rec event.Record, _ ticket.Reopened) error {
	return tk.touch(ctx, tx, rec, ticket.StatusOpen.String())
}

func (tk Tickets) surveySubmitted(ctx context.Context, tx Tx, rec event.Record, e ticket.SurveySubmitted) error {
	if err := tx.Exec(ctx, `INSERT INTO tkt_surveys (ticket_id, rating, feedback, submitted_by, submitted_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING`, ticketID(rec), e.Rating, e.Feedback, e.By, rec.Effective().UnixMicro()); err != nil {
		return err
	}
	return tk.touch(ctx, tx, rec, "")
}

func (Tickets) watcherAdded(ctx context.Context, tx Tx, rec event.Record, e ticket.WatcherAdded) error {
	return tx.Exec(ctx, `INSERT INTO tkt_watchers (ticket_id, person_id, added_by, added_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (ticket_id, person_id) DO NOTHING`, ticketID(rec), e.PersonID, e.By, rec.Effective().UnixMicro())
}

func (Tickets) watcherRemoved(ctx context.Context, tx Tx, rec event.Record, e ticket.WatcherRemoved) error {
	return tx.Exec(ctx, `DELETE FROM tkt_watchers WHERE ticket_id = ? AND person_id = ?`, ticketID(rec), e.PersonID)
}
