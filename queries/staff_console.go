package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
)

// The staff console's reads (issue 23): the ticket queue across every
// account, the account lookup, and a subscription's orders with who
// placed them. Each asks the back office's policy (staff.PermRead) with
// the viewer first, from the roster's latest events; the other pages of
// the console use the customers' query use cases, which let the back
// office read through the same policy.

// BackOfficeAuthorizer is the back office's policy (staff.Roster.Authorize
// from the roster's latest events; commands.StaffHandler).
type BackOfficeAuthorizer interface {
	// Authorize returns nil when actor may do p, an error matching
	// staff.ErrForbidden otherwise.
	Authorize(ctx context.Context, actor event.Actor, p staff.Permission) error
}

// backOfficeRead lets v read the console's lists: a staff person whose
// role may read (everyone else is refused, people included).
func (q *Reads) backOfficeRead(ctx context.Context, v Viewer) error {
	if q.backOffice == nil || v.Actor.Kind != event.ActorBackOffice {
		return fmt.Errorf("%w: only the back office reads this", staff.ErrForbidden)
	}
	return q.backOffice.Authorize(ctx, v.Actor, staff.PermRead)
}

// TicketQueueFilter selects the staff console's ticket queue.
type TicketQueueFilter struct {
	// Status is a status or a group as in TicketsFilter ("current" when
	// empty; "all" for every status).
	Status string
	// ProductID keeps one product's tickets ("" all).
	ProductID string
	// Account keeps one account's tickets: its ID, its support code or a
	// part of its company name ("" all).
	Account string
	// WaitingHours keeps the tickets whose customer has waited at least
	// that many hours since their last message ("" all): a whole number.
	WaitingHours string
	// Assignee is "" (all), "me" (the viewer's) or "none" (nobody's).
	Assignee string
	// Now is the time waiting is counted to.
	Now time.Time
}

// QueueTicket is one row of the queue.
type QueueTicket struct {
	TicketSummary
	// AccountName is the company's name, or the owner's for a personal
	// account's ticket.
	AccountName string
	// AssigneeID and AssigneeName name the staff person it is assigned
	// to ("" for nobody).
	AssigneeID, AssigneeName string
	// WaitingSince is the customer's last message that support has not
	// answered yet; nil when support answered last.
	WaitingSince *time.Time
}

// Waiting is how long the customer has waited at now, rounded to the
// minute ("" when they do not).
func (t QueueTicket) Waiting(now time.Time) string {
	if t.WaitingSince == nil {
		return ""
	}
	d := now.Sub(*t.WaitingSince).Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days %d h", int(d.Hours())/24, int(d.Hours())%24)
}

// queueWaiting is since when the customer waits on support: their last
// unanswered message, while the ticket is open or in progress (a ticket
// support resolved, or the customer closed, waits on nobody).
const queueWaiting = `(CASE WHEN t.status IN ('open', 'in_progress') THEN t.waiting_since END)`

// MaxQueue bounds the queue's rows: the longest waits come first, so the
// rows left out are the ones that can wait.
const MaxQueue = 200

