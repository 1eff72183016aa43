package queries

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"seatledger/domain/invalid"
)

// SubscriptionsFilter selects and orders an account's subscriptions list.
type SubscriptionsFilter struct {
	AccountID string
	// Status is "active" (every subscription not expired, in grace
	// included; the default when empty) or "all".
	Status string
	// Sort is "end" (soonest end first; the default when empty) or "-end"
	// (latest first). Permanent licenses, which never end, come after
	// the dated ones on "end" and before them on "-end".
	Sort string
}

// SubscriptionSummary is one row of the subscriptions list (rules SUB-1..3,
// SUB-6, SUB-9).
type SubscriptionSummary struct {
	SubscriptionID string `json:"subscription_id"`
	// Name is the display name (SUB-5); empty until an admin names it.
	Name        string    `json:"name"`
	ProductID   string    `json:"product_id"`
	ProductName string    `json:"product_name"`
	Seats       int       `json:"seats"`
	Period      string    `json:"period"`
	Status      string    `json:"status"` // active | grace | expired
	Start       time.Time `json:"start"`
	// End is nil for a permanent license (SUB-9).
	End         *time.Time `json:"end"`
	AutoRenew   bool       `json:"auto_renew"`
	Channel     string     `json:"channel"`
	SupportPlan string     `json:"support_plan"`
	KeyCount    int        `json:"key_count"`
}

// subscriptionsOrder maps SubscriptionsFilter.Sort to ORDER BY clauses.
var subscriptionsOrder = map[string]string{
	"end":  `CASE WHEN s.end_at IS NULL THEN 1 ELSE 0 END, s.end_at, s.subscription_id`,
	"-end": `CASE WHEN s.end_at IS NULL THEN 0 ELSE 1 END, s.end_at DESC, s.subscription_id`,
}

// Subscriptions lists an account's subscriptions and permanent licenses,
// ties broken by subscription ID. An unknown Status or Sort is an error
// that wraps ErrInvalidFilter.
func Subscriptions(ctx context.Context, db DB, f SubscriptionsFilter) ([]SubscriptionSummary, error) {
	if f.AccountID == "" {
		return nil, invalid.New(ErrInvalidFilter, "account_id", "account_id is required")
	}
	var where string
	switch f.Status {
	case "", "active":
		where = ` AND s.status <> 'expired'`
	case "all":
	default:
		return nil, invalid.New(ErrInvalidFilter, "status", "status %q (use active or all)", f.Status)
	}
	if f.Sort == "" {
		f.Sort = "end"
	}
	order, ok := subscriptionsOrder[f.Sort]
	if !ok {
		return nil, invalid.New(ErrInvalidFilter, "sort", "sort %q (use end or -end)", f.Sort)
	}
	rows, err := db.Select(ctx, `SELECT s.subscription_id, s.name, s.product_id, COALESCE(p.name, ''), s.seats, s.period, s.status,
			s.start_at, s.end_at, s.auto_renew, s.channel, s.support_plan,
			(SELECT COUNT(*) FROM lic_keys k WHERE k.subscription_id = s.subscription_id)
		FROM lic_subscriptions s LEFT JOIN lic_products p ON p.product_id = s.product_id
		WHERE s.account_id = ?`+where+` ORDER BY `+order, f.AccountID)
	if err != nil {
		return nil, fmt.Errorf("queries: subscriptions of %s: %w", f.AccountID, err)
	}
	defer rows.Close()
	out := []SubscriptionSummary{}
	for rows.Next() {
		var (
			s         SubscriptionSummary
			start     int64
			end       sql.NullInt64
			autoRenew int
		)
		if err := rows.Scan(&s.SubscriptionID, &s.Name, &s.ProductID, &s.ProductName, &s.Seats, &s.Period, &s.Status,
			&start, &end, &autoRenew, &s.Channel, &s.SupportPlan, &s.KeyCount); err != nil {
			return nil, fmt.Errorf("queries: subscriptions of %s: %w", f.AccountID, err)
		}
		s.Start, s.End, s.AutoRenew = micros(start), microsOrNil(end), autoRenew != 0
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subscriptions is the use case of an account's subscriptions list: v
// must be allowed to view account f.AccountID, and the read sees v's last
// write.
func (q *Reads) Subscriptions(ctx context.Context, v Viewer, f SubscriptionsFilter) ([]SubscriptionSummary, error) {
	if err := q.authorizeAccount(ctx, v, f.AccountID, LicensesReadModel); err != nil {
		return nil, err
	}
	return Subscriptions(ctx, q.db, f)
}
