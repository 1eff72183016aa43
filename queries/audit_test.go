package queries_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

var (
	ada    = event.Actor{Kind: event.ActorPerson, ID: "p-ada"}
	bob    = event.Actor{Kind: event.ActorPerson, ID: "p-bob"}
	orders = event.Actor{Kind: event.ActorBackOffice, ID: "orders"}
)

// keyStory writes the history of sublicense key-s-1 of subscription s:
//
//	t0+1m   s purchased, 10 seats (orders)
//	t0+2m   s registered (ada)
//	t0+3m   key-s-1 issued (ada)
//	t0+4m   key-s-1 created, quota 5 (ada)
//	t0+1d   another sublicense key-s-2, quota 2 (ada): not key-s-1's business
//	t0+2d   5 seats added (orders)
//	t0+3d   key-s-1 changed to quota 7 (bob)
//	t0+3d   key-s-1 bound to installation inst-1 (the installation)
//
// and returns the log position after each step, by name.
func keyStory(t *testing.T, l *testLog) map[string]uint64 {
	t.Helper()
	pos := map[string]uint64{}
	mark := func(name string) {
		head, err := l.Store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pos[name] = head
	}
	sub := subscription.StreamID("s")
	l.AppendBy(sub, orders, "ApplyOrder", purchased("s", "farms", 10, subscription.Year, subscription.Online, at(365*day)))
	l.AppendBy(sub, ada, "RegisterKey", subscription.Registered{AccountID: "acc-1", By: ada.ID})
	mark("registered")
	l.AppendBy(licensekey.StreamID("key-s-1"), ada, "CreateSublicense", licensekey.Issued{KeyID: "key-s-1", SubscriptionID: "s"})
	mark("issued")
	l.AppendBy(sub, ada, "CreateSublicense", subscription.SublicenseCreated{Key: sealed("key-s-1"), Name: "Berlin", Quota: 5, By: ada.ID})
	mark("created")
	l.Clock.Advance(day)
	l.AppendBy(sub, ada, "CreateSublicense", subscription.SublicenseCreated{Key: sealed("key-s-2"), Name: "Munich", Quota: 2, By: ada.ID})
	l.Clock.Advance(day)
	l.AppendBy(sub, orders, "ApplyOrder", subscription.SeatsAdded{OrderID: "o-s-2", OrderDigest: "d2", Seats: 5})
	mark("seats added")
	l.Clock.Advance(day)
	l.AppendBy(sub, bob, "ChangeSublicense", subscription.SublicenseChanged{KeyID: "key-s-1", Quota: 7, By: bob.ID})
	mark("changed")
	l.AppendBy(licensekey.StreamID("key-s-1"), event.Actor{Kind: event.ActorInstallation, ID: "inst-1"}, "ActivateInstallation",
		licensekey.Bound{InstallationID: "inst-1"})
	mark("bound")
	return pos
}

func newAudit(l *testLog, every uint64) *queries.Audit {
	return &queries.Audit{Log: l.Store, Registry: l.Registry, Snapshots: l.DB, SnapshotEvery: every}
}

// field reads a dotted path of a JSON document.
func field(t *testing.T, doc json.RawMessage, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no object at %q in %s", path, k, doc)
		}
		v = m[k]
	}
	return v
}

