package queries

import (
	"context"
	"fmt"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// Invitation is one row of an account's invitations list (rule MEM-4).
type Invitation struct {
	InvitationID string    `json:"invitation_id"`
	Email        string    `json:"email"`
	Language     string    `json:"language"`
	InvitedBy    string    `json:"invited_by"`
	InvitedAt    time.Time `json:"invited_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	// Status is pending, accepted, revoked, or expired (a pending one
	// past its expiry at now).
	Status string `json:"status"`
}

// Invitations lists an account's invitations, newest first.
func Invitations(ctx context.Context, db DB, accountID string, now time.Time) ([]Invitation, error) {
	rows, err := db.Select(ctx, `SELECT invitation_id, email, language, invited_by, invited_at, expires_at, status
		FROM dir_invitations WHERE account_id = ? ORDER BY invited_at DESC, invitation_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("queries: invitations of %s: %w", accountID, err)
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		var i Invitation
		var at, exp int64
		if err := rows.Scan(&i.InvitationID, &i.Email, &i.Language, &i.InvitedBy, &at, &exp, &i.Status); err != nil {
			return nil, fmt.Errorf("queries: invitations of %s: %w", accountID, err)
		}
		i.InvitedAt, i.ExpiresAt = micros(at), micros(exp)
		if i.Status == "pending" && !now.Before(i.ExpiresAt) {
			i.Status = "expired"
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Invitations is the use case of an account's invitations list (MEM-4):
// it is for those who may manage the account's members, and for the back
// office, which reads everything and changes nothing; the read sees v's
// last write. A pending invitation past its expiry at now is expired.
func (q *Reads) Invitations(ctx context.Context, v Viewer, accountID string, now time.Time) ([]Invitation, error) {
	action := account.ActionManage
	if v.Actor.Kind == event.ActorBackOffice {
		action = account.ActionView
	}
	if err := q.accounts.Authorize(ctx, v.Actor, accountID, action); err != nil {
		return nil, err
	}
	if err := q.await(ctx, v, DirectoryReadModel); err != nil {
		return nil, err
	}
	return Invitations(ctx, q.db, accountID, now)
}
