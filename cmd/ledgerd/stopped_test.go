package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// poisonProducts makes the licenses read model refuse the row of a product
// named "Poison", as a bug, a schema drift or a full disk would refuse a
// row in production; healProducts is the operator's fix.
func poisonProducts(t *testing.T, db *sqldb.DB) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER poison BEFORE INSERT ON lic_products WHEN NEW.name = 'Poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`}
	if db.Engine == sqldb.Postgres {
		stmts = []string{
			`CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.name = 'Poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON lic_products FOR EACH ROW EXECUTE FUNCTION poison()`,
		}
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
}

func healProducts(t *testing.T, db *sqldb.DB) {
	t.Helper()
	stmt := `DROP TRIGGER poison`
	if db.Engine == sqldb.Postgres {
		stmt = `DROP TRIGGER poison ON lic_products`
	}
	if _, err := db.ExecContext(t.Context(), stmt); err != nil {
		t.Fatal(err)
	}
}

// Issue 16 (rule X-7: any event that reaches the log can be applied; when
// one cannot, for whatever cause, it costs only its own read model): a
// projection stopped at an event degrades only itself. /readyz stays 200
// and names it ("degraded"), /metrics says so, the reads that need it
// answer 503 read-model-stopped naming it, while writes, the other reads
// and the other projections go on. The event is never skipped: once the
// cause is fixed, a retry applies it and the read model catches up.
func TestStoppedProjection_degrades_only_itself_X7(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		office := newClient(t, m)
		office.bearer = adminToken
		office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users"})
		poisonProducts(t, m.DB)
		office.must(200, "PUT", "/v1/products/poison", map[string]any{"name": "Poison", "model": "concurrent_users"})

		deadline := time.Now().Add(60 * time.Second)
		for {
			f, err := m.readSide.runtime.Stopped(context.Background(), "licenses")
			if err != nil {
				t.Fatal(err)
			}
			if f != nil {
				if !strings.Contains(f.Reason, "poisoned row") || f.EventType != "product.defined" {
					t.Fatalf("stopped at %+v", f)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the licenses projection never stopped at the poisoned event")
			}
			time.Sleep(200 * time.Millisecond)
		}

		// /readyz: ready, degraded, naming it.
		anon := newClient(t, m)
		r := anon.must(200, "GET", "/readyz", nil)
		var degraded bool
		for _, c := range r.body["checks"].([]any) {
			c := c.(map[string]any)
			degraded = degraded || c["name"] == "projections" && c["status"] == "degraded" && strings.Contains(c["error"].(string), "licenses is stopped")
		}
		if r.str("status") != "degraded" || !degraded {
			t.Fatalf("/readyz = %s", r.raw)
		}
		// /metrics: 1 for licenses, 0 for the others.
		metrics := anon.do("GET", "/metrics", nil).raw
		if !strings.Contains(metrics, `seatledger_projection_stopped{projection="licenses"} 1`) ||
			!strings.Contains(metrics, `seatledger_projection_stopped{projection="directory"} 0`) {
			t.Fatalf("/metrics lacks the stopped gauge:\n%s", grepLines(metrics, "projection_stopped"))
		}
		// The reads that need it: 503 naming it.
		ada := newClient(t, m)
		ada.must(201, "POST", "/v1/signup", signUpBody("Ada", "ada@example.com")) // writes go on
		ada.must(200, "POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": pw})
		ada.allow5xx = 503
		refused := ada.must(503, "GET", "/v1/products", nil)
		if refused.problemType() != "read-model-stopped" || !strings.Contains(refused.str("detail"), `"licenses"`) ||
			refused.header.Get("Retry-After") == "" || strings.Contains(refused.raw, "poisoned row") {
			t.Fatalf("a read of the stopped read model: %s %v", refused.raw, refused.header)
		}
		// Other reads and projections go on: the directory shows the
		// sign-up (read your writes through X-Ledger-Min-Position).
		if mine := ada.must(200, "GET", "/v1/me/accounts", nil); len(mine.body["accounts"].([]any)) != 1 {
			t.Fatalf("/v1/me/accounts = %s", mine.raw)
		}
		acc := ada.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Acme", "country": "DE", "zip": "1", "phone": "1"}}).str("account_id")
		ada.must(200, "GET", "/v1/accounts/"+acc+"/members", nil)

		// The operator fixes the cause and retries (`ledger projections
		// retry licenses` calls Runtime.Retry): the event is applied, not
		// skipped, and the read model catches up.
		healProducts(t, m.DB)
		if _, err := m.readSide.runtime.Retry(context.Background(), "licenses"); err != nil {
			t.Fatal(err)
		}
		for {
			r := ada.do("GET", "/v1/products", nil) // 503 until the retry is delivered
			if r.status == 200 {
				if !strings.Contains(r.raw, `"Poison"`) || !strings.Contains(r.raw, `"Remote Application Server"`) {
					t.Fatalf("products after the retry: %s", r.raw)
				}
				break
			}
			if time.Now().After(deadline.Add(30 * time.Second)) {
				t.Fatalf("the read model never came back: %s", r.raw)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if r := anon.must(200, "GET", "/readyz", nil); r.str("status") != "ready" {
			t.Fatalf("/readyz after the retry = %s", r.raw)
		}
	})
}

// grepLines returns the lines of s that hold substr.
func grepLines(s, substr string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
