package queries

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/invalid"
	"seatledger/domain/subscription"
)

// ProductCard is one product on an account's dashboard (rules INST-5,
// MEM-2): "<name> for <seats> seats", how many of them are used, its
// subscriptions with their end and renewal, and the alerts that ask the
// customer to act (USE-3..6, SUB-6, KEY-3, ACT-7).
type ProductCard struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Model     string `json:"model"`
	// Seats is the sum of the seats of the product's subscriptions that
	// are active or in grace (SUB-6: their installations keep working).
	Seats int `json:"seats"`
	// SeatsUsed is the seats (farms) or managed computers (proxy
	// servers) the installations holding those subscriptions' keys use
	// now (USE-2); above Seats in an overuse.
	SeatsUsed int `json:"seats_used"`
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
	// Subscriptions are those subscriptions, the one ending soonest
	// first, permanent licenses last.
	Subscriptions []DashboardSubscription `json:"subscriptions"`
	// Alerts are what asks the customer to act, the most urgent first
	// (AlertKinds' order), then the soonest.
	Alerts []Alert `json:"alerts"`
}

// DashboardSubscription is a subscription on its product's card.
type DashboardSubscription struct {
	SubscriptionID string `json:"subscription_id"`
	// Name is the display name (SUB-5); empty until an admin names it.
	Name   string `json:"name"`
	Period string `json:"period"` // 1m | 1y | 2y | 3y | permanent
	Seats  int    `json:"seats"`
	// SeatsUsed is what the installations holding its keys use now.
	SeatsUsed int    `json:"seats_used"`
	Status    string `json:"status"` // active | grace
	// End is when it ends (or ended, in grace); nil for a permanent
	// license (SUB-9).
	End *time.Time `json:"end"`
	// Expires is when a subscription in grace expires: its keys stop
	// working and its installations are deactivated (SUB-6); nil for
	// one that is active.
	Expires *time.Time `json:"expires"`
	// Channel is online or reseller; AutoRenew says it renews by itself
	// at its end (SUB-2: never a reseller's).
	Channel   string `json:"channel"`
	AutoRenew bool   `json:"auto_renew"`
}

// AlertKind is what an alert is about.
type AlertKind string

// The alert kinds, the most urgent first.
const (
	// AlertSuspended: a farm is deactivated for overuse (USE-4).
	AlertSuspended AlertKind = "suspended"
	// AlertOveruse: a farm is over its quota after its grace and is
	// suspended within 1–2 hours unless back within it (USE-4).
	AlertOveruse AlertKind = "overuse"
	// AlertGrace: a farm's 7-day overuse grace runs until Ends (USE-3).
	AlertGrace AlertKind = "grace"
	// AlertOverLimit: a proxy server manages more computers than its
	// quota; new enrollments are refused (USE-6).
	AlertOverLimit AlertKind = "over_limit"
	// AlertExpiryGrace: a subscription (or a sublicense with its own
	// expiry) ended and is in its 30-day grace: its keys stop working at
	// Ends (SUB-6, KEY-3).
	AlertExpiryGrace AlertKind = "expiry_grace"
	// AlertExpiring: a subscription that does not renew by itself, or a
	// sublicense with its own expiry, ends within ExpiringWithin, at Ends
	// (SUB-2, SUB-6, KEY-3).
	AlertExpiring AlertKind = "expiring"
	// AlertDeactivationPending: an installation deactivated in the portal
	// has not learnt of it yet (ACT-7).
	AlertDeactivationPending AlertKind = "deactivation_pending"
)

// AlertKinds are the alert kinds, the most urgent first.
var AlertKinds = []AlertKind{AlertSuspended, AlertOveruse, AlertGrace, AlertOverLimit, AlertExpiryGrace, AlertExpiring,
	AlertDeactivationPending}

// alertRules are the rules each kind of alert comes from.
var alertRules = map[AlertKind]string{AlertSuspended: "USE-4", AlertOveruse: "USE-4", AlertGrace: "USE-3",
	AlertOverLimit: "USE-6", AlertExpiryGrace: "SUB-6", AlertExpiring: "SUB-6", AlertDeactivationPending: "ACT-7"}

