package commands

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/feed"
	"seatledger/domain/webhook"
)

// WebhooksHandler runs the use cases of an account's webhook endpoints
// (issue 22): its admins create, change, disable, enable and delete them,
// rotate their secrets and ask for deliveries again; the delivery worker
// disables one that failed for days.
type WebhooksHandler struct {
	loader *Loader
	tokens Tokens
	policy webhook.Policy
	hooks  *cache[webhook.Endpoints]
}

// NewWebhooksHandler returns a WebhooksHandler on loader that derives
// secrets with tokens; allowHTTP accepts http:// URLs (the setting
// LEDGER_WEBHOOK_ALLOW_HTTP). It returns an error wrapping
// ErrMissingDependency if loader or tokens is nil.
func NewWebhooksHandler(loader *Loader, tokens Tokens, allowHTTP bool) (*WebhooksHandler, error) {
	if err := dependencies("NewWebhooksHandler", dep{"a Loader", loader != nil}, dep{"Tokens", tokens != nil}); err != nil {
		return nil, err
	}
	return &WebhooksHandler{loader: loader, tokens: tokens, policy: webhook.Policy{AllowHTTP: allowHTTP, KnownType: feed.Known},
		hooks: newCache(loader.cacheSize, webhook.StreamID, func(string) webhook.Endpoints { return webhook.Endpoints{} },
			func(s webhook.Endpoints, payload any, rec event.Record) webhook.Endpoints {
				return s.Evolve(payload, rec.Effective())
			},
			webhook.Endpoints.Clone)}, nil
}

// tokenWebhookSecret is the purpose of the token a webhook secret is
// derived from.
const tokenWebhookSecret = "webhook-secret"

// WebhookSecret derives the signing secret of endpoint id from its nonce
// with the server's key: 32 bytes, shown to the admin once as "whsec_"
// and their base64 (Standard Webhooks). The delivery worker derives the
// same bytes to sign; the log holds only the nonce.
func WebhookSecret(tokens Tokens, id, nonce string) []byte {
	sum := sha256.Sum256([]byte(tokens.Token(tokenWebhookSecret, id+"/"+nonce)))
	return sum[:]
}

// FormatWebhookSecret writes a secret as Standard Webhooks shows it.
func FormatWebhookSecret(secret []byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(secret)
}

// WebhookInput is an endpoint's URL and event types (public feed names;
// none: every event).
type WebhookInput struct {
	URL   string
	Types []string
}

// WebhookSecretAnswer is what CreateWebhook and RotateWebhookSecret
// return: the endpoint and its new secret, shown this once.
type WebhookSecretAnswer struct {
	event.AppendResult
	EndpointID string
	Secret     string
}

// CreateWebhook adds an endpoint to account accountID; the actor must be
// an unblocked admin of it (account.ActionManage). It returns an error
// wrapping webhook.ErrInvalid naming url or types, or webhook.ErrLimit.
// The idempotency key is ignored: the answer holds a secret minted now,
// which a retry could not answer again without storing it.
func (h *WebhooksHandler) CreateWebhook(ctx context.Context, meta Meta, accountID string, in WebhookInput) (WebhookSecretAnswer, error) {
	meta.IdempotencyKey = ""
	id, nonce := "wh_"+uuid.Must(uuid.NewV7()).String(), newSecret()
	res, err := h.manage(ctx, meta, accountID, "CreateWebhook", func(s webhook.Endpoints, _ time.Time) ([]any, error) {
		return s.Create(h.policy, id, in.URL, in.Types, nonce, meta.Actor.ID)
	})
	if err != nil {
		return WebhookSecretAnswer{}, err
	}
	return WebhookSecretAnswer{AppendResult: res, EndpointID: id, Secret: FormatWebhookSecret(WebhookSecret(h.tokens, id, nonce))}, nil
}

// WebhookChange is a change of an endpoint: what is nil stays.
type WebhookChange struct {
	URL   *string
	Types *[]string
}

// UpdateWebhook changes endpoint id's URL, types or both.
func (h *WebhooksHandler) UpdateWebhook(ctx context.Context, meta Meta, accountID, id string, c WebhookChange) (event.AppendResult, error) {
	return h.manage(ctx, meta, accountID, "UpdateWebhook", func(s webhook.Endpoints, _ time.Time) ([]any, error) {
		e, ok := s.Get(id)
		if !ok {
			return nil, fmt.Errorf("%w: %s", webhook.ErrNotFound, id)
		}
		if c.URL != nil {
			e.URL = *c.URL
		}
		if c.Types != nil {
			e.Types = *c.Types
		}
		return s.Update(h.policy, id, e.URL, e.Types, meta.Actor.ID)
	})
}

// RotateWebhookSecret gives endpoint id a new secret, returned this once;
// the previous one signs too for webhook.RotationOverlap.
func (h *WebhooksHandler) RotateWebhookSecret(ctx context.Context, meta Meta, accountID, id string) (WebhookSecretAnswer, error) {
	meta.IdempotencyKey = ""
	nonce := newSecret()
	res, err := h.manage(ctx, meta, accountID, "RotateWebhookSecret", func(s webhook.Endpoints, now time.Time) ([]any, error) {
		return s.RotateSecret(id, nonce, meta.Actor.ID, now)
	})
	if err != nil {
		return WebhookSecretAnswer{}, err
	}
	return WebhookSecretAnswer{AppendResult: res, EndpointID: id, Secret: FormatWebhookSecret(WebhookSecret(h.tokens, id, nonce))}, nil
}

// SetWebhookEnabled disables or enables endpoint id.
func (h *WebhooksHandler) SetWebhookEnabled(ctx context.Context, meta Meta, accountID, id string, enabled bool) (event.AppendResult, error) {
	return h.manage(ctx, meta, accountID, "SetWebhookEnabled", func(s webhook.Endpoints, _ time.Time) ([]any, error) {
		if enabled {
			return s.Enable(id, meta.Actor.ID)
		}
		return s.Disable(id, meta.Actor.ID)
	})
}

// DeleteWebhook removes endpoint id.
func (h *WebhooksHandler) DeleteWebhook(ctx context.Context, meta Meta, accountID, id string) (event.AppendResult, error) {
	return h.manage(ctx, meta, accountID, "DeleteWebhook", func(s webhook.Endpoints, _ time.Time) ([]any, error) {
		return s.Delete(id, meta.Actor.ID)
	})
}

// ResendWebhook queues delivery deliveryID of endpoint id — of feed event
// eventID at log position, as the delivery log tells — again.
func (h *WebhooksHandler) ResendWebhook(ctx context.Context, meta Meta, accountID, id, deliveryID, eventID string, position uint64) (event.AppendResult, error) {
	return h.manage(ctx, meta, accountID, "ResendWebhook", func(s webhook.Endpoints, _ time.Time) ([]any, error) {
		return s.Resend(id, deliveryID, eventID, position, meta.Actor.ID)
	})
}

// DisableFailingWebhook is the delivery worker's: endpoint id of account
// accountID failed to take feed event eventID from since on, for longer
// than the retries last; deliveries stop until an admin enables it, and
// the notifier mails the admins. The actor must be a process of the
// ledger. Nothing is recorded if the endpoint is disabled or gone already.
func (h *WebhooksHandler) DisableFailingWebhook(ctx context.Context, meta Meta, accountID, id, eventID string, since time.Time, lastError string) (event.AppendResult, error) {
	if meta.Actor.Kind != event.ActorProcess {
		return event.AppendResult{}, fmt.Errorf("%w: only the delivery worker disables a failing endpoint", account.ErrForbidden)
	}
	return update(ctx, h.loader, h.hooks, accountID, "DisableFailingWebhook", meta, func(s webhook.Endpoints, _ time.Time) ([]any, error) {
		return s.DisableFailing(id, eventID, since, lastError)
	})
}

// manage decides on account accountID's endpoints after checking that
// the actor is an unblocked admin of it, from the account's events.
func (h *WebhooksHandler) manage(ctx context.Context, meta Meta, accountID, command string, decide func(webhook.Endpoints, time.Time) ([]any, error)) (event.AppendResult, error) {
	return update(ctx, h.loader, h.hooks, accountID, command, meta, func(s webhook.Endpoints, now time.Time) ([]any, error) {
		acct, err := h.loader.account(ctx, accountID)
		if err != nil {
			return nil, err
		}
		if err := acct.Authorize(meta.Actor, account.ActionManage); err != nil {
			return nil, err
		}
		return decide(s, now)
	})
}
