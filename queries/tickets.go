package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/ticket"
)

// The tickets queries read the read model projections.Tickets keeps:
// tkt_tickets, tkt_replies, tkt_attachments, tkt_watchers and
// tkt_surveys, with names from the directory (dir_persons) and the
// catalog (lic_products).

// TicketsFilter selects and pages "My Tickets" (rule TKT-4).
type TicketsFilter struct {
	AccountID string
	// Person is the member asking: the list holds the tickets they own,
	// unless AllOfAccount.
	Person string
	// AllOfAccount lists every ticket of the account: for its admins
	// (TKT-3) and the back office.
	AllOfAccount bool
	// Status is a status (open, in_progress, awaiting_customer,
	// resolved, closed), "current" (open, in progress or awaiting the
	// customer), "closed" (resolved or closed), or "" for all.
	Status string
	// Limit is the page size (1–MaxTicketsPage; 0 means DefaultTicketsPage).
	Limit int
	// After is the cursor of the last ticket of the previous page (Next
	// of that page; "" for the first page).
	After string
}

// Page sizes of the tickets list.
const (
	DefaultTicketsPage = 50
	MaxTicketsPage     = 200
)

// ticketStatuses maps TicketsFilter.Status to the statuses it selects.
var ticketStatuses = map[string][]string{
	"current":           {"open", "in_progress", "awaiting_customer"},
	"closed":            {"resolved", "closed"},
	"open":              {"open"},
	"in_progress":       {"in_progress"},
	"awaiting_customer": {"awaiting_customer"},
	"resolved":          {"resolved"},
}

