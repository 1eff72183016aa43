package watermill_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"seatledger/infra/eventstore"
	"seatledger/infra/watermill"
)

// The log must never be skipped: after its retries a failing event goes to
// the poison topic and its consumer stops there; once resumed it applies
// that event before any later one.
func TestRouter_poisoned_event_halts_its_consumer_at_that_event(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.good", 2)
		appendEvents(t, store, "test.bad", 1)
		appendEvents(t, store, "test.good", 2)
		all, _ := store.ReadAll(context.Background(), 0, 100)
		bad := all[2]

		cps := newMemCheckpoints()
		poison := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 10}, wm.NopLogger{})
		poisoned, err := poison.Subscribe(context.Background(), watermill.DefaultPoisonTopic)
		if err != nil {
			t.Fatal(err)
		}
		router, err := watermill.NewRouter(watermill.RouterConfig{
			Halter: cps, PoisonPublisher: poison, MaxRetries: 2, RetryInitialInterval: time.Millisecond, Logger: wm.NopLogger{},
		})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := watermill.NewSubscriber(watermill.SubscriberConfig{Log: store, Checkpoints: cps, HaltedPoll: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu       sync.Mutex
			handled  []uint64
			attempts int
			fixed    bool
		)
		router.AddConsumerHandler("projection.p", "p", sub, func(msg *message.Message) error {
			rec, _, err := watermill.Decode(msg)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if rec.Type == "test.bad" && !fixed {
				attempts++
				return errors.New("cannot apply test.bad")
			}
			handled = append(handled, rec.Position)
			cps.set("p", watermill.Checkpoint{Position: rec.Position})
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- router.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})

		var msg *message.Message
		select {
		case msg = <-poisoned:
		case <-time.After(deadline):
			t.Fatal("nothing reached the poison topic")
		}
		msg.Ack()
		if msg.UUID != bad.ID || !strings.Contains(msg.Metadata.Get(middleware.ReasonForPoisonedKey), "cannot apply test.bad") ||
			msg.Metadata.Get(middleware.PoisonedTopicKey) != "p" {
			t.Errorf("poisoned message %s with metadata %v, want %s and its reason", msg.UUID, msg.Metadata, bad.ID)
		}
		eventually(t, "the consumer is halted", func() bool {
			cp, _ := cps.Checkpoint(context.Background(), "p")
			return cp.Halted
		})
		cps.mu.Lock()
		halted, cause := cps.halted["p"], cps.causes["p"]
		cps.mu.Unlock()
		if halted.ID != bad.ID || halted.StreamID != bad.StreamID || halted.Version != 1 || !strings.Contains(cause.Error(), "cannot apply") {
			t.Errorf("halted at %+v because %v, want the bad event", halted, cause)
		}
		mu.Lock()
		if attempts != 3 {
			t.Errorf("bad event tried %d times, want 1 + 2 retries", attempts)
		}
		if len(handled) != 2 || handled[1] != all[1].Position {
			t.Errorf("handled %v before halting, want the two events before the bad one", handled)
		}
		fixed = true
		mu.Unlock()

		cps.set("p", watermill.Checkpoint{Position: all[1].Position}) // resume
		eventually(t, "the consumer catches up after resuming", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(handled) == len(all)
		})
		mu.Lock()
		defer mu.Unlock()
		for i, rec := range all {
			if handled[i] != rec.Position {
				t.Fatalf("handled %v, want every position in order", handled)
			}
		}
	})
}

// A stale delivery is nacked at once, without retries or poison, and the
// subscriber resumes from the stored checkpoint.
func TestRouter_stale_delivery_resumes_from_the_checkpoint(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.stale", 4)
		all, _ := store.ReadAll(context.Background(), 0, 100)
		cps := newMemCheckpoints()
		router, err := watermill.NewRouter(watermill.RouterConfig{Halter: cps, MaxRetries: 5, RetryInitialInterval: time.Hour, Logger: wm.NopLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := watermill.NewSubscriber(watermill.SubscriberConfig{Log: store, Checkpoints: cps, RedeliveryDelay: time.Millisecond})
		var (
			mu        sync.Mutex
			delivered []uint64
			rewound   bool
		)
		router.AddConsumerHandler("projection.p", "p", sub, func(msg *message.Message) error {
			rec, after, _ := watermill.Decode(msg)
			mu.Lock()
			defer mu.Unlock()
			delivered = append(delivered, rec.Position)
			cp, _ := cps.Checkpoint(context.Background(), "p")
			if cp.Position != after {
				return watermill.ErrStaleDelivery
			}
			cps.set("p", watermill.Checkpoint{Position: rec.Position})
			if rec.Position == all[2].Position && !rewound {
				rewound = true // as a rebuild would: back to the start
				cps.set("p", watermill.Checkpoint{})
			}
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- router.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		// 1 2 3 | 4 (stale, the checkpoint went to 0) | 1 2 3 4; an hour-long
		// retry interval would stall the test if stale deliveries were retried.
		eventually(t, "the consumer replays from the rewound checkpoint", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(delivered) == 8
		})
		mu.Lock()
		defer mu.Unlock()
		want := []uint64{1, 2, 3, 4, 1, 2, 3, 4}
		for i := range want {
			if delivered[i] != all[want[i]-1].Position {
				t.Fatalf("delivered %v, want positions of events %v", delivered, want)
			}
		}
		if cps.halted["p"].ID != "" {
			t.Errorf("a stale delivery halted the consumer")
		}
	})
}

// A transient failure (the database is down) is delivered again until it
// passes; it never poisons the event or halts the consumer.
func TestRouter_transient_failure_is_redelivered_and_never_halts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, store eventstore.Store) {
		appendEvents(t, store, "test.transient", 3)
		all, _ := store.ReadAll(context.Background(), 0, 100)
		cps := newMemCheckpoints()
		router, err := watermill.NewRouter(watermill.RouterConfig{Halter: cps, MaxRetries: 1, RetryInitialInterval: time.Millisecond, Logger: wm.NopLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := watermill.NewSubscriber(watermill.SubscriberConfig{Log: store, Checkpoints: cps, RedeliveryDelay: time.Millisecond})
		var (
			mu       sync.Mutex
			handled  []uint64
			failures int
		)
		router.AddConsumerHandler("projection.p", "p", sub, func(msg *message.Message) error {
			rec, _, _ := watermill.Decode(msg)
			mu.Lock()
			defer mu.Unlock()
			if rec.Position == all[1].Position && failures < 10 {
				failures++
				return fmt.Errorf("%w: commit: connection refused", watermill.ErrTransient)
			}
			handled = append(handled, rec.Position)
			cps.set("p", watermill.Checkpoint{Position: rec.Position})
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- router.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		eventually(t, "every event is handled", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(handled) == len(all)
		})
		mu.Lock()
		defer mu.Unlock()
		if failures != 10 || cps.halted["p"].ID != "" {
			t.Errorf("%d failures, halted at %q; want 10 failures and no halt", failures, cps.halted["p"].ID)
		}
		for i, rec := range all {
			if handled[i] != rec.Position {
				t.Fatalf("handled %v, want every position in order", handled)
			}
		}
	})
}
