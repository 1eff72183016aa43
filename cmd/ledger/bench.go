package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"seatledger/infra/clock"
	"seatledger/infra/config"
	"seatledger/infra/eventstore/eventstorebench"
	"seatledger/infra/storage"
)

func init() { register(newBenchCommand) }

func newBenchCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure an event store (append throughput, replay speed, live latency) or a running server's ingest",
		Long: `Measure an event store and print the figures, ending with one name=value line per figure.

Without --database-url the benchmark runs on a new temporary SQLite file that
is removed afterwards; the environment's LEDGER_DATABASE_URL is deliberately
not used, so that a benchmark never writes into a real ledger by accident.
Benchmark events go to streams named bench-…, fill-… and live-….

ingest is different: it drives a running ledgerd over HTTP (--url), and
--database-url and --eventstore-url do not apply to it.`,
	}
	commandGroup(cmd)
	cmd.PersistentFlags().String("database-url", "", "SQLite file path or postgres:// URL to measure (default: a temporary SQLite file)")
	cmd.PersistentFlags().String("eventstore-url", "", "KurrentDB URL to measure (read models in --database-url, PostgreSQL)")
	cmd.AddCommand(newBenchAppendCommand(a), newBenchReplayCommand(a), newBenchLiveCommand(a), newBenchIngestCommand(a))
	return cmd
}

// openBenchStorage opens the store to measure and returns a cleanup.
func openBenchStorage(cmd *cobra.Command, a *app) (*storage.Storage, func(), error) {
	raw, _ := cmd.Flags().GetString("database-url")
	kurrentURL, _ := cmd.Flags().GetString("eventstore-url")
	removeDir := func() {}
	if raw == "" {
		dir, err := os.MkdirTemp("", "ledger-bench-")
		if err != nil {
			return nil, nil, err
		}
		raw = filepath.Join(dir, "bench.db")
		removeDir = func() { os.RemoveAll(dir) }
	}
	target, err := config.ParseDatabaseURL(raw)
	if err != nil {
		removeDir()
		return nil, nil, usagef("--database-url: %v", err)
	}
	s, err := storage.Open(cmd.Context(), storage.Options{Database: target, EventStoreURL: kurrentURL, Clock: clock.Real{}})
	if err != nil {
		removeDir()
		return nil, nil, err
	}
	fmt.Fprintf(a.stdout, "store: %s\n", describeStore(target.Engine.String(), kurrentURL))
	return s, func() { s.Close(); removeDir() }, nil
}

func describeStore(engine, kurrentURL string) string {
	if kurrentURL != "" {
		return "kurrentdb"
	}
	return engine
}

// figures prints the closing name=value lines.
func figures(w io.Writer, kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case float64:
			fmt.Fprintf(w, "%s=%.1f\n", kv[i], v)
		default:
			fmt.Fprintf(w, "%s=%v\n", kv[i], v)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func newBenchAppendCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "append",
		Short: "Single-event appends to distinct streams with exact expected versions, at several writer counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			writers, err := parseWriters(cmd)
			if err != nil {
				return err
			}
			duration, _ := cmd.Flags().GetDuration("duration")
			callerIDs, _ := cmd.Flags().GetBool("caller-ids")
			if duration <= 0 {
				return usagef("--duration must be positive")
			}
			s, cleanup, err := openBenchStorage(cmd, a)
			if err != nil {
				return err
			}
			defer cleanup()
			var out []any
			fmt.Fprintf(a.stdout, "%8s %12s %14s %10s %10s\n", "writers", "appends", "appends/s", "p50 ms", "p99 ms")
			for _, w := range writers {
				rep, err := eventstorebench.Append(cmd.Context(), s.Store, w, duration, 0, callerIDs)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%8d %12d %14.0f %10.2f %10.2f\n", w, rep.Appends, rep.PerSecond(), ms(rep.P50), ms(rep.P99))
				out = append(out, fmt.Sprintf("appends_per_s_writers_%d", w), rep.PerSecond(), fmt.Sprintf("append_p99_ms_writers_%d", w), ms(rep.P99))
			}
			figures(a.stdout, out...)
			return nil
		},
	}
	cmd.Flags().String("writers", "1,8,32", "comma-separated counts of concurrent writers")
	cmd.Flags().Duration("duration", 10*time.Second, "how long each writer count runs")
	cmd.Flags().Bool("caller-ids", false, "events carry random caller-chosen IDs (as idempotent commands' do) instead of store-assigned UUIDv7s")
	return cmd
}

