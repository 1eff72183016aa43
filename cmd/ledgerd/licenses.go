package main

import (
	"context"
	"encoding/json"
	"fmt"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/infra/config"
	"seatledger/infra/keyring"
	"seatledger/infra/orderhook"
	"seatledger/infra/secret"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// openKeyring returns the keyring that seals license keys (rule KEY-9):
// from LEDGER_KEYRING_SECRET, or from the keyring file, created with a
// fresh secret on first start. The secret is never in the database, so a
// copy of the database alone reveals no usable key.
func (m *Main) openKeyring() (*keyring.Keyring, error) {
	var (
		k      *keyring.Keyring
		err    error
		source = config.EnvKeyringSecret
	)
	if len(m.Config.KeyringSecret) > 0 {
		k, err = keyring.New(m.Config.KeyringSecret)
	} else {
		k, err = keyring.LoadFile(m.Config.KeyringFile)
		source = "--keyring-file " + m.Config.KeyringFile
		m.warnIfShared(m.Config.KeyringFile, "the keyring's secret")
	}
	if err != nil {
		return nil, err
	}
	m.recordSecret(secret.NameKeyring, source, k.Fingerprint())
	return k, nil
}

// timerMeta is the metadata of the command timer t runs as actor: its ID
// is the correlation and the idempotency key, so that a timer run twice
// records its events once, and its due time is the command's effective
// time (rule X-6), so that a timer fired late — the process was down, or
// a simulated clock jumped — records what happened when it fell due.
func timerMeta(actor event.Actor, t timers.Timer) commands.Meta {
	return commands.Meta{Actor: actor, CorrelationID: t.ID, IdempotencyKey: t.ID, EffectiveAt: t.Due}
}

// lifecycleActor is who the lifecycle's timers act as (rule X-1).
var lifecycleActor = event.Actor{Kind: event.ActorProcess, ID: "subscription-lifecycle"}

// handleLifecycle registers the handlers of the subscription lifecycle's
// timers and of the outbox's deliveries to the order system. Each timer's
// ID is its command's idempotency key, so a timer run twice (after a
// crash) records its events once, and each decides at its due time.
func (m *Main) handleLifecycle(loop *timers.Loop) error {
	hook, err := orderhook.New(orderhook.Config{URL: m.Config.OrderWebhookURL, Secret: m.Config.OrderWebhookSecret, Logger: m.Logger})
	if err != nil {
		return err
	}
	h := m.people.commands.Subscriptions
	run := func(use func(ctx context.Context, meta commands.Meta, p projections.LifecycleTimer) error) timers.Handler {
		return func(ctx context.Context, t timers.Timer) error {
			var p projections.LifecycleTimer
			if err := json.Unmarshal(t.Payload, &p); err != nil {
				return fmt.Errorf("timer %s: %w", t.ID, err)
			}
			return use(ctx, timerMeta(lifecycleActor, t), p)
		}
	}
	loop.Handle(projections.TimerKindLapse, run(func(ctx context.Context, meta commands.Meta, p projections.LifecycleTimer) error {
		_, err := h.LapseSubscription(ctx, meta, p.SubscriptionID)
		return err
	}))
	loop.Handle(projections.TimerKindLapseSublicense, run(func(ctx context.Context, meta commands.Meta, p projections.LifecycleTimer) error {
		_, err := h.LapseSublicense(ctx, meta, p.SubscriptionID, p.KeyID, p.End)
		return err
	}))
	loop.Handle(projections.TimerKindRemind, run(func(ctx context.Context, meta commands.Meta, p projections.LifecycleTimer) error {
		_, err := h.RemindExpiry(ctx, meta, p.SubscriptionID, p.KeyID, p.End, p.DaysLeft)
		return err
	}))
	loop.Handle(projections.TimerKindRenew, run(func(ctx context.Context, meta commands.Meta, p projections.LifecycleTimer) error {
		_, err := h.RequestRenewal(ctx, meta, p.SubscriptionID, p.End)
		return err
	}))
	loop.HandleDelivery(projections.TimerKindOrderWebhook, hook.Handle)
	return nil
}

// installationActor is who the installation manager's timers act as
// (rule X-1).
var installationActor = event.Actor{Kind: event.ActorProcess, ID: "installation-manager"}

// handleInstallations registers the handlers of the installation
// manager's timers (rules USE-3..6, KEY-6, SUB-6, SUB-8). Each decides
// from the installation's latest events, so a timer made stale by later
// events records nothing, and each timer's ID is its command's
// idempotency key, so a timer run twice records its events once.
func (m *Main) handleInstallations(loop *timers.Loop) {
	h := m.people.commands.Installations
	run := func(use func(ctx context.Context, meta commands.Meta, p projections.InstallationTimer) error) timers.Handler {
		return func(ctx context.Context, t timers.Timer) error {
			var p projections.InstallationTimer
			if err := json.Unmarshal(t.Payload, &p); err != nil {
				return fmt.Errorf("timer %s: %w", t.ID, err)
			}
			return use(ctx, timerMeta(installationActor, t), p)
		}
	}
	loop.Handle(projections.TimerKindGraceEnd, run(func(ctx context.Context, meta commands.Meta, p projections.InstallationTimer) error {
		return h.InstallationGraceEnded(ctx, meta, p.InstallationID)
	}))
	loop.Handle(projections.TimerKindOveruseDeactivate, run(func(ctx context.Context, meta commands.Meta, p projections.InstallationTimer) error {
		return h.InstallationDeactivationDue(ctx, meta, p.InstallationID)
	}))
	loop.Handle(projections.TimerKindRevalidate, run(func(ctx context.Context, meta commands.Meta, p projections.InstallationTimer) error {
		return h.RevalidateInstallation(ctx, meta, p.InstallationID)
	}))
	loop.Handle(projections.TimerKindOverLimitAlert, run(func(ctx context.Context, meta commands.Meta, p projections.InstallationTimer) error {
		return h.AlertOverLimit(ctx, meta, p.InstallationID)
	}))
	loop.Handle(projections.TimerKindDeactivate, run(func(ctx context.Context, meta commands.Meta, p projections.InstallationTimer) error {
		return h.DeactivateInstallation(ctx, meta, p.InstallationID, installation.Reason(p.Reason))
	}))
}
