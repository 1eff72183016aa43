package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/queries"
)

// financeServer is a server whose finance API reconciles a small log
// written on target, as the commands write it, at the times given:
//
//	03-01 10:00 sub-h bought with 10 seats, registered to acc-h
//	03-01 10:01 sublicense ks "Ops" of 4 seats (the primary kp keeps 6)
//	03-01 10:02 farm F activated on kp
//	03-01 11:00 F reports 5
//	03-02 09:00 F reports 8 > 6: a grace starts (USE-3)
//	03-02 10:00 3 seats added: kp's quota is 9 (KEY-4)
//	03-02 12:00 ks renamed "=SUM(A1)"
//	03-03 08:00 F reports 20, after the period of March 2
func financeServer(t *testing.T, target sqldb.Target, withLog bool) *Server {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := events.Registry()
	at := func(day, h, m int, stream string, payloads ...any) {
		t.Helper()
		if err := clk.Set(time.Date(2026, 3, day, h, m, 0, 0, time.UTC)); err != nil {
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
		if _, err := store.Append(ctx, stream, event.Any(), evs...); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	farm := installation.ID("farm/srv-h", "kp")
	sub := subscription.StreamID("sub-h")
	at(1, 10, 0, sub, subscription.Purchased{SubscriptionID: "sub-h", OrderID: "o-1", OrderDigest: "d", ProductID: "ras", Seats: 10,
		Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard, Start: start, End: start.AddDate(1, 0, 0),
		PrimaryKey: subscription.SealedKey{KeyID: "kp", Hint: "HP"}},
		subscription.Registered{AccountID: "acc-h", By: "ada"})
	at(1, 10, 1, sub, subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "ks", Hint: "HS"}, Name: "Ops", Quota: 4, By: "ada"})
	at(1, 10, 2, installation.StreamID(farm), installation.Activated{InstallationID: farm, Mode: installation.Online,
		Identity: installation.Identity{Kind: installation.Farm, ServerID: "srv-h", FarmName: "H", AppVersion: "1"},
		KeyID:    "kp", SubscriptionID: "sub-h", ProductID: "ras", Model: product.ConcurrentUsers, Generation: 1})
	report := func(day, h, seats, quota int, decided ...any) {
		observed := time.Date(2026, 3, day, h, 0, 0, 0, time.UTC)
		at(day, h, 0, installation.StreamID(farm), append([]any{installation.UsageReported{Seats: seats, ObservedAt: observed, Current: true, Quota: quota}}, decided...)...)
	}
	report(1, 11, 5, 6)
	report(2, 9, 8, 6, installation.GraceStarted{Seats: 8, Quota: 6, Ends: time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)})
	at(2, 10, 0, sub, subscription.SeatsAdded{OrderID: "o-2", OrderDigest: "d2", Seats: 3})
	at(2, 12, 0, sub, subscription.SublicenseRenamed{KeyID: "ks", Name: "=SUM(A1)", By: "ada"})
	report(3, 8, 20, 9)

	cfg := &PeopleConfig{Commands: backOfficeCommands(t), Reads: db, Sessions: &session.Store{}, TermsVersion: "test"}
	if withLog {
		cfg.FinanceLog = func(ctx context.Context, fn func([]event.Record) error) error {
			head, err := store.Head(ctx)
			if err != nil {
				return err
			}
			return eventstore.ScanLog(ctx, store, 0, head, 3, 2, fn)
		}
	}
	s, _ := newTestServer(t, Config{People: cfg})
	return s
}

