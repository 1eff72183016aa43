package queries_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

// utc returns the UTC time of 2026-month-d h:m.
func utc(month time.Month, d, h, m int) time.Time {
	return time.Date(2026, month, d, h, m, 0, 0, time.UTC)
}

// scanOf is queries.LogScan over l's store, as ledgerd passes it.
func scanOf(l *testLog) queries.LogScan {
	return func(ctx context.Context, fn func([]event.Record) error) error {
		head, err := l.Store.Head(ctx)
		if err != nil {
			return err
		}
		return eventstore.ScanLog(ctx, l.Store, 0, head, 7, 2, fn) // small pages: many page boundaries
	}
}

// reconciliationLog is the reconciliation's fixture: the events the
// commands write (commands/installations.go, commands/orders.go …) for
// three subscriptions, with every figure of the period May 1–3, 2026
// computed by hand in TestReconcile_hand_computed_fixture. Each event is
// recorded at the time given (the clock is set to it), so the times in
// the expectations are the ones written here.
type reconciliationLog struct {
	*testLog
}

// at appends payloads to stream, recorded at t (the clock is set to it;
// several appends may share a time).
func (l reconciliationLog) at(t time.Time, stream string, payloads ...any) {
	l.TB.Helper()
	if l.Clock.Now().Before(t) {
		if err := l.Clock.Set(t); err != nil {
			l.TB.Fatal(err)
		}
	}
	if !l.Clock.Now().Equal(t) {
		l.TB.Fatalf("fixture out of order: %s after %s", t, l.Clock.Now())
	}
	evs := make([]event.Proposed, len(payloads))
	for i, p := range payloads {
		name, _ := l.Registry.NameOf(p)
		data, v, err := l.Registry.Encode(name, p)
		if err != nil {
			l.TB.Fatal(err)
		}
		evs[i] = event.Proposed{Type: name, SchemaVersion: v, Data: data,
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "fixture"}, Command: "Fixture"}}
	}
	if _, err := l.Store.Append(context.Background(), stream, event.Any(), evs...); err != nil {
		l.TB.Fatal(err)
	}
}

// The fixture's names.
const (
	sub1, sub2, sub3           = "sub-1", "sub-2", "sub-3"
	keyP1, keyK1, keyK2        = "key-p1", "key-k1", "key-k2"
	keyP2, keyP3, keyK3, keyK4 = "key-p2", "key-p3", "key-k3", "key-k4"
)

var (
	farmF1  = installation.ID(installation.Identity{Kind: installation.Farm, ServerID: "srv-f1"}.Server(), keyP1)
	farmF2  = installation.ID(installation.Identity{Kind: installation.Farm, ServerID: "srv-f2"}.Server(), keyK1)
	farmF3  = installation.ID(installation.Identity{Kind: installation.Farm, ServerID: "srv-f3"}.Server(), keyK2)
	proxyX1 = installation.ID(installation.Identity{Kind: installation.ProxyServer, SiteCode: "ZRH", ServerName: "px1"}.Server(), keyP2)
	trialT1 = installation.TrialID(installation.Identity{Kind: installation.Farm, ServerID: "srv-t1"}.Server(), "ras")
)

func sealedKey(id, hint string) subscription.SealedKey {
	return subscription.SealedKey{KeyID: id, Lookup: []byte("lookup-" + id), Sealed: []byte("sealed-" + id), Hint: hint}
}

func timePtr(t time.Time) *time.Time { return &t }

// purchase writes what commands.ApplyOrder writes for a purchase: the
// primary key's stream, then the subscription's.
func (l reconciliationLog) purchase(t time.Time, sub, key, hint, prod string, seats int, period subscription.Period, end time.Time) {
	l.at(t, licensekey.StreamID(key), licensekey.Issued{KeyID: key, SubscriptionID: sub})
	l.at(t, subscription.StreamID(sub), subscription.Purchased{SubscriptionID: sub, OrderID: "order-" + sub, OrderDigest: "d",
		ProductID: prod, Seats: seats, Period: period, Channel: subscription.Online, SupportPlan: subscription.Standard,
		Start: t, End: end, AutoRenew: true, PrimaryKey: sealedKey(key, hint)})
}

// sublicense writes what commands.CreateSublicense writes.
func (l reconciliationLog) sublicense(t time.Time, sub, key, hint, name string, quota int, expires *time.Time) {
	l.at(t, licensekey.StreamID(key), licensekey.Issued{KeyID: key, SubscriptionID: sub})
	l.at(t, subscription.StreamID(sub), subscription.SublicenseCreated{Key: sealedKey(key, hint), Name: name, Quota: quota, ExpiresAt: expires, By: "ada"})
}

// activate writes what commands.Activate writes: the key's binding, then
// the installation's activation.
func (l reconciliationLog) activate(t time.Time, id, sub, key, hint string, idn installation.Identity, quota int) {
	model := product.ConcurrentUsers
	if idn.Kind == installation.ProxyServer {
		model = product.ManagedComputers
	}
	l.at(t, licensekey.StreamID(key), licensekey.Bound{InstallationID: id})
	l.at(t, installation.StreamID(id), installation.Activated{InstallationID: id, Identity: idn, Mode: installation.Online,
		KeyID: key, KeyHint: hint, SubscriptionID: sub, AccountID: "acc-" + sub, ProductID: "ras", Model: model, Generation: 1,
		License: installation.LicenseOf(key, hint, utc(3, 1, 9, 0), utc(12, 31, 0, 0), quota, 0, false)})
}

