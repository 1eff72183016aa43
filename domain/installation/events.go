package installation

import (
	"encoding/json"
	"fmt"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/usage"
)

// Stable event type names of the installation stream.
const (
	TypeActivated             = "installation.activated"
	TypeRefreshed             = "installation.refreshed"
	TypeUsageReported         = "installation.usage_reported"
	TypeDeactivationRequested = "installation.deactivation_requested"
	TypeDeactivated           = "installation.deactivated"
	TypeNotesSet              = "installation.notes_set"
	TypeGraceStarted          = "installation.overuse_grace_started"
	TypeOveruseDetected       = "installation.overuse_detected"
	TypeOveruseCleared        = "installation.overuse_cleared"
	TypeSuspended             = "installation.suspended_for_overuse"
	TypeRevalidated           = "installation.overuse_revalidated"
	TypeResumed               = "installation.reactivated"
	TypeOverLimitStarted      = "installation.over_limit_started"
	TypeOverLimitAlerted      = "installation.over_limit_alerted"
	TypeOverLimitEnded        = "installation.over_limit_ended"
	TypeReportRefused         = "installation.usage_report_refused"
	TypeEnrolled              = "installation.computers_enrolled"
)

// Enrolled: a proxy server was allowed to enroll Computers more computers
// (USE-6). They count at once: Managed, the count with them, is the
// current usage until the next usage report replaces it, so that two
// enrollments in a row cannot pass the limit (Quota) together.
type Enrolled struct {
	Computers int `json:"computers"`
	Managed   int `json:"managed"`
	Quota     int `json:"quota"`
}

// ReportRefused: a deactivated installation still reported usage (ACT-8).
// The report moves nothing; it is recorded for the auditors, who flag
// activity of deactivated installations — at most one a RefusedEvery, so
// an installation that keeps calling cannot flood the log.
type ReportRefused struct {
	Seats      int       `json:"seats"`
	ObservedAt time.Time `json:"observed_at"`
	Reason     string    `json:"reason"`
}

// License is what an installation is licensed for at one moment (rule
// ACT-4): its key, the dates, the seats and how many it uses.
type License struct {
	KeyID     string    `json:"key_id"`
	KeyHint   string    `json:"key_hint,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"` // zero: a permanent license
	Seats     int       `json:"seats"`
	Used      int       `json:"used"`
	Remaining int       `json:"remaining"` // seats − used, never below 0
	Trial     bool      `json:"trial,omitempty"`
}

// same reports whether l and o tell the same license, times compared as
// instants.
func (l License) same(o License) bool {
	return l.KeyID == o.KeyID && l.KeyHint == o.KeyHint && l.Start.Equal(o.Start) && l.End.Equal(o.End) &&
		l.Seats == o.Seats && l.Used == o.Used && l.Remaining == o.Remaining && l.Trial == o.Trial
}

// Activated: an installation was activated with a key, online or with an
// offline request file (rules ACT-1, ACT-2), or as a trial without a key
// (SUB-8). Generation counts the activations of this installation; it
// names the credential of this one, so a new activation retires the
// credentials of earlier ones.
type Activated struct {
	InstallationID string    `json:"installation_id"`
	Identity       Identity  `json:"identity"`
	Mode           Mode      `json:"mode"`
	Nonce          string    `json:"nonce,omitempty"` // the offline request's
	KeyID          string    `json:"key_id,omitempty"`
	KeyHint        string    `json:"key_hint,omitempty"`
	SubscriptionID string    `json:"subscription_id,omitempty"`
	AccountID      string    `json:"account_id,omitempty"`
	ProductID      string    `json:"product_id"`
	Model          Model     `json:"model"`
	Generation     int       `json:"generation"`
	License        License   `json:"license"`
	TrialEnd       time.Time `json:"trial_end,omitzero"`
	By             string    `json:"by,omitempty"` // the person who uploaded an offline request
}

// Refreshed: the installation re-read its license (ACT-5), online or with
// an offline request file.
type Refreshed struct {
	Mode    Mode    `json:"mode"`
	Nonce   string  `json:"nonce,omitempty"`
	License License `json:"license"`
	By      string  `json:"by,omitempty"`
}

// UsageReported: the installation reported the seats in use (rules
// USE-1, PROD-3), as a count or as its live connections, from which the
// ledger computed Seats (PROD-2). ObservedAt is the installation's own
// time; a report older than the last current one is recorded with
// Current false and moves nothing (USE-1). Quota is the key's quota when
// the report arrived.
type UsageReported struct {
	Seats int `json:"seats"`
	// Connections summarises the connection list the seats were counted
	// from, when the report sent one (PROD-3); the list itself is not
	// kept, so that a report grows the log by a few hundred bytes however
	// many connections it lists (schema version 2; version 1 held the
	// list, and is upcast to its summary).
	Connections *usage.Summary `json:"connections,omitempty"`
	ObservedAt  time.Time      `json:"observed_at"`
	Current     bool           `json:"current"`
	Quota       int            `json:"quota"`
}