// Alert is one thing on the dashboard that asks the customer to act.
type Alert struct {
	Kind AlertKind `json:"kind"`
	// Rule is the rule it comes from ("USE-3"; KEY-3 for a sublicense's
	// own expiry).
	Rule string `json:"rule"`
	// SubscriptionID is the subscription it is about, or whose key the
	// installation holds.
	SubscriptionID string `json:"subscription_id"`
	// InstallationID and InstallationKind (farm | proxy_server) name the
	// installation of an installation's alert; KeyID the sublicense of a
	// key's expiry. Empty otherwise.
	InstallationID   string `json:"installation_id"`
	InstallationKind string `json:"installation_kind"`
	KeyID            string `json:"key_id"`
	// Name is the installation's or the sublicense's name, or the
	// subscription's display name (empty until named, SUB-5).
	Name string `json:"name"`
	// Used and Quota are an installation's current usage and its quota;
	// 0 for a subscription's or key's alert.
	Used  int `json:"used"`
	Quota int `json:"quota"`
	// Ends is when the overuse grace ends (grace), when the subscription
	// or key ends (expiring) or expires (expiry_grace); nil otherwise.
	Ends *time.Time `json:"ends"`
}

// Dashboard returns the cards of account accountID's dashboard at now:
// one per product of which the account has at least one subscription (or
// permanent license) not expired, by product name (ignoring ASCII case),
// with its prepaid farms and registered proxy servers, its seats used, its
// subscriptions and its alerts.
func Dashboard(ctx context.Context, db DB, accountID string, now time.Time) ([]ProductCard, error) {
	if accountID == "" {
		return nil, invalid.New(ErrInvalidFilter, "account_id", "account_id is required")
	}
	b := &dashboardBuilder{accountID: accountID, now: now, cards: []ProductCard{}, product: map[string]int{}, sub: map[string][2]int{}}
	for _, step := range []struct {
		what string
		run  func(context.Context, DB) error
	}{
		{"subscriptions", b.subscriptions},
		{"installations", b.installations},
		{"installations' alerts", b.installationAlerts},
		{"sublicenses' expiry", b.keyAlerts},
	} {
		if err := step.run(ctx, db); err != nil {
			return nil, fmt.Errorf("queries: %s on the dashboard of %s: %w", step.what, accountID, err)
		}
	}
	for i := range b.cards {
		sortAlerts(b.cards[i].Alerts)
	}
	return b.cards, nil
}

// dashboardBuilder fills the cards of one account's dashboard.
type dashboardBuilder struct {
	accountID string
	now       time.Time
	cards     []ProductCard
	// product indexes cards by product ID; sub each subscription by its
	// card and its place on it.
	product map[string]int
	sub     map[string][2]int
}

// subscriptions makes the cards from the account's subscriptions that
// are not expired, and their expiry alerts (SUB-6).
func (b *dashboardBuilder) subscriptions(ctx context.Context, db DB) error {
	rows, err := db.Select(ctx, `SELECT s.subscription_id, s.product_id, COALESCE(p.name, s.product_id), COALESCE(p.model, ''),
			s.name, s.period, s.seats, s.status, s.end_at, s.channel, s.auto_renew
		FROM lic_subscriptions s LEFT JOIN lic_products p ON p.product_id = s.product_id
		WHERE s.account_id = ? AND s.status <> 'expired'
		ORDER BY LOWER(COALESCE(p.name, s.product_id)), COALESCE(p.name, s.product_id), s.product_id,
			CASE WHEN s.end_at IS NULL THEN 1 ELSE 0 END, s.end_at, s.subscription_id`, b.accountID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			card      ProductCard
			s         DashboardSubscription
			end       sql.NullInt64
			autoRenew int
		)
		if err := rows.Scan(&s.SubscriptionID, &card.ProductID, &card.Name, &card.Model, &s.Name, &s.Period, &s.Seats, &s.Status,
			&end, &s.Channel, &autoRenew); err != nil {
			return err
		}
		s.End, s.AutoRenew = microsOrNil(end), autoRenew != 0
		c := b.card(card)
		c.Seats += s.Seats
		c.ActiveSubscriptions++
		if s.Status == string(subscription.InGrace) {
			c.InGrace++
			if s.End != nil {
				expires := s.End.Add(subscription.GracePeriod)
				s.Expires = &expires
			}
		}
		b.sub[s.SubscriptionID] = [2]int{b.product[card.ProductID], len(c.Subscriptions)}
		c.Subscriptions = append(c.Subscriptions, s)
		if a, ok := b.expiryAlert(s); ok {
			c.Alerts = append(c.Alerts, a)
		}
	}
	return rows.Err()
}

