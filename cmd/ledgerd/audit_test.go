package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/infra/audit"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/queries"
)

// Rule X-2: ledgerd creates its checkpoint key (0600) on first start,
// serves the public key, and its checkpointer signs checkpoints of the
// log as it grows, which verify with that key.
func TestLedgerd_signs_checkpoints_as_the_log_grows_X2(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "audit-signing.key")
	m, _ := runMain(t, testEnv(t, "LEDGER_AUDIT_KEY", keyFile, "LEDGER_CHECKPOINT_INTERVAL", "100ms"))
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	get := func(path string, auth bool) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+m.Addr()+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+adminToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, vkey := get("/v1/audit/public-key", false)
	if code != http.StatusOK {
		t.Fatalf("public key = %d %s", code, vkey)
	}
	for i := range 5 {
		if _, err := m.Store.Append(context.Background(), "audit-test", event.Any(), eventstoretest.NewEvent("test.happened", i)); err != nil {
			t.Fatal(err)
		}
	}
	head, err := m.Store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, note := get("/v1/audit/checkpoint", true)
		if code == http.StatusOK {
			cp, err := audit.OpenCheckpoint(note, string(vkey))
			if err != nil {
				t.Fatal(err)
			}
			if cp.Size >= head {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of the %d events after 10s (last answer %d %s)", head, code, note)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 21, rule X-2: the snapshot worker, which folds the streams as
// their records arrive, stores each snapshot due of a long stream, byte
// for byte the one TakeSnapshot folds from the database.
func TestLedgerd_snapshot_worker_stores_the_database_fold_issue21_X2(t *testing.T) {
	ctx := context.Background()
	m, logs := runMain(t, testEnv(t))
	reg := Registry()
	stream := installation.StreamID("inst-worker")
	propose := func(p any) event.Proposed {
		name, _ := reg.NameOf(p)
		data, v, err := reg.Encode(name, p)
		if err != nil {
			t.Fatal(err)
		}
		return event.Proposed{ID: uuid.NewString(), Type: name, SchemaVersion: v, Data: data,
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}
	}
	const versions = 2*1024 + 10 // past two snapshots of the default interval
	evs := []event.Proposed{propose(installation.Activated{InstallationID: "inst-worker", KeyID: "key-w", SubscriptionID: "s-w",
		AccountID: "acc-w", ProductID: "farms", Generation: 1, License: installation.License{KeyID: "key-w", Seats: 10}})}
	for i := 1; i < versions; i++ {
		evs = append(evs, propose(installation.UsageReported{Seats: i % 13, Quota: 10, Current: true}))
		if len(evs) == 100 || i == versions-1 {
			if _, err := m.Store.Append(ctx, stream, event.Any(), evs...); err != nil {
				t.Fatal(err)
			}
			evs = nil
		}
	}
	stored := func() string {
		var rows []string
		for _, v := range []int{1024, 2048} {
			var schema, state string
			var pos, rec int64
			err := m.DB.QueryRowContext(ctx, `SELECT schema, position, recorded_at, state FROM audit_snapshots
				WHERE stream_id = ? AND version = ?`, stream, v).Scan(&schema, &pos, &rec, &state)
			if err != nil {
				return ""
			}
			rows = append(rows, fmt.Sprintf("%d: %s %d %d %s", v, schema, pos, rec, state))
		}
		return strings.Join(rows, "\n")
	}
	deadline := time.Now().Add(10 * time.Second)
	var live string
	for live = stored(); live == ""; live = stored() {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshots at 1024 and 2048 after 10s\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := m.DB.Write(ctx, `DELETE FROM audit_snapshots WHERE stream_id = ?`, stream); err != nil {
		t.Fatal(err)
	}
	fromDB := &queries.Audit{Log: m.Store, Registry: reg, Snapshots: m.DB}
	for _, v := range []uint64{1024, 2048} {
		if err := fromDB.TakeSnapshot(ctx, stream, v); err != nil {
			t.Fatal(err)
		}
	}
	if db := stored(); db != live {
		t.Errorf("the worker stored\n%s\nthe database fold\n%s", live, db)
	}
}
