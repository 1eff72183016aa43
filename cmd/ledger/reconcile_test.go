package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/config"
	"seatledger/infra/postgres/pgtest"
	"seatledger/infra/storage"
	"seatledger/queries"
)

// reconcileDatabase writes a small log into the database at url, as the
// commands write it, at the times given, and returns url:
//
//	05-01 10:00 sub-c bought with 6 seats, and a sublicense kc of 2
//	05-01 10:01 farm F activated on the primary kp (quota 4)
//	05-01 11:00 F reports 3
//	05-02 09:00 F reports 6 > 4: a grace starts (USE-3)
//	05-02 09:20 F reports 4: within the quota again
//	05-03 09:00 F deactivated, and reports after: refused (ACT-8)
func reconcileDatabase(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	target, err := config.ParseDatabaseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSimulated(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	s, err := storage.Open(ctx, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := events.Registry()
	at := func(day, h, m int, stream string, payloads ...any) {
		t.Helper()
		if err := clk.Set(time.Date(2026, 5, day, h, m, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		evs := make([]event.Proposed, len(payloads))
		for i, p := range payloads {
			name, _ := reg.NameOf(p)
			data, v, err := reg.Encode(name, p)
			if err != nil {
				t.Fatal(err)
			}
			evs[i] = event.Proposed{Type: name, SchemaVersion: v, Data: data, Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}
		}
		if _, err := s.Store.Append(ctx, stream, event.Any(), evs...); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	farm := installation.ID("farm/srv-c", "kp")
	at(1, 10, 0, subscription.StreamID("sub-c"),
		subscription.Purchased{SubscriptionID: "sub-c", OrderID: "o-1", OrderDigest: "d", ProductID: "ras", Seats: 6,
			Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard, Start: start, End: start.AddDate(1, 0, 0),
			PrimaryKey: subscription.SealedKey{KeyID: "kp", Hint: "HP"}},
		subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "kc", Hint: "HC"}, Name: "Lab", Quota: 2, By: "ada"})
	at(1, 10, 1, installation.StreamID(farm), installation.Activated{InstallationID: farm, Mode: installation.Online,
		Identity: installation.Identity{Kind: installation.Farm, ServerID: "srv-c", FarmName: "C", AppVersion: "1"},
		KeyID:    "kp", SubscriptionID: "sub-c", ProductID: "ras", Model: product.ConcurrentUsers, Generation: 1})
	report := func(day, h, m, seats int, decided ...any) {
		observed := time.Date(2026, 5, day, h, m, 0, 0, time.UTC)
		at(day, h, m, installation.StreamID(farm), append([]any{installation.UsageReported{Seats: seats, ObservedAt: observed, Current: true, Quota: 4}}, decided...)...)
	}
	report(1, 11, 0, 3)
	report(2, 9, 0, 6, installation.GraceStarted{Seats: 6, Quota: 4, Ends: time.Date(2026, 5, 9, 9, 0, 0, 0, time.UTC)})
	report(2, 9, 20, 4)
	at(3, 9, 0, installation.StreamID(farm), installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Online})
	at(3, 10, 0, installation.StreamID(farm), installation.ReportRefused{Seats: 5, ObservedAt: time.Date(2026, 5, 3, 10, 0, 0, 0, time.UTC), Reason: "deactivated"})
	at(3, 11, 0, installation.StreamID(farm), installation.ReportRefused{Seats: 5, ObservedAt: time.Date(2026, 5, 3, 11, 0, 0, 0, time.UTC), Reason: "deactivated"})
	return url
}

// ledger reconcile reads the database directly, on both engines: the
// figures of reconcileDatabase for May 2–3, computed by hand (USE-2 peak,
// USE-3 grace and incident, KEY-4 allocation, ACT-8 refused reports).
func TestReconcile_CSV_and_JSON_from_the_database_USE2_USE3_KEY4_ACT8(t *testing.T) {
	t.Parallel()
	for name, url := range map[string]func(testing.TB) string{
		"sqlite":   func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "ledger.db") },
		"postgres": pgtest.NewDatabase,
	} {
		t.Run(name, func(t *testing.T) {
			db := reconcileDatabase(t, url(t))
			period := []string{"reconcile", "--from", "2026-05-02", "--to", "2026-05-03", "--database-url", db}
			// 6 seats throughout; kc 2, kp 4; F at 3 when May 2 starts,
			// 6 at 09:00 (the peak; an incident until 09:20, with a
			// grace), 4, then 0 once deactivated; two refused reports.
			for _, c := range []struct {
				args []string
				want string
			}{
				{nil, "subscription_id,account_id,product_id,status,seats_at_start,seats_purchased,seats_change,sublicense_seats,primary_remainder,keys,in_use,peak,overuse_incidents,open_incidents,grace_periods_used,suspensions,exceptions\n" +
					"sub-c,,ras,active,6,6,0,2,4,2,0,6,1,0,1,0,1\n" +
					"TOTAL,,,,6,6,0,2,4,2,0,6,1,0,1,0,1\n"},
				{[]string{"--part", "incidents"}, "subscription_id,key_id,installation_id,start,end,quota,peak,grace_started_at,suspended\n" +
					"sub-c,kp," + installation.ID("farm/srv-c", "kp") + ",2026-05-02T09:00:00Z,2026-05-02T09:20:00Z,4,6,2026-05-02T09:00:00Z,false\n"},
				{[]string{"--part", "exceptions", "--subscription", "sub-c"}, "kind,subscription_id,key_id,installation_id,first,last,count,message\n" +
					"report_from_deactivated_installation,sub-c,kp," + installation.ID("farm/srv-c", "kp") +
					",2026-05-03T10:00:00Z,2026-05-03T11:00:00Z,2,the deactivated installation reported 5 seats observed at 2026-05-03T10:00:00Z; the report was refused\n"},
			} {
				code, out, errOut := runCLI(t, nil, append(period, c.args...)...)
				if code != exitOK || out != c.want || errOut != "" {
					t.Errorf("%v: exit %d, stderr %q, stdout\n%s\nwant\n%s", c.args, code, errOut, out, c.want)
				}
			}
			code, out, errOut := runCLI(t, map[string]string{config.EnvDatabaseURL: db}, "reconcile", "--from", "2026-05-02", "--to", "2026-05-03", "--format", "json")
			var rec queries.Reconciliation
			if err := json.Unmarshal([]byte(out), &rec); code != exitOK || err != nil || errOut != "" {
				t.Fatalf("JSON: exit %d, %v, stderr %q: %s", code, err, errOut, out)
			}
			if len(rec.Subscriptions) != 1 || rec.Total.Peak != 6 || rec.Subscriptions[0].Keys[1].Name != "Lab" || len(rec.Exceptions) != 1 {
				t.Errorf("JSON = %s", out)
			}
		})
	}
}

