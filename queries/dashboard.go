package queries

import (
	"context"
	"fmt"
)

// ProductCard is one product on an account's dashboard (rules INST-5,
// MEM-2): "<name> for <seats> seats", and how many subscriptions.
type ProductCard struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Model     string `json:"model"`
	// Seats is the sum of the seats of the product's subscriptions that
	// are active or in grace (SUB-6: their installations keep working).
	Seats int `json:"seats"`
	// ActiveSubscriptions counts those subscriptions, in grace included;
	// InGrace counts the ones in grace among them.
	ActiveSubscriptions int `json:"active_subscriptions"`
	InGrace             int `json:"in_grace"`
}

// Dashboard returns the cards of account accountID's dashboard: one per
// product of which the account has at least one subscription (or
// permanent license) not expired, by product name (ignoring ASCII case).
func Dashboard(ctx context.Context, db DB, accountID string) ([]ProductCard, error) {
	if accountID == "" {
		return nil, fmt.Errorf("%w: account_id is required", ErrInvalidFilter)
	}
	rows, err := db.Select(ctx, `SELECT s.product_id, COALESCE(p.name, s.product_id), COALESCE(p.model, ''),
			SUM(s.seats), COUNT(*), SUM(CASE WHEN s.status = 'grace' THEN 1 ELSE 0 END)
		FROM lic_subscriptions s LEFT JOIN lic_products p ON p.product_id = s.product_id
		WHERE s.account_id = ? AND s.status <> 'expired'
		GROUP BY s.product_id, p.name, p.model
		ORDER BY LOWER(COALESCE(p.name, s.product_id)), COALESCE(p.name, s.product_id), s.product_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("queries: dashboard of %s: %w", accountID, err)
	}
	defer rows.Close()
	out := []ProductCard{}
	for rows.Next() {
		var c ProductCard
		if err := rows.Scan(&c.ProductID, &c.Name, &c.Model, &c.Seats, &c.ActiveSubscriptions, &c.InGrace); err != nil {
			return nil, fmt.Errorf("queries: dashboard of %s: %w", accountID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
