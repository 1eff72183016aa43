package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 20: on a console ledgerd says in one human line where the portal
// is, on which database and clock, how to stop it and how to get sample
// data, instead of two dozen JSON lines; it stays quiet (warnings and
// errors only) and a signal stops it with exit 0.
func TestRun_console_says_where_the_portal_is_in_one_line(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		clock string
		hint  string
	}{
		{"real", "A demo ledger with sample data: make demo."},
		{"simulated", "Sample data: ledger demo (with this LEDGER_ADMIN_TOKEN, and --installation-call-limit=off)."},
	} {
		t.Run(tc.clock, func(t *testing.T) {
			t.Parallel()
			env := testEnv(t, "LEDGER_CLOCK", tc.clock)
			if tc.clock == "real" {
				env = testEnv(t, "LEDGER_CLOCK", tc.clock, "LEDGER_CLOCK_START", "")
			}
			ctx, stop := context.WithCancel(context.Background())
			stderr := &syncBuffer{}
			var stdout bytes.Buffer
			exit := make(chan int, 1)
			go func() { exit <- run(ctx, []string{"--log-format=console"}, env, &stdout, stderr) }()
			line := waitForLine(t, stderr, exit)
			// The line comes once the server serves there.
			portal := regexp.MustCompile(`http://\S+/`).FindString(line)
			if code, _, body := get(t, portal+"healthz"); code != 200 {
				t.Errorf("%shealthz = %d %s", portal, code, body)
			}
			stop()
			if code := <-exit; code != exitOK {
				t.Errorf("exit %d after the signal", code)
			}
			re := regexp.MustCompile(`^seatledger is ready: portal http://127\.0\.0\.1:\d+/ \(SQLite \S+ledger\.db, ` + tc.clock + ` clock[^)]*\)\. ` +
				`Ctrl-C stops it\. (.*) Every log line: --log-format json\.\n$`)
			if m := re.FindStringSubmatch(stderr.String()); m == nil || m[1] != tc.hint {
				t.Errorf("console:\n%s\nwant the one line %s with the hint %q", stderr, re, tc.hint)
			}
		})
	}
}

// waitForLine waits until the server wrote a line (or ended).
func waitForLine(t *testing.T, out *syncBuffer, exit chan int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "\n") {
		select {
		case code := <-exit:
			t.Fatalf("ledgerd ended with %d:\n%s", code, out)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line within 30 s:\n%s", out)
		}
	}
	return out.String()
}

// Issue 20: a port another process holds is reported before anything is
// created: no data folder, no database, no secret files left behind.
func TestRun_a_taken_port_is_reported_before_the_data_folder_is_created(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := testEnv(t, "LEDGER_ADDR", taken.Addr().String(), "LEDGER_DATABASE_URL", filepath.Join(data, "ledger.db"),
		"LEDGER_KEYRING_FILE", filepath.Join(data, "keyring.secret"), "LEDGER_MAIL_DIR", filepath.Join(data, "mail"))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--log-format=console"}, env, &stdout, &stderr)
	want := "ledgerd: http server: listen tcp " + taken.Addr().String() + ": bind: address already in use\n"
	if code != exitFailure || stderr.String() != want {
		t.Errorf("exit %d, stderr:\n%s\nwant exactly:\n%s", code, stderr.String(), want)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("the start created %v (%v)", entries, err)
	}
}
