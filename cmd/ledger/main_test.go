package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/httpapi"
	"seatledger/infra/httpapi/openapitest"
)

const adminToken = "cli-admin-token-0123456789"

// runCLI runs ledger with args and env and returns its exit code and outputs.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// wantOneLine fails unless stderr is exactly one line starting with prefix.
func wantOneLine(t *testing.T, stderr, prefix string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, prefix) {
		t.Errorf("stderr = %q, want one line starting with %q", stderr, prefix)
	}
}

// startServer serves the real HTTP API on clk.
func startServer(t *testing.T, clk clock.Clock) string {
	t.Helper()
	return serveAPI(t, httpapi.Config{Clock: clk, AdminToken: adminToken, Logger: slog.New(slog.DiscardHandler)})
}

// serveAPI serves the HTTP API of cfg for the test, and returns its URL.
func serveAPI(t *testing.T, cfg httpapi.Config) string {
	t.Helper()
	api, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Every exchange is validated against the served OpenAPI document
	// (issue 19); the report runs once the server has closed.
	report := openapitest.Collect(t)
	v, err := openapitest.Served(api)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler(api, report))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMigrate_applies_pending_migrations_and_prints_how_many(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.db")
	code, out, errOut := runCLI(t, map[string]string{"LEDGER_DATABASE_URL": path}, "migrate")
	if code != exitOK || !strings.HasPrefix(out, "applied ") || strings.HasPrefix(out, "applied 0 ") || errOut != "" {
		t.Fatalf("first migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, nil, "migrate", "--database-url", path)
	if want := "applied 0 migrations to the sqlite database " + path + "\n"; code != exitOK || out != want {
		t.Fatalf("second migrate: exit %d, stdout %q, want %q", code, out, want)
	}
}

func TestMigrate_bad_database_URL_is_a_usage_error(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, map[string]string{"LEDGER_DATABASE_URL": "mysql://root:hunter2@db/x"}, "migrate")
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	wantOneLine(t, errOut, `ledger: LEDGER_DATABASE_URL: unsupported scheme "mysql"`)
	if strings.Contains(errOut, "hunter2") {
		t.Error("the password is shown")
	}
}

// rule X-3: an admin moves the simulated clock of a running server.
func TestClock_advance_and_show_move_the_servers_simulated_clock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sim := clock.NewSimulated(start)
	env := map[string]string{"LEDGER_URL": startServer(t, sim), "LEDGER_ADMIN_TOKEN": adminToken}

	code, out, errOut := runCLI(t, env, "clock", "advance", "7d")
	if want := "advanced 7d from 2026-03-01T09:00:00Z to 2026-03-08T09:00:00Z\n"; code != exitOK || out != want {
		t.Fatalf("clock advance: exit %d, stdout %q (want %q), stderr %q", code, out, want, errOut)
	}
	if !sim.Now().Equal(start.AddDate(0, 0, 7)) {
		t.Errorf("server clock at %v", sim.Now())
	}
	code, out, _ = runCLI(t, env, "clock", "show")
	if code != exitOK || out != "2026-03-08T09:00:00Z\n" {
		t.Fatalf("clock show: exit %d, stdout %q", code, out)
	}
}

func TestClock_refusals_from_the_server_are_one_line_and_exit_1(t *testing.T) {
	t.Parallel()
	realURL := startServer(t, clock.Real{})
	sim := startServer(t, clock.NewSimulated(time.Now()))
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"real clock", map[string]string{"LEDGER_URL": realURL, "LEDGER_ADMIN_TOKEN": adminToken},
			"ledger: the ledger refused (409 clock-is-real): Clock is real: the server runs on the real clock"},
		{"wrong token", map[string]string{"LEDGER_URL": sim, "LEDGER_ADMIN_TOKEN": "not-the-token-0123456789"},
			"ledger: the ledger refused (403 forbidden): Forbidden: the bearer token is not the admin token (request "},
		{"no server", map[string]string{"LEDGER_URL": "http://127.0.0.1:1", "LEDGER_ADMIN_TOKEN": adminToken},
			"ledger: cannot reach the ledger server at http://127.0.0.1:1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runCLI(t, tc.env, "clock", "show")
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			wantOneLine(t, errOut, tc.want)
			if strings.Contains(errOut, adminToken) {
				t.Error("the token is shown")
			}
		})
	}
}

// Issue 20: the CLI says a refusal's title once. The server's detail of a
// domain error begins with the title ("invalid request: …" under "Invalid
// request"); the CLI printed "Invalid request: invalid request: …".
func TestCLI_refusals_name_their_title_once(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, logger, fmt.Errorf("%w: the subscription was cancelled", subscription.ErrInvalid))
	}))
	t.Cleanup(srv.Close)
	code, _, errOut := runCLI(t, map[string]string{"LEDGER_URL": srv.URL, "LEDGER_ADMIN_TOKEN": adminToken}, "clock", "show")
	if want := "ledger: the ledger refused (400 invalid-request): Invalid request: the subscription was cancelled\n"; code != exitFailure || errOut != want {
		t.Errorf("exit %d, stderr %q\nwant stderr %q", code, errOut, want)
	}
}

func TestCLI_usage_errors_exit_2_with_one_line(t *testing.T) {
	t.Parallel()
	server := map[string]string{"LEDGER_URL": "http://127.0.0.1:1", "LEDGER_ADMIN_TOKEN": adminToken}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no command", nil, nil, "ledger: ledger needs a subcommand: "},
		{"unknown command", nil, []string{"migrte"}, `ledger: unknown command "migrte" for "ledger"; did you mean migrate?`},
		{"unknown flag", nil, []string{"migrate", "--force"}, "ledger: unknown flag: --force (see ledger migrate --help)"},
		{"clock without subcommand", nil, []string{"clock"}, "ledger: ledger clock needs a subcommand: advance, show"},
		{"unknown clock subcommand", nil, []string{"clock", "rewind"}, `ledger: unknown command "rewind" for "ledger clock"`},
		{"advance without duration", server, []string{"clock", "advance"}, "ledger: accepts 1 arg(s), received 0"},
		{"bad duration", server, []string{"clock", "advance", "a week"}, `ledger: "a week" is not a positive duration`},
		{"negative duration", server, []string{"clock", "advance", "--", "-1h"}, `ledger: "-1h" is not a positive duration`},
		{"no token", map[string]string{"LEDGER_URL": "http://127.0.0.1:1"}, []string{"clock", "show"}, "ledger: LEDGER_ADMIN_TOKEN is not set"},
		{"bad server URL", nil, []string{"clock", "show", "--url", "127.0.0.1:8080"}, `ledger: --url: "127.0.0.1:8080" is not an http:// or https:// URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runCLI(t, tc.env, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			wantOneLine(t, errOut, tc.want)
		})
	}
}

func TestCLI_help_exits_0(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "clock", "advance", "--help")
	if code != exitOK || !strings.Contains(out, "ledger clock advance 7d") {
		t.Fatalf("exit %d, stdout:\n%s", code, out)
	}
}