// report writes a current usage report (commands.ReportUsage) and what
// it decided on overuse.
func (l reconciliationLog) report(t time.Time, id string, seats, quota int, decided ...any) {
	l.at(t, installation.StreamID(id), append([]any{installation.UsageReported{Seats: seats, ObservedAt: t, Current: true, Quota: quota}}, decided...)...)
}

// deactivate writes what commands.DeactivateInstallation writes.
func (l reconciliationLog) deactivate(t time.Time, id, key string, reason installation.Reason) {
	l.at(t, installation.StreamID(id), installation.Deactivated{Reason: reason, Mode: installation.Online})
	l.at(t, licensekey.StreamID(key), licensekey.Released{InstallationID: id, Reason: string(reason)})
}

// newReconciliationLog writes the fixture, in the order of its times:
//
//   - sub-1 (ras, concurrent users): 10 seats, sublicenses K1 "Berlin"
//     (4) and K2 "Paris" (2, its own expiry April 2 00:00, its 30 days
//     of grace over May 2 00:00: KEY-3); farms F1 on the primary P1, F2
//     on K1, F3 on K2. F1 is over its quota of 4 since
//     April 30 23:00 (grace started then); in the period 2 seats are
//     bought, F2 is suspended for overuse, F3 keeps reporting after K2
//     expired, K1 is deleted and F2 deactivated, and F1 exceeds again
//     and starts a second grace (USE-5).
//   - sub-2 (pms, managed computers): 5 seats for one month from March 1;
//     its 30 days of grace end May 1 09:10. Proxy server X1 goes over its
//     limit, reports once more after the expiry (racing its
//     deactivation), and then twice while deactivated (refused).
//   - sub-3 (ras): bought in the period, 4 seats, with sublicenses of 3
//     and 2 seats: the second one was written straight to the store, as
//     no command would (KEY-4).
//   - a trial farm T1, which belongs to no subscription.
func newReconciliationLog(tb testing.TB, target sqldb.Target) reconciliationLog {
	l := reconciliationLog{newTestLog(tb, target)}
	farm := func(server, name string) installation.Identity {
		return installation.Identity{Kind: installation.Farm, ServerID: server, FarmName: name, AppVersion: "19.2"}
	}
	px1 := installation.Identity{Kind: installation.ProxyServer, ServerName: "px1", SiteCode: "ZRH", AppVersion: "4.1"}

	// Before the period.
	l.purchase(utc(3, 1, 9, 0), sub1, keyP1, "PPPP1", "ras", 10, subscription.Year, utc(3, 1, 9, 0).AddDate(1, 0, 0))
	l.at(utc(3, 1, 9, 1), subscription.StreamID(sub1), subscription.Registered{AccountID: "acc-1", By: "ada"})
	l.sublicense(utc(3, 1, 9, 2), sub1, keyK1, "KKKK1", "Berlin", 4, nil)
	l.sublicense(utc(3, 1, 9, 3), sub1, keyK2, "KKKK2", "Paris", 2, timePtr(utc(4, 2, 0, 0))) // its grace ends May 2 (KEY-3)
	l.activate(utc(3, 1, 9, 4), farmF1, sub1, keyP1, "PPPP1", farm("srv-f1", "Hamburg"), 4)
	l.activate(utc(3, 1, 9, 5), farmF2, sub1, keyK1, "KKKK1", farm("srv-f2", "Berlin"), 4)
	l.activate(utc(3, 1, 9, 6), farmF3, sub1, keyK2, "KKKK2", farm("srv-f3", "Paris"), 2)
	l.purchase(utc(3, 1, 9, 10), sub2, keyP2, "PPPP2", "pms", 5, subscription.Month, utc(4, 1, 9, 10))
	l.at(utc(3, 1, 9, 11), subscription.StreamID(sub2), subscription.Registered{AccountID: "acc-2", By: "eve"})
	l.activate(utc(3, 1, 9, 12), proxyX1, sub2, keyP2, "PPPP2", px1, 5)
	l.at(utc(3, 1, 9, 15), installation.StreamID(trialT1), installation.Activated{InstallationID: trialT1, Identity: farm("srv-t1", "Trial"),
		Mode: installation.Online, ProductID: "ras", Model: product.ConcurrentUsers, Generation: 1,
		License: installation.LicenseOf("", "", utc(3, 1, 9, 15), utc(3, 31, 9, 15), 3, 0, true), TrialEnd: utc(3, 31, 9, 15)})
	l.report(utc(3, 1, 9, 16), trialT1, 2, 3)
	l.report(utc(3, 1, 10, 0), farmF1, 3, 4)
	l.report(utc(3, 1, 10, 1), farmF2, 4, 4)
	l.report(utc(3, 1, 10, 2), farmF3, 1, 2)
	l.report(utc(3, 1, 10, 3), proxyX1, 3, 5)
	// F2's first excess: a grace (USE-3) and an incident that ends long
	// before the period.
	l.report(utc(3, 1, 12, 0), farmF2, 5, 4, installation.GraceStarted{Seats: 5, Quota: 4, Ends: utc(3, 8, 12, 0)})
	l.report(utc(3, 1, 12, 20), farmF2, 4, 4)
	l.at(utc(4, 1, 9, 10), subscription.StreamID(sub2), subscription.GraceStarted{End: utc(4, 1, 9, 10)})
	// F1's excess that is carried into the period.
	l.report(utc(4, 30, 23, 0), farmF1, 6, 4, installation.GraceStarted{Seats: 6, Quota: 4, Ends: utc(5, 7, 23, 0)})

	// The period: May 1 00:00 to May 4 00:00.
	l.report(utc(5, 1, 8, 0), farmF1, 7, 4)
	l.report(utc(5, 1, 9, 0), proxyX1, 6, 5, installation.OverLimitStarted{AccountID: "acc-2", Computers: 6, Quota: 5})
	l.at(utc(5, 1, 9, 10), subscription.StreamID(sub2), subscription.Expired{End: utc(4, 1, 9, 10)})
	l.report(utc(5, 1, 9, 11), proxyX1, 4, 5, installation.OverLimitEnded{Computers: 4, Quota: 5})
	l.deactivate(utc(5, 1, 9, 12), proxyX1, keyP2, installation.SubscriptionEnd)
	l.at(utc(5, 1, 10, 0), subscription.StreamID(sub1), subscription.SeatsAdded{OrderID: "order-sub-1-2", OrderDigest: "d2", Seats: 2})
	l.at(utc(5, 1, 10, 12), installation.StreamID(proxyX1), installation.ReportRefused{Seats: 4, ObservedAt: utc(5, 1, 10, 12), Reason: "deactivated"})
	l.report(utc(5, 1, 11, 0), farmF1, 5, 6)
	l.at(utc(5, 1, 11, 12), installation.StreamID(proxyX1), installation.ReportRefused{Seats: 3, ObservedAt: utc(5, 1, 11, 12), Reason: "deactivated"})
	// An older report (USE-1): recorded, moves nothing.
	l.at(utc(5, 1, 12, 0), installation.StreamID(farmF1), installation.UsageReported{Seats: 11, ObservedAt: utc(5, 1, 7, 30), Current: false, Quota: 6})
	l.report(utc(5, 1, 14, 0), farmF2, 6, 4, installation.OveruseDetected{Seats: 6, Quota: 4, DeactivateAt: utc(5, 1, 15, 0)})
	l.at(utc(5, 1, 15, 0), installation.StreamID(farmF2), installation.Suspended{Seats: 6, Quota: 4})
	l.at(utc(5, 1, 15, 20), installation.StreamID(farmF2), installation.Revalidated{Seats: 6, Quota: 4})
	l.report(utc(5, 1, 15, 40), farmF2, 8, 4)
	l.report(utc(5, 1, 16, 0), farmF2, 3, 4)
	l.at(utc(5, 1, 16, 20), installation.StreamID(farmF2), installation.Resumed{Seats: 3, Quota: 4})
	l.report(utc(5, 2, 6, 0), farmF3, 2, 2)
	l.report(utc(5, 2, 6, 20), farmF3, 2, 2)
	l.purchase(utc(5, 2, 9, 0), sub3, keyP3, "PPPP3", "ras", 4, subscription.Year, utc(5, 2, 9, 0).AddDate(1, 0, 0))
	l.sublicense(utc(5, 2, 9, 1), sub3, keyK3, "KKKK3", "Lyon", 3, nil)
	l.sublicense(utc(5, 2, 12, 0), sub3, keyK4, "KKKK4", "Nice", 2, nil) // not through the commands: KEY-4 refuses it
	l.at(utc(5, 3, 9, 0), subscription.StreamID(sub1), subscription.SublicenseDeleted{KeyID: keyK1, By: "ada"})
	l.deactivate(utc(5, 3, 9, 1), farmF2, keyK1, installation.KeyDeleted)
	// F1's quota is 12 − 2 = 10 now, more than the 4 its grace was used
	// at: the grace is available again (USE-5).
	l.report(utc(5, 3, 10, 0), farmF1, 11, 10, installation.GraceStarted{Seats: 11, Quota: 10, Ends: utc(5, 10, 10, 0)})
	return l
}