// upcastUsageReported turns a version 1 usage report, which held its
// connection list, into version 2, which holds the list's summary.
func upcastUsageReported(data json.RawMessage) (json.RawMessage, error) {
	var v1 map[string]json.RawMessage
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	raw, ok := v1["connections"]
	if !ok {
		return data, nil
	}
	var conns []usage.Connection
	if err := json.Unmarshal(raw, &conns); err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	_, sum, err := usage.Summarize(conns)
	if err != nil {
		return nil, err
	}
	if v1["connections"], err = json.Marshal(sum); err != nil {
		return nil, err
	}
	return json.Marshal(v1)
}

// DeactivationRequested: an admin deactivated the installation in the
// portal (ACT-7); it takes effect at the installation's next contact.
type DeactivationRequested struct {
	By string `json:"by"`
}

// Deactivated: the installation stopped being licensed (ACT-6..8, KEY-6,
// SUB-6). Its key is released with it, in the key's own stream.
type Deactivated struct {
	Reason Reason `json:"reason"`
	Mode   Mode   `json:"mode,omitempty"`
	Nonce  string `json:"nonce,omitempty"` // an offline deactivation request's
	By     string `json:"by,omitempty"`
}

// NotesSet: an admin edited the installation's notes (INST-4).
type NotesSet struct {
	Notes string `json:"notes"`
	By    string `json:"by"`
}

// GraceStarted: usage first exceeded the quota, and a 7-day grace began
// during which more users than the quota may connect (USE-3).
type GraceStarted struct {
	Seats int       `json:"seats"`
	Quota int       `json:"quota"`
	Ends  time.Time `json:"ends"`
}

// OveruseDetected: after the grace, usage exceeded the quota; unless it is
// back within the quota by DeactivateAt, the farm is suspended (USE-4).
type OveruseDetected struct {
	Seats        int       `json:"seats"`
	Quota        int       `json:"quota"`
	DeactivateAt time.Time `json:"deactivate_at"`
}

// OveruseCleared: by the time a detected overuse was due to suspend the
// farm, usage was back within the quota (USE-4).
type OveruseCleared struct {
	Seats int `json:"seats"`
	Quota int `json:"quota"`
}

// Suspended: the farm was deactivated for overuse (USE-4). It keeps
// reporting; the ledger re-validates every 20 minutes.
type Suspended struct {
	Seats int `json:"seats"`
	Quota int `json:"quota"`
}

// Revalidated: a 20-minute re-validation found the suspended farm still
// over its quota (USE-4).
type Revalidated struct {
	Seats int `json:"seats"`
	Quota int `json:"quota"`
}

// Resumed: a re-validation found usage at or below the quota and
// reactivated the farm (USE-4).
type Resumed struct {
	Seats int `json:"seats"`
	Quota int `json:"quota"`
}

// OverLimitStarted: a proxy server manages more computers than its quota
// (USE-6). New enrollments are refused; managed computers keep working.
type OverLimitStarted struct {
	AccountID string `json:"account_id"`
	Computers int    `json:"computers"`
	Quota     int    `json:"quota"`
}

// OverLimitAlerted: the hourly alert while over the limit (USE-6).
type OverLimitAlerted struct {
	AccountID string `json:"account_id"`
	Computers int    `json:"computers"`
	Quota     int    `json:"quota"`
	Alert     int    `json:"alert"` // 1 for the first repeat, 2 for the next …
}

// OverLimitEnded: the proxy server is within its quota again (USE-6, USE-7).
type OverLimitEnded struct {
	Computers int `json:"computers"`
	Quota     int `json:"quota"`
}

// Register adds the installation's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeActivated, 1, Activated{})
	reg.Register(TypeRefreshed, 1, Refreshed{})
	reg.Register(TypeUsageReported, 2, UsageReported{})
	reg.RegisterUpcaster(TypeUsageReported, 1, upcastUsageReported)
	reg.Register(TypeDeactivationRequested, 1, DeactivationRequested{})
	reg.Register(TypeDeactivated, 1, Deactivated{})
	reg.Register(TypeNotesSet, 1, NotesSet{})
	reg.Register(TypeGraceStarted, 1, GraceStarted{})
	reg.Register(TypeOveruseDetected, 1, OveruseDetected{})
	reg.Register(TypeOveruseCleared, 1, OveruseCleared{})
	reg.Register(TypeSuspended, 1, Suspended{})
	reg.Register(TypeRevalidated, 1, Revalidated{})
	reg.Register(TypeResumed, 1, Resumed{})
	reg.Register(TypeOverLimitStarted, 1, OverLimitStarted{})
	reg.Register(TypeOverLimitAlerted, 1, OverLimitAlerted{})
	reg.Register(TypeOverLimitEnded, 1, OverLimitEnded{})
	reg.Register(TypeReportRefused, 1, ReportRefused{})
	reg.Register(TypeEnrolled, 1, Enrolled{})
}
