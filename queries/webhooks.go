package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/webhook"
)

// WebhooksReadModel holds the accounts' webhook endpoints (issue 22).
const WebhooksReadModel = "webhooks"

// Webhook is one webhook endpoint as listed: its settings and where its
// deliveries stand. Its secret is never shown again after creation or
// rotation.
type Webhook struct {
	ID    string   `json:"id"`
	URL   string   `json:"url"`
	Types []string `json:"types"` // empty: every event
	// Enabled says whether deliveries run; DisabledReason why not
	// ("admin", or "failing": disabled after three days of retries).
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason,omitempty"`
	// PreviousSecretUntil: after a rotation, the previous secret signs
	// too until then.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	CreatedBy           string     `json:"created_by"`
	// Attempts counts the failed attempts of the delivery now retried;
	// FailingSince, NextAttemptAt and LastError tell its retries.
	Attempts      int        `json:"attempts"`
	FailingSince  *time.Time `json:"failing_since,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	// PendingResends counts the resends asked for and not yet delivered.
	PendingResends int `json:"pending_resends"`
}

// WebhookDelivery is one attempt of the delivery log, newest first.
type WebhookDelivery struct {
	ID        string    `json:"id"`
	EventID   string    `json:"event_id"` // the webhook-id
	EventType string    `json:"event_type"`
	Attempt   int       `json:"attempt"` // 1 for the first try of the event
	Resend    bool      `json:"resend"`
	Outcome   string    `json:"outcome"` // delivered, failed, gave_up
	Status    int       `json:"status"`  // the HTTP status; 0 when none came
	LatencyMS int64     `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"attempted_at"`
	// position is the feed event's, for a resend.
	position int64
}

// WebhookDeliveryPage is a page of a delivery log, newest first; Next is
// the before to ask for the following page with ("" at the end).
type WebhookDeliveryPage struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
	Next       string            `json:"next,omitempty"`
}

// The delivery log's page sizes.
const (
	deliveriesDefaultLimit = 50
	deliveriesMaxLimit     = 500
)

const selectWebhook = `SELECT e.endpoint_id, e.url, e.types, e.enabled, e.disabled_reason, e.previous_until, e.created_at, e.created_by,
	COALESCE(s.attempts, 0), COALESCE(s.failing_since, 0), COALESCE(s.next_attempt_at, 0), COALESCE(s.last_error, ''),
	(SELECT COUNT(*) FROM webhook_resends r WHERE r.endpoint_id = e.endpoint_id AND r.done = 0)
	FROM webhook_endpoints e LEFT JOIN webhook_state s ON s.endpoint_id = e.endpoint_id
	WHERE e.account_id = ?`

func scanWebhook(row interface{ Scan(...any) error }, now time.Time) (Webhook, error) {
	var (
		w                         Webhook
		types                     string
		enabled                   int
		previousUntil, created    int64
		failingSince, nextAttempt int64
	)
	if err := row.Scan(&w.ID, &w.URL, &types, &enabled, &w.DisabledReason, &previousUntil, &created, &w.CreatedBy,
		&w.Attempts, &failingSince, &nextAttempt, &w.LastError, &w.PendingResends); err != nil {
		return w, err
	}
	w.Types = []string{}
	if types != "" {
		w.Types = strings.Split(types, ",")
	}
	w.Enabled, w.CreatedAt = enabled == 1, micros(created)
	if previousUntil > 0 && micros(previousUntil).After(now) {
		t := micros(previousUntil)
		w.PreviousSecretUntil = &t
	}
	if failingSince > 0 && w.Attempts > 0 {
		t := micros(failingSince)
		w.FailingSince = &t
	}
	if nextAttempt > 0 && w.Attempts > 0 {
		t := micros(nextAttempt)
		w.NextAttemptAt = &t
	}
	return w, nil
}

// Webhooks is the use case of listing account id's webhook endpoints,
// oldest first: v must be allowed to read the account's feed
// (account.ActionReadEvents: its unblocked admins, and the back office).
func (q *Reads) Webhooks(ctx context.Context, v Viewer, id string) ([]Webhook, error) {
	if err := q.authorizeWebhooks(ctx, v, id); err != nil {
		return nil, err
	}
	rows, err := q.db.Select(ctx, selectWebhook+` ORDER BY e.created_at, e.endpoint_id`, id)
	if err != nil {
		return nil, fmt.Errorf("queries: webhooks of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Webhook{}
	now := time.Now()
	for rows.Next() {
		w, err := scanWebhook(rows, now)
		if err != nil {
			return nil, fmt.Errorf("queries: webhooks of %s: %w", id, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queries: webhooks of %s: %w", id, err)
	}
	return out, nil
}

// Webhook is the use case of one endpoint of account id; an error
// matching webhook.ErrNotFound when the account has no such endpoint.
func (q *Reads) Webhook(ctx context.Context, v Viewer, id, endpointID string) (Webhook, error) {
	if err := q.authorizeWebhooks(ctx, v, id); err != nil {
		return Webhook{}, err
	}
	return q.webhook(ctx, id, endpointID)
}

func (q *Reads) webhook(ctx context.Context, id, endpointID string) (Webhook, error) {
	w, err := scanWebhook(q.db.SelectRow(ctx, selectWebhook+` AND e.endpoint_id = ?`, id, endpointID), time.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("%w: %s", webhook.ErrNotFound, endpointID)
	}
	if err != nil {
		return w, fmt.Errorf("queries: webhook %s: %w", endpointID, err)
	}
	return w, nil
}

// WebhookDeliveries is the use case of an endpoint's delivery log, newest
// first, limit attempts (default 50, at most 500) before the delivery
// before ("" from the newest); an *InputError names limit or before.
func (q *Reads) WebhookDeliveries(ctx context.Context, v Viewer, id, endpointID, before, limit string) (WebhookDeliveryPage, error) {
	if err := q.authorizeWebhooks(ctx, v, id); err != nil {
		return WebhookDeliveryPage{}, err
	}
	n, err := parseLimit(limit, deliveriesMaxLimit)
	if err != nil {
		return WebhookDeliveryPage{}, invalidInput("limit", ErrInvalidFilter, "limit must be a whole number from 1 to %d, not %q", deliveriesMaxLimit, limit)
	}
	if n == 0 {
		n = deliveriesDefaultLimit
	}
	if before != "" && !strings.HasPrefix(before, "dl_") {
		return WebhookDeliveryPage{}, invalidInput("before", ErrInvalidFilter, "before %q is not a delivery ID of this log (use a page's next)", before)
	}
	if _, err := q.webhook(ctx, id, endpointID); err != nil {
		return WebhookDeliveryPage{}, err
	}
	query, args := selectDelivery+` WHERE endpoint_id = ?`, []any{endpointID}
	if before != "" {
		query += ` AND delivery_id < ?`
		args = append(args, before)
	}
	rows, err := q.db.Select(ctx, query+` ORDER BY delivery_id DESC LIMIT ?`, append(args, n+1)...)
	if err != nil {
		return WebhookDeliveryPage{}, fmt.Errorf("queries: deliveries of %s: %w", endpointID, err)
	}
	defer rows.Close()
	page := WebhookDeliveryPage{Deliveries: []WebhookDelivery{}}
	for rows.Next() {
		if len(page.Deliveries) == n {
			page.Next = page.Deliveries[n-1].ID
			break
		}
		d, err := scanDelivery(rows)
		if err != nil {
			return WebhookDeliveryPage{}, fmt.Errorf("queries: deliveries of %s: %w", endpointID, err)
		}
		page.Deliveries = append(page.Deliveries, d)
	}
	if err := rows.Err(); err != nil {
		return WebhookDeliveryPage{}, fmt.Errorf("queries: deliveries of %s: %w", endpointID, err)
	}
	return page, nil
}

const selectDelivery = `SELECT delivery_id, event_id, event_type, attempt, resend, outcome, status, latency_ms, error, attempted_at, position
	FROM webhook_deliveries`

func scanDelivery(row interface{ Scan(...any) error }) (WebhookDelivery, error) {
	var (
		d      WebhookDelivery
		resend int
		at     int64
	)
	err := row.Scan(&d.ID, &d.EventID, &d.EventType, &d.Attempt, &resend, &d.Outcome, &d.Status, &d.LatencyMS, &d.Error, &at, &d.position)
	d.Resend, d.At = resend == 1, micros(at)
	return d, err
}

// ResendTarget is what a resend of a delivery needs: its event and the
// event's log position.
type ResendTarget struct {
	DeliveryID, EventID string
	Position            uint64
}

// WebhookResendTarget finds delivery deliveryID of endpoint endpointID of
// account id, for a resend; v must be allowed to manage the account. An
// error matching webhook.ErrNotFound when there is no such delivery (or
// it left the log: 90 days).
func (q *Reads) WebhookResendTarget(ctx context.Context, v Viewer, id, endpointID, deliveryID string) (ResendTarget, error) {
	if err := q.accounts.Authorize(ctx, v.Actor, id, account.ActionManage); err != nil {
		return ResendTarget{}, err
	}
	if err := q.await(ctx, v, WebhooksReadModel); err != nil {
		return ResendTarget{}, err
	}
	if _, err := q.webhook(ctx, id, endpointID); err != nil {
		return ResendTarget{}, err
	}
	d, err := scanDelivery(q.db.SelectRow(ctx, selectDelivery+` WHERE endpoint_id = ? AND delivery_id = ?`, endpointID, deliveryID))
	if errors.Is(err, sql.ErrNoRows) {
		return ResendTarget{}, fmt.Errorf("%w: no delivery %s in the log of %s", webhook.ErrNotFound, deliveryID, endpointID)
	}
	if err != nil {
		return ResendTarget{}, fmt.Errorf("queries: delivery %s: %w", deliveryID, err)
	}
	return ResendTarget{DeliveryID: d.ID, EventID: d.EventID, Position: uint64(d.position)}, nil
}

// authorizeWebhooks lets v read account id's webhooks, and waits for the
// read model.
func (q *Reads) authorizeWebhooks(ctx context.Context, v Viewer, id string) error {
	if err := q.accounts.Authorize(ctx, v.Actor, id, account.ActionReadEvents); err != nil {
		return err
	}
	return q.await(ctx, v, WebhooksReadModel)
}
