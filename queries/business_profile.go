package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/account"
)

// BusinessProfile is a business account's page (rule MEM-3): the
// company, its support code, the asking person's role and "member
// since", and who the account admins are.
type BusinessProfile struct {
	AccountID   string          `json:"account_id"`
	Company     account.Company `json:"company"`
	SupportCode string          `json:"support_code"`
	CreatedAt   time.Time       `json:"created_at"`
	MyRole      string          `json:"my_role,omitempty"`
	MemberSince time.Time       `json:"member_since,omitzero"`
	Admins      []PersonRef     `json:"admins"`
}

// PersonRef names a person.
type PersonRef struct {
	PersonID  string `json:"person_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// ErrNotFound: the read model has no such row (yet).
var ErrNotFound = errors.New("queries: not found")

// BusinessProfileOf returns account accountID's profile as personID sees it.
func BusinessProfileOf(ctx context.Context, db DB, accountID, personID string) (BusinessProfile, error) {
	p := BusinessProfile{AccountID: accountID, Admins: []PersonRef{}}
	c := &p.Company
	var created int64
	err := db.SelectRow(ctx, `SELECT company_name, street, city, country, state, zip, phone, support_code, created_at
		FROM dir_accounts WHERE account_id = ?`, accountID).
		Scan(&c.Name, &c.Street, &c.City, &c.Country, &c.State, &c.ZIP, &c.Phone, &p.SupportCode, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("queries: profile of %s: %w", accountID, err)
	}
	p.CreatedAt = micros(created)
	var since int64
	err = db.SelectRow(ctx, `SELECT role, since FROM dir_members WHERE account_id = ? AND person_id = ?`, accountID, personID).Scan(&p.MyRole, &since)
	switch {
	case err == nil:
		p.MemberSince = micros(since)
	case !errors.Is(err, sql.ErrNoRows):
		return p, fmt.Errorf("queries: profile of %s: %w", accountID, err)
	}
	rows, err := db.Select(ctx, `SELECT m.person_id, COALESCE(p.first_name, ''), COALESCE(p.last_name, ''), COALESCE(p.email, '')
		FROM dir_members m LEFT JOIN dir_persons p ON p.person_id = m.person_id
		WHERE m.account_id = ? AND m.role = 'admin' AND m.status = 'active' ORDER BY m.sort_key`, accountID)
	if err != nil {
		return p, fmt.Errorf("queries: admins of %s: %w", accountID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a PersonRef
		if err := rows.Scan(&a.PersonID, &a.FirstName, &a.LastName, &a.Email); err != nil {
			return p, err
		}
		p.Admins = append(p.Admins, a)
	}
	return p, rows.Err()
}

// PersonalProfile is a personal account's profile: its owner, who is its
// only admin (MEM-2).
type PersonalProfile struct {
	AccountID string `json:"account_id"`
	Kind      string `json:"kind"` // personal
	Owner     string `json:"owner"`
	MyRole    string `json:"my_role"`
}

// AccountProfile is an account's profile: exactly one of Personal and
// Business is set.
type AccountProfile struct {
	Personal *PersonalProfile
	Business *BusinessProfile
}

// AccountProfile is the use case of an account's profile (MEM-3): v must
// be allowed to view account id (from its events), and the read sees v's
// last write. A business account the events know but the read model does
// not yet is an error matching ErrNotCaughtUp.
func (q *Reads) AccountProfile(ctx context.Context, v Viewer, id string) (AccountProfile, error) {
	if err := q.authorizeAccount(ctx, v, id, DirectoryReadModel); err != nil {
		return AccountProfile{}, err
	}
	if owner, ok := account.PersonalOwner(id); ok {
		return AccountProfile{Personal: &PersonalProfile{AccountID: id, Kind: "personal", Owner: owner, MyRole: account.RoleAdmin.String()}}, nil
	}
	p, err := BusinessProfileOf(ctx, q.db, id, v.Actor.ID)
	if errors.Is(err, ErrNotFound) {
		return AccountProfile{}, notCaughtUp{"the account's profile is not in the read model yet; retry shortly"}
	}
	if err != nil {
		return AccountProfile{}, err
	}
	return AccountProfile{Business: &p}, nil
}
