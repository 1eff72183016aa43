package queries_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// licenseLog runs the licenses projection: tests append subscription and
// product events and rebuild.
type licenseLog struct{ *testLog }

func newLicenseLog(tb testing.TB, target sqldb.Target) *licenseLog {
	return &licenseLog{newTestLog(tb, target, projections.Licenses{})}
}

// sub appends payloads to subscription id's stream.
func (l *licenseLog) sub(id string, payloads ...any) {
	l.Append(subscription.StreamID(id), payloads...)
}

// snapshot dumps the licenses read model's rows, in key order.
func (l *licenseLog) snapshot() string {
	l.TB.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT product_id, name, model, trial_days, trial_seats, major_version FROM lic_products ORDER BY product_id`,
		`SELECT subscription_id, account_id, product_id, name, seats, period, channel, support_plan, start_at,
			COALESCE(end_at, -1), auto_renew, cancelled, status, licensed_major, COALESCE(insurance_end, -1)
			FROM lic_subscriptions ORDER BY subscription_id`,
		`SELECT key_id, subscription_id, account_id, type, name, quota, used, hint, COALESCE(expires_at, -1), created_at
			FROM lic_keys ORDER BY key_id`,
		`SELECT key_id, person_id FROM lic_key_admins ORDER BY key_id, person_id`,
		`SELECT subscription_id, order_id, kind, seats, period, recorded_at FROM lic_orders ORDER BY subscription_id, order_id`,
	} {
		rows, err := l.DB.Select(context.Background(), q)
		if err != nil {
			l.TB.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				l.TB.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			l.TB.Fatal(err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func sealed(id string) subscription.SealedKey {
	return subscription.SealedKey{KeyID: id, Lookup: []byte("lookup-" + id), Sealed: []byte("sealed-" + id), Hint: "H" + strings.ToUpper(id)}
}

func at(d time.Duration) time.Time { return t0.Add(d) }

func atp(d time.Duration) *time.Time { t := t0.Add(d); return &t }

const day = 24 * time.Hour

func purchased(id, productID string, seats int, period subscription.Period, channel subscription.Channel, end time.Time) subscription.Purchased {
	return subscription.Purchased{SubscriptionID: id, OrderID: "o-" + id + "-1", OrderDigest: "d", ProductID: productID, Seats: seats,
		Period: period, Channel: channel, SupportPlan: subscription.Standard, Start: t0, End: end,
		AutoRenew: channel == subscription.Online && period != subscription.Permanent, PrimaryKey: sealed("key-" + id + "-p")}
}

// primaryQuota is the quota of subscription id's primary key as the
// read model says.
func primaryQuota(t *testing.T, l *licenseLog, id string) int {
	t.Helper()
	d, err := queries.SubscriptionDetails(context.Background(), l.DB, id, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Keys[0].Type != "primary" {
		t.Fatalf("first key by default is %+v, want the primary", d.Keys[0])
	}
	return d.Keys[0].Quota
}

func keyIDs(keys []queries.LicenseKey) string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = strings.TrimPrefix(k.KeyID, "key-a-")
	}
	return strings.Join(ids, ",")
}

// Rule KEY-4: the primary key's quota is the subscription's seats minus
// the sum of its sublicenses' quotas, after seats are added (SUB-4) and
// sublicenses are created (KEY-3), changed (KEY-5) and deleted (KEY-6).
// Rule KEY-7: the keys list shows name, type, quota, used, vacant and
// expiry, and sorts by each, both ways. MEM-6: administrators per key.
func TestLicenses_primary_quota_KEY4_and_key_sorting_KEY7(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newLicenseLog(t, target)
		l.Append(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5})
		l.sub("a", purchased("a", "farms", 50, subscription.Year, subscription.Online, at(365*day)),
			subscription.Registered{AccountID: "acc-1", By: "p-1"})
		steps := []struct {
			events  []any
			primary int // KEY-4: seats − Σ sublicense quotas
		}{
			{nil, 50},
			{[]any{subscription.SeatsAdded{OrderID: "o-a-2", Seats: 10}}, 60},
			{[]any{subscription.SublicenseCreated{Key: sealed("key-a-1"), Name: "Berlin", Quota: 20, By: "p-1"}}, 40},
			{[]any{subscription.SublicenseCreated{Key: sealed("key-a-2"), Name: "amsterdam", Quota: 15, ExpiresAt: atp(300 * day), By: "p-1"}}, 25},
			{[]any{subscription.SublicenseCreated{Key: sealed("key-a-3"), Name: "Cologne", Quota: 5, ExpiresAt: atp(200 * day), By: "p-1"}}, 20},
			{[]any{subscription.SublicenseChanged{KeyID: "key-a-2", Quota: 10, ExpiresAt: atp(300 * day), By: "p-1"}}, 25},
			{[]any{subscription.AdministratorGranted{KeyID: "key-a-3", PersonID: "p-3", By: "p-1"},
				subscription.SublicenseDeleted{KeyID: "key-a-3", By: "p-1"}}, 30}, // KEY-6: its quota returns to the primary
			{[]any{subscription.SublicenseCreated{Key: sealed("key-a-4"), Name: "Dresden", Quota: 10, ExpiresAt: atp(100 * day), By: "p-1"},
				subscription.SublicenseRenamed{KeyID: "key-a-1", Name: "Berlin office", By: "p-1"},
				subscription.AdministratorGranted{KeyID: "key-a-1", PersonID: "p-2", By: "p-1"},
				subscription.AdministratorGranted{KeyID: "key-a-1", PersonID: "p-1", By: "p-1"},
				subscription.AdministratorGranted{KeyID: "key-a-p", PersonID: "p-4", By: "p-1"},
				subscription.AdministratorRevoked{KeyID: "key-a-p", PersonID: "p-4", By: "p-1"}}, 20},
			// Seats added go to the primary key (SUB-4, KEY-4).
			{[]any{subscription.SeatsAdded{OrderID: "o-a-3", Seats: 5}}, 25},
		}
		for i, s := range steps {
			if len(s.events) > 0 {
				l.sub("a", s.events...)
			}
			l.Rebuild()
			if got := primaryQuota(t, l, "a"); got != s.primary {
				t.Fatalf("step %d: primary quota %d, want %d (KEY-4)", i, got, s.primary)
			}
		}
		var admins int
		if err := l.DB.SelectRow(ctx, `SELECT COUNT(*) FROM lic_key_admins WHERE key_id = 'key-a-3'`).Scan(&admins); err != nil || admins != 0 {
			t.Fatalf("a deleted sublicense keeps %d administrators (%v)", admins, err)
		}
		var foreign int
		if err := l.DB.SelectRow(ctx, `SELECT COUNT(*) FROM lic_keys WHERE subscription_id = 'a' AND account_id <> 'acc-1'`).Scan(&foreign); err != nil || foreign != 0 {
			t.Fatalf("%d keys of a not in its account (%v)", foreign, err)
		}

		// Keys now (the subscription ends at t0+365d; used is 0 until
		// installations arrive, so vacant = quota):
		//   p  Primary        primary  25  renews → 365d
		//   1  Berlin office  reserved 20  renews → 365d
		//   2  amsterdam      reserved 10  300d
		//   4  Dresden        reserved 10  100d
		d, err := queries.SubscriptionDetails(ctx, l.DB, "a", "", t0)
		if err != nil {
			t.Fatal(err)
		}
		want := []queries.LicenseKey{
			{KeyID: "key-a-p", Type: "primary", Name: "Primary", Hint: "HKEY-A-P", Quota: 25, Vacant: 25, Status: "active", Administrators: []string{}},
			{KeyID: "key-a-2", Type: "reserved", Name: "amsterdam", Hint: "HKEY-A-2", Quota: 10, Vacant: 10, ExpiresAt: atp(300 * day), Status: "active", Administrators: []string{}},
			{KeyID: "key-a-1", Type: "reserved", Name: "Berlin office", Hint: "HKEY-A-1", Quota: 20, Vacant: 20, Status: "active", Administrators: []string{"p-1", "p-2"}},
			{KeyID: "key-a-4", Type: "reserved", Name: "Dresden", Hint: "HKEY-A-4", Quota: 10, Vacant: 10, ExpiresAt: atp(100 * day), Status: "active", Administrators: []string{}},
		}
		if !reflect.DeepEqual(d.Keys, want) {
			t.Fatalf("keys (primary first, then by name):\n got %+v\nwant %+v", d.Keys, want)
		}
		if js, _ := json.Marshal(d.Keys[0]); !strings.Contains(string(js), `"administrators":[]`) || !strings.Contains(string(js), `"expires_at":null`) {
			t.Fatalf("primary key as JSON: %s", js)
		}
		for sort, order := range map[string]string{
			"name": "2,1,4,p", "-name": "p,4,1,2", // ASCII case ignored
			"type": "p,1,2,4", "-type": "1,2,4,p", // ties by key ID
			"quota": "2,4,1,p", "-quota": "p,1,2,4",
			"used": "1,2,4,p", "-used": "1,2,4,p", // all 0: key ID
			"vacant": "2,4,1,p", "-vacant": "p,1,2,4",
			"expiry": "4,2,1,p", "-expiry": "1,p,2,4", // no expiry of its own: the subscription's end
		} {
			d, err := queries.SubscriptionDetails(ctx, l.DB, "a", sort, t0)
			if err != nil {
				t.Fatalf("sort %s: %v", sort, err)
			}
			if got := keyIDs(d.Keys); got != order {
				t.Errorf("keys by %s: %s, want %s (KEY-7)", sort, got, order)
			}
		}
		for _, bad := range []string{"bogus", "-", "--name", "Name", "key_id"} {
			if _, err := queries.SubscriptionDetails(ctx, l.DB, "a", bad, t0); !errors.Is(err, queries.ErrInvalidFilter) || !strings.Contains(err.Error(), "vacant") {
				t.Errorf("key sort %q: %v, want ErrInvalidFilter naming the columns", bad, err)
			}
		}
		if _, err := queries.SubscriptionDetails(ctx, l.DB, "nope", "", t0); !errors.Is(err, queries.ErrNotFound) {
			t.Fatalf("unknown subscription: %v, want ErrNotFound", err)
		}

		// KEY-3: Dresden's own expiry passes: in grace, its seats still its
		// own; its grace ends: expired, its 10 seats back on the primary.
		status := func() string {
			d, err := queries.SubscriptionDetails(ctx, l.DB, "a", "name", t0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range d.Keys {
				got = append(got, fmt.Sprintf("%s %s %d", strings.TrimPrefix(k.KeyID, "key-a-"), k.Status, k.Quota))
			}
			return strings.Join(got, ",")
		}
		l.sub("a", subscription.SublicenseGraceStarted{KeyID: "key-a-4", KeyName: "Dresden", ExpiresAt: at(100 * day)})
		l.Rebuild()
		if got, want := status(), "2 active 10,1 active 20,4 grace 10,p active 25"; got != want {
			t.Errorf("KEY-3 in grace: %s, want %s", got, want)
		}
		l.sub("a", subscription.SublicenseExpired{KeyID: "key-a-4", KeyName: "Dresden", ExpiresAt: at(100 * day), Quota: 10})
		l.Rebuild()
		if got, want := status(), "2 active 10,1 active 20,4 expired 0,p active 35"; got != want {
			t.Errorf("KEY-3, KEY-4 expired: %s, want %s", got, want)
		}
	})
}

// account1 appends acc-1's purchases (and a few of other accounts):
//
//	a  farms  60 seats 1y online, renewed in grace to t0+730d, cancelled
//	b  farms   5 seats 1m online, in grace
//	c  farms 100 seats 1y, expired
//	d  proxy 200 seats permanent, reseller, insurance renewed to t0+730d
//	e  old     3 seats 1y, expired (its product has no card)
//	f  farms   7 seats, acc-2;  g  farms 9 seats, not registered
func account1(l *licenseLog) {
	l.Append(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5})
	l.Append(product.StreamID("proxy"), product.Defined{ProductID: "proxy", Name: "MDM Proxy", Model: product.ManagedComputers,
		Trial: product.Trial{Days: 30, Seats: 5}, MajorVersion: 7})
	l.Append(product.StreamID("old"), product.Defined{ProductID: "old", Name: "archive tool", Model: product.ConcurrentUsers, MajorVersion: 1})
	reg := subscription.Registered{AccountID: "acc-1", By: "p-1"}
	l.sub("a", purchased("a", "farms", 50, subscription.Year, subscription.Online, at(365*day)), reg)
	l.sub("a", subscription.SeatsAdded{OrderID: "o-a-2", OrderDigest: "d", Seats: 10},
		subscription.Renamed{Name: "Main farm", By: "p-1"})
	l.sub("a", subscription.GraceStarted{End: at(365 * day)})
	l.sub("a", subscription.Renewed{OrderID: "o-a-3", OrderDigest: "d", Period: subscription.Year, End: at(730 * day)}) // SUB-6
	l.sub("a", subscription.Cancelled{OrderID: "o-a-4", OrderDigest: "d"})
	l.sub("b", purchased("b", "farms", 5, subscription.Month, subscription.Online, at(31*day)), reg)
	l.sub("b", subscription.GraceStarted{End: at(31 * day)})
	l.sub("c", purchased("c", "farms", 100, subscription.Year, subscription.Reseller, at(365*day)), reg,
		subscription.GraceStarted{End: at(365 * day)}, subscription.Expired{End: at(365 * day)})
	d := purchased("d", "proxy", 200, subscription.Permanent, subscription.Reseller, time.Time{})
	d.LicensedMajor, d.InsuranceEnd = 7, atp(365*day)
	l.sub("d", d, reg, subscription.SublicenseCreated{Key: sealed("key-d-1"), Name: "Site", Quota: 50, ExpiresAt: atp(30 * day), By: "p-1"})
	l.sub("d", subscription.Renewed{OrderID: "o-d-2", OrderDigest: "d", Period: subscription.Year, InsuranceEnd: atp(730 * day)}) // SUB-9
	l.sub("e", purchased("e", "old", 3, subscription.Year, subscription.Online, at(365*day)), reg,
		subscription.AutoRenewSet{On: false, By: "p-1"}, subscription.GraceStarted{End: at(365 * day)}, subscription.Expired{End: at(365 * day)})
	l.sub("f", purchased("f", "farms", 7, subscription.Year, subscription.Online, at(30*day)), subscription.Registered{AccountID: "acc-2", By: "p-9"})
	l.sub("g", purchased("g", "farms", 9, subscription.Year, subscription.Online, at(30*day)))
}

func subIDs(list []queries.SubscriptionSummary) string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.SubscriptionID
	}
	return strings.Join(ids, ",")
}

// Rules INST-5, MEM-2: the dashboard shows per product "for N seats" and
// the number of subscriptions, without expired ones (SUB-6), each with its
// end, when one in grace expires and whether it renews by itself (SUB-2);
// PROD-1: the catalog with each product's model. X-5: nothing of another
// account.
func TestLicenses_dashboard_and_products_INST5_PROD1(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newLicenseLog(t, target)
		account1(l)
		l.Rebuild()
		cards, err := queries.Dashboard(ctx, l.DB, "acc-1", t0)
		if err != nil {
			t.Fatal(err)
		}
		want := []queries.ProductCard{
			{ProductID: "proxy", Name: "MDM Proxy", Model: "managed_computers", Seats: 200, ActiveSubscriptions: 1,
				Subscriptions: []queries.DashboardSubscription{
					{SubscriptionID: "d", Period: "permanent", Seats: 200, Status: "active", Channel: "reseller"}},
				Alerts: []queries.Alert{}},
			// a (60) + b (5, in grace); c expired. b ends first; it is in
			// its grace until 30 days after its end (SUB-6); a was
			// cancelled, so it does not renew (SUB-2).
			{ProductID: "farms", Name: "Remote Farm", Model: "concurrent_users", Seats: 65, ActiveSubscriptions: 2, InGrace: 1,
				Subscriptions: []queries.DashboardSubscription{
					{SubscriptionID: "b", Period: "1m", Seats: 5, Status: "grace", End: atp(31 * day), Expires: atp(61 * day),
						Channel: "online", AutoRenew: true},
					{SubscriptionID: "a", Name: "Main farm", Period: "1y", Seats: 60, Status: "active", End: atp(730 * day), Channel: "online"}},
				Alerts: []queries.Alert{{Kind: queries.AlertExpiryGrace, Rule: "SUB-6", SubscriptionID: "b", Ends: atp(61 * day)}}},
		}
		if !reflect.DeepEqual(cards, want) {
			t.Fatalf("dashboard of acc-1:\n got %+v\nwant %+v", cards, want)
		}
		if cards, err := queries.Dashboard(ctx, l.DB, "acc-2", t0); err != nil || len(cards) != 1 || cards[0].Seats != 7 {
			t.Fatalf("dashboard of acc-2: %+v, %v", cards, err)
		}
		if cards, err := queries.Dashboard(ctx, l.DB, "acc-3", t0); err != nil || cards == nil || len(cards) != 0 {
			t.Fatalf("dashboard of an account with nothing: %#v, %v", cards, err)
		}
		products, err := queries.Products(ctx, l.DB)
		if err != nil {
			t.Fatal(err)
		}
		wantProducts := []queries.Product{
			{ProductID: "old", Name: "archive tool", Model: "concurrent_users", MajorVersion: 1},
			{ProductID: "proxy", Name: "MDM Proxy", Model: "managed_computers", TrialDays: 30, TrialSeats: 5, MajorVersion: 7},
			{ProductID: "farms", Name: "Remote Farm", Model: "concurrent_users", MajorVersion: 5},
		}
		if !reflect.DeepEqual(products, wantProducts) {
			t.Fatalf("products by name:\n got %+v\nwant %+v", products, wantProducts)
		}
		// product.Defined again changes the terms in place.
		l.Append(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Farm Manager", Model: product.ConcurrentUsers, MajorVersion: 6})
		l.Rebuild()
		if products, err := queries.Products(ctx, l.DB); err != nil || len(products) != 3 || products[1].Name != "Farm Manager" || products[1].MajorVersion != 6 {
			t.Fatalf("products after a redefinition: %+v, %v", products, err)
		}
	})
}

// Rules SUB-6 and SUB-9: the subscriptions list filters out expired
// subscriptions by default and sorts by end date either way, permanent
// licenses (no end) after the dated ones, ties by ID. X-5: only the
// account's own.
func TestLicenses_subscriptions_list_SUB6_SUB9(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newLicenseLog(t, target)
		account1(l)
		l.Rebuild()
		for _, c := range []struct {
			f    queries.SubscriptionsFilter
			want string
		}{
			{queries.SubscriptionsFilter{AccountID: "acc-1"}, "b,a,d"},
			{queries.SubscriptionsFilter{AccountID: "acc-1", Status: "active", Sort: "end"}, "b,a,d"},
			{queries.SubscriptionsFilter{AccountID: "acc-1", Sort: "-end"}, "d,a,b"},
			{queries.SubscriptionsFilter{AccountID: "acc-1", Status: "all"}, "b,c,e,a,d"}, // c and e end alike: by ID
			{queries.SubscriptionsFilter{AccountID: "acc-1", Status: "all", Sort: "-end"}, "d,a,c,e,b"},
			{queries.SubscriptionsFilter{AccountID: "acc-2", Status: "all"}, "f"},
			{queries.SubscriptionsFilter{AccountID: "acc-3", Status: "all"}, ""},
		} {
			got, err := queries.Subscriptions(ctx, l.DB, c.f)
			if err != nil {
				t.Fatalf("%+v: %v", c.f, err)
			}
			if subIDs(got) != c.want {
				t.Errorf("%+v: %s, want %s", c.f, subIDs(got), c.want)
			}
		}
		list, err := queries.Subscriptions(ctx, l.DB, queries.SubscriptionsFilter{AccountID: "acc-1"})
		if err != nil {
			t.Fatal(err)
		}
		wantA := queries.SubscriptionSummary{SubscriptionID: "a", Name: "Main farm", ProductID: "farms", ProductName: "Remote Farm", Seats: 60,
			Period: "1y", Status: "active", Start: t0, End: atp(730 * day), AutoRenew: false, Channel: "online", SupportPlan: "standard", KeyCount: 1}
		wantD := queries.SubscriptionSummary{SubscriptionID: "d", ProductID: "proxy", ProductName: "MDM Proxy", Seats: 200,
			Period: "permanent", Status: "active", Start: t0, Channel: "reseller", SupportPlan: "standard", KeyCount: 2}
		if !reflect.DeepEqual(list[1], wantA) || !reflect.DeepEqual(list[2], wantD) || list[0].Status != "grace" {
			t.Fatalf("list:\n got %+v\nwant a %+v\n  and d %+v", list, wantA, wantD)
		}
		for _, f := range []queries.SubscriptionsFilter{
			{AccountID: "acc-1", Status: "expired"}, {AccountID: "acc-1", Sort: "start"}, {AccountID: "acc-1", Sort: "END"}, {},
		} {
			if _, err := queries.Subscriptions(ctx, l.DB, f); !errors.Is(err, queries.ErrInvalidFilter) {
				t.Errorf("%+v: %v, want ErrInvalidFilter", f, err)
			}
		}
		if _, err := queries.Subscriptions(ctx, l.DB, queries.SubscriptionsFilter{AccountID: "acc-1", Status: "x"}); err == nil ||
			!strings.Contains(err.Error(), "active or all") {
			t.Errorf("an invalid status does not name the allowed values: %v", err)
		}
	})
}

// Rule SUB-4: the orders history lists purchases, added seats, renewals
// and cancellations, oldest first; SUB-6 a renewal in grace makes the
// subscription active again; SUB-9 a permanent license has no end, and
// its renewal extends the upgrade insurance.
func TestLicenses_details_and_orders_history_SUB4_SUB6_SUB9(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newLicenseLog(t, target)
		account1(l)
		l.Rebuild()
		d, err := queries.SubscriptionDetails(ctx, l.DB, "a", "", t0)
		if err != nil {
			t.Fatal(err)
		}
		wantSub := queries.Subscription{SubscriptionID: "a", AccountID: "acc-1", Name: "Main farm", ProductID: "farms", ProductName: "Remote Farm",
			ProductModel: "concurrent_users", Seats: 60, Period: "1y", Channel: "online", SupportPlan: "standard", Start: t0, End: atp(730 * day),
			AutoRenew: false, Cancelled: true, Status: "active"}
		if !reflect.DeepEqual(d.Subscription, wantSub) {
			t.Fatalf("subscription a:\n got %+v\nwant %+v", d.Subscription, wantSub)
		}
		// The 3 products were appended at t0+1..3 min; a's events at +4..8.
		wantOrders := []queries.Order{
			{OrderID: "o-a-1", Kind: "purchase", Seats: 50, Period: "1y", RecordedAt: at(4 * time.Minute)},
			{OrderID: "o-a-2", Kind: "seats_added", Seats: 10, RecordedAt: at(5 * time.Minute)},
			{OrderID: "o-a-3", Kind: "renewal", Seats: 60, Period: "1y", RecordedAt: at(7 * time.Minute)},
			{OrderID: "o-a-4", Kind: "cancellation", RecordedAt: at(8 * time.Minute)},
		}
		if !reflect.DeepEqual(d.Orders, wantOrders) {
			t.Fatalf("orders of a:\n got %+v\nwant %+v", d.Orders, wantOrders)
		}
		if len(d.Keys) != 1 || d.Keys[0].Quota != 60 {
			t.Fatalf("keys of a: %+v", d.Keys)
		}

		p, err := queries.SubscriptionDetails(ctx, l.DB, "d", "expiry", t0)
		if err != nil {
			t.Fatal(err)
		}
		s := p.Subscription
		if s.End != nil || s.Period != "permanent" || s.LicensedMajor != 7 || s.InsuranceEnd == nil || !s.InsuranceEnd.Equal(at(730*day)) ||
			s.AutoRenew || s.Status != "active" || s.ProductModel != "managed_computers" {
			t.Fatalf("permanent license d: %+v", s)
		}
		if len(p.Orders) != 2 || p.Orders[1] != (queries.Order{OrderID: "o-d-2", Kind: "renewal", Seats: 200, Period: "1y", RecordedAt: p.Orders[1].RecordedAt}) ||
			p.Orders[0].Kind != "purchase" || p.Orders[0].Period != "permanent" {
			t.Fatalf("orders of d: %+v", p.Orders)
		}
		// A primary key of a permanent license never expires: last by
		// expiry, first by -expiry. KEY-4: 200 − 50.
		if len(p.Keys) != 2 || p.Keys[0].KeyID != "key-d-1" || p.Keys[1].KeyID != "key-d-p" || p.Keys[1].Quota != 150 {
			t.Fatalf("keys of d by expiry: %+v", p.Keys)
		}
		if p, err := queries.SubscriptionDetails(ctx, l.DB, "d", "-expiry", t0); err != nil || keyIDs(p.Keys) != "key-d-p,key-d-1" {
			t.Fatalf("keys of d by -expiry: %v, %v", keyIDs(p.Keys), err)
		}
		if js, _ := json.Marshal(p.Subscription); !strings.Contains(string(js), `"end":null`) {
			t.Fatalf("permanent license as JSON: %s", js)
		}
		if g, err := queries.SubscriptionDetails(ctx, l.DB, "g", "", t0); err != nil || g.Subscription.AccountID != "" || !g.Subscription.AutoRenew {
			t.Fatalf("unregistered g: %+v, %v", g.Subscription, err)
		}
	})
}

// Replaying the log gives the same rows (a rebuild is deterministic), and
// applying every event a second time over them changes nothing (X-4:
// the projection is idempotent, added seats included).
func TestLicenses_replay_is_idempotent(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newLicenseLog(t, target)
		account1(l)
		l.sub("a", subscription.SublicenseCreated{Key: sealed("key-a-1"), Name: "Berlin", Quota: 20, By: "p-1"},
			subscription.AdministratorGranted{KeyID: "key-a-1", PersonID: "p-2", By: "p-1"})
		l.Rebuild()
		first := l.snapshot()
		if strings.Count(first, "\n") < 20 {
			t.Fatalf("suspiciously few rows:\n%s", first)
		}
		l.Rebuild()
		if again := l.snapshot(); again != first {
			t.Fatalf("a second rebuild differs:\nfirst\n%s\nagain\n%s", first, again)
		}
		recs, err := l.Store.ReadAll(ctx, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := l.DB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stx := projection.WrapTx(tx, l.DB.Engine)
		for _, rec := range recs {
			if err := (projections.Licenses{}).Apply(ctx, stx, rec); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if twice := l.snapshot(); twice != first {
			t.Fatalf("applying the log twice differs:\nonce\n%s\ntwice\n%s", first, twice)
		}
	})
}
