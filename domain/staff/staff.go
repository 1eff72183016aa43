// Package staff is the aggregate of the vendor's own back office (issue
// 23, rule X-1): the staff people who sign in with a password and a TOTP
// second factor, each with a role, and the service accounts of the
// vendor's machines (the order system). It also holds the one policy of
// what each of them may do: Roster.Authorize.
//
// The whole back office is one aggregate, the roster, on one stream: a
// rule such as "never remove the last owner" spans every staff person,
// and the roster is decided on as a whole with optimistic concurrency, so
// two owners removing each other at once cannot both succeed. The vendor's
// staff is small, so the stream stays short.
package staff

import (
	"crypto/sha256"
	"strings"

	"seatledger/domain/event"
)

// StreamID is the roster's stream; id is ignored (the roster is one).
func StreamID(string) string { return "staff-roster" }

// Role is what a staff person does for the vendor. It is a closed set.
type Role struct{ s string }

// The roles (issue 23).
var (
	// RoleOwner runs the back office: everything, and the staff.
	RoleOwner = Role{"owner"}
	// RoleSupport answers tickets and turns the switches support needs
	// (offline activation per account, ACT-3).
	RoleSupport = Role{"support"}
	// RoleSales keeps the catalog and applies orders by hand.
	RoleSales = Role{"sales"}
	// RoleFinance reads, reconciles and exports.
	RoleFinance = Role{"finance"}
	// RoleAuditor reads only: history, state, export, verify and
	// reconciliation.
	RoleAuditor = Role{"auditor"}
)

// Roles lists every role.
var Roles = []Role{RoleOwner, RoleSupport, RoleSales, RoleFinance, RoleAuditor}

// String returns the role's stable name.
func (r Role) String() string { return r.s }

// IsZero reports whether r is the invalid zero role.
func (r Role) IsZero() bool { return r.s == "" }

// ParseRole returns the role named s, or ErrInvalid naming the field.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if r.s == s {
			return r, nil
		}
	}
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = r.s
	}
	return Role{}, invalidf("role", "role must be one of %s, not %q", strings.Join(names, ", "), s)
}

// MarshalText encodes the role's stable name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.s), nil }

// UnmarshalText decodes a stable name.
func (r *Role) UnmarshalText(b []byte) error {
	parsed, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = parsed
	return nil
}

// Permission is something the back office may do: the vocabulary of
// Authorize. It is a closed set.
type Permission struct{ s string }

// The permissions.
var (
	// PermOrders: apply the order system's orders (SUB-4).
	PermOrders = Permission{"orders"}
	// PermCatalog: define products and publish or withdraw releases.
	PermCatalog = Permission{"catalog"}
	// PermRead: read customers' accounts, subscriptions, installations,
	// tickets, their history and state.
	PermRead = Permission{"read"}
	// PermSupport: act on tickets as support (TKT-2).
	PermSupport = Permission{"support"}
	// PermSwitches: the named switches in a customer account (offline
	// activation, ACT-3): the only way a staff role acts inside one.
	PermSwitches = Permission{"switches"}
	// PermAudit: the audit log's checkpoints, proofs and exports.
	PermAudit = Permission{"audit"}
	// PermFinance: finance reconciliations.
	PermFinance = Permission{"finance"}
	// PermStaff: add, change and remove staff and service accounts.
	PermStaff = Permission{"staff"}
	// PermClock: advance the simulated clock.
	PermClock = Permission{"clock"}
)

// String returns the permission's stable name.
func (p Permission) String() string { return p.s }

// grants is the policy's table: what each role may do. Choice (the issue
// is silent beyond the auditor): sales keeps the catalog and may apply
// orders; finance reads, reconciles and exports like an auditor; support
// reads what a ticket needs and turns the named switches.
var grants = map[Role][]Permission{
	RoleOwner:   {PermOrders, PermCatalog, PermRead, PermSupport, PermSwitches, PermAudit, PermFinance, PermStaff, PermClock},
	RoleSupport: {PermRead, PermSupport, PermSwitches},
	RoleSales:   {PermRead, PermOrders, PermCatalog},
	RoleFinance: {PermRead, PermAudit, PermFinance},
	RoleAuditor: {PermRead, PermAudit, PermFinance},
}

// serviceGrants is what every service account may do: the order
// system's orders and the catalog, nothing else (issue 23).
var serviceGrants = []Permission{PermOrders, PermCatalog}

// Grants reports whether role may do p.
func (r Role) Grants(p Permission) bool {
	for _, g := range grants[r] {
		if g == p {
			return true
		}
	}
	return false
}

// The back office's actors: every one is of kind back_office (so the
// rules that let the back office read and never act as a customer hold for
// all of them), and its ID names who it is.
const (
	staffPrefix   = "staff:"
	servicePrefix = "service:"
)

// AdminToken is the actor of the bootstrap credential, LEDGER_ADMIN_TOKEN.
var AdminToken = event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}

// Actor returns the actor of staff person id.
func Actor(id string) event.Actor {
	return event.Actor{Kind: event.ActorBackOffice, ID: staffPrefix + id}
}

// ServiceActor returns the actor of service account id.
func ServiceActor(id string) event.Actor {
	return event.Actor{Kind: event.ActorBackOffice, ID: servicePrefix + id}
}

// StaffOf returns the staff person an actor names, if it names one.
func StaffOf(a event.Actor) (string, bool) {
	id, ok := strings.CutPrefix(a.ID, staffPrefix)
	return id, ok && a.Kind == event.ActorBackOffice && id != ""
}

// ServiceOf returns the service account an actor names, if it names one.
func ServiceOf(a event.Actor) (string, bool) {
	id, ok := strings.CutPrefix(a.ID, servicePrefix)
	return id, ok && a.Kind == event.ActorBackOffice && id != ""
}

// HashSecret returns the stored form of a high-entropy secret (an
// enrolment token, a session token, a recovery code, a service account's
// token): SHA-256, enough for 128 or more random bits.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
