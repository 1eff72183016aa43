package projections

import (
	"context"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
)

var installationPrefixes = []string{"installation."}

// licensedStatuses are the statuses of an installation that holds its
// key (installation.Installation.Licensed), as SQL.
const licensedStatuses = `('active', 'suspended', 'deactivation_pending')`

// Installations is the portal's read model of installations: the farms
// and proxy servers lists with their columns (INST-1, INST-2), an
// installation's details with its usage history (INST-4, USE-2), the
// dashboard's counts (INST-5) and the seats a key uses (KEY-7). One row
// per installation in inst_installations, one per installation and UTC
// day of observation in inst_usage_days. It is for display only:
// activation, overuse and authorization are decided on the events.
//
// Usage (USE-1, USE-2): only a current report (UsageReported.Current)
// moves current usage, the quota and the last report time (the ledger's
// receive time, RecordedAt). Every report, an out-of-order one too, is a
// true observation of the seats in use at its own time: it may raise the
// peak of its observed day (UTC) and the overall peak, so that the
// overall peak is always the highest day of the usage history (choice;
// installation.Installation.Peak counts current reports only).
//
// Each day also keeps the quota in force: the one carried by its
// latest-observed report (choice: a day is compared with the quota it
// ended with, so buying seats during the day clears it).
//
// Every statement is an upsert, an update to values the event carries,
// or a maximum: applying an event twice leaves the rows as applying it
// once did. No statement reads the wall clock.
type Installations struct{}

var _ Projection = Installations{}

// Name implements Projection.
func (Installations) Name() string { return "installations" }

// Tables implements Projection.
func (Installations) Tables() []string {
	return []string{"inst_installations", "inst_usage_days"}
}

// Prefixes implements Selective.
func (Installations) Prefixes() []string { return installationPrefixes }

// Apply implements Projection.
func (in Installations) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return applyOf(in.Name(), rec, installationPrefixes, func(payload any) error {
		id, _ := strings.CutPrefix(rec.StreamID, "installation-")
		return in.apply(ctx, tx, rec, payload, id)
	})
}

func (in Installations) apply(ctx context.Context, tx Tx, rec event.Record, payload any, id string) error {
	set := func(assignments string, args ...any) error {
		return tx.Exec(ctx, `UPDATE inst_installations SET `+assignments+` WHERE installation_id = ?`, append(args, id)...)
	}
	switch e := payload.(type) {
	case installation.Activated:
		return in.activated(ctx, tx, rec, e, id)
	case installation.Refreshed:
		return set(`quota = ?, license_end = ?`, e.License.Seats, timeOrNull(e.License.End))
	case installation.UsageReported:
		return in.reported(ctx, tx, rec, e, id)
	case installation.DeactivationRequested:
		return set(`status = ?`, string(installation.Pending))
	case installation.Deactivated:
		return set(`status = ?, over_limit = 0`, string(installation.Inactive))
	case installation.NotesSet:
		return set(`notes = ?`, e.Notes)
	case installation.GraceStarted:
		return set(`grace_ends = ?`, e.Ends.UnixMicro())
	case installation.Suspended:
		return set(`status = ?`, string(installation.SuspendedStatus))
	case installation.Resumed:
		return set(`status = ?`, string(installation.Active))
	case installation.Enrolled:
		// USE-6: enrolled computers count at once, until the next report.
		return set(`current_usage = ?, quota = ?, peak_usage = CASE WHEN peak_usage < ? THEN ? ELSE peak_usage END`,
			e.Managed, e.Quota, e.Managed, e.Managed)
	case installation.OverLimitStarted, installation.OverLimitAlerted:
		return set(`over_limit = 1`)
	case installation.OverLimitEnded:
		return set(`over_limit = 0`)
	}
	return nil
}

// newActivation is true in activated's upsert when the row's activation
// is a new one: another generation, or one after a deactivation.
const newActivation = `(inst_installations.generation <> excluded.generation
	OR inst_installations.status NOT IN ` + licensedStatuses + `)`

