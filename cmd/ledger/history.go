package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"seatledger/domain/events"
	"seatledger/queries"
)

func init() {
	register(newHistoryCommand)
	register(newStateCommand)
}

const kindsHelp = "KIND is subscription, key, installation, account or person; a key is its ID or the license key itself " +
	"(7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5), found with the ledger's keyring (--keyring-file, $LEDGER_KEYRING_FILE or $LEDGER_KEYRING_SECRET)"

func newHistoryCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history KIND ID",
		Short: "Every event of an entity: who, when, why and what changed (X-1, X-2)",
		Long: "Prints the history of a subscription, license key, installation, business account or person from the event log, " +
			"oldest first: when, who (by name), what happened and the fields it changed, as people read them. " +
			"--raw prints each event's log position, recorded time, actor, command, type and changed fields as stored; " +
			"--json one JSON object per event, as the API serves them.\n" + kindsHelp + ".",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			audit, kind, id, q, done, err := openAudit(cmd, a, args)
			if err != nil {
				return err
			}
			defer done()
			hq := queries.HistoryQuery{AsOf: q}
			hq.Field, _ = cmd.Flags().GetString("field")
			asJSON, _ := cmd.Flags().GetBool("json")
			raw, _ := cmd.Flags().GetBool("raw")
			if !asJSON && !raw {
				// The read store the audit snapshots into holds the read
				// models, which name what the history refers to.
				return printHistoryView(cmd, a.stdout, audit, audit.Snapshots, kind, id, hq)
			}
			var out historyWriter = newHistoryTable(a.stdout)
			if asJSON {
				out = &historyJSON{enc: json.NewEncoder(a.stdout)}
			}
			// Page by page, so that a stream of any length prints in flat memory.
			for {
				page, err := audit.History(cmd.Context(), kind, id, hq)
				if err != nil {
					return auditError(err)
				}
				for _, ev := range page.Events {
					if err := out.write(ev); err != nil {
						return err
					}
				}
				if page.NextAfter == 0 {
					return out.close()
				}
				hq.After = page.NextAfter
			}
		},
	}
	addStorageFlags(cmd.Flags())
	addKeyringFlags(cmd.Flags())
	cmd.Flags().String("as-of", "", "end the history at a log position, an RFC 3339 time or a date (the end of that day, UTC)")
	cmd.Flags().String("field", "", "only the events that changed this field of the state (e.g. key.quota)")
	cmd.Flags().Bool("raw", false, "the events as stored: log position, actor and command, field paths and JSON values")
	cmd.Flags().Bool("json", false, "one JSON object per event instead of a table (the raw events)")
	return cmd
}

// printHistoryView prints the history for people (queries.HistoryView,
// named from the read store db) as a table: when, who, what, and one row
// per changed field. It reads a page at a time, so that a history of any
// length prints in flat memory; a run of the same check that a page
// boundary splits is joined again.
func printHistoryView(cmd *cobra.Command, out io.Writer, audit *queries.Audit, db queries.DB, kind queries.EntityKind, id string, hq queries.HistoryQuery) error {
	t := &historyTable{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.w, "WHEN\tWHO\tWHAT\tCHANGES")
	var held *queries.HistoryEntry
	hq.Limit = 100
	for {
		view, err := audit.HistoryView(cmd.Context(), db, kind, id, hq, "")
		if err != nil {
			return auditError(err)
		}
		for _, e := range view.Entries {
			if held != nil {
				if merged, ok := held.Merge(e); ok {
					held = &merged
					continue
				}
				if err := t.entry(*held); err != nil {
					return err
				}
			}
			held = &e
		}
		if view.NextAfter == 0 {
			break
		}
		hq.After = view.NextAfter
	}
	if held != nil {
		if err := t.entry(*held); err != nil {
			return err
		}
	}
	return t.close()
}

