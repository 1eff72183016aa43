package audit_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"seatledger/infra/audit"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstorebench"
	"seatledger/infra/sqldb"
	"seatledger/infra/storage"
)

// benchLog opens the SQLite log of the benchmarks: LEDGER_BENCH_AUDIT_DB
// (kept, so that later runs skip the filling) or a temporary file, filled
// to LEDGER_BENCH_AUDIT_EVENTS events (default 1,000,000) and
// checkpointed.
func benchLog(b *testing.B) (*storage.Storage, audit.StoredCheckpoint, *audit.Signer) {
	b.Helper()
	ctx := context.Background()
	n := 1_000_000
	if v := os.Getenv("LEDGER_BENCH_AUDIT_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	path := os.Getenv("LEDGER_BENCH_AUDIT_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	target := sqldb.Target{Engine: sqldb.SQLite, DSN: path}
	s, err := storage.Open(ctx, storage.Options{Database: target, Clock: clock.Real{}, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	head, err := s.Store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if missing := n - int(head); missing > 0 {
		start := time.Now()
		if err := eventstorebench.Fill(ctx, s.Store, missing, nil); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d events in %s", missing, time.Since(start).Round(time.Millisecond))
	}
	signer, err := audit.NewSigner(audit.DefaultOrigin, benchKey)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	c, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: s.DB, Log: s.Store, Signer: signer, Clock: clock.Real{}, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	cp, err := c.CatchUp(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("checkpointed %d events in %s", cp.Size, time.Since(start).Round(time.Millisecond))
	s.Close()
	// Verify reads from a fresh store, as `ledger verify` does: nothing
	// comes from the writer's memory.
	if s, err = storage.Open(ctx, storage.Options{Database: target, Clock: clock.Real{}, Logger: quiet()}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, cp, signer
}

// benchKey is fixed so that a kept benchmark database's checkpoints stay
// verifiable across runs.
var benchKey = func() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "seatledger audit benchmark key")
	return ed25519.NewKeyFromSeed(seed)
}()

// BenchmarkVerify measures `ledger verify` over the benchmark log (target:
// 1,000,000 events at ≥ 200,000 events/s) and reports events/s and the
// peak heap.
func BenchmarkVerify(b *testing.B) {
	s, stored, signer := benchLog(b)
	cp, err := audit.OpenCheckpoint(stored.Note, signer.VerifierKey())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var events uint64
	peak := peakHeap()
	b.ResetTimer()
	for b.Loop() {
		rep, err := audit.VerifyLog(ctx, s.Store, cp, audit.VerifyOptions{Contiguous: true, Tree: audit.NewTree(s.DB), Streams: s.Store,
			Progress: func(uint64) { peak.sample() }})
		if err != nil {
			b.Fatal(err)
		}
		events += rep.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak.max)/(1<<20), "peak-heap-MB")
}

// BenchmarkExport measures the whole-log export, written to nowhere, and
// its peak heap: memory stays flat whatever the size of the log.
func BenchmarkExport(b *testing.B) {
	s, stored, _ := benchLog(b)
	svc := &audit.Service{Tree: audit.NewTree(s.DB), Log: s.Store, Streams: s.Store, Contiguous: true}
	ctx := context.Background()
	peak := peakHeap()
	w := &sampling{peak: peak}
	var events uint64
	b.ResetTimer()
	for b.Loop() {
		rep, err := svc.Export(ctx, w, audit.Filter{}, stored.Size)
		if err != nil {
			b.Fatal(err)
		}
		events += rep.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak.max)/(1<<20), "peak-heap-MB")
}

type heapPeak struct {
	max, calls uint64
}

func peakHeap() *heapPeak {
	runtime.GC()
	return &heapPeak{}
}

// sample reads the heap now and then (ReadMemStats stops the world).
func (p *heapPeak) sample() {
	if p.calls++; p.calls%64 != 0 {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.max = max(p.max, ms.HeapInuse)
}

type sampling struct{ peak *heapPeak }

func (s *sampling) Write(b []byte) (int, error) {
	s.peak.sample()
	return len(b), nil
}
