package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"seatledger/domain/event"
	"seatledger/infra/postgres/pgtest"
)

// batchStats is a CommitObserver that counts commits, to report how well
// appends coalesce.
type batchStats struct{ commits, requests, events atomic.Int64 }

func (s *batchStats) ObserveCommit(requests, events int, _ time.Duration, err error) {
	if err == nil {
		s.commits.Add(1)
		s.requests.Add(int64(requests))
		s.events.Add(int64(events))
	}
}

func (s *batchStats) reset() { s.commits.Store(0); s.requests.Store(0); s.events.Store(0) }

func (s *batchStats) eventsPerCommit() float64 {
	return float64(s.events.Load()) / float64(max(1, s.commits.Load()))
}

// benchPayload is a typical small event body (a usage report).
var benchPayload = json.RawMessage(`{"installation":"farm-0001","seats_in_use":17,"reported_at":"2026-03-01T09:00:00Z"}`)

func benchEvent() event.Proposed {
	return event.Proposed{ID: uuid.NewString(), Type: "bench.usage_reported", SchemaVersion: 1, Data: benchPayload,
		Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorInstallation, ID: "farm-0001"}, Command: "ReportUsage"}}
}

// BenchmarkAppend measures single-event appends, each writer to a stream
// of its own with exact expected versions (as commands append), durable on
// return (the server's synchronous_commit=on). Events carry IDs chosen by
// the caller, which cost an idempotency look-up; the last case leaves them
// to the store, which skips it. Target: ≥ 15,000 appends/s at 32 writers.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		writers  int
		storeIDs bool
	}{{1, false}, {8, false}, {32, false}, {32, true}} {
		writers, name := c.writers, fmt.Sprintf("writers=%d", c.writers)
		if c.storeIDs {
			name += ",store-ids"
		}
		b.Run(name, func(b *testing.B) {
			var stats batchStats
			s := openStore(b, pgtest.NewDatabase(b), Config{Observer: &stats})
			ctx := context.Background()
			versions := make([]uint64, writers)
			for w := range writers { // connections and prepared statements ready
				versions[w] = mustAppend(b, s, fmt.Sprintf("writer-%d", w), event.NoStream(), benchEvent()).LastVersion
			}
			stats.reset()
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			cpu := startCPU(b, s)
			b.ResetTimer()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream := fmt.Sprintf("writer-%d", w)
					for next.Add(1) <= int64(b.N) {
						e := benchEvent()
						if c.storeIDs {
							e.ID = ""
						}
						res, err := s.Append(ctx, stream, event.Exact(versions[w]), e)
						if err != nil {
							b.Error(err)
							return
						}
						versions[w] = res.LastVersion
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			b.ReportMetric(stats.eventsPerCommit(), "events/commit")
			cpu.report(b, b.N, "append")
		})
	}
}

// BenchmarkReplay reads the whole log page by page, as a projection
// rebuild does. Target: ≥ 200,000 events/s.
func BenchmarkReplay(b *testing.B) {
	const total = 100_000
	s := openStore(b, pgtest.NewDatabase(b), Config{})
	fillLog(b, s, total)
	for _, page := range []int{512, 4096} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			ctx := context.Background()
			cpu := startCPU(b, s)
			for b.Loop() {
				var after uint64
				n := 0
				for {
					recs, err := s.ReadAll(ctx, after, page)
					if err != nil {
						b.Fatal(err)
					}
					n += len(recs)
					if len(recs) < page {
						break
					}
					after = recs[len(recs)-1].Position
				}
				if n != total {
					b.Fatalf("replayed %d events, want %d", n, total)
				}
			}
			b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "events/s")
			cpu.report(b, total*b.N, "event")
		})
	}
}

