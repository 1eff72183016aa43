package event_test

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
)

func TestExpectedVersion_allows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		exp     event.ExpectedVersion
		current uint64
		want    bool
	}{
		{event.Any(), 0, true}, {event.Any(), 7, true},
		{event.NoStream(), 0, true}, {event.NoStream(), 1, false},
		{event.Exact(3), 3, true}, {event.Exact(3), 2, false}, {event.Exact(3), 0, false},
		{event.Exact(0), 0, true}, {event.Exact(0), 1, false},
	}
	for _, c := range cases {
		if got := c.exp.Allows(c.current); got != c.want {
			t.Errorf("%s allows %d = %v, want %v", c.exp, c.current, got, c.want)
		}
	}
	if event.Exact(0) != event.NoStream() {
		t.Error("Exact(0) differs from NoStream")
	}
}

func TestConflictError_names_stream_expected_and_actual(t *testing.T) {
	t.Parallel()
	err := error(&event.ConflictError{StreamID: "key-K1", Expected: event.Exact(4), Actual: 6})
	if !errors.Is(err, event.ErrConflict) {
		t.Fatal("ConflictError does not match ErrConflict")
	}
	for _, want := range []string{`"key-K1"`, "expected version 4", "actual 6"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	err = &event.ConflictError{StreamID: "s", Expected: event.Exact(1), Actual: 0}
	if !strings.Contains(err.Error(), "actual no stream") {
		t.Errorf("%q does not say the stream is absent", err)
	}
}

func TestActorKind_text_round_trip(t *testing.T) {
	t.Parallel()
	for _, k := range []event.ActorKind{event.ActorPerson, event.ActorInstallation, event.ActorProcess, event.ActorBackOffice} {
		b, err := json.Marshal(event.Actor{Kind: k, ID: "x"})
		if err != nil {
			t.Fatal(err)
		}
		var a event.Actor
		if err := json.Unmarshal(b, &a); err != nil || a.Kind != k {
			t.Errorf("%s: round trip gave %v, %v", k, a.Kind, err)
		}
	}
	var a event.Actor
	if err := json.Unmarshal([]byte(`{"kind":"robot","id":"x"}`), &a); err == nil {
		t.Error("unknown actor kind decoded")
	}
	if _, err := json.Marshal(event.Actor{ID: "x"}); err == nil {
		t.Error("actor without kind encoded")
	}
	if (event.Actor{Kind: event.ActorPerson}).Validate() == nil || (event.Actor{ID: "p"}).Validate() == nil {
		t.Error("incomplete actor validated")
	}
}

func record(version uint64, prev []byte) event.Record {
	r := event.Record{
		Position: version + 10, StreamID: "subscription-S1", Version: version, ID: "0190c3f2-0000-7000-8000-00000000000" + string(rune('0'+version)),
		Type: "subscription.seats_added", SchemaVersion: 1, Data: json.RawMessage(`{"seats":5}`),
		Metadata: event.Metadata{
			Actor: event.Actor{Kind: event.ActorBackOffice, ID: "orders"}, Command: "AddSeats",
			CorrelationID: "c", CausationID: "k", EffectiveAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		},
		RecordedAt: time.Date(2026, 3, 1, 0, 0, 1, 0, time.UTC),
	}
	r.Hash = event.ChainHash(prev, r)
	return r
}

// Rule X-2: history is never rewritten unnoticed; every visible field is in the hash.
func TestChainHash_covers_every_field_and_the_predecessor(t *testing.T) {
	t.Parallel()
	base := record(1, nil)
	if string(event.ChainHash(nil, base)) != string(base.Hash) {
		t.Fatal("hash is not deterministic")
	}
	mutations := map[string]func(*event.Record){
		"stream":      func(r *event.Record) { r.StreamID = "subscription-S2" },
		"version":     func(r *event.Record) { r.Version = 2 },
		"id":          func(r *event.Record) { r.ID = "other" },
		"type":        func(r *event.Record) { r.Type = "subscription.renamed" },
		"schema":      func(r *event.Record) { r.SchemaVersion = 2 },
		"data":        func(r *event.Record) { r.Data = json.RawMessage(`{"seats":50}`) },
		"actor kind":  func(r *event.Record) { r.Metadata.Actor.Kind = event.ActorPerson },
		"actor id":    func(r *event.Record) { r.Metadata.Actor.ID = "mallory" },
		"command":     func(r *event.Record) { r.Metadata.Command = "Other" },
		"correlation": func(r *event.Record) { r.Metadata.CorrelationID = "c2" },
		"causation":   func(r *event.Record) { r.Metadata.CausationID = "k2" },
		"effective":   func(r *event.Record) { r.Metadata.EffectiveAt = r.Metadata.EffectiveAt.Add(time.Microsecond) },
		"recorded":    func(r *event.Record) { r.RecordedAt = r.RecordedAt.Add(time.Microsecond) },
		// Field boundaries are length-prefixed: moving bytes between fields changes the hash.
		"boundary": func(r *event.Record) { r.Metadata.CorrelationID, r.Metadata.CausationID = "ck", "" },
	}
	for name, mutate := range mutations {
		r := base
		mutate(&r)
		if string(event.ChainHash(nil, r)) == string(base.Hash) {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	if string(event.ChainHash([]byte("x"), base)) == string(base.Hash) {
		t.Error("the previous hash is not covered")
	}
	r := base
	r.Position = 999
	if string(event.ChainHash(nil, r)) != string(base.Hash) {
		t.Error("the position is hashed; KurrentDB cannot know it before the append")
	}
}

func chain(n int) []event.Record {
	var out []event.Record
	var prev []byte
	for v := 1; v <= n; v++ {
		r := record(uint64(v), prev)
		out = append(out, r)
		prev = r.Hash
	}
	return out
}

func verify(recs []event.Record) error {
	v := event.NewChainVerifier("subscription-S1")
	for _, r := range recs {
		if err := v.Next(r); err != nil {
			return err
		}
	}
	return nil
}

// Rule X-2: altered, removed and reordered events are each named.
func TestChainVerifier_names_the_first_broken_event(t *testing.T) {
	t.Parallel()
	if err := verify(chain(5)); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	cases := map[string]struct {
		tamper  func([]event.Record) []event.Record
		version uint64
		reason  string
	}{
		"altered payload": {func(r []event.Record) []event.Record { r[2].Data = json.RawMessage(`{"seats":500}`); return r }, 3, "altered"},
		"removed event":   {func(r []event.Record) []event.Record { return append(r[:1:1], r[2:]...) }, 3, "missing"},
		"reordered":       {func(r []event.Record) []event.Record { r[1], r[2] = r[2], r[1]; return r }, 3, "out of order"},
		"rehashed alone": {func(r []event.Record) []event.Record { // a forger recomputes one hash but not its successors'
			r[1].Data = json.RawMessage(`{"seats":1}`)
			r[1].Hash = event.ChainHash(r[0].Hash, r[1])
			return r
		}, 3, "altered"},
	}
	for name, c := range cases {
		err := verify(c.tamper(chain(5)))
		var ce *event.ChainError
		if !errors.As(err, &ce) || !errors.Is(err, event.ErrBrokenChain) {
			t.Errorf("%s: err = %v", name, err)
			continue
		}
		if ce.Version != c.version || !strings.Contains(ce.Reason, c.reason) || ce.StreamID != "subscription-S1" {
			t.Errorf("%s: got %v, want version %d and %q", name, ce, c.version, c.reason)
		}
	}
}

type seatsAddedV2 struct {
	Seats  int    `json:"seats"`
	Reason string `json:"reason"`
}

func registry() *event.Registry {
	reg := event.NewRegistry()
	reg.Register("subscription.seats_added", 2, seatsAddedV2{})
	reg.RegisterUpcaster("subscription.seats_added", 1, func(d json.RawMessage) (json.RawMessage, error) {
		var v1 struct{ Seats int }
		if err := json.Unmarshal(d, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(seatsAddedV2{Seats: v1.Seats, Reason: "purchase"})
	})
	return reg
}

func TestRegistry_upcasts_old_schema_versions(t *testing.T) {
	t.Parallel()
	got, err := registry().Decode(record(1, nil)) // schema version 1
	if err != nil {
		t.Fatal(err)
	}
	if got != (seatsAddedV2{Seats: 5, Reason: "purchase"}) {
		t.Fatalf("decoded %#v", got)
	}
}

func TestRegistry_encode_checks_the_type(t *testing.T) {
	t.Parallel()
	reg := registry()
	data, version, err := reg.Encode("subscription.seats_added", seatsAddedV2{Seats: 3})
	if err != nil || version != 2 || string(data) != `{"seats":3,"reason":""}` {
		t.Fatalf("encode = %s, %d, %v", data, version, err)
	}
	if _, _, err := reg.Encode("subscription.seats_added", struct{}{}); err == nil {
		t.Error("encoded a payload of the wrong type")
	}
	if _, _, err := reg.Encode("nope", seatsAddedV2{}); err == nil {
		t.Error("encoded an unknown type")
	}
}

// Unknown types, corrupt payloads and unknown schema versions are reported
// with stream, version and reason, never skipped.
func TestRegistry_reports_undecodable_events(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		mutate func(*event.Record)
		reason string
	}{
		"unknown type":    {func(r *event.Record) { r.Type = "subscription.teleported" }, "unknown event type"},
		"corrupt payload": {func(r *event.Record) { r.SchemaVersion = 2; r.Data = json.RawMessage(`{"seats":"many"}`) }, "corrupt payload"},
		"future schema":   {func(r *event.Record) { r.SchemaVersion = 3 }, "newer than the known 2"},
		"zero schema":     {func(r *event.Record) { r.SchemaVersion = 0 }, "not valid"},
		"failing upcast":  {func(r *event.Record) { r.Data = json.RawMessage(`[]`) }, "upcast from schema version 1"},
	}
	for name, c := range cases {
		r := record(4, nil)
		c.mutate(&r)
		_, err := registry().Decode(r)
		var de *event.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, event.ErrUndecodable) {
			t.Errorf("%s: err = %v", name, err)
			continue
		}
		if de.StreamID != "subscription-S1" || de.Version != 4 || !strings.Contains(de.Reason, c.reason) {
			t.Errorf("%s: %v lacks stream, version or %q", name, de, c.reason)
		}
	}
}

func TestRegistry_NameOf_maps_types_back_to_stable_names(t *testing.T) {
	t.Parallel()
	reg := registry()
	if name, ok := reg.NameOf(seatsAddedV2{}); !ok || name != "subscription.seats_added" {
		t.Fatalf("NameOf = %q, %v", name, ok)
	}
	if name, ok := reg.NameOf(&seatsAddedV2{}); !ok || name != "subscription.seats_added" {
		t.Fatalf("NameOf(pointer) = %q, %v", name, ok)
	}
	if _, ok := reg.NameOf(struct{ X int }{}); ok {
		t.Fatal("an unregistered type has a name")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("one Go type registered under two names did not panic")
		}
	}()
	reg.Register("subscription.seats_added_again", 1, seatsAddedV2{})
}

// NameUUID is RFC 9562's version 5: the RFC's example name in the DNS
// namespace gives the RFC's answer.
func TestNameUUID_is_RFC_9562_version_5(t *testing.T) {
	dns := []byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got := event.NameUUID(dns, "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Fatalf("NameUUID = %s", got)
	}
}

// ChainHash is SHA-256 of ChainInput whatever the size of the data: the
// input outgrows ChainHash's buffer on the stack, which must not change
// what is hashed (rule X-2).
func TestChainHash_is_SHA256_of_ChainInput_for_large_data_X2(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 900, 1024, 70_000} {
		r := record(1, []byte("previous hash of thirty-two bytes"))
		r.Data = json.RawMessage(`"` + strings.Repeat("x", size) + `"`)
		want := sha256.Sum256(event.ChainInput([]byte("previous hash of thirty-two bytes"), r))
		if got := event.ChainHash([]byte("previous hash of thirty-two bytes"), r); string(got) != string(want[:]) {
			t.Errorf("data of %d bytes: ChainHash %x, SHA-256 of ChainInput %x", size, got, want)
		}
	}
}

// BenchmarkChainHash hashes a usage report's record as the committer does
// at every append (and `ledger verify` at every event).
func BenchmarkChainHash(b *testing.B) {
	r := record(1, nil)
	r.StreamID, r.Type = "installation-0190c3f2-0000-7000-8000-000000000001", "installation.usage_reported"
	r.Data = json.RawMessage(`{"seats":12,"observed_at":"2026-03-01T00:00:00Z","current":true,"quota":50}`)
	prev := make([]byte, event.HashSize)
	b.ReportAllocs()
	for b.Loop() {
		event.ChainHash(prev, r)
	}
}