// wantFixture is the reconciliation of May 1–3, 2026 (from=2026-05-01,
// to=2026-05-03: up to May 4 00:00) of newReconciliationLog, computed by
// hand. Every figure's reasoning is in the comments.
func wantFixture(asOf uint64) queries.Reconciliation {
	return queries.Reconciliation{
		From: utc(5, 1, 0, 0), To: utc(5, 4, 0, 0), AsOfPosition: asOf,
		Subscriptions: []queries.SubscriptionReconciliation{{
			SubscriptionID: sub1, AccountID: "acc-1", ProductID: "ras",
			Status: "active", // ends March 1, 2027 (SUB-6)
			// 10 bought before May 1, 2 added on May 1 (SUB-4).
			SeatsAtStart: 10, SeatsPurchased: 12, SeatsChange: 2,
			// KEY-4: K1 deleted on May 3, K2 keeps 2; the primary holds 12 − 2.
			SublicenseSeats: 2, PrimaryRemainder: 10,
			// USE-2: F1's last current report 11 + F3's 2; F2 deactivated.
			InUse: 13,
			// Usage over the period: 11 at From (F1 6 + F2 4 + F3 1), 12
			// (F1 7), 10 (F1 5), F1's older report of 11 moves nothing
			// (USE-1), 12 (F2 6), 14 (F2 8), 9 (F2 3), 10 (F3 2), 7 (F2
			// deactivated), 13 (F1 11): the peak is 14.
			Peak: 14,
			// B (F1, carried in), C (F2) and F (F1, open).
			OveruseIncidents: 3, OpenIncidents: 1,
			// F1's second grace on May 3 (the first, April 30, is before
			// the period; F2's of March 1 too); F2 suspended May 1 (USE-4).
			GracePeriodsUsed: 1, Suspensions: 1,
			Exceptions: 1, // F3's reports after K2 expired
			Keys: []queries.KeyAllocation{
				// P1: 6 at From, 7, 5, 11.
				{KeyID: keyP1, Type: "primary", Name: "Primary", Hint: "PPPP1", Quota: 10, InUse: 11, Peak: 11},
				// K1: 4 at From, 6, 8, 3, 0 at F2's deactivation.
				{KeyID: keyK1, Type: "reserved", Name: "Berlin", Hint: "KKKK1", Quota: 0, DeletedAt: timePtr(utc(5, 3, 9, 0)), InUse: 0, Peak: 8},
				// K2: 1 at From, 2.
				{KeyID: keyK2, Type: "reserved", Name: "Paris", Hint: "KKKK2", Quota: 2, ExpiresAt: timePtr(utc(4, 2, 0, 0)), InUse: 2, Peak: 2},
			},
			Incidents: []queries.OveruseIncident{
				// B: F1 6 > 4 on April 30 23:00 (its grace started then),
				// 7 on May 1 08:00; the 2 seats added at 10:00 make the
				// quota 6, still below 7; F1's 5 at 11:00 ends it.
				{SubscriptionID: sub1, KeyID: keyP1, InstallationID: farmF1, Start: utc(4, 30, 23, 0), End: timePtr(utc(5, 1, 11, 0)),
					Quota: 4, Peak: 7, GraceStartedAt: timePtr(utc(4, 30, 23, 0))},
				// C: F2 6 > 4 at 14:00 after its grace (USE-4), suspended
				// at 15:00, 8 at 15:40, back to 3 at 16:00.
				{SubscriptionID: sub1, KeyID: keyK1, InstallationID: farmF2, Start: utc(5, 1, 14, 0), End: timePtr(utc(5, 1, 16, 0)),
					Quota: 4, Peak: 8, Suspended: true},
				// F: F1 11 > 10 on May 3 10:00, with a new grace; open.
				{SubscriptionID: sub1, KeyID: keyP1, InstallationID: farmF1, Start: utc(5, 3, 10, 0), Quota: 10, Peak: 11,
					GraceStartedAt: timePtr(utc(5, 3, 10, 0))},
			},
		}, {
			SubscriptionID: sub2, AccountID: "acc-2", ProductID: "pms",
			Status:       "expired", // SUB-6: expired May 1 09:10
			SeatsAtStart: 5, SeatsPurchased: 5, SeatsChange: 0,
			SublicenseSeats: 0, PrimaryRemainder: 5,
			InUse: 0, // X1 deactivated
			Peak:  6, // 3 at From, 6, 4, 0
			// E: X1 6 > 5 at 09:00 (USE-6), 4 at 09:11.
			OveruseIncidents: 1, OpenIncidents: 0,
			Exceptions: 2, // the report after the expiry; the refused reports
			Keys: []queries.KeyAllocation{
				{KeyID: keyP2, Type: "primary", Name: "Primary", Hint: "PPPP2", Quota: 5, InUse: 0, Peak: 6},
			},
			Incidents: []queries.OveruseIncident{
				{SubscriptionID: sub2, KeyID: keyP2, InstallationID: proxyX1, Start: utc(5, 1, 9, 0), End: timePtr(utc(5, 1, 9, 11)), Quota: 5, Peak: 6},
			},
		}, {
			SubscriptionID: sub3, AccountID: "", ProductID: "ras", // never registered (SUB-7)
			Status: "active",
			// Bought in the period: nothing at its start.
			SeatsAtStart: 0, SeatsPurchased: 4, SeatsChange: 4,
			// KEY-4 broken: 3 + 2 reserved of 4; the primary holds −1.
			SublicenseSeats: 5, PrimaryRemainder: -1,
			Exceptions: 1,
			Keys: []queries.KeyAllocation{
				{KeyID: keyP3, Type: "primary", Name: "Primary", Hint: "PPPP3", Quota: -1},
				{KeyID: keyK3, Type: "reserved", Name: "Lyon", Hint: "KKKK3", Quota: 3},
				{KeyID: keyK4, Type: "reserved", Name: "Nice", Hint: "KKKK4", Quota: 2},
			},
			Incidents: []queries.OveruseIncident{},
		}},
		Total: queries.ReconciliationTotal{
			Subscriptions: 3, Keys: 7, // 3 + 1 + 3 (K1 deleted in the period is listed)
			SeatsAtStart: 15, SeatsPurchased: 21, SeatsChange: 6,
			SublicenseSeats: 7, PrimaryRemainder: 14, // 10 + 5 − 1
			InUse: 13,
			// All together: 14 at From (sub-1 11 + sub-2 3), 15 (F1 7), 18
			// (X1 6), 16 (X1 4), 12 (X1 deactivated), 10, 12, 14, 9, 10,
			// 7, 13: the peak is 18, not the 14 + 6 of the two peaks.
			Peak:             18,
			OveruseIncidents: 4, OpenIncidents: 1,
			GracePeriodsUsed: 1, Suspensions: 1,
			Exceptions: 4,
		},
		// By first occurrence.
		Exceptions: []queries.ReconciliationException{
			// X-1/SUB-6: X1's report one minute after sub-2 expired.
			{Kind: queries.ExceptionExpiredActivity, SubscriptionID: sub2, KeyID: keyP2, InstallationID: proxyX1,
				First: utc(5, 1, 9, 11), Last: utc(5, 1, 9, 11), Count: 1,
				Message: "usage report on key …PPPP2 after its subscription expired (ended 2026-04-01)"},
			// ACT-8: two refusals recorded for the deactivated X1.
			{Kind: queries.ExceptionDeactivatedReport, SubscriptionID: sub2, KeyID: keyP2, InstallationID: proxyX1,
				First: utc(5, 1, 10, 12), Last: utc(5, 1, 11, 12), Count: 2,
				Message: "the deactivated installation reported 4 seats observed at 2026-05-01T10:12:00Z; the report was refused"},
			// KEY-3: F3's two reports after the 30 days of grace that followed
			// K2's own expiry (April 2) ended on May 2 00:00.
			{Kind: queries.ExceptionExpiredActivity, SubscriptionID: sub1, KeyID: keyK2, InstallationID: farmF3,
				First: utc(5, 2, 6, 0), Last: utc(5, 2, 6, 20), Count: 2,
				Message: "usage report on key …KKKK2 after the sublicense expired on 2026-04-02 and its grace ended"},
			// KEY-4: sub-3's second sublicense.
			{Kind: queries.ExceptionAllocation, SubscriptionID: sub3, First: utc(5, 2, 12, 0), Last: utc(5, 2, 12, 0), Count: 1,
				Message: "sublicenses reserve 5 seats of the 4 purchased: 1 more than bought"},
		},
		// The orders recorded in the period, with who applied them:
		// the fixture's process, named by its kind.
		Orders: []queries.OrderApplied{
			{Position: 39, RecordedAt: utc(5, 1, 10, 0), SubscriptionID: sub1, OrderID: "order-sub-1-2", Kind: "add_seats", Seats: 2,
				AppliedBy: "process:fixture", AppliedByName: "process"},
			{Position: 54, RecordedAt: utc(5, 2, 9, 0), SubscriptionID: sub3, OrderID: "order-sub-3", Kind: "purchase", Seats: 4,
				AppliedBy: "process:fixture", AppliedByName: "process"},
		},
	}
}

