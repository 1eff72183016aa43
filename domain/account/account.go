// Package account is the business-account aggregate: the company's
// details, its members with their roles, and the rules of membership
// (MEM-3, MEM-5, MEM-7, MEM-8, MEM-9). It also answers the authorization
// question every command and query asks of an account — may this person do
// this here? — from the account's own events, never from a read model
//
//
// Like every aggregate it is a value folded from its stream (Evolve), and
// its methods decide: given a command and the time, they return new events
// or a domain error, and never change the account.
package account

import (
	"maps"
	"slices"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// Role is a member's role in a business account (rule MEM-5): a regular
// member can manage nothing, an admin can manage everything.
type Role struct{ s string }

// The roles.
var (
	RoleMember = Role{"member"}
	RoleAdmin  = Role{"admin"}
)

// String returns the role's stable name.
func (r Role) String() string { return r.s }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch s {
	case RoleMember.s:
		return RoleMember, nil
	case RoleAdmin.s:
		return RoleAdmin, nil
	}
	return Role{}, invalid.New(ErrInvalid, "role", "role must be member or admin, not %q", s)
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

// Member is one person's membership as the account's events tell it.
type Member struct {
	PersonID string
	Role     Role
	Blocked  bool
	// Since is when the person joined: "member since" in the portal.
	Since time.Time
}

// Account is a business account as of the events folded into it. The zero
// value is an account that does not exist yet.
type Account struct {
	id          string
	company     Company
	supportCode string
	members     map[string]Member
	invitations map[string]Invitation
	personal    bool
	offline     bool // offline activation enabled (ACT-3)
	version     uint64
}

// OfflineActivation reports whether the back office enabled offline
// activation for the account (rule ACT-3); it is off by default.
func (a Account) OfflineActivation() bool { return a.offline }

// MaxSwitchReason bounds the reason the back office records with a
// switch it turns in an account (issue 23).
const MaxSwitchReason = 500

// SetOfflineActivation enables or disables offline activation (ACT-3),
// the back office's named switch, with the reason it is turned, which is
// required: free text of up to MaxSwitchReason characters, not blank
// recorded in the event for the account's history. A reason is
// checked even when the switch is already where it is asked to be.
func (a Account) SetOfflineActivation(enabled bool, by, reason string) ([]any, error) {
	if why := text.Required("reason", reason, text.Free, MaxSwitchReason); why != "" {
		return nil, invalid.New(ErrInvalid, "reason", "%s", why)
	}
	switch {
	case !a.Exists() || a.personal:
		return nil, ErrNotFound
	case a.offline == enabled:
		return nil, nil
	}
	return []any{OfflineActivationSet{Enabled: enabled, By: by, Reason: reason}}, nil
}

// Clone returns a copy of the account that shares nothing with it: fold
// new events into a clone of a value that others may still read (see
// Evolve).
func (a Account) Clone() Account {
	a.members = maps.Clone(a.members)
	a.invitations = maps.Clone(a.invitations)
	return a
}

// ID returns the account's ID ("" before it exists).
func (a Account) ID() string { return a.id }

// Exists reports whether the account has been created.
func (a Account) Exists() bool { return a.id != "" }

// Company returns the company's details.
func (a Account) Company() Company { return a.company }

// SupportCode returns the code the company quotes to support.
func (a Account) SupportCode() string { return a.supportCode }

// Version returns how many events were folded: the expected version of
// the next append to the account's stream.
func (a Account) Version() uint64 { return a.version }

// Member returns personID's membership, if the person is a member.
func (a Account) Member(personID string) (Member, bool) {
	m, ok := a.members[personID]
	return m, ok
}

// Members returns every current member, in no particular order.
func (a Account) Members() []Member {
	return slices.Collect(maps.Values(a.members))
}

// admins counts the unblocked admins, those who can still manage the account.
func (a Account) admins() int {
	n := 0
	for _, m := range a.members {
		if m.Role == RoleAdmin && !m.Blocked {
			n++
		}
	}
	return n
}

// StreamID returns the event stream of account id.
func StreamID(id string) string { return "account-" + id }
