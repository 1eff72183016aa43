package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/subscription"
)

// The kinds of the lifecycle's timers; cmd/ledgerd hands each to the use
// case of the same name.
const (
	// TimerKindLapse: the end date (or the grace period's end) has come;
	// record grace or expiry (rule SUB-6).
	TimerKindLapse = "subscription.lapse"
	// TimerKindRemind: an end is 30 or 3 days away; record a reminder,
	// which the notifier mails to the account's admins.
	TimerKindRemind = "subscription.remind"
	// TimerKindRenew: an auto-renewing subscription ends in a week; ask the
	// order system to renew it (SUB-2).
	TimerKindRenew = "subscription.request_renewal"
	// TimerKindOrderWebhook: deliver an integration event to the order
	// system (infra/orderhook): the outbox.
	TimerKindOrderWebhook = "order.webhook"
	// TimerKindLapseSublicense: a sublicense's own expiry (or the end of
	// its grace) has come; record its grace or its expiry (rule KEY-3).
	TimerKindLapseSublicense = "subscription.lapse_sublicense"
)

// LifecycleTimer is the payload of the lifecycle's timers.
type LifecycleTimer struct {
	SubscriptionID string    `json:"subscription_id"`
	KeyID          string    `json:"key_id,omitempty"`
	End            time.Time `json:"end"`
	DaysLeft       int       `json:"days_left,omitempty"`
}

// RenewalRequest is the integration event the order system receives when
// an auto-renewing subscription is due for renewal (the payload of a
// TimerKindOrderWebhook timer, posted as is). The order system answers
// with a renewal order carrying its own order ID (SUB-4).
type RenewalRequest struct {
	Type           string    `json:"type"` // "subscription.renewal_requested"
	RequestID      string    `json:"request_id"`
	SubscriptionID string    `json:"subscription_id"`
	ProductID      string    `json:"product_id"`
	Seats          int       `json:"seats"`
	Period         string    `json:"period"`
	End            time.Time `json:"end"`
	RequestedAt    time.Time `json:"requested_at"`
}

// Lifecycle is the process manager of subscriptions (rules SUB-2, SUB-6,
// KEY-3): from each end date it plans, as durable timers, the reminders 30
// and 3 days before, the renewal request a week before when the
// subscription renews itself, the start of grace at the end and the
// expiry 30 days later — and the same, but renewal, for each sublicense
// with its own expiry; a renewal plans again from the new end and
// cancels what the old one planned. Renewal requests go to the order
// system through the outbox. The decisions are the domain's, made when a
// timer fires from the subscription's latest events: a timer made stale
// by a later event records nothing.
type Lifecycle struct {
	Scheduler Scheduler
}

var _ Projection = Lifecycle{}

// Name implements Projection.
func (Lifecycle) Name() string { return "lifecycle" }

// Tables implements Projection. The timers are not among them: a rebuild
// must not forget what already fired.
func (Lifecycle) Tables() []string { return []string{"lifecycle_subscriptions"} }

var lifecycleTable = newTable("lifecycle",
	on(Lifecycle.purchased),
	on(Lifecycle.renewed),
	on(Lifecycle.autoRenewSet),
	on(Lifecycle.cancelled),
	on(Lifecycle.graceStarted),
	on(Lifecycle.sublicenseCreated),
	on(Lifecycle.sublicenseChanged),
	on(Lifecycle.sublicenseGraceStarted),
	on(Lifecycle.renewalRequested),
)

// Apply implements Projection. Rule X-6: the plans count from when the
// event took effect (rec.Effective), not from when it was recorded.
func (l Lifecycle) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return lifecycleTable.apply(l, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Lifecycle) EventTypes() []string { return lifecycleTable.eventTypes() }

func (l Lifecycle) purchased(ctx context.Context, tx Tx, rec event.Record, e subscription.Purchased) error {
	if e.Period == subscription.Permanent {
		return nil // nothing ends
	}
	sub := subscriptionID(rec)
	if err := tx.Exec(ctx, `INSERT INTO lifecycle_subscriptions (subscription_id, end_at, auto_renew) VALUES (?, ?, ?)
		ON CONFLICT (subscription_id) DO NOTHING`, sub, e.End.UnixMicro(), boolInt(e.AutoRenew)); err != nil {
		return err
	}
	return l.plan(ctx, tx, sub, e.End, e.AutoRenew, rec.Effective())
}