// Rule X-2 (and KEY-5): "what seats did key K have on a day, and who had
// changed them?" — the state as of a date, and the history of the one field.
func TestAudit_key_quota_as_of_a_day_and_who_changed_it_X1_X2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newTestLog(t, target)
		keyStory(t, l)
		a := newAudit(l, 0)

		for _, c := range []struct {
			date  string
			quota float64
			seats float64
		}{{"2026-03-01", 5, 10}, {"2026-03-03", 5, 15}, {"2026-03-04", 7, 15}} {
			q, err := queries.ParseAsOf(c.date)
			if err != nil {
				t.Fatal(err)
			}
			st, err := a.State(ctx, queries.KindKey, "key-s-1", q)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Exists || field(t, st.State, "key.quota") != c.quota || field(t, st.State, "subscription.seats") != c.seats {
				t.Errorf("as of %s: exists %v, state %s; want quota %v of %v seats", c.date, st.Exists, st.State, c.quota, c.seats)
			}
		}

		page, err := a.History(ctx, queries.KindKey, "key-s-1", queries.HistoryQuery{Field: "key.quota"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 2 {
			t.Fatalf("quota changes: %+v", page.Events)
		}
		for i, want := range []struct {
			actor    event.Actor
			command  string
			from, to string
		}{{ada, "CreateSublicense", "null", "5"}, {bob, "ChangeSublicense", "5", "7"}} {
			ev := page.Events[i]
			var quota *queries.FieldChange
			for j := range ev.Changes {
				if ev.Changes[j].Field == "key.quota" {
					quota = &ev.Changes[j]
				}
			}
			if ev.Actor != want.actor || ev.Command != want.command || ev.CorrelationID != "corr-"+want.command ||
				quota == nil || string(quota.From) != want.from || string(quota.To) != want.to {
				t.Errorf("change %d: %+v, want %s by %s, %s → %s", i, ev, want.command, want.actor, want.from, want.to)
			}
		}
	})
}

// Rule X-2: a key's history is its own stream's events and the
// subscription's events that changed it — not those about other keys.
func TestAudit_key_history_has_its_own_changes_only_X2(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, sqldbtest.SQLite(t))
	keyStory(t, l)
	page, err := newAudit(l, 0).History(ctx, queries.KindKey, "key-s-1", queries.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range page.Events {
		types = append(types, ev.Type)
		if len(ev.Changes) == 0 {
			t.Errorf("%s at %d changed nothing", ev.Type, ev.Position)
		}
	}
	want := []string{licensekey.TypeIssued, subscription.TypeSublicenseCreated, subscription.TypeSeatsAdded,
		subscription.TypeSublicenseChanged, licensekey.TypeBound}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("history %v, want %v", types, want)
	}
	// Secrets never reach an auditor (KEY-9): neither the key's lookup
	// hash nor its sealed copy.
	b, _ := json.Marshal(page)
	st, err := newAudit(l, 0).State(ctx, queries.KindKey, "key-s-1", queries.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, st.State...)
	if strings.Contains(string(b), "lookup-") || strings.Contains(string(b), "sealed-") ||
		strings.Contains(string(b), base64Of("sealed-key-s-1")) {
		t.Errorf("secrets in %s", b)
	}
}

func base64Of(s string) string {
	b, _ := json.Marshal([]byte(s))
	return strings.Trim(string(b), `"`)
}

// Rule X-2: paging through a history gives the whole history once.
func TestAudit_history_pages_X2(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, sqldbtest.SQLite(t))
	keyStory(t, l)
	a := newAudit(l, 0)
	all, err := a.History(ctx, queries.KindSubscription, "s", queries.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var paged []queries.AuditEvent
	q := queries.HistoryQuery{Limit: 2}
	for {
		page, err := a.History(ctx, queries.KindSubscription, "s", q)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page.Events...)
		if page.NextAfter == 0 {
			break
		}
		q.After = page.NextAfter
	}
	a1, _ := json.Marshal(all.Events)
	a2, _ := json.Marshal(paged)
	if len(all.Events) != 6 || string(a1) != string(a2) {
		t.Errorf("%d events; paged:\n%s\nwhole:\n%s", len(all.Events), a2, a1)
	}
}

