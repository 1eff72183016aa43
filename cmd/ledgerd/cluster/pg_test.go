package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBinDir finds Debian's PostgreSQL binaries: LEDGER_PG_BIN, or the
// newest /usr/lib/postgresql/*/bin.
func pgBinDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("LEDGER_PG_BIN"); dir != "" {
		return dir
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	t.Fatal("no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql, or set LEDGER_PG_BIN)")
	return ""
}

// pgUser is who runs PostgreSQL: the postgres user when the test runs as
// root (PostgreSQL refuses to run as root), else the test's own user.
type pgUser struct {
	cred     *syscall.Credential // nil: the test's own user
	uid, gid int
}

func lookupPGUser(t *testing.T) pgUser {
	t.Helper()
	if os.Geteuid() != 0 {
		return pgUser{uid: os.Geteuid(), gid: os.Getegid()}
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return pgUser{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid: uid, gid: gid}
}

// command returns a command that runs as u.
func (u pgUser) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	return cmd
}

// mkdir creates a directory u owns.
func (u pgUser) mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs a PostgreSQL tool as u and fails the test with its output.
func (u pgUser) run(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := u.command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

// pgServer is one PostgreSQL cluster: a data directory and its postmaster,
// started as a child of the test in a process group of its own, so that
// kill -9 reaches the postmaster and its backends at once, and so that it
// dies with the test (Pdeathsig) if the test is killed.
type pgServer struct {
	name, bin, dir, sock string
	port                 int
	user                 pgUser
	cmd                  *exec.Cmd
	exited               chan struct{}
}

func (s *pgServer) start(t *testing.T) {
	t.Helper()
	logf, err := os.Create(filepath.Join(filepath.Dir(s.dir), s.name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := s.user.command(filepath.Join(s.bin, "postgres"), "-D", s.dir, "-p", strconv.Itoa(s.port), "-k", s.sock,
		"-c", "listen_addresses=127.0.0.1")
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(context.Background(), s.url("postgres"))
		if err == nil {
			conn.Close(context.Background())
			return
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s exited at start:\n%s", s.name, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer: %v", s.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL to the postmaster and every backend: the machine
// died, as far as the database is concerned.
func (s *pgServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

func (s *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// exec runs statements on database db of s.
func (s *pgServer) exec(t *testing.T, db string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.url(db))
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %s: %v", s.name, q, err)
		}
	}
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// replicatedPair creates a primary and a synchronous streaming-replication
// standby of it (initdb, pg_basebackup), both on loopback ports under
// base, and returns them running. The standby is the primary's only
// synchronous standby: a commit is acknowledged once the standby has
// flushed it, so the standby holds every acknowledged write.
func replicatedPair(t *testing.T, base string) (primary, standby *pgServer) {
	t.Helper()
	bin, u := pgBinDir(t), lookupPGUser(t)
	if err := os.MkdirAll(base, 0o755); err != nil { // the postgres user walks through it
		t.Fatal(err)
	}
	sock := u.mkdir(t, filepath.Join(base, "sock"))
	primary = &pgServer{name: "primary", bin: bin, dir: filepath.Join(base, "primary"), sock: sock, port: freePort(t), user: u}
	standby = &pgServer{name: "standby", bin: bin, dir: filepath.Join(base, "standby"), sock: sock, port: freePort(t), user: u}
	u.mkdir(t, primary.dir)
	u.run(t, filepath.Join(bin, "initdb"), "-D", primary.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	conf := `
synchronous_standby_names = 'standby1'
synchronous_commit = on
wal_level = replica
max_wal_senders = 5
max_connections = 200
shared_buffers = 64MB
`
	appendFile(t, filepath.Join(primary.dir, "postgresql.conf"), conf)
	primary.start(t)
	u.mkdir(t, standby.dir)
	u.run(t, filepath.Join(bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-D", standby.dir, "-X", "stream", "-R", "--no-sync")
	// The standby names itself for synchronous_standby_names, and has no
	// synchronous standby of its own: once promoted it commits alone.
	appendFile(t, filepath.Join(standby.dir, "postgresql.auto.conf"), fmt.Sprintf(`
primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=standby1'
synchronous_standby_names = ''
wal_retrieve_retry_interval = 100ms
`, primary.port))
	standby.start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, primary.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var state string
		err := conn.QueryRow(ctx, `SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'`).Scan(&state)
		if err == nil && state == "sync" {
			return primary, standby
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby never became the synchronous standby: %q %v", state, err)
		}
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// promote makes the standby the primary and returns once it takes writes.
func (s *pgServer) promote(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		t.Fatalf("connect to the standby to promote it: %v", err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_promote(true, 60)`).Scan(&ok); err != nil || !ok {
		t.Fatalf("promote the standby: %v %v", ok, err)
	}
}