// Bad input is one line on standard error: usage errors (exit 2) before
// the database is opened, an unknown subscription a failure (exit 1).
func TestReconcile_bad_input_is_one_line(t *testing.T) {
	t.Parallel()
	db := reconcileDatabase(t, filepath.Join(t.TempDir(), "ledger.db"))
	for _, c := range []struct {
		args   []string
		code   int
		prefix string
	}{
		{[]string{"--to", "2026-05-03"}, exitUsage, "ledger: --from: from is required"},
		{[]string{"--from", "2026-05-02"}, exitUsage, "ledger: --to: to is required"},
		{[]string{"--from", "May 2", "--to", "2026-05-03"}, exitUsage, `ledger: --from: "May 2" is neither a date`},
		{[]string{"--from", "2026-05-03", "--to", "2026-05-02"}, exitUsage, "ledger: --to: to (2026-05-02) is before from (2026-05-03)"},
		{[]string{"--from", "2026-05-02", "--to", "2026-05-03", "--format", "xlsx"}, exitUsage, `ledger: --format is csv or json, not "xlsx"`},
		{[]string{"--from", "2026-05-02", "--to", "2026-05-03", "--part", "all"}, exitUsage, "ledger: --part is one of subscriptions, keys, incidents, exceptions"},
		{[]string{"--from", "2026-05-02", "--to", "2026-05-03", "--format", "json", "--part", "keys"}, exitUsage, "ledger: --part chooses a CSV table"},
		{[]string{"--from", "2026-05-02", "--to", "2026-05-03", "--databse-url", db}, exitUsage, "ledger: unknown flag: --databse-url"},
		{[]string{"--from", "2026-05-02", "--to", "2026-05-03", "--database-url", "mysql://root:pw@db/x"}, exitUsage, "ledger: --database-url: unsupported scheme"},
		{[]string{"--from", "2026-05-02", "--to", "2026-05-03", "--database-url", db, "--subscription", "sub-x"}, exitFailure, `ledger: queries: not found: no subscription "sub-x" was purchased before 2026-05-04T00:00:00Z`},
	} {
		code, out, errOut := runCLI(t, nil, append([]string{"reconcile"}, c.args...)...)
		if code != c.code || out != "" {
			t.Errorf("%v: exit %d (want %d), stdout %q", c.args, code, c.code, out)
		}
		wantOneLine(t, errOut, c.prefix)
	}
}