// Rule X-2: an as-of point before the entity existed is an answer, not
// an error; an entity that never existed is ErrUnknownEntity; a
// malformed point is ErrInvalidAuditQuery.
func TestAudit_before_existence_unknown_and_bad_points_X2(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, sqldbtest.SQLite(t))
	pos := keyStory(t, l)
	a := newAudit(l, 0)
	st, err := a.State(ctx, queries.KindKey, "key-s-1", queries.AsOf{Position: pos["registered"]})
	if err != nil {
		t.Fatal(err)
	}
	if st.Exists || st.FirstPosition != pos["issued"] || st.FirstRecordedAt == nil || !strings.Contains(st.Message, "did not exist yet") || st.State != nil {
		t.Errorf("before existence: %+v", st)
	}
	for _, kind := range queries.EntityKinds {
		if _, err := a.State(ctx, kind, "nope", queries.AsOf{}); !errors.Is(err, queries.ErrUnknownEntity) {
			t.Errorf("unknown %s: %v", kind, err)
		}
		if _, err := a.History(ctx, kind, "nope", queries.HistoryQuery{}); !errors.Is(err, queries.ErrUnknownEntity) {
			t.Errorf("history of unknown %s: %v", kind, err)
		}
	}
	for _, bad := range []string{"yesterday", "0", "-3", "2026-13-01", "2026-03-01T25:00:00Z"} {
		if _, err := queries.ParseAsOf(bad); !errors.Is(err, queries.ErrInvalidAuditQuery) {
			t.Errorf("as of %q: %v", bad, err)
		}
	}
	if _, err := queries.ParseEntityKind("ticket"); !errors.Is(err, queries.ErrInvalidAuditQuery) {
		t.Errorf("kind ticket: %v", err)
	}
	if _, err := a.History(ctx, queries.KindSubscription, "s", queries.HistoryQuery{Limit: 5000}); !errors.Is(err, queries.ErrInvalidAuditQuery) {
		t.Errorf("limit 5000: %v", err)
	}
}

// Rule X-2 (MEM-1): a person's state and history never show the password
// hash or the hashes of emailed links.
func TestAudit_person_without_secrets_X2(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, sqldbtest.SQLite(t))
	l.AppendBy(person.StreamID("p-ada"), ada, "SignUp", person.SignedUp{PersonID: "p-ada", FirstName: "Ada", LastName: "L",
		Email: "ada@example.com", PasswordHash: "$argon2id$v=19$secret", TermsVersion: "t", VerificationTokenHash: []byte("verify-secret")})
	l.AppendBy(person.StreamID("p-ada"), ada, "ChangePassword", person.PasswordChanged{PasswordHash: "$argon2id$v=19$other"})
	a := newAudit(l, 0)
	st, err := a.State(ctx, queries.KindPerson, "p-ada", queries.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := a.History(ctx, queries.KindPerson, "p-ada", queries.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(page)
	b = append(b, st.State...)
	if strings.Contains(string(b), "argon2id") || strings.Contains(string(b), base64Of("verify-secret")) {
		t.Errorf("secrets in %s", b)
	}
	if len(page.Events) != 2 || !strings.Contains(string(st.State), "ada@example.com") {
		t.Errorf("history %s, state %s", b, st.State)
	}
}

// countingLog counts the events an audit read reads.
type countingLog struct {
	queries.StreamLog
	read atomic.Int64
}

func (c *countingLog) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error) {
	recs, err := c.StreamLog.ReadStream(ctx, stream, from, limit)
	c.read.Add(int64(len(recs)))
	return recs, err
}