// TicketQueue is the staff console's queue: the tickets of every account
// that match f, the customers who have waited longest first (then the
// tickets nobody waits on, oldest first), at most MaxQueue.
func (q *Reads) TicketQueue(ctx context.Context, v Viewer, f TicketQueueFilter) ([]QueueTicket, error) {
	if err := q.backOfficeRead(ctx, v); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	status := f.Status
	if status == "" {
		status = "current"
	}
	if status != "all" {
		statuses, ok := ticketStatuses[status]
		if !ok {
			return nil, invalid.New(ErrInvalidFilter, "status", "status %q (use all, current, closed, open, in_progress, awaiting_customer or resolved)", f.Status)
		}
		where = append(where, `t.status IN (?`+strings.Repeat(", ?", len(statuses)-1)+`)`)
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	if f.ProductID != "" {
		where, args = append(where, `t.product_id = ?`), append(args, f.ProductID)
	}
	if a := strings.TrimSpace(f.Account); a != "" {
		where = append(where, `(t.account_id = ? OR UPPER(a.support_code) = ? OR LOWER(a.company_name) LIKE ? ESCAPE '\')`)
		args = append(args, a, strings.ToUpper(a), "%"+likeEscape(strings.ToLower(a))+"%")
	}
	if h := strings.TrimSpace(f.WaitingHours); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 0 || n > 24*366 {
			return nil, invalid.New(ErrInvalidFilter, "waiting", "waiting %q must be a whole number of hours from 0 to 8784", f.WaitingHours)
		}
		where = append(where, queueWaiting+` <= ?`)
		args = append(args, f.Now.Add(-time.Duration(n)*time.Hour).UnixMicro())
	}
	switch f.Assignee {
	case "":
	case "me":
		id, _ := staff.StaffOf(v.Actor)
		where, args = append(where, `t.assignee_id = ?`), append(args, id)
	case "none":
		where = append(where, `t.assignee_id = ''`)
	default:
		return nil, invalid.New(ErrInvalidFilter, "assignee", "assignee %q must be me or none (or empty for all)", f.Assignee)
	}
	query := `SELECT ` + ticketColumns + `, COALESCE(a.company_name, ''), t.assignee_id, t.assignee_name, ` + queueWaiting + ticketsFrom +
		` LEFT JOIN dir_accounts a ON a.account_id = t.account_id`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY (` + queueWaiting + ` IS NULL), ` + queueWaiting + `, t.created_at, t.ticket_id LIMIT ?`
	args = append(args, MaxQueue)
	if err := q.await(ctx, v, TicketsReadModel, DirectoryReadModel, LicensesReadModel); err != nil {
		return nil, err
	}
	rows, err := q.db.Select(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("queries: the ticket queue: %w", err)
	}
	defer rows.Close()
	out := []QueueTicket{}
	for rows.Next() {
		var (
			t       QueueTicket
			waiting *int64
		)
		s, err := scanTicket(func(dst ...any) error {
			return rows.Scan(append(dst, &t.AccountName, &t.AssigneeID, &t.AssigneeName, &waiting)...)
		})
		if err != nil {
			return nil, fmt.Errorf("queries: the ticket queue: %w", err)
		}
		t.TicketSummary = s
		if waiting != nil {
			at := micros(*waiting)
			t.WaitingSince = &at
		}
		if t.AccountName == "" {
			t.AccountName = "Personal account of " + s.OwnerName
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TicketAssignee returns whom ticket id is assigned to in the read model
// ("" for nobody), for the console's ticket page.
func (q *Reads) TicketAssignee(ctx context.Context, v Viewer, id string) (string, string, error) {
	if err := q.backOfficeRead(ctx, v); err != nil {
		return "", "", err
	}
	var staffID, name string
	err := q.db.SelectRow(ctx, `SELECT assignee_id, assignee_name FROM tkt_tickets WHERE ticket_id = ?`, id).Scan(&staffID, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil // not in the read model yet: nobody's
	}
	return staffID, name, err
}

// likeEscape escapes LIKE's wildcards (the ESCAPE character is '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AccountHit is an account the lookup found, and how.
type AccountHit struct {
	AccountID string
	// Kind is "business" or "personal".
	Kind string
	// Name is the company's name, or "Personal account of <name>".
	Name, SupportCode string
	// Matched says what matched: "company", "support code", "member
	// address" or "key".
	Matched string
}

// maxAccountHits bounds the lookup's answer.
const maxAccountHits = 50

// FindAccounts is the console's account lookup: the accounts whose
// company name contains text, whose support code is text, that have a
// member with the address text, or a license key whose last group is text
// (case does not matter). At most 50, business accounts by name first.
func (q *Reads) FindAccounts(ctx context.Context, v Viewer, text string) ([]AccountHit, error) {
	if err := q.backOfficeRead(ctx, v); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return []AccountHit{}, nil
	}
	if len(text) > 200 {
		return nil, invalid.New(ErrInvalidFilter, "q", "q must be at most 200 characters")
	}
	if err := q.await(ctx, v, DirectoryReadModel, LicensesReadModel); err != nil {
		return nil, err
	}
	hits := map[string]AccountHit{}
	add := func(h AccountHit) {
		if _, ok := hits[h.AccountID]; !ok && h.AccountID != "" {
			hits[h.AccountID] = h
		}
	}
	lower, upper := strings.ToLower(text), strings.ToUpper(text)
	business := func(matched, where string, args ...any) error {
		rows, err := q.db.Select(ctx, `SELECT account_id, company_name, support_code FROM dir_accounts WHERE `+where+` LIMIT 50`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			h := AccountHit{Kind: "business", Matched: matched}
			if err := rows.Scan(&h.AccountID, &h.Name, &h.SupportCode); err != nil {
				return err
			}
			add(h)
		}
		return rows.Err()
	}
	if err := business("support code", `UPPER(support_code) = ?`, upper); err != nil {
		return nil, fmt.Errorf("queries: account lookup: %w", err)
	}
	if err := business("company", `LOWER(company_name) LIKE ? ESCAPE '\'`, "%"+likeEscape(lower)+"%"); err != nil {
		return nil, fmt.Errorf("queries: account lookup: %w", err)
	}
	// A member's address: their business accounts and their personal one.
	ids, err := q.accountIDs(ctx, `SELECT m.account_id FROM dir_members m JOIN dir_persons p ON p.person_id = m.person_id WHERE p.email = ?
		UNION SELECT 'personal-' || person_id FROM dir_persons WHERE email = ?`, lower, lower)
	if err != nil {
		return nil, err
	}
	if err := q.describeAccounts(ctx, ids, "member address", add); err != nil {
		return nil, err
	}
	// A key's last group: the account its subscription is registered to.
	ids, err = q.accountIDs(ctx, `SELECT DISTINCT s.account_id FROM lic_keys k JOIN lic_subscriptions s ON s.subscription_id = k.subscription_id
		WHERE UPPER(k.hint) = ? AND s.account_id <> ''`, upper)
	if err != nil {
		return nil, err
	}
	if err := q.describeAccounts(ctx, ids, "key", add); err != nil {
		return nil, err
	}
	out := make([]AccountHit, 0, len(hits))
	for _, h := range hits {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b AccountHit) int {
		if a.Kind != b.Kind {
			return strings.Compare(a.Kind, b.Kind) // business before personal
		}
		return strings.Compare(strings.ToLower(a.Name)+a.AccountID, strings.ToLower(b.Name)+b.AccountID)
	})
	if len(out) > maxAccountHits {
		out = out[:maxAccountHits]
	}
	return out, nil
}