// The reconciliation over HTTP, JSON and CSV, on both engines (USE-2
// peak, USE-3 grace, USE-4 incident, KEY-4 allocation): figures
// computed by hand from financeServer's log for March 2.
func TestReconciliation_JSON_and_CSV_USE2_USE3_USE4_KEY4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		s := financeServer(t, target, true)
		admin := "Bearer " + testToken
		const path = "/v1/finance/reconciliation?from=2026-03-02&to=2026-03-02"

		w := do(t, s, http.MethodGet, path, nil, "Authorization", admin)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("JSON: %d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		var rec queries.Reconciliation
		if err := json.Unmarshal(w.Body.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		// 10 seats at the start, 13 at the end; ks 4, kp 13 − 4 = 9; F
		// at 5 when the day starts, 8 at 09:00 (the peak), still 8 at
		// the end (its 20 of March 3 is after the period); the incident
		// 8 > 6 from 09:00 until the added seats at 10:00 make kp's
		// quota 9; its grace started at 09:00.
		nine, ten := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		want := queries.SubscriptionReconciliation{SubscriptionID: "sub-h", AccountID: "acc-h", ProductID: "ras", Status: "active",
			SeatsAtStart: 10, SeatsPurchased: 13, SeatsChange: 3, SublicenseSeats: 4, PrimaryRemainder: 9, InUse: 8, Peak: 8,
			OveruseIncidents: 1, GracePeriodsUsed: 1,
			Keys: []queries.KeyAllocation{
				{KeyID: "kp", Type: "primary", Name: "Primary", Hint: "HP", Quota: 9, InUse: 8, Peak: 8},
				{KeyID: "ks", Type: "reserved", Name: "=SUM(A1)", Hint: "HS", Quota: 4},
			},
			Incidents: []queries.OveruseIncident{{SubscriptionID: "sub-h", KeyID: "kp", InstallationID: installation.ID("farm/srv-h", "kp"),
				Start: nine, End: &ten, Quota: 6, Peak: 8, GraceStartedAt: &nine}},
		}
		g, _ := json.Marshal(rec.Subscriptions)
		x, _ := json.Marshal([]queries.SubscriptionReconciliation{want})
		if string(g) != string(x) {
			t.Errorf("subscriptions:\n%s\nwant\n%s", g, x)
		}
		if rec.Total.Peak != 8 || rec.Total.SeatsPurchased != 13 || len(rec.Exceptions) != 0 ||
			!rec.From.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) || !rec.To.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("total %+v, exceptions %v, period %s–%s", rec.Total, rec.Exceptions, rec.From, rec.To)
		}

		wantSubs := "subscription_id,account_id,product_id,status,seats_at_start,seats_purchased,seats_change,sublicense_seats,primary_remainder,keys,in_use,peak,overuse_incidents,open_incidents,grace_periods_used,suspensions,exceptions\n" +
			"sub-h,acc-h,ras,active,10,13,3,4,9,2,8,8,1,0,1,0,0\n" +
			"TOTAL,,,,10,13,3,4,9,2,8,8,1,0,1,0,0\n"
		for _, c := range []struct{ query, accept, want string }{
			{"&format=csv", "", wantSubs},
			{"", "text/csv", wantSubs}, // by Accept
			{"&format=csv&part=keys", "application/json", "subscription_id,key_id,type,name,hint,quota,expires_at,deleted_at,in_use,peak\n" +
				"sub-h,kp,primary,Primary,HP,9,,,8,8\n" +
				"sub-h,ks,reserved,'=SUM(A1),HS,4,,,0,0\n"}, // a formula is quoted
			{"&format=csv&part=exceptions&subscription=sub-h", "", "kind,subscription_id,key_id,installation_id,first,last,count,message\n"},
		} {
			w := do(t, s, http.MethodGet, path+c.query, nil, "Authorization", admin, "Accept", c.accept)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
				!strings.HasPrefix(w.Header().Get("Content-Disposition"), `attachment; filename="reconciliation-20260302T000000Z-20260303T000000Z-`) {
				t.Errorf("%s: %d %v", c.query, w.Code, w.Header())
			}
			if w.Body.String() != c.want {
				t.Errorf("%s:\n%s\nwant\n%s", c.query, w.Body, c.want)
			}
		}
	})
}

// Bad requests are 400 problems naming the parameter, before the log is
// read; no caller but the back office reconciles; nothing is a 500.
func TestReconciliation_refuses_bad_requests(t *testing.T) {
	t.Parallel()
	s := financeServer(t, sqldbtest.SQLite(t), true)
	admin := "Bearer " + testToken
	for _, c := range []struct {
		query       string
		status      int
		field, says string
	}{
		{"", 400, "from", "from is required"},
		{"?from=2026-03-02", 400, "to", "to is required"},
		{"?from=last+week&to=2026-03-02", 400, "from", "neither a date"},
		{"?from=2026-03-02&to=2026-02-30", 400, "to", "neither a date"},
		{"?from=2026-03-02&to=2026-03-01", 400, "to", "before from"},
		{"?from=2026-03-02T10:00:00Z&to=2026-03-02T10:00:00Z", 400, "to", "empty"},
		{"?from=2026-03-02&to=2026-03-02&format=xml", 400, "format", "json or csv"},
		{"?from=2026-03-02&to=2026-03-02&format=csv&part=everything", 400, "part", "one of subscriptions, keys, incidents, exceptions"},
		{"?from=2026-03-02&to=2026-03-02&part=keys", 400, "part", "format=csv"},
		{"?from=2026-03-02&to=2026-03-02&subscription=sub-nope", 404, "subscription", `no subscription "sub-nope"`},
		// Bought on March 1: it does not exist in February.
		{"?from=2026-02-01&to=2026-02-28&subscription=sub-h", 404, "subscription", "purchased before 2026-03-01T00:00:00Z"},
	} {
		w := do(t, s, http.MethodGet, "/v1/finance/reconciliation"+c.query, nil, append([]string{"Authorization", admin}, badInput...)...)
		p := problemOf(t, w)
		if w.Code != c.status || len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != c.field || !strings.Contains(p.Detail, c.says) {
			t.Errorf("%q = %d %+v; want %d naming %s, saying %q", c.query, w.Code, p, c.status, c.field, c.says)
		}
	}
	const ok = "/v1/finance/reconciliation?from=2026-03-02&to=2026-03-02"
	if w := do(t, s, http.MethodGet, ok, nil); w.Code != http.StatusUnauthorized || problemOf(t, w).Type != ProblemUnauthorized.URI() {
		t.Errorf("without a token: %d %s", w.Code, w.Body)
	}
	// A server without the log answers 503.
	off := financeServer(t, sqldbtest.SQLite(t), false)
	if w := do(t, off, http.MethodGet, ok, nil, "Authorization", admin); w.Code != http.StatusServiceUnavailable {
		t.Errorf("not configured: %d %s", w.Code, w.Body)
	}
}
