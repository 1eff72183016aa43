package projections

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
)

// Licenses is the portal's read model of what an account has bought: the
// product catalog (PROD-1), subscriptions and permanent licenses with
// their status (SUB-1..9), their keys with quotas (KEY-1, KEY-3..7) and
// license administrators (MEM-6), and the orders history (SUB-4). It is
// for display only: authorization and the seat arithmetic of KEY-4 are
// decided on the subscription's events, never on these rows; the primary
// key's quota it shows is computed by that same arithmetic
// (subscription.Allocation).
//
// Every statement is an insert that ignores a row already there, an
// upsert, or an update to values the event carries, and the one
// increment (added seats) is guarded by its order row: applying an event
// twice leaves the rows as applying it once did.
type Licenses struct{}

var _ Projection = Licenses{}

// Name implements Projection.
func (Licenses) Name() string { return "licenses" }

// Tables implements Projection.
func (Licenses) Tables() []string {
	return []string{"lic_products", "lic_subscriptions", "lic_keys", "lic_key_admins", "lic_orders"}
}

var licensesTable = newTable("licenses",
	on(Licenses.productDefined),
	on(Licenses.purchased),
	on(Licenses.seatsAdded),
	on(Licenses.renewed),
	on(Licenses.cancelled),
	on(Licenses.registered),
	on(Licenses.renamed),
	on(Licenses.autoRenewSet),
	on(Licenses.graceStarted),
	on(Licenses.expired),
	on(Licenses.sublicenseCreated),
	on(Licenses.sublicenseChanged),
	on(Licenses.sublicenseGraceStarted),
	on(Licenses.sublicenseExpired),
	on(Licenses.sublicenseRenamed),
	on(Licenses.sublicenseDeleted),
	on(Licenses.administratorGranted),
	on(Licenses.administratorRevoked),
)

// Apply implements Projection.
func (l Licenses) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return licensesTable.apply(l, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Licenses) EventTypes() []string { return licensesTable.eventTypes() }

// subscriptionID is the subscription whose stream rec is in.
func subscriptionID(rec event.Record) string {
	id, _ := strings.CutPrefix(rec.StreamID, "subscription-")
	return id
}

func (Licenses) productDefined(ctx context.Context, tx Tx, _ event.Record, e product.Defined) error {
	return tx.Exec(ctx, `INSERT INTO lic_products (product_id, name, model, trial_days, trial_seats, major_version)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_id) DO UPDATE SET name = excluded.name, model = excluded.model,
			trial_days = excluded.trial_days, trial_seats = excluded.trial_seats, major_version = excluded.major_version`,
		e.ProductID, e.Name, string(e.Model), e.Trial.Days, e.Trial.Seats, e.MajorVersion)
}

func (l Licenses) purchased(ctx context.Context, tx Tx, rec event.Record, e subscription.Purchased) error {
	sub := subscriptionID(rec)
	if err := tx.Exec(ctx, `INSERT INTO lic_subscriptions (subscription_id, product_id, seats, period, channel, support_plan,
			start_at, end_at, auto_renew, status, licensed_major, insurance_end)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?) ON CONFLICT (subscription_id) DO NOTHING`,
		sub, e.ProductID, e.Seats, string(e.Period), string(e.Channel), string(e.SupportPlan),
		e.Start.UnixMicro(), timeOrNull(e.End), boolInt(e.AutoRenew), e.LicensedMajor, ptrOrNull(e.InsuranceEnd)); err != nil {
		return err
	}
	if err := tx.Exec(ctx, `INSERT INTO lic_keys (key_id, subscription_id, type, name, quota, hint, created_at)
		VALUES (?, ?, 'primary', 'Primary', 0, ?, ?) ON CONFLICT (key_id) DO NOTHING`,
		e.PrimaryKey.KeyID, sub, e.PrimaryKey.Hint, rec.Effective().UnixMicro()); err != nil {
		return err
	}
	if err := l.order(ctx, tx, sub, e.OrderID, "purchase", e.Seats, string(e.Period), rec); err != nil {
		return err
	}
	return l.primaryQuota(ctx, tx, sub)
}

func (l Licenses) seatsAdded(ctx context.Context, tx Tx, rec event.Record, e subscription.SeatsAdded) error {
	sub := subscriptionID(rec)
	// Only if this order is not recorded yet: the one non-idempotent
	// statement is guarded by the order row written next.
	if err := tx.Exec(ctx, `UPDATE lic_subscriptions SET seats = seats + ? WHERE subscription_id = ?
		AND NOT EXISTS (SELECT 1 FROM lic_orders o WHERE o.subscription_id = ? AND o.order_id = ?)`,
		e.Seats, sub, sub, e.OrderID); err != nil {
		return err
	}
	if err := l.order(ctx, tx, sub, e.OrderID, "seats_added", e.Seats, "", rec); err != nil {
		return err
	}
	return l.primaryQuota(ctx, tx, sub)
}

