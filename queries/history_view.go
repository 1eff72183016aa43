package queries

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
)

// The history for people (rule X-1, issue 20): the same events as
// History, told as a person reads them. The portal's history panel and
// `ledger history` both show this view; the raw events stay one toggle
// (or flag) away, and the API serves them unchanged.
//
// What the view leaves out, and why:
//   - IDs, digests and secrets' hints: a key, an installation, a member or
//     an account is named (HistoryNames); what cannot be named is left
//     out or called by its kind ("a license key"), never by its ID;
//   - changes that change nothing a person sees (null → null, "" → null,
//     a container whose fields are listed themselves), zero values of a
//     field that had none (an entity's creation), and the fields that
//     only repeat the event's own time (last report, bound at);
//   - the command and correlation: the why of an auditor, in the raw view.
//
// A run of events that say the same with no change (a farm's overuse
// re-checked every 20 minutes, USE-4) is one entry that counts them.

// HistoryView is a page of an entity's history as people read it, oldest
// first.
type HistoryView struct {
	Entries []HistoryEntry
	// NextAfter is the cursor of the next page (a log position, as
	// HistoryPage's); 0 when this is the last.
	NextAfter uint64
}

// HistoryEntry is one event, or a run of events that say the same, as
// people read it.
type HistoryEntry struct {
	// What happened ("Seats added"), and who did it: a person's
	// name, the farm's or proxy server's name, the back office's staff
	// person by name and role ("Ann Owner (owner)"), service account
	// ("service account: order system") or "admin token (bootstrap)",
	// "the ledger" for its own processes.
	What, Who string
	// At is when it happened (the event's effective time, X-6); Until the
	// last event's of a run.
	At, Until time.Time
	// Count is how many events the entry stands for: 1, or more for a run.
	Count int
	// Note is the reason the actor gave (a role change's note), if any.
	Note string
	// Reason is why the back office turned a switch in the account (an
	// offline activation switch's reason, issue 23), if any.
	Reason string
	// Changes are the fields the event changed, labelled.
	Changes []HistoryChange
	// last is the log position of the entry's last event: the cursor of
	// the page that ends with it; actor is who did it.
	last  uint64
	actor event.Actor
}

// HistoryChange is one field an event changed, as people read it: a
// label and the values before and after ("": none).
type HistoryChange struct {
	Label, From, To string
}

// Values renders the change without its label: "10 → 15", or the new
// value alone when there was none before, or "rack 4 → none".
func (c HistoryChange) Values() string {
	switch {
	case c.From == "":
		return c.To
	case c.To == "":
		return c.From + " → none"
	}
	return c.From + " → " + c.To
}

// String renders the change as "Label: values".
func (c HistoryChange) String() string { return c.Label + ": " + c.Values() }

// HistoryTimeLayout is how the view's times read: "9 Mar 2026 10:20 UTC".
const HistoryTimeLayout = "2 Jan 2006 15:04 MST"

// When says when the entry happened: its time, or for a run how many
// times and from when to when.
func (e HistoryEntry) When() string {
	at := e.At.UTC().Format(HistoryTimeLayout)
	if e.Count <= 1 {
		return at
	}
	return strconv.Itoa(e.Count) + " times, " + at + " – " + e.Until.UTC().Format(HistoryTimeLayout)
}

// Times says how often a run happened and until when ("3 times, until
// 9 Mar 2026 11:00 UTC"); "" for a single event.
func (e HistoryEntry) Times() string {
	if e.Count <= 1 {
		return ""
	}
	return strconv.Itoa(e.Count) + " times, until " + e.Until.UTC().Format(HistoryTimeLayout)
}

// Merge folds next into e when both are the same event by the same actor
// and change nothing (a run); it reports whether it did.
func (e HistoryEntry) Merge(next HistoryEntry) (HistoryEntry, bool) {
	if e.What != next.What || e.actor != next.actor || e.Note != "" || next.Note != "" || e.Reason != "" || next.Reason != "" || len(e.Changes) > 0 || len(next.Changes) > 0 {
		return e, false
	}
	e.Count += next.Count
	e.Until, e.last = next.Until, next.last
	return e, true
}

// HistoryView is the use case of an entity's history as people read it:
// authorized and read as History (req.Limit counts entries here, default
// 20), with the viewer named "(you)".
func (q *Reads) HistoryView(ctx context.Context, v Viewer, kind EntityKind, id string, req HistoryRequest) (HistoryView, error) {
	if err := q.authorizeAudit(ctx, v.Actor, kind, id); err != nil {
		return HistoryView{}, err
	}
	hq, err := parseHistoryRequest(req)
	if err != nil {
		return HistoryView{}, err
	}
	if hq.Limit == 0 {
		hq.Limit = DefaultHistoryEntries
	}
	var me string
	if v.Actor.Kind == event.ActorPerson {
		me = v.Actor.ID
	}
	return q.audit.HistoryView(ctx, q.db, kind, id, hq, me)
}

// DefaultHistoryEntries is how many entries a page of the view has when
// the caller does not say.
const DefaultHistoryEntries = 20

// historyViewEvents bounds the events one page of the view reads, so
// that a page costs at most a few times a page of raw events: a run of a
// farm's reports that change nothing seen (one every 20 minutes) is
// counted a hundred events, a day and a half, per page.
const historyViewEvents = 100

