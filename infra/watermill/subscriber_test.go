package watermill_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/infra/watermill"
)

// memCheckpoints is a consumer's checkpoint kept in memory: the test plays
// the consumer and moves it when it acknowledges.
type memCheckpoints struct {
	mu     sync.Mutex
	reads  int
	cp     map[string]watermill.Checkpoint
	halted map[string]event.Record
	causes map[string]error
}

func newMemCheckpoints() *memCheckpoints {
	return &memCheckpoints{cp: map[string]watermill.Checkpoint{}, halted: map[string]event.Record{}, causes: map[string]error{}}
}

func (m *memCheckpoints) Checkpoint(_ context.Context, consumer string) (watermill.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return m.cp[consumer], nil
}

func (m *memCheckpoints) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *memCheckpoints) set(consumer string, cp watermill.Checkpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cp[consumer] = cp
}

func (m *memCheckpoints) Halt(_ context.Context, consumer string, rec event.Record, cause error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := m.cp[consumer]
	cp.Halted = true
	m.cp[consumer] = cp
	m.halted[consumer] = rec
	m.causes[consumer] = cause
	return nil
}

func subscribe(t *testing.T, store eventstore.Store, cps watermill.Checkpoints, topic string) <-chan *message.Message {
	t.Helper()
	sub, err := watermill.NewSubscriber(watermill.SubscriberConfig{
		Log: store, Checkpoints: cps, RedeliveryDelay: time.Millisecond, HaltedPoll: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func receive(t *testing.T, ch <-chan *message.Message) (*message.Message, event.Record) {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		rec, _, err := watermill.Decode(msg)
		if err != nil {
			t.Fatal(err)
		}
		return msg, rec
	case <-time.After(deadline):
		t.Fatal("no message delivered")
	}
	return nil, event.Record{}
}

// expectNothing checks that no message is waiting, without waiting for
// one: the subscriber sends the next message only after an Ack, so a
// message that is not there now could only come from a bug we would see
// in the next receive.
func expectNothing(t *testing.T, ch <-chan *message.Message) {
	t.Helper()
	select {
	case msg := <-ch:
		t.Fatalf("unexpected delivery of %s at position %s", msg.UUID, msg.Metadata.Get(watermill.MetaPosition))
	default:
	}
}

func TestSubscriber_starts_after_the_consumers_checkpoint_then_follows_live(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.before", 6)
		all, err := store.ReadAll(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		cps := newMemCheckpoints()
		cps.set("p", watermill.Checkpoint{Position: all[2].Position})
		ch := subscribe(t, store, cps, "p")
		for _, want := range all[3:] {
			msg, rec := receive(t, ch)
			if rec.ID != want.ID || msg.UUID != want.ID {
				t.Fatalf("delivered %s at %d, want %s at %d", rec.ID, rec.Position, want.ID, want.Position)
			}
			expectNothing(t, ch) // one at a time: nothing more before the Ack
			msg.Ack()
		}
		appendEvents(t, store, "test.live", 3)
		live, err := store.ReadAll(context.Background(), all[len(all)-1].Position, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range live {
			msg, rec := receive(t, ch)
			if rec.ID != want.ID {
				t.Fatalf("live delivery %s at %d, want %s at %d", rec.ID, rec.Position, want.ID, want.Position)
			}
			msg.Ack()
		}
	})
}

// The log must never be skipped: a Nack brings the same event back, as
// many times as it takes.
func TestSubscriber_redelivers_a_nacked_event_and_never_skips_it(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.nack", 5)
		all, _ := store.ReadAll(context.Background(), 0, 100)
		cps := newMemCheckpoints()
		ch := subscribe(t, store, cps, "p")
		var seen []uint64
		for i := range all {
			nacks := 0
			if i == 2 {
				nacks = 3
			}
			for {
				msg, rec := receive(t, ch)
				seen = append(seen, rec.Position)
				if rec.ID != all[i].ID {
					t.Fatalf("delivered position %d, want %d (seen %v)", rec.Position, all[i].Position, seen)
				}
				if nacks > 0 {
					nacks--
					msg.Nack()
					continue
				}
				// The consumer stores its checkpoint with its effects, then acks.
				cps.set("p", watermill.Checkpoint{Position: rec.Position})
				msg.Ack()
				break
			}
		}
		if want := len(all) + 3; len(seen) != want {
			t.Fatalf("%d deliveries %v, want %d", len(seen), seen, want)
		}
	})
}