func (Licenses) renewed(ctx context.Context, tx Tx, rec event.Record, e subscription.Renewed) error {
	sub := subscriptionID(rec)
	if e.InsuranceEnd != nil { // a permanent license's upgrade insurance (SUB-9)
		if err := tx.Exec(ctx, `UPDATE lic_subscriptions SET insurance_end = ? WHERE subscription_id = ?`,
			e.InsuranceEnd.UnixMicro(), sub); err != nil {
			return err
		}
	} else if err := tx.Exec(ctx, `UPDATE lic_subscriptions SET end_at = ?, period = ?, status = 'active' WHERE subscription_id = ?`,
		timeOrNull(e.End), string(e.Period), sub); err != nil { // SUB-6: a renewal in grace makes it active again
		return err
	}
	// The renewal renews the seats the subscription has now.
	return tx.Exec(ctx, `INSERT INTO lic_orders (subscription_id, order_id, kind, seats, period, recorded_at)
		SELECT subscription_id, CAST(? AS TEXT), 'renewal', seats, CAST(? AS TEXT), CAST(? AS BIGINT)
		FROM lic_subscriptions WHERE subscription_id = ?
		ON CONFLICT (subscription_id, order_id) DO NOTHING`,
		e.OrderID, string(e.Period), rec.RecordedAt.UnixMicro(), sub)
}

func (l Licenses) cancelled(ctx context.Context, tx Tx, rec event.Record, e subscription.Cancelled) error {
	sub := subscriptionID(rec)
	if err := tx.Exec(ctx, `UPDATE lic_subscriptions SET cancelled = 1, auto_renew = 0 WHERE subscription_id = ?`, sub); err != nil {
		return err
	}
	return l.order(ctx, tx, sub, e.OrderID, "cancellation", 0, "", rec)
}

func (Licenses) registered(ctx context.Context, tx Tx, rec event.Record, e subscription.Registered) error {
	sub := subscriptionID(rec)
	if err := tx.Exec(ctx, `UPDATE lic_subscriptions SET account_id = ? WHERE subscription_id = ?`, e.AccountID, sub); err != nil {
		return err
	}
	return tx.Exec(ctx, `UPDATE lic_keys SET account_id = ? WHERE subscription_id = ?`, e.AccountID, sub)
}

func (Licenses) renamed(ctx context.Context, tx Tx, rec event.Record, e subscription.Renamed) error {
	return tx.Exec(ctx, `UPDATE lic_subscriptions SET name = ? WHERE subscription_id = ?`, e.Name, subscriptionID(rec))
}

func (Licenses) autoRenewSet(ctx context.Context, tx Tx, rec event.Record, e subscription.AutoRenewSet) error {
	return tx.Exec(ctx, `UPDATE lic_subscriptions SET auto_renew = ? WHERE subscription_id = ?`, boolInt(e.On), subscriptionID(rec))
}

func (Licenses) graceStarted(ctx context.Context, tx Tx, rec event.Record, _ subscription.GraceStarted) error {
	return tx.Exec(ctx, `UPDATE lic_subscriptions SET status = 'grace' WHERE subscription_id = ?`, subscriptionID(rec))
}

func (Licenses) expired(ctx context.Context, tx Tx, rec event.Record, _ subscription.Expired) error {
	return tx.Exec(ctx, `UPDATE lic_subscriptions SET status = 'expired' WHERE subscription_id = ?`, subscriptionID(rec))
}

func (l Licenses) sublicenseCreated(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseCreated) error {
	sub := subscriptionID(rec)
	// The key belongs to the subscription's account, if it has one yet.
	// (WHERE keeps SQLite from reading ON CONFLICT as a join's ON; the
	// casts give PostgreSQL the parameters' types in a select list.)
	if err := tx.Exec(ctx, `INSERT INTO lic_keys (key_id, subscription_id, account_id, type, name, quota, hint, expires_at, created_at)
		SELECT CAST(? AS TEXT), subscription_id, account_id, 'reserved', CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT),
			CAST(? AS BIGINT), CAST(? AS BIGINT)
		FROM lic_subscriptions WHERE subscription_id = ?
		ON CONFLICT (key_id) DO NOTHING`,
		e.Key.KeyID, e.Name, e.Quota, e.Key.Hint, ptrOrNull(e.ExpiresAt), rec.Effective().UnixMicro(), sub); err != nil {
		return err
	}
	return l.primaryQuota(ctx, tx, sub)
}