// HistoryView returns a page of entity kind/id's history as people read
// it: up to q.Limit entries (1–1000), from the events after q.After
// within q.AsOf and q.Field, named from the read store db (the person
// me, if any, as "(you)").
func (a *Audit) HistoryView(ctx context.Context, db DB, kind EntityKind, id string, q HistoryQuery, me string) (HistoryView, error) {
	entries := q.Limit
	if entries < 1 || entries > 1000 {
		return HistoryView{}, invalidAudit("limit %d (1–1000)", entries)
	}
	// Most events are an entry each: the first read is one event more
	// than the entries asked (the last asked-for run is then complete),
	// each further read, while runs fold events into fewer entries, four
	// times the one before, up to the page's bound of events.
	var all HistoryPage
	bound := max(historyViewEvents, entries+1)
	for read, batch := 0, entries+1; read < bound; batch *= 4 {
		q.Limit = min(batch, bound-read, 1000)
		page, err := a.History(ctx, kind, id, q)
		if err != nil {
			return HistoryView{}, err
		}
		all.Kind, all.ID, all.NextAfter = page.Kind, page.ID, page.NextAfter
		all.Events = append(all.Events, page.Events...)
		read += len(page.Events)
		if page.NextAfter == 0 || countEntries(all) > entries {
			break
		}
		q.After = page.NextAfter
	}
	names, err := NameHistory(ctx, db, all)
	if err != nil {
		return HistoryView{}, err
	}
	names.Me = me
	view := DescribeHistory(all, names)
	if len(view.Entries) > entries {
		view.NextAfter = view.Entries[entries-1].last
		view.Entries = view.Entries[:entries]
	}
	return view, nil
}

// countEntries is how many entries events make (names change none of
// them: a run is the same event by the same actor changing nothing seen).
func countEntries(page HistoryPage) int {
	return len(DescribeHistory(page, HistoryNames{}).Entries)
}

// DescribeHistory tells page as people read it, with names.
func DescribeHistory(page HistoryPage, names HistoryNames) HistoryView {
	names.learn(page)
	view := HistoryView{Entries: []HistoryEntry{}, NextAfter: page.NextAfter}
	for _, ev := range page.Events {
		at := ev.EffectiveAt
		if at.IsZero() {
			at = ev.RecordedAt
		}
		entry := HistoryEntry{What: eventTitle(ev.Type), Who: names.actor(ev), At: at, Until: at, Count: 1,
			Note: noteOf(ev.Data), Reason: reasonOf(ev), Changes: describeChanges(page.Kind, ev, names), last: ev.Position, actor: ev.Actor}
		if n := len(view.Entries); n > 0 {
			if merged, ok := view.Entries[n-1].Merge(entry); ok {
				view.Entries[n-1] = merged
				continue
			}
		}
		view.Entries = append(view.Entries, entry)
	}
	return view
}

// reasonOf is the reason the back office gave for a switch it turned in
// an account (account.offline_activation_set), if any. Other events'
// "reason" fields are codes the ledger sets (why a key was released),
// which their changes already tell.
func reasonOf(ev AuditEvent) string {
	if ev.Type != account.TypeOfflineSet {
		return ""
	}
	var p struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(ev.Data, &p) != nil {
		return ""
	}
	return p.Reason
}

// noteOf is the note an event's payload carries, if any.
func noteOf(data json.RawMessage) string {
	var p struct {
		Note string `json:"note"`
	}
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	return p.Note
}

// describeChanges labels the changes of ev to an entity of kind, in the
// order people read them, leaving out what people need not see (see the
// notes at the top of this file).
func describeChanges(kind EntityKind, ev AuditEvent, names HistoryNames) []HistoryChange {
	created := ev.Version == 1
	removed := removedParts(kind, ev.Changes)
	type described struct {
		at     fieldAt
		change HistoryChange
		// partName: the new part's name, which its other changes' label
		// already says.
		partName bool
	}
	var out []described
	seen := map[string]bool{}
	told := map[string]bool{} // the parts other changes are listed of
	for _, ch := range ev.Changes {
		f, ok := lookupField(kind, ch.Field, names)
		if !ok {
			continue
		}
		if f.part != "" && removed[f.part] {
			if !seen[f.part] {
				seen[f.part] = true
				out = append(out, described{at: f, change: HistoryChange{Label: f.partLabel, To: "removed"}})
			}
			continue
		}
		from, fromZero := f.spec.render(ch.From, f.last, names)
		to, toZero := f.spec.render(ch.To, f.last, names)
		// A zero value where there was none is no value: a new entity's
		// zeros, and a number that counts nothing yet (a grace's quota).
		if isNull(ch.From) || fromZero && (created || f.spec.kind == vNumber && !f.spec.counts) {
			from = ""
			if toZero {
				continue // nothing became nothing
			}
		}
		if from == to {
			continue
		}
		name := f.spec.sameAsPart && from == "" && to == f.partName
		if !name {
			told[f.part] = true
		}
		out = append(out, described{f, HistoryChange{Label: f.label, From: from, To: to}, name})
	}
	out = slices.DeleteFunc(out, func(d described) bool { return d.partName && told[d.at.part] })
	slices.SortStableFunc(out, func(a, b described) int {
		return cmp.Or(cmp.Compare(a.at.group, b.at.group), strings.Compare(a.at.part, b.at.part), cmp.Compare(a.at.rank, b.at.rank))
	})
	changes := make([]HistoryChange, len(out))
	for i, d := range out {
		changes[i] = d.change
	}
	return changes
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// decode reads a JSON value with its numbers as json.Number.
func decode(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil
	}
	return v
}

// humanize turns a stable name into words: "deactivation_pending" →
// "Deactivation pending".
func humanize(s string) string {
	s = strings.NewReplacer("_", " ", ".", " ").Replace(s)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
