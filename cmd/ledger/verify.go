package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"seatledger/infra/audit"
	"seatledger/infra/config"
)

func init() { register(newVerifyCommand) }

func newVerifyCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify --checkpoint FILE --public-key FILE|KEY (--database-url URL | --export FILE)",
		Short: "Check a database or an export against a saved audit checkpoint (X-2)",
		Long: `Check that the event log is what a checkpoint you saved says it was.

The checkpoint is the signed note GET /v1/audit/checkpoint answers; the
public key is GET /v1/audit/public-key's (a file holding it, or the key
itself). A checkpoint signed by another key is refused.

With --database-url (default $` + config.EnvDatabaseURL + `) every stream's hash
chain is recomputed and the Merkle root of the checkpoint's events compared;
with --export, the same is done for an export written by 'ledger export' or
GET /v1/audit/export. The first altered, removed, reordered or added event is named.

Exit codes: 0 verified, 1 the log does not match (or could not be read), 2
usage errors (a missing or malformed argument).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cpFile, _ := cmd.Flags().GetString("checkpoint")
			keyArg, _ := cmd.Flags().GetString("public-key")
			exportFile, _ := cmd.Flags().GetString("export")
			if cpFile == "" || keyArg == "" {
				return usagef("--checkpoint and --public-key are required")
			}
			if exportFile != "" && cmd.Flags().Changed("database-url") {
				return usagef("give --database-url or --export, not both")
			}
			note, err := readSmallFile(cpFile)
			if err != nil {
				return usagef("--checkpoint: %v", err)
			}
			vkey, err := publicKeyArg(keyArg)
			if err != nil {
				return usagef("--public-key: %v", err)
			}
			cp, err := audit.OpenCheckpoint(note, vkey)
			if errors.Is(err, audit.ErrMalformedCheckpoint) {
				return usagef("%v", err)
			}
			if err != nil {
				return err // signed by another key: the verification failed
			}
			start := time.Now()
			var rep audit.VerifyReport
			if exportFile != "" {
				f, err := os.Open(exportFile)
				if err != nil {
					return usagef("--export: %v", err)
				}
				defer f.Close()
				if rep, err = audit.VerifyExport(cmd.Context(), f, cp, vkey); err != nil {
					return err
				}
			} else {
				kurrentURL, _ := setting(cmd, a, "eventstore-url", config.EnvEventStoreURL, "")
				s, err := openStorage(cmd, a)
				if err != nil {
					return err
				}
				defer s.Close()
				if rep, err = audit.VerifyLog(cmd.Context(), s.Store, cp, audit.VerifyOptions{Contiguous: kurrentURL == "",
					Tree: audit.NewTree(s.DB), Streams: s.Store}); err != nil {
					return err
				}
			}
			took := time.Since(start)
			what := fmt.Sprintf("%d events in %d streams", rep.Events, rep.Streams)
			if rep.Proofs > 0 {
				what = fmt.Sprintf("%d events, each with its inclusion proof,", rep.Events)
			}
			fmt.Fprintf(a.stdout, "verified %s against checkpoint %s in %s (%.0f events/s)\n", what, cp, took.Round(time.Millisecond),
				float64(rep.Events)/took.Seconds())
			if rep.Beyond > 0 {
				fmt.Fprintf(a.stdout, "%d later events have intact chains but no checkpoint covers them yet\n", rep.Beyond)
			}
			return nil
		},
	}
	cmd.Flags().String("checkpoint", "", "file holding the signed checkpoint you saved")
	cmd.Flags().String("public-key", "", "the checkpoints' public key, or a file holding it")
	cmd.Flags().String("export", "", "verify this export file instead of a database")
	addStorageFlags(cmd.Flags())
	return cmd
}

// readSmallFile reads a checkpoint or key file, refusing anything larger
// than a note can be.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, audit.MaxNoteSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > audit.MaxNoteSize {
		return nil, fmt.Errorf("%s is larger than a checkpoint can be", path)
	}
	return b, nil
}

// publicKeyArg reads the key from the file arg names, or takes arg as the
// key itself when no such file exists.
func publicKeyArg(arg string) (string, error) {
	if _, err := os.Stat(arg); err == nil {
		b, err := readSmallFile(arg)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if _, err := audit.ParseVerifierKey(arg); err != nil {
		return "", fmt.Errorf("neither a file nor a key: %v", err)
	}
	return arg, nil
}
