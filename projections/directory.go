package projections

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
)

// accountID is the business account whose stream rec is in ("" for
// another stream).
func accountID(rec event.Record) string {
	id, _ := strings.CutPrefix(rec.StreamID, "account-")
	return id
}

// personID is the person whose stream rec is in ("" for another stream).
func personID(rec event.Record) string {
	id, _ := strings.CutPrefix(rec.StreamID, "person-")
	return id
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

var directoryTable = newTable("directory",
	on(Directory.signedUp),
	on(Directory.emailVerified),
	on(Directory.personProfileChanged),
	on(Directory.accountCreated),
	on(Directory.accountProfileChanged),
	on(Directory.memberJoined),
	on(Directory.roleChanged),
	on(Directory.memberBlocked),
	on(Directory.memberUnblocked),
	on(Directory.memberRemoved),
	on(Directory.memberLeft),
	on(Directory.memberInvited),
	on(Directory.invitationRevoked),
)

// Apply implements Projection.
func (d Directory) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return directoryTable.apply(d, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Directory) EventTypes() []string { return directoryTable.eventTypes() }

func (Directory) signedUp(ctx context.Context, tx Tx, _ event.Record, e person.SignedUp) error {
	return tx.Exec(ctx, `INSERT INTO dir_persons (person_id, first_name, last_name, email, verified) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (person_id) DO NOTHING`, e.PersonID, e.FirstName, e.LastName, e.Email, boolInt(e.VerifiedByInvitation != ""))
}

func (Directory) emailVerified(ctx context.Context, tx Tx, rec event.Record, _ person.EmailVerified) error {
	return tx.Exec(ctx, `UPDATE dir_persons SET verified = 1 WHERE person_id = ?`, personID(rec))
}

func (Directory) personProfileChanged(ctx context.Context, tx Tx, rec event.Record, e person.ProfileChanged) error {
	pid := personID(rec)
	if err := tx.Exec(ctx, `UPDATE dir_persons SET first_name = ?, last_name = ? WHERE person_id = ?`, e.FirstName, e.LastName, pid); err != nil {
		return err
	}
	var email string
	if err := tx.QueryRow(ctx, `SELECT email FROM dir_persons WHERE person_id = ?`, pid).Scan(&email); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	sortKey, search := memberKeys(pid, e.FirstName, e.LastName, email)
	return tx.Exec(ctx, `UPDATE dir_members SET sort_key = ?, search = ? WHERE person_id = ?`, sortKey, search, pid)
}

func (d Directory) accountCreated(ctx context.Context, tx Tx, rec event.Record, e account.Created) error {
	at := rec.Effective().UnixMicro()
	c := e.Company
	if err := tx.Exec(ctx, `INSERT INTO dir_accounts (account_id, company_name, street, city, country, state, zip, phone, support_code, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING`,
		e.AccountID, c.Name, c.Street, c.City, c.Country, c.State, c.ZIP, c.Phone, e.SupportCode, at); err != nil {
		return err
	}
	return d.addMember(ctx, tx, e.AccountID, e.CreatorID, account.RoleAdmin, at)
}

func (Directory) accountProfileChanged(ctx context.Context, tx Tx, rec event.Record, e account.ProfileChanged) error {
	c := e.Company
	return tx.Exec(ctx, `UPDATE dir_accounts SET company_name = ?, street = ?, city = ?, country = ?, state = ?, zip = ?, phone = ?
		WHERE account_id = ?`, c.Name, c.Street, c.City, c.Country, c.State, c.ZIP, c.Phone, accountID(rec))
}

func (d Directory) memberJoined(ctx context.Context, tx Tx, rec event.Record, e account.MemberJoined) error {
	acc := accountID(rec)
	if e.InvitationID != "" {
		if err := tx.Exec(ctx, `UPDATE dir_invitations SET status = 'accepted' WHERE account_id = ? AND invitation_id = ?`, acc, e.InvitationID); err != nil {
			return err
		}
	}
	return d.addMember(ctx, tx, acc, e.PersonID, account.RoleMember, rec.Effective().UnixMicro())
}

func (Directory) roleChanged(ctx context.Context, tx Tx, rec event.Record, e account.RoleChanged) error {
	return tx.Exec(ctx, `UPDATE dir_members SET role = ? WHERE account_id = ? AND person_id = ?`, e.Role.String(), accountID(rec), e.PersonID)
}

func (Directory) memberBlocked(ctx context.Context, tx Tx, rec event.Record, e account.MemberBlocked) error {
	return tx.Exec(ctx, `UPDATE dir_members SET status = 'blocked' WHERE account_id = ? AND person_id = ?`, accountID(rec), e.PersonID)
}

func (Directory) memberUnblocked(ctx context.Context, tx Tx, rec event.Record, e account.MemberUnblocked) error {
	return tx.Exec(ctx, `UPDATE dir_members SET status = 'active' WHERE account_id = ? AND person_id = ?`, accountID(rec), e.PersonID)
}

func (Directory) memberRemoved(ctx context.Context, tx Tx, rec event.Record, e account.MemberRemoved) error {
	return tx.Exec(ctx, `DELETE FROM dir_members WHERE account_id = ? AND person_id = ?`, accountID(rec), e.PersonID)
}

func (Directory) memberLeft(ctx context.Context, tx Tx, rec event.Record, e account.MemberLeft) error {
	return tx.Exec(ctx, `DELETE FROM dir_members WHERE account_id = ? AND person_id = ?`, accountID(rec), e.PersonID)
}

func (Directory) memberInvited(ctx context.Context, tx Tx, rec event.Record, e account.MemberInvited) error {
	return tx.Exec(ctx, `INSERT INTO dir_invitations (account_id, invitation_id, email, language, invited_by, invited_at, expires_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (account_id, invitation_id) DO NOTHING`,
		accountID(rec), e.InvitationID, e.Email, e.Language, e.InvitedBy, rec.Effective().UnixMicro(), e.ExpiresAt.UnixMicro())
}

func (Directory) invitationRevoked(ctx context.Context, tx Tx, rec event.Record, e account.InvitationRevoked) error {
	return tx.Exec(ctx, `UPDATE dir_invitations SET status = 'revoked' WHERE account_id = ? AND invitation_id = ?`, accountID(rec), e.InvitationID)
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