// TicketSummary is one row of "My Tickets" (rules TKT-1, TKT-2, TKT-4).
type TicketSummary struct {
	TicketID    string `json:"ticket_id"`
	AccountID   string `json:"account_id"`
	Owner       string `json:"owner"`
	OwnerName   string `json:"owner_name"`
	ProductID   string `json:"product_id"`
	ProductName string `json:"product_name"`
	Category    string `json:"category"`
	Subject     string `json:"subject"`
	Status      string `json:"status"`
	Channel     string `json:"channel"`
	// CallAt is a booked call's time; nil for other channels.
	CallAt     *time.Time `json:"call_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ReplyCount int        `json:"reply_count"`
}

// TicketsPage is one page of tickets, newest first.
type TicketsPage struct {
	Tickets []TicketSummary `json:"tickets"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

const ticketColumns = `t.ticket_id, t.account_id, t.owner, COALESCE(p.first_name, ''), COALESCE(p.last_name, ''),
	t.product_id, COALESCE(pr.name, ''), t.category, t.subject, t.status, t.channel, t.call_at,
	t.created_at, t.updated_at, t.reply_count`

// ticketsFrom is the FROM clause of ticketColumns.
const ticketsFrom = ` FROM tkt_tickets t LEFT JOIN dir_persons p ON p.person_id = t.owner
	LEFT JOIN lic_products pr ON pr.product_id = t.product_id`

// scanTicket reads the ticketColumns of one row.
func scanTicket(scan func(...any) error) (TicketSummary, error) {
	var (
		s                TicketSummary
		first, last      string
		callAt           sql.NullInt64
		created, updated int64
	)
	if err := scan(&s.TicketID, &s.AccountID, &s.Owner, &first, &last, &s.ProductID, &s.ProductName, &s.Category,
		&s.Subject, &s.Status, &s.Channel, &callAt, &created, &updated, &s.ReplyCount); err != nil {
		return s, err
	}
	s.OwnerName = strings.TrimSpace(first + " " + last)
	s.CallAt, s.CreatedAt, s.UpdatedAt = microsOrNil(callAt), micros(created), micros(updated)
	return s, nil
}

// Tickets lists an account's tickets — all of them, or one member's —
// filtered by status, newest first, a page at a time. Pages are keyed by
// (opening time, ticket ID) (keyset pagination), so a page costs the same
// wherever it is in a long list. An unknown status or cursor is an error
// that wraps ErrInvalidFilter.
func Tickets(ctx context.Context, db DB, f TicketsFilter) (TicketsPage, error) {
	if f.AccountID == "" {
		return TicketsPage{}, invalid.New(ErrInvalidFilter, "account_id", "account_id is required")
	}
	if !f.AllOfAccount && f.Person == "" {
		return TicketsPage{}, invalid.New(ErrInvalidFilter, "", "a member's tickets need the member")
	}
	if f.Limit <= 0 {
		f.Limit = DefaultTicketsPage
	}
	f.Limit = min(f.Limit, MaxTicketsPage)
	var q strings.Builder
	q.WriteString(`SELECT ` + ticketColumns + ticketsFrom + ` WHERE t.account_id = ?`)
	args := []any{f.AccountID}
	if !f.AllOfAccount {
		q.WriteString(` AND t.owner = ?`)
		args = append(args, f.Person)
	}
	if f.Status != "" {
		statuses, ok := ticketStatuses[f.Status]
		if !ok {
			return TicketsPage{}, invalid.New(ErrInvalidFilter, "status", "status %q (use current, closed, open, in_progress, awaiting_customer or resolved)", f.Status)
		}
		q.WriteString(` AND t.status IN (?` + strings.Repeat(", ?", len(statuses)-1) + `)`)
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	if f.After != "" {
		at, id, err := parseTicketCursor(f.After)
		if err != nil {
			return TicketsPage{}, err
		}
		q.WriteString(` AND (t.created_at < ? OR (t.created_at = ? AND t.ticket_id < ?))`)
		args = append(args, at, at, id)
	}
	q.WriteString(` ORDER BY t.created_at DESC, t.ticket_id DESC LIMIT ?`)
	args = append(args, f.Limit+1)
	rows, err := db.Select(ctx, q.String(), args...)
	if err != nil {
		return TicketsPage{}, fmt.Errorf("queries: tickets of %s: %w", f.AccountID, err)
	}
	defer rows.Close()
	page := TicketsPage{Tickets: []TicketSummary{}}
	for rows.Next() {
		s, err := scanTicket(rows.Scan)
		if err != nil {
			return TicketsPage{}, fmt.Errorf("queries: tickets of %s: %w", f.AccountID, err)
		}
		if len(page.Tickets) == f.Limit {
			last := page.Tickets[len(page.Tickets)-1]
			page.Next = ticketCursor(last.CreatedAt, last.TicketID)
			break
		}
		page.Tickets = append(page.Tickets, s)
	}
	return page, rows.Err()
}

// ticketCursor is the cursor after a ticket: its opening time in Unix
// microseconds and its ID.
func ticketCursor(created time.Time, id string) string {
	return strconv.FormatInt(created.UnixMicro(), 10) + ":" + id
}

func parseTicketCursor(s string) (int64, string, error) {
	raw, id, ok := strings.Cut(s, ":")
	at, err := strconv.ParseInt(raw, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", invalid.New(ErrInvalidFilter, "after", "after %q is not a cursor this list returned", s)
	}
	return at, id, nil
}

// TicketDetail is one ticket with everything on its page (rules TKT-1..3).
type TicketDetail struct {
	TicketSummary
	Description string `json:"description"`
	// Replies are oldest first.
	Replies  []TicketReply   `json:"replies"`
	Watchers []TicketWatcher `json:"watchers"`
	// Survey is nil until the member fills it.
	Survey *TicketSurvey `json:"survey,omitempty"`
}

// TicketReply is one reply of a ticket.
type TicketReply struct {
	ReplyID string `json:"reply_id"`
	// Author is a person ID, or "support:<agent>".
	Author string `json:"author"`
	// AuthorName is the person's name; empty for support.
	AuthorName  string               `json:"author_name"`
	FromSupport bool                 `json:"from_support"`
	Body        string               `json:"body"`
	CreatedAt   time.Time            `json:"created_at"`
	Attachments []AttachmentMetadata `json:"attachments"`
}

// AttachmentMetadata describes a file attached to a reply; its bytes are
// downloaded separately.
type AttachmentMetadata struct {
	AttachmentID string `json:"attachment_id"`
	Name         string `json:"name"`
	ContentType  string `json:"content_type"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
}

// TicketWatcher is an admin who gets the ticket's notifications (TKT-3).
type TicketWatcher struct {
	PersonID string    `json:"person_id"`
	Name     string    `json:"name"`
	AddedAt  time.Time `json:"added_at"`
}

// TicketSurvey is the member's rating of a resolved ticket (TKT-2).
type TicketSurvey struct {
	Rating      int       `json:"rating"`
	Feedback    string    `json:"feedback"`
	SubmittedBy string    `json:"submitted_by"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// TicketDetails returns ticket id with its replies (oldest first, each
// with its attachments' metadata), watchers and survey; ErrNotFound if the
// read model has no such ticket (yet).
func TicketDetails(ctx context.Context, db DB, id string) (TicketDetail, error) {
	fail := func(err error) (TicketDetail, error) {
		return TicketDetail{}, fmt.Errorf("queries: ticket %s: %w", id, err)
	}
	var d TicketDetail
	var err error
	d.TicketSummary, err = scanTicket(func(dest ...any) error {
		return db.SelectRow(ctx, `SELECT `+ticketColumns+`, t.description`+ticketsFrom+` WHERE t.ticket_id = ?`, id).Scan(append(dest, &d.Description)...)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return TicketDetail{}, ErrNotFound
	}
	if err != nil {
		return fail(err)
	}
	attachments := map[string][]AttachmentMetadata{}
	if err := ticketRows(ctx, db, `SELECT reply_id, attachment_id, name, content_type, size, sha256 FROM tkt_attachments
		WHERE ticket_id = ? ORDER BY reply_id, ordinal`, []any{id}, func(scan func(...any) error) error {
		var reply string
		var a AttachmentMetadata
		if err := scan(&reply, &a.AttachmentID, &a.Name, &a.ContentType, &a.Size, &a.SHA256); err != nil {
			return err
		}
		attachments[reply] = append(attachments[reply], a)
		return nil
	}); err != nil {
		return fail(err)
	}
	d.Replies = []TicketReply{}
	if err := ticketRows(ctx, db, `SELECT r.reply_id, r.author, COALESCE(p.first_name, ''), COALESCE(p.last_name, ''), r.from_support, r.body, r.created_at
		FROM tkt_replies r LEFT JOIN dir_persons p ON p.person_id = r.author
		WHERE r.ticket_id = ? ORDER BY r.position`, []any{id}, func(scan func(...any) error) error {
		var (
			r           TicketReply
			first, last string
			support     int
			created     int64
		)
		if err := scan(&r.ReplyID, &r.Author, &first, &last, &support, &r.Body, &created); err != nil {
			return err
		}
		r.AuthorName, r.FromSupport, r.CreatedAt = strings.TrimSpace(first+" "+last), support != 0, micros(created)
		r.Attachments = attachments[r.ReplyID]
		if r.Attachments == nil {
			r.Attachments = []AttachmentMetadata{}
		}
		d.Replies = append(d.Replies, r)
		return nil
	}); err != nil {
		return fail(err)
	}
	d.Watchers = []TicketWatcher{}
	if err := ticketRows(ctx, db, `SELECT w.person_id, COALESCE(p.first_name, ''), COALESCE(p.last_name, ''), w.added_at
		FROM tkt_watchers w LEFT JOIN dir_persons p ON p.person_id = w.person_id
		WHERE w.ticket_id = ? ORDER BY w.added_at, w.person_id`, []any{id}, func(scan func(...any) error) error {
		var (
			w           TicketWatcher
			first, last string
			added       int64
		)
		if err := scan(&w.PersonID, &first, &last, &added); err != nil {
			return err
		}
		w.Name, w.AddedAt = strings.TrimSpace(first+" "+last), micros(added)
		d.Watchers = append(d.Watchers, w)
		return nil
	}); err != nil {
		return fail(err)
	}
	var s TicketSurvey
	var submitted int64
	err = db.SelectRow(ctx, `SELECT rating, feedback, submitted_by, submitted_at FROM tkt_surveys WHERE ticket_id = ?`, id).
		Scan(&s.Rating, &s.Feedback, &s.SubmittedBy, &submitted)
	switch {
	case err == nil:
		s.SubmittedAt = micros(submitted)
		d.Survey = &s
	case !errors.Is(err, sql.ErrNoRows):
		return fail(err)
	}
	return d, nil
}

// ticketRows runs query and calls row for every row it returns.
func ticketRows(ctx context.Context, db DB, query string, args []any, row func(scan func(...any) error) error) error {
	rows, err := db.Select(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// TicketsQuery asks for a page of an account's tickets (TKT-3, TKT-4).
type TicketsQuery struct {
	AccountID string
	// Scope is "" (an admin's or the back office's: all of the account's
	// tickets; a member's: their own), "all" (admins and the back office
	// only) or "mine" (a person's own).
	Scope string
	// Status and After are as in TicketsFilter; Limit is the page size as
	// the client sent it ("": the default).
	Status string
	Limit  string
	After  string
}

// ErrInvalidScope is matched by the error of a TicketsQuery whose Scope
// is not one the viewer may ask for.
var ErrInvalidScope = errors.New("queries: invalid scope")

// queryError is a refused query with a message for the person; it
// matches kind.
type queryError struct {
	kind error
	msg  string
}

func (e *queryError) Error() string        { return "queries: " + e.msg }
func (e *queryError) Is(target error) bool { return target == e.kind }

// Tickets is the use case of "My Tickets" (TKT-4): v must be allowed to
// view account tq.AccountID (from its events); a member sees their own
// tickets, the account's admins and the back office all of the account's
// (TKT-3) or, with Scope "mine", a person their own. Scope "all" asked by
// a member matches account.ErrForbidden; an unknown scope, or "mine"
// asked by the back office, ErrInvalidScope. The read sees v's last write.
func (q *Reads) Tickets(ctx context.Context, v Viewer, tq TicketsQuery) (TicketsPage, error) {
	if err := q.accounts.Authorize(ctx, v.Actor, tq.AccountID, account.ActionView); err != nil {
		return TicketsPage{}, err
	}
	all := v.Actor.Kind == event.ActorBackOffice || q.accounts.Authorize(ctx, v.Actor, tq.AccountID, account.ActionManage) == nil
	switch tq.Scope {
	case "":
	case "all":
		if !all {
			return TicketsPage{}, &queryError{account.ErrForbidden, "only the account's admins see all of its tickets; leave out scope, or ask for scope=mine"}
		}
	case "mine":
		if v.Actor.Kind != event.ActorPerson {
			return TicketsPage{}, &queryError{ErrInvalidScope, "scope=mine is for people; the back office sees all of an account's tickets"}
		}
		all = false
	default:
		return TicketsPage{}, &queryError{ErrInvalidScope, fmt.Sprintf("scope %q must be all or mine", tq.Scope)}
	}
	limit, err := parseLimit(tq.Limit, 0)
	if err != nil {
		return TicketsPage{}, invalidInput("limit", ErrInvalidFilter, "limit must be a whole number from 1 to %d, not %q", MaxTicketsPage, tq.Limit)
	}
	if err := q.await(ctx, v, TicketsReadModel, DirectoryReadModel, LicensesReadModel); err != nil {
		return TicketsPage{}, err
	}
	return Tickets(ctx, q.db, TicketsFilter{AccountID: tq.AccountID, Person: v.Actor.ID, AllOfAccount: all, Status: tq.Status,
		Limit: limit, After: tq.After})
}

// TicketDetails is the use case of a ticket's page (TKT-2, TKT-3): v must
// be allowed to view ticket id (from its events, X-5), and the read sees
// v's last write. A ticket the events know but the read model does not
// yet is an error matching ErrNotCaughtUp.
func (q *Reads) TicketDetails(ctx context.Context, v Viewer, id string) (TicketDetail, error) {
	t, err := q.tickets.AuthorizeTicket(ctx, v.Actor, id, ticket.ActionView)
	if err != nil {
		return TicketDetail{}, err
	}
	if err := q.await(ctx, v, TicketsReadModel, DirectoryReadModel, LicensesReadModel); err != nil {
		return TicketDetail{}, err
	}
	d, err := TicketDetails(ctx, q.db, t.ID())
	if errors.Is(err, ErrNotFound) {
		return TicketDetail{}, notCaughtUp{"the ticket is not in the read model yet; retry shortly"}
	}
	return d, err
}