func parseWriters(cmd *cobra.Command) ([]int, error) {
	raw, _ := cmd.Flags().GetString("writers")
	var out []int
	for _, f := range strings.Split(raw, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, usagef("--writers: %q is not a count from 1 to 4096", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func newBenchReplayCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Read the whole log into a no-op projection; report events/s and memory",
		Long: `Fill the log up to --events events (appending only what is missing), then read
it from position zero into a projection that does nothing, page by page, as a
rebuild does. Reports the replay rate, the peak Go heap and the process's
resident memory, so that replays of different sizes can be compared.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			events, _ := cmd.Flags().GetInt("events")
			page, _ := cmd.Flags().GetInt("page")
			readers, _ := cmd.Flags().GetInt("readers")
			if events < 1 || page < 1 || readers < 1 {
				return usagef("--events, --page and --readers must be positive")
			}
			s, cleanup, err := openBenchStorage(cmd, a)
			if err != nil {
				return err
			}
			defer cleanup()
			head, err := s.Store.Head(cmd.Context())
			if err != nil {
				return err
			}
			if missing := events - int(head); missing > 0 {
				bar := progressbar.NewOptions(missing, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription("filling"),
					progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond))
				if err := eventstorebench.Fill(cmd.Context(), s.Store, missing, func(done int) { _ = bar.Set(done) }); err != nil {
					return err
				}
				_ = bar.Finish()
				fmt.Fprintln(a.stderr)
			}
			rssBefore := residentMB()
			rep, err := eventstorebench.Replay(cmd.Context(), s.Store, page, readers)
			if err != nil {
				return err
			}
			rssAfter := residentMB()
			fmt.Fprintf(a.stdout, "replayed %d events in %s: %.0f events/s; peak heap %.1f MB; resident %.1f MB before, %.1f MB after\n",
				rep.Events, rep.Elapsed.Round(time.Millisecond), rep.PerSecond(), float64(rep.PeakHeap)/(1<<20), rssBefore, rssAfter)
			figures(a.stdout, "replay_events", rep.Events, "replay_events_per_s", rep.PerSecond(),
				"replay_peak_heap_mb", float64(rep.PeakHeap)/(1<<20), "replay_rss_mb", rssAfter)
			return nil
		},
	}
	cmd.Flags().Int("events", 1_000_000, "events in the log to replay (filled up to this count first)")
	cmd.Flags().Int("page", 2000, "events read per page")
	cmd.Flags().Int("readers", 2, "pages read in parallel (delivered in order)")
	return cmd
}

func newBenchLiveCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Append at a steady rate while a subscriber follows; report append-to-handler latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rate, _ := cmd.Flags().GetInt("rate")
			duration, _ := cmd.Flags().GetDuration("duration")
			if rate < 1 || rate > 100_000 || duration <= 0 {
				return usagef("--rate must be from 1 to 100000 and --duration positive")
			}
			s, cleanup, err := openBenchStorage(cmd, a)
			if err != nil {
				return err
			}
			defer cleanup()
			rep, err := eventstorebench.LiveLatency(cmd.Context(), s.Store, rate, duration)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%d events at %d/s: append-to-handler p50 %.2f ms, p99 %.2f ms\n", rep.Events, rate, ms(rep.P50), ms(rep.P99))
			figures(a.stdout, "live_events", rep.Events, "live_p50_ms", ms(rep.P50), "live_p99_ms", ms(rep.P99))
			return nil
		},
	}
	cmd.Flags().Int("rate", 1000, "appends per second")
	cmd.Flags().Duration("duration", 10*time.Second, "how long to append")
	return cmd
}

// residentMB returns the process's resident set size in MiB, from
// /proc/self/status (0 where that file does not exist).
func residentMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
