package kurrent

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/eventstore/eventstoretest"
)

// TestContract runs the shared event-store contract against a real
// KurrentDB. Each subtest gets a stream prefix of its own, which makes it
// an empty store in a database that earlier runs have filled.
func TestContract(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL not set: the KurrentDB contract suite needs a running KurrentDB (not available in CI here)")
	}
	eventstoretest.Run(t, func(t *testing.T, clk clock.Clock) eventstore.Store {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		prefix := "contract" + strings.ReplaceAll(uuid.NewString(), "-", "") + "-"
		s, err := Open(ctx, url, Config{Clock: clk, StreamPrefix: prefix})
		if err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	}, eventstoretest.Options{ContiguousPositions: false})
}

var eff = time.Date(2026, 2, 27, 13, 14, 15, 123456000, time.UTC)

func proposed(n int) event.Proposed {
	e := eventstoretest.NewEvent("subscription.seats_added", n)
	e.Metadata.CausationID = "cause-" + fmt.Sprint(n)
	return e
}

// toRecorded plays the server: it stores what the client would send and
// returns it as a read would, at the given revision and position.
func toRecorded(t *testing.T, stream string, revision, pos uint64, d esdb.EventData) *esdb.RecordedEvent {
	t.Helper()
	return &esdb.RecordedEvent{
		EventID: d.EventID, EventType: d.EventType, ContentType: "application/json", StreamID: stream,
		EventNumber: revision, Position: esdb.Position{Commit: pos, Prepare: pos},
		CreatedDate: time.Now(), Data: d.Data, UserMetadata: d.Metadata,
	}
}

func sameRecord(t *testing.T, got, want event.Record) {
	t.Helper()
	if !got.RecordedAt.Equal(want.RecordedAt) || !got.Metadata.EffectiveAt.Equal(want.Metadata.EffectiveAt) {
		t.Fatalf("times: recorded %v effective %v, want %v and %v", got.RecordedAt, got.Metadata.EffectiveAt, want.RecordedAt, want.Metadata.EffectiveAt)
	}
	got.RecordedAt, want.RecordedAt = time.Time{}, time.Time{}
	got.Metadata.EffectiveAt, want.Metadata.EffectiveAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record\n got %+v\nwant %+v", got, want)
	}
}

func TestMetadata_round_trip_keeps_every_field_and_the_hash(t *testing.T) {
	t.Parallel()
	withEffective := proposed(1)
	withEffective.Data = json.RawMessage(`{"seats": 10, "b":"x",  "a":[1,2]}`) // stored byte for byte
	withEffective.Metadata = event.Metadata{
		Actor:   event.Actor{Kind: event.ActorBackOffice, ID: "orders"},
		Command: "Purchase", CorrelationID: "c-1", CausationID: "cause-1", EffectiveAt: eff,
	}
	withEffective.SchemaVersion = 3
	bare := proposed(2)
	bare.Metadata = event.Metadata{Actor: event.Actor{Kind: event.ActorInstallation, ID: "inst-9"}}

	recorded := eventstore.Timestamp(time.Date(2026, 3, 1, 9, 0, 0, 987654321, time.UTC))
	records := buildRecords("subscription-1", event.Record{}, []event.Proposed{withEffective, bare}, recorded)
	data, err := toEventData(records)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range data {
		if d.ContentType != esdb.ContentTypeJson || d.EventType != records[i].Type || d.EventID.String() != records[i].ID {
			t.Fatalf("event data %d = %+v", i, d)
		}
		got, err := decodeRecord("pfx-", toRecorded(t, "pfx-subscription-1", uint64(i), 1000+uint64(i)*100, d))
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		want := records[i]
		want.Position = 1000 + uint64(i)*100
		sameRecord(t, got, want)
	}
	var m map[string]any
	if err := json.Unmarshal(data[0].Metadata, &m); err != nil {
		t.Fatal(err)
	}
	// KurrentDB's $by_correlation_id projection reads these keys.
	if m["$correlationId"] != "c-1" || m["$causationId"] != "cause-1" {
		t.Errorf("metadata does not use KurrentDB's correlation keys: %s", data[0].Metadata)
	}
	if m["effective_at"] != "2026-02-27T13:14:15.123456Z" {
		t.Errorf("effective time stored as %v", m["effective_at"])
	}
	if strings.Contains(string(data[1].Metadata), "effective_at") {
		t.Errorf("an event without effective time stores one: %s", data[1].Metadata)
	}
}