// entry writes one entry of the history for people: its first change
// beside it, the others (and the actor's note) on rows of their own.
func (t *historyTable) entry(e queries.HistoryEntry) error {
	what := e.What
	if times := e.Times(); times != "" {
		what += " (" + times + ")"
	}
	var rows []string
	for _, c := range e.Changes {
		rows = append(rows, c.String())
	}
	if e.Note != "" {
		rows = append(rows, "Note: "+e.Note)
	}
	if e.Reason != "" {
		rows = append(rows, "Reason: "+e.Reason)
	}
	line := e.At.UTC().Format(queries.HistoryTimeLayout) + "\t" + e.Who + "\t" + what
	for i, r := range rows {
		if i > 0 {
			line = "\t\t"
		}
		line += "\t" + r
		if err := t.row(line); err != nil {
			return err
		}
	}
	if len(rows) == 0 {
		return t.row(line)
	}
	return nil
}

func newStateCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state KIND ID",
		Short: "An entity's state as of a past time or log position, as JSON (X-2)",
		Long:  "Prints the state of a subscription, license key, installation, business account or person as the log held it at --as-of (default now).\n" + kindsHelp + ".",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			audit, kind, id, q, done, err := openAudit(cmd, a, args)
			if err != nil {
				return err
			}
			defer done()
			st, err := audit.State(cmd.Context(), kind, id, q)
			if err != nil {
				return auditError(err)
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		},
	}
	addStorageFlags(cmd.Flags())
	addKeyringFlags(cmd.Flags())
	cmd.Flags().String("as-of", "", "a log position, an RFC 3339 time or a date (the end of that day, UTC); default now")
	return cmd
}

// openAudit reads KIND ID and --as-of and opens the audit reads on the
// configured storage; it returns the entity's ID (a license key given as
// typed becomes its key's ID, see entityID).
func openAudit(cmd *cobra.Command, a *app, args []string) (*queries.Audit, queries.EntityKind, string, queries.AsOf, func(), error) {
	kind, err := queries.ParseEntityKind(args[0])
	if err != nil {
		return nil, "", "", queries.AsOf{}, nil, usageError{auditError(err)}
	}
	raw, _ := cmd.Flags().GetString("as-of")
	q, err := queries.ParseAsOf(raw)
	if err != nil {
		return nil, "", "", q, nil, usageError{auditError(err)}
	}
	s, err := openStorage(cmd, a)
	if err != nil {
		return nil, "", "", q, nil, err
	}
	id, err := entityID(cmd, a, s.DB, kind, args[1])
	if err != nil {
		s.Close()
		return nil, "", "", q, nil, err
	}
	audit := &queries.Audit{Log: s.Store, Registry: events.Registry(), Snapshots: s.DB}
	return audit, kind, id, q, func() { s.Close() }, nil
}

// auditError drops the package prefix of the audit's errors.
func auditError(err error) error {
	if errors.Is(err, queries.ErrUnknownEntity) || errors.Is(err, queries.ErrInvalidAuditQuery) {
		return errors.New(strings.TrimPrefix(err.Error(), "queries: "))
	}
	return err
}

// historyWriter prints history events one by one.
type historyWriter interface {
	write(queries.AuditEvent) error
	close() error
}

type historyJSON struct{ enc *json.Encoder }

func (h *historyJSON) write(ev queries.AuditEvent) error { return h.enc.Encode(ev) }
func (h *historyJSON) close() error                      { return nil }

// historyTable prints aligned columns, flushed every page's worth of rows.
type historyTable struct {
	w    *tabwriter.Writer
	rows int
}

func newHistoryTable(out io.Writer) *historyTable {
	t := &historyTable{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.w, "POSITION\tRECORDED\tACTOR\tCOMMAND\tTYPE\tCHANGES")
	return t
}

func (t *historyTable) write(ev queries.AuditEvent) error {
	return t.row(fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", ev.Position, formatTime(ev.RecordedAt), ev.Actor, ev.Command, ev.Type, changesLine(ev.Changes)))
}

// row writes one row, and flushes every hundred.
func (t *historyTable) row(line string) error {
	fmt.Fprintln(t.w, line)
	if t.rows++; t.rows%100 == 0 {
		return t.w.Flush()
	}
	return nil
}

func (t *historyTable) close() error { return t.w.Flush() }

// changesLine renders changes as "field: from → to; …", shortened.
func changesLine(changes []queries.FieldChange) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		parts = append(parts, fmt.Sprintf("%s: %s → %s", c.Field, c.From, c.To))
	}
	line := strings.Join(parts, "; ")
	if r := []rune(line); len(r) > 160 {
		line = string(r[:157]) + "…"
	}
	return line
}
