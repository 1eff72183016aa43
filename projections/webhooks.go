package projections

import (
	"context"
	"strings"

	"seatledger/domain/event"
	"seatledger/domain/webhook"
)

// Webhooks is the read model of the accounts' webhook endpoints (issue
// 22), which the API lists and the delivery worker (infra/webhook) reads:
// URL, event types, the nonces their secrets derive from, and whether
// deliveries are on. An endpoint's deliveries start after the log
// position of its creation. A resend an admin asks for goes into the
// worker's queue (webhook_resends), which is not among the tables: a
// rebuild replays the requests into rows already there, and never sends
// one twice.
type Webhooks struct{}

var (
	_ Projection = Webhooks{}
	_ Selective  = Webhooks{}
)

// WebhooksName is the projection's name, the read model the webhook
// queries wait for.
const WebhooksName = "webhooks"

// Name implements Projection.
func (Webhooks) Name() string { return WebhooksName }

// Tables implements Projection.
func (Webhooks) Tables() []string { return []string{"webhook_endpoints"} }

var webhooksTable = newTable(WebhooksName,
	on(Webhooks.created),
	on(Webhooks.updated),
	on(Webhooks.rotated),
	on(Webhooks.disabled),
	on(Webhooks.enabled),
	on(Webhooks.deleted),
	on(Webhooks.resendRequested),
)

// Apply implements Projection.
func (w Webhooks) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return webhooksTable.apply(w, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Webhooks) EventTypes() []string { return webhooksTable.eventTypes() }

func webhookAccount(rec event.Record) string {
	return strings.TrimPrefix(rec.StreamID, "webhooks-")
}

func (Webhooks) created(ctx context.Context, tx Tx, rec event.Record, e webhook.Created) error {
	return tx.Exec(ctx, `INSERT INTO webhook_endpoints (endpoint_id, account_id, url, types, secret_nonce, created_at, created_by, created_position)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint_id) DO NOTHING`,
		e.EndpointID, webhookAccount(rec), e.URL, strings.Join(e.Types, ","), e.SecretNonce, rec.Effective().UnixMicro(), e.By, int64(rec.Position))
}

func (Webhooks) updated(ctx context.Context, tx Tx, _ event.Record, e webhook.Updated) error {
	return tx.Exec(ctx, `UPDATE webhook_endpoints SET url = ?, types = ? WHERE endpoint_id = ?`, e.URL, strings.Join(e.Types, ","), e.EndpointID)
}

func (Webhooks) rotated(ctx context.Context, tx Tx, _ event.Record, e webhook.SecretRotated) error {
	return tx.Exec(ctx, `UPDATE webhook_endpoints SET previous_nonce = secret_nonce, previous_until = ?, secret_nonce = ?
		WHERE endpoint_id = ? AND secret_nonce <> ?`, e.PreviousUntil.UnixMicro(), e.SecretNonce, e.EndpointID, e.SecretNonce)
}

func (Webhooks) disabled(ctx context.Context, tx Tx, rec event.Record, e webhook.Disabled) error {
	return tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, switched_position = ? WHERE endpoint_id = ?`,
		e.Reason, int64(rec.Position), e.EndpointID)
}

func (Webhooks) enabled(ctx context.Context, tx Tx, rec event.Record, e webhook.Enabled) error {
	return tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = 1, disabled_reason = '', switched_position = ? WHERE endpoint_id = ?`,
		int64(rec.Position), e.EndpointID)
}

func (Webhooks) deleted(ctx context.Context, tx Tx, _ event.Record, e webhook.Deleted) error {
	return tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE endpoint_id = ?`, e.EndpointID)
}

func (Webhooks) resendRequested(ctx context.Context, tx Tx, rec event.Record, e webhook.ResendRequested) error {
	return tx.Exec(ctx, `INSERT INTO webhook_resends (request_id, endpoint_id, delivery_id, position, requested_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
		rec.ID, e.EndpointID, e.DeliveryID, int64(e.Position), rec.Effective().UnixMicro())
}
