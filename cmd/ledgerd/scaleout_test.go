package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/infra/farmclient"
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
