package main

import (
	"context"
	"strings"
	"testing"

	"seatledger/infra/lease"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
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
