package account

import (
	"bytes"
	"time"
)

// Snapshot is a business account as of the events folded into it, in
// exported fields: the storage form of an aggregate snapshot, from which a
// read of the state as of a past point (rule X-2, the auditors' queries)
// folds on instead of folding the whole stream. It is NOT an API view: its
// invitations hold their link tokens' hashes, as the events do.
//
// Its times are the ones the events and their records carried, in their
// locations; a snapshot of a fold of stored events restores exactly, after
// a JSON round trip too.
type Snapshot struct {
	ID          string                        `json:"id"`
	Company     Company                       `json:"company"`
	SupportCode string                        `json:"support_code"`
	Members     map[string]MemberSnapshot     `json:"members"`
	Invitations map[string]InvitationSnapshot `json:"invitations"`
	Personal    bool                          `json:"personal"`
	Offline     bool                          `json:"offline_activation"` // ACT-3
	Version     uint64                        `json:"version"`
}

// MemberSnapshot is one Member of a Snapshot, with JSON names; Role is the
// role's stable name.
type MemberSnapshot struct {
	PersonID string    `json:"person_id"`
	Role     string    `json:"role"`
	Blocked  bool      `json:"blocked"`
	Since    time.Time `json:"since"`
}

// InvitationSnapshot is one Invitation of a Snapshot, with JSON names;
// State is the state's stable name.
type InvitationSnapshot struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Language  string    `json:"language"`
	InvitedBy string    `json:"invited_by"`
	ExpiresAt time.Time `json:"expires_at"`
	TokenHash []byte    `json:"token_hash"`
	State     string    `json:"state"`
}

// Snapshot returns the account's state. It shares nothing with a.
func (a Account) Snapshot() Snapshot {
	var members map[string]MemberSnapshot
	if a.members != nil {
		members = make(map[string]MemberSnapshot, len(a.members))
		for id, m := range a.members {
			members[id] = MemberSnapshot{PersonID: m.PersonID, Role: m.Role.s, Blocked: m.Blocked, Since: m.Since}
		}
	}
	var invitations map[string]InvitationSnapshot
	if a.invitations != nil {
		invitations = make(map[string]InvitationSnapshot, len(a.invitations))
		for id, inv := range a.invitations {
			invitations[id] = InvitationSnapshot{ID: inv.ID, Email: inv.Email, Language: inv.Language, InvitedBy: inv.InvitedBy,
				ExpiresAt: inv.ExpiresAt, TokenHash: bytes.Clone(inv.TokenHash), State: inv.State.s}
		}
	}
	return Snapshot{ID: a.id, Company: a.company, SupportCode: a.supportCode, Members: members, Invitations: invitations,
		Personal: a.personal, Offline: a.offline, Version: a.version}
}

// FromSnapshot returns the account a Snapshot was taken of. It shares
// nothing with s, so it may be evolved like the zero Account.
//
// Roles and invitation states are restored from their names as they are,
// not parsed: a snapshot is the ledger's own storage, and restoring must
// give back exactly the account it was taken of.
func FromSnapshot(s Snapshot) Account {
	var members map[string]Member
	if s.Members != nil {
		members = make(map[string]Member, len(s.Members))
		for id, m := range s.Members {
			members[id] = Member{PersonID: m.PersonID, Role: Role{m.Role}, Blocked: m.Blocked, Since: m.Since}
		}
	}
	var invitations map[string]Invitation
	if s.Invitations != nil {
		invitations = make(map[string]Invitation, len(s.Invitations))
		for id, inv := range s.Invitations {
			invitations[id] = Invitation{ID: inv.ID, Email: inv.Email, Language: inv.Language, InvitedBy: inv.InvitedBy,
				ExpiresAt: inv.ExpiresAt, TokenHash: bytes.Clone(inv.TokenHash), State: InvitationState{inv.State}}
		}
	}
	return Account{id: s.ID, company: s.Company, supportCode: s.SupportCode, members: members, invitations: invitations,
		personal: s.Personal, offline: s.Offline, version: s.Version}
}
