package queries

import (
	"database/sql"
	"time"

	"seatledger/domain/installation"
)

// Standing is where an installation stands at a moment against its
// quota and in its life, as the lists, the keys table and the dashboard
// show it, so that none of them shows an installation in trouble as
// plainly active (rules USE-3..6, ACT-7).
type Standing string

// The standings.
const (
	// StandingActive: licensed and within its quota, or a farm over it
	// whose next report starts a grace.
	StandingActive Standing = "active"
	// StandingGrace: a farm's 7-day overuse grace runs: more users than
	// the quota may connect until it ends (USE-3). Seats bought since it
	// began end it: the grace is available again (USE-5).
	StandingGrace Standing = "grace"
	// StandingOveruse: a farm over its quota after its grace: it is
	// suspended within 1–2 hours unless usage is back within the quota
	// by then (USE-4).
	StandingOveruse Standing = "overuse"
	// StandingSuspended: a farm deactivated for overuse; it comes back
	// by itself once usage is at or below the quota (USE-4).
	StandingSuspended Standing = "suspended"
	// StandingOverLimit: a proxy server manages more computers than its
	// quota: new enrollments are refused, no deactivation (USE-6).
	StandingOverLimit Standing = "over_limit"
	// StandingPending: deactivated in the portal, its key free already;
	// it learns of it at its next contact (ACT-7).
	StandingPending Standing = "deactivation_pending"
	// StandingDeactivated: no longer licensed.
	StandingDeactivated Standing = "deactivated"
)

// usageFacts are what an installation's standing is decided from, as the
// installations read model keeps them.
type usageFacts struct {
	kind, status string
	usage, quota int
	graceEnds    *time.Time
	// graceQuota is the quota the grace began at; nil for a grace
	// recorded before the read model kept it.
	graceQuota *int
	overLimit  bool
}

// over is how far usage exceeds the quota: 0 within it.
func (f usageFacts) over() int { return max(0, f.usage-f.quota) }

// graceUsed reports whether a farm's overuse grace began and no seats
// were bought since, which would make it available again (USE-3, USE-5).
func (f usageFacts) graceUsed() bool {
	return f.graceEnds != nil && (f.graceQuota == nil || f.quota <= *f.graceQuota)
}

// standing decides the installation's standing at now.
func (f usageFacts) standing(now time.Time) Standing {
	switch f.status {
	case string(installation.Inactive):
		return StandingDeactivated
	case string(installation.Pending):
		return StandingPending
	case string(installation.SuspendedStatus):
		return StandingSuspended
	}
	if f.kind == string(installation.ProxyServer) {
		if f.overLimit {
			return StandingOverLimit
		}
		return StandingActive
	}
	switch {
	case !f.graceUsed():
		// None began, or seats were bought since: the next excess starts
		// a grace (USE-3, USE-5).
		return StandingActive
	case now.Before(*f.graceEnds):
		return StandingGrace
	case f.over() > 0:
		// Over the quota with the grace spent: detected, and suspended
		// within 1–2 hours unless back within it (USE-4).
		return StandingOveruse
	}
	return StandingActive
}

// nullInt is a nullable integer column as a pointer.
func nullInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

// standingRank orders the standings by how much they ask of the customer.
var standingRank = map[Standing]int{"": 0, StandingActive: 1, StandingDeactivated: 2, StandingPending: 3, StandingGrace: 4,
	StandingOverLimit: 5, StandingOveruse: 6, StandingSuspended: 7}

// worse returns the one of a and b that asks more of the customer.
func worse(a, b Standing) Standing {
	if standingRank[b] > standingRank[a] {
		return b
	}
	return a
}
