package account

import (
	"time"

	"seatledger/domain/event"
)

// Stable event type names of the account stream.
const (
	TypeCreated           = "account.created"
	TypeProfileChanged    = "account.profile_changed"
	TypeMemberJoined      = "account.member_joined"
	TypeRoleChanged       = "account.member_role_changed"
	TypeMemberBlocked     = "account.member_blocked"
	TypeMemberUnblocked   = "account.member_unblocked"
	TypeMemberRemoved     = "account.member_removed"
	TypeMemberLeft        = "account.member_left"
	TypeMemberInvited     = "account.member_invited"
	TypeInvitationRevoked = "account.invitation_revoked"
	TypeOfflineSet        = "account.offline_activation_set"
)

// OfflineActivationSet: the back office enabled or disabled offline
// activation for the account (rule ACT-3), for Reason (issue 23; empty in
// the events recorded before a reason was required).
type OfflineActivationSet struct {
	Enabled bool   `json:"enabled"`
	By      string `json:"by"`
	Reason  string `json:"reason,omitempty"`
}

// Created: a business account was created; its creator is its first admin.
type Created struct {
	AccountID   string  `json:"account_id"`
	Company     Company `json:"company"`
	SupportCode string  `json:"support_code"`
	CreatorID   string  `json:"creator_id"`
}

// ProfileChanged: an admin changed the company's details (MEM-3).
type ProfileChanged struct {
	Company Company `json:"company"`
	By      string  `json:"by"`
}

// MemberJoined: a person joined as a regular member (MEM-4).
type MemberJoined struct {
	PersonID     string `json:"person_id"`
	InvitationID string `json:"invitation_id,omitempty"`
}

// RoleChanged: an admin promoted or demoted a member, with a note (MEM-7).
type RoleChanged struct {
	PersonID string `json:"person_id"`
	Role     Role   `json:"role"`
	Note     string `json:"note,omitempty"`
	By       string `json:"by"`
}

// MemberBlocked: an admin blocked a member, who keeps the membership but
// loses all access until unblocked (MEM-8).
type MemberBlocked struct {
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// MemberUnblocked: an admin lifted a block (MEM-8).
type MemberUnblocked struct {
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// MemberRemoved: an admin ended a membership; the person can be invited again (MEM-8).
type MemberRemoved struct {
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// MemberLeft: a member left the account (MEM-9).
type MemberLeft struct {
	PersonID string `json:"person_id"`
}

// Register adds the account's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeCreated, 1, Created{})
	reg.Register(TypeProfileChanged, 1, ProfileChanged{})
	reg.Register(TypeMemberJoined, 1, MemberJoined{})
	reg.Register(TypeRoleChanged, 1, RoleChanged{})
	reg.Register(TypeMemberBlocked, 1, MemberBlocked{})
	reg.Register(TypeMemberUnblocked, 1, MemberUnblocked{})
	reg.Register(TypeMemberRemoved, 1, MemberRemoved{})
	reg.Register(TypeMemberLeft, 1, MemberLeft{})
	reg.Register(TypeMemberInvited, 1, MemberInvited{})
	reg.Register(TypeInvitationRevoked, 1, InvitationRevoked{})
	reg.Register(TypeOfflineSet, 1, OfflineActivationSet{})
}

// MemberInvited: an admin invited an address to join (rule MEM-4). The
// link's token is stored only as its SHA-256.
type MemberInvited struct {
	InvitationID string    `json:"invitation_id"`
	Email        string    `json:"email"`
	Language     string    `json:"language"`
	InvitedBy    string    `json:"invited_by"`
	ExpiresAt    time.Time `json:"expires_at"`
	TokenHash    []byte    `json:"token_hash"`
}

// InvitationRevoked: an admin withdrew a pending invitation (rule MEM-4).
type InvitationRevoked struct {
	InvitationID string `json:"invitation_id"`
	By           string `json:"by"`
}
