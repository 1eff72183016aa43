package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"seatledger/infra/clock"
	"seatledger/infra/config"
	"seatledger/infra/lease"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/storage"
	"seatledger/infra/timers"
	"seatledger/projections"
)

func init() { register(newProjectionsCommand) }

func newProjectionsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "Inspect and rebuild the read models",
	}
	commandGroup(cmd)
	addStorageFlags(cmd.PersistentFlags())
	cmd.AddCommand(newProjectionsStatusCommand(a), newProjectionsRebuildCommand(a), newProjectionsRetryCommand(a))
	return cmd
}

// addStorageFlags adds the flags openStorage reads.
func addStorageFlags(flags *pflag.FlagSet) {
	flags.String("database-url", "", "SQLite file path or postgres:// URL (default $"+config.EnvDatabaseURL+", else "+sqldb.DefaultSQLitePath+")")
	flags.String("eventstore-url", "", "KurrentDB URL when the events live there (default $"+config.EnvEventStoreURL+")")
}

// openStorage opens the ledger's database and event store that the flags
// or the environment name. They must hold a ledger: a missing SQLite file
// or a database without the ledger's tables is refused in one line (a
// usage error), never created or migrated, so that a command run in the
// wrong folder does not report an empty ledger as if it were the one
// asked about (issue 20).
func openStorage(cmd *cobra.Command, a *app) (*storage.Storage, error) {
	target, err := databaseTarget(cmd, a)
	if err != nil {
		return nil, err
	}
	kurrentURL, _ := setting(cmd, a, "eventstore-url", config.EnvEventStoreURL, "")
	s, err := storage.Open(cmd.Context(), storage.Options{Database: target, EventStoreURL: kurrentURL, Clock: clock.Real{}, Existing: true})
	return s, noLedger(err)
}

// openDatabase opens the ledger's database (without the event store) as
// openStorage does: only one that holds a ledger.
func openDatabase(cmd *cobra.Command, a *app) (*sqldb.DB, error) {
	target, err := databaseTarget(cmd, a)
	if err != nil {
		return nil, err
	}
	db, err := sqldb.OpenExisting(cmd.Context(), target)
	if err != nil {
		return nil, noLedger(err)
	}
	if err := sqldb.CheckMigrated(cmd.Context(), db, target); err != nil {
		db.Close()
		return nil, noLedger(err)
	}
	return db, nil
}

// databaseTarget reads --database-url, else LEDGER_DATABASE_URL, else the
// default SQLite file.
func databaseTarget(cmd *cobra.Command, a *app) (sqldb.Target, error) {
	raw, source := setting(cmd, a, "database-url", config.EnvDatabaseURL, "")
	target, err := config.ParseDatabaseURL(raw)
	if err != nil {
		return target, usagef("%s: %v", source, err)
	}
	return target, nil
}

// noLedger makes the refusal of a database that holds no ledger a usage
// error that says how to name the right one.
func noLedger(err error) error {
	if errors.Is(err, sqldb.ErrNoLedger) {
		return usagef("%v; name the ledger's database with --database-url or %s", err, config.EnvDatabaseURL)
	}
	return err
}

// openRuntime opens the configured storage and a projection runtime on it.
func openRuntime(cmd *cobra.Command, a *app) (*projection.Runtime, *storage.Storage, func(), error) {
	s, err := openStorage(cmd, a)
	if err != nil {
		return nil, nil, nil, err
	}
	rt, err := projection.New(cmd.Context(), projection.Config{DB: s.DB, Log: s.Store, Projections: projections.All(timers.Scheduler{})})
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return rt, s, func() { s.Close() }, nil
}

