package watermill_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/postgres"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/sqlite"
)

// start is the simulated time the tests' stores begin at.
var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// forEachEngine runs fn against an empty event store of every SQL engine.
// PostgreSQL is skipped (visibly) when its server is down, unless CI=true.
func forEachEngine(t *testing.T, fn func(t *testing.T, store eventstore.Store)) {
	t.Helper()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		var (
			s   eventstore.Store
			err error
			clk = clock.NewSimulated(start)
		)
		if target.Engine == sqldb.SQLite {
			s, err = sqlite.Open(context.Background(), sqldbtest.Open(t, target), sqlite.Config{Clock: clk, PollInterval: 50 * time.Millisecond})
		} else {
			s, err = postgres.Open(context.Background(), target.DSN, postgres.Config{Clock: clk, PollInterval: 50 * time.Millisecond})
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

var actor = event.Actor{Kind: event.ActorProcess, ID: "watermill-test"}

// appendEvents appends n events of type typ, each to its own stream, and
// returns the last result.
func appendEvents(t *testing.T, s eventstore.Store, typ string, n int) event.AppendResult {
	t.Helper()
	var res event.AppendResult
	for i := range n {
		var err error
		res, err = s.Append(context.Background(), fmt.Sprintf("%s-%s", typ, uuid.NewString()[:8]), event.NoStream(), event.Proposed{
			ID: uuid.NewString(), Type: typ, SchemaVersion: 1,
			Data:     json.RawMessage(fmt.Sprintf(`{"n": %d}`, i)),
			Metadata: event.Metadata{Actor: actor, Command: "Test", CorrelationID: "corr-" + typ, CausationID: "cause-" + typ},
		})
		if err != nil {
			t.Fatalf("append %s: %v", typ, err)
		}
	}
	return res
}

// deadline bounds every wait on a condition: generous, so that a slow
// machine does not fail a correct test.
const deadline = 30 * time.Second

// eventually waits until cond holds, failing the test after deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
