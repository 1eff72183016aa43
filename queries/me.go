package queries

import (
	"context"

	"seatledger/domain/account"
)

// Me is the signed-in person as they see themselves (GET /v1/me, the
// portal's header and profile), read from their events.
type Me struct {
	PersonID  string `json:"person_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	// EmailVerified: the person opened the verification link (MEM-1).
	EmailVerified bool `json:"email_verified"`
	// PersonalAccountID is the person's own account (MEM-2).
	PersonalAccountID string `json:"personal_account_id"`
	// APITokens are the person's live personal API tokens, never empty
	// in JSON ([] when none).
	APITokens []MeToken `json:"api_tokens"`
}

// MeToken is a live personal API token, without its secret.
type MeToken struct {
	TokenID string `json:"token_id"`
	Name    string `json:"name"`
}

// Me is the use case of the signed-in person's own record: v's actor is
// the person, and the read is from their events, so it is never stale.
// An unknown person is an error matching person.ErrNotFound.
func (q *Reads) Me(ctx context.Context, v Viewer) (Me, error) {
	p, err := q.people.Person(ctx, v.Actor.ID)
	if err != nil {
		return Me{}, err
	}
	first, last := p.Name()
	tokens := []MeToken{}
	for _, t := range p.APITokens() {
		tokens = append(tokens, MeToken{TokenID: t.TokenID, Name: t.Name})
	}
	return Me{PersonID: p.ID(), FirstName: first, LastName: last, Email: p.Email(), EmailVerified: p.Verified(),
		PersonalAccountID: account.PersonalID(p.ID()), APITokens: tokens}, nil
}
