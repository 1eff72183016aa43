package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
)

func init() { register(newSecretsCommand) }

// newSecretsCommand is `ledger secrets`: the fingerprints of the secrets a
// ledger runs with (issue 18: one ledger, one set of secrets), and the
// step that replaces one on purpose.
func newSecretsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "List or forget the fingerprints of the ledger's secrets",
		Long: `The first ledgerd to start on a database records a fingerprint of each secret
it uses (` + strings.Join(secret.Names, ", ") + `): a SHA-256 that
identifies the secret without revealing it. A ledgerd started later with
another secret refuses to start, so that every process signs, seals and
derives with the same keys.

To replace a secret on purpose (see the README's security section for what
each replacement breaks): stop every ledgerd, put the new file or variable
in place on every host, run "ledger secrets forget NAME", and start them
again; the first to start records the new fingerprint.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the recorded fingerprints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openDatabase(cmd, a)
			if err != nil {
				return err
			}
			defer db.Close()
			recorded, err := secret.RecordedFingerprints(cmd.Context(), db)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SECRET\tFINGERPRINT\tRECORDED")
			for _, r := range recorded {
				fmt.Fprintf(w, "%s\t%s\t%s\n", r.Name, r.Fingerprint, r.RecordedAt.Format("2006-01-02T15:04:05Z"))
			}
			return w.Flush()
		},
	}
	forget := &cobra.Command{
		Use:   "forget NAME",
		Short: "Drop a secret's fingerprint, so that the next ledgerd records the secret it has",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDatabase(cmd, a)
			if err != nil {
				return err
			}
			defer db.Close()
			ok, err := secret.ForgetFingerprint(cmd.Context(), db, args[0])
			if err != nil {
				return usageError{err}
			}
			if !ok {
				_, err = fmt.Fprintf(a.stdout, "no fingerprint of %s was recorded\n", args[0])
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "forgot the fingerprint of %s; the next ledgerd to start records the %s it has\n", args[0], args[0])
			return err
		},
	}
	for _, c := range []*cobra.Command{list, forget} {
		c.Flags().String("database-url", "", "SQLite file path or postgres:// URL (default $"+config.EnvDatabaseURL+", else "+sqldb.DefaultSQLitePath+")")
		cmd.AddCommand(c)
	}
	return cmd
}
