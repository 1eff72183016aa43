// Command ledgerd is the ledger's server: the HTTP API over the event
// store, its projections and its timers.
//
// main only hands off to Main (ParseFlags, Run, Wait, Close), so that the
// end-to-end tests boot exactly the wiring production runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"seatledger/infra/config"
)

// Exit codes of ledgerd.
const (
	exitOK      = 0
	exitFailure = 1 // the server could not start or stopped on an error
	exitConfig  = 2 // the configuration is wrong; nothing was started
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main with its dependencies passed in, and returns the exit code.
// It serves until SIGINT or SIGTERM, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	m.Getenv, m.LogOutput = getenv, stderr
	if err := m.ParseFlags(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			config.Usage(stdout, "ledgerd")
			return exitOK
		}
		printLines(stderr, err)
		return exitConfig
	}
	tuneGC(getenv)
	if err := m.Run(ctx); err != nil {
		// Close first: background workers started before the failure may
		// still be logging to stderr.
		printLines(stderr, errors.Join(err, m.Close()))
		return exitFailure
	}
	err := m.Wait(ctx)
	stop() // from here a second signal kills the process at once, as an impatient operator expects
	err = errors.Join(err, m.Close())
	if err != nil {
		printLines(stderr, err)
		return exitFailure
	}
	return exitOK
}

// printLines writes each line of err (errors.Join puts one problem per
// line) prefixed with the program's name.
func printLines(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "ledgerd: %s\n", line)
	}
}
