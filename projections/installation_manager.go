package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/subscription"
)

// The kinds of the installation manager's timers; each is handed to the
// use case that asks the installation's aggregate what the moment means.
const (
	// TimerKindGraceEnd: a farm's 7-day overuse grace ends; an excess from
	// then on is detected (rules USE-3, USE-4).
	TimerKindGraceEnd = "installation.grace_end"
	// TimerKindOveruseDeactivate: a detected overuse reached its deadline,
	// 1–2 hours after the excess was seen; suspend the farm if it is still
	// over its quota (USE-4).
	TimerKindOveruseDeactivate = "installation.overuse_deactivate"
	// TimerKindRevalidate: the 20-minute re-validation of a farm suspended
	// for overuse; reactivate it once within its quota (USE-4).
	TimerKindRevalidate = "installation.revalidate"
	// TimerKindOverLimitAlert: the hourly check of a proxy server over its
	// limit; alert again, or end the over-limit period (USE-6).
	TimerKindOverLimitAlert = "installation.over_limit_alert"
	// TimerKindDeactivate: deactivate the installation for
	// InstallationTimer.Reason: "expired" (its subscription expired,
	// SUB-6), "key_deleted" (its sublicense was deleted, KEY-6) or
	// "trial_ended" (SUB-8).
	TimerKindDeactivate = "installation.deactivate"
)

// InstallationTimer is the payload of the installation manager's timers.
type InstallationTimer struct {
	InstallationID string `json:"installation_id"`
	// Reason is set on TimerKindDeactivate timers: an installation.Reason.
	Reason string `json:"reason,omitempty"`
}

// InstallationManager is the process manager of installations (rules
// USE-3, USE-4, USE-6, KEY-3, KEY-6, SUB-6, SUB-8): it turns the installations'
// and the subscriptions' events into durable timers — the end of an
// overuse grace, the deadline of a detected overuse, the 20-minute
// re-validation of a suspended farm, the hourly over-limit alert of a
// proxy server, and the deactivations that an expired subscription, a
// deleted sublicense or the end of a trial bring.
//
// It decides nothing itself: the aggregate decides when a timer fires, and
// a timer made stale by a later event records nothing. Each timer's ID is
// derived from the installation and the event that caused it, so a replay
// schedules the same timers and a fired one is never armed again. Of each
// recurring kind at most one timer is pending per installation: scheduling
// the next one cancels the one before, and a deactivation cancels them
// all.
type InstallationManager struct {
	Scheduler Scheduler
}

var _ Projection = InstallationManager{}

// Name implements Projection.
func (InstallationManager) Name() string { return "installation_manager" }

// Tables implements Projection. The timers are not among them: a rebuild
// must not forget what already fired.
func (InstallationManager) Tables() []string { return []string{"pm_installations"} }

var installationManagerTable = newTable("installation_manager",
	on(InstallationManager.activated),
	on(InstallationManager.deactivated),
	on(InstallationManager.graceStarted),
	on(InstallationManager.overuseDetected),
	on(InstallationManager.overuseCleared),
	on(InstallationManager.suspended),
	on(InstallationManager.revalidated),
	on(InstallationManager.resumed),
	on(InstallationManager.overLimitStarted),
	on(InstallationManager.overLimitAlerted),
	on(InstallationManager.overLimitEnded),
	on(InstallationManager.subscriptionExpired),
	on(InstallationManager.sublicenseDeleted),
	on(InstallationManager.sublicenseExpired),
)

// Apply implements Projection. Rule X-6: the next timer counts from when
// the event took effect (a timer's due time, rec.Effective), not from
// when it was recorded, so a late timer's successors fall due as they
// would have.
func (m InstallationManager) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return installationManagerTable.apply(m, ctx, tx, rec)
}

// EventTypes implements Selective.
func (InstallationManager) EventTypes() []string { return installationManagerTable.eventTypes() }

// The columns of pm_installations that hold the pending timer of each
// recurring kind.
const (
	pmGraceTimer      = "grace_timer"
	pmOveruseTimer    = "overuse_timer"
	pmRevalidateTimer = "revalidate_timer"
	pmAlertTimer      = "alert_timer"
	pmTrialTimer      = "trial_timer"
)

var pmTimerColumns = []string{pmGraceTimer, pmOveruseTimer, pmRevalidateTimer, pmAlertTimer, pmTrialTimer}

