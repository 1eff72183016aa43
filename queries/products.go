package queries

import (
	"context"
	"fmt"
)

// Product is a product of the catalog (rules PROD-1, SUB-8, SUB-9).
type Product struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	// Model is concurrent_users or managed_computers (PROD-1).
	Model string `json:"model"`
	// TrialDays 0: the product has no trial (SUB-8).
	TrialDays    int `json:"trial_days"`
	TrialSeats   int `json:"trial_seats"`
	MajorVersion int `json:"major_version"`
}

// Products lists the catalog by name (ignoring ASCII case), then ID.
func Products(ctx context.Context, db DB) ([]Product, error) {
	rows, err := db.Select(ctx, `SELECT product_id, name, model, trial_days, trial_seats, major_version
		FROM lic_products ORDER BY LOWER(name), name, product_id`)
	if err != nil {
		return nil, fmt.Errorf("queries: products: %w", err)
	}
	defer rows.Close()
	out := []Product{}
	for rows.Next() {
		var p Product
		if err := rows.Scan(&p.ProductID, &p.Name, &p.Model, &p.TrialDays, &p.TrialSeats, &p.MajorVersion); err != nil {
			return nil, fmt.Errorf("queries: products: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Products is the use case of the catalog: every signed-in caller may
// read it; the read sees v's last write.
func (q *Reads) Products(ctx context.Context, v Viewer) ([]Product, error) {
	if err := q.await(ctx, v, LicensesReadModel); err != nil {
		return nil, err
	}
	return Products(ctx, q.db)
}
