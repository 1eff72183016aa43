package projections

import (
	"context"
	"fmt"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
)

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

var _ BatchApplier = Installations{}

// Name implements Projection.
func (Installations) Name() string { return "installations" }

// Tables implements Projection.
func (Installations) Tables() []string {
	return []string{"inst_installations", "inst_usage_days"}
}

var installationsTable = newTable("installations",
	on(Installations.activated),
	on(Installations.refreshed),
	on(Installations.reported),
	on(Installations.deactivationRequested),
	on(Installations.deactivated),
	on(Installations.notesSet),
	on(Installations.graceStarted),
	on(Installations.suspended),
	on(Installations.resumed),
	on(Installations.enrolled),
	on(Installations.overLimitStarted),
	on(Installations.overLimitAlerted),
	on(Installations.overLimitEnded),
)

// Apply implements Projection.
func (in Installations) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return installationsTable.apply(in, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Installations) EventTypes() []string { return installationsTable.eventTypes() }

// installationID is the installation whose stream rec is in.
func installationID(rec event.Record) string {
	id, _ := strings.CutPrefix(rec.StreamID, "installation-")
	return id
}

// set updates the columns of assignments of the installation rec is of.
func (Installations) set(ctx context.Context, tx Tx, rec event.Record, assignments string, args ...any) error {
	return tx.Exec(ctx, `UPDATE inst_installations SET `+assignments+` WHERE installation_id = ?`, append(args, installationID(rec))...)
}

func (in Installations) refreshed(ctx context.Context, tx Tx, rec event.Record, e installation.Refreshed) error {
	return in.set(ctx, tx, rec, `quota = ?, license_end = ?`, e.License.Seats, timeOrNull(e.License.End))
}

func (in Installations) deactivationRequested(ctx context.Context, tx Tx, rec event.Record, _ installation.DeactivationRequested) error {
	return in.set(ctx, tx, rec, `status = ?`, string(installation.Pending))
}

func (in Installations) deactivated(ctx context.Context, tx Tx, rec event.Record, _ installation.Deactivated) error {
	return in.set(ctx, tx, rec, `status = ?, over_limit = 0`, string(installation.Inactive))
}

func (in Installations) notesSet(ctx context.Context, tx Tx, rec event.Record, e installation.NotesSet) error {
	return in.set(ctx, tx, rec, `notes = ?`, e.Notes)
}

// graceStarted keeps the grace's end and the quota it began at (USE-3):
// seats bought since, a quota above it, make the grace available again
// (USE-5), which the lists and the dashboard tell from a running one.
func (in Installations) graceStarted(ctx context.Context, tx Tx, rec event.Record, e installation.GraceStarted) error {
	return in.set(ctx, tx, rec, `grace_ends = ?, grace_quota = ?`, e.Ends.UnixMicro(), e.Quota)
}

func (in Installations) suspended(ctx context.Context, tx Tx, rec event.Record, _ installation.Suspended) error {
	return in.set(ctx, tx, rec, `status = ?`, string(installation.SuspendedStatus))
}

func (in Installations) resumed(ctx context.Context, tx Tx, rec event.Record, _ installation.Resumed) error {
	return in.set(ctx, tx, rec, `status = ?`, string(installation.Active))
}

// enrolled: USE-6, enrolled computers count at once, until the next report.
func (in Installations) enrolled(ctx context.Context, tx Tx, rec event.Record, e installation.Enrolled) error {
	return in.set(ctx, tx, rec, `current_usage = ?, quota = ?, peak_usage = CASE WHEN peak_usage < ? THEN ? ELSE peak_usage END`,
		e.Managed, e.Quota, e.Managed, e.Managed)
}

func (in Installations) overLimitStarted(ctx context.Context, tx Tx, rec event.Record, _ installation.OverLimitStarted) error {
	return in.set(ctx, tx, rec, `over_limit = 1`)
}

func (in Installations) overLimitAlerted(ctx context.Context, tx Tx, rec event.Record, _ installation.OverLimitAlerted) error {
	return in.set(ctx, tx, rec, `over_limit = 1`)
}

