package main

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/events"
	"seatledger/infra/clock"
	"seatledger/infra/commandstest"
	"seatledger/infra/httpapi"
	"seatledger/infra/session"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// startBackOffice serves the real API with its back office on an empty
// ledger.
func startBackOffice(t *testing.T) string {
	t.Helper()
	target := sqldbtest.SQLite(t)
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, err := storage.OpenStore(t.Context(), db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := commandstest.New(t, commands.Config{Store: store, Registry: events.Registry(), Clock: clk})
	return serveAPI(t, httpapi.Config{Clock: clk, AdminToken: adminToken, Logger: slog.New(slog.DiscardHandler),
		People: &httpapi.PeopleConfig{Commands: h, Reads: db, Sessions: session.New(db, clk), TermsVersion: "test"}})
}

// TestStaff_CLI_adds_the_first_owner_and_keeps_service_accounts (issue
// 23): ledger staff add prints the one-time enrolment token, ledger staff
// reissue a new one and reset-totp refuses a person not enrolled; ledger
// service-accounts creates, lists, rotates and revokes; refusals are one
// line and never show the token used.
func TestStaff_CLI_adds_the_first_owner_and_keeps_service_accounts(t *testing.T) {
	t.Parallel()
	env := map[string]string{"LEDGER_URL": startBackOffice(t), "LEDGER_ADMIN_TOKEN": adminToken}
	code, out, errOut := runCLI(t, env, "staff", "add", "--email", "ann@vendor.example", "--role", "owner", "--name", "Ann Owner")
	added := out
	token := regexp.MustCompile(`enrolment token \(shown once\): (\S+)`).FindStringSubmatch(out)
	if code != exitOK || token == nil || len(token[1]) < 40 || !strings.Contains(out, "/v1/staff/enrolment") {
		t.Fatalf("staff add: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "staff", "list")
	if code != exitOK || !strings.Contains(out, "owner    Ann Owner <ann@vendor.example>, not enrolled yet") || strings.Contains(out, token[1]) {
		t.Errorf("staff list: exit %d, stdout %q", code, out)
	}
	// An owner re-issues a lost enrolment token: a new one, printed once
	// with how to enrol and confirm; the person has not enrolled, so
	// there is no second factor to reset.
	staffID := regexp.MustCompile(`added ann@vendor.example \((\S+)\) as owner`).FindStringSubmatch(added)
	if staffID == nil {
		t.Fatalf("staff add named no ID: %q", out)
	}
	code, out, errOut = runCLI(t, env, "staff", "reissue", staffID[1])
	again := regexp.MustCompile(`enrolment token \(shown once\): (\S+)`).FindStringSubmatch(out)
	if code != exitOK || again == nil || again[1] == token[1] || !strings.Contains(out, "/v1/staff/enrolment/confirm") ||
		!strings.Contains(out, `"email": "ann@vendor.example"`) {
		t.Errorf("staff reissue: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, env, "staff", "reset-totp", staffID[1])
	if code != exitFailure {
		t.Errorf("reset-totp of a person who has not enrolled: exit %d", code)
	}
	wantOneLine(t, errOut, "ledger: the ledger refused (409 no-change)")
	code, _, errOut = runCLI(t, env, "staff", "add", "--email", "not an address", "--role", "support")
	if code != exitFailure {
		t.Errorf("a bad address: exit %d", code)
	}
	wantOneLine(t, errOut, "ledger: the ledger refused (400 invalid-request)")
	code, _, errOut = runCLI(t, env, "staff", "add", "--email", "bob@vendor.example")
	if code != exitUsage || !strings.Contains(errOut, "--role") {
		t.Errorf("no role: exit %d, stderr %q", code, errOut)
	}

	code, out, _ = runCLI(t, env, "service-accounts", "create", "order system")
	created := regexp.MustCompile(`created service account (\S+)\ntoken \(shown once\): (slsa_\S+)`).FindStringSubmatch(out)
	if code != exitOK || created == nil {
		t.Fatalf("service-accounts create: exit %d, stdout %q", code, out)
	}
	code, out, _ = runCLI(t, env, "service-accounts", "rotate", created[1])
	if code != exitOK || !strings.Contains(out, "token (shown once): slsa_") || strings.Contains(out, created[2]) {
		t.Errorf("rotate: exit %d, stdout %q", code, out)
	}
	if code, out, _ = runCLI(t, env, "service-accounts", "revoke", created[1]); code != exitOK {
		t.Errorf("revoke: exit %d, stdout %q", code, out)
	}
	code, out, _ = runCLI(t, env, "service-accounts", "list")
	if code != exitOK || out != created[1]+"  revoked order system\n" {
		t.Errorf("list: exit %d, stdout %q", code, out)
	}
	code, _, errOut = runCLI(t, map[string]string{"LEDGER_URL": env["LEDGER_URL"], "LEDGER_STAFF_TOKEN": "slst_not-a-session"}, "staff", "list")
	if code != exitFailure || strings.Contains(errOut, "slst_not-a-session") {
		t.Errorf("a bad staff token: exit %d, stderr %q", code, errOut)
	}
	wantOneLine(t, errOut, "ledger: the ledger refused (401 unauthorized)")
}
