package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/infra/eventstore"
	"seatledger/queries"
)

func init() { register(newReconcileCommand) }

// How the reconciliation reads the log, as ledgerd does
// (cmd/ledgerd/finance.go): pages of 2,000 events, two readers at once.
const (
	reconcilePageSize = 2000
	reconcileReaders  = 2
)

func newReconcileCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile --from DATE --to DATE",
		Short: "Finance reconciliation of a period, per subscription and in total, as CSV or JSON",
		Long: `Reconcile a period from the event log in the database: per subscription, the
seats purchased by orders (at the start, at the end, the change), each key's
allocation and the primary remainder, the seats in use at the end, the peak,
overuse incidents with start, end and peak, graces and suspensions; the
totals; and the exceptions (allocation above the purchase, activity on
expired keys, usage reports from deactivated installations).

--from and --to are dates (YYYY-MM-DD, whole UTC days, --to inclusive) or
RFC 3339 times (--to exclusive). Every time is the ledger's recorded time;
events recorded at or after the period's end are not read, so a past period
is exact.

CSV (the default) writes one table, chosen with --part: subscriptions (one
row each and a row TOTAL), keys, incidents, exceptions or orders (each order
of the period and who applied it, by name). JSON writes all of
it, as GET /v1/finance/reconciliation does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, _ := cmd.Flags().GetString("from")
			to, _ := cmd.Flags().GetString("to")
			period, err := queries.ParsePeriod(from, to)
			if err != nil {
				var pe *queries.PeriodError
				if errors.As(err, &pe) {
					return usagef("--%s: %s", pe.Field, pe.Reason)
				}
				return err
			}
			format, _ := cmd.Flags().GetString("format")
			part, _ := cmd.Flags().GetString("part")
			switch {
			case format != "csv" && format != "json":
				return usagef("--format is csv or json, not %q", format)
			case format == "json" && cmd.Flags().Changed("part"):
				return usagef("--part chooses a CSV table; it goes with --format csv")
			case !slices.Contains(queries.CSVParts, part):
				return usagef("--part is one of %s, not %q", strings.Join(queries.CSVParts, ", "), part)
			}
			subscription, _ := cmd.Flags().GetString("subscription")

			s, err := openStorage(cmd, a)
			if err != nil {
				return err
			}
			defer s.Close()
			rec, err := queries.Reconcile(cmd.Context(), scanLog(s.Store), events.Registry(),
				queries.ReconciliationQuery{Period: period, SubscriptionID: strings.TrimSpace(subscription)})
			if err != nil {
				return err
			}
			out := bufio.NewWriter(a.stdout)
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(rec)
			} else {
				err = queries.WriteReconciliationCSV(out, rec, part)
			}
			if err != nil {
				return err
			}
			return out.Flush()
		},
	}
	cmd.Flags().String("from", "", "the period's start: YYYY-MM-DD or an RFC 3339 time (required)")
	cmd.Flags().String("to", "", "the period's end: YYYY-MM-DD, inclusive, or an RFC 3339 time, exclusive (required)")
	cmd.Flags().String("subscription", "", "reconcile this subscription alone")
	cmd.Flags().String("format", "csv", "csv or json")
	cmd.Flags().String("part", queries.CSVSubscriptions, "the CSV table: "+strings.Join(queries.CSVParts, ", "))
	addStorageFlags(cmd.Flags())
	return cmd
}

// scanLog reads the whole log of s, in parallel up to the head at the
// start and on to the log's end; the reconciliation stops it at the
// period's end.
func scanLog(s eventstore.Store) queries.LogScan {
	return func(ctx context.Context, fn func([]event.Record) error) error {
		head, err := s.Head(ctx)
		if err != nil {
			return err
		}
		return eventstore.ScanLog(ctx, s, 0, head, reconcilePageSize, reconcileReaders, fn)
	}
}
