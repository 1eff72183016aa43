package event_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"testing"
	"time"

	"seatledger/domain/event"
)

// The test vectors of docs/formats.md ("Event chain hash"):
// testdata/vectors/event-chain.json holds a stream's events, the exact
// bytes each chain hash covers, the hashes, and tampered streams that
// must fail. This test recomputes them from the inputs with the real code;
// `go test ./domain/event -run Vectors -update-vectors` rewrites the file
// from chainVectorInputs after a deliberate format change.

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors/event-chain.json from the code")

const chainVectorFile = "../../testdata/vectors/event-chain.json"

// chainVectorEvent is an event as the vectors (and the NDJSON export)
// spell it; Data is the payload's exact bytes as a string.
type chainVectorEvent struct {
	StreamID      string `json:"stream_id"`
	Version       uint64 `json:"version"`
	EventID       string `json:"event_id"`
	Type          string `json:"type"`
	SchemaVersion int    `json:"schema_version"`
	Data          string `json:"data"`
	ActorKind     string `json:"actor_kind"`
	ActorID       string `json:"actor_id"`
	Command       string `json:"command"`
	CorrelationID string `json:"correlation_id"`
	CausationID   string `json:"causation_id"`
	// EffectiveAt and RecordedAt are RFC 3339 with fractional seconds;
	// EffectiveAt may be "" (none).
	EffectiveAt string `json:"effective_at"`
	RecordedAt  string `json:"recorded_at"`
	// PrevHashHex is the previous event's chain hash ("" for version 1).
	PrevHashHex string `json:"prev_hash_hex"`
	// ChainInputHex is every byte SHA-256 hashes; HashHex the result.
	ChainInputHex string `json:"chain_input_hex"`
	HashHex       string `json:"hash_hex"`
	// ComputedHashHex, in a tampered stream only, is SHA-256 of
	// ChainInputHex: what a verifier computes, to compare with the stored
	// HashHex.
	ComputedHashHex string `json:"computed_hash_hex,omitempty"`
}

type chainTampered struct {
	Name string `json:"name"`
	// Change says what was done to the stream as the ledger wrote it.
	Change string `json:"change"`
	// Events are the stream as a verifier receives it, each with its
	// stored hash_hex, and what the verifier derives from them: its
	// prev_hash_hex is the stored hash_hex of the event before it in this
	// list ("" for the first), its chain_input_hex the bytes its fields
	// and that hash give, and computed_hash_hex their SHA-256.
	Events []chainVectorEvent `json:"events"`
	// BrokenVersion is the version number written on the first event at
	// which a verifier must stop; BrokenBy says why: "version" (it is not
	// the previous event's version + 1; the first event must be version
	// 1) or "hash" (its computed hash is not its stored hash_hex).
	BrokenVersion uint64 `json:"broken_version"`
	BrokenBy      string `json:"broken_by"`
}

type chainVectors struct {
	Comment  string             `json:"comment"`
	Events   []chainVectorEvent `json:"events"`
	Tampered []chainTampered    `json:"tampered"`
}

func chainVectorInputs() chainVectors {
	stream := "subscription-0f3c6a52-1a3e-5d7b-9c41-7e2f60a8b913"
	return chainVectors{
		Comment: "Test vectors of docs/formats.md, section 'Event chain hash'. Checked against the code by domain/event/vectors_test.go. " +
			"events: one stream as the ledger wrote it. tampered: the stream changed as 'change' says; a verifier walks its events in order, " +
			"links each to the stored hash_hex of the one before it, and stops at the first whose version does not follow or whose computed hash is not its stored one: " +
			"broken_version is the version written on that event, broken_by says which check failed. Each tampered event shows the verifier's prev_hash_hex, chain_input_hex and computed_hash_hex.",
		Events: []chainVectorEvent{
			{StreamID: stream, Version: 1, EventID: "01938c5e-7a00-7000-8000-000000000001", Type: "subscription.purchased", SchemaVersion: 1,
				Data:      `{"order_id":"demo-1","product_id":"ras","seats":20,"period":"1y"}`,
				ActorKind: "back_office", ActorID: "order-system", Command: "ApplyOrder", CorrelationID: "req-7K2M",
				RecordedAt: "2026-03-01T09:00:00.123456Z"},
			{StreamID: stream, Version: 2, EventID: "01938c5e-7a00-7000-8000-000000000002", Type: "subscription.renamed", SchemaVersion: 2,
				Data:      `{"name":"Zürich office"}`,
				ActorKind: "person", ActorID: "7d9c2f0e-6b1a-4c3d-9e8f-0a1b2c3d4e5f", Command: "RenameSubscription", CorrelationID: "req-QX9P",
				CausationID: "01938c5e-7a00-7000-8000-000000000001", EffectiveAt: "2026-02-28T23:59:59.999999Z", RecordedAt: "2026-03-01T09:00:01Z"},
			{StreamID: stream, Version: 3, EventID: "01938c5e-7a00-7000-8000-000000000003", Type: "subscription.auto_renewal_changed", SchemaVersion: 1,
				Data:      `{ "auto_renewal": false }`,
				ActorKind: "process", ActorID: "lifecycle", RecordedAt: "2026-03-02T00:00:00.000001Z"},
		},
	}
}