func (m InstallationManager) activated(ctx context.Context, tx Tx, rec event.Record, e installation.Activated) error {
	id := installationID(rec)
	if err := tx.Exec(ctx, `INSERT INTO pm_installations (installation_id, subscription_id, key_id, licensed) VALUES (?, ?, ?, 1)
		ON CONFLICT (installation_id) DO UPDATE SET subscription_id = excluded.subscription_id, key_id = excluded.key_id, licensed = 1`,
		id, e.SubscriptionID, e.KeyID); err != nil {
		return fmt.Errorf("record activation of %s: %w", id, err)
	}
	if e.TrialEnd.IsZero() {
		return nil
	}
	return m.replace(ctx, tx, id, pmTrialTimer, TimerKindDeactivate, rec, e.TrialEnd, string(installation.TrialEnded)) // SUB-8
}

func (m InstallationManager) deactivated(ctx context.Context, tx Tx, rec event.Record, _ installation.Deactivated) error {
	id := installationID(rec)
	if err := m.cancel(ctx, tx, id, pmTimerColumns...); err != nil {
		return err
	}
	if err := tx.Exec(ctx, `UPDATE pm_installations SET licensed = 0 WHERE installation_id = ?`, id); err != nil {
		return fmt.Errorf("record deactivation of %s: %w", id, err)
	}
	return nil
}

// graceStarted: USE-3, USE-4; a new grace (USE-5) supersedes a pending
// detection.
func (m InstallationManager) graceStarted(ctx context.Context, tx Tx, rec event.Record, e installation.GraceStarted) error {
	id := installationID(rec)
	if err := m.cancel(ctx, tx, id, pmOveruseTimer); err != nil {
		return err
	}
	return m.replace(ctx, tx, id, pmGraceTimer, TimerKindGraceEnd, rec, e.Ends, "")
}

func (m InstallationManager) overuseDetected(ctx context.Context, tx Tx, rec event.Record, e installation.OveruseDetected) error {
	return m.replace(ctx, tx, installationID(rec), pmOveruseTimer, TimerKindOveruseDeactivate, rec, e.DeactivateAt, "") // USE-4
}

func (m InstallationManager) overuseCleared(ctx context.Context, tx Tx, rec event.Record, _ installation.OveruseCleared) error {
	return m.cancel(ctx, tx, installationID(rec), pmOveruseTimer)
}

func (m InstallationManager) suspended(ctx context.Context, tx Tx, rec event.Record, _ installation.Suspended) error {
	return m.revalidateLater(ctx, tx, rec)
}

func (m InstallationManager) revalidated(ctx context.Context, tx Tx, rec event.Record, _ installation.Revalidated) error {
	return m.revalidateLater(ctx, tx, rec)
}

// revalidateLater plans the next re-validation of a farm suspended for
// overuse, 20 minutes on (USE-4).
func (m InstallationManager) revalidateLater(ctx context.Context, tx Tx, rec event.Record) error {
	id := installationID(rec)
	if err := m.cancel(ctx, tx, id, pmOveruseTimer); err != nil {
		return err
	}
	return m.replace(ctx, tx, id, pmRevalidateTimer, TimerKindRevalidate, rec, rec.Effective().Add(installation.RevalidateInterval), "")
}

func (m InstallationManager) resumed(ctx context.Context, tx Tx, rec event.Record, _ installation.Resumed) error {
	return m.cancel(ctx, tx, installationID(rec), pmRevalidateTimer)
}

func (m InstallationManager) overLimitStarted(ctx context.Context, tx Tx, rec event.Record, _ installation.OverLimitStarted) error {
	return m.alertLater(ctx, tx, rec)
}

func (m InstallationManager) overLimitAlerted(ctx context.Context, tx Tx, rec event.Record, _ installation.OverLimitAlerted) error {
	return m.alertLater(ctx, tx, rec)
}

// alertLater plans the next hourly check of a proxy server over its
// limit (USE-6).
func (m InstallationManager) alertLater(ctx context.Context, tx Tx, rec event.Record) error {
	return m.replace(ctx, tx, installationID(rec), pmAlertTimer, TimerKindOverLimitAlert, rec, rec.Effective().Add(installation.AlertInterval), "")
}

func (m InstallationManager) overLimitEnded(ctx context.Context, tx Tx, rec event.Record, _ installation.OverLimitEnded) error {
	return m.cancel(ctx, tx, installationID(rec), pmAlertTimer)
}

