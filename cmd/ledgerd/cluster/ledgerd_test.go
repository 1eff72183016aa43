package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// build compiles ledgerd and the ledger CLI into dir.
func build(t *testing.T, dir string) (ledgerd, ledger string) {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/ledgerd", "./cmd/ledger")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "ledgerd"), filepath.Join(dir, "ledger")
}

// process is one ledgerd process on a fixed address, which the test
// kills with SIGKILL and starts again; gen counts its starts, so that a
// request can tell whether its process died while it waited.
type process struct {
	i      int
	addr   string
	bin    string
	env    []string
	logDir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	gen    atomic.Int64
	up     atomic.Bool
}

func (p *process) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	gen := p.gen.Add(1)
	logf, err := os.Create(filepath.Join(p.logDir, fmt.Sprintf("ledgerd-%d.%d.log", p.i, gen)))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin)
	cmd.Env = append(os.Environ(), append(p.env, "LEDGER_ADDR="+p.addr)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ledgerd %d: %v", p.i, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.up.Store(true)
				return
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("ledgerd %d exited at start:\n%s", p.i, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledgerd %d does not answer /healthz: %v", p.i, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 kills the process with SIGKILL: no shutdown code runs.
func (p *process) kill9() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.up.Store(false)
	p.gen.Add(1)
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// stop shuts the process down gracefully (SIGTERM).
func (p *process) stop(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.up.Store(false)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Errorf("ledgerd %d did not stop on SIGTERM", p.i)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// answer is an HTTP answer: status, the problem type of an error, the
// log position of a write, and the JSON body.
type answer struct {
	status   int
	problem  string
	position uint64
	body     map[string]any
	raw      string
}

func (a answer) str(key string) string { s, _ := a.body[key].(string); return s }

// outcome records every answer of the run, for the checks at the end.
type outcome struct {
	mu         sync.Mutex
	statuses   map[int]int
	fiveXX     []string // 5xx answers, described
	connFailed int      // requests cut off by a kill of their process
	connWrong  []string // connection failures to a process that was not killed
	acked      []ack
	firstAfter time.Time // the first write acknowledged after the primary was killed
	primaryAt  time.Time // when the primary was killed
}

// ack is an acknowledged write: its kind, its log position and the stream
// the event there must belong to.
type ack struct {
	kind     string
	position uint64
	stream   string
	sentAt   time.Time
}

func newOutcome() *outcome { return &outcome{statuses: map[int]int{}} }

func (o *outcome) acknowledge(kind string, position uint64, stream string, sent time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.acked = append(o.acked, ack{kind, position, stream, sent})
	if !o.primaryAt.IsZero() && o.firstAfter.IsZero() && sent.After(o.primaryAt) {
		o.firstAfter = time.Now()
	}
}

// client sends requests to the processes as a load balancer would, and
// records each answer in its outcome.
type client struct {
	http  *http.Client
	procs []*process
	out   *outcome
}

// errCut is a request cut off by the kill of its process.
var errCut = errors.New("the process was killed")

// do sends a request to process i. A connection failure is errCut when
// process i was killed (or down) meanwhile, and is recorded as wrong
// otherwise; a 5xx is recorded too.
func (c *client) do(i int, method, path, bearer, idemKey string, body any) (answer, error) {
	p := c.procs[i]
	gen := p.gen.Load()
	if !p.up.Load() {
		return answer{}, errCut
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+p.addr+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.out.mu.Lock()
		defer c.out.mu.Unlock()
		if p.gen.Load() != gen || !p.up.Load() {
			c.out.connFailed++
			return answer{}, errCut
		}
		c.out.connWrong = append(c.out.connWrong, fmt.Sprintf("%s %s to ledgerd %d: %v", method, path, i, err))
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	a.problem = strings.TrimPrefix(a.str("type"), "https://seatledger.dev/problems/")
	a.position, _ = strconv.ParseUint(resp.Header.Get("X-Ledger-Position"), 10, 64)
	c.out.mu.Lock()
	c.out.statuses[a.status]++
	if a.status >= 500 {
		c.out.fiveXX = append(c.out.fiveXX, fmt.Sprintf("%s %s to ledgerd %d at %s: %d %s", method, path, i,
			time.Now().Format("15:04:05.000"), a.status, raw))
	}
	c.out.mu.Unlock()
	return a, nil
}

// must sends a request to process i, and to the next processes while the
// one asked was killed, until one answers; it fails the test unless the
// answer has status want. For setup, before any fault.
func (c *client) must(t *testing.T, i int, want int, method, path, bearer string, body any) answer {
	t.Helper()
	for attempt := range 30 {
		a, err := c.do((i+attempt)%len(c.procs), method, path, bearer, "", body)
		if errors.Is(err, errCut) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if a.status != want {
			t.Fatalf("%s %s = %d, want %d: %s", method, path, a.status, want, a.raw)
		}
		return a
	}
	t.Fatalf("%s %s: no process answered", method, path)
	return answer{}
}
