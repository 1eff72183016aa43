package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"seatledger/domain/product"
)

// Entitlements answers what an account's subscriptions entitle it to,
// from the licenses read model (lic_subscriptions, lic_products). It
// implements commands.Entitlements, which re-checks each subscription on
// its own events before granting anything.
type Entitlements struct {
	DB DB
}

// ActiveSubscriptions returns the IDs of the subscriptions registered to
// accountID that are active or in grace (SUB-6), of products of licensing
// model model, by ID.
func (e Entitlements) ActiveSubscriptions(ctx context.Context, accountID string, model product.Model) ([]string, error) {
	rows, err := e.DB.Select(ctx, `SELECT s.subscription_id FROM lic_subscriptions s JOIN lic_products p ON p.product_id = s.product_id
		WHERE s.account_id = ? AND s.status IN ('active', 'grace') AND p.model = ?
		ORDER BY s.subscription_id`, accountID, string(model))
	if err != nil {
		return nil, fmt.Errorf("queries: active %s subscriptions of %s: %w", model, accountID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("queries: active %s subscriptions of %s: %w", model, accountID, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// HasActiveSubscription reports whether account accountID has a
// subscription of product productID that is active or in grace: the rule
// of who may list the product's downloads (MISC-2), asked after the
// caller's membership of the account.
func HasActiveSubscription(ctx context.Context, db DB, accountID, productID string) (bool, error) {
	var one int
	err := db.SelectRow(ctx, `SELECT 1 FROM lic_subscriptions
		WHERE account_id = ? AND product_id = ? AND status IN ('active', 'grace') LIMIT 1`, accountID, productID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("queries: active subscription of %s to %s: %w", accountID, productID, err)
	}
	return true, nil
}