func (l Lifecycle) renewed(ctx context.Context, tx Tx, rec event.Record, e subscription.Renewed) error {
	if e.InsuranceEnd != nil {
		return nil
	}
	sub := subscriptionID(rec)
	old, autoRenew, ok, err := l.state(ctx, tx, sub)
	if err != nil || !ok {
		return err
	}
	if err := l.cancel(ctx, tx, sub, old); err != nil {
		return err
	}
	if err := tx.Exec(ctx, `UPDATE lifecycle_subscriptions SET end_at = ? WHERE subscription_id = ?`, e.End.UnixMicro(), sub); err != nil {
		return err
	}
	return l.plan(ctx, tx, sub, e.End, autoRenew, rec.Effective())
}

func (l Lifecycle) autoRenewSet(ctx context.Context, tx Tx, rec event.Record, e subscription.AutoRenewSet) error {
	return l.setAutoRenew(ctx, tx, rec, e.On)
}

// cancelled: a cancelled subscription renews no more.
func (l Lifecycle) cancelled(ctx context.Context, tx Tx, rec event.Record, _ subscription.Cancelled) error {
	return l.setAutoRenew(ctx, tx, rec, false)
}

// setAutoRenew records whether the subscription renews itself, and
// schedules or cancels its renewal request (SUB-2).
func (l Lifecycle) setAutoRenew(ctx context.Context, tx Tx, rec event.Record, on bool) error {
	sub := subscriptionID(rec)
	end, _, ok, err := l.state(ctx, tx, sub)
	if err != nil || !ok {
		return err
	}
	if err := tx.Exec(ctx, `UPDATE lifecycle_subscriptions SET auto_renew = ? WHERE subscription_id = ?`, boolInt(on), sub); err != nil {
		return err
	}
	if !on {
		return l.Scheduler.Cancel(ctx, tx, renewTimerID(sub, end))
	}
	return l.schedule(ctx, tx, renewTimerID(sub, end), TimerKindRenew, later(end.Add(-subscription.RenewalLead), rec.Effective()),
		LifecycleTimer{SubscriptionID: sub, End: end})
}

func (l Lifecycle) graceStarted(ctx context.Context, tx Tx, rec event.Record, e subscription.GraceStarted) error {
	sub := subscriptionID(rec)
	return l.schedule(ctx, tx, "lapse/"+sub+"/"+stamp(e.End)+"/expiry", TimerKindLapse, e.End.Add(subscription.GracePeriod),
		LifecycleTimer{SubscriptionID: sub, End: e.End})
}

func (l Lifecycle) sublicenseCreated(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseCreated) error {
	return l.planKey(ctx, tx, subscriptionID(rec), e.Key.KeyID, e.ExpiresAt, rec.Effective())
}

// sublicenseChanged: the timers of the expiry it had record nothing when
// they fire.
func (l Lifecycle) sublicenseChanged(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseChanged) error {
	return l.planKey(ctx, tx, subscriptionID(rec), e.KeyID, e.ExpiresAt, rec.Effective())
}

// sublicenseGraceStarted: KEY-3, 30 days of grace, then the sublicense
// expires.
func (l Lifecycle) sublicenseGraceStarted(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseGraceStarted) error {
	sub := subscriptionID(rec)
	return l.schedule(ctx, tx, lapseKeyTimerID(sub, e.KeyID, e.ExpiresAt)+"/expiry", TimerKindLapseSublicense,
		e.ExpiresAt.Add(subscription.GracePeriod), LifecycleTimer{SubscriptionID: sub, KeyID: e.KeyID, End: e.ExpiresAt})
}

func (l Lifecycle) renewalRequested(ctx context.Context, tx Tx, rec event.Record, e subscription.RenewalRequested) error {
	now := rec.Effective()
	body, err := json.Marshal(RenewalRequest{Type: subscription.TypeRenewalRequested, RequestID: e.RequestID, SubscriptionID: subscriptionID(rec),
		ProductID: e.ProductID, Seats: e.Seats, Period: string(e.Period), End: e.End, RequestedAt: now})
	if err != nil {
		return err
	}
	return l.Scheduler.Schedule(ctx, tx, Timer{ID: "order-webhook/" + rec.ID, Kind: TimerKindOrderWebhook, Due: now, Payload: body})
}