func TestDecodeMetadata_refuses_events_not_written_by_the_ledger(t *testing.T) {
	t.Parallel()
	good := func() map[string]any {
		return map[string]any{
			"seatledger": 1, "actor": map[string]string{"kind": "process", "id": "p"},
			"recorded_at": "2026-03-01T09:00:00Z", "schema_version": 1,
			"hash": hex.EncodeToString(make([]byte, event.HashSize)),
		}
	}
	with := func(k string, v any) []byte {
		m := good()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	if _, err := decodeMetadata(with("command", "x")); err != nil {
		t.Fatalf("valid metadata refused: %v", err)
	}
	for name, b := range map[string][]byte{
		"no metadata":       nil,
		"not json":          []byte(`{"seatledger":`),
		"foreign json":      []byte(`{"$correlationId":"x"}`),
		"newer format":      with("seatledger", 2),
		"unknown actor":     with("actor", map[string]string{"kind": "robot", "id": "r"}),
		"actor without id":  with("actor", map[string]string{"kind": "person"}),
		"no recorded time":  with("recorded_at", nil),
		"no schema version": with("schema_version", nil),
		"hash not hex":      with("hash", "zz"),
		"hash too short":    with("hash", "abcd"),
	} {
		if _, err := decodeMetadata(b); err == nil {
			t.Errorf("%s: decoded %s", name, b)
		}
	}
}

func TestDecodeRecord_maps_zero_based_revisions_to_versions_from_one(t *testing.T) {
	t.Parallel()
	data, err := toEventData(buildRecords("s", event.Record{}, []event.Proposed{proposed(1)}, eventstoretest.Start))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRecord("", toRecorded(t, "s", 0, 77, data[0]))
	if err != nil || r.Version != 1 || r.Position != 77 || r.StreamID != "s" {
		t.Fatalf("revision 0 decoded as %+v, %v", r, err)
	}
}

func TestDecodeRecord_refuses_positions_it_cannot_represent(t *testing.T) {
	t.Parallel()
	data, err := toEventData(buildRecords("s", event.Record{}, []event.Proposed{proposed(1)}, eventstoretest.Start))
	if err != nil {
		t.Fatal(err)
	}
	e := toRecorded(t, "s", 0, 77, data[0])
	e.Position = esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64} // what servers before 22.10 send on stream reads
	if _, err := decodeRecord("", e); !errors.Is(err, errNoPosition) {
		t.Errorf("position max: err = %v, want errNoPosition", err)
	}
	e.Position = esdb.Position{Commit: 500, Prepare: 420} // explicit transaction
	if _, err := decodeRecord("", e); err == nil || !strings.Contains(err.Error(), "explicit transaction") {
		t.Errorf("commit != prepare: err = %v", err)
	}
}

func TestBuildRecords_chains_hashes_across_appends(t *testing.T) {
	t.Parallel()
	first := buildRecords("chain", event.Record{}, []event.Proposed{proposed(1), proposed(2)}, eventstoretest.Start)
	more := buildRecords("chain", first[1], []event.Proposed{proposed(3)}, eventstoretest.Start.Add(time.Hour))
	v := event.NewChainVerifier("chain")
	for _, r := range append(first, more...) {
		if err := v.Next(r); err != nil {
			t.Fatal(err)
		}
	}
	if more[0].Version != 3 {
		t.Fatalf("next append starts at version %d, want 3", more[0].Version)
	}
}

func TestBuildRecords_never_moves_recorded_time_back_along_a_stream(t *testing.T) {
	t.Parallel()
	head := buildRecords("s", event.Record{}, []event.Proposed{proposed(1)}, eventstoretest.Start.Add(time.Hour))[0]
	next := buildRecords("s", head, []event.Proposed{proposed(2)}, eventstoretest.Start) // the clock went back
	if !next[0].RecordedAt.Equal(head.RecordedAt) {
		t.Fatalf("recorded %v after %v", next[0].RecordedAt, head.RecordedAt)
	}
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

func TestStoreNow_never_goes_back_when_the_clock_does(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = eventstoretest.Start.Add(time.Hour)
	)
	s := &Store{cfg: Config{Clock: clockFunc(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })}}
	first := s.now()
	mu.Lock()
	now = eventstoretest.Start
	mu.Unlock()
	if got := s.now(); !got.Equal(first) {
		t.Fatalf("now = %v after %v", got, first)
	}
}