// card returns the card of c's product, added as c when it is new.
func (b *dashboardBuilder) card(c ProductCard) *ProductCard {
	i, ok := b.product[c.ProductID]
	if !ok {
		i = len(b.cards)
		b.product[c.ProductID] = i
		c.Subscriptions, c.Alerts = []DashboardSubscription{}, []Alert{}
		b.cards = append(b.cards, c)
	}
	return &b.cards[i]
}

// expiryAlert is the alert of a subscription in its grace, or of one that
// ends within ExpiringWithin and does not renew by itself (SUB-2, SUB-6).
func (b *dashboardBuilder) expiryAlert(s DashboardSubscription) (Alert, bool) {
	a := Alert{SubscriptionID: s.SubscriptionID, Name: s.Name}
	switch {
	case s.Expires != nil:
		a.Kind, a.Ends = AlertExpiryGrace, s.Expires
	case s.End != nil && !s.AutoRenew && s.End.Before(b.now.Add(ExpiringWithin)):
		a.Kind, a.Ends = AlertExpiring, s.End
	default:
		return Alert{}, false
	}
	a.Rule = alertRules[a.Kind]
	return a, true
}

// installations counts the account's farms and proxy servers of each
// card's product that the lists show as active (INST-5, ACT-7), and the
// seats those holding a key of a card's subscription use.
func (b *dashboardBuilder) installations(ctx context.Context, db DB) error {
	if len(b.cards) == 0 {
		return nil
	}
	rows, err := db.Select(ctx, `SELECT product_id, subscription_id, kind, COUNT(*),
			SUM(CASE WHEN status = 'deactivation_pending' THEN 1 ELSE 0 END),
			SUM(CASE WHEN status IN ('active', 'suspended') THEN current_usage ELSE 0 END)
		FROM inst_installations
		WHERE account_id = ? AND trial = 0 AND status <> 'deactivated'
		GROUP BY product_id, subscription_id, kind`, b.accountID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			productID, subID, kind string
			n, pending, used       int
		)
		if err := rows.Scan(&productID, &subID, &kind, &n, &pending, &used); err != nil {
			return err
		}
		i, ok := b.product[productID]
		if !ok {
			continue
		}
		c := &b.cards[i]
		switch kind {
		case string(installation.Farm):
			c.Farms += n
		case string(installation.ProxyServer):
			c.ProxyServers += n
		}
		c.DeactivationPending += pending
		if at, ok := b.sub[subID]; ok {
			c.SeatsUsed += used
			b.cards[at[0]].Subscriptions[at[1]].SeatsUsed += used
		}
	}
	return rows.Err()
}

