package projections_test

import (
	"context"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// Rule X-6: the installation manager plans from when an event took
// effect, not from when it was recorded: a suspension recorded late (its
// timer fired after the process was down) plans its re-validation 20
// minutes after the suspension's due time, an over-limit period its
// alert an hour after its start, and an expiry deactivates at once from
// its effective time — so a late timer's successors fall due as they
// would have.
func TestInstallationManager_plans_from_effective_times_X6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		w.activate("f-1", farm("S-1"), "k-1", "s-1", "acc-1")
		w.activate("p-1", proxy("px1", "BER"), "k-2", "s-2", "acc-1")
		due := t0.Add(-3 * time.Hour) // long before the log's clock
		suspended := w.AppendAt(installation.StreamID("f-1"), due, installation.Suspended{Seats: 12, Quota: 10})[0]
		over := w.AppendAt(installation.StreamID("p-1"), due.Add(time.Minute), installation.OverLimitStarted{AccountID: "acc-1", Computers: 11, Quota: 10})[0]
		expired := w.AppendAt(subscription.StreamID("s-1"), due.Add(2*time.Minute), subscription.Expired{End: t0})[0]
		w.Rebuild("installation_manager")
		if !suspended.At.After(due.Add(time.Hour)) {
			t.Fatalf("the test needs a late record: recorded %v, due %v", suspended.At, due)
		}
		w.expect("X-6 re-validation after a late suspension", projections.TimerKindRevalidate, "f-1", suspended,
			due.Add(installation.RevalidateInterval), "", "pending")
		w.expect("X-6 alert after a late over-limit start", projections.TimerKindOverLimitAlert, "p-1", over,
			due.Add(time.Minute+installation.AlertInterval), "", "pending")
		w.expect("X-6 deactivation after a late expiry", projections.TimerKindDeactivate, "f-1", expired,
			due.Add(2*time.Minute), "expired", "pending")
	})
}

// Rule KEY-3: a sublicense whose grace ended deactivates the
// installations using its key, as an expired subscription does (SUB-6).
func TestInstallationManager_deactivates_on_sublicense_expiry_KEY3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		w.activate("on-key", farm("A"), "k-9", "s-1", "acc-1")
		w.activate("on-primary", farm("B"), "k-1", "s-1", "acc-1")
		expired := w.One(subscription.StreamID("s-1"), subscription.SublicenseExpired{KeyID: "k-9", KeyName: "Lyon", ExpiresAt: t0, Quota: 2})
		w.Rebuild("installation_manager")
		w.expect("KEY-3 the sublicense's farm", projections.TimerKindDeactivate, "on-key", expired, expired.At, "expired", "pending")
		if got := w.pending(); len(got) != 1 {
			t.Errorf("pending timers %v, want the one deactivation of the sublicense's farm", got)
		}
	})
}

// Rule KEY-3: the lifecycle plans a sublicense's lapse at its own expiry
// and, once its grace has started, its expiry 30 days later.
func TestLifecycle_plans_a_sublicense_lapse_KEY3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newWorld(t, target, projections.Lifecycle{Scheduler: timers.Scheduler{}})
		expiry := t0.AddDate(0, 2, 0)
		w.One(subscription.StreamID("s-1"), subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k-9"}, Name: "Lyon", Quota: 2, ExpiresAt: &expiry})
		w.One(subscription.StreamID("s-1"), subscription.SublicenseGraceStarted{KeyID: "k-9", KeyName: "Lyon", ExpiresAt: expiry})
		w.Rebuild("lifecycle")
		rows, err := w.DB.Select(context.Background(), `SELECT id, due_at, payload FROM timers WHERE kind = ? ORDER BY due_at`, projections.TimerKindLapseSublicense)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id, payload string
			var due int64
			if err := rows.Scan(&id, &due, &payload); err != nil {
				t.Fatal(err)
			}
			got = append(got, time.UnixMicro(due).UTC().Format(time.RFC3339)+" "+payload)
		}
		stamp := expiry.Format(time.RFC3339Nano)
		want := []string{
			expiry.Format(time.RFC3339) + ` {"subscription_id":"s-1","key_id":"k-9","end":"` + stamp + `"}`,
			expiry.Add(subscription.GracePeriod).Format(time.RFC3339) + ` {"subscription_id":"s-1","key_id":"k-9","end":"` + stamp + `"}`,
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("KEY-3 lapse timers:\n got %q\nwant %q", got, want)
		}
	})
}
