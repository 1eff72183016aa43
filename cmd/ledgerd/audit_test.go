package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/audit"
	"seatledger/infra/eventstore/eventstoretest"
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
