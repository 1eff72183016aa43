package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"seatledger/infra/clock"
	"seatledger/infra/config"
	"seatledger/infra/sqldb"
)

// newLogger returns the logger --log-format asks for, and whether the log
// is the console's: a person at a terminal reads one line saying where
// the portal is (readyLine) and then warnings and errors only, as text,
// rather than the two dozen JSON lines of a start (issue 20); a log
// collector (auto, when the output is not a terminal) gets every line.
func newLogger(c config.Config, out io.Writer) (logger *slog.Logger, console bool) {
	format := c.LogFormat
	if format == config.LogAuto {
		format = config.LogJSON
		if isTerminal(out) {
			format = config.LogConsole
		}
	}
	level := c.LogLevel
	switch format {
	case config.LogJSON:
		return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level})), false
	case config.LogConsole:
		level, console = max(level, slog.LevelWarn), true
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), console
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// readyLine is the console's one line once the server listens: where the
// portal is, on which database and clock, how to stop it, and how to get
// a ledger with sample data.
func (m *Main) readyLine() string {
	db := "SQLite " + m.Config.Database.DSN
	if m.Config.Database.Engine == sqldb.Postgres {
		db = "PostgreSQL " + sqldb.Redact(m.Config.Database.DSN)
	}
	when := "real clock"
	hint := "A demo ledger with sample data: make demo."
	if sim, ok := m.Clock.(*clock.Simulated); ok {
		when = "simulated clock at " + sim.Now().UTC().Format("2006-01-02 15:04 UTC")
		hint = "Sample data: ledger demo (with this " + config.EnvAdminToken + ", and --installation-call-limit=off)."
	}
	return fmt.Sprintf("seatledger is ready: portal %s (%s, %s). Ctrl-C stops it. %s Every log line: --log-format json.",
		m.portalURL(), db, when, hint)
}

// portalURL is where a browser finds the portal: the public URL when one
// is set, else the address the server listens on (a wildcard host, such
// as 0.0.0.0, is reached as localhost).
func (m *Main) portalURL() string {
	if m.Config.PublicURL != "http://"+m.Config.Addr {
		return m.Config.PublicURL + "/"
	}
	host, port, err := net.SplitHostPort(m.Addr())
	if err != nil {
		return "http://" + m.Addr() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// consoleLine writes one line for the person at the console, if it is one.
func (m *Main) consoleLine(line string) {
	if m.console {
		fmt.Fprintln(m.LogOutput, line)
	}
}
