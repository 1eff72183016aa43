package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"seatledger/infra/audit"
	"seatledger/infra/config"
)

func init() { register(newExportCommand) }

func newExportCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the event log, or part of it, as NDJSON that verifies on its own (X-2)",
		Long: `Write the events up to the database's latest audit checkpoint (or the one of
--size) as NDJSON: a header with the signed checkpoint, then one line per
event. Without a filter it is the whole log, verified by recomputing the
checkpoint's root; with --stream, --stream-prefix, --type or a position range
each line carries an inclusion proof. Check it with 'ledger verify --export'.
The log is read page by page: memory stays flat whatever its size.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f audit.Filter
			f.StreamID, _ = cmd.Flags().GetString("stream")
			f.StreamPrefix, _ = cmd.Flags().GetString("stream-prefix")
			f.Type, _ = cmd.Flags().GetString("type")
			f.FromPosition, _ = cmd.Flags().GetUint64("from-position")
			f.ToPosition, _ = cmd.Flags().GetUint64("to-position")
			size, _ := cmd.Flags().GetUint64("size")
			output, _ := cmd.Flags().GetString("output")
			if err := f.Validate(); err != nil {
				return usagef("%v", err)
			}
			kurrentURL, _ := setting(cmd, a, "eventstore-url", config.EnvEventStoreURL, "")
			s, err := openStorage(cmd, a)
			if err != nil {
				return err
			}
			defer s.Close()
			svc := &audit.Service{Tree: audit.NewTree(s.DB), Log: s.Store, Streams: s.Store, Contiguous: kurrentURL == ""}
			w := a.stdout
			var file *os.File
			if output != "" {
				// Never over an existing file: it may be an earlier export
				// someone relies on.
				if file, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
					return usagef("--output: %v", err)
				}
				w = file
			}
			rep, err := svc.Export(cmd.Context(), w, f, size)
			if file != nil {
				if cerr := closeSynced(file); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(output) // a partial export only fails verification
				}
			}
			if errors.Is(err, audit.ErrNotFound) {
				return fmt.Errorf("%w (ledgerd signs checkpoints every --checkpoint-interval)", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "exported %d events bounded by checkpoint %s\n", rep.Events, rep.Checkpoint.Checkpoint)
			return nil
		},
	}
	addStorageFlags(cmd.Flags())
	cmd.Flags().String("stream", "", "only this stream")
	cmd.Flags().String("stream-prefix", "", "only streams whose ID starts with this")
	cmd.Flags().String("type", "", "only events of this type")
	cmd.Flags().Uint64("from-position", 0, "only events at or after this position")
	cmd.Flags().Uint64("to-position", 0, "only events at or before this position")
	cmd.Flags().Uint64("size", 0, "bound the export by the stored checkpoint of this size (default the latest)")
	cmd.Flags().String("output", "", "write to this new file instead of standard output")
	return cmd
}

func closeSynced(f *os.File) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
