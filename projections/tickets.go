package projections

import (
	"context"
	"strings"

	"seatledger/domain/event"
	"seatledger/domain/ticket"
)

var ticketPrefixes = []string{"ticket."}

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

// Apply implements Projection.
func (tk Tickets) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return applyOf(tk.Name(), rec, ticketPrefixes, func(payload any) error {
		id, _ := strings.CutPrefix(rec.StreamID, "ticket-")
		return tk.apply(ctx, tx, rec, payload, id)
	})
}

func (Tickets) apply(ctx context.Context, tx Tx, rec event.Record, payload any, id string) error {
	at := rec.Effective().UnixMicro()
	touch := func(status string) error {
		if status == "" {
			return tx.Exec(ctx, `UPDATE tkt_tickets SET updated_at = ? WHERE ticket_id = ?`, at, id)
		}
		return tx.Exec(ctx, `UPDATE tkt_tickets SET status = ?, updated_at = ? WHERE ticket_id = ?`, status, at, id)
	}
	switch e := payload.(type) {
	case ticket.Opened:
		return tx.Exec(ctx, `INSERT INTO tkt_tickets (ticket_id, account_id, owner, product_id, category, subject, description,
				status, channel, call_at, created_at, updated_at, reply_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (ticket_id) DO NOTHING`,
			id, e.AccountID, e.Owner, e.ProductID, e.Category.String(), e.Subject, e.Description,
			ticket.StatusOpen.String(), e.Channel.Kind.String(), ptrOrNull(e.Channel.CallAt), at, at)

	case ticket.Replied:
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
		return tx.Exec(ctx, `UPDATE tkt_tickets SET updated_at = ?,
			reply_count = (SELECT COUNT(*) FROM tkt_replies r WHERE r.ticket_id = ?) WHERE ticket_id = ?`, at, id, id)

	case ticket.StatusChanged:
		return touch(e.Status.String())
	case ticket.Closed:
		return touch(ticket.StatusClosed.String())
	case ticket.Reopened:
		return touch(ticket.StatusOpen.String())

	case ticket.SurveySubmitted:
		if err := tx.Exec(ctx, `INSERT INTO tkt_surveys (ticket_id, rating, feedback, submitted_by, submitted_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING`, id, e.Rating, e.Feedback, e.By, at); err != nil {
			return err
		}
		return touch("")

	case ticket.WatcherAdded:
		return tx.Exec(ctx, `INSERT INTO tkt_watchers (ticket_id, person_id, added_by, added_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (ticket_id, person_id) DO NOTHING`, id, e.PersonID, e.By, at)
	case ticket.WatcherRemoved:
		return tx.Exec(ctx, `DELETE FROM tkt_watchers WHERE ticket_id = ? AND person_id = ?`, id, e.PersonID)
	}
	return nil
}

// Prefixes implements Selective.
func (Tickets) Prefixes() []string { return ticketPrefixes }