// wantFixtureCSV is wantFixture as CSV, part by part.
var wantFixtureCSV = map[string]string{
	queries.CSVOrders: `position,recorded_at,subscription_id,order_id,kind,seats,applied_by,applied_by_name
39,2026-05-01T10:00:00Z,sub-1,order-sub-1-2,add_seats,2,process:fixture,process
54,2026-05-02T09:00:00Z,sub-3,order-sub-3,purchase,4,process:fixture,process
`,
	queries.CSVSubscriptions: `subscription_id,account_id,product_id,status,seats_at_start,seats_purchased,seats_change,sublicense_seats,primary_remainder,keys,in_use,peak,overuse_incidents,open_incidents,grace_periods_used,suspensions,exceptions
sub-1,acc-1,ras,active,10,12,2,2,10,3,13,14,3,1,1,1,1
sub-2,acc-2,pms,expired,5,5,0,0,5,1,0,6,1,0,0,0,2
sub-3,,ras,active,0,4,4,5,-1,3,0,0,0,0,0,0,1
TOTAL,,,,15,21,6,7,14,7,13,18,4,1,1,1,4
`,
	queries.CSVKeys: `subscription_id,key_id,type,name,hint,quota,expires_at,deleted_at,in_use,peak
sub-1,key-p1,primary,Primary,PPPP1,10,,,11,11
sub-1,key-k1,reserved,Berlin,KKKK1,0,,2026-05-03T09:00:00Z,0,8
sub-1,key-k2,reserved,Paris,KKKK2,2,2026-04-02T00:00:00Z,,2,2
sub-2,key-p2,primary,Primary,PPPP2,5,,,0,6
sub-3,key-p3,primary,Primary,PPPP3,-1,,,0,0
sub-3,key-k3,reserved,Lyon,KKKK3,3,,,0,0
sub-3,key-k4,reserved,Nice,KKKK4,2,,,0,0
`,
	queries.CSVIncidents: `subscription_id,key_id,installation_id,start,end,quota,peak,grace_started_at,suspended
sub-1,key-p1,` + farmF1 + `,2026-04-30T23:00:00Z,2026-05-01T11:00:00Z,4,7,2026-04-30T23:00:00Z,false
sub-1,key-k1,` + farmF2 + `,2026-05-01T14:00:00Z,2026-05-01T16:00:00Z,4,8,,true
sub-1,key-p1,` + farmF1 + `,2026-05-03T10:00:00Z,,10,11,2026-05-03T10:00:00Z,false
sub-2,key-p2,` + proxyX1 + `,2026-05-01T09:00:00Z,2026-05-01T09:11:00Z,5,6,,false
`,
	queries.CSVExceptions: `kind,subscription_id,key_id,installation_id,first,last,count,message
activity_on_expired_key,sub-2,key-p2,` + proxyX1 + `,2026-05-01T09:11:00Z,2026-05-01T09:11:00Z,1,usage report on key …PPPP2 after its subscription expired (ended 2026-04-01)
report_from_deactivated_installation,sub-2,key-p2,` + proxyX1 + `,2026-05-01T10:12:00Z,2026-05-01T11:12:00Z,2,the deactivated installation reported 4 seats observed at 2026-05-01T10:12:00Z; the report was refused
activity_on_expired_key,sub-1,key-k2,` + farmF3 + `,2026-05-02T06:00:00Z,2026-05-02T06:20:00Z,2,usage report on key …KKKK2 after the sublicense expired on 2026-04-02 and its grace ended
allocation_above_purchase,sub-3,,,2026-05-02T12:00:00Z,2026-05-02T12:00:00Z,1,sublicenses reserve 5 seats of the 4 purchased: 1 more than bought
`,
}