func TestExpectedRevision_maps_versions_to_zero_based_revisions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   event.ExpectedVersion
		want esdb.ExpectedRevision
	}{
		{event.Any(), esdb.Any{}},
		{event.NoStream(), esdb.NoStream{}},
		{event.Exact(0), esdb.NoStream{}},
		{event.Exact(1), esdb.Revision(0)},
		{event.Exact(7), esdb.Revision(6)},
	} {
		if got := expectedRevision(c.in); got != c.want {
			t.Errorf("%s: %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestParseActual_reads_the_version_from_the_clients_message(t *testing.T) {
	t.Parallel()
	// The client's message for AppendResp.WrongExpectedVersion (client.go).
	const prefix = "[ErrorCodeWrongExpectedVersion] an append request failed the optimistic concurrency on the server: "
	for msg, want := range map[string]uint64{
		prefix + "wrong expected version: expecting '0' but got '2'":         3,
		prefix + "wrong expected version: expecting 'no_stream' but got '0'": 1,
		prefix + "wrong expected version: expecting '4' but got 'no_stream'": 0,
	} {
		if got, ok := parseActual(msg); !ok || got != want {
			t.Errorf("%q: %d, %v; want %d", msg, got, ok, want)
		}
	}
	for _, msg := range []string{prefix, prefix + "but got 'many'", ""} {
		if _, ok := parseActual(msg); ok {
			t.Errorf("%q parsed", msg)
		}
	}
}

func TestConflictFromError_knows_only_wrong_expected_version(t *testing.T) {
	t.Parallel()
	for _, err := range []error{errors.New("boom"), &esdb.Error{}, fmt.Errorf("wrapped: %w", &esdb.Error{})} {
		if _, _, ok := conflictFromError(err); ok {
			t.Errorf("%v taken for a conflict", err)
		}
	}
	err := conflict("key-2", event.Exact(2), 3)
	var ce *event.ConflictError
	if !errors.Is(err, event.ErrConflict) || !errors.As(err, &ce) || ce.StreamID != "key-2" || ce.Actual != 3 {
		t.Fatalf("conflict = %#v", err)
	}
}

func TestRetried_recognises_a_retry_and_refuses_partial_reuse(t *testing.T) {
	t.Parallel()
	evs := []event.Proposed{proposed(1), proposed(2), proposed(3)}
	stored := func(versions ...uint64) map[string]event.Record {
		m := map[string]event.Record{}
		for i, v := range versions {
			if v > 0 {
				m[evs[i].ID] = event.Record{StreamID: "s", ID: evs[i].ID, Version: v, Position: 100 * v}
			}
		}
		return m
	}
	res, ok, err := retried("s", evs, stored(4, 5, 6))
	if err != nil || !ok || res != (event.AppendResult{StreamID: "s", FirstVersion: 4, LastVersion: 6, Position: 600}) {
		t.Fatalf("full run: %+v, %v, %v", res, ok, err)
	}
	if _, ok, err := retried("s", evs, stored()); ok || err != nil {
		t.Fatalf("nothing stored: %v, %v", ok, err)
	}
	for name, found := range map[string]map[string]event.Record{
		"some of the IDs": stored(4, 5, 0),
		"out of order":    stored(5, 4, 6),
		"not one run":     stored(4, 5, 7),
	} {
		if _, _, err := retried("s", evs, found); !errors.Is(err, event.ErrDuplicateID) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestCheckOwners_refuses_an_id_owned_by_another_stream(t *testing.T) {
	t.Parallel()
	ids := []string{"a", "b"}
	if _, err := checkOwners("s", ids, []reservation{{Owner: "s", Fresh: true}, {Owner: "t"}}); !errors.Is(err, event.ErrDuplicateID) {
		t.Errorf("other owner: err = %v", err)
	}
	if maybe, err := checkOwners("s", ids, []reservation{{Owner: "s", Fresh: true}, {Owner: "s", Fresh: true}}); maybe || err != nil {
		t.Errorf("fresh reservations: %v, %v", maybe, err)
	}
	if maybe, err := checkOwners("s", ids, []reservation{{Owner: "s", Fresh: true}, {Owner: "s"}}); !maybe || err != nil {
		t.Errorf("earlier reservation for the stream: %v, %v", maybe, err)
	}
	if maybe, err := checkOwners("s", ids, []reservation{{}, {}}); maybe || err != nil {
		t.Errorf("unreserved: %v, %v", maybe, err)
	}
}

func TestLedgerStream_leaves_system_index_and_other_prefixes_out(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		prefix, stream, typ string
		want                string
		ok                  bool
	}{
		{"", "subscription-1", "subscription.purchased", "subscription-1", true},
		{"", "$stats-127.0.0.1:2113", "$statsCollected", "", false},
		{"", "$ce-subscription", "$>", "", false},
		{"", "subscription-1", "$metadata", "", false},
		{"", indexPrefix + uuid.NewString(), reservationType, "", false},
		{"t1-", "t1-key-1", "key.issued", "key-1", true},
		{"t1-", "t2-key-1", "key.issued", "", false},
		{"t1-", "t1-" + indexPrefix + "x", reservationType, "", false},
		{"t1-", "t1-", "x", "", false},
	} {
		got, ok := ledgerStream(c.prefix, c.stream, c.typ)
		if got != c.want || ok != c.ok {
			t.Errorf("prefix %q stream %q type %q: %q, %v", c.prefix, c.stream, c.typ, got, ok)
		}
	}
}

func TestCheckNames_refuses_what_kurrentdb_reserves(t *testing.T) {
	t.Parallel()
	sys := proposed(1)
	sys.Type = "$metadata"
	if err := checkNames("s", []event.Proposed{proposed(1), sys}); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("$ type: err = %v", err)
	}
	if err := checkNames(indexPrefix+"x", []event.Proposed{proposed(1)}); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("index stream: err = %v", err)
	}
	if err := checkNames("subscription-1", []event.Proposed{proposed(1)}); err != nil {
		t.Errorf("ordinary append refused: %v", err)
	}
}

func TestAllFrom_starts_at_the_beginning_or_at_a_handed_out_position(t *testing.T) {
	t.Parallel()
	if got := allFrom(0); got != (esdb.Start{}) {
		t.Errorf("after 0: %#v", got)
	}
	if got := allFrom(4242); got != (esdb.Position{Commit: 4242, Prepare: 4242}) {
		t.Errorf("after 4242: %#v", got)
	}
}

func TestParseConnectionString_accepts_esdb_urls(t *testing.T) {
	t.Parallel()
	conf, err := parseConnectionString("esdb://localhost:2113?tls=false")
	if err != nil || conf.Address != "localhost:2113" || !conf.DisableTLS {
		t.Fatalf("single node: %+v, %v", conf, err)
	}
	conf, err = parseConnectionString("esdb+discover://admin:changeit@node1:2113,node2:2113")
	if err != nil || !conf.DnsDiscover || len(conf.GossipSeeds) != 2 || conf.Username != "admin" {
		t.Fatalf("cluster: %+v, %v", conf, err)
	}
}

func TestParseConnectionString_explains_a_bad_one_without_the_password(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"",
		"   ",
		"localhost:2113",
		"http://localhost:2113",
		"esdb://",
		"esdb://admin:s3cr3t-pw@localhost:notaport",
		"esdb://admin:s3cr3t-pw@localhost:2113/some/path",
		"esdb://admin:s3cr3t-pw@localhost:2113?tls=maybe",
		"esdb://admin:s3cr3t@pw@local host:2113",
	} {
		_, err := parseConnectionString(url)
		if err == nil {
			t.Errorf("%q accepted", url)
			continue
		}
		if !strings.HasPrefix(err.Error(), "kurrent: ") || !strings.Contains(err.Error(), "esdb://") {
			t.Errorf("%q: unhelpful error %q", url, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%q: error shows the password: %q", url, err)
		}
	}
}

func TestOpen_refuses_bad_config_and_url_before_connecting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := Open(ctx, "esdb://localhost:2113?tls=false", Config{}); err == nil || !strings.Contains(err.Error(), "clock") {
		t.Errorf("no clock: err = %v", err)
	}
	if _, err := Open(ctx, "http://localhost:2113", Config{Clock: clock.Real{}}); err == nil || !strings.Contains(err.Error(), "connection string") {
		t.Errorf("bad url: err = %v", err)
	}
}

func TestConfigValidate_reports_every_problem(t *testing.T) {
	t.Parallel()
	err := Config{StreamPrefix: "$ledger-"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "clock") || !strings.Contains(err.Error(), "$ledger-") {
		t.Fatalf("err = %v", err)
	}
	if err := (Config{Clock: clock.Real{}, StreamPrefix: "ledger-"}).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestClosedStore_refuses_operations(t *testing.T) {
	t.Parallel()
	s := &Store{closed: true}
	if _, err := s.Append(context.Background(), "s", event.Any(), proposed(1)); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("append: %v", err)
	}
	if _, err := s.ReadStream(context.Background(), "s", 1, 10); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("read stream: %v", err)
	}
	if err := s.Subscribe(context.Background(), 0, func(event.Record) error { return nil }); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("subscribe: %v", err)
	}
}
