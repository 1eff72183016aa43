package queries

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/invalid"
	"seatledger/domain/subscription"
)

// The installations queries read the read model projections.Installations
// keeps: inst_installations and inst_usage_days, with the subscriptions'
// status from lic_subscriptions.

// InstallationsFilter selects, sorts and pages an account's farms or
// proxy servers (rules INST-1..3).
type InstallationsFilter struct {
	// AccountID is the business account; required.
	AccountID string
	// Kind is "farm" or "proxy_server"; required: each has its own list
	// and columns (INST-1).
	Kind string
	// Status is one of InstallationStatuses (INST-2); "" means "all".
	Status string
	// IDs, when not empty, selects these installations only (INST-3);
	// at most MaxInstallationIDs. IDs of other accounts select nothing.
	IDs []string
	// Sort is "activated" or "name", "-" in front for descending; ""
	// means "-activated" (newest activation first). Names are the farm
	// name or the proxy server's name, ignoring case.
	Sort string
	// Limit is the page size (1–MaxInstallationsPage; 0 means
	// DefaultInstallationsPage). ExportInstallationsCSV ignores it.
	Limit int
	// After is the cursor of the last row of the previous page (Next of
	// that page; "" for the first page). ExportInstallationsCSV ignores it.
	After string
	// Now is the time the expiry filters and the rows' standing are
	// evaluated at; required by "active", "expiring" and "expired".
	// Without it the rows' Standing is empty.
	Now time.Time
}

// Page sizes and selection size of the installations lists.
const (
	DefaultInstallationsPage = 50
	MaxInstallationsPage     = 500
	MaxInstallationIDs       = 10_000
)

// ExpiringWithin is how soon a license ends for its installation to be
// "expiring soon" (INST-2, choice: 30 days).
const ExpiringWithin = 30 * 24 * time.Hour

// InstallationStatuses are the values of InstallationsFilter.Status
// (INST-2):
//
//   - all: every installation of the kind;
//   - active: not deactivated and not expired — active, suspended for
//     overuse (it keeps its key and comes back by itself, USE-4) or
//     pending a portal deactivation that it has not learnt of yet (ACT-7);
//     the rows carry their status, which the portal shows as a marker;
//   - expiring: not deactivated, not expired, and its license ends
//     before Now + ExpiringWithin — one that ended in the last 30 days is
//     in its grace (SUB-6) and expiring too;
//   - expired: whatever its status, its license ended more than the
//     30-day grace (subscription.GracePeriod) before Now, or its
//     subscription is expired (SUB-6);
//   - deactivated: status deactivated.
//
// So every installation that is not expired is either active or
// deactivated, and the dashboard counts the active ones (INST-5).
//
// A license's end is the one last certified to the installation (at its
// activation or last refresh, ACT-5); a permanent license never expires.
var InstallationStatuses = []string{"all", "active", "expiring", "expired", "deactivated"}

// InstallationSorts are the values InstallationsFilter.Sort sorts by,
// each also with a "-" prefix for descending order.
var InstallationSorts = []string{"activated", "name"}