func (l Licenses) sublicenseChanged(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseChanged) error {
	sub := subscriptionID(rec)
	// KEY-3: a new expiry ends a grace (an expired key is not changed).
	if err := tx.Exec(ctx, `UPDATE lic_keys SET quota = ?, expires_at = ?, status = 'active'
		WHERE key_id = ? AND subscription_id = ? AND type = 'reserved'`,
		e.Quota, ptrOrNull(e.ExpiresAt), e.KeyID, sub); err != nil {
		return err
	}
	return l.primaryQuota(ctx, tx, sub)
}

func (Licenses) sublicenseGraceStarted(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseGraceStarted) error {
	return tx.Exec(ctx, `UPDATE lic_keys SET status = 'grace' WHERE key_id = ? AND subscription_id = ? AND type = 'reserved'`,
		e.KeyID, subscriptionID(rec))
}

func (l Licenses) sublicenseExpired(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseExpired) error {
	sub := subscriptionID(rec)
	// KEY-3: its seats return to the primary key.
	if err := tx.Exec(ctx, `UPDATE lic_keys SET status = 'expired', quota = 0 WHERE key_id = ? AND subscription_id = ? AND type = 'reserved'`,
		e.KeyID, sub); err != nil {
		return err
	}
	return l.primaryQuota(ctx, tx, sub)
}

func (Licenses) sublicenseRenamed(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseRenamed) error {
	return tx.Exec(ctx, `UPDATE lic_keys SET name = ? WHERE key_id = ? AND subscription_id = ? AND type = 'reserved'`,
		e.Name, e.KeyID, subscriptionID(rec))
}

func (l Licenses) sublicenseDeleted(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseDeleted) error {
	sub := subscriptionID(rec)
	if err := tx.Exec(ctx, `DELETE FROM lic_key_admins WHERE key_id IN
		(SELECT key_id FROM lic_keys WHERE key_id = ? AND subscription_id = ? AND type = 'reserved')`, e.KeyID, sub); err != nil {
		return err
	}
	if err := tx.Exec(ctx, `DELETE FROM lic_keys WHERE key_id = ? AND subscription_id = ? AND type = 'reserved'`, e.KeyID, sub); err != nil {
		return err
	}
	return l.primaryQuota(ctx, tx, sub) // KEY-6: its quota returns to the primary key
}

func (Licenses) administratorGranted(ctx context.Context, tx Tx, _ event.Record, e subscription.AdministratorGranted) error {
	return tx.Exec(ctx, `INSERT INTO lic_key_admins (key_id, person_id) VALUES (?, ?) ON CONFLICT (key_id, person_id) DO NOTHING`,
		e.KeyID, e.PersonID)
}

func (Licenses) administratorRevoked(ctx context.Context, tx Tx, _ event.Record, e subscription.AdministratorRevoked) error {
	return tx.Exec(ctx, `DELETE FROM lic_key_admins WHERE key_id = ? AND person_id = ?`, e.KeyID, e.PersonID)
}

// order records an order in the orders history (SUB-4), once.
func (Licenses) order(ctx context.Context, tx Tx, sub, orderID, kind string, seats int, period string, rec event.Record) error {
	return tx.Exec(ctx, `INSERT INTO lic_orders (subscription_id, order_id, kind, seats, period, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscription_id, order_id) DO NOTHING`,
		sub, orderID, kind, seats, period, rec.RecordedAt.UnixMicro())
}

// primaryQuota sets the primary key's quota to the seats no sublicense
// reserves (rule KEY-4), as subscription.Allocation computes it from the
// seats and the sublicenses' quotas in the rows: the aggregate counts
// with the same code, so the two cannot disagree. An expired sublicense's
// row holds quota 0 and a deleted one's is gone (KEY-3, KEY-6).
func (Licenses) primaryQuota(ctx context.Context, tx Tx, sub string) error {
	var seats int
	err := tx.QueryRow(ctx, `SELECT seats FROM lic_subscriptions WHERE subscription_id = ?`, sub).Scan(&seats)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no subscription, no primary key
	}
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT quota FROM lic_keys WHERE subscription_id = ? AND type = 'reserved'`, sub)
	if err != nil {
		return err
	}
	defer rows.Close()
	alloc := subscription.Allocate(seats)
	for rows.Next() {
		var quota int
		if err := rows.Scan(&quota); err != nil {
			return err
		}
		alloc = alloc.Reserve(quota)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return tx.Exec(ctx, `UPDATE lic_keys SET quota = ? WHERE subscription_id = ? AND type = 'primary'`, alloc.Primary(), sub)
}

// timeOrNull is t in Unix microseconds, or NULL for the zero time.
func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// ptrOrNull is *t in Unix microseconds, or NULL for nil or the zero time.
func ptrOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeOrNull(*t)
}
