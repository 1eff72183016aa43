package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/infra/httpapi"
	"seatledger/infra/logtest"
)

const adminToken = "e2e-admin-token-0123456789"

var clockStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// syncBuffer is a log sink the server writes to while the test reads it.
type syncBuffer = logtest.Buffer

// testEnv is the environment of a server on a fresh SQLite file, a free
// port and a simulated clock; extra entries override it.
func testEnv(t testing.TB, extra ...string) func(string) string {
	t.Helper()
	env := map[string]string{
		"LEDGER_DATABASE_URL":  filepath.Join(t.TempDir(), "data", "ledger.db"),
		"LEDGER_ADDR":          "127.0.0.1:0",
		"LEDGER_CLOCK":         "simulated",
		"LEDGER_CLOCK_START":   clockStart.Format(time.RFC3339),
		"LEDGER_ADMIN_TOKEN":   adminToken,
		"LEDGER_KEYRING_FILE":  filepath.Join(t.TempDir(), "keyring.secret"),
		"LEDGER_LINK_KEY_FILE": filepath.Join(t.TempDir(), "link-key.secret"),
		"LEDGER_MDM_CA_CERT":   filepath.Join(t.TempDir(), "mdm-ca.crt"),
		"LEDGER_MDM_CA_KEY":    filepath.Join(t.TempDir(), "mdm-ca.key"),
		"LEDGER_OFFLINE_KEY":   filepath.Join(t.TempDir(), "offline-signing.key"),
		"LEDGER_AUDIT_KEY":     filepath.Join(t.TempDir(), "audit-signing.key"),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) string { return env[k] }
}

// runMain boots the real Main and closes it when the test ends.
func runMain(t *testing.T, getenv func(string) string) (*Main, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	m := NewMain()
	m.Getenv, m.LogOutput = getenv, logs
	validateExchanges(t, m)
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	t.Cleanup(func() { m.Close() })
	return m, logs
}

func get(t testing.TB, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestMain_serves_probes_metrics_and_openapi(t *testing.T) {
	t.Parallel()
	m, logs := runMain(t, testEnv(t))
	base := "http://" + m.Addr()

	if code, _, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}

	code, _, body := get(t, base+"/readyz")
	var ready httpapi.Readiness
	if err := json.Unmarshal(body, &ready); err != nil || code != 200 || ready.Status != "ready" {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	names := map[string]string{}
	for _, c := range ready.Checks {
		names[c.Name] = c.Status
	}
	if names["database"] != "ok" || names["migrations"] != "ok" || names["projections"] != "ok" {
		t.Errorf("/readyz checks = %+v, want database and migrations ok", ready.Checks)
	}

	// An append through the wired store reaches the metrics (CommitObserver).
	res, err := m.Store.Append(context.Background(), "e2e-1", event.NoStream(), event.Proposed{
		Type: "e2e.happened", SchemaVersion: 1, Data: json.RawMessage(`{}`),
		Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "e2e"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The projections run in the server: stream_stats reaches the append
	// (read your writes) and counts it.
	if err := m.readSide.runtime.WaitFor(context.Background(), "stream_stats", res.Position, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var counted int
	if err := m.DB.QueryRow(`SELECT event_count FROM event_type_stats WHERE event_type = 'e2e.happened'`).Scan(&counted); err != nil || counted != 1 {
		t.Fatalf("stream_stats counted %d e2e events (%v)", counted, err)
	}
	code, _, body = get(t, base+"/metrics")
	for _, want := range []string{
		`seatledger_eventstore_append_seconds_count{result="ok"} 1`,
		`seatledger_eventstore_batch_events_sum 1`,
		`go_sql_open_connections{db_name="sqlite"}`,
		`go_goroutines`,
		`seatledger_projection_lag_events{projection="stream_stats"} 0`,
		`seatledger_timers_due 0`,
	} {
		if code != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/metrics = %d, lacks %s", code, want)
		}
	}

	code, hdr, body := get(t, base+"/openapi.json")
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || code != 200 || doc["openapi"] != "3.1.0" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("/openapi.json = %d %s: %v", code, hdr.Get("Content-Type"), err)
	}

	if strings.Contains(logs.String(), adminToken) {
		t.Error("the admin token appears in the log")
	}
}

// Graceful shutdown: a request in flight when Close begins completes, new
// connections are refused, and only then are the store and the database
// closed.
func TestMain_Close_finishes_requests_in_flight_then_closes_store_and_database(t *testing.T) {
	t.Parallel()
	m, _ := runMain(t, testEnv(t, "LEDGER_SHUTDOWN_TIMEOUT", "10s"))

	body, feed := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+m.Addr()+"/admin/clock/advance", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		answered <- answer{resp, err}
	}()
	if _, err := feed.Write([]byte(`{"by":`)); err != nil { // the request is on the wire, its body half sent
		t.Fatal(err)
	}
	// The transport is sending the body, so the connection is up; give the
	// server, on a machine busy with the whole suite under -race, time to
	// accept it and start reading the body.
	time.Sleep(300 * time.Millisecond)

	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()

	// New connections are refused once shutdown has begun …
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.Addr(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after Close began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// … but Close waits for the request in flight.
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	if _, err := feed.Write([]byte(`"1d"}`)); err != nil {
		t.Fatal(err)
	}
	feed.Close()
	a := <-answered
	if a.err != nil {
		t.Fatalf("in-flight request failed: %v", a.err)
	}
	defer a.resp.Body.Close()
	var state httpapi.ClockState
	if err := json.NewDecoder(a.resp.Body).Decode(&state); err != nil || a.resp.StatusCode != 200 || !state.Now.Equal(clockStart.AddDate(0, 0, 1)) {
		t.Fatalf("in-flight request answered %d %+v (%v)", a.resp.StatusCode, state, err)
	}

	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the last request finished")
	}
	if _, err := m.Store.Append(context.Background(), "late", event.Any(), event.Proposed{
		Type: "e2e.late", SchemaVersion: 1, Data: json.RawMessage(`{}`),
		Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "e2e"}},
	}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("append after Close = %v, want ErrClosed", err)
	}
	if err := m.DB.PingContext(context.Background()); err == nil {
		t.Error("database still open after Close")
	}
}

