// Command ledger is the ledger's command-line tool for admins, auditors and
// finance: it migrates the database, moves the simulated clock of a
// running server, and (in files of their own) benchmarks, rebuilds
// projections and reads history.
//
// Each subcommand lives in one file that registers it from an init
// function (see register); adding `ledger bench` is adding bench.go.
//
// Exit codes: 0 on success, 1 when the command failed, 2 for a usage
// error (unknown command or flag, bad argument, missing setting). Errors
// are one line on standard error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes of ledger.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// app is what every subcommand may use instead of the process's globals,
// so that tests run commands with their own environment and output.
type app struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// subcommands holds the constructors registered by the command files.
var subcommands []func(*app) *cobra.Command

// register adds a top-level subcommand; call it from the init function of
// the subcommand's file.
func register(newCommand func(*app) *cobra.Command) {
	subcommands = append(subcommands, newCommand)
}

// usageError marks an error as the caller's mistake (exit 2), for errors
// found inside a command's RunE: a bad argument value, a missing setting.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run is main with its dependencies passed in, and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	a := &app{getenv: getenv, stdout: stdout, stderr: stderr}
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	// Errors before a command's RunE (unknown command or flag, wrong
	// number of arguments) are usage errors; errors from RunE are failures
	// unless marked as usageError.
	ran := false
	markRun(root, &ran)

	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if !ran || errors.As(err, &ue) {
		fmt.Fprintf(stderr, "ledger: %s (see %s --help)\n", oneLine(err), cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(stderr, "ledger: %s\n", oneLine(err))
	return exitFailure
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "ledger",
		Short:         "Administer the seatledger licensing ledger",
		SilenceErrors: true, // run prints errors, one line each
		SilenceUsage:  true, // a failure is not a reason to print the manual
	}
	commandGroup(root)
	// Sorted so that the order of init functions does not matter.
	cmds := make([]*cobra.Command, 0, len(subcommands))
	for _, newCommand := range subcommands {
		cmds = append(cmds, newCommand(a))
	}
	slices.SortFunc(cmds, func(x, y *cobra.Command) int { return strings.Compare(x.Name(), y.Name()) })
	root.AddCommand(cmds...)
	return root
}

// commandGroup makes cmd, which only holds subcommands, refuse to run
// without one (exit 2) instead of printing help and succeeding, so that a
// script that misspells a subcommand notices.
func commandGroup(cmd *cobra.Command) {
	cmd.SuggestionsMinimumDistance = 2 // cobra's default for its own check
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			hint := ""
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				hint = "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return fmt.Errorf("unknown command %q for %q%s", args[0], cmd.CommandPath(), hint)
		}
		return nil
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		names := []string{}
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		return usagef("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(names, ", "))
	}
}

// markRun wraps the RunE of cmd and its descendants so that *ran tells
// whether a command's own code started.
func markRun(cmd *cobra.Command, ran *bool) {
	if inner := cmd.RunE; inner != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			*ran = true
			return inner(c, args)
		}
	}
	for _, c := range cmd.Commands() {
		markRun(c, ran)
	}
}

// oneLine keeps an error on one line (cobra's suggestions span several).
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// setting resolves a value from a flag, else its environment variable,
// else def, and names where it came from for error messages.
func setting(cmd *cobra.Command, a *app, flagName, env, def string) (value, source string) {
	if f := cmd.Flags().Lookup(flagName); f != nil && f.Changed {
		return f.Value.String(), "--" + flagName
	}
	if v := a.getenv(env); v != "" {
		return v, env
	}
	return def, env
}
