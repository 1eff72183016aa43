package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/infra/farmclient"
	"seatledger/infra/lease"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// startProcesses boots n ledgerd Mains on one database with one
// environment, as n processes behind a load balancer would run: the same
// secrets (the same files), each listening on a port of its own.
func startProcesses(t *testing.T, target sqldb.Target, n int, extra ...string) []*Main {
	t.Helper()
	env := testEnv(t, append([]string{"LEDGER_DATABASE_URL", target.DSN, "LEDGER_LOG_LEVEL", "warn"}, extra...)...)
	out := make([]*Main, n)
	for i := range out {
		logs := &syncBuffer{}
		m := NewMain()
		m.Getenv, m.LogOutput, m.PasswordParams = env, logs, &cheap
		if err := m.ParseFlags(nil); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(t.Context()); err != nil {
			m.Close()
			t.Fatalf("process %d: Run: %v\n%s", i, err, logs)
		}
		t.Cleanup(func() { m.Close() })
		out[i] = m
	}
	return out
}

// Rule X-8, the bug of issue 18: process 1 caches an installation's stream
// head, process 2 records a report on it, process 1 commits a batch of
// other streams only, and process 1's next report on the installation
// failed with a 500 (a unique violation of the stream's versions), five
// rounds out of five. Every report now succeeds, wherever it is sent.
func TestTwoProcesses_usage_reports_on_one_installation_never_fail_X8(t *testing.T) {
	t.Parallel()
	ms := startProcesses(t, sqldbtest.Postgres(t), 2)
	creds := activateFleet(t, ms[1], 6) // activated through process 2: process 1 has not seen them
	ctx := context.Background()
	p1, p2 := &farmclient.Client{BaseURL: "http://" + ms[0].Addr()}, &farmclient.Client{BaseURL: "http://" + ms[1].Addr()}
	report := func(c *farmclient.Client, cred string, seats int, key string) {
		t.Helper()
		if _, err := c.Report(ctx, cred, farmclient.SeatsReport(seats, time.Time{}), key); err != nil {
			t.Fatalf("report %s: %v", key, err)
		}
	}
	for round := range 5 {
		key := func(step string) string { return fmt.Sprintf("round-%d-%s", round, step) }
		report(p1, creds[0], 3, key("p1-first"))       // process 1 caches the installation's head
		report(p2, creds[0], 4, key("p2"))             // process 2 moves it
		report(p1, creds[1+round], 5, key("p1-other")) // process 1 commits a stream it had not cached, alone
		report(p1, creds[0], 6, key("p1-again"))       // was a 500
		report(p2, creds[0], 6, key("p1-again"))       // the same report retried elsewhere: answered, not doubled
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(creds[0], "sli_"), ".")
	recs, err := ms[0].Store.ReadStream(ctx, installation.StreamID(id), 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reports := 0
	for _, r := range recs {
		if r.Type == installation.TypeUsageReported {
			reports++
		}
	}
	if reports != 15 {
		t.Fatalf("the installation recorded %d reports, want 15 (three a round, the retry not again)", reports)
	}
}

// Rule X-8 on SQLite: the file serves one process. A second ledgerd on it
// is refused at start with one line that names the file and the process
// serving it, starts nothing and leaves the first one serving; once the
// first stops, the file is free again.
func TestSQLite_a_second_process_on_one_file_is_refused_in_one_line_X8(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "LEDGER_LOG_LEVEL", "warn")
	first, _ := runMain(t, env)
	var stdout, stderr syncBuffer
	if code := run(t.Context(), nil, env, &stdout, &stderr); code != exitFailure {
		t.Fatalf("second ledgerd on one SQLite file: exit %d, want %d\n%s", code, exitFailure, stderr.String())
	}
	var refusal []string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if strings.HasPrefix(line, "ledgerd: ") {
			refusal = append(refusal, line)
		}
	}
	want := fmt.Sprintf("ledgerd: database %s is in use by process %d: SQLite runs one ledgerd process at a time; run several on PostgreSQL",
		env("LEDGER_DATABASE_URL"), os.Getpid())
	if len(refusal) != 1 || refusal[0] != want {
		t.Fatalf("refusal = %q, want the one line %q", refusal, want)
	}
	if code, _, _ := get(t, "http://"+first.Addr()+"/healthz"); code != http.StatusOK {
		t.Fatalf("the first process answers /healthz with %d after the refusal", code)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	runMain(t, env) // the file is free again
}

// leaseHolders returns who holds each unexpired lease.
func leaseHolders(t *testing.T, m *Main) map[string]string {
	t.Helper()
	held, err := m.leases.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, h := range held {
		if h.ExpiresAt.After(time.Now()) {
			out[h.Name] = h.Holder
		}
	}
	return out
}

// Rule X-8: with two processes, each projection, the audit checkpointer
// and the snapshot worker run in exactly one of them, while both take
// writes; when a process stops, the other takes over what it ran, and the
// read models follow the log again.
func TestTwoProcesses_each_worker_has_one_owner_and_fails_over_X8(t *testing.T) {
	t.Parallel()
	ms := startProcesses(t, sqldbtest.Postgres(t), 2, "LEDGER_LEASE_TTL", "1s")
	want := []string{lease.Checkpointer, lease.Snapshots}
	for _, name := range ms[0].readSide.runtime.Names() {
		want = append(want, lease.ProjectionPrefix+name)
	}
	holders := map[string]string{ms[0].leases.Holder(): "process 1", ms[1].leases.Holder(): "process 2"}
	eventually(t, "every worker has an owner", func() bool {
		held := leaseHolders(t, ms[0])
		for _, name := range want {
			if holders[held[name]] == "" {
				return false
			}
		}
		return true
	})
	creds := activateFleet(t, ms[1], 2)
	ctx := context.Background()
	for i, m := range ms { // reports and reads through both processes
		c := &farmclient.Client{BaseURL: "http://" + m.Addr()}
		if _, err := c.Report(ctx, creds[i], farmclient.SeatsReport(7, time.Time{}), fmt.Sprintf("owned-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Process 1 stops; process 2 takes over everything it ran.
	if err := ms[0].Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "process 2 owns every worker", func() bool {
		held := leaseHolders(t, ms[1])
		for _, name := range want {
			if held[name] != ms[1].leases.Holder() {
				return false
			}
		}
		return true
	})
	c := &farmclient.Client{BaseURL: "http://" + ms[1].Addr()}
	r, err := c.Report(ctx, creds[0], farmclient.SeatsReport(9, time.Time{}), "after-failover")
	if err != nil {
		t.Fatal(err)
	}
	head, err := ms[1].Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms[1].readSide.runtime.WaitFor(ctx, "installations", head, 30*time.Second); err != nil {
		t.Fatalf("after the failover the installations read model does not follow the log: %v (report %+v)", err, r)
	}
}
