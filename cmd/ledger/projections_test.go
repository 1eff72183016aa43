package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/lease"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// Rule X-8: `ledger projections status` names the ledgerd process that
// applies each projection, the holder of its lease; a projection nobody
// holds shows "-".
func TestProjectionsStatus_names_each_projections_owner_X8(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		l, err := lease.New(lease.Config{DB: sqldbtest.Open(t, target), Holder: "host-a/4242/cafe"})
		if err != nil {
			t.Fatal(err)
		}
		_, release, err := l.Hold(context.Background(), lease.ProjectionPrefix+"stream_stats")
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		code, out, errOut := runCLI(t, map[string]string{"LEDGER_DATABASE_URL": target.DSN}, "projections", "status")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.Contains(lines[0], "OWNER") || len(lines) < 3 {
			t.Fatalf("status:\n%s", out)
		}
		for _, line := range lines[1:] {
			fields := strings.Fields(line)
			want := "-"
			if fields[0] == "stream_stats" {
				want = "host-a/4242/cafe"
			}
			if len(fields) < 6 || fields[5] != want {
				t.Errorf("owner of %s: %q, want %s", fields[0], line, want)
			}
		}
	})
}

// Issue 16: `ledger projections retry NAME` resumes a projection stopped
// at an event it could not apply, at that very event (never skipping it);
// a projection that is running has nothing to retry.
func TestProjectionsRetry_resumes_a_stopped_projection_at_its_event(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		s, err := storage.Open(ctx, storage.Options{Database: target, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := projection.New(ctx, projection.Config{DB: s.DB, Log: s.Store, Projections: projections.All(timers.Scheduler{})})
		if err != nil {
			t.Fatal(err)
		}
		rec := event.Record{Position: 7, StreamID: "product-poison", Version: 1, Type: "product.defined"}
		if err := rt.Halt(ctx, "licenses", rec, errors.New("poisoned row")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		env := map[string]string{"LEDGER_DATABASE_URL": target.DSN}

		code, out, errOut := runCLI(t, env, "projections", "status")
		if code != exitOK || !strings.Contains(out, `at position 7 (stream "product-poison" version 1, product.defined): poisoned row`) {
			t.Fatalf("status: exit %d, %q, %q", code, out, errOut)
		}
		code, out, errOut = runCLI(t, env, "projections", "retry", "licenses")
		if want := "retrying licenses at position 7 (stream \"product-poison\" version 1, product.defined), where it stopped: poisoned row\n"; code != exitOK || out != want {
			t.Fatalf("retry: exit %d, %q, %q; want %q", code, out, errOut, want)
		}
		code, out, _ = runCLI(t, env, "projections", "status")
		if code != exitOK || strings.Contains(out, "poisoned") || !strings.Contains(out, "licenses") {
			t.Fatalf("status after the retry: %q", out)
		}
		code, _, errOut = runCLI(t, env, "projections", "retry", "licenses")
		if code != exitUsage {
			t.Errorf("a second retry: exit %d", code)
		}
		wantOneLine(t, errOut, "ledger: projection: not stopped; nothing to retry: projection licenses is live")
		code, _, errOut = runCLI(t, env, "projections", "retry", "no-such")
		if code != exitUsage {
			t.Errorf("an unknown projection: exit %d", code)
		}
		wantOneLine(t, errOut, `ledger: no projection named "no-such"`)
	})
}
