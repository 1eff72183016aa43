package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/postgres/pgtest"
)

// openStore opens a Store on dsn and closes it when tb ends.
func openStore(tb testing.TB, dsn string, cfg Config) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn, cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// withParam returns dsn with the query parameter key set to value.
func withParam(tb testing.TB, dsn, key, value string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse %s: %v", dsn, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestContract runs the shared contract suite, which checks rule X-1 (who,
// why and when travel with every event) and rule X-2 (hash chains, and
// reading a stream as of a past position or time).
func TestContract(t *testing.T) {
	eventstoretest.Run(t, func(t *testing.T, clk clock.Clock) eventstore.Store {
		return openStore(t, pgtest.NewDatabase(t), Config{Clock: clk})
	}, eventstoretest.Options{ContiguousPositions: true})
}

func TestConfig_Validate_reports_every_problem(t *testing.T) {
	t.Parallel()
	err := Config{MaxBatchEvents: -1, PollInterval: -time.Second}.Validate()
	for _, want := range []string{"MaxBatchEvents", "PollInterval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	var cfg Config
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil || cfg.Clock == nil || cfg.MaxBatchEvents != DefaultMaxBatchEvents || cfg.PollInterval != DefaultPollInterval {
		t.Errorf("defaults = %+v, Validate() = %v", cfg, err)
	}
}

// Two processes racing for the same stream version: the append lock
// serialises their batches and the loser's batch, reading the stream head
// only once it holds the lock, sees the winner's event (rule X-4,
// optimistic concurrency across processes).
func TestAppend_two_stores_same_expected_version_one_wins(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()

	t.Run("loser_waits_for_the_lock_then_conflicts", func(t *testing.T) {
		holding, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		a := openStore(t, dsn, Config{beforeCommit: func() {
			once.Do(func() { close(holding) })
			<-release
		}})
		b := openStore(t, dsn, Config{})
		mustAppend(t, b, "contested", event.NoStream(), eventstoretest.NewEvent("test.first", 0))

		eA, eB := eventstoretest.NewEvent("test.a", 1), eventstoretest.NewEvent("test.b", 2)
		type outcome struct {
			res event.AppendResult
			err error
		}
		doneA, doneB := make(chan outcome, 1), make(chan outcome, 1)
		go func() {
			res, err := a.Append(ctx, "contested", event.Exact(1), eA)
			doneA <- outcome{res, err}
		}()
		waitFor(t, holding, "store A to hold the append lock")
		go func() {
			res, err := b.Append(ctx, "contested", event.Exact(1), eB)
			doneB <- outcome{res, err}
		}()
		// B's batch must be queued behind A's lock, not deciding on its own.
		deadline := time.Now().Add(10 * time.Second)
		for lockWaiters(t, b) < 1 {
			if time.Now().After(deadline) {
				t.Fatal("store B never waited for the append lock")
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(release)

		var oa, ob outcome
		select {
		case oa = <-doneA:
		case <-time.After(10 * time.Second):
			t.Fatal("store A's append did not finish")
		}
		select {
		case ob = <-doneB:
		case <-time.After(10 * time.Second):
			t.Fatal("store B's append did not finish")
		}
		if oa.err != nil || oa.res.FirstVersion != 2 || oa.res.Position != 2 {
			t.Fatalf("winner: %+v, %v; want version 2 at position 2", oa.res, oa.err)
		}
		wantConflict(t, ob.err, "contested", 1, 2)
		recs, err := b.ReadStream(ctx, "contested", 1, 10)
		if err != nil || len(recs) != 2 || recs[1].ID != eA.ID {
			t.Fatalf("stream after the race: %d events, %v; want the first and A's", len(recs), err)
		}
	})

	t.Run("free_race_repeated", func(t *testing.T) {
		a, b := openStore(t, dsn, Config{}), openStore(t, dsn, Config{})
		for round := range 20 {
			stream := fmt.Sprintf("race-%d", round)
			mustAppend(t, a, stream, event.NoStream(), eventstoretest.NewEvent("test.first", 0))
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, s := range []*Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.Append(ctx, stream, event.Exact(1), eventstoretest.NewEvent("test.race", i))
				}()
			}
			wg.Wait()
			switch {
			case errs[0] == nil && errs[1] == nil:
				t.Fatalf("round %d: both stores won version 2", round)
			case errs[0] == nil:
				wantConflict(t, errs[1], stream, 1, 2)
			case errs[1] == nil:
				wantConflict(t, errs[0], stream, 1, 2)
			default:
				t.Fatalf("round %d: nobody won: %v; %v", round, errs[0], errs[1])
			}
		}
	})
}

func mustAppend(tb testing.TB, s eventstore.Store, stream string, exp event.ExpectedVersion, evs ...event.Proposed) event.AppendResult {
	tb.Helper()
	res, err := s.Append(context.Background(), stream, exp, evs...)
	if err != nil {
		tb.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func wantConflict(t *testing.T, err error, stream string, expected, actual uint64) {
	t.Helper()
	var ce *event.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, event.ErrConflict) {
		t.Fatalf("err = %v, want a *event.ConflictError", err)
	}
	if v, ok := ce.Expected.Version(); ce.StreamID != stream || !ok || v != expected || ce.Actual != actual {
		t.Fatalf("conflict = %+v, want stream %s expected %d actual %d", ce, stream, expected, actual)
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// lockWaiters counts the sessions of the store's database waiting for a lock.
func lockWaiters(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	err := s.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
	if err != nil {
		t.Fatalf("count lock waiters: %v", err)
	}
	return n
}

// Subscriptions in one process learn of another process's commits through
// LISTEN/NOTIFY, not by polling: the poll interval here is an hour.
func TestSubscribe_wakes_on_commits_of_another_store(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	reader := openStore(t, dsn, Config{PollInterval: time.Hour})
	writer := openStore(t, dsn, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan event.Record, 10)
	done := make(chan error, 1)
	go func() {
		done <- reader.Subscribe(ctx, 0, func(r event.Record) error { got <- r; return nil })
	}()
	expect := func(id string) {
		t.Helper()
		select {
		case r := <-got:
			if r.ID != id {
				t.Fatalf("delivered %s, want %s", r.ID, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %s was not delivered: no wake-up from the other store", id)
		}
	}
	time.Sleep(50 * time.Millisecond) // let the subscription catch up and wait
	e := eventstoretest.NewEvent("test.remote", 1)
	mustAppend(t, writer, "remote", event.NoStream(), e)
	expect(e.ID)

	// A lost LISTEN connection is re-established, and what was committed
	// meanwhile is delivered.
	var terminated int
	if err := writer.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+notifyChannel+`'`).Scan(&terminated); err != nil || terminated != 2 {
		t.Fatalf("terminated %d listeners, want both stores': %v", terminated, err)
	}
	for i := range 3 {
		e := eventstoretest.NewEvent("test.remote", i+2)
		mustAppend(t, writer, "remote", event.Exact(uint64(i+1)), e)
		expect(e.ID)
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v", err)
	}
}

// Close is a clean shutdown: every append already queued is committed and
// acknowledged, later ones are refused with ErrClosed, none is lost.
func TestClose_commits_queued_appends(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s, err := Open(context.Background(), dsn, Config{})
	if err != nil {
		t.Fatal(err)
	}
	const appenders = 64
	var (
		wg    sync.WaitGroup
		acked = make([]bool, appenders)
		ids   = make([]string, appenders)
	)
	for i := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := eventstoretest.NewEvent("test.closing", i)
			ids[i] = e.ID
			_, err := s.Append(context.Background(), fmt.Sprintf("closing-%d", i), event.NoStream(), e)
			switch {
			case err == nil:
				acked[i] = true
			case !errors.Is(err, eventstore.ErrClosed):
				t.Errorf("append %d: %v, want success or ErrClosed", i, err)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if _, err := s.Append(context.Background(), "late", event.NoStream(), eventstoretest.NewEvent("test.late", 0)); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	again := openStore(t, dsn, Config{})
	all, err := again.ReadAll(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, r := range all {
		stored[r.ID] = true
	}
	n := 0
	for i := range appenders {
		if acked[i] {
			n++
			if !stored[ids[i]] {
				t.Errorf("acknowledged append %d is not stored", i)
			}
		}
	}
	if len(all) != n {
		t.Errorf("%d events stored, %d appends acknowledged", len(all), n)
	}
}

// Input PostgreSQL cannot store (a NUL byte, invalid UTF-8, an
// out-of-range time or number) would make the server fail the whole batch;
// it must be refused up front so that the appends batched with it succeed.
func TestAppend_unstorable_input_is_refused_without_failing_its_batch(t *testing.T) {
	s := openStore(t, pgtest.NewDatabase(t), Config{beforeCommit: func() { time.Sleep(2 * time.Millisecond) }})
	bad := map[string]func(*event.Proposed){
		"nul in command":    func(e *event.Proposed) { e.Metadata.Command = "a\x00b" },
		"invalid utf-8":     func(e *event.Proposed) { e.Type = "a\xffb" },
		"effective year":    func(e *event.Proposed) { e.Metadata.EffectiveAt = time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"schema beyond int": func(e *event.Proposed) { e.SchemaVersion = 1 << 40 },
	}
	var wg sync.WaitGroup
	for name, mut := range bad {
		for i := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				e := eventstoretest.NewEvent("test.bad", i)
				mut(&e)
				if _, err := s.Append(context.Background(), "bad", event.Any(), e); !errors.Is(err, eventstore.ErrInvalid) {
					t.Errorf("%s: err = %v, want ErrInvalid", name, err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := s.Append(context.Background(), "good-"+name, event.Any(), eventstoretest.NewEvent("test.good", i)); err != nil {
					t.Errorf("good append beside %q: %v", name, err)
				}
			}()
		}
	}
	wg.Wait()
	if _, err := s.Append(context.Background(), "nul\x00stream", event.Any(), eventstoretest.NewEvent("test.bad", 0)); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("NUL in stream ID: err = %v, want ErrInvalid", err)
	}
	if h, err := s.Head(context.Background()); err != nil || h != 16 {
		t.Errorf("head = %d, %v; want the 16 good events", h, err)
	}
}

// Rule X-8: two stores on one database, as two processes would open it.
func TestShared(t *testing.T) {
	eventstoretest.RunShared(t, func(t *testing.T, clk clock.Clock) (eventstore.Store, eventstore.Store) {
		dsn := pgtest.NewDatabase(t)
		return openStore(t, dsn, Config{Clock: clk}), openStore(t, dsn, Config{Clock: clk})
	})
}

// Issue 21: while a store is the log's only writer, it commits a batch in
// one round trip, without reading the log first (CommitExpected). When
// another process appended meanwhile, or an append is a retry of one
// already stored, that commit writes nothing and the batch is decided
// again under the lock: the conflict, the gap-free positions and the
// retry's first answer are as ever.
func TestAppend_without_a_read_first_while_the_only_writer_X4_X8(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	eventstoretest.RunWithoutReadFirst(t, func() eventstoretest.ExpectingStore {
		s := openStore(t, dsn, Config{})
		return eventstoretest.ExpectingStore{Store: s, Expected: s.batches.expected.Load}
	})
}
