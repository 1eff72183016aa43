package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/sqldb"
)

func init() { register(newMigrateCommand) }

func newMigrateCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations, without starting the server",
		Long: `Apply every pending migration to the database and print how many were applied.

ledgerd migrates on start as well; run this before a deploy so that the new
servers find the schema ready.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, source := setting(cmd, a, "database-url", config.EnvDatabaseURL, "")
			target, err := config.ParseDatabaseURL(raw)
			if err != nil {
				return usagef("%s: %v", source, err)
			}
			db, err := sqldb.Open(cmd.Context(), target)
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := sqldb.Migrate(cmd.Context(), db)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "applied %d %s to the %s database %s\n", n, plural(n, "migration", "migrations"), target.Engine, target.Redacted())
			return err
		},
	}
	cmd.Flags().String("database-url", "", "SQLite file path or postgres:// URL (default $"+config.EnvDatabaseURL+", else "+sqldb.DefaultSQLitePath+")")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
