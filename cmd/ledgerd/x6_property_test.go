package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/infra/farmclient"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// The X-6 property test: a random schedule of usage reports, purchases of
// seats, renewals and clock moves, run on two fresh servers — once with
// one big advance per gap, once with every gap cut into many small
// advances at random places — records the same events, with the same
// effective and recorded times, on every subscription, key and
// installation, and answers every request the same. The seed is printed;
// X6_SEED=n replays one, X6_OPS=n makes the schedule longer.

// x6Op is one step of a schedule: a usage report of an installation, an
// order of seats or a renewal, or a clock move.
type x6Op struct {
	kind  string // report | add_seats | renew | advance
	inst  int    // report: index in x6Installations
	seats int    // report: seats; add_seats: seats added
	sub   string // add_seats, renew: the purchase's order ID
	by    time.Duration
}

func (o x6Op) String() string {
	switch o.kind {
	case "report":
		return fmt.Sprintf("report %s %d", x6Installations[o.inst].name, o.seats)
	case "add_seats":
		return fmt.Sprintf("add %d seats to %s", o.seats, o.sub)
	case "renew":
		return "renew " + o.sub
	}
	return "advance " + o.by.String()
}

// x6Installations are the schedule's installations: farms on a monthly
// subscription's primary key, on a yearly one's primary and on a
// sublicense of it that expires on day 12 (KEY-3), and a proxy server on
// a monthly managed-computers subscription (USE-6).
var x6Installations = []struct {
	name, key string // key: "A", "B", "B-lyon", "C"
	proxy     bool
	quota     int
}{
	{"F1", "A", false, 10}, {"F2", "B", false, 3}, {"F3", "B-lyon", false, 2}, {"P1", "C", true, 3},
}

// x6Schedule draws a schedule of n steps from rng; it ends with every
// installation back within its quota and a long last move, past the
// monthly subscriptions' grace and expiry (SUB-6) and the sublicense's
// (KEY-3).
func x6Schedule(rng *rand.Rand, n int) []x6Op {
	var ops []x6Op
	for range n {
		switch p := rng.IntN(100); {
		case p < 45:
			i := rng.IntN(len(x6Installations))
			ops = append(ops, x6Op{kind: "report", inst: i, seats: rng.IntN(x6Installations[i].quota + 5)})
		case p < 53:
			ops = append(ops, x6Op{kind: "add_seats", sub: []string{"x6-a", "x6-b", "x6-c"}[rng.IntN(3)], seats: 1 + rng.IntN(3)})
		case p < 60:
			ops = append(ops, x6Op{kind: "renew", sub: []string{"x6-a", "x6-c"}[rng.IntN(2)]})
		default:
			// Mostly minutes to days, now and then most of a week: a
			// 7-day grace ends within one gap or across several.
			var by time.Duration
			switch q := rng.IntN(20); {
			case q < 11:
				by = time.Duration(10+rng.IntN(170)) * time.Minute
			case q < 19:
				by = time.Duration(3+rng.IntN(69)) * time.Hour
			default:
				by = time.Duration(3*24+rng.IntN(5*24)) * time.Hour
			}
			ops = append(ops, x6Op{kind: "advance", by: by})
		}
	}
	for i := range x6Installations {
		ops = append(ops, x6Op{kind: "report", inst: i, seats: 0})
	}
	return append(ops, x6Op{kind: "advance", by: 64 * 24 * time.Hour})
}

// x6Run is one server running a schedule.
type x6Run struct {
	t      *testing.T
	m      *Main
	office *client
	farm   *farmclient.Client
	creds  []string
	// ids maps the run's random IDs (keys, installations, the account,
	// its admin) to names both runs share.
	ids      map[string]string
	answers  []string
	advances int
}

