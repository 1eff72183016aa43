package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"seatledger/infra/sqldb"
)

// figureLines reads the name=value lines of a bench's output.
func figureLines(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if name, value, ok := strings.Cut(line, "="); ok && !strings.ContainsAny(name, " :") {
			got[name] = value
		}
	}
	return got
}

// `ledger bench ingest` drives a real ledgerd over HTTP: it sets up the
// subscriptions, keys and activations through the API, and every report
// it counts as accepted is a usage report in the ledger (rules ACT-1,
// SUB-7, USE-1). Not a timed test: it checks counts, not speed.
func TestBenchIngest_drives_a_running_ledgerd_and_every_counted_report_is_in_the_ledger_USE1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := startLedgerdIn(t, dir, "LEDGER_INSTALLATION_CALL_LIMIT=off")
	env := map[string]string{"LEDGER_URL": base, "LEDGER_ADMIN_TOKEN": adminToken}
	out := ok(t, env, "bench", "ingest", "--installations", "4", "--duration", "2s")
	t.Logf("ledger bench ingest:\n%s", out)

	fig := figureLines(t, out)
	for _, name := range []string{"ingest_installations", "ingest_reports", "ingest_errors"} {
		if _, err := strconv.Atoi(fig[name]); err != nil {
			t.Errorf("%s=%q is not a count:\n%s", name, fig[name], out)
		}
	}
	for _, name := range []string{"ingest_reports_per_s", "ingest_p50_ms", "ingest_p95_ms", "ingest_p99_ms", "ingest_server_cpu_ms_per_report"} {
		if v, err := strconv.ParseFloat(fig[name], 64); err != nil || v <= 0 {
			t.Errorf("%s=%q is not a positive figure:\n%s", name, fig[name], out)
		}
	}
	if _, err := strconv.ParseFloat(fig["ingest_projection_catchup_s"], 64); err != nil {
		t.Errorf("ingest_projection_catchup_s=%q is not a duration in seconds", fig["ingest_projection_catchup_s"])
	}
	if fig["ingest_installations"] != "4" || fig["ingest_errors"] != "0" {
		t.Fatalf("installations %s, errors %s:\n%s", fig["ingest_installations"], fig["ingest_errors"], out)
	}
	reports, _ := strconv.Atoi(fig["ingest_reports"])
	if reports < 4 {
		t.Fatalf("%d reports in 2 s:\n%s", reports, out)
	}

	db, err := sqldb.Open(context.Background(), sqldb.Target{Engine: sqldb.SQLite, DSN: filepath.Join(dir, "data", "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recorded, farms int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*), count(DISTINCT stream_id) FROM events WHERE type = 'installation.usage_reported'`).
		Scan(&recorded, &farms); err != nil {
		t.Fatal(err)
	}
	if recorded != reports || farms != 4 {
		t.Errorf("the ledger holds %d usage reports of %d installations; the bench counted %d accepted reports of 4", recorded, farms, reports)
	}

	// The figures of a second run in the same ledger are its own.
	out = ok(t, env, "bench", "ingest", "--installations", "2", "--duration", "1s")
	if fig := figureLines(t, out); fig["ingest_installations"] != "2" || fig["ingest_errors"] != "0" {
		t.Errorf("second run:\n%s", out)
	}
}

// Without lifting the server's bound on installations' calls, the reports
// beyond it are counted as refused (429), with a hint; and the bench
// refuses the settings of an event-store bench.
func TestBenchIngest_counts_refusals_by_status_and_refuses_database_flags(t *testing.T) {
	t.Parallel()
	base := startLedgerd(t)
	env := map[string]string{"LEDGER_URL": base, "LEDGER_ADMIN_TOKEN": adminToken}
	out := ok(t, env, "bench", "ingest", "--installations", "1", "--duration", "1s")
	fig := figureLines(t, out)
	if fig["ingest_reports"] != "10" || fig["ingest_errors_429"] == "" || fig["ingest_errors"] != fig["ingest_errors_429"] ||
		!strings.Contains(out, "--installation-call-limit=off") {
		t.Errorf("a limited server (10 reports at once):\n%s", out)
	}

	for _, args := range [][]string{
		{"bench", "ingest", "--database-url", "x.db"},
		{"bench", "ingest", "--installations", "0"},
		{"bench", "ingest", "--duration", "0s"},
	} {
		if code, _, errOut := runCLI(t, env, args...); code != exitUsage {
			t.Errorf("ledger %s: exit %d (%s), want %d", strings.Join(args, " "), code, errOut, exitUsage)
		}
	}
	if code, _, errOut := runCLI(t, map[string]string{"LEDGER_URL": base}, "bench", "ingest"); code != exitUsage || !strings.Contains(errOut, "LEDGER_ADMIN_TOKEN") {
		t.Errorf("without the admin token: exit %d, %s", code, errOut)
	}
}
