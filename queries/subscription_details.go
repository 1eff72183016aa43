package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/subscription"
)

// Subscription is a subscription or permanent license with all its terms
// (rules SUB-1..9).
type Subscription struct {
	SubscriptionID string `json:"subscription_id"`
	// AccountID is the business account it is registered to (KEY-2,
	// SUB-7); empty until a key is registered.
	AccountID string `json:"account_id"`
	// Name is the display name (SUB-5); empty until an admin names it.
	Name         string    `json:"name"`
	ProductID    string    `json:"product_id"`
	ProductName  string    `json:"product_name"`
	ProductModel string    `json:"product_model"`
	Seats        int       `json:"seats"`
	Period       string    `json:"period"`       // 1m | 1y | 2y | 3y | permanent
	Channel      string    `json:"channel"`      // online | reseller
	SupportPlan  string    `json:"support_plan"` // standard | premium
	Start        time.Time `json:"start"`
	// End is nil for a permanent license (SUB-9).
	End       *time.Time `json:"end"`
	AutoRenew bool       `json:"auto_renew"`
	Cancelled bool       `json:"cancelled"`
	Status    string     `json:"status"` // active | grace | expired
	// LicensedMajor and InsuranceEnd are a permanent license's terms: the
	// major version bought and the end of its upgrade insurance (nil:
	// none).
	LicensedMajor int        `json:"licensed_major"`
	InsuranceEnd  *time.Time `json:"insurance_end"`
}

// Order is one entry of a subscription's orders history (rule SUB-4).
type Order struct {
	OrderID string `json:"order_id"`
	Kind    string `json:"kind"` // purchase | seats_added | renewal | cancellation
	// Seats bought, added or renewed; 0 for a cancellation.
	Seats int `json:"seats"`
	// Period bought or renewed for; empty for added seats and cancellations.
	Period     string    `json:"period"`
	RecordedAt time.Time `json:"recorded_at"`
}

// LicenseKey is one key of a subscription as the keys list shows it (rules
// KEY-1, KEY-3..7, MEM-6). The key itself is not here: it is shown only
// to those allowed to see it (KEY-9), from the subscription's events.
type LicenseKey struct {
	KeyID string `json:"key_id"`
	Type  string `json:"type"` // primary | reserved
	Name  string `json:"name"`
	// Hint is the key's last group of symbols, to tell masked keys apart.
	Hint string `json:"hint"`
	// Quota is the key's seats; the primary's is the seats no sublicense
	// reserves (KEY-4).
	Quota int `json:"quota"`
	// Used is the current usage of the installation the key is bound to
	// while it holds the key (active or suspended; KEY-8: one at a time);
	// 0 if none does. An installation deactivated in the portal let its
	// key go at once (ACT-7): its seats are not the key's any more.
	Used int `json:"used"`
	// Vacant is quota − used, never below 0; Over is used − quota while
	// the installation uses more than the quota (an overuse grace, USE-3,
	// a suspension, USE-4, or over the limit, USE-6), else 0. At most one
	// of them is above 0.
	Vacant int `json:"vacant"`
	Over   int `json:"over"`
	// Standing is the standing of the installation that holds the key at
	// the time the read was evaluated at (USE-3..6); empty when none
	// holds it.
	Standing Standing `json:"standing"`
	// ExpiresAt is a sublicense's own expiry; nil: it renews with the
	// subscription (the primary always does).
	ExpiresAt *time.Time `json:"expires_at"`
	// Status is "active", "grace" once a sublicense's own expiry passed
	// (its installations keep working for 30 days), or "expired" once the
	// grace ended: the key stopped working and its quota returned to the
	// primary key (KEY-3). A key that renews with the subscription is
	// "active"; the subscription's own status tells the rest (SUB-6).
	Status string `json:"status"`
	// Administrators are the person IDs of the key's license
	// administrators (MEM-6), sorted.
	Administrators []string `json:"administrators"`
}

// Details is a subscription's page: its terms, its orders history (oldest
// first) and its keys.
type Details struct {
	Subscription Subscription `json:"subscription"`
	Orders       []Order      `json:"orders"`
	Keys         []LicenseKey `json:"keys"`
}