// sameJSON fails unless got and want encode to the same JSON, showing
// the first line that differs.
func sameJSON(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if bytes.Equal(g, w) {
		return
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("reconciliation differs at line %d: got %s, want %s\ngot:\n%s", i+1, strings.TrimSpace(gl[i]), strings.TrimSpace(wl[i]), g)
		}
	}
	t.Fatalf("reconciliation differs in length:\ngot:\n%s\nwant:\n%s", g, w)
}

// Rules USE-1, USE-2 (peaks), USE-3..6 (overuse incidents, graces,
// suspension), KEY-4 (allocation), KEY-3 and SUB-6 (expiry), ACT-8
// (refused reports), X-1/X-2 (the period read from the log's recorded
// times, exact for a past period): every figure of the fixture, as JSON
// and as CSV, on both engines.
func TestReconcile_hand_computed_fixture(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newReconciliationLog(t, target)
		asOf, err := l.Store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// After the period: read by nobody.
		l.report(utc(5, 4, 10, 0), farmF1, 20, 10)
		period, err := queries.ParsePeriod("2026-05-01", "2026-05-03")
		if err != nil {
			t.Fatal(err)
		}
		got, err := queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{Period: period})
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, got, wantFixture(asOf))
		for _, part := range queries.CSVParts {
			var b strings.Builder
			if err := queries.WriteReconciliationCSV(&b, got, part); err != nil {
				t.Fatal(err)
			}
			if b.String() != wantFixtureCSV[part] {
				t.Errorf("CSV %s:\n%s\nwant:\n%s", part, b.String(), wantFixtureCSV[part])
			}
		}
	})
}

