package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 20: Ctrl-C ends `make run` quietly. make ran `go run`, which
// exits 1 after an interrupt whatever its program did, so every stop
// printed "make: *** [Makefile:…: run] Error 1". The terminal sends
// SIGINT to the whole foreground process group: so does this test.
func TestMakeRun_stops_on_Ctrl_C_without_an_error(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ledgerd through make")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make is not installed")
		}
		t.Skip("make is not installed")
	}
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(makeBin, "run", "BIN="+filepath.Join(dir, "bin"))
	cmd.Dir = "../.." // the Makefile's folder
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEDGER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LEDGER_ADDR=127.0.0.1:0", "LEDGER_DATABASE_URL="+filepath.Join(data, "ledger.db"),
		"LEDGER_MAIL_DIR="+filepath.Join(data, "mail"), "LEDGER_LINK_KEY_FILE="+filepath.Join(data, "link-key.secret"),
		"LEDGER_KEYRING_FILE="+filepath.Join(data, "keyring.secret"), "LEDGER_OFFLINE_KEY="+filepath.Join(data, "offline.key"),
		"LEDGER_AUDIT_KEY="+filepath.Join(data, "audit.key"), "LEDGER_MDM_CA_CERT="+filepath.Join(data, "mdm-ca.crt"),
		"LEDGER_MDM_CA_KEY="+filepath.Join(data, "mdm-ca.key"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var log strings.Builder
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	listening := false
	for !listening && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		var l struct{ Msg string }
		listening = json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "listening"
	}
	if !listening {
		t.Fatalf("make run did not start ledgerd:\n%s", &log)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lines.Scan() {
			log.WriteString(lines.Text() + "\n")
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("make run still running a minute after Ctrl-C:\n%s", &log)
	}
	err = cmd.Wait()
	// make itself ends by the SIGINT it got, as it does after any Ctrl-C;
	// what matters is that it reports no failure of its recipe.
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT) {
		t.Errorf("make run ended with %v", err)
	}
	if strings.Contains(log.String(), "make: ***") || !strings.Contains(log.String(), `"msg":"stopped"`) {
		t.Errorf("after Ctrl-C, make run printed:\n%s\nwant ledgerd's \"stopped\" and no make error", &log)
	}
}
