package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// The stories of issue 25, as a new user met them against the running
// server on the simulated clock, end to end on SQLite and PostgreSQL.

// historyEvent is one event of GET /v1/history/{kind}/{id}.
type historyEvent struct {
	Type        string          `json:"type"`
	EffectiveAt time.Time       `json:"effective_at"`
	RecordedAt  time.Time       `json:"recorded_at"`
	Data        json.RawMessage `json:"data"`
}

// history returns every event of entity kind/id, oldest first, as the
// back office reads it from the log.
func history(t *testing.T, office *client, kind, id string) []historyEvent {
	t.Helper()
	r := office.must(200, "GET", "/v1/history/"+kind+"/"+url.PathEscape(id)+"?limit=1000", nil)
	var page struct {
		Events []historyEvent `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.raw), &page); err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// ofType keeps the events of type typ.
func ofType(evs []historyEvent, typ string) []historyEvent {
	var out []historyEvent
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// advanceBy moves the server's clock by d and returns its answer: it comes
// once every timer due on the way has recorded its effects, with
// the position to read at, which the clients given wait for.
func advanceBy(t *testing.T, office *client, d time.Duration, readers ...*client) reply {
	t.Helper()
	r := office.must(200, "POST", "/admin/clock/advance", map[string]any{"by": d.String()})
	pos, err := strconv.ParseUint(r.header.Get("X-Ledger-Position"), 10, 64)
	if err != nil || r.body["position"] != float64(pos) || r.body["timers_fired"] == nil {
		t.Fatalf("X-6 an advance answers with the position to read at and the timers fired: %s (header %q)", r.raw, r.header.Get("X-Ledger-Position"))
	}
	for _, c := range readers {
		c.minPos = max(c.minPos, pos)
	}
	return r
}

// ledgerAt is the server's clock.
func ledgerAt(t *testing.T, office *client) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, office.must(200, "GET", "/admin/clock", nil).str("now"))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// Issue 25 item 3, rules X-6, USE-4: time passes like time. A farm over
// its quota at the end of its grace: one jump from day 6 of the grace to
// its end + 30 min records the excess at the grace's end (not at the
// jump) and no suspension yet, since it is due an hour after the end; the
// answer comes once that is recorded. The next jump records the
// suspension at end + 1 h — within the guide's 1–2 h — and the
// re-validations every 20 minutes after it, each at its own time, and
// the suspension's mail is dated by the ledger, not the wall clock. The
// report's answer says the grace is used (USE-4, USE-5). ledger clock
// advance prints what the server did.
func TestClockAdvance_records_each_effect_at_its_due_time_X6_USE4_USE5(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		office, _, key, _, _ := installationsAccount(t, m, "ras", 10)
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		act, err := farm.Activate(ctx, key, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-x6", FarmName: "Lyon", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		report := func(n int) farmclient.ReportAnswer {
			t.Helper()
			r, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(n, time.Time{}), "")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := report(12)
		if r.Grace == nil || r.Grace.State != "running" || r.Grace.Ends == nil || r.GraceEnds == nil || !r.Grace.Ends.Equal(*r.GraceEnds) {
			t.Fatalf("USE-3 12 of 10: the grace runs: %+v", r.Grace)
		}
		end := *r.Grace.Ends
		advanceBy(t, office, 6*24*time.Hour)
		advanceBy(t, office, end.Sub(ledgerAt(t, office))+30*time.Minute)

		evs := history(t, office, "installations", act.InstallationID)
		detected := ofType(evs, "installation.overuse_detected")
		if len(detected) != 1 || !detected[0].EffectiveAt.Equal(end) || !detected[0].RecordedAt.Equal(end) {
			t.Fatalf("X-6 the excess at the grace's end is recorded at the end %v: %+v", end, detected)
		}
		var d struct {
			DeactivateAt time.Time `json:"deactivate_at"`
		}
		if err := json.Unmarshal(detected[0].Data, &d); err != nil || !d.DeactivateAt.Equal(end.Add(time.Hour)) {
			t.Fatalf("USE-4 the suspension is due an hour after the grace's end: %s", detected[0].Data)
		}
		if got := ofType(evs, "installation.suspended_for_overuse"); len(got) != 0 {
			t.Fatalf("X-6 a jump to the end + 30 min suspended the farm: %+v", got)
		}
		if l, err := farm.License(ctx, act.Credential); err != nil || l.Status != "active" {
			t.Fatalf("at the end + 30 min: %+v %v", l, err)
		}
		// USE-4, USE-5: the grace is used; the answer says so.
		r = report(12)
		if r.Grace == nil || r.Grace.State != "used" || r.Grace.Ended == nil || !r.Grace.Ended.Equal(end) || r.GraceEnds != nil {
			t.Fatalf("USE-4 after the grace: %+v (grace_ends %v)", r.Grace, r.GraceEnds)
		}

		// One jump of two hours: the suspension at end + 1 h, then a
		// re-validation every 20 minutes, each at its own time.
		answer := advanceBy(t, office, 2*time.Hour)
		if answer.body["timers_fired"].(float64) < 5 {
			t.Errorf("X-6 two hours past a suspension fired %v timers", answer.body["timers_fired"])
		}
		evs = history(t, office, "installations", act.InstallationID)
		suspended := ofType(evs, "installation.suspended_for_overuse")
		if len(suspended) != 1 || !suspended[0].EffectiveAt.Equal(end.Add(time.Hour)) {
			t.Fatalf("X-6, USE-4 suspended at the end + 1 h (%v): %+v", end.Add(time.Hour), suspended)
		}
		var revalidated []string
		for _, e := range ofType(evs, "installation.overuse_revalidated") {
			revalidated = append(revalidated, e.EffectiveAt.Sub(end).String())
		}
		if want := "1h20m0s,1h40m0s,2h0m0s,2h20m0s"; strings.Join(revalidated, ",") != want {
			t.Errorf("X-6, USE-4 re-validations after the end at %v, want %s", revalidated, want)
		}
		if l, err := farm.License(ctx, act.Credential); err != nil || l.Status != "suspended" {
			t.Fatalf("after the jump: %+v %v", l, err)
		}
		mail := smtp.WaitFor(t, "ada@example.com", "deactivated for overuse", 15*time.Second)
		if date, err := mail.Header.Date(); err != nil || !date.Equal(end.Add(time.Hour)) {
			t.Errorf("issue 25: the suspension's mail is dated %v (%v), want the ledger's %v", date, err, end.Add(time.Hour))
		}

		// The CLI answers once the effects are recorded, and says so.
		out := ledgerCLIRun(t, m, "clock", "advance", "20m")
		if !strings.Contains(out, "advanced 20m from ") || !strings.Contains(out, "1 timers fired on the way, each at its due time; read at position ") {
			t.Errorf("ledger clock advance printed %q", out)
		}
	})
}

// ledgerCLIRun runs the ledger command against m with the admin token.
func ledgerCLIRun(t *testing.T, m *Main, args ...string) string {
	t.Helper()
	bin, err := ledgerCLI()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "LEDGER_URL=http://"+m.Addr(), "LEDGER_ADMIN_TOKEN="+adminToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ledger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// farmNames lists the farm names of a farms list answer.
func farmNames(r reply) string {
	var names []string
	rows, _ := r.body["installations"].([]any)
	for _, row := range rows {
		i := row.(map[string]any)
		names = append(names, fmt.Sprintf("%s:%s", i["farm_name"], i["status"]))
	}
	return strings.Join(names, ",")
}

// Issue 25 items 1 and 2, rules ACT-7, INST-2, INST-5, KEY-8: a key
// leaves a dead server. The admin deactivates farm C in the portal; C was
// stolen and never calls again. Until its key moves, C is listed under
// active with its pending status and counted on the dashboard (as
// pending too); three days later farm D activates with the key — a
// change of installation — and C is listed as deactivated, and refused
// if it ever calls.
func TestPortalDeactivation_lets_the_key_leave_a_dead_server_ACT7_INST2_INST5_KEY8(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		office, ada, key, acc, sub := installationsAccount(t, m, "ras", 10)
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		c, err := farm.Activate(ctx, key, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-c", FarmName: "C", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := farm.Report(ctx, c.Credential, farmclient.SeatsReport(6, time.Time{}), ""); err != nil {
			t.Fatal(err)
		}
		ada.must(200, "POST", "/v1/accounts/"+acc+"/installations/deactivate", map[string]any{"installation_ids": []string{c.InstallationID}})
		farms := "/v1/accounts/" + acc + "/farms"
		for filter, want := range map[string]string{"all": "C:deactivation_pending", "active": "C:deactivation_pending",
			"expiring": "", "expired": "", "deactivated": ""} {
			if got := farmNames(ada.must(200, "GET", farms+"?status="+filter, nil)); got != want {
				t.Errorf("INST-2 %s after the portal's deactivation: %q, want %q", filter, got, want)
			}
		}
		card := ada.must(200, "GET", "/v1/accounts/"+acc+"/dashboard", nil).body["products"].([]any)[0].(map[string]any)
		if card["prepaid_farms"] != 1.0 || card["deactivation_pending"] != 1.0 {
			t.Errorf("INST-5 the dashboard while C is pending: %v", card)
		}
		keys := ada.must(200, "GET", "/v1/subscriptions/"+sub, nil).body["keys"].([]any)
		if k := keys[0].(map[string]any); k["used"] != 0.0 || k["vacant"] != 10.0 {
			t.Errorf("ACT-7, KEY-7 the key C let go: %v", k)
		}

		advanceBy(t, office, 3*24*time.Hour, ada)
		d, err := farm.Activate(ctx, key, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-d", FarmName: "D", AppVersion: "19.2"})
		if err != nil {
			t.Fatalf("ACT-7 the key three days after C's portal deactivation: %v", err)
		}
		ada.minPos = max(ada.minPos, d.Position)
		for filter, want := range map[string]string{"all": "D:active,C:deactivated", "active": "D:active", "deactivated": "C:deactivated"} {
			if got := farmNames(ada.must(200, "GET", farms+"?status="+filter, nil)); got != want {
				t.Errorf("INST-2 %s once the key activates D: %q, want %q", filter, got, want)
			}
		}
		card = ada.must(200, "GET", "/v1/accounts/"+acc+"/dashboard", nil).body["products"].([]any)[0].(map[string]any)
		if card["prepaid_farms"] != 1.0 || card["deactivation_pending"] != 0.0 {
			t.Errorf("INST-5 the dashboard once D holds the key: %v", card)
		}
		if _, err := farm.Report(ctx, c.Credential, farmclient.SeatsReport(6, time.Time{}), ""); !farmclient.IsProblem(err, "deactivated") {
			t.Fatalf("ACT-7, ACT-8 the stolen farm calls after all: %v", err)
		}
		binds := ofType(history(t, office, "keys", c.License.KeyID), "license_key.bound")
		if len(binds) != 2 || !strings.Contains(string(binds[1].Data), `"change":true,"changes":1`) {
			t.Errorf("KEY-8 D's activation is a change of installation: %+v", binds)
		}
	})
}

// Issue 25 item 5, rule USE-6: an accepted enrollment counts at once.
// Two enrollment checks of 2 computers each on a 2-seat proxy server,
// with no usage report between them: the first is accepted and counted,
// the second refused; the list shows the registered computers; the next
// report replaces the count.
func TestEnrollment_counts_at_once_USE6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		_, ada, key, acc, _ := installationsAccount(t, m, "ras-mdm", 2)
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		px, err := farm.Activate(ctx, key, farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: "px-lyon", SiteCode: "LYS", AppVersion: "2.1"})
		if err != nil {
			t.Fatal(err)
		}
		e, err := farm.Enroll(ctx, px.Credential, 2)
		if err != nil || !e.Allowed || e.Managed != 2 || e.Limit != 2 || e.Position == 0 {
			t.Fatalf("USE-6 the first enrollment of 2 on 2 seats: %+v %v", e, err)
		}
		if _, err := farm.Enroll(ctx, px.Credential, 2); !farmclient.IsProblem(err, "over-limit") {
			t.Fatalf("USE-6 the second enrollment of 2, no report between: %v", err)
		}
		ada.minPos = e.Position
		rows := ada.must(200, "GET", "/v1/accounts/"+acc+"/proxy-servers", nil).body["installations"].([]any)
		if row := rows[0].(map[string]any); row["current_usage"] != 2.0 || row["quota"] != 2.0 {
			t.Errorf("INST-1 registered computers after the enrollment: %v", row)
		}
		if _, err := farm.Report(ctx, px.Credential, farmclient.SeatsReport(0, time.Time{}), ""); err != nil {
			t.Fatal(err)
		}
		if e, err := farm.Enroll(ctx, px.Credential, 2); err != nil || e.Managed != 2 {
			t.Fatalf("USE-6 after a report of 0: %+v %v", e, err)
		}
	})
}

// Issue 25 item 6, rules KEY-3, KEY-4, SUB-6: an expiring sublicense
// lapses. A sublicense with its own expiration date (3 March): its farm's
// reports on 4 and 9 March are accepted — it is in its 30 days of grace,
// mailed, marked in the keys list — then the grace ends, the farm is
// deactivated, the key stops working and its seats return to the primary
// key. Each effect is recorded at its due time.
func TestSublicense_lapses_like_a_subscription_KEY3_KEY4_SUB6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		office, ada, _, _, sub := installationsAccount(t, m, "ras", 10)
		ctx := context.Background()
		expiry := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
		created := ada.must(201, "POST", "/v1/subscriptions/"+sub+"/keys", map[string]any{"name": "Lyon", "quota": 4,
			"expires_at": expiry.Format(time.RFC3339)})
		lyonKey, lyonID := created.str("key"), created.str("key_id")
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		act, err := farm.Activate(ctx, lyonKey, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-lyon", FarmName: "Lyon", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		keyOf := func() map[string]any {
			t.Helper()
			for _, k := range ada.must(200, "GET", "/v1/subscriptions/"+sub, nil).body["keys"].([]any) {
				if k := k.(map[string]any); k["key_id"] == lyonID {
					return k
				}
			}
			t.Fatalf("no key %s", lyonID)
			return nil
		}
		primaryQuota := func() float64 {
			t.Helper()
			return ada.must(200, "GET", "/v1/subscriptions/"+sub, nil).body["keys"].([]any)[0].(map[string]any)["quota"].(float64)
		}
		// 4 March and 9 March: in the grace, the farm's reports are accepted.
		advanceBy(t, office, time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC).Sub(ledgerAt(t, office)), ada)
		if r, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(3, time.Time{}), ""); err != nil || r.Status != "active" {
			t.Fatalf("KEY-3 a report on 4 March, in the grace: %+v %v", r, err)
		}
		if k := keyOf(); k["status"] != "grace" || k["quota"] != 4.0 || primaryQuota() != 6 {
			t.Errorf("KEY-3 the key on 4 March: %v (primary %v)", k, primaryQuota())
		}
		smtp.WaitFor(t, "ada@example.com", "License key Lyon has ended: 30 days of grace", 15*time.Second)
		advanceBy(t, office, 5*24*time.Hour, ada)
		if _, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(3, time.Time{}), ""); err != nil {
			t.Fatalf("KEY-3 a report on 9 March, in the grace: %v", err)
		}
		// 2 April: the grace is over.
		advanceBy(t, office, 24*24*time.Hour, ada)
		if _, err := farm.Report(ctx, act.Credential, farmclient.SeatsReport(3, time.Time{}), ""); !farmclient.IsProblem(err, "deactivated") {
			t.Fatalf("KEY-3 a report after the grace: %v", err)
		}
		if k := keyOf(); k["status"] != "expired" || k["quota"] != 0.0 || primaryQuota() != 10 {
			t.Errorf("KEY-3, KEY-4 the key after the grace: %v (primary %v)", k, primaryQuota())
		}
		if _, err := farm.Activate(ctx, lyonKey, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-other", FarmName: "Other", AppVersion: "19.2"}); !farmclient.IsProblem(err, "expired") {
			t.Fatalf("KEY-3 the expired key activates: %v", err)
		}
		var lapse []string
		for _, e := range history(t, office, "subscriptions", sub) {
			if strings.HasPrefix(e.Type, "subscription.sublicense_grace_started") || strings.HasPrefix(e.Type, "subscription.sublicense_expired") {
				lapse = append(lapse, e.Type+"@"+e.EffectiveAt.Format(time.RFC3339))
			}
		}
		if want := "subscription.sublicense_grace_started@2026-03-03T00:00:00Z,subscription.sublicense_expired@2026-04-02T00:00:00Z"; strings.Join(lapse, ",") != want {
			t.Errorf("X-6, KEY-3 the lapse's effective times: %v, want %s", lapse, want)
		}
		deactivated := ofType(history(t, office, "installations", act.InstallationID), "installation.deactivated")
		if len(deactivated) != 1 || !deactivated[0].EffectiveAt.Equal(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("KEY-3, X-6 the farm's deactivation: %+v", deactivated)
		}
	})
}