// Rule X-2: the state as of any point read through snapshots equals the
// fold from the start, on random positions and times of a long stream;
// and a read late in the stream starts from a snapshot.
func TestAudit_snapshots_equal_fold_from_the_start_on_random_points_X2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newTestLog(t, target)
		stream := installation.StreamID("inst-long")
		l.Append(product.StreamID("farms"), product.Defined{ProductID: "farms", Name: "Remote Farm", Model: product.ConcurrentUsers, MajorVersion: 5})
		l.Append(stream, farmActivated("inst-long", "Long", "key-l", "s-l", "acc-1", 10, at(365*day)))
		rng := rand.New(rand.NewPCG(7, 11))
		const batches, perBatch = 40, 50
		for b := range batches {
			evs := make([]any, 0, perBatch+2)
			for range perBatch {
				evs = append(evs, installation.UsageReported{Seats: rng.IntN(14), Quota: 10, ObservedAt: l.Clock.Now().Add(time.Duration(rng.IntN(60)) * time.Second), Current: true})
			}
			if b == 10 {
				evs = append(evs, installation.GraceStarted{Seats: 12, Quota: 10, Ends: l.Clock.Now().Add(7 * day)})
			}
			if b == 25 {
				evs = append(evs, installation.NotesSet{Notes: "moved to rack 4", By: "p-ada"})
			}
			l.Append(stream, evs...)
		}
		head, err := l.Store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reference := &queries.Audit{Log: l.Store, Registry: l.Registry} // no snapshots: a fold from the start
		counter := &countingLog{StreamLog: l.Store}
		snapshotted := &queries.Audit{Log: counter, Registry: l.Registry, Snapshots: l.DB, SnapshotEvery: 64}
		points := []queries.AsOf{{}, {Position: head}}
		for range 30 {
			points = append(points, queries.AsOf{Position: 2 + uint64(rng.IntN(int(head-1)))})
			points = append(points, queries.AsOf{RecordedAt: t0.Add(time.Duration(rng.IntN(batches+3)) * time.Minute).Add(time.Duration(rng.IntN(3)-1) * time.Microsecond)})
		}
		for round := range 2 { // the first round takes the snapshots, the second reads them
			for _, p := range points {
				want, err := reference.State(ctx, queries.KindInstallation, "inst-long", p)
				if err != nil {
					t.Fatal(err)
				}
				got, err := snapshotted.State(ctx, queries.KindInstallation, "inst-long", p)
				if err != nil {
					t.Fatal(err)
				}
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(got)
				if string(w) != string(g) {
					t.Fatalf("round %d, as of %s:\nsnapshot %s\nfold     %s", round, p, g, w)
				}
			}
		}
		var snapshots int
		if err := l.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_snapshots").Scan(&snapshots); err != nil {
			t.Fatal(err)
		}
		if snapshots != (batches*perBatch+3)/64 {
			t.Errorf("%d snapshots stored", snapshots)
		}
		counter.read.Store(0)
		if _, err := snapshotted.State(ctx, queries.KindInstallation, "inst-long", queries.AsOf{}); err != nil {
			t.Fatal(err)
		}
		if n := counter.read.Load(); n > 64+1 {
			t.Errorf("the state now read %d events; a snapshot should leave fewer than 64", n)
		}
	})
}

// Rule X-2: snapshots taken ahead of reads (ledgerd's snapshot worker)
// make a read fold at most the events after the last one.
func TestAudit_snapshots_taken_ahead_X2(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, sqldbtest.SQLite(t))
	stream := installation.StreamID("inst-ahead")
	l.Append(stream, farmActivated("inst-ahead", "Ahead", "key-a", "s-a", "acc-1", 10, at(365*day)))
	evs := make([]any, 99)
	for i := range evs {
		evs[i] = installation.UsageReported{Seats: i % 12, Quota: 10, ObservedAt: l.Clock.Now(), Current: true}
	}
	l.Append(stream, evs...)
	counter := &countingLog{StreamLog: l.Store}
	a := &queries.Audit{Log: counter, Registry: l.Registry, Snapshots: l.DB, SnapshotEvery: 32}
	recs, err := l.Store.ReadStream(ctx, stream, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if a.SnapshotDue(rec) != (rec.Version%32 == 0) {
			t.Fatalf("version %d: due %v", rec.Version, a.SnapshotDue(rec))
		}
		if a.SnapshotDue(rec) {
			if err := a.TakeSnapshot(ctx, rec.StreamID, rec.Version); err != nil {
				t.Fatal(err)
			}
		}
	}
	if a.SnapshotDue(event.Record{StreamID: "ticket-1", Version: 32}) {
		t.Error("a ticket stream is due a snapshot")
	}
	counter.read.Store(0)
	got, err := a.State(ctx, queries.KindInstallation, "inst-ahead", queries.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	if n := counter.read.Load(); n != 100-96 {
		t.Errorf("the read read %d events after the snapshot at 96", n)
	}
	want, err := (&queries.Audit{Log: l.Store, Registry: l.Registry}).State(ctx, queries.KindInstallation, "inst-ahead", queries.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("snapshot %s\nfold %s", g, w)
	}
}