// fillLog appends n events in appends of 100 to 100 streams.
func fillLog(b *testing.B, s *Store, n int) {
	b.Helper()
	var wg sync.WaitGroup
	const per = 100
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n/per; i += 8 {
				evs := make([]event.Proposed, per)
				for j := range evs {
					evs[j] = benchEvent()
				}
				if _, err := s.Append(context.Background(), fmt.Sprintf("replay-%d", i%100), event.Any(), evs...); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// BenchmarkInsertRows compares three ways to write a batch's event rows,
// each in a transaction with the rest of the commit's statements: the
// padded multi-row INSERT … VALUES the store uses, INSERT … SELECT FROM
// unnest of one array per column, and COPY, which needs round trips of its
// own before the rest. The session commits without waiting for the flush
// (synchronous_commit=off), so that fsyncs do not drown the differences.
func BenchmarkInsertRows(b *testing.B) {
	s := openStore(b, pgtest.NewDatabase(b), Config{})
	ctx := context.Background()
	var pos uint64
	for _, rows := range []int{1, 8, 16, 64} {
		for _, how := range []string{"values", "unnest", "copy"} {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, how), func(b *testing.B) {
				conn, err := s.pool.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Release()
				if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
					b.Fatal(err)
				}
				defer conn.Exec(ctx, "RESET synchronous_commit")
				cpu := startCPU(b, s)
				for b.Loop() {
					recs := benchRecords(pos, rows)
					pos += uint64(rows)
					last := recs[len(recs)-1]
					tx, err := conn.Begin(ctx)
					if err != nil {
						b.Fatal(err)
					}
					batch := &pgx.Batch{}
					switch how {
					case "values":
						queueInsertEvents(batch, recs)
					case "unnest":
						batch.Queue(sqlInsertEventsUnnest, unnestArgs(recs)...)
					case "copy":
						if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, copyColumns, pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
							return copyRow(recs[i]), nil
						})); err != nil {
							b.Fatal(err)
						}
					}
					batch.Queue(sqlMoveHead, int64(last.Position), last.RecordedAt)
					if err := tx.SendBatch(ctx, batch).Close(); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
				cpu.report(b, rows*b.N, "row")
			})
		}
	}
}

const sqlInsertEventsUnnest = `INSERT INTO events (` + recordColumns + `)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::integer[], $7::bytea[],
	$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::bytea[])`

// unnestArgs turns records into the column arrays of sqlInsertEventsUnnest.
func unnestArgs(records []event.Record) []any {
	cols := make([][]any, len(copyColumns))
	for _, r := range records {
		for i, v := range copyRow(r) {
			cols[i] = append(cols[i], v)
		}
	}
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}

var copyColumns = []string{"position", "stream_id", "version", "event_id", "type", "schema_version", "data",
	"actor_kind", "actor_id", "command", "correlation_id", "causation_id", "effective_at", "recorded_at", "hash"}

func copyRow(r event.Record) []any {
	m := r.Metadata
	var eff any
	if !m.EffectiveAt.IsZero() {
		eff = m.EffectiveAt
	}
	return []any{int64(r.Position), r.StreamID, int64(r.Version), r.ID, r.Type, r.SchemaVersion, []byte(r.Data),
		m.Actor.Kind.String(), m.Actor.ID, m.Command, m.CorrelationID, m.CausationID, eff, r.RecordedAt, r.Hash}
}

func benchRecords(after uint64, n int) []event.Record {
	recs := make([]event.Record, n)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range recs {
		e := benchEvent()
		hash := sha256.Sum256([]byte(e.ID))
		recs[i] = event.Record{Position: after + uint64(i) + 1, StreamID: "rows-" + e.ID, Version: 1, ID: e.ID, Type: e.Type,
			SchemaVersion: 1, Data: e.Data, Metadata: e.Metadata, RecordedAt: now, Hash: hash[:]}
	}
	return recs
}

// cpuMeter measures the CPU time a benchmark spends, in this process and in
// the server sessions of the store's database, so that figures taken on a
// machine shared with other work can be judged: throughput varies with the
// load, CPU time per operation much less. The server's share is read from
// /proc, so it is reported only when PostgreSQL runs on this machine.
type cpuMeter struct {
	store          *Store
	self, server   time.Duration
	serverReadable bool
}

func startCPU(b *testing.B, s *Store) *cpuMeter {
	m := &cpuMeter{store: s, self: selfCPU()}
	m.server, m.serverReadable = serverCPU(s)
	return m
}

func (m *cpuMeter) report(b *testing.B, ops int, unit string) {
	self := selfCPU() - m.self
	b.ReportMetric(float64(self.Microseconds())/float64(ops), "client-µs/"+unit)
	if server, ok := serverCPU(m.store); ok && m.serverReadable {
		b.ReportMetric(float64((server-m.server).Microseconds())/float64(ops), "server-µs/"+unit)
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU sums the CPU time of the sessions connected to the store's
// database (its pool and listener, which live as long as the store).
func serverCPU(s *Store) (time.Duration, bool) {
	rows, err := s.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return 0, false
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, false
	}
	var total time.Duration
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, false
		}
		// Fields 14 and 15 (utime, stime) in clock ticks, after the
		// parenthesised command name, which may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 13 {
			return 0, false
		}
		utime, err1 := strconv.ParseInt(fields[11], 10, 64)
		stime, err2 := strconv.ParseInt(fields[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		total += time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return total, true
}
