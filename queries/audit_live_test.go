package queries_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"seatledger/domain/account"
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

// liveEvery is the snapshot interval of these tests: small, so that a
// stream passes several snapshots in a few dozen events.
const liveEvery = 16

// liveStreams are the streams of liveStory: one of each aggregate the
// audit snapshots, and a product stream, which it does not.
var liveStreams = []string{
	installation.StreamID("inst-live"), subscription.StreamID("s-live"), licensekey.StreamID("key-live"),
	account.StreamID("acc-live"), person.StreamID("p-live"), product.StreamID("live"),
}

// liveEvent returns the i-th event (from 0) of stream of liveStreams: a
// first event, then changes that move the aggregate's state.
func liveEvent(stream string, i int) any {
	switch stream {
	case installation.StreamID("inst-live"):
		switch {
		case i == 0:
			return farmActivated("inst-live", "Live", "key-live", "s-live", "acc-live", 10, at(365*day))
		case i%13 == 0:
			return installation.NotesSet{Notes: fmt.Sprintf("note %d", i), By: "p-live"}
		case i%7 == 0:
			return installation.GraceStarted{Seats: 12, Quota: 10, Ends: at(time.Duration(i) * day)}
		}
		return installation.UsageReported{Seats: i % 14, Quota: 10, ObservedAt: at(time.Duration(i) * time.Minute), Current: true}
	case subscription.StreamID("s-live"):
		switch {
		case i == 0:
			return purchased("s-live", "farms", 10, subscription.Year, subscription.Online, at(365*day))
		case i == 1:
			return subscription.Registered{AccountID: "acc-live", By: "p-live"}
		case i%5 == 2:
			return subscription.SublicenseCreated{Key: sealed(fmt.Sprintf("key-live-%d", i)), Name: fmt.Sprintf("Site %d", i), Quota: 1, By: "p-live"}
		case i%5 == 3:
			return subscription.SeatsAdded{OrderID: fmt.Sprintf("o-%d", i), OrderDigest: "d", Seats: 1}
		}
		return subscription.SublicenseChanged{KeyID: "key-live-2", Quota: i % 4, By: "p-live"}
	case licensekey.StreamID("key-live"):
		switch {
		case i == 0:
			return licensekey.Issued{KeyID: "key-live", SubscriptionID: "s-live"}
		case i%2 == 1:
			return licensekey.Bound{InstallationID: fmt.Sprintf("inst-%d", i), Change: i > 1, Changes: i / 2}
		}
		return licensekey.Released{InstallationID: fmt.Sprintf("inst-%d", i-1), Reason: "deactivated"}
	case account.StreamID("acc-live"):
		switch {
		case i == 0:
			return account.Created{AccountID: "acc-live", SupportCode: "SC", CreatorID: "p-live",
				Company: account.Company{Name: "Live", Country: "DE", ZIP: "1", Phone: "1"}}
		case i%3 == 0:
			return account.RoleChanged{PersonID: fmt.Sprintf("p-%d", i-1), Role: account.RoleAdmin, By: "p-live"}
		}
		return account.MemberJoined{PersonID: fmt.Sprintf("p-%d", i)}
	case person.StreamID("p-live"):
		if i == 0 {
			return person.SignedUp{PersonID: "p-live", FirstName: "Liv", LastName: "E", Email: "liv@example.com",
				PasswordHash: "x", TermsVersion: "t", VerifiedByInvitation: "i"}
		}
		return person.ProfileChanged{FirstName: "Liv", LastName: fmt.Sprintf("E%d", i)}
	case product.StreamID("live"):
		return product.Defined{ProductID: "live", Name: fmt.Sprintf("Live %d", i), Model: product.ConcurrentUsers, MajorVersion: 5}
	}
	panic("no events for " + stream)
}

