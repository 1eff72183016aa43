package queries

import (
	"context"
	"fmt"
	"strings"
	"time"

	"seatledger/domain/invalid"
)

// MembersFilter selects and pages an account's members list.
type MembersFilter struct {
	AccountID string
	// Search matches names and email addresses, ignoring case.
	Search string
	// Role is "member", "admin" or "" for both.
	Role string
	// Status is "active", "blocked" or "" for both.
	Status string
	// PersonIDs, if any, keeps only these people (at most MaxMembersPage):
	// for naming the people a page shows, however long the list.
	PersonIDs []string
	// Limit is the page size (1–MaxMembersPage; 0 means DefaultMembersPage).
	Limit int
	// After is the cursor of the last member of the previous page ("" for
	// the first page).
	After string
}

// Page sizes of the members list.
const (
	DefaultMembersPage = 50
	MaxMembersPage     = 200
)

// Member is one row of the members list (rules MEM-5, MEM-8).
type Member struct {
	PersonID    string    `json:"person_id"`
	FirstName   string    `json:"first_name"`
	LastName    string    `json:"last_name"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
	Status      string    `json:"status"`
	MemberSince time.Time `json:"member_since"`
}

// MembersPage is one page of the members list, by last and first name.
type MembersPage struct {
	Members []Member `json:"members"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// Members lists an account's members, filtered, a page at a time. Pages
// are keyed by the sort key (keyset pagination), so a page costs the same
// wherever it is in a long list.
func Members(ctx context.Context, db DB, f MembersFilter) (MembersPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultMembersPage
	}
	f.Limit = min(f.Limit, MaxMembersPage)
	q := strings.Builder{}
	q.WriteString(`SELECT m.person_id, COALESCE(p.first_name, ''), COALESCE(p.last_name, ''), COALESCE(p.email, ''),
		m.role, m.status, m.since, m.sort_key
		FROM dir_members m LEFT JOIN dir_persons p ON p.person_id = m.person_id
		WHERE m.account_id = ?`)
	args := []any{f.AccountID}
	if f.Search != "" {
		q.WriteString(` AND m.search LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(strings.TrimSpace(f.Search)))+"%")
	}
	if f.Role != "" {
		q.WriteString(` AND m.role = ?`)
		args = append(args, f.Role)
	}
	if f.Status != "" {
		q.WriteString(` AND m.status = ?`)
		args = append(args, f.Status)
	}
	if n := len(f.PersonIDs); n > 0 {
		if n > MaxMembersPage {
			return MembersPage{}, invalid.New(ErrInvalidFilter, "person_id", "at most %d person IDs, not %d", MaxMembersPage, n)
		}
		q.WriteString(` AND m.person_id IN (?` + strings.Repeat(", ?", n-1) + `)`)
		for _, id := range f.PersonIDs {
			args = append(args, id)
		}
	}
	if f.After != "" {
		q.WriteString(` AND m.sort_key > ?`)
		args = append(args, f.After)
	}
	q.WriteString(` ORDER BY m.sort_key LIMIT ?`)
	args = append(args, f.Limit+1)
	rows, err := db.Select(ctx, q.String(), args...)
	if err != nil {
		return MembersPage{}, fmt.Errorf("queries: members of %s: %w", f.AccountID, err)
	}
	defer rows.Close()
	page := MembersPage{Members: []Member{}}
	var last string
	for rows.Next() {
		var m Member
		var since int64
		var key string
		if err := rows.Scan(&m.PersonID, &m.FirstName, &m.LastName, &m.Email, &m.Role, &m.Status, &since, &key); err != nil {
			return MembersPage{}, fmt.Errorf("queries: members of %s: %w", f.AccountID, err)
		}
		if len(page.Members) == f.Limit {
			page.Next = last
			break
		}
		m.MemberSince = micros(since)
		page.Members = append(page.Members, m)
		last = key
	}
	return page, rows.Err()
}

// escapeLike escapes LIKE's wildcards in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Members is the use case of an account's members list: v must be
// allowed to view account f.AccountID (from its events), and the read
// sees v's last write.
func (q *Reads) Members(ctx context.Context, v Viewer, f MembersFilter) (MembersPage, error) {
	if err := q.authorizeAccount(ctx, v, f.AccountID, DirectoryReadModel); err != nil {
		return MembersPage{}, err
	}
	return Members(ctx, q.db, f)
}
