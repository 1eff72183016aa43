package postgres

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"seatledger/domain/event"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/postgres/pgtest"
)

// answerDropper is a TCP proxy in front of PostgreSQL that, once armed,
// lets the next COMMIT reach the server and be carried out, and then cuts
// the connection before its answer reaches the client: the append's
// outcome is unknown to the store, as when the primary dies right after
// committing.
type answerDropper struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	dropped chan struct{} // a value for each answer dropped
}

func newAnswerDropper(t *testing.T, target string) *answerDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &answerDropper{ln: ln, target: target, dropped: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *answerDropper) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		go func() { _, _ = io.Copy(server, client); server.Close() }()
		go func() {
			defer client.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					// CommandComplete "COMMIT": the server committed.
					if bytes.Contains(buf[:n], []byte("COMMIT\x00")) && p.armed.CompareAndSwap(true, false) {
						server.Close()
						p.dropped <- struct{}{}
						return
					}
					if _, werr := client.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// through returns dsn with its host replaced by the proxy's address.
func (p *answerDropper) through(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func dbHost(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// Rule X-8 (and X-4): the primary commits an append and dies before the
// answer reaches ledgerd. The store waits for the database, looks the
// batch's event IDs up — those it generated itself too — and answers with
// the stored result: the append is neither lost nor stored twice.
func TestAppend_commit_whose_answer_was_lost_is_settled_by_idempotency_X8(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	proxy := newAnswerDropper(t, dbHost(t, dsn))
	s := openStore(t, proxy.through(t, dsn), Config{beforeCommit: func() {}})
	mustAppend(t, s, "usage", event.NoStream(), eventstoretest.NewEvent("test.first", 0))
	for round, withIDs := range []bool{false, true} {
		proposed := []event.Proposed{eventstoretest.NewEvent("test.report", 1), eventstoretest.NewEvent("test.report", 2)}
		if !withIDs {
			for i := range proposed {
				proposed[i].ID = "" // the store chooses them
			}
		}
		proxy.armed.Store(true)
		res, err := s.Append(context.Background(), "usage", event.Exact(uint64(1+2*round)), proposed...)
		if err != nil {
			t.Fatalf("round %d: the append whose answer was lost failed: %v", round, err)
		}
		waitFor(t, proxy.dropped, "the commit's answer to be dropped")
		if res.FirstVersion != uint64(2+2*round) || res.LastVersion != uint64(3+2*round) {
			t.Fatalf("round %d: result %+v, want versions %d-%d", round, res, 2+2*round, 3+2*round)
		}
	}
	recs, err := s.ReadStream(context.Background(), "usage", 1, 100)
	if err != nil || len(recs) != 5 {
		t.Fatalf("usage holds %d events (%v), want 5: each append once", len(recs), err)
	}
}

// Rule X-8: the connection breaks before the COMMIT reaches the server:
// nothing was stored, and the store's retry stores the batch once.
func TestAppend_batch_cut_off_before_its_commit_is_stored_once_X8(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	var cut atomic.Bool
	s := openStore(t, dsn, Config{beforeCommit: func() {
		if !cut.CompareAndSwap(true, false) {
			return
		}
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		// Every session of the database ends, the batch's among them.
		if _, err := conn.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
			t.Error(err)
		}
	}})
	mustAppend(t, s, "orders", event.NoStream(), eventstoretest.NewEvent("test.first", 0))
	cut.Store(true)
	e := eventstoretest.NewEvent("test.second", 1)
	e.ID = ""
	res, err := s.Append(context.Background(), "orders", event.Exact(1), e)
	if err != nil || res.FirstVersion != 2 {
		t.Fatalf("append cut off before its commit: %+v, %v; want version 2", res, err)
	}
	if cut.Load() {
		t.Fatal("the connection was never cut")
	}
	recs, err := s.ReadStream(context.Background(), "orders", 1, 100)
	if err != nil || len(recs) != 2 {
		t.Fatalf("orders holds %d events (%v), want 2", len(recs), err)
	}
}

// Rule X-8: the database URL may list several hosts; with
// target_session_attrs=read-write the store finds the primary among them,
// whichever comes first (here the first host answers nothing at all).
func TestOpen_multi_host_URL_finds_the_read_write_server_X8(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nobody listens there now
	u.Host = deadAddr + "," + u.Host
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	u.RawQuery = q.Encode()
	s := openStore(t, u.String(), Config{})
	mustAppend(t, s, "multi", event.NoStream(), eventstoretest.NewEvent("test.multi", 0))
	if h, err := s.Head(context.Background()); err != nil || h != 1 {
		t.Fatalf("head through a multi-host URL = %d, %v", h, err)
	}
}