// installationAlerts adds the alerts of the account's farms and proxy
// servers that stand anywhere but active (USE-3..6, ACT-7); the query
// reads only those that may.
func (b *dashboardBuilder) installationAlerts(ctx context.Context, db DB) error {
	if len(b.cards) == 0 {
		return nil
	}
	rows, err := db.Select(ctx, `SELECT `+installationColumns+` FROM inst_installations i
		WHERE i.account_id = ? AND i.trial = 0 AND (i.status IN ('suspended', 'deactivation_pending')
			OR (i.status = 'active' AND (i.over_limit = 1 OR i.current_usage > i.quota OR i.grace_ends > ?)))`,
		b.accountID, b.now.UnixMicro())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		s, _, err := scanInstallation(rows.Scan)
		if err != nil {
			return err
		}
		s.evaluate(b.now)
		kind, ok := standingAlerts[s.Standing]
		i, onCard := b.product[s.ProductID]
		if !ok || !onCard {
			continue
		}
		a := Alert{Kind: kind, Rule: alertRules[kind], SubscriptionID: s.SubscriptionID, InstallationID: s.InstallationID,
			InstallationKind: s.Kind, Name: s.DisplayName(), Used: s.CurrentUsage, Quota: s.Quota}
		if kind == AlertGrace {
			a.Ends = s.GraceEnds
		}
		b.cards[i].Alerts = append(b.cards[i].Alerts, a)
	}
	return rows.Err()
}

// standingAlerts is the alert of each standing that asks for one.
var standingAlerts = map[Standing]AlertKind{StandingSuspended: AlertSuspended, StandingOveruse: AlertOveruse,
	StandingGrace: AlertGrace, StandingOverLimit: AlertOverLimit, StandingPending: AlertDeactivationPending}

// keyAlerts adds the alerts of the sublicenses with an expiry of their
// own (KEY-3) that ended and are in their grace, or end within
// ExpiringWithin, of the cards' subscriptions.
func (b *dashboardBuilder) keyAlerts(ctx context.Context, db DB) error {
	if len(b.cards) == 0 {
		return nil
	}
	rows, err := db.Select(ctx, `SELECT k.key_id, k.subscription_id, k.name, k.expires_at, k.status
		FROM lic_keys k JOIN lic_subscriptions s ON s.subscription_id = k.subscription_id
		WHERE s.account_id = ? AND s.status <> 'expired' AND k.type = 'reserved' AND k.expires_at IS NOT NULL
			AND (k.status = 'grace' OR (k.status = 'active' AND k.expires_at < ?))`,
		b.accountID, b.now.Add(ExpiringWithin).UnixMicro())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a       Alert
			expires int64
			status  string
		)
		if err := rows.Scan(&a.KeyID, &a.SubscriptionID, &a.Name, &expires, &status); err != nil {
			return err
		}
		at, ok := b.sub[a.SubscriptionID]
		if !ok {
			continue
		}
		ends := micros(expires)
		a.Kind, a.Rule = AlertExpiring, "KEY-3"
		if status == "grace" {
			a.Kind, ends = AlertExpiryGrace, ends.Add(subscription.GracePeriod)
		}
		a.Ends = &ends
		b.cards[at[0]].Alerts = append(b.cards[at[0]].Alerts, a)
	}
	return rows.Err()
}

// sortAlerts orders alerts by urgency (AlertKinds), then the soonest
// end (none last), then name and IDs.
func sortAlerts(alerts []Alert) {
	slices.SortFunc(alerts, func(a, b Alert) int {
		return cmp.Or(
			cmp.Compare(slices.Index(AlertKinds, a.Kind), slices.Index(AlertKinds, b.Kind)),
			compareEnds(a.Ends, b.Ends),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.SubscriptionID, b.SubscriptionID),
			cmp.Compare(a.InstallationID, b.InstallationID),
			cmp.Compare(a.KeyID, b.KeyID))
	})
}

// compareEnds orders times, nil last.
func compareEnds(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

// Dashboard is the use case of account accountID's dashboard at now: v
// must be allowed to view the account (from its events), and the read
// sees v's last write.
func (q *Reads) Dashboard(ctx context.Context, v Viewer, accountID string, now time.Time) ([]ProductCard, error) {
	if err := q.authorizeAccount(ctx, v, accountID, LicensesReadModel, InstallationsReadModel); err != nil {
		return nil, err
	}
	return Dashboard(ctx, q.db, accountID, now)
}