// One subscription alone: its own figures, and totals that are its own
// (the total peak is its peak). An unknown one is ErrNotFound.
func TestReconcile_one_subscription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newReconciliationLog(t, sqldbtest.SQLite(t))
	asOf, _ := l.Store.Head(ctx)
	period := queries.Period{From: utc(5, 1, 0, 0), To: utc(5, 4, 0, 0)}
	got, err := queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{Period: period, SubscriptionID: sub1})
	if err != nil {
		t.Fatal(err)
	}
	all := wantFixture(asOf)
	s := all.Subscriptions[0]
	want := queries.Reconciliation{From: all.From, To: all.To, AsOfPosition: asOf, Subscriptions: []queries.SubscriptionReconciliation{s},
		Total: queries.ReconciliationTotal{Subscriptions: 1, Keys: 3, SeatsAtStart: 10, SeatsPurchased: 12, SeatsChange: 2,
			SublicenseSeats: 2, PrimaryRemainder: 10, InUse: 13, Peak: 14, OveruseIncidents: 3, OpenIncidents: 1,
			GracePeriodsUsed: 1, Suspensions: 1, Exceptions: 1},
		Exceptions: []queries.ReconciliationException{all.Exceptions[2]}, Orders: all.Orders[:1]}
	sameJSON(t, got, want)

	_, err = queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{Period: period, SubscriptionID: "sub-404"})
	if !errors.Is(err, queries.ErrNotFound) {
		t.Fatalf("unknown subscription: %v, want ErrNotFound", err)
	}
	// sub-3 was bought on May 2: it does not exist in April.
	_, err = queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{
		Period: queries.Period{From: utc(4, 1, 0, 0), To: utc(5, 1, 0, 0)}, SubscriptionID: sub3})
	if !errors.Is(err, queries.ErrNotFound) {
		t.Fatalf("subscription bought after the period: %v, want ErrNotFound", err)
	}
}