func TestMain_Close_cuts_off_requests_that_outlive_the_shutdown_timeout(t *testing.T) {
	t.Parallel()
	m, _ := runMain(t, testEnv(t, "LEDGER_SHUTDOWN_TIMEOUT", "100ms"))
	body, feed := io.Pipe()
	defer feed.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.Addr()+"/admin/clock/advance", body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := feed.Write([]byte(`{"by":`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	err := m.Close()
	if err == nil || !strings.Contains(err.Error(), "requests still running after 100ms were cut off") {
		t.Fatalf("Close = %v, want the cut-off reported", err)
	}
	if err := m.DB.PingContext(context.Background()); err == nil {
		t.Error("database still open after Close")
	}
}

func TestRun_bad_database_URL_fails_start_with_one_clear_line_and_exit_2(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), nil, testEnv(t, "LEDGER_DATABASE_URL", "mysql://root:hunter2@db/ledger"), &stdout, &stderr)
	if code != exitConfig {
		t.Errorf("exit code %d, want %d", code, exitConfig)
	}
	want := "ledgerd: LEDGER_DATABASE_URL: unsupported scheme \"mysql\" (use a SQLite file path or postgres://…)\n"
	if stderr.String() != want {
		t.Errorf("stderr =\n%s\nwant exactly\n%s", stderr.String(), want)
	}
}

func TestRun_reports_every_configuration_problem_one_line_each(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--clock=fast"}, testEnv(t, "LEDGER_DATABASE_URL", "postgres://u:hunter2@/x", "LEDGER_ADMIN_TOKEN", "short"), &stdout, &stderr)
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if code != exitConfig || len(lines) != 3 || strings.Contains(stderr.String(), "hunter2") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ledgerd: ") {
			t.Errorf("line %q lacks the program name", l)
		}
	}
}

func TestRun_a_start_failure_exits_1_with_its_cause(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), nil, testEnv(t, "LEDGER_ADDR", taken.Addr().String()), &stdout, &stderr)
	want := "\nledgerd: http server: listen tcp " + taken.Addr().String() + ": bind: address already in use\n"
	if code != exitFailure || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

func TestRun_help_prints_usage_and_exits_0(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, testEnv(t), &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "LEDGER_DATABASE_URL") {
		t.Fatalf("exit %d, stdout:\n%s", code, stdout.String())
	}
}

// The built binary serves until SIGTERM, then stops cleanly with exit 0.
func TestLedgerd_binary_stops_gracefully_on_SIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "ledgerd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir() // the default key files (./data/…) are created there, not in the source tree
	cmd.Env = append(os.Environ(),
		"LEDGER_DATABASE_URL="+filepath.Join(t.TempDir(), "ledger.db"),
		"LEDGER_ADDR=127.0.0.1:0", "LEDGER_ADMIN_TOKEN="+adminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := bufio.NewScanner(stderr)
	addr := ""
	var log strings.Builder
	for addr == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "listening" {
			addr = l.Addr
		}
	}
	if addr == "" {
		t.Fatalf("no listening line:\n%s", log.String())
	}
	if code, _, body := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, log.String())
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), adminToken) {
		t.Error("the admin token appears in the log")
	}
}