// subscriptionExpired: SUB-6, the expired subscription's installations
// are deactivated.
func (m InstallationManager) subscriptionExpired(ctx context.Context, tx Tx, rec event.Record, _ subscription.Expired) error {
	return m.deactivateWhere(ctx, tx, rec, "subscription_id", subscriptionID(rec), installation.SubscriptionEnd)
}

// sublicenseDeleted: KEY-6, an installation using a deleted sublicense is
// deactivated.
func (m InstallationManager) sublicenseDeleted(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseDeleted) error {
	if e.KeyID == "" {
		return nil
	}
	return m.deactivateWhere(ctx, tx, rec, "key_id", e.KeyID, installation.KeyDeleted)
}

// sublicenseExpired: KEY-3, so is one using a sublicense whose grace has
// ended.
func (m InstallationManager) sublicenseExpired(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseExpired) error {
	return m.deactivateWhere(ctx, tx, rec, "key_id", e.KeyID, installation.SubscriptionEnd)
}

// deactivateWhere schedules, due at once, the deactivation of every
// licensed installation whose column equals value, for reason.
func (m InstallationManager) deactivateWhere(ctx context.Context, tx Tx, rec event.Record, column, value string, reason installation.Reason) error {
	// Tx has no multi-row query: walk the installations in ID order.
	after := ""
	for {
		var id string
		err := tx.QueryRow(ctx, `SELECT installation_id FROM pm_installations WHERE `+column+` = ? AND licensed = 1 AND installation_id > ?
			ORDER BY installation_id LIMIT 1`, value, after).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list installations of %s %s: %w", column, value, err)
		}
		if err := m.schedule(ctx, tx, managerTimerID(TimerKindDeactivate, id, rec.ID), TimerKindDeactivate, rec.Effective(),
			InstallationTimer{InstallationID: id, Reason: string(reason)}); err != nil {
			return err
		}
		after = id
	}
}

// replace schedules the timer of kind for installation id that rec
// causes, due at due, and cancels the one column held before.
func (m InstallationManager) replace(ctx context.Context, tx Tx, id, column, kind string, rec event.Record, due time.Time, reason string) error {
	prev, err := m.timer(ctx, tx, id, column)
	if err != nil {
		return err
	}
	timerID := managerTimerID(kind, id, rec.ID)
	if prev != "" && prev != timerID {
		if err := m.Scheduler.Cancel(ctx, tx, prev); err != nil {
			return err
		}
	}
	if err := m.schedule(ctx, tx, timerID, kind, due, InstallationTimer{InstallationID: id, Reason: reason}); err != nil {
		return err
	}
	if err := tx.Exec(ctx, `UPDATE pm_installations SET `+column+` = ? WHERE installation_id = ?`, timerID, id); err != nil {
		return fmt.Errorf("remember timer %s of installation %s: %w", timerID, id, err)
	}
	return nil
}

// cancel cancels the pending timers that the columns hold for
// installation id, and forgets them.
func (m InstallationManager) cancel(ctx context.Context, tx Tx, id string, columns ...string) error {
	for _, column := range columns {
		prev, err := m.timer(ctx, tx, id, column)
		if err != nil {
			return err
		}
		if prev == "" {
			continue
		}
		if err := m.Scheduler.Cancel(ctx, tx, prev); err != nil {
			return err
		}
		if err := tx.Exec(ctx, `UPDATE pm_installations SET `+column+` = '' WHERE installation_id = ?`, id); err != nil {
			return fmt.Errorf("forget timer %s of installation %s: %w", prev, id, err)
		}
	}
	return nil
}

// timer returns the timer ID column holds for installation id ("" when
// none, or for an installation the manager does not know).
func (InstallationManager) timer(ctx context.Context, tx Tx, id, column string) (string, error) {
	var timerID string
	err := tx.QueryRow(ctx, `SELECT `+column+` FROM pm_installations WHERE installation_id = ?`, id).Scan(&timerID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s of installation %s: %w", column, id, err)
	}
	return timerID, nil
}

func (m InstallationManager) schedule(ctx context.Context, tx Tx, id, kind string, due time.Time, p InstallationTimer) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode timer %s: %w", id, err)
	}
	return m.Scheduler.Schedule(ctx, tx, Timer{ID: id, Kind: kind, Due: due, Payload: body})
}

// managerTimerID names the timer of kind for installation id caused
// by the event eventID.
func managerTimerID(kind, id, eventID string) string { return kind + "/" + id + "/" + eventID }
