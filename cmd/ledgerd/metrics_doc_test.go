package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"seatledger/domain/event"
)

// Every seatledger_* metric a running ledgerd exposes is in the README's
// metrics table with its type, and the table names no metric that is not
// served: the operators' documentation cannot fall behind /metrics.
func TestMain_README_lists_every_metric_with_its_type(t *testing.T) {
	t.Parallel()
	m, _ := runMain(t, testEnv(t))
	base := "http://" + m.Addr()
	// Histograms with labels appear once observed: one append, one request.
	if _, err := m.Store.Append(context.Background(), "metrics-doc-1", event.NoStream(), event.Proposed{
		Type: "e2e.happened", SchemaVersion: 1, Data: json.RawMessage(`{}`),
		Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "e2e"}},
	}); err != nil {
		t.Fatal(err)
	}
	get(t, base+"/healthz")
	code, _, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	served := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (seatledger_\w+) (\w+)$`).FindAllStringSubmatch(string(body), -1) {
		served[m[1]] = m[2]
	}
	if len(served) == 0 {
		t.Fatalf("no seatledger_ metric served:\n%s", body)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(seatledger_\\w+)` \\| (\\w+) \\|").FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = m[2]
	}
	for name, typ := range served {
		if documented[name] != typ {
			t.Errorf("README's metrics table lacks | `%s` | %s | (it says %q)", name, typ, documented[name])
		}
	}
	for name := range documented {
		if _, ok := served[name]; !ok {
			t.Errorf("README's metrics table names %s, which /metrics does not serve", name)
		}
	}
}

// openapi.json documents a 4XX on the shell's endpoints: the HTTP server's
// own refusal of a malformed or oversized request, in plain text.
func TestMain_refuses_an_oversized_header_before_any_handler(t *testing.T) {
	t.Parallel()
	m, _ := runMain(t, testEnv(t))
	req, err := http.NewRequest(http.MethodGet, "http://"+m.Addr()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("x", 1<<20+8192))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /healthz with a 1 MiB header = %d %s, want 431 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