// plan schedules what the end date brings: reminders, the renewal
// request, the start of grace.
func (l Lifecycle) plan(ctx context.Context, tx Tx, sub string, end time.Time, autoRenew bool, now time.Time) error {
	if err := l.remind(ctx, tx, sub, "", end, now); err != nil {
		return err
	}
	if autoRenew {
		if err := l.schedule(ctx, tx, renewTimerID(sub, end), TimerKindRenew, later(end.Add(-subscription.RenewalLead), now), LifecycleTimer{SubscriptionID: sub, End: end}); err != nil {
			return err
		}
	}
	return l.schedule(ctx, tx, "lapse/"+sub+"/"+stamp(end), TimerKindLapse, end, LifecycleTimer{SubscriptionID: sub, End: end})
}

// cancel withdraws what plan scheduled for end, after a renewal moved it.
func (l Lifecycle) cancel(ctx context.Context, tx Tx, sub string, end time.Time) error {
	ids := []string{renewTimerID(sub, end), "lapse/" + sub + "/" + stamp(end), "lapse/" + sub + "/" + stamp(end) + "/expiry"}
	for _, days := range subscription.RemindersBefore {
		ids = append(ids, remindTimerID(sub, "", end, days))
	}
	for _, id := range ids {
		if err := l.Scheduler.Cancel(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// planKey schedules the reminders of a sublicense's own expiry, and its
// lapse at the expiry (KEY-3).
func (l Lifecycle) planKey(ctx context.Context, tx Tx, sub, keyID string, expires *time.Time, now time.Time) error {
	if expires == nil {
		return nil
	}
	if err := l.remind(ctx, tx, sub, keyID, *expires, now); err != nil {
		return err
	}
	return l.schedule(ctx, tx, lapseKeyTimerID(sub, keyID, *expires), TimerKindLapseSublicense, *expires,
		LifecycleTimer{SubscriptionID: sub, KeyID: keyID, End: *expires})
}

// lapseKeyTimerID names the lapse of sublicense keyID at its expiry.
func lapseKeyTimerID(sub, keyID string, expires time.Time) string {
	return "lapse-key/" + sub + "/" + keyID + "/" + stamp(expires)
}

// remind schedules the reminders before end that are still ahead.
func (l Lifecycle) remind(ctx context.Context, tx Tx, sub, keyID string, end, now time.Time) error {
	for _, days := range subscription.RemindersBefore {
		due := end.Add(-time.Duration(days) * 24 * time.Hour)
		if due.Before(now) {
			continue // too late for this one
		}
		if err := l.schedule(ctx, tx, remindTimerID(sub, keyID, end, days), TimerKindRemind, due,
			LifecycleTimer{SubscriptionID: sub, KeyID: keyID, End: end, DaysLeft: days}); err != nil {
			return err
		}
	}
	return nil
}

func (l Lifecycle) schedule(ctx context.Context, tx Tx, id, kind string, due time.Time, p LifecycleTimer) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("lifecycle: encode timer %s: %w", id, err)
	}
	return l.Scheduler.Schedule(ctx, tx, Timer{ID: id, Kind: kind, Due: due, Payload: body})
}

// state returns the end date and auto-renewal the lifecycle knows of sub.
func (Lifecycle) state(ctx context.Context, tx Tx, sub string) (end time.Time, autoRenew, ok bool, err error) {
	var endAt int64
	var renew int
	err = tx.QueryRow(ctx, `SELECT end_at, auto_renew FROM lifecycle_subscriptions WHERE subscription_id = ?`, sub).Scan(&endAt, &renew)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, false, nil // a permanent license
	}
	return time.UnixMicro(endAt).UTC(), renew == 1, err == nil, err
}

func renewTimerID(sub string, end time.Time) string { return "renew/" + sub + "/" + stamp(end) }

func remindTimerID(sub, keyID string, end time.Time, days int) string {
	return "remind/" + sub + "/" + keyID + "/" + stamp(end) + "/" + strconv.Itoa(days)
}

// stamp names an end date in a timer ID.
func stamp(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