// keyOrder maps a key sort column (KEY-7) to its ORDER BY expression; a
// key with no expiry of its own expires with the subscription, and one
// that never expires (of a permanent license) sorts last. Vacant sorts by
// quota − used, so that the keys most over their quota come first
// ascending.
var keyOrder = map[string]string{
	"name":   `LOWER(k.name) %[1]s, k.name %[1]s`,
	"type":   `k.type %[1]s`,
	"quota":  `k.quota %[1]s`,
	"used":   `COALESCE(u.used, 0) %[1]s`,
	"vacant": `k.quota - COALESCE(u.used, 0) %[1]s`,
	"expiry": `CASE WHEN COALESCE(k.expires_at, s.end_at) IS NULL THEN 1 ELSE 0 END %[1]s, COALESCE(k.expires_at, s.end_at) %[1]s`,
}

// KeySorts are the values SubscriptionDetails sorts keys by, each also
// with a "-" prefix for descending order.
var KeySorts = []string{"name", "type", "quota", "used", "vacant", "expiry"}

// keysOrderBy returns the ORDER BY clause of keySort.
func keysOrderBy(keySort string) (string, error) {
	if keySort == "" { // the primary first, then by name
		return `CASE WHEN k.type = 'primary' THEN 0 ELSE 1 END, LOWER(k.name), k.name, k.key_id`, nil
	}
	col, dir := keySort, "ASC"
	if c, ok := strings.CutPrefix(keySort, "-"); ok {
		col, dir = c, "DESC"
	}
	expr, ok := keyOrder[col]
	if !ok {
		return "", invalid.New(ErrInvalidFilter, "key_sort", "key sort %q (use %s, each optionally prefixed with -)", keySort, strings.Join(KeySorts, ", "))
	}
	return fmt.Sprintf(expr, dir) + `, k.key_id`, nil
}

// SubscriptionDetails returns subscription subscriptionID with its orders
// and its keys sorted by keySort: a column of KeySorts, "-" in front for
// descending, ties broken by key ID; empty: the primary key first, then
// the sublicenses by name (ignoring ASCII case). The keys' standing is
// evaluated at now. An unknown keySort wraps ErrInvalidFilter; an unknown
// subscription is ErrNotFound.
func SubscriptionDetails(ctx context.Context, db DB, subscriptionID, keySort string, now time.Time) (Details, error) {
	d := Details{Orders: []Order{}, Keys: []LicenseKey{}}
	orderBy, err := keysOrderBy(keySort)
	if err != nil {
		return d, err
	}
	fail := func(what string, err error) (Details, error) {
		return d, fmt.Errorf("queries: %s of subscription %s: %w", what, subscriptionID, err)
	}

	s := &d.Subscription
	var (
		start                int64
		end, insuranceEnd    sql.NullInt64
		autoRenew, cancelled int
	)
	err = db.SelectRow(ctx, `SELECT s.subscription_id, s.account_id, s.name, s.product_id, COALESCE(p.name, ''), COALESCE(p.model, ''),
			s.seats, s.period, s.channel, s.support_plan, s.start_at, s.end_at, s.auto_renew, s.cancelled, s.status,
			s.licensed_major, s.insurance_end
		FROM lic_subscriptions s LEFT JOIN lic_products p ON p.product_id = s.product_id
		WHERE s.subscription_id = ?`, subscriptionID).
		Scan(&s.SubscriptionID, &s.AccountID, &s.Name, &s.ProductID, &s.ProductName, &s.ProductModel,
			&s.Seats, &s.Period, &s.Channel, &s.SupportPlan, &start, &end, &autoRenew, &cancelled, &s.Status,
			&s.LicensedMajor, &insuranceEnd)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return fail("terms", err)
	}
	s.Start, s.End, s.InsuranceEnd = micros(start), microsOrNil(end), microsOrNil(insuranceEnd)
	s.AutoRenew, s.Cancelled = autoRenew != 0, cancelled != 0

	if d.Orders, err = subscriptionOrders(ctx, db, subscriptionID); err != nil {
		return fail("orders", err)
	}
	if d.Keys, err = subscriptionKeys(ctx, db, subscriptionID, orderBy); err != nil {
		return fail("keys", err)
	}
	if err := keyStandings(ctx, db, subscriptionID, d.Keys, now); err != nil {
		return fail("keys' installations", err)
	}
	return d, nil
}

// subscriptionOrders returns the orders history, oldest first.
func subscriptionOrders(ctx context.Context, db DB, subscriptionID string) ([]Order, error) {
	rows, err := db.Select(ctx, `SELECT order_id, kind, seats, period, recorded_at FROM lic_orders
		WHERE subscription_id = ? ORDER BY recorded_at, order_id`, subscriptionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		var o Order
		var at int64
		if err := rows.Scan(&o.OrderID, &o.Kind, &o.Seats, &o.Period, &at); err != nil {
			return nil, err
		}
		o.RecordedAt = micros(at)
		out = append(out, o)
	}
	return out, rows.Err()
}