// A period is exact whatever happened after it: April alone, from
// the same log, knows nothing of May. Hand-computed: sub-1 has 10 seats,
// K1 4 and K2 2, in use 11 at the end (F1 6 + F2 4 + F3 1), peak 11;
// incident B opened April 30 23:00 and is open at the end, with the
// grace that started with it; sub-2 in grace since April 1 (ended April
// 1 09:10), X1 at 3. The March 1 incident of F2 is before the period.
func TestReconcile_past_period_ignores_what_came_after_X2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newReconciliationLog(t, sqldbtest.SQLite(t))
	got, err := queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{
		Period: queries.Period{From: utc(4, 1, 0, 0), To: utc(5, 1, 0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id, status                                      string
		start, bought, reserved, remainder, inUse, peak int
		incidents, open, graces                         int
	}
	var rows []row
	for _, s := range got.Subscriptions {
		rows = append(rows, row{s.SubscriptionID, s.Status, s.SeatsAtStart, s.SeatsPurchased, s.SublicenseSeats, s.PrimaryRemainder,
			s.InUse, s.Peak, s.OveruseIncidents, s.OpenIncidents, s.GracePeriodsUsed})
	}
	want := []row{
		{sub1, "active", 10, 10, 6, 4, 11, 11, 1, 1, 1},
		{sub2, "grace", 5, 5, 0, 5, 3, 3, 0, 0, 0},
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("April = %+v, want %+v", rows, want)
	}
	if len(got.Subscriptions) == 2 {
		inc := got.Subscriptions[0].Incidents[0]
		if inc.Start != utc(4, 30, 23, 0) || inc.End != nil || inc.Peak != 6 || inc.Quota != 4 {
			t.Errorf("incident B in April = %+v", inc)
		}
	}
	if len(got.Exceptions) != 0 || got.Total.Peak != 14 {
		t.Errorf("April: exceptions %v, total peak %d; want none and 14 (11 + 3)", got.Exceptions, got.Total.Peak)
	}
}

// A period in which nothing was recorded carries everything in: the
// figures at its start are those at its end.
func TestReconcile_quiet_period_carries_the_state_in(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newReconciliationLog(t, sqldbtest.SQLite(t))
	got, err := queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{
		Period: queries.Period{From: utc(3, 10, 0, 0), To: utc(3, 20, 0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	// March 10–20: sub-1 with F1 3, F2 4, F3 1; sub-2 with X1 3; the
	// usage at From is the peak (USE-2).
	type row struct {
		id                         string
		start, bought, inUse, peak int
	}
	var rows []row
	for _, s := range got.Subscriptions {
		rows = append(rows, row{s.SubscriptionID, s.SeatsAtStart, s.SeatsPurchased, s.InUse, s.Peak})
	}
	if want := []row{{sub1, 10, 10, 8, 8}, {sub2, 5, 5, 3, 3}}; !slices.Equal(rows, want) {
		t.Errorf("quiet period = %+v, want %+v", rows, want)
	}
	if got.Total.InUse != 11 || got.Total.Peak != 11 || got.Total.SeatsChange != 0 || got.Total.OveruseIncidents != 0 {
		t.Errorf("quiet period totals = %+v", got.Total)
	}
}

// Bad periods are refused naming the bound (no reconciliation of an
// empty or unreadable period).
func TestParsePeriod(t *testing.T) {
	t.Parallel()
	ok := []struct {
		from, to string
		want     queries.Period
	}{
		// A date to is the whole day.
		{"2026-05-01", "2026-05-31", queries.Period{From: utc(5, 1, 0, 0), To: utc(6, 1, 0, 0)}},
		{"2026-05-01", "2026-05-01", queries.Period{From: utc(5, 1, 0, 0), To: utc(5, 2, 0, 0)}},
		// An instant to is the exclusive end, in UTC.
		{"2026-05-01T10:00:00Z", "2026-05-01T13:30:00+02:00", queries.Period{From: utc(5, 1, 10, 0), To: utc(5, 1, 11, 30)}},
		{" 2026-05-01 ", "2026-05-01T00:00:01Z", queries.Period{From: utc(5, 1, 0, 0), To: utc(5, 1, 0, 0).Add(time.Second)}},
	}
	for _, c := range ok {
		got, err := queries.ParsePeriod(c.from, c.to)
		if err != nil || got.From != c.want.From || got.To != c.want.To {
			t.Errorf("ParsePeriod(%q, %q) = %v, %v; want %v", c.from, c.to, got, err, c.want)
		}
	}
	bad := []struct{ from, to, field, says string }{
		{"", "2026-05-01", "from", "required"},
		{"2026-05-01", "", "to", "required"},
		{"yesterday", "2026-05-01", "from", "neither a date"},
		{"2026-05-01", "2026-13-01", "to", "neither a date"},
		{"2026-05-02", "2026-05-01", "to", "before from"},
		{"2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z", "to", "empty"},
		// 12:00+02:00 is 10:00 UTC: the same instant.
		{"2026-05-01T10:00:00Z", "2026-05-01T12:00:00+02:00", "to", "empty"},
	}
	for _, c := range bad {
		_, err := queries.ParsePeriod(c.from, c.to)
		var pe *queries.PeriodError
		if !errors.As(err, &pe) || !errors.Is(err, queries.ErrInvalidPeriod) || pe.Field != c.field || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParsePeriod(%q, %q) = %v; want a %s error saying %q", c.from, c.to, err, c.field, c.says)
		}
	}
	if err := queries.WriteReconciliationCSV(&strings.Builder{}, queries.Reconciliation{}, "everything"); !errors.Is(err, queries.ErrInvalidFilter) {
		t.Errorf("unknown CSV part: %v", err)
	}
}

// Rules KEY-3, ACT-7, USE-6 in the reconciliation: reports during a
// sublicense's grace are legitimate; once it expired its quota returns to
// the primary key and a report after that is flagged; a portal
// deactivation frees the key's seats at once; an enrollment counts at
// once.
func TestReconcile_sublicense_lapse_portal_deactivation_enrollment_KEY3_ACT7_USE6(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := reconciliationLog{newTestLog(t, sqldbtest.SQLite(t))}
	farm := installation.Identity{Kind: installation.Farm, ServerID: "srv-l", FarmName: "Lyon", AppVersion: "19.2"}
	px := installation.Identity{Kind: installation.ProxyServer, ServerName: "px", SiteCode: "PX", AppVersion: "4.1"}
	lyon := installation.ID(farm.Server(), keyK1)
	proxy := installation.ID(px.Server(), keyP2)
	l.purchase(utc(3, 1, 9, 0), sub1, keyP1, "PPPP1", "ras", 10, subscription.Year, utc(3, 1, 9, 0).AddDate(1, 0, 0))
	l.sublicense(utc(3, 1, 9, 1), sub1, keyK1, "KKKK1", "Lyon", 4, timePtr(utc(3, 3, 0, 0)))
	l.activate(utc(3, 1, 9, 2), lyon, sub1, keyK1, "KKKK1", farm, 4)
	l.purchase(utc(3, 1, 9, 3), sub2, keyP2, "PPPP2", "pms", 5, subscription.Year, utc(3, 1, 9, 3).AddDate(1, 0, 0))
	l.activate(utc(3, 1, 9, 4), proxy, sub2, keyP2, "PPPP2", px, 5)
	l.at(utc(3, 1, 9, 5), installation.StreamID(proxy), installation.Enrolled{Computers: 2, Managed: 2, Quota: 5})
	l.at(utc(3, 3, 0, 0), subscription.StreamID(sub1), subscription.SublicenseGraceStarted{KeyID: keyK1, KeyName: "Lyon", ExpiresAt: utc(3, 3, 0, 0)})
	l.report(utc(3, 4, 9, 0), lyon, 3, 4) // in the grace: legitimate
	l.report(utc(3, 9, 9, 0), lyon, 3, 4)
	l.at(utc(4, 2, 0, 0), subscription.StreamID(sub1), subscription.SublicenseExpired{KeyID: keyK1, KeyName: "Lyon", ExpiresAt: utc(3, 3, 0, 0), Quota: 4})
	l.report(utc(4, 2, 0, 30), lyon, 3, 4) // before its deactivation timer: flagged
	l.at(utc(4, 3, 0, 0), installation.StreamID(proxy), installation.DeactivationRequested{By: "ada"})
	l.at(utc(4, 3, 0, 0), licensekey.StreamID(keyP2), licensekey.Released{InstallationID: proxy, Reason: "portal"})

	got, err := queries.Reconcile(ctx, scanOf(l.testLog), l.Registry, queries.ReconciliationQuery{
		Period: queries.Period{From: utc(3, 1, 0, 0), To: utc(4, 5, 0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	var flagged []string
	for _, e := range got.Exceptions {
		flagged = append(flagged, fmt.Sprintf("%s %s %s", e.Kind, e.First.Format(time.RFC3339), e.Message))
	}
	if want := []string{"activity_on_expired_key 2026-04-02T00:30:00Z usage report on key …KKKK1 after the sublicense expired on 2026-03-03 and its grace ended"}; !slices.Equal(flagged, want) {
		t.Errorf("KEY-3 exceptions %q, want %q", flagged, want)
	}
	for _, s := range got.Subscriptions {
		switch s.SubscriptionID {
		case sub1:
			if s.SublicenseSeats != 0 || s.PrimaryRemainder != 10 {
				t.Errorf("KEY-3 after the sublicense expired: sublicenses %d, primary %d, want 0 and 10", s.SublicenseSeats, s.PrimaryRemainder)
			}
		case sub2:
			if s.Peak != 2 || s.InUse != 0 {
				t.Errorf("USE-6, ACT-7 the proxy server: peak %d (the enrollment counts), in use %d (its key let go), want 2 and 0", s.Peak, s.InUse)
			}
		}
	}
}
