package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"seatledger/infra/httpapi"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// logHead is the position of the log's last event.
func logHead(t testing.TB, m *Main) uint64 {
	t.Helper()
	h, err := m.Store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Issue 16 (rules SUB-8, USE-1, PROD-3, X-7): what callers who need no
// account can make the ledger store is bounded. Trial activations are
// limited per client address and per server, usage reports per
// installation (429 with Retry-After, nothing recorded); a report's
// connection list is bounded and stored as its summary, so the log grows
// by a few hundred bytes per report.
func TestLimits_bound_what_anonymous_and_installation_callers_store(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		_, _, key, _, _ := installationsAccount(t, m, "ras", 2000)
		anon := newClient(t, m)
		trial := func(server string) reply {
			return anon.do("POST", "/v1/installations/trials", map[string]any{"product_id": "ras",
				"identity": map[string]any{"kind": "farm", "server_id": server, "farm_name": "Trial", "app_version": "19.2"}})
		}
		// SUB-8: a server's trial is once; asking again and again for it
		// is limited per server, before anything is decided.
		for i := range 3 {
			if r := trial("srv-same"); r.status != 200 && r.problemType() != "trial-used" {
				t.Fatalf("trial %d of one server: %s", i, r.raw)
			}
		}
		head := logHead(t, m)
		r := trial("srv-same")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.str("detail"), "for this server") {
			t.Fatalf("the 4th trial of one server: %d %s", r.status, r.raw)
		}
		if h := logHead(t, m); h != head {
			t.Fatalf("a refused trial wrote %d events", h-head)
		}
		// Per client address: ten at once (four above), then 429.
		for i := range 6 {
			trial(fmt.Sprintf("srv-%d", i)).mustStatus(t, 200)
		}
		head = logHead(t, m)
		r = trial("srv-next")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.str("detail"), "from this address") {
			t.Fatalf("the 11th trial from one address: %d %s", r.status, r.raw)
		}
		if h := logHead(t, m); h != head {
			t.Fatalf("refused trials wrote %d events", h-head)
		}

		// PROD-3: a report of MaxConnections connections is a small event.
		act := anon.must(200, "POST", "/v1/installations/activations", map[string]any{"key": key,
			"identity": map[string]any{"kind": "farm", "server_id": "srv-big", "farm_name": "Big", "app_version": "19.2"}})
		farm := newClient(t, m)
		farm.bearer = act.str("credential")
		conns := make([]map[string]any, 1000)
		for i := range conns {
			conns[i] = map[string]any{"user": fmt.Sprintf(`CORP\user-%04d`, i), "type": "published_app", "host": fmt.Sprintf("rdsh-%02d", i%40)}
		}
		before := logHead(t, m)
		farm.must(200, "POST", "/v1/installation/usage", map[string]any{"connections": conns})
		recs, err := m.Store.ReadAll(context.Background(), before, 100)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, rec := range recs {
			total += len(rec.Data)
		}
		if len(recs) == 0 || total > 4096 {
			t.Fatalf("a report of 1,000 connections wrote %d events of %d bytes", len(recs), total)
		}
		tooMany := append(conns, conns[0])
		if r := farm.do("POST", "/v1/installation/usage", map[string]any{"connections": tooMany}); r.status != 400 || !strings.Contains(r.raw, "at most 1000 connections") {
			t.Fatalf("1,001 connections: %d %s", r.status, r.raw)
		}
		// USE-1: reports per installation: ten at once (two above), then 429.
		for i := range 8 {
			farm.must(200, "POST", "/v1/installation/usage", map[string]any{"seats": i})
		}
		farm.must(200, "GET", "/v1/installation/license", nil) // the license now tells the seats used: recorded
		head = logHead(t, m)
		r = farm.do("POST", "/v1/installation/usage", map[string]any{"seats": 3})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("the 11th report: %d %s", r.status, r.raw)
		}
		// The license is still read (a refresh records only a change), and
		// the installation may always deactivate.
		for range 20 {
			farm.must(200, "GET", "/v1/installation/license", nil)
		}
		if h := logHead(t, m); h != head {
			t.Fatalf("a refused report and unchanged refreshes wrote %d events", h-head)
		}
		farm.must(200, "POST", "/v1/installation/deactivation", nil)
	})
}

// mustStatus fails the test unless r has status want.
func (r reply) mustStatus(t *testing.T, want int) reply {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	return r
}

// The default --installation-call-limit is httpapi's default bound, and
// "off" lifts only that one (issue 21: a load test's setting).
func TestLimits_installation_call_limit_setting(t *testing.T) {
	t.Parallel()
	m := NewMain()
	m.Getenv = func(string) string { return "" }
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if got, want := *m.limits(), httpapi.DefaultLimits(); got != want {
		t.Errorf("default limits = %+v, want httpapi's %+v", got, want)
	}
	if err := m.ParseFlags([]string{"--installation-call-limit=off"}); err != nil {
		t.Fatal(err)
	}
	want := httpapi.DefaultLimits()
	want.InstallationCalls = httpapi.Rate{}
	if got := *m.limits(); got != want {
		t.Errorf("limits with off = %+v, want %+v", got, want)
	}
	// --trial-limit and --trial-server-limit likewise lift one
	// bound each, for make test-cluster.
	if err := m.ParseFlags([]string{"--trial-limit=off", "--trial-server-limit=50/1m"}); err != nil {
		t.Fatal(err)
	}
	want = httpapi.DefaultLimits()
	want.TrialsPerAddress = httpapi.Rate{}
	want.TrialsPerServer = httpapi.Rate{Every: time.Minute, Burst: 50}
	if got := *m.limits(); got != want {
		t.Errorf("limits with the trial settings = %+v, want %+v", got, want)
	}
}
