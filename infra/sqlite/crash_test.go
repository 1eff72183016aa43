package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqlite"
)

// crashChildEnv makes the test binary act as an appending process.
const crashChildEnv = "SEATLEDGER_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		runCrashChild(path)
		return
	}
	os.Exit(m.Run())
}

// runCrashChild appends from 8 writers forever, printing the ID of each
// event once its append is acknowledged, until it is killed.
func runCrashChild(path string) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, err := sqlite.Open(ctx, db, sqlite.Config{Clock: clock.Real{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				e := eventstoretest.NewEvent("crash.appended", i)
				if _, err := s.Append(ctx, fmt.Sprintf("crash-%d", w), event.Any(), e); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, e.ID)
				out.Flush() // the parent must see each acknowledgement as it happens
				mu.Unlock()
			}
		}()
	}
	select {}
}

// Killing the process during appends loses no acknowledged event: every ID
// the child printed after its append returned is in the file afterwards, and
// every stream's hash chain still verifies.
func TestCrash_acknowledged_appends_survive_kill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqldb.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(stdout)
	deadline := time.Now().Add(60 * time.Second)
	for len(acked) < 3000 && time.Now().Before(deadline) && lines.Scan() {
		acked = append(acked, lines.Text())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown code runs
		t.Fatal(err)
	}
	for lines.Scan() { // acknowledgements printed before the kill landed
		acked = append(acked, lines.Text())
	}
	_ = cmd.Wait()
	if len(acked) < 100 {
		t.Fatalf("child acknowledged only %d appends before the deadline", len(acked))
	}

	db, err = sqldb.Open(ctx, sqldb.Target{Engine: sqldb.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT event_id FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	rows.Close()
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged event %s is missing after the crash (%d acknowledged, %d stored)", id, len(acked), len(stored))
		}
	}
	s, err := sqlite.Open(ctx, db, sqlite.Config{Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for w := range 8 {
		if _, err := eventstore.VerifyStream(ctx, s, fmt.Sprintf("crash-%d", w)); err != nil {
			t.Fatalf("after the crash: %v", err)
		}
	}
	t.Logf("%d acknowledged appends, %d stored, all present", len(acked), len(stored))
}