// liveStory appends events to streams, interleaved in batches of one to
// five per stream, until each has at least upTo versions; appended
// counts the versions each stream has so far and is updated.
func liveStory(l *testLog, rng *rand.Rand, appended map[string]int, upTo int, streams ...string) {
	l.TB.Helper()
	for {
		var open []string
		for _, s := range streams {
			if appended[s] < upTo {
				open = append(open, s)
			}
		}
		if len(open) == 0 {
			return
		}
		s := open[rng.IntN(len(open))]
		evs := make([]any, 1+rng.IntN(5))
		for i := range evs {
			evs[i] = liveEvent(s, appended[s]+i)
		}
		l.Append(s, evs...)
		appended[s] += len(evs)
	}
}

// follow applies the log after position after to live up to the head, as
// ledgerd's snapshot worker does (From, then Subscribe), and returns the
// head. skip, if set, drops records before live sees them.
func follow(t *testing.T, l *testLog, live *queries.LiveSnapshots, after uint64, skip func(event.Record) bool) uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	head, err := l.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head <= after {
		return head
	}
	live.From(after)
	err = l.Store.Subscribe(ctx, after, func(rec event.Record) error {
		if skip == nil || !skip(rec) {
			if err := live.Apply(ctx, rec); err != nil {
				return err
			}
		}
		if rec.Position >= head {
			cancel()
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return head
}

// storedSnapshots returns every stored snapshot, whole (schema, version,
// position, recorded_at and the state's bytes), by stream and version.
func storedSnapshots(t *testing.T, db *sqldb.DB) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT stream_id, schema, version, position, recorded_at, state FROM audit_snapshots`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			stream, schema              string
			version, position, recorded int64
			state                       []byte
		)
		if err := rows.Scan(&stream, &schema, &version, &position, &recorded, &state); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s@%d", stream, version)] = fmt.Sprintf("schema %s position %d recorded %d state %s", schema, position, recorded, state)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAgainstDatabase checks that the snapshots stored (by the live
// path) are, byte for byte, those the database path stores: TakeSnapshot
// at each version due in log order, each folded from the one before as
// ledgerd's worker did before issue 21, and a fold from the start. It
// leaves the latter stored, which equal the former when it passes.
func checkAgainstDatabase(t *testing.T, l *testLog, appended map[string]int) {
	t.Helper()
	ctx := context.Background()
	live := storedSnapshots(t, l.DB)
	reference := newAudit(l, liveEvery)
	var want []string
	for s, n := range appended {
		if reference.SnapshotDue(event.Record{StreamID: s, Version: liveEvery}) {
			for v := liveEvery; v <= n; v += liveEvery {
				want = append(want, fmt.Sprintf("%s@%d", s, v))
			}
		}
	}
	if got := slices.Sorted(maps.Keys(live)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("snapshots stored at %v, want %v", got, slices.Sorted(slices.Values(want)))
	}
	for _, fromStart := range []bool{false, true} {
		if err := l.DB.Write(ctx, `DELETE FROM audit_snapshots`); err != nil {
			t.Fatal(err)
		}
		for s, n := range appended {
			for v := liveEvery; v <= n; v += liveEvery {
				if fromStart && v+liveEvery <= n {
					continue // the fold to the last one stores those before it
				}
				if err := reference.TakeSnapshot(ctx, s, uint64(v)); err != nil {
					t.Fatal(err)
				}
			}
		}
		db := storedSnapshots(t, l.DB)
		for _, k := range slices.Sorted(maps.Keys(db)) {
			if live[k] != db[k] {
				t.Errorf("from the start %v, %s:\nlive     %s\ndatabase %s", fromStart, k, live[k], db[k])
			}
		}
		if len(db) != len(live) {
			t.Errorf("from the start %v: %d snapshots from the database, %d live", fromStart, len(db), len(live))
		}
	}
}

// readsLog counts the events read back from each stream.
type readsLog struct {
	queries.StreamLog
	mu   sync.Mutex
	read map[string]int
}

func (c *readsLog) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error) {
	recs, err := c.StreamLog.ReadStream(ctx, stream, from, limit)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read == nil {
		c.read = map[string]int{}
	}
	c.read[stream] += len(recs)
	return recs, err
}

// reads returns the counts so far and starts counting anew.
func (c *readsLog) reads() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.read
	c.read = nil
	return out
}

// liveAudit is the audit of l with snapshots every liveEvery versions,
// reading the log through a readsLog.
func liveAudit(l *testLog) (*queries.Audit, *readsLog) {
	counter := &readsLog{StreamLog: l.Store}
	return &queries.Audit{Log: counter, Registry: l.Registry, Snapshots: l.DB, SnapshotEvery: liveEvery}, counter
}

// Issue 21, rule X-2: the snapshots the live path stores, following the
// log as ledgerd's worker does, over three snapshot intervals of each
// aggregate, are byte for byte those TakeSnapshot folds from the database.
func TestLiveSnapshots_store_what_the_database_fold_stores_issue21_X2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		l := newTestLog(t, target)
		rng := rand.New(rand.NewPCG(21, 1))
		a, _ := liveAudit(l)
		live := &queries.LiveSnapshots{Audit: a}
		appended := map[string]int{}
		var at uint64
		for _, upTo := range []int{10, 20, 37, 3*liveEvery + 5} { // the worker re-subscribes from where it was
			liveStory(l, rng, appended, upTo, liveStreams...)
			at = follow(t, l, live, at, nil)
		}
		checkAgainstDatabase(t, l, appended)
	})
}

// Issue 21: the live path folds the records as they arrive and reads no
// stream back from the database to take a snapshot (the read was 8% of
// the server's CPU under usage ingest).
func TestLiveSnapshots_read_no_stream_back_issue21(t *testing.T) {
	l := newTestLog(t, sqldbtest.SQLite(t))
	rng := rand.New(rand.NewPCG(21, 2))
	a, counter := liveAudit(l)
	live := &queries.LiveSnapshots{Audit: a}
	appended := map[string]int{}
	liveStory(l, rng, appended, 3*liveEvery+1, liveStreams...)
	follow(t, l, live, 0, nil)
	if n := counter.reads(); len(n) > 0 {
		t.Errorf("events read back: %v", n)
	}
	checkAgainstDatabase(t, l, appended)
}

// Issue 21, rule X-2: a worker that starts at the log's head has not seen
// the streams' earlier events: it takes each stream's first snapshot from
// the database, as before, and folds the stream live from that state on.
func TestLiveSnapshots_started_at_the_head_fold_from_the_database_first_issue21_X2(t *testing.T) {
	l := newTestLog(t, sqldbtest.SQLite(t))
	rng := rand.New(rand.NewPCG(21, 3))
	a, counter := liveAudit(l)
	live := &queries.LiveSnapshots{Audit: a}
	appended := map[string]int{}
	liveStory(l, rng, appended, liveEvery+4, liveStreams...) // past the first snapshot, which nobody took
	at, err := l.Store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	liveStory(l, rng, appended, 2*liveEvery+4, liveStreams...)
	at = follow(t, l, live, at, nil)
	read := counter.reads()
	for _, s := range liveStreams {
		if a.SnapshotDue(event.Record{StreamID: s, Version: liveEvery}) && read[s] == 0 {
			t.Errorf("%s: its first snapshot was not folded from the database (reads %v)", s, read)
		}
	}
	liveStory(l, rng, appended, 4*liveEvery+1, liveStreams...)
	follow(t, l, live, at, nil)
	if n := counter.reads(); len(n) > 0 {
		t.Errorf("events read back once the streams were loaded: %v", n)
	}
	checkAgainstDatabase(t, l, appended)
}

// Issue 21, rule X-2: past MaxStreams the least recently appended stream
// is forgotten, and its next snapshot is folded from the database; the
// others stay live.
func TestLiveSnapshots_evicted_stream_folds_from_the_database_issue21_X2(t *testing.T) {
	l := newTestLog(t, sqldbtest.SQLite(t))
	a, counter := liveAudit(l)
	live := &queries.LiveSnapshots{Audit: a, MaxStreams: 2}
	inst, pers, acc := liveStreams[0], person.StreamID("p-live"), account.StreamID("acc-live")
	appended := map[string]int{}
	appendTo := func(s string, n int) {
		for range n {
			l.Append(s, liveEvent(s, appended[s]))
			appended[s]++
		}
	}
	appendTo(inst, 10)
	appendTo(pers, 10)
	appendTo(acc, 1) // a third stream: the installation, least recently appended, goes
	appendTo(pers, 10)
	appendTo(inst, 10)
	at := follow(t, l, live, 0, nil)
	if read := counter.reads(); read[inst] == 0 || read[pers] > 0 || read[acc] > 0 {
		t.Errorf("reads %v: want the evicted %s's only", read, inst)
	}
	for range 2 * liveEvery { // both kept again: two streams fit
		appendTo(inst, 1)
		appendTo(pers, 1)
	}
	follow(t, l, live, at, nil)
	if read := counter.reads(); len(read) > 0 {
		t.Errorf("events read back with both streams kept: %v", read)
	}
	checkAgainstDatabase(t, l, appended)
}

// Issue 21, rule X-2: a state that missed an event of its stream (a record
// the follower never got, one it could not decode, or records it skipped
// by moving on) is never stored: the stream's next snapshot is folded
// from the database.
func TestLiveSnapshots_never_store_a_fold_that_missed_events_issue21_X2(t *testing.T) {
	inst := liveStreams[0]
	t.Run("a record missing", func(t *testing.T) {
		l := newTestLog(t, sqldbtest.SQLite(t))
		a, counter := liveAudit(l)
		live := &queries.LiveSnapshots{Audit: a}
		appended := map[string]int{}
		liveStory(l, rand.New(rand.NewPCG(21, 5)), appended, 2*liveEvery+1, inst)
		follow(t, l, live, 0, func(rec event.Record) bool { return rec.Version == 5 })
		if read := counter.reads(); read[inst] == 0 {
			t.Errorf("the snapshot after the missing record was not folded from the database (reads %v)", read)
		}
		checkAgainstDatabase(t, l, appended)
	})
	t.Run("a record undecodable", func(t *testing.T) {
		ctx := context.Background()
		l := newTestLog(t, sqldbtest.SQLite(t))
		a, counter := liveAudit(l)
		live := &queries.LiveSnapshots{Audit: a}
		appended := map[string]int{}
		liveStory(l, rand.New(rand.NewPCG(21, 7)), appended, 2*liveEvery+1, inst)
		recs, err := l.Store.ReadAll(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		live.From(0)
		for _, rec := range recs {
			if rec.Version == 5 { // as the follower got it: the log holds it whole
				rec.Data = json.RawMessage(`{"seats":`)
				if err := live.Apply(ctx, rec); err == nil {
					t.Error("an undecodable record was applied without an error")
				}
				continue
			}
			if err := live.Apply(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		if read := counter.reads(); read[inst] == 0 {
			t.Errorf("the snapshot after the undecodable record was not folded from the database (reads %v)", read)
		}
		checkAgainstDatabase(t, l, appended)
	})
	t.Run("records skipped", func(t *testing.T) {
		l := newTestLog(t, sqldbtest.SQLite(t))
		a, counter := liveAudit(l)
		live := &queries.LiveSnapshots{Audit: a}
		appended := map[string]int{}
		rng := rand.New(rand.NewPCG(21, 6))
		liveStory(l, rng, appended, 5, inst)
		follow(t, l, live, 0, nil)
		liveStory(l, rng, appended, 9, inst)
		at, err := l.Store.Head(context.Background()) // the follower moves on to the head
		if err != nil {
			t.Fatal(err)
		}
		liveStory(l, rng, appended, 2*liveEvery+1, inst)
		follow(t, l, live, at, nil)
		if read := counter.reads(); read[inst] == 0 {
			t.Errorf("the snapshot after the skipped records was not folded from the database (reads %v)", read)
		}
		checkAgainstDatabase(t, l, appended)
	})
}
