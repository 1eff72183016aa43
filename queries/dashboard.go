package queries

import (
	"context"
	"fmt"

	"seatledger/domain/installation"
	"seatledger/domain/invalid"
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
	// Farms and ProxyServers count the account's farms and proxy servers
	// of the product that the lists show as active — active, suspended for
	// overuse, or pending a portal deactivation they have not learnt of
	// yet (ACT-7) — trials not included (INST-5).
	Farms        int `json:"prepaid_farms"`
	ProxyServers int `json:"registered_proxy_servers"`
	// DeactivationPending counts those among them whose portal
	// deactivation is pending (ACT-7): their keys are free already.
	DeactivationPending int `json:"deactivation_pending"`
}

// Dashboard returns the cards of account accountID's dashboard: one per
// product of which the account has at least one subscription (or
// permanent license) not expired, by product name (ignoring ASCII case),
// with its prepaid farms and registered proxy servers.
func Dashboard(ctx context.Context, db DB, accountID string) ([]ProductCard, error) {
	if accountID == "" {
		return nil, invalid.New(ErrInvalidFilter, "account_id", "account_id is required")
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queries: dashboard of %s: %w", accountID, err)
	}
	rows.Close()
	if err := countInstallations(ctx, db, accountID, out); err != nil {
		return nil, fmt.Errorf("queries: installations on the dashboard of %s: %w", accountID, err)
	}
	return out, nil
}

// countInstallations sets the farm and proxy server counts of cards
// (INST-5).
func countInstallations(ctx context.Context, db DB, accountID string, cards []ProductCard) error {
	if len(cards) == 0 {
		return nil
	}
	index := make(map[string]int, len(cards))
	for i, c := range cards {
		index[c.ProductID] = i
	}
	rows, err := db.Select(ctx, `SELECT product_id, kind, COUNT(*),
			SUM(CASE WHEN status = 'deactivation_pending' THEN 1 ELSE 0 END) FROM inst_installations
		WHERE account_id = ? AND trial = 0 AND status <> 'deactivated'
		GROUP BY product_id, kind`, accountID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			productID, kind string
			n, pending      int
		)
		if err := rows.Scan(&productID, &kind, &n, &pending); err != nil {
			return err
		}
		i, ok := index[productID]
		switch {
		case !ok:
			continue
		case kind == string(installation.Farm):
			cards[i].Farms = n
		case kind == string(installation.ProxyServer):
			cards[i].ProxyServers = n
		}
		cards[i].DeactivationPending += pending
	}
	return rows.Err()
}

// Dashboard is the use case of account accountID's dashboard: v must be
// allowed to view the account (from its events), and the read sees v's
// last write.
func (q *Reads) Dashboard(ctx context.Context, v Viewer, accountID string) ([]ProductCard, error) {
	if err := q.authorizeAccount(ctx, v, accountID, LicensesReadModel, InstallationsReadModel); err != nil {
		return nil, err
	}
	return Dashboard(ctx, q.db, accountID)
}
