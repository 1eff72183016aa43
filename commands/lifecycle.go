package commands

import (
	"context"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/subscription"
)

// The lifecycle's use cases are run by the process manager's timers
// (projections.Lifecycle), as the system (actor kind "process"). Each
// decides from the subscription's latest events, so a timer planned before
// a renewal or a change of expiry records nothing when it fires. The
// timer's ID is the idempotency key: a timer that fires twice records once.

// LapseSubscription records the status the end date has brought (SUB-6):
// grace, then expired.
func (h *SubscriptionsHandler) LapseSubscription(ctx context.Context, meta Meta, id string) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.subscriptions, id, "LapseSubscription", meta,
		func(s subscription.Subscription, now time.Time) ([]any, error) { return s.Lapse(now) })
}

// RemindExpiry records that the subscription (keyID empty) or a
// sublicense ends at end in daysLeft days, so that its admins are mailed.
func (h *SubscriptionsHandler) RemindExpiry(ctx context.Context, meta Meta, id, keyID string, end time.Time, daysLeft int) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.subscriptions, id, "RemindExpiry", meta,
		func(s subscription.Subscription, _ time.Time) ([]any, error) {
			return s.RemindExpiry(keyID, end, daysLeft)
		})
}

// RequestRenewal asks the order system, through the outbox, to renew an
// auto-renewing subscription that ends at end (SUB-2). The request's ID is
// the command's idempotency key.
func (h *SubscriptionsHandler) RequestRenewal(ctx context.Context, meta Meta, id string, end time.Time) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.subscriptions, id, "RequestRenewal", meta,
		func(s subscription.Subscription, _ time.Time) ([]any, error) {
			return s.RequestRenewal(meta.IdempotencyKey, end)
		})
}

// LapseSublicense records what a sublicense's own expiry has brought
// (KEY-3): its grace at the expiry, and 30 days later its expiry, after
// which its installations are deactivated and its seats return to the
// primary key. A timer planned for an expiry that has moved records
// nothing.
func (h *SubscriptionsHandler) LapseSublicense(ctx context.Context, meta Meta, id, keyID string, expiresAt time.Time) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.subscriptions, id, "LapseSublicense", meta,
		func(s subscription.Subscription, now time.Time) ([]any, error) {
			return s.LapseSublicense(keyID, expiresAt, now)
		})
}