// projectionOwners returns, by projection, the ledgerd process that
// applies it now (rule X-8: the holder of its lease).
func projectionOwners(cmd *cobra.Command, s *storage.Storage) (map[string]string, error) {
	l, err := lease.New(lease.Config{DB: s.DB})
	if err != nil {
		return nil, err
	}
	held, err := l.List(cmd.Context())
	if err != nil {
		return nil, err
	}
	owners := map[string]string{}
	for _, h := range held {
		if name, ok := strings.CutPrefix(h.Name, lease.ProjectionPrefix); ok && h.ExpiresAt.After(time.Now()) {
			owners[name] = h.Holder
		}
	}
	return owners, nil
}

func newProjectionsStatusCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Each projection's position, lag behind the log, and failure",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, s, done, err := openRuntime(cmd, a)
			if err != nil {
				return err
			}
			defer done()
			statuses, err := rt.Status(cmd.Context())
			if err != nil {
				return err
			}
			owners, err := projectionOwners(cmd, s)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PROJECTION\tSTATE\tPOSITION\tHEAD\tLAG\tOWNER\tFAILURE")
			for _, s := range statuses {
				failure := ""
				if f := s.Failure; f != nil {
					failure = fmt.Sprintf("at position %d (stream %q version %d, %s): %s", f.Position, f.StreamID, f.Version, f.EventType, f.Reason)
				}
				owner := owners[s.Name]
				if owner == "" {
					owner = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.State, s.Position, s.Head, s.Lag, owner, failure)
			}
			return w.Flush()
		},
	}
}

func newProjectionsRebuildCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rebuild NAME",
		Short: "Empty one projection's tables and replay the whole log into it",
		Long: `Empty the tables of projection NAME, reset its checkpoint to zero and replay
the log from the start, in batches, with a progress bar. Memory stays flat
whatever the size of the log. A running ledgerd picks up from where the
rebuild leaves the checkpoint.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, _, done, err := openRuntime(cmd, a)
			if err != nil {
				return err
			}
			defer done()
			name := args[0]
			if err := knownProjection(rt, name); err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			start := time.Now()
			var replayed uint64
			err = rt.Rebuild(cmd.Context(), name, func(done, total uint64) {
				if bar == nil {
					bar = progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(a.stderr),
						progressbar.OptionSetDescription("rebuilding "+name), progressbar.OptionShowCount(),
						progressbar.OptionThrottle(200*time.Millisecond))
				}
				_ = bar.Set64(int64(done))
				replayed = done
			})
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(a.stderr)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "rebuilt %s from %d events in %s\n", name, replayed, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

func newProjectionsRetryCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "retry NAME",
		Short: "Resume a projection stopped at an event it could not apply, once the cause is fixed",
		Long: `A projection that cannot apply an event (its read model refused the row, a
bug) stops at that event after its retries: it never skips it. The reads
that need it answer 503 read-model-stopped, /readyz says "degraded" and
names it, and seatledger_projection_stopped is 1; writes, the other reads
and the other projections go on. ` + "`ledger projections status`" + ` shows the
event and the error. Fix the cause (or deploy the fix), then run this: the
running ledgerd delivers the same event again within a few seconds and
catches up. If it still fails, the projection stops there again.`,
		Example: "  ledger projections status\n  ledger projections retry licenses",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, _, done, err := openRuntime(cmd, a)
			if err != nil {
				return err
			}
			defer done()
			name := args[0]
			if err := knownProjection(rt, name); err != nil {
				return err
			}
			f, err := rt.Retry(cmd.Context(), name)
			if errors.Is(err, projection.ErrNotStopped) {
				return usagef("%v", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "retrying %s at position %d (stream %q version %d, %s), where it stopped: %s\n",
				name, f.Position, f.StreamID, f.Version, f.EventType, f.Reason)
			return nil
		},
	}
}

// knownProjection refuses, as a usage error, a name that is none of the
// runtime's projections.
func knownProjection(rt *projection.Runtime, name string) error {
	if !slices.Contains(rt.Names(), name) {
		return usagef("no projection named %q (known: %v)", name, rt.Names())
	}
	return nil
}