func (e chainVectorEvent) record() (event.Record, error) {
	kind, err := event.ParseActorKind(e.ActorKind)
	if err != nil {
		return event.Record{}, err
	}
	r := event.Record{StreamID: e.StreamID, Version: e.Version, ID: e.EventID, Type: e.Type, SchemaVersion: e.SchemaVersion,
		Data: json.RawMessage(e.Data), Metadata: event.Metadata{Actor: event.Actor{Kind: kind, ID: e.ActorID}, Command: e.Command,
			CorrelationID: e.CorrelationID, CausationID: e.CausationID}}
	if e.EffectiveAt != "" {
		if r.Metadata.EffectiveAt, err = time.Parse(time.RFC3339Nano, e.EffectiveAt); err != nil {
			return r, err
		}
	}
	if r.RecordedAt, err = time.Parse(time.RFC3339Nano, e.RecordedAt); err != nil {
		return r, err
	}
	if r.Hash, err = hex.DecodeString(e.HashHex); err != nil {
		return r, err
	}
	return r, nil
}

// computeChainVectors fills in each event's previous hash, hash input and
// hash from its fields, with the real code, and derives the tampered
// streams.
func computeChainVectors(in chainVectors) (chainVectors, error) {
	out := in
	out.Events = nil
	var prev []byte
	for _, e := range in.Events {
		r, err := e.record()
		if err != nil {
			return out, err
		}
		input := event.ChainInput(prev, r)
		hash := event.ChainHash(prev, r)
		if sum := sha256.Sum256(input); !bytes.Equal(sum[:], hash) {
			return out, errors.New("ChainHash is not the SHA-256 of ChainInput")
		}
		e.PrevHashHex, e.ChainInputHex, e.HashHex = hex.EncodeToString(prev), hex.EncodeToString(input), hex.EncodeToString(hash)
		out.Events = append(out.Events, e)
		prev = hash
	}
	ev := out.Events
	altered := append([]chainVectorEvent(nil), ev...)
	altered[1].Data = `{"name":"Zurich office"}`
	effective := append([]chainVectorEvent(nil), ev...)
	effective[1].EffectiveAt = "2026-02-28T23:59:59.999998Z"
	actor := append([]chainVectorEvent(nil), ev...)
	actor[2].ActorKind = "back_office"
	rehashed := append([]chainVectorEvent(nil), ev...)
	// Version 2 rewritten and its hash recomputed: version 3's link to
	// it breaks instead.
	rehashed[1].Data = `{"name":"Bern office"}`
	r, err := rehashed[1].record()
	if err != nil {
		return out, err
	}
	prev1, _ := hex.DecodeString(ev[0].HashHex)
	rehashed[1].HashHex = hex.EncodeToString(event.ChainHash(prev1, r))
	out.Tampered = []chainTampered{
		{Name: "version 2's data altered (ü -> u)", Change: `version 2's data {"name":"Zürich office"} became {"name":"Zurich office"}; its stored hash was kept`,
			Events: altered, BrokenVersion: 2, BrokenBy: "hash"},
		{Name: "version 2's effective time one microsecond earlier", Change: "version 2's effective_at 2026-02-28T23:59:59.999999Z became 2026-02-28T23:59:59.999998Z; its stored hash was kept",
			Events: effective, BrokenVersion: 2, BrokenBy: "hash"},
		{Name: "version 3's actor kind changed", Change: "version 3's actor_kind process became back_office; its stored hash was kept",
			Events: actor, BrokenVersion: 3, BrokenBy: "hash"},
		{Name: "version 2 rewritten with a recomputed hash", Change: `version 2's data became {"name":"Bern office"} and its hash_hex was recomputed from it: version 2 verifies, version 3, whose hash covers the old version 2 hash, does not`,
			Events: rehashed, BrokenVersion: 3, BrokenBy: "hash"},
		{Name: "version 2 removed", Change: "version 2 was taken out: version 3 follows version 1",
			Events: []chainVectorEvent{ev[0], ev[2]}, BrokenVersion: 3, BrokenBy: "version"},
		{Name: "versions 2 and 3 swapped", Change: "versions 2 and 3 change places: version 3 follows version 1",
			Events: []chainVectorEvent{ev[0], ev[2], ev[1]}, BrokenVersion: 3, BrokenBy: "version"},
	}
	// What a verifier derives from each received event: the previous
	// received event's stored hash, the bytes to hash, and their hash.
	for i := range out.Tampered {
		var prev []byte
		for j := range out.Tampered[i].Events {
			e := &out.Tampered[i].Events[j]
			r, err := e.record()
			if err != nil {
				return out, err
			}
			e.PrevHashHex = hex.EncodeToString(prev)
			e.ChainInputHex = hex.EncodeToString(event.ChainInput(prev, r))
			e.ComputedHashHex = hex.EncodeToString(event.ChainHash(prev, r))
			prev = r.Hash
		}
	}
	return out, nil
}