func (in Installations) overLimitEnded(ctx context.Context, tx Tx, rec event.Record, _ installation.OverLimitEnded) error {
	return in.set(ctx, tx, rec, `over_limit = 0`)
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
func (Installations) activated(ctx context.Context, tx Tx, rec event.Record, e installation.Activated) error {
	id := installationID(rec)
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
// overall peak and its day's peak. It is a run of one of reportRun.
func (Installations) reported(ctx context.Context, tx Tx, rec event.Record, e installation.UsageReported) error {
	run := newReportRun()
	run.add(rec, e)
	return run.flush(ctx, tx)
}

// ApplyBatch implements BatchApplier: the usage reports of a run of
// records, at most one per installation, are written by two multi-row
// statements (reportRun); every other event, and a second report of an
// installation, first writes the reports gathered so far, so the
// statements keep the log's order wherever two touch the same row.
func (in Installations) ApplyBatch(ctx context.Context, tx Tx, records []event.Record) error {
	run := newReportRun()
	for _, rec := range records {
		if _, handled := installationsTable.byTyp[rec.Type]; !handled {
			continue
		}
		if rec.Type != installation.TypeUsageReported {
			if err := run.flush(ctx, tx); err != nil {
				return err
			}
			if err := in.Apply(ctx, tx, rec); err != nil {
				return err
			}
			continue
		}
		payload, err := registry.Decode(rec)
		if err != nil {
			return fmt.Errorf("installations: %s at position %d: %w", rec.Type, rec.Position, err)
		}
		if run.has(installationID(rec)) {
			if err := run.flush(ctx, tx); err != nil {
				return err
			}
		}
		run.add(rec, payload.(installation.UsageReported))
	}
	return run.flush(ctx, tx)
}

// reportRun is usage reports of distinct installations, written by one
// update of the installations and one upsert of their days: as many
// statements for a run of reports as for one.
type reportRun struct {
	ids           map[string]bool
	installations *rowBatch
	days          *rowBatch
}

func newReportRun() *reportRun {
	return &reportRun{ids: map[string]bool{}, installations: reportedInstallations.batch(), days: reportedDays.batch()}
}

var (
	// A current report moves current usage, quota and the last report and
	// observation times; every report is a maximum of the peak.
	reportedInstallations = newBatchStatement(func(values string) string {
		return `UPDATE inst_installations AS i SET
				current_usage = CASE WHEN v.column2 = 1 THEN v.column3 ELSE i.current_usage END,
				quota = CASE WHEN v.column2 = 1 THEN v.column4 ELSE i.quota END,
				last_report_at = CASE WHEN v.column2 = 1 THEN v.column5 ELSE i.last_report_at END,
				last_observed_at = CASE WHEN v.column2 = 1 THEN v.column6 ELSE i.last_observed_at END,
				peak_usage = CASE WHEN i.peak_usage < v.column3 THEN v.column3 ELSE i.peak_usage END
				FROM (VALUES ` + values + `) AS v
				WHERE i.installation_id = v.column1`
	}, "TEXT", "INTEGER", "BIGINT", "BIGINT", "BIGINT", "BIGINT")
	reportedDays = newBatchStatement(func(values string) string {
		return `INSERT INTO inst_usage_days (installation_id, day, peak, last_report_at, last_observed_at, quota)
				SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6
				FROM (VALUES ` + values + `) AS v WHERE v.column1 IS NOT NULL
				ON CONFLICT (installation_id, day) DO UPDATE SET
					peak = CASE WHEN excluded.peak > inst_usage_days.peak THEN excluded.peak ELSE inst_usage_days.peak END,
					quota = CASE WHEN excluded.last_observed_at >= inst_usage_days.last_observed_at OR inst_usage_days.quota IS NULL
						THEN excluded.quota ELSE inst_usage_days.quota END,
					last_report_at = CASE WHEN excluded.last_report_at > inst_usage_days.last_report_at
						THEN excluded.last_report_at ELSE inst_usage_days.last_report_at END,
					last_observed_at = CASE WHEN excluded.last_observed_at > inst_usage_days.last_observed_at
						THEN excluded.last_observed_at ELSE inst_usage_days.last_observed_at END`
	}, "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT")
)

func (r *reportRun) has(id string) bool { return r.ids[id] }

func (r *reportRun) add(rec event.Record, e installation.UsageReported) {
	id, received, observed := installationID(rec), rec.RecordedAt.UnixMicro(), e.ObservedAt.UnixMicro()
	r.ids[id] = true
	r.installations.add(id, boolInt(e.Current), e.Seats, e.Quota, received, observed)
	r.days.add(id, usageDay(e.ObservedAt), e.Seats, received, observed, e.Quota)
}

func (r *reportRun) flush(ctx context.Context, tx Tx) error {
	if len(r.ids) == 0 {
		return nil
	}
	clear(r.ids)
	if err := r.installations.flush(ctx, tx); err != nil {
		return err
	}
	return r.days.flush(ctx, tx)
}

// usageDay is the day of the usage history a report observed at t
// counts in: its UTC date as YYYY-MM-DD.
func usageDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }
