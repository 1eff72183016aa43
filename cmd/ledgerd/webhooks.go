package main

import (
	"context"
	"time"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/infra/webhook"
	"seatledger/projections"
)

// webhookActor is who disables an endpoint that failed for days (rule X-1).
var webhookActor = event.Actor{Kind: event.ActorProcess, ID: "webhook-delivery"}

// openWebhooks builds the webhook delivery worker (issue 22) on the
// database, the server's key and the write side; it runs under its lease.
func (m *Main) openWebhooks() (*webhook.Worker, error) {
	cfg := m.Webhooks
	cfg.DB, cfg.Clock, cfg.Tokens = m.DB, m.Clock, m.people.linkKey
	cfg.AllowHTTP, cfg.AllowPrivate = m.Config.WebhookAllowHTTP, m.Config.WebhookAllowPrivate
	cfg.Logger = m.Logger.With("component", "webhooks")
	hooks := m.people.commands.Webhooks
	cfg.Disable = func(ctx context.Context, accountID, endpointID, eventID string, since time.Time, lastError string) (uint64, error) {
		res, err := hooks.DisableFailingWebhook(ctx, commands.Meta{Actor: webhookActor, CorrelationID: "webhook/" + endpointID + "/" + eventID},
			accountID, endpointID, eventID, since, lastError)
		return res.Position, err
	}
	return webhook.New(cfg)
}

// runWebhooks runs the webhook worker while this process holds its lease,
// and wakes it whenever this process's account feed moves, so that an
// event is delivered within moments rather than at the worker's next
// poll (which still finds what another process's projection applied).
func (m *Main) runWebhooks(ctx context.Context) error {
	rt := m.readSide.runtime
	go func() {
		last := rt.Applied(projections.AccountFeedName)
		for {
			moved := rt.Progress()
			if at := rt.Applied(projections.AccountFeedName); at != last {
				last = at
				m.webhooks.Wake()
			}
			select {
			case <-ctx.Done():
				return
			case <-moved:
			}
		}
	}()
	return m.webhooks.Run(ctx)
}
