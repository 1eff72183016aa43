package main

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"seatledger/infra/clock"
	"seatledger/infra/httpapi"
)

func init() { register(newClockCommand) }

func newClockCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clock",
		Short: "Show or advance the simulated clock of a running ledgerd",
		Long: `Show or advance the simulated clock of a running ledgerd (started with
--clock=simulated), so that days of grace periods pass in seconds.

The server is --url or $LEDGER_URL; the admin token is $LEDGER_ADMIN_TOKEN.`,
	}
	commandGroup(cmd)
	addServerFlags(cmd)
	cmd.AddCommand(
		&cobra.Command{
			Use:   "show",
			Short: "Print the simulated time",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := newAdminClient(cmd, a)
				if err != nil {
					return err
				}
				var state httpapi.ClockState
				if err := c.call(cmd.Context(), http.MethodGet, "/admin/clock", nil, &state); err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, formatTime(state.Now))
				return err
			},
		},
		&cobra.Command{
			Use:   "advance DURATION",
			Short: "Move the simulated clock forward through the timers due on the way",
			Long: `Move the simulated clock forward. The server steps through every timer due
on the way in due order, each deciding at its due time and recording it as
its effects' effective time (rule X-6), and answers once they are recorded:
one jump records what many small steps would. It prints how many timers
fired and the log position at which reads see their effects.`,
			Example: "  ledger clock advance 7d\n  ledger clock advance 1d12h\n  ledger clock advance 90m",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				// Checked here too, so that a typo is a usage error that
				// never reaches the server.
				if d, err := clock.ParseDuration(args[0]); err != nil || d <= 0 {
					return usagef("%q is not a positive duration like 7d, 36h or 1d12h", args[0])
				}
				c, err := newAdminClient(cmd, a)
				if err != nil {
					return err
				}
				c.http.Timeout = advanceTimeout
				var state httpapi.ClockState
				if err := c.call(cmd.Context(), http.MethodPost, "/admin/clock/advance", httpapi.AdvanceClock{By: args[0]}, &state); err != nil {
					return err
				}
				from := ""
				if state.Previous != nil {
					from = " from " + formatTime(*state.Previous)
				}
				_, err = fmt.Fprintf(a.stdout, "advanced %s%s to %s\n", args[0], from, formatTime(state.Now))
				if err == nil && state.TimersFired != nil && state.Position != nil {
					_, err = fmt.Fprintf(a.stdout, "%d timers fired on the way, each at its due time; read at position %d\n",
						*state.TimersFired, *state.Position)
				}
				if err == nil && len(state.Retrying) > 0 {
					_, err = fmt.Fprintf(a.stdout, "%d deliveries (mail, webhook) failed and are retried by the server\n", len(state.Retrying))
				}
				return err
			},
		},
	)
	return cmd
}