// InstallationSummary is one row of the farms or proxy servers list
// (rule INST-1), with every column of both: a farm's list shows the
// activation key (KeyHint), farm name, status, quota, seats used
// (CurrentUsage), server ID, app version, activation date, latest report
// date, peak usage and notes (quota and used are ours, beside the status:
// INST-1 leaves a farm's overuse out of its list, USE-3); a proxy
// server's the server name, license key (KeyHint), site code, site
// description, offline use, app version, activation date, last report
// date, max managed computers (Quota), registered computers
// (CurrentUsage) and notes.
type InstallationSummary struct {
	InstallationID string `json:"installation_id"`
	// AccountID is the business account; the caller authorizes on it.
	AccountID      string `json:"account_id"`
	SubscriptionID string `json:"subscription_id"`
	ProductID      string `json:"product_id"`
	Kind           string `json:"kind"` // farm | proxy_server
	KeyID          string `json:"key_id"`
	// KeyHint is the key's last group of symbols (KEY-9); empty for a
	// trial.
	KeyHint         string `json:"key_hint"`
	ServerID        string `json:"server_id"`
	FarmName        string `json:"farm_name"`
	ServerName      string `json:"server_name"`
	SiteCode        string `json:"site_code"`
	SiteDescription string `json:"site_description"`
	// OfflineUse: the proxy server says it is used offline, or was last
	// activated with an offline request file (ACT-2).
	OfflineUse bool   `json:"offline_use"`
	AppVersion string `json:"app_version"`
	Status     string `json:"status"` // active | deactivation_pending | suspended | deactivated
	Trial      bool   `json:"trial"`
	// ActivatedAt is when it was last activated (not a repeated
	// activation of the same generation).
	ActivatedAt time.Time `json:"activated_at"`
	// LastReportAt is when the ledger received its last current report;
	// nil before the first.
	LastReportAt *time.Time `json:"last_report_at"`
	// CurrentUsage is the seats (farm) or managed computers (proxy
	// server) of the last current report (USE-1, USE-2).
	CurrentUsage int `json:"current_usage"`
	// PeakUsage is the highest usage of any report (USE-2).
	PeakUsage int `json:"peak_usage"`
	// Quota is the key's quota as of the last current report, or the
	// license's seats at activation or refresh.
	Quota int    `json:"quota"`
	Notes string `json:"notes"`
	// LicenseEnd is the end of the license last certified to it; nil for
	// a permanent license.
	LicenseEnd *time.Time `json:"license_end"`
	// GraceEnds is the end of its overuse grace (USE-3); nil if none
	// began.
	GraceEnds *time.Time `json:"grace_ends"`
	// OverLimit: a proxy server manages more computers than its quota
	// (USE-6).
	OverLimit bool `json:"over_limit"`
	// Over is how many seats (farm) or computers (proxy server) the
	// current usage exceeds the quota by; 0 within it (USE-3, USE-6).
	Over int `json:"over"`
	// Standing is where it stands at the time the read was evaluated at
	// (USE-3..6, ACT-7): a farm in its overuse grace is "grace", never
	// "active".
	Standing Standing `json:"standing"`

	// graceQuota is the quota its grace began at (USE-5); nil if none
	// began, or before the read model kept it.
	graceQuota *int
}

// DisplayName is what the installation is called: a farm's name or a
// proxy server's, else its server ID, else its ID.
func (s *InstallationSummary) DisplayName() string {
	switch {
	case s.FarmName != "" && s.Kind != string(installation.ProxyServer):
		return s.FarmName
	case s.ServerName != "":
		return s.ServerName
	case s.ServerID != "":
		return s.ServerID
	}
	return s.InstallationID
}

// facts are what s's standing is decided from.
func (s *InstallationSummary) facts() usageFacts {
	return usageFacts{kind: s.Kind, status: s.Status, usage: s.CurrentUsage, quota: s.Quota, graceEnds: s.GraceEnds,
		graceQuota: s.graceQuota, overLimit: s.OverLimit}
}

// GraceUsed reports whether a farm's overuse grace began and no seats
// were bought since: once it has ended, usage over the quota suspends the
// farm (USE-4); seats bought make it available again (USE-5).
func (s *InstallationSummary) GraceUsed() bool { return s.facts().graceUsed() }

// evaluate sets s's standing at now (none for a zero now).
func (s *InstallationSummary) evaluate(now time.Time) {
	if !now.IsZero() {
		s.Standing = s.facts().standing(now)
	}
}

// InstallationsPage is one page of an installations list.
type InstallationsPage struct {
	Installations []InstallationSummary `json:"installations"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// installationColumns are the columns scanInstallation reads.
const installationColumns = `i.installation_id, i.account_id, i.subscription_id, i.product_id, i.kind, i.key_id, i.key_hint,
	i.server_id, i.farm_name, i.server_name, i.site_code, i.site_description, i.offline_use, i.app_version, i.status,
	i.trial, i.activated_at, i.last_report_at, i.current_usage, i.peak_usage, i.quota, i.notes, i.license_end,
	i.grace_ends, i.grace_quota, i.over_limit, i.sort_name`

// scanInstallation reads the installationColumns of one row, and the
// row's name sort key.
func scanInstallation(scan func(...any) error) (InstallationSummary, string, error) {
	var (
		s                         InstallationSummary
		sortName                  string
		offline, trial, overLimit int
		activated                 int64
		lastReport, end, grace    sql.NullInt64
		graceQuota                sql.NullInt64
	)
	if err := scan(&s.InstallationID, &s.AccountID, &s.SubscriptionID, &s.ProductID, &s.Kind, &s.KeyID, &s.KeyHint,
		&s.ServerID, &s.FarmName, &s.ServerName, &s.SiteCode, &s.SiteDescription, &offline, &s.AppVersion, &s.Status,
		&trial, &activated, &lastReport, &s.CurrentUsage, &s.PeakUsage, &s.Quota, &s.Notes, &end,
		&grace, &graceQuota, &overLimit, &sortName); err != nil {
		return s, "", err
	}
	s.OfflineUse, s.Trial, s.OverLimit = offline != 0, trial != 0, overLimit != 0
	s.ActivatedAt, s.LastReportAt = micros(activated), microsOrNil(lastReport)
	s.LicenseEnd, s.GraceEnds, s.graceQuota = microsOrNil(end), microsOrNil(grace), nullInt(graceQuota)
	s.Over = s.facts().over()
	return s, sortName, nil
}

// Installations lists an account's farms or proxy servers, filtered by
// status (INST-2) and optionally a selection of IDs (INST-3), sorted by
// activation date or name, a page at a time. Pages are keyed by (sort
// column, installation ID) (keyset pagination), so a page costs the same
// wherever it is in a long list. A bad filter, sort or cursor is an
// error that wraps ErrInvalidFilter.
func Installations(ctx context.Context, db DB, f InstallationsFilter) (InstallationsPage, error) {
	q, err := newInstallationsQuery(f)
	if err != nil {
		return InstallationsPage{}, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultInstallationsPage
	}
	limit = min(limit, MaxInstallationsPage)
	if f.After != "" {
		if err := q.after(f.After); err != nil {
			return InstallationsPage{}, err
		}
	}
	rows, err := db.Select(ctx, q.sql()+` LIMIT ?`, append(q.args, limit+1)...)
	if err != nil {
		return InstallationsPage{}, fmt.Errorf("queries: installations of %s: %w", f.AccountID, err)
	}
	defer rows.Close()
	page := InstallationsPage{Installations: []InstallationSummary{}}
	var lastKey string
	for rows.Next() {
		s, sortName, err := scanInstallation(rows.Scan)
		if err != nil {
			return InstallationsPage{}, fmt.Errorf("queries: installations of %s: %w", f.AccountID, err)
		}
		if len(page.Installations) == limit {
			page.Next = q.cursor(page.Installations[limit-1], lastKey)
			break
		}
		s.evaluate(f.Now)
		page.Installations = append(page.Installations, s)
		lastKey = sortName
	}
	if err := rows.Err(); err != nil {
		return InstallationsPage{}, fmt.Errorf("queries: installations of %s: %w", f.AccountID, err)
	}
	return page, nil
}

// installationsQuery is an installations list's SELECT as it is built.
type installationsQuery struct {
	where   []string
	args    []any
	sort    string // as given, normalized: "-activated" when empty
	column  string // activated_at | sort_name
	desc    bool
	orderBy string
}

// newInstallationsQuery checks f and builds its WHERE and ORDER BY clauses.
func newInstallationsQuery(f InstallationsFilter) (*installationsQuery, error) {
	if f.AccountID == "" {
		return nil, invalid.New(ErrInvalidFilter, "account_id", "account_id is required")
	}
	if f.Kind != string(installation.Farm) && f.Kind != string(installation.ProxyServer) {
		return nil, invalid.New(ErrInvalidFilter, "kind", "kind %q (use %s or %s)", f.Kind, installation.Farm, installation.ProxyServer)
	}
	q := &installationsQuery{where: []string{`i.account_id = ?`, `i.kind = ?`}, args: []any{f.AccountID, f.Kind}}
	if err := q.status(f.Status, f.Now); err != nil {
		return nil, err
	}
	if err := q.selection(f.IDs); err != nil {
		return nil, err
	}
	if err := q.order(f.Sort); err != nil {
		return nil, err
	}
	return q, nil
}

// expiredSQL is the "expired" condition (INST-2, SUB-6); its one
// argument is the time a license must have ended before.
const expiredSQL = `((i.license_end IS NOT NULL AND i.license_end < ?) OR EXISTS (SELECT 1 FROM lic_subscriptions s
	WHERE s.subscription_id = i.subscription_id AND s.status = 'expired'))`

// status adds the condition of status filter status at now.
func (q *installationsQuery) status(status string, now time.Time) error {
	if status == "" || status == "all" {
		return nil
	}
	if status == "deactivated" {
		q.where = append(q.where, `i.status = 'deactivated'`)
		return nil
	}
	if !slices.Contains(InstallationStatuses, status) {
		return invalid.New(ErrInvalidFilter, "status", "status %q (use %s)", status, strings.Join(InstallationStatuses, ", "))
	}
	if now.IsZero() {
		return invalid.New(ErrInvalidFilter, "status", "status %q needs the time it is evaluated at", status)
	}
	expiredBefore := now.Add(-subscription.GracePeriod).UnixMicro()
	switch status {
	case "active":
		q.where = append(q.where, `i.status <> 'deactivated'`, `NOT `+expiredSQL)
		q.args = append(q.args, expiredBefore)
	case "expiring":
		q.where = append(q.where, `i.status <> 'deactivated'`,
			`i.license_end IS NOT NULL`, `i.license_end < ?`, `NOT `+expiredSQL)
		q.args = append(q.args, now.Add(ExpiringWithin).UnixMicro(), expiredBefore)
	case "expired":
		q.where = append(q.where, expiredSQL)
		q.args = append(q.args, expiredBefore)
	}
	return nil
}

// selection restricts the list to ids, if any (INST-3).
func (q *installationsQuery) selection(ids []string) error {
	switch {
	case len(ids) == 0:
		return nil
	case len(ids) > MaxInstallationIDs:
		return invalid.New(ErrInvalidFilter, "installation_ids", "at most %d installations can be selected, not %d", MaxInstallationIDs, len(ids))
	}
	q.where = append(q.where, `i.installation_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`)
	for _, id := range ids {
		q.args = append(q.args, id)
	}
	return nil
}

// order sets the ORDER BY clause of sort.
func (q *installationsQuery) order(sort string) error {
	if sort == "" {
		sort = "-activated"
	}
	name, desc := strings.CutPrefix(sort, "-")
	switch name {
	case "activated":
		q.column = "activated_at"
	case "name":
		q.column = "sort_name"
	default:
		return invalid.New(ErrInvalidFilter, "sort", "sort %q (use %s, each optionally prefixed with -)", sort, strings.Join(InstallationSorts, ", "))
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	q.sort, q.desc = sort, desc
	q.orderBy = fmt.Sprintf(`i.%s %s, i.installation_id %s`, q.column, dir, dir)
	return nil
}

// sql returns the SELECT without its LIMIT.
func (q *installationsQuery) sql() string {
	return `SELECT ` + installationColumns + ` FROM inst_installations i WHERE ` +
		strings.Join(q.where, ` AND `) + ` ORDER BY ` + q.orderBy
}

// installationCursor is what a cursor holds: the sort it was made for,
// the last row's sort key and its ID.
type installationCursor struct {
	Sort string `json:"s"`
	Key  string `json:"k"`
	ID   string `json:"id"`
}

// cursor returns the cursor after row s, whose name sort key is sortName.
func (q *installationsQuery) cursor(s InstallationSummary, sortName string) string {
	key := sortName
	if q.column == "activated_at" {
		key = strconv.FormatInt(s.ActivatedAt.UnixMicro(), 10)
	}
	js, _ := json.Marshal(installationCursor{Sort: q.sort, Key: key, ID: s.InstallationID}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(js)
}

// after adds the keyset condition of cursor, which must have been made
// for the same sort.
func (q *installationsQuery) after(cursor string) error {
	bad := invalid.New(ErrInvalidFilter, "after", "after %q is not a cursor this list returned for sort %s", cursor, q.sort)
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return bad
	}
	var c installationCursor
	if err := json.Unmarshal(raw, &c); err != nil || c.Sort != q.sort || c.ID == "" {
		return bad
	}
	var key any = c.Key
	if q.column == "activated_at" {
		if key, err = strconv.ParseInt(c.Key, 10, 64); err != nil {
			return bad
		}
	}
	op := ">"
	if q.desc {
		op = "<"
	}
	q.where = append(q.where, fmt.Sprintf(`(i.%[1]s %[2]s ? OR (i.%[1]s = ? AND i.installation_id %[2]s ?))`, q.column, op))
	q.args = append(q.args, key, key, c.ID)
	return nil
}

// csvColumn is a column of the CSV export: its name, its header and its
// value in a row; text columns are guarded against formulas.
type csvColumn struct {
	name, label string
	value       func(s *InstallationSummary) string
	text        bool
}

// installationCSVColumns are each kind's columns, in the lists' order
// (INST-1).
var installationCSVColumns = map[string][]csvColumn{
	string(installation.Farm): {
		{"activation_key", "Activation key", func(s *InstallationSummary) string { return s.KeyHint }, true},
		{"farm_name", "Farm name", func(s *InstallationSummary) string { return s.FarmName }, true},
		{"status", "Status", installationStatusCell, true},
		{"quota", "Quota", func(s *InstallationSummary) string { return strconv.Itoa(s.Quota) }, false},
		{"used", "Used", func(s *InstallationSummary) string { return strconv.Itoa(s.CurrentUsage) }, false},
		{"server_id", "Server ID", func(s *InstallationSummary) string { return s.ServerID }, true},
		{"app_version", "App version", func(s *InstallationSummary) string { return s.AppVersion }, true},
		{"activation_date", "Activation date", func(s *InstallationSummary) string { return csvTime(&s.ActivatedAt) }, false},
		{"latest_report_date", "Latest report date", func(s *InstallationSummary) string { return csvTime(s.LastReportAt) }, false},
		{"peak_usage", "Peak usage", func(s *InstallationSummary) string { return strconv.Itoa(s.PeakUsage) }, false},
		{"notes", "Notes", func(s *InstallationSummary) string { return s.Notes }, true},
	},
	string(installation.ProxyServer): {
		{"server_name", "Server name", func(s *InstallationSummary) string { return s.ServerName }, true},
		{"license_key", "License key", func(s *InstallationSummary) string { return s.KeyHint }, true},
		{"site_code", "Site code", func(s *InstallationSummary) string { return s.SiteCode }, true},
		{"site_description", "Site description", func(s *InstallationSummary) string { return s.SiteDescription }, true},
		{"offline_use", "Offline use", func(s *InstallationSummary) string { return strconv.FormatBool(s.OfflineUse) }, false},
		{"app_version", "App version", func(s *InstallationSummary) string { return s.AppVersion }, true},
		{"activation_date", "Activation date", func(s *InstallationSummary) string { return csvTime(&s.ActivatedAt) }, false},
		{"last_report_date", "Last report date", func(s *InstallationSummary) string { return csvTime(s.LastReportAt) }, false},
		{"max_managed_computers", "Max managed computers", func(s *InstallationSummary) string { return strconv.Itoa(s.Quota) }, false},
		{"registered_computers", "Registered computers", func(s *InstallationSummary) string { return strconv.Itoa(s.CurrentUsage) }, false},
		{"notes", "Notes", func(s *InstallationSummary) string { return s.Notes }, true},
	},
}

// installationStatusCell is a farm's status as the list shows it: its
// standing when the export was evaluated at a time (a farm in its grace
// is "grace", USE-3), else its status.
func installationStatusCell(s *InstallationSummary) string {
	if s.Standing != "" {
		return string(s.Standing)
	}
	return s.Status
}

// InstallationCSVColumns returns the names of the columns the CSV export
// of kind ("farm" or "proxy_server") can have, in the list's order
// (INST-1); nil for another kind.
func InstallationCSVColumns(kind string) []string {
	cols, ok := installationCSVColumns[kind]
	if !ok {
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return names
}

// csvColumnsOf picks kind's columns named names, in their order; none
// means all of them.
func csvColumnsOf(kind string, names []string) ([]csvColumn, error) {
	all := installationCSVColumns[kind]
	if len(names) == 0 {
		return all, nil
	}
	out := make([]csvColumn, 0, len(names))
	for i, name := range names {
		at := slices.IndexFunc(all, func(c csvColumn) bool { return c.name == name })
		if at < 0 || slices.Contains(names[:i], name) {
			return nil, invalid.New(ErrInvalidFilter, "columns", "column %q (use each of %s at most once)", name,
				strings.Join(InstallationCSVColumns(kind), ", "))
		}
		out = append(out, all[at])
	}
	return out, nil
}

// ExportInstallationsCSV writes the installations f selects — the same
// filter, selection and order as Installations, without paging — to w as
// CSV (rule INST-3): a header row of the columns' titles, then one record
// per installation with the columns named (of InstallationCSVColumns of
// f.Kind; none means all, in the list's order). Rows are read from the
// database and written one at a time, so memory stays flat whatever the
// number of rows. Times are RFC 3339 in UTC, empty when there is none;
// a text cell that a spreadsheet would read as a formula (starting with
// =, +, -, @, tab or carriage return) is prefixed with an apostrophe. A
// bad filter or column wraps ErrInvalidFilter.
func ExportInstallationsCSV(ctx context.Context, db DB, f InstallationsFilter, columns []string, w io.Writer) error {
	q, err := newInstallationsQuery(f)
	if err != nil {
		return err
	}
	cols, err := csvColumnsOf(f.Kind, columns)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("queries: CSV export of %s's installations: %w", f.AccountID, err)
	}
	rows, err := db.Select(ctx, q.sql(), q.args...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	record := make([]string, len(cols))
	for i, c := range cols {
		record[i] = c.label
	}
	if err := cw.Write(record); err != nil {
		return fail(err)
	}
	for rows.Next() {
		s, _, err := scanInstallation(rows.Scan)
		if err != nil {
			return fail(err)
		}
		s.evaluate(f.Now)
		for i, c := range cols {
			record[i] = c.cell(&s)
		}
		if err := cw.Write(record); err != nil {
			return fail(err)
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fail(err)
	}
	return nil
}

// cell is c's value in row s, a text guarded against formulas.
func (c csvColumn) cell(s *InstallationSummary) string {
	v := c.value(s)
	if c.text && v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// csvTime is t in RFC 3339 UTC; empty for nil.
func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// UsageDay is one day of an installation's usage history (rules USE-2,
// INST-4).
type UsageDay struct {
	// Day is the UTC date the reports were observed on, YYYY-MM-DD.
	Day string `json:"day"`
	// Peak is the highest usage of the day's reports, an out-of-order
	// report's included (USE-1).
	Peak int `json:"peak"`
	// LastReportAt is when the ledger received the day's latest report;
	// LastObservedAt the installation's time of its latest one.
	LastReportAt   time.Time `json:"last_report_at"`
	LastObservedAt time.Time `json:"last_observed_at"`
	// Quota is the quota in force on the day: the one of its
	// latest-observed report. Nil for a day recorded before the ledger
	// kept it (until the installations projection is rebuilt).
	Quota *int `json:"quota"`
}

// InstallationDetail is one installation's page (rule INST-4): the
// list's fields, its notes, and its usage history, oldest day first.
type InstallationDetail struct {
	InstallationSummary
	// LastObservedAt is the installation's own time of its last current
	// report; nil before the first.
	LastObservedAt *time.Time `json:"last_observed_at"`
	Usage          []UsageDay `json:"usage"`
}

// InstallationDetails returns installation id with its usage history and
// its standing at now; ErrNotFound if the read model has no such
// installation (yet). The caller authorizes on its AccountID.
func InstallationDetails(ctx context.Context, db DB, id string, now time.Time) (InstallationDetail, error) {
	fail := func(err error) (InstallationDetail, error) {
		return InstallationDetail{}, fmt.Errorf("queries: installation %s: %w", id, err)
	}
	var (
		d        InstallationDetail
		observed sql.NullInt64
		err      error
	)
	d.InstallationSummary, _, err = scanInstallation(func(dest ...any) error {
		return db.SelectRow(ctx, `SELECT `+installationColumns+`, i.last_observed_at FROM inst_installations i
			WHERE i.installation_id = ?`, id).Scan(append(dest, &observed)...)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return InstallationDetail{}, ErrNotFound
	}
	if err != nil {
		return fail(err)
	}
	d.LastObservedAt = microsOrNil(observed)
	d.evaluate(now)
	if d.Usage, err = usageHistory(ctx, db, id); err != nil {
		return fail(err)
	}
	return d, nil
}

// usageHistory returns installation id's usage days, oldest first.
func usageHistory(ctx context.Context, db DB, id string) ([]UsageDay, error) {
	rows, err := db.Select(ctx, `SELECT day, peak, last_report_at, last_observed_at, quota FROM inst_usage_days
		WHERE installation_id = ? ORDER BY day`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []UsageDay{}
	for rows.Next() {
		var (
			u                  UsageDay
			received, observed int64
			quota              sql.NullInt64
		)
		if err := rows.Scan(&u.Day, &u.Peak, &received, &observed, &quota); err != nil {
			return nil, err
		}
		u.LastReportAt, u.LastObservedAt = micros(received), micros(observed)
		if quota.Valid {
			q := int(quota.Int64)
			u.Quota = &q
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Installations is the use case of an account's farms or proxy servers
// (INST-1, INST-2): v must be allowed to view account f.AccountID (every
// member may), and the read sees v's last write. limit is the page size
// as the client sent it ("": the default); one that is not a whole
// number from 1 is an *InputError of "limit".
func (q *Reads) Installations(ctx context.Context, v Viewer, f InstallationsFilter, limit string) (InstallationsPage, error) {
	if err := q.authorizeAccount(ctx, v, f.AccountID, InstallationsReadModel, LicensesReadModel); err != nil {
		return InstallationsPage{}, err
	}
	var err error
	if f.Limit, err = parseLimit(limit, 0); err != nil {
		return InstallationsPage{}, invalidInput("limit", ErrInvalidFilter, "limit must be a whole number from 1, not %q", limit)
	}
	return Installations(ctx, q.db, f)
}

// ExportInstallationsCSV is the use case of the CSV export of an
// account's farms or proxy servers (INST-3), authorized, waited for and
// checked as Installations before anything is written to w.
func (q *Reads) ExportInstallationsCSV(ctx context.Context, v Viewer, f InstallationsFilter, limit string, columns []string, w io.Writer) error {
	if err := q.authorizeAccount(ctx, v, f.AccountID, InstallationsReadModel, LicensesReadModel); err != nil {
		return err
	}
	var err error
	if f.Limit, err = parseLimit(limit, 0); err != nil {
		return invalidInput("limit", ErrInvalidFilter, "limit must be a whole number from 1, not %q", limit)
	}
	return ExportInstallationsCSV(ctx, q.db, f, columns, w)
}

// InstallationDetails is the use case of one installation's page
// (INST-4): v must be allowed to view the installation (from its events),
// and the read sees v's last write. An installation the events know but
// the read model does not yet is an error matching ErrNotCaughtUp. Its
// standing is evaluated at now.
func (q *Reads) InstallationDetails(ctx context.Context, v Viewer, id string, now time.Time) (InstallationDetail, error) {
	if _, err := q.installations.AuthorizeInstallation(ctx, v.Actor, id, false); err != nil {
		return InstallationDetail{}, err
	}
	if err := q.await(ctx, v, InstallationsReadModel, LicensesReadModel); err != nil {
		return InstallationDetail{}, err
	}
	d, err := InstallationDetails(ctx, q.db, id, now)
	if errors.Is(err, ErrNotFound) {
		return InstallationDetail{}, notCaughtUp{"the installation is not in the read model yet; retry shortly"}
	}
	return d, err
}
