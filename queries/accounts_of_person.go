package queries

import (
	"context"
	"fmt"
	"time"

	"seatledger/domain/account"
)

// AccountSummary is one entry of a person's accounts list (rule MEM-2).
type AccountSummary struct {
	AccountID   string    `json:"account_id"`
	Kind        string    `json:"kind"` // personal | business
	CompanyName string    `json:"company_name,omitempty"`
	Role        string    `json:"role"`   // member | admin
	Status      string    `json:"status"` // active | blocked
	MemberSince time.Time `json:"member_since,omitzero"`
}

// AccountsOfPerson lists the accounts person can switch between: their
// personal account first, then every business account they belong to, by
// company name. Blocked memberships are listed as blocked (the portal
// shows them greyed out); nothing of those accounts is readable.
func AccountsOfPerson(ctx context.Context, db DB, personID string) ([]AccountSummary, error) {
	out := []AccountSummary{{AccountID: account.PersonalID(personID), Kind: "personal", Role: account.RoleAdmin.String(), Status: "active"}}
	rows, err := db.Select(ctx, `SELECT m.account_id, a.company_name, m.role, m.status, m.since
		FROM dir_members m JOIN dir_accounts a ON a.account_id = m.account_id
		WHERE m.person_id = ? ORDER BY a.company_name, m.account_id`, personID)
	if err != nil {
		return nil, fmt.Errorf("queries: accounts of %s: %w", personID, err)
	}
	defer rows.Close()
	for rows.Next() {
		s := AccountSummary{Kind: "business"}
		var since int64
		if err := rows.Scan(&s.AccountID, &s.CompanyName, &s.Role, &s.Status, &since); err != nil {
			return nil, fmt.Errorf("queries: accounts of %s: %w", personID, err)
		}
		s.MemberSince = micros(since)
		out = append(out, s)
	}
	return out, rows.Err()
}

// MyAccounts is the use case of the accounts v's person can switch
// between (MEM-2); the read sees v's last write.
func (q *Reads) MyAccounts(ctx context.Context, v Viewer) ([]AccountSummary, error) {
	if err := q.await(ctx, v, DirectoryReadModel); err != nil {
		return nil, err
	}
	return AccountsOfPerson(ctx, q.db, v.Actor.ID)
}