// x6Start boots a server on target and sets the scene: the products, the
// purchases registered to ada's business account, a sublicense with its
// own expiry, and the installations.
func x6Start(t *testing.T, target sqldb.Target) *x6Run {
	t.Helper()
	m, _ := peopleServer(t, target)
	r := &x6Run{t: t, m: m, farm: &farmclient.Client{BaseURL: "http://" + m.Addr()}, ids: map[string]string{}}
	r.office = newClient(t, m)
	r.office.bearer = adminToken
	// An advance answers once every timer on its way has recorded its
	// effects: a week of a suspended farm's re-validations under -race
	// on a busy machine takes longer than a client's usual patience.
	r.office.http.Timeout = 10 * time.Minute
	r.office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	r.office.must(200, "PUT", "/v1/products/ras-mdm", map[string]any{"name": "Device Management", "model": "managed_computers",
		"trial": map[string]any{"days": 0, "seats": 0}, "major_version": 2})
	buy := func(order, product string, seats int, period string) string {
		return r.office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": order, "product_id": product,
			"seats": seats, "period": period, "channel": "online", "support_plan": "standard"}).str("key")
	}
	keys := map[string]string{"A": buy("x6-a", "ras", 10, "1m"), "B": buy("x6-b", "ras", 5, "1y"), "C": buy("x6-c", "ras-mdm", 3, "1m")}
	ada := newClient(t, m)
	r.ids[ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com")).str("person_id")] = "person:ada"
	ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
	ada.bearer = ada.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "x6"}).str("token")
	company := map[string]any{"name": "Acme GmbH", "country": "DE", "zip": "8200", "phone": "+41 52 672 20 30"}
	acc := ada.must(201, "POST", "/v1/keys/register", map[string]any{"key": keys["A"], "company": company}).str("account_id")
	r.ids[acc] = "account:acme"
	for _, k := range []string{"B", "C"} {
		ada.must(200, "POST", "/v1/keys/register", map[string]any{"key": keys[k], "account_id": acc})
	}
	lyon := ada.must(201, "POST", "/v1/subscriptions/"+subscriptionIDOf("x6-b")+"/keys", map[string]any{"name": "Lyon", "quota": 2,
		"expires_at": clockStart.AddDate(0, 0, 12).Format(time.RFC3339)})
	keys["B-lyon"] = lyon.str("key")
	r.ids[lyon.str("key_id")] = "key:B-lyon"
	for _, in := range x6Installations {
		id := farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-" + in.name, FarmName: in.name, AppVersion: "19.2"}
		if in.proxy {
			id = farmclient.Identity{Kind: farmclient.KindProxyServer, ServerName: in.name, SiteCode: "S" + in.name, AppVersion: "2.1"}
		}
		act, err := r.farm.Activate(t.Context(), keys[in.key], id)
		if err != nil {
			t.Fatalf("activate %s: %v", in.name, err)
		}
		r.creds = append(r.creds, act.Credential)
		r.ids[act.InstallationID] = "installation:" + in.name
		r.ids[act.License.KeyID] = "key:" + in.key
	}
	return r
}

// subscriptionIDOf is the subscription a purchase order issues.
func subscriptionIDOf(order string) string { return commands.SubscriptionID(order) }

// do runs op; an advance moves the clock by each of steps (one step for
// op.by when steps is nil). It keeps every answer, normalized.
func (r *x6Run) do(op x6Op, steps []time.Duration) {
	r.t.Helper()
	ctx := r.t.Context()
	switch op.kind {
	case "report":
		a, err := r.farm.Report(ctx, r.creds[op.inst], farmclient.SeatsReport(op.seats, time.Time{}), "")
		r.answers = append(r.answers, op.String()+" → "+x6Answer(a, err))
	case "add_seats", "renew":
		body := map[string]any{"kind": op.kind, "order_id": fmt.Sprintf("x6-order-%d", len(r.answers)), "subscription_id": subscriptionIDOf(op.sub)}
		if op.kind == "add_seats" {
			body["seats"] = op.seats
		} else {
			// The order kind is "renewal": "renew" was refused as an
			// unknown kind, so the schedules renewed nothing.
			body["kind"], body["period"] = "renewal", "1m"
		}
		a := r.office.do("POST", "/v1/orders", body)
		r.answers = append(r.answers, fmt.Sprintf("%s → %d %s", op, a.status, a.problemType()))
	case "advance":
		if steps == nil {
			steps = []time.Duration{op.by}
		}
		for _, d := range steps {
			r.office.must(200, "POST", "/admin/clock/advance", map[string]any{"by": d.String()})
			r.advances++
		}
		r.answers = append(r.answers, op.String()+" → "+ledgerAt(r.t, r.office).Format(time.RFC3339))
	}
}

// x6Answer is a report's answer as both runs must give it.
func x6Answer(a farmclient.ReportAnswer, err error) string {
	if err != nil {
		if p, ok := err.(*farmclient.ProblemError); ok {
			return "refused " + p.Slug()
		}
		return "error " + err.Error()
	}
	s := fmt.Sprintf("%s seats %d quota %d peak %d over %v limit %v", a.Status, a.Seats, a.Quota, a.Peak, a.OverQuota, a.OverLimit)
	if g := a.Grace; g != nil {
		s += " grace " + g.State
		for _, at := range []*time.Time{g.Ends, g.Ended} {
			if at != nil {
				s += " " + at.UTC().Format(time.RFC3339)
			}
		}
	}
	return s
}

// x6Event is an event as both runs must record it.
type x6Event struct {
	Stream, Type, Command, Actor string
	Version                      uint64
	Effective, Recorded          time.Time
	Data                         string
}

// x6Volatile are payload fields that hold a run's random key material.
var x6Volatile = map[string]bool{"lookup": true, "sealed": true, "hint": true, "key_hint": true}