// TestVectors_event_chain_hash_X2 checks testdata/vectors/event-chain.json
// against ChainInput and ChainHash, and runs each tampered stream through
// ChainVerifier, which must stop at the stated version.
func TestVectors_event_chain_hash_X2(t *testing.T) {
	t.Parallel()
	if *updateVectors {
		v, err := computeChainVectors(chainVectorInputs())
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(chainVectorFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(chainVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var stored chainVectors
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	got, err := computeChainVectors(stored)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range stored.Events {
		if g := got.Events[i]; g != want {
			t.Errorf("event version %d: the code computes\n prev  %s\n input %s\n hash  %s\nthe vectors say\n prev  %s\n input %s\n hash  %s",
				want.Version, g.PrevHashHex, g.ChainInputHex, g.HashHex, want.PrevHashHex, want.ChainInputHex, want.HashHex)
		}
	}
	verify := func(events []chainVectorEvent) error {
		v := event.NewChainVerifier(events[0].StreamID)
		for _, e := range events {
			r, err := e.record()
			if err != nil {
				return err
			}
			if err := v.Next(r); err != nil {
				return err
			}
		}
		return nil
	}
	if err := verify(stored.Events); err != nil {
		t.Errorf("the vectors' stream does not verify: %v", err)
	}
	if !reflect.DeepEqual(got.Tampered, stored.Tampered) {
		t.Errorf("the tampered streams stored differ from those derived from the events")
	}
	for _, c := range stored.Tampered {
		err := verify(c.Events)
		var ce *event.ChainError
		if !errors.As(err, &ce) || ce.Version != c.BrokenVersion {
			t.Errorf("%s: %v, want a broken chain at version %d", c.Name, err, c.BrokenVersion)
		}
		// broken_by names the check that failed at that event: its version
		// against its predecessor's, or its computed hash against its stored one.
		for i, e := range c.Events {
			previous := uint64(0)
			if i > 0 {
				previous = c.Events[i-1].Version
			}
			by := ""
			switch {
			case e.Version != previous+1:
				by = "version"
			case e.ComputedHashHex != e.HashHex:
				by = "hash"
			default:
				continue
			}
			if e.Version != c.BrokenVersion || by != c.BrokenBy {
				t.Errorf("%s: the first broken event is version %d by %s, the vector says version %d by %s", c.Name, e.Version, by, c.BrokenVersion, c.BrokenBy)
			}
			break
		}
	}
}