// subscriptionKeys returns the keys in orderBy's order with their
// administrators, and the seats each uses now (KEY-7) from the
// installations read model.
func subscriptionKeys(ctx context.Context, db DB, subscriptionID, orderBy string) ([]LicenseKey, error) {
	rows, err := db.Select(ctx, `SELECT k.key_id, k.type, k.name, k.hint, k.quota, COALESCE(u.used, 0), k.expires_at, k.status
		FROM lic_keys k JOIN lic_subscriptions s ON s.subscription_id = k.subscription_id
		LEFT JOIN (SELECT key_id, SUM(current_usage) AS used FROM inst_installations
			WHERE subscription_id = ? AND status IN ('active', 'suspended')
			GROUP BY key_id) u ON u.key_id = k.key_id
		WHERE k.subscription_id = ? ORDER BY `+orderBy, subscriptionID, subscriptionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LicenseKey{}
	index := map[string]int{}
	for rows.Next() {
		k := LicenseKey{Administrators: []string{}}
		var expires sql.NullInt64
		if err := rows.Scan(&k.KeyID, &k.Type, &k.Name, &k.Hint, &k.Quota, &k.Used, &expires, &k.Status); err != nil {
			return nil, err
		}
		k.Vacant, k.Over, k.ExpiresAt = max(0, k.Quota-k.Used), max(0, k.Used-k.Quota), microsOrNil(expires)
		index[k.KeyID] = len(out)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	admins, err := db.Select(ctx, `SELECT a.key_id, a.person_id FROM lic_key_admins a
		JOIN lic_keys k ON k.key_id = a.key_id WHERE k.subscription_id = ?`, subscriptionID)
	if err != nil {
		return nil, err
	}
	defer admins.Close()
	for admins.Next() {
		var keyID, personID string
		if err := admins.Scan(&keyID, &personID); err != nil {
			return nil, err
		}
		if i, ok := index[keyID]; ok {
			out[i].Administrators = append(out[i].Administrators, personID)
		}
	}
	for i := range out {
		slices.Sort(out[i].Administrators)
	}
	return out, admins.Err()
}

// keyStandings sets the standing of each key's installation at now: the
// one that holds the key (KEY-8: one at a time), active or suspended.
func keyStandings(ctx context.Context, db DB, subscriptionID string, keys []LicenseKey, now time.Time) error {
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[k.KeyID] = i
	}
	rows, err := db.Select(ctx, `SELECT key_id, kind, status, current_usage, quota, grace_ends, grace_quota, over_limit
		FROM inst_installations WHERE subscription_id = ? AND status IN ('active', 'suspended')`, subscriptionID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			keyID     string
			f         usageFacts
			graceEnds sql.NullInt64
			graceQ    sql.NullInt64
			overLimit int
		)
		if err := rows.Scan(&keyID, &f.kind, &f.status, &f.usage, &f.quota, &graceEnds, &graceQ, &overLimit); err != nil {
			return err
		}
		f.graceEnds, f.graceQuota, f.overLimit = microsOrNil(graceEnds), nullInt(graceQ), overLimit != 0
		if i, ok := index[keyID]; ok {
			keys[i].Standing = worse(keys[i].Standing, f.standing(now))
		}
	}
	return rows.Err()
}

// SubscriptionDetails is the use case of a subscription's details page:
// v must be allowed to view subscription subscriptionID (from its
// events), and the read sees v's last write; the keys' standing is
// evaluated at now. A subscription the events know but the read model
// does not yet is an error matching ErrNotCaughtUp.
func (q *Reads) SubscriptionDetails(ctx context.Context, v Viewer, subscriptionID, keySort string, now time.Time) (Details, error) {
	if _, err := q.subscriptions.AuthorizeSubscription(ctx, v.Actor, subscriptionID, subscription.ActionView, ""); err != nil {
		return Details{}, err
	}
	if err := q.await(ctx, v, LicensesReadModel, InstallationsReadModel); err != nil {
		return Details{}, err
	}
	d, err := SubscriptionDetails(ctx, q.db, subscriptionID, keySort, now)
	if errors.Is(err, ErrNotFound) {
		return Details{}, notCaughtUp{"the subscription is not in the read model yet; retry shortly"}
	}
	return d, err
}