// events returns the run's subscription, key and installation streams,
// their random IDs replaced by shared names.
func (r *x6Run) events() map[string][]x6Event {
	r.t.Helper()
	rename := func(s string) string {
		for id, name := range r.ids {
			s = strings.ReplaceAll(s, id, name)
		}
		return s
	}
	out := map[string][]x6Event{}
	for after := uint64(0); ; {
		page, err := r.m.Store.ReadAll(context.Background(), after, 1000)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, rec := range page {
			after = rec.Position
			if !strings.HasPrefix(rec.StreamID, "subscription-") && !strings.HasPrefix(rec.StreamID, "licensekey-") &&
				!strings.HasPrefix(rec.StreamID, "installation-") {
				continue
			}
			var data any
			if err := json.Unmarshal(rec.Data, &data); err != nil {
				r.t.Fatal(err)
			}
			scrub(data)
			norm, _ := json.Marshal(data)
			stream := rename(rec.StreamID)
			out[stream] = append(out[stream], x6Event{Stream: stream, Type: rec.Type, Command: rec.Metadata.Command,
				Actor: rename(rec.Metadata.Actor.Kind.String() + "/" + rec.Metadata.Actor.ID), Version: rec.Version,
				Effective: rec.Effective(), Recorded: rec.RecordedAt, Data: rename(string(norm))})
		}
		if len(page) < 1000 {
			return out
		}
	}
}

// scrub drops the volatile fields of a decoded payload, in place.
func scrub(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if x6Volatile[k] {
				delete(v, k)
				continue
			}
			scrub(e)
		}
	case []any:
		for _, e := range v {
			scrub(e)
		}
	}
}

// Rule X-6: one big advance per gap and many small steps record the same
// events with the same effective (and recorded) times, on SQLite and
// PostgreSQL, through the real server.
func TestClockAdvance_property_one_jump_records_what_small_steps_record_X6(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("X6_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("X6_SEED=%q: %v", s, err)
		}
	}
	n := 30
	if s := os.Getenv("X6_OPS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	t.Logf("X6_SEED=%d X6_OPS=%d", seed, n)
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		rng := rand.New(rand.NewPCG(seed, 1))
		ops := x6Schedule(rng, n)
		// The small steps of each gap, drawn once for the schedule: 5
		// minutes to 4 hours, or to a fortieth of a long gap.
		cuts := make([][]time.Duration, len(ops))
		for i, op := range ops {
			if op.kind != "advance" {
				continue
			}
			longest := max(4*time.Hour, op.by/40)
			for left := op.by; left > 0; {
				d := min(left, 5*time.Minute+time.Duration(rng.Int64N(int64(longest-5*time.Minute))))
				cuts[i] = append(cuts[i], d)
				left -= d
			}
		}
		second := sqldbtest.SQLite
		if target.Engine == sqldb.Postgres {
			second = sqldbtest.Postgres
		}
		jump, steps := x6Start(t, target), x6Start(t, second(t))
		for i, op := range ops {
			jump.do(op, nil)
			steps.do(op, cuts[i])
		}
		if !slices.Equal(jump.answers, steps.answers) {
			t.Fatalf("X-6 (seed %d) the answers differ:\none jump per gap:\n%s\nsmall steps:\n%s", seed,
				strings.Join(jump.answers, "\n"), strings.Join(steps.answers, "\n"))
		}
		a, b := jump.events(), steps.events()
		compareStreams(t, seed, a, b)
		total, byType := 0, map[string]int{}
		for _, evs := range a {
			total += len(evs)
			for _, e := range evs {
				byType[strings.TrimPrefix(strings.TrimPrefix(e.Type, "installation."), "subscription.")]++
			}
		}
		t.Logf("seed %d: %d steps, %d events on %d streams; %d advances in one run, %d in the other; by type: %v",
			seed, len(ops), total, len(a), jump.advances, steps.advances, byType)
	})
}

// compareStreams fails the test at the first stream whose events differ.
func compareStreams(t *testing.T, seed uint64, a, b map[string][]x6Event) {
	t.Helper()
	var streams []string
	for s := range a {
		streams = append(streams, s)
	}
	for s := range b {
		if _, ok := a[s]; !ok {
			streams = append(streams, s)
		}
	}
	slices.Sort(streams)
	for _, s := range streams {
		if slices.Equal(a[s], b[s]) {
			continue
		}
		var wa, wb bytes.Buffer
		for _, e := range a[s] {
			fmt.Fprintf(&wa, "  %d %s eff %s rec %s %s\n", e.Version, e.Type, e.Effective.Format(time.RFC3339Nano), e.Recorded.Format(time.RFC3339Nano), e.Data)
		}
		for _, e := range b[s] {
			fmt.Fprintf(&wb, "  %d %s eff %s rec %s %s\n", e.Version, e.Type, e.Effective.Format(time.RFC3339Nano), e.Recorded.Format(time.RFC3339Nano), e.Data)
		}
		t.Fatalf("X-6 (seed %d) stream %s differs:\none jump per gap:\n%s\nsmall steps:\n%s", seed, s, wa.String(), wb.String())
	}
}
