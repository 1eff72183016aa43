package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"seatledger/domain/events"
	"slices"
	"strings"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
)

// registry knows every event the projections read.
var registry = events.Registry()

// applyOf decodes rec if its type starts with one of prefixes (others are
// skipped) and hands it to apply; an error names the projection and the
// event.
func applyOf(name string, rec event.Record, prefixes []string, apply func(payload any) error) error {
	if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(rec.Type, p) }) {
		return nil
	}
	payload, err := registry.Decode(rec)
	if err == nil {
		err = apply(payload)
	}
	if err != nil {
		return fmt.Errorf("%s: %s at position %d: %w", name, rec.Type, rec.Position, err)
	}
	return nil
}

var peoplePrefixes = []string{"person.", "account."}

// applyPeople decodes rec if it is a person or account event and hands
// it to apply with the IDs its stream names (other events are skipped).
func applyPeople(name string, rec event.Record, apply func(payload any, accountID, personID string) error) error {
	return applyOf(name, rec, peoplePrefixes, func(payload any) error {
		acc, _ := strings.CutPrefix(rec.StreamID, "account-")
		pid, _ := strings.CutPrefix(rec.StreamID, "person-")
		return apply(payload, acc, pid)
	})
}

// Directory is the portal's read model of people and business accounts:
// a person's accounts (MEM-2), business profiles (MEM-3), members with
// their role, status and "member since" (MEM-5, MEM-8), and invitations
// (MEM-4). It is for display only: authorization never reads it.
type Directory struct{}

var _ Projection = Directory{}

// Name implements Projection.
func (Directory) Name() string { return "directory" }

// Tables implements Projection.
func (Directory) Tables() []string {
	return []string{"dir_persons", "dir_accounts", "dir_members", "dir_invitations"}
}

// Apply implements Projection.
func (d Directory) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return applyPeople(d.Name(), rec, func(payload any, acc, pid string) error { return d.apply(ctx, tx, rec, payload, acc, pid) })
}

func (d Directory) apply(ctx context.Context, tx Tx, rec event.Record, payload any, acc, pid string) error {
	at := rec.Effective().UnixMicro()
	switch e := payload.(type) {
	case person.SignedUp:
		return tx.Exec(ctx, `INSERT INTO dir_persons (person_id, first_name, last_name, email, verified) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (person_id) DO NOTHING`, e.PersonID, e.FirstName, e.LastName, e.Email, boolInt(e.VerifiedByInvitation != ""))
	case person.EmailVerified:
		return tx.Exec(ctx, `UPDATE dir_persons SET verified = 1 WHERE person_id = ?`, pid)
	case person.ProfileChanged:
		if err := tx.Exec(ctx, `UPDATE dir_persons SET first_name = ?, last_name = ? WHERE person_id = ?`, e.FirstName, e.LastName, pid); err != nil {
			return err
		}
		var email string
		if err := tx.QueryRow(ctx, `SELECT email FROM dir_persons WHERE person_id = ?`, pid).Scan(&email); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		sortKey, search := memberKeys(pid, e.FirstName, e.LastName, email)
		return tx.Exec(ctx, `UPDATE dir_members SET sort_key = ?, search = ? WHERE person_id = ?`, sortKey, search, pid)
	case account.Created:
		c := e.Company
		if err := tx.Exec(ctx, `INSERT INTO dir_accounts (account_id, company_name, street, city, country, state, zip, phone, support_code, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING`,
			e.AccountID, c.Name, c.Street, c.City, c.Country, c.State, c.ZIP, c.Phone, e.SupportCode, at); err != nil {
			return err
		}
		return d.addMember(ctx, tx, e.AccountID, e.CreatorID, account.RoleAdmin, at)
	case account.ProfileChanged:
		c := e.Company
		return tx.Exec(ctx, `UPDATE dir_accounts SET company_name = ?, street = ?, city = ?, country = ?, state = ?, zip = ?, phone = ?
			WHERE account_id = ?`, c.Name, c.Street, c.City, c.Country, c.State, c.ZIP, c.Phone, acc)
	case account.MemberJoined:
		if e.InvitationID != "" {
			if err := tx.Exec(ctx, `UPDATE dir_invitations SET status = 'accepted' WHERE account_id = ? AND invitation_id = ?`, acc, e.InvitationID); err != nil {
				return err
			}
		}
		return d.addMember(ctx, tx, acc, e.PersonID, account.RoleMember, at)
	case account.RoleChanged:
		return tx.Exec(ctx, `UPDATE dir_members SET role = ? WHERE account_id = ? AND person_id = ?`, e.Role.String(), acc, e.PersonID)
	case account.MemberBlocked:
		return tx.Exec(ctx, `UPDATE dir_members SET status = 'blocked' WHERE account_id = ? AND person_id = ?`, acc, e.PersonID)
	case account.MemberUnblocked:
		return tx.Exec(ctx, `UPDATE dir_members SET status = 'active' WHERE account_id = ? AND person_id = ?`, acc, e.PersonID)
	case account.MemberRemoved:
		return tx.Exec(ctx, `DELETE FROM dir_members WHERE account_id = ? AND person_id = ?`, acc, e.PersonID)
	case account.MemberLeft:
		return tx.Exec(ctx, `DELETE FROM dir_members WHERE account_id = ? AND person_id = ?`, acc, e.PersonID)
	case account.MemberInvited:
		return tx.Exec(ctx, `INSERT INTO dir_invitations (account_id, invitation_id, email, language, invited_by, invited_at, expires_at, status)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (account_id, invitation_id) DO NOTHING`,
			acc, e.InvitationID, e.Email, e.Language, e.InvitedBy, at, e.ExpiresAt.UnixMicro())
	case account.InvitationRevoked:
		return tx.Exec(ctx, `UPDATE dir_invitations SET status = 'revoked' WHERE account_id = ? AND invitation_id = ?`, acc, e.InvitationID)
	}
	return nil
}

// addMember lists person in account, named as dir_persons knows them.
func (Directory) addMember(ctx context.Context, tx Tx, acc, pid string, role account.Role, since int64) error {
	var first, last, email string
	err := tx.QueryRow(ctx, `SELECT first_name, last_name, email FROM dir_persons WHERE person_id = ?`, pid).Scan(&first, &last, &email)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	sortKey, search := memberKeys(pid, first, last, email)
	return tx.Exec(ctx, `INSERT INTO dir_members (account_id, person_id, role, status, since, sort_key, search)
		VALUES (?, ?, ?, 'active', ?, ?, ?)
		ON CONFLICT (account_id, person_id) DO UPDATE SET role = excluded.role, status = 'active', since = excluded.since`,
		acc, pid, role.String(), since, sortKey, search)
}

// memberKeys returns the members list's sort key (last name, first name,
// then ID for a stable order) and search text (names and email), lower-cased.
func memberKeys(pid, first, last, email string) (sortKey, search string) {
	sortKey = strings.ToLower(last) + "\x1f" + strings.ToLower(first) + "\x1f" + pid
	search = strings.ToLower(first + " " + last + " " + email)
	return sortKey, search
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Prefixes implements Selective.
func (Directory) Prefixes() []string { return peoplePrefixes }