func (q *Reads) accountIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := q.db.Select(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("queries: account lookup: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("queries: account lookup: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// describeAccounts names accounts ids (business ones by company, personal
// ones by their person) and adds them.
func (q *Reads) describeAccounts(ctx context.Context, ids []string, matched string, add func(AccountHit)) error {
	for _, id := range ids {
		name, code, kind, err := q.AccountName(ctx, id)
		if err != nil {
			return err
		}
		if name != "" {
			add(AccountHit{AccountID: id, Kind: kind, Name: name, SupportCode: code, Matched: matched})
		}
	}
	return nil
}

// AccountName names account id from the directory: a business account by
// its company (and its support code), a personal account by its person;
// "" when the directory does not know it. Kind is "business" or
// "personal".
func (q *Reads) AccountName(ctx context.Context, id string) (name, supportCode, kind string, err error) {
	if person, ok := strings.CutPrefix(id, "personal-"); ok {
		var first, last string
		err := q.db.SelectRow(ctx, `SELECT first_name, last_name FROM dir_persons WHERE person_id = ?`, person).Scan(&first, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return "", "", "personal", nil
		}
		if err != nil {
			return "", "", "personal", fmt.Errorf("queries: the name of account %s: %w", id, err)
		}
		return "Personal account of " + strings.TrimSpace(first+" "+last), "", "personal", nil
	}
	err = q.db.SelectRow(ctx, `SELECT company_name, support_code FROM dir_accounts WHERE account_id = ?`, id).Scan(&name, &supportCode)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "business", nil
	}
	if err != nil {
		return "", "", "business", fmt.Errorf("queries: the name of account %s: %w", id, err)
	}
	return name, supportCode, "business", nil
}

// OrderEntry is one order of a subscription with who placed it.
type OrderEntry struct {
	Order
	// By names who placed it: a staff person by name and the role
	// they had then ("Ann Owner (owner)"), a service account ("service
	// account: order system"), or the admin token (BackOfficeNames).
	By string
}

// SubscriptionOrders is the console's order history of subscription id
// (purchase, seats added, renewals, cancellation), oldest first, each
// with who placed it, from the subscription's events.
func (q *Reads) SubscriptionOrders(ctx context.Context, v Viewer, id string, now time.Time) (Details, []OrderEntry, error) {
	if err := q.backOfficeRead(ctx, v); err != nil {
		return Details{}, nil, err
	}
	d, err := q.SubscriptionDetails(ctx, v, id, "", now)
	if err != nil {
		return Details{}, nil, err
	}
	if q.audit == nil {
		return Details{}, nil, ErrAuditUnavailable
	}
	type placed struct {
		actor    event.Actor
		position uint64
	}
	by := map[string]placed{}
	for from := uint64(1); ; {
		recs, err := q.audit.Log.ReadStream(ctx, subscription.StreamID(id), from, 500)
		if err != nil {
			return Details{}, nil, fmt.Errorf("queries: the orders of %s: %w", id, err)
		}
		for _, r := range recs {
			switch r.Type {
			case subscription.TypePurchased, subscription.TypeSeatsAdded, subscription.TypeRenewed, subscription.TypeCancelled:
				var p struct {
					OrderID string `json:"order_id"`
				}
				if json.Unmarshal(r.Data, &p) == nil && p.OrderID != "" {
					by[p.OrderID] = placed{r.Metadata.Actor, r.Position}
				}
			}
		}
		if len(recs) < 500 {
			break
		}
		from = recs[len(recs)-1].Version + 1
	}
	var names BackOfficeNames
	if len(by) > 0 {
		if names, err = q.audit.backOfficeNames(ctx); err != nil {
			return Details{}, nil, err
		}
	}
	var orders []OrderEntry
	for _, o := range d.Orders {
		who := "someone"
		if pl, ok := by[o.OrderID]; ok {
			who = HistoryNames{}.actor(AuditEvent{Actor: pl.actor, Position: pl.position, ActorName: names.Name(pl.actor, pl.position)})
		}
		orders = append(orders, OrderEntry{Order: o, By: who})
	}
	return d, orders, nil
}