func TestSubscriber_halted_consumer_waits_until_resumed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.halt", 3)
		all, _ := store.ReadAll(context.Background(), 0, 100)
		cps := newMemCheckpoints()
		ch := subscribe(t, store, cps, "p")
		msg, rec := receive(t, ch)
		cps.set("p", watermill.Checkpoint{Position: rec.Position})
		msg.Ack()
		msg, rec = receive(t, ch)
		if rec.ID != all[1].ID {
			t.Fatalf("delivered %d, want %d", rec.Position, all[1].Position)
		}
		cps.set("p", watermill.Checkpoint{Position: all[0].Position, Halted: true})
		reads := cps.readCount()
		msg.Nack()
		// Parked: it keeps re-reading the checkpoint and delivers nothing.
		eventually(t, "the halted consumer re-reads its checkpoint", func() bool { return cps.readCount() >= reads+3 })
		expectNothing(t, ch)
		cps.set("p", watermill.Checkpoint{Position: all[0].Position}) // resumed
		msg, rec = receive(t, ch)
		if rec.ID != all[1].ID {
			t.Fatalf("after resuming delivered %d, want the event it halted at, %d", rec.Position, all[1].Position)
		}
		msg.Ack()
	})
}

func TestMessage_carries_the_whole_record(t *testing.T) {
	t.Parallel()
	rec := event.Record{
		Position: 42, StreamID: "subscription-1", Version: 7, ID: "0b9e2f3c-4a8f-4f0e-9a43-1f0d6c2b7e11",
		Type: "subscription.seats_added", SchemaVersion: 2, Data: []byte(`{"seats":  3, "z": [1]}`),
		Metadata: event.Metadata{
			Actor: event.Actor{Kind: event.ActorBackOffice, ID: "orders"}, Command: "AddSeats",
			CorrelationID: "corr", CausationID: "cause", EffectiveAt: time.Date(2026, 2, 1, 8, 0, 0, 123000, time.UTC),
		},
		RecordedAt: time.Date(2026, 2, 2, 9, 30, 0, 456000, time.UTC),
	}
	rec.Hash = event.ChainHash(nil, rec)
	msg := watermill.NewMessage(rec, 41)
	got, after, err := watermill.Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if after != 41 || msg.UUID != rec.ID {
		t.Errorf("after = %d, UUID = %s", after, msg.UUID)
	}
	if !bytes.Equal(got.Data, rec.Data) {
		t.Errorf("data %s, want it byte for byte: %s", got.Data, rec.Data)
	}
	if got.Position != rec.Position || got.StreamID != rec.StreamID || got.Version != rec.Version || got.Type != rec.Type ||
		got.SchemaVersion != rec.SchemaVersion || got.Metadata != rec.Metadata || !got.RecordedAt.Equal(rec.RecordedAt) {
		t.Errorf("decoded %+v\nwant    %+v", got, rec)
	}
	if !bytes.Equal(event.ChainHash(nil, got), rec.Hash) || !bytes.Equal(got.Hash, rec.Hash) {
		t.Error("decoded record no longer matches its chain hash")
	}
	msg.Metadata.Set(watermill.MetaPosition, "x")
	if _, _, err := watermill.Decode(msg); !errors.Is(err, watermill.ErrMalformed) {
		t.Errorf("decoding a bad position: %v, want ErrMalformed", err)
	}
}

// appliedCheckpoints is memCheckpoints whose consumer says, in memory, how
// far it applied the log (watermill.Applied).
type appliedCheckpoints struct {
	*memCheckpoints
	mu      sync.Mutex
	applied uint64
}

func (a *appliedCheckpoints) Applied(string) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied
}

// A consumer that applied events after the one it was handed (a batch)
// is not handed those again; the next delivery names the last of them as
// the position it follows.
func TestSubscriber_passes_over_what_the_consumer_applied_in_a_batch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.batch", 6)
		all, err := store.ReadAll(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		cps := &appliedCheckpoints{memCheckpoints: newMemCheckpoints()}
		ch := subscribe(t, store, cps, "p")
		msg, rec := receive(t, ch)
		if rec.Position != all[0].Position {
			t.Fatalf("first delivery at %d, want %d", rec.Position, all[0].Position)
		}
		cps.mu.Lock()
		cps.applied = all[3].Position // applied 1..4 with the first delivery
		cps.mu.Unlock()
		msg.Ack()
		msg, rec = receive(t, ch)
		if rec.Position != all[4].Position || msg.Metadata.Get(watermill.MetaAfter) != strconv.FormatUint(all[3].Position, 10) {
			t.Fatalf("next delivery at %d after %s, want %d after %d", rec.Position, msg.Metadata.Get(watermill.MetaAfter), all[4].Position, all[3].Position)
		}
		msg.Ack()
	})
}