// activated inserts or updates the installation's row (ACT-1, ACT-2,
// SUB-8). As installation.Installation.Evolve does, only a new activation
// sets the activation time and makes the installation active; a repeat
// of the one it holds (a new app version or name, an offline request)
// updates its identity and license but keeps its status: it lifts no
// suspension for overuse (USE-4) and no pending deactivation (ACT-7). (A
// new activation always follows a deactivation, which has cleared the
// over-limit flag.)
func (Installations) activated(ctx context.Context, tx Tx, rec event.Record, e installation.Activated, id string) error {
	idn := e.Identity
	name := idn.FarmName
	if idn.Kind == installation.ProxyServer {
		name = idn.ServerName
	}
	offline := idn.OfflineUse || e.Mode == installation.Offline
	return tx.Exec(ctx, `INSERT INTO inst_installations (installation_id, account_id, subscription_id, key_id, key_hint,
			product_id, kind, server_id, farm_name, server_name, site_code, site_description, sort_name, offline_use,
			app_version, status, trial, generation, activated_at, quota, license_end)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation_id) DO UPDATE SET
			account_id = excluded.account_id, subscription_id = excluded.subscription_id,
			key_id = excluded.key_id, key_hint = excluded.key_hint, product_id = excluded.product_id, kind = excluded.kind,
			server_id = excluded.server_id, farm_name = excluded.farm_name, server_name = excluded.server_name,
			site_code = excluded.site_code, site_description = excluded.site_description, sort_name = excluded.sort_name,
			offline_use = excluded.offline_use, app_version = excluded.app_version, trial = excluded.trial,
			quota = excluded.quota, license_end = excluded.license_end,
			activated_at = CASE WHEN `+newActivation+` THEN excluded.activated_at ELSE inst_installations.activated_at END,
			status = CASE WHEN `+newActivation+` THEN excluded.status ELSE inst_installations.status END,
			generation = excluded.generation`,
		id, e.AccountID, e.SubscriptionID, e.KeyID, e.KeyHint,
		e.ProductID, string(idn.Kind), idn.ServerID, idn.FarmName, idn.ServerName, idn.SiteCode, idn.SiteDescription,
		strings.ToLower(name), boolInt(offline),
		idn.AppVersion, string(installation.Active), boolInt(e.License.Trial), e.Generation, rec.Effective().UnixMicro(),
		e.License.Seats, timeOrNull(e.License.End))
}

// reported records a usage report (USE-1, USE-2): a current one moves
// current usage, quota and last report time; every one may raise the
// overall peak and its day's peak.
func (Installations) reported(ctx context.Context, tx Tx, rec event.Record, e installation.UsageReported, id string) error {
	received := rec.RecordedAt.UnixMicro()
	var err error
	if e.Current { // one statement: a report is the hottest event of the log
		err = tx.Exec(ctx, `UPDATE inst_installations SET current_usage = ?, quota = ?, last_report_at = ?, last_observed_at = ?,
			peak_usage = CASE WHEN peak_usage < ? THEN ? ELSE peak_usage END
			WHERE installation_id = ?`, e.Seats, e.Quota, received, e.ObservedAt.UnixMicro(), e.Seats, e.Seats, id)
	} else {
		err = tx.Exec(ctx, `UPDATE inst_installations SET peak_usage = ? WHERE installation_id = ? AND peak_usage < ?`,
			e.Seats, id, e.Seats)
	}
	if err != nil {
		return err
	}
	return tx.Exec(ctx, `INSERT INTO inst_usage_days (installation_id, day, peak, last_report_at, last_observed_at, quota)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation_id, day) DO UPDATE SET
			peak = CASE WHEN excluded.peak > inst_usage_days.peak THEN excluded.peak ELSE inst_usage_days.peak END,
			quota = CASE WHEN excluded.last_observed_at >= inst_usage_days.last_observed_at OR inst_usage_days.quota IS NULL
				THEN excluded.quota ELSE inst_usage_days.quota END,
			last_report_at = CASE WHEN excluded.last_report_at > inst_usage_days.last_report_at
				THEN excluded.last_report_at ELSE inst_usage_days.last_report_at END,
			last_observed_at = CASE WHEN excluded.last_observed_at > inst_usage_days.last_observed_at
				THEN excluded.last_observed_at ELSE inst_usage_days.last_observed_at END`,
		id, usageDay(e.ObservedAt), e.Seats, received, e.ObservedAt.UnixMicro(), e.Quota)
}

// usageDay is the day of the usage history a report observed at t
// counts in: its UTC date as YYYY-MM-DD.
func usageDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }
