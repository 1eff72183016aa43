package installation

import (
	"fmt"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/text"
	"seatledger/domain/usage"
)

// Activation is what an activation decides on: who the installation is,
// how it asks, and the license its key gives it now.
type Activation struct {
	ID             string
	Identity       Identity
	Mode           Mode
	Nonce          string
	KeyID, KeyHint string
	SubscriptionID string
	AccountID      string
	ProductID      string
	Model          Model
	License        License
	TrialEnd       time.Time // set for a trial (SUB-8)
	By             string
}

// Activate activates the installation (rules ACT-1, ACT-2, SUB-8). A
// repeated activation of an installation that holds its key is no change
// and records nothing, unless it brings a new app version or name, or an
// offline request; it keeps its generation, so it answers with the same
// credential, and a client that lost the answer loses nothing (KEY-8). An
// activation after a deactivation starts a new generation.
func (i Installation) Activate(a Activation) ([]any, error) {
	if err := a.Identity.Check(); err != nil {
		return nil, err
	}
	if a.Identity.Kind.Model() != a.Model {
		return nil, fmt.Errorf("%w: a %s runs %s products, this key's product counts %s", ErrModel, a.Identity.Kind, a.Identity.Kind.Model(), a.Model)
	}
	if a.Nonce != "" && i.nonces[a.Nonce] {
		return nil, ErrReplayed
	}
	repeat := i.Exists() && i.Licensed()
	if a.License.Trial && i.Exists() && !repeat {
		return nil, fmt.Errorf("%w: its trial ended on %s", ErrTrialUsed, i.trialEnd.UTC().Format(time.DateOnly))
	}
	if repeat && i.identity == a.Identity && i.mode == a.Mode && a.Nonce == "" {
		return nil, nil
	}
	generation := i.generation
	if !repeat {
		generation++
	}
	return []any{Activated{
		InstallationID: a.ID, Identity: a.Identity, Mode: a.Mode, Nonce: a.Nonce,
		KeyID: a.KeyID, KeyHint: a.KeyHint, SubscriptionID: a.SubscriptionID, AccountID: a.AccountID,
		ProductID: a.ProductID, Model: a.Model, Generation: generation, License: a.License, TrialEnd: a.TrialEnd, By: a.By,
	}}, nil
}

// Contact is what every call of the installation first decides: a
// deactivation requested in the portal (ACT-7) or the end of a trial
// (SUB-8) takes effect now. No events: the installation may go on.
func (i Installation) Contact(now time.Time) ([]any, error) {
	switch {
	case !i.Exists():
		return nil, ErrNotFound
	case i.status == Inactive:
		return nil, ErrDeactivated
	case i.status == Pending:
		return []any{Deactivated{Reason: ByPortal, Mode: Online}}, nil
	case i.trial && !now.Before(i.trialEnd):
		return []any{Deactivated{Reason: TrialEnded, Mode: Online}}, nil
	}
	return nil, nil
}

// Refresh records that the installation re-read its license (ACT-5). An
// online refresh that tells the installation the license it was last told
// records nothing: an installation polling its license cannot grow the
// append-only log (issue 16), and nothing is lost, since the state is the
// same. An offline refresh is always recorded: its request file's nonce
// must be used once.
func (i Installation) Refresh(mode Mode, nonce string, lic License, by string) ([]any, error) {
	if nonce != "" && i.nonces[nonce] {
		return nil, ErrReplayed
	}
	if err := i.licensed(); err != nil {
		return nil, err
	}
	if mode == Online && nonce == "" && lic.same(i.license) {
		return nil, nil
	}
	return []any{Refreshed{Mode: mode, Nonce: nonce, License: lic, By: by}}, nil
}

// Report is a usage report (rules PROD-3, USE-1): a count of seats, or
// the live connections they are computed from (PROD-2), observed at the
// installation's time; Quota is the key's quota now.
type Report struct {
	Seats       int
	Connections []usage.Connection
	ObservedAt  time.Time
	Quota       int
}

// RefuseReport records that a deactivated installation reported usage
// (ACT-8), at most once a RefusedEvery; the report itself is refused. A
// malformed report is not recorded (rule X-7): what it says is not a
// report.
func (i Installation) RefuseReport(r Report, now time.Time) ([]any, error) {
	if !i.Exists() || i.Licensed() || now.Sub(i.lastRefused) < RefusedEvery {
		return nil, nil
	}
	if _, _, err := r.seats(i.model); err != nil || r.ObservedAt.After(now.Add(Drift)) {
		return nil, nil
	}
	seats := r.Seats
	if r.Connections != nil {
		seats = len(r.Connections) // a bound, not a count: it is not counted
	}
	if r.ObservedAt.IsZero() {
		r.ObservedAt = now
	}
	return []any{ReportRefused{Seats: seats, ObservedAt: r.ObservedAt.UTC(), Reason: "deactivated"}}, nil
}

// Report records a usage report (rules USE-1, USE-2) and what it means
// for overuse (USE-3..6). A report older than the last current one is
// recorded but moves nothing. A deactivated installation cannot report
// (ACT-8); one suspended for overuse can, or it could never come back.
func (i Installation) Report(r Report, now time.Time) ([]any, error) {
	if err := i.licensed(); err != nil {
		return nil, err
	}
	seats, summary, err := r.seats(i.model)
	if err != nil {
		return nil, err
	}
	if r.ObservedAt.IsZero() {
		r.ObservedAt = now
	}
	if r.ObservedAt.After(now.Add(Drift)) {
		return nil, invalid.New(ErrInvalid, "observed_at", "the report is from %s, in the future (the ledger's time is %s)",
			r.ObservedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	current := !r.ObservedAt.Before(i.lastObserved)
	out := []any{UsageReported{Seats: seats, Connections: summary, ObservedAt: r.ObservedAt.UTC(), Current: current, Quota: r.Quota}}
	if !current {
		return out, nil
	}
	i.seats = seats
	return append(out, i.assess(r.Quota, now)...), nil
}

// seats counts the report's seats, and summarises its connections when
// it lists them (PROD-3).
func (r Report) seats(model Model) (int, *usage.Summary, error) {
	switch {
	case r.Connections == nil && (r.Seats < 0 || r.Seats > MaxSeats):
		return 0, nil, invalid.New(ErrInvalid, "seats", "a report counts 0 to %d seats, not %d", MaxSeats, r.Seats)
	case r.Connections == nil:
		return r.Seats, nil, nil
	case model != Farm.Model():
		return 0, nil, invalid.New(ErrInvalid, "connections", "a proxy server reports a count of managed computers, not connections")
	case len(r.Connections) > MaxConnections:
		return 0, nil, invalid.New(ErrInvalid, "connections", "at most %d connections in one report, not %d; report larger farms as a count of seats", MaxConnections, len(r.Connections))
	case r.Seats != 0:
		return 0, nil, invalid.New(ErrInvalid, "seats", "a report has either a count or connections, not both")
	}
	n, sum, err := usage.Summarize(r.Connections)
	if err != nil {
		return 0, nil, invalid.New(ErrInvalid, "connections", "%v", err)
	}
	return n, &sum, nil
}

// assess decides what the current usage means under quota at now.
//
// Concurrent users (USE-3..5): the first excess starts a 7-day grace;
// the grace is available again once the quota has grown past the one it
// was used at (seats bought, USE-5). After the grace, an excess is
// detected and suspends the farm an hour later unless usage is back
// within the quota by then (USE-4). A suspended farm waits for its
// 20-minute re-validation.
//
// Managed computers (USE-6): an excess starts an over-limit period,
// which ends when usage is back within the quota; never a suspension.
func (i Installation) assess(quota int, now time.Time) []any {
	over := i.seats > quota
	if i.model != Farm.Model() {
		switch {
		case over && !i.overLimit:
			return []any{OverLimitStarted{AccountID: i.accountID, Computers: i.seats, Quota: quota}}
		case !over && i.overLimit:
			return []any{OverLimitEnded{Computers: i.seats, Quota: quota}}
		}
		return nil
	}
	switch {
	case !over || i.status != Active:
		return nil
	case !i.graceUsed || quota > i.graceQuota:
		return []any{GraceStarted{Seats: i.seats, Quota: quota, Ends: now.Add(GracePeriod)}}
	case now.Before(i.graceEnds) || i.detected:
		return nil
	}
	return []any{OveruseDetected{Seats: i.seats, Quota: quota, DeactivateAt: now.Add(DeactivationDelay)}}
}

// GraceEnded decides at the end of a grace (USE-4): an excess now is
// detected as after any report.
func (i Installation) GraceEnded(quota int, now time.Time) ([]any, error) {
	if !i.Licensed() || now.Before(i.graceEnds) {
		return nil, nil
	}
	return i.assess(quota, now), nil
}

// DeactivationDue decides when a detected overuse reaches its deadline
// (USE-4): suspended if usage still exceeds the quota, cleared if not.
func (i Installation) DeactivationDue(quota int, now time.Time) ([]any, error) {
	switch {
	case !i.detected || i.status != Active || now.Before(i.deactivateAt):
		return nil, nil
	case i.seats > quota:
		return []any{Suspended{Seats: i.seats, Quota: quota}}, nil
	}
	return []any{OveruseCleared{Seats: i.seats, Quota: quota}}, nil
}

// Revalidate is the 20-minute check of a suspended farm (USE-4):
// reactivated at or below the quota, still suspended above it.
func (i Installation) Revalidate(quota int) ([]any, error) {
	switch {
	case i.status != SuspendedStatus:
		return nil, nil
	case i.seats <= quota:
		return []any{Resumed{Seats: i.seats, Quota: quota}}, nil
	}
	return []any{Revalidated{Seats: i.seats, Quota: quota}}, nil
}

// AlertOverLimit is the hourly check of a proxy server over its limit
// (USE-6): alert again while over, end the period once within the quota
// (USE-7: computers removed or seats added).
func (i Installation) AlertOverLimit(quota int) ([]any, error) {
	switch {
	case !i.overLimit || !i.HoldsKey():
		return nil, nil
	case i.seats > quota:
		return []any{OverLimitAlerted{AccountID: i.accountID, Computers: i.seats, Quota: quota, Alert: i.alerts + 1}}, nil
	}
	return []any{OverLimitEnded{Computers: i.seats, Quota: quota}}, nil
}

// Enroll decides whether a proxy server may take adding more computers
// under management (USE-6): refused at its limit; the computers it
// manages keep working either way. An accepted enrollment counts at once
// — the managed count grows by adding until the next usage report
// replaces it — so two enrollments in a row cannot pass the limit
// together.
func (i Installation) Enroll(adding, quota int) ([]any, error) {
	switch {
	case adding < 1 || adding > MaxSeats:
		return nil, invalid.New(ErrInvalid, "computers", "enroll 1 to %d computers, not %d", MaxSeats, adding)
	case i.model != ProxyServer.Model():
		return nil, invalid.New(ErrInvalid, "computers", "enrollment is for proxy servers (managed computers)")
	}
	if err := i.licensed(); err != nil {
		return nil, err
	}
	if i.seats+adding > quota {
		return nil, fmt.Errorf("%w: %d computers are managed and the license allows %d; %d more cannot be enrolled", ErrOverLimit, i.seats, quota, adding)
	}
	return []any{Enrolled{Computers: adding, Managed: i.seats + adding, Quota: quota}}, nil
}

// RequestDeactivation is a deactivation from the portal (ACT-7): its key
// is released at once (by the caller, on the key's stream), so that a key
// can leave a damaged or stolen server that will never call again; the
// installation is told at its next contact, or deactivated when its key
// activates another installation (Superseded).
func (i Installation) RequestDeactivation(by string) ([]any, error) {
	switch {
	case !i.Exists():
		return nil, ErrNotFound
	case i.status == Inactive:
		return nil, ErrDeactivated
	case i.status == Pending:
		return nil, nil
	}
	return []any{DeactivationRequested{By: by}}, nil
}

// Superseded is what the activation of another installation with the
// key means for this one (ACT-7): a portal deactivation that was pending
// takes effect now. Anything else records nothing.
func (i Installation) Superseded() ([]any, error) {
	if !i.Exists() || i.status != Pending {
		return nil, nil
	}
	return []any{Deactivated{Reason: ByPortal}}, nil
}

// Deactivate deactivates the installation now (ACT-6, KEY-6, SUB-6).
func (i Installation) Deactivate(reason Reason, mode Mode, nonce, by string) ([]any, error) {
	if nonce != "" && i.nonces[nonce] {
		return nil, ErrReplayed // a request file used before, whatever happened since
	}
	if err := i.licensed(); err != nil {
		return nil, err
	}
	return []any{Deactivated{Reason: reason, Mode: mode, Nonce: nonce, By: by}}, nil
}

// SetNotes replaces the admins' notes (INST-4).
func (i Installation) SetNotes(notes, by string) ([]any, error) {
	switch reason := text.Check("notes", notes, text.Free, MaxNotes); {
	case !i.Exists():
		return nil, ErrNotFound
	case reason != "": // rule X-7: free text, kept as written
		return nil, invalid.New(ErrInvalid, "notes", "%s", reason)
	case notes == i.notes:
		return nil, nil
	}
	return []any{NotesSet{Notes: notes, By: by}}, nil
}

func (i Installation) licensed() error {
	switch {
	case !i.Exists():
		return ErrNotFound
	case !i.Licensed():
		return ErrDeactivated
	}
	return nil
}

// LicenseOf returns the license of an installation using used seats of a
// key with quota seats between start and end (ACT-4).
func LicenseOf(keyID, hint string, start, end time.Time, quota, used int, trial bool) License {
	return License{KeyID: keyID, KeyHint: hint, Start: start, End: end, Seats: quota, Used: used, Remaining: max(quota-used, 0), Trial: trial}
}
