package watermill

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"seatledger/domain/event"
	"seatledger/infra/clock"
)

// Log is the part of eventstore.Store the subscriber reads: every event
// after a position, in order, first those stored and then live appends.
type Log interface {
	Subscribe(ctx context.Context, after uint64, handle func(event.Record) error) error
}

// Checkpoint is where a consumer of the log stands.
type Checkpoint struct {
	// Position is the position of the last event the consumer applied.
	Position uint64
	// Halted says the consumer stopped at the event after Position and
	// must not be fed until an operator resumes or rebuilds it.
	Halted bool
}

// Checkpoints reads consumers' checkpoints. The consumer, not the
// subscriber, writes its checkpoint: in the same transaction as the effects
// of the event, so that the two can never disagree.
type Checkpoints interface {
	// Checkpoint returns consumer's checkpoint (position 0 for one that
	// never applied an event).
	Checkpoint(ctx context.Context, consumer string) (Checkpoint, error)
}

// Applied is implemented by Checkpoints that know how far a consumer of
// this process has applied the log — a consumer applies the events after
// the one it was handed too, in the same transaction — so that the
// subscriber passes over those without delivering them one by one.
type Applied interface {
	Applied(consumer string) uint64
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// Log is the event log. Required.
	Log Log
	// Checkpoints tells where each consumer starts. Required.
	Checkpoints Checkpoints
	// RedeliveryDelay is the pause after a Nack before the event is
	// delivered again. Default 100ms. (The router's retry middleware does
	// the quick retries; a Nack reaching the subscriber means they were
	// spent, or that the consumer is stale or halted.)
	RedeliveryDelay time.Duration
	// HaltedPoll is how often a halted consumer's checkpoint is re-read to
	// see whether it was resumed or rebuilt (possibly by another process).
	// Default 2s.
	HaltedPoll time.Duration
	// Logger receives the subscriber's logs. Default: none.
	Logger wm.LoggerAdapter
	// Ownership, if set, feeds a consumer only while this process owns it
	// (rule X-8: one process at a time applies each projection). Default:
	// every consumer is always fed.
	Ownership Ownership
}

// Ownership decides which process feeds a consumer.
type Ownership interface {
	// Hold waits until this process owns consumer, or ctx ends (it then
	// returns ctx's error). It returns a context that ends when the
	// ownership does, and release, which gives it up.
	Hold(ctx context.Context, consumer string) (context.Context, func(), error)
}

func (c *SubscriberConfig) setDefaults() {
	if c.RedeliveryDelay <= 0 {
		c.RedeliveryDelay = 100 * time.Millisecond
	}
	if c.HaltedPoll <= 0 {
		c.HaltedPoll = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = wm.NopLogger{}
	}
}

// Validate reports every missing required field.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if c.Log == nil {
		errs = append(errs, errors.New("watermill: subscriber needs the event log"))
	}
	if c.Checkpoints == nil {
		errs = append(errs, errors.New("watermill: subscriber needs a checkpoint reader"))
	}
	return errors.Join(errs...)
}

// Subscriber exposes the ordered event log as a watermill
// message.Subscriber. The topic names a consumer (a projection, a process
// manager): Subscribe starts after that consumer's stored checkpoint,
// catches up on stored events, then follows live appends.
//
// It delivers one message at a time, in log order, and the next one only
// after the previous was acknowledged. After a Nack it re-reads the
// consumer's checkpoint and resumes from it: normally that is the same
// event again (the failed transaction did not move the checkpoint); after
// a rebuild it is wherever the rebuild got to; for a halted consumer it
// waits until the consumer is resumed. An event is never skipped.
type Subscriber struct {
	cfg SubscriberConfig

	mu      sync.Mutex
	closed  bool
	cancels []context.CancelFunc
	wg      sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a subscriber on cfg.Log.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Subscriber{cfg: cfg}, nil
}

// ErrClosed is returned by Subscribe on a closed Subscriber.
var ErrClosed = errors.New("watermill: subscriber is closed")

// Subscribe starts delivering the log to consumer topic. The channel is
// closed when ctx ends or the subscriber is closed. Each message's context
// is cancelled once it is acknowledged.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic == "" {
		return nil, errors.New("watermill: subscribe: the topic names the consumer and cannot be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancels = append(s.cancels, cancel)
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		s.run(ctx, topic, out)
	}()
	return out, nil
}

// Close ends every subscription and waits for them to stop.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	cancels := s.cancels
	s.cancels = nil
	s.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
	s.wg.Wait()
	return nil
}

// errNacked ends one pass over the log when a message was not acknowledged.
var errNacked = errors.New("watermill: message nacked")

// run feeds consumer until ctx ends, while this process owns it.
func (s *Subscriber) run(ctx context.Context, consumer string, out chan<- *message.Message) {
	if s.cfg.Ownership == nil {
		s.feed(ctx, consumer, out)
		return
	}
	for ctx.Err() == nil {
		owned, release, err := s.cfg.Ownership.Hold(ctx, consumer)
		if err != nil {
			return // ctx ended
		}
		s.feed(owned, consumer, out) // until the ownership ends
		release()
	}
}

// feed feeds consumer until ctx ends: each pass starts after the stored
// checkpoint and lasts until a Nack or a read failure.
func (s *Subscriber) feed(ctx context.Context, consumer string, out chan<- *message.Message) {
	log := s.cfg.Logger.With(wm.LogFields{"consumer": consumer})
	haltedLogged := false
	for ctx.Err() == nil {
		cp, err := s.cfg.Checkpoints.Checkpoint(ctx, consumer)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("Cannot read the consumer's checkpoint; retrying", err, nil)
			}
			_ = clock.Sleep(ctx, s.cfg.HaltedPoll)
			continue
		}
		if cp.Halted {
			if !haltedLogged {
				log.Info("Consumer is halted; waiting until it is resumed or rebuilt", wm.LogFields{"position": cp.Position})
				haltedLogged = true
			}
			_ = clock.Sleep(ctx, s.cfg.HaltedPoll)
			continue
		}
		haltedLogged = false
		after := cp.Position
		applied, _ := s.cfg.Checkpoints.(Applied)
		err = s.cfg.Log.Subscribe(ctx, after, func(rec event.Record) error {
			if applied != nil && rec.Position <= applied.Applied(consumer) {
				after = rec.Position // applied with an earlier delivery
				return nil
			}
			if err := deliver(ctx, out, NewMessage(rec, after)); err != nil {
				return err
			}
			after = rec.Position
			return nil
		})
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errNacked):
			_ = clock.Sleep(ctx, s.cfg.RedeliveryDelay)
		default:
			log.Error("Reading the event log failed; resuming from the checkpoint", err, wm.LogFields{"after": after})
			_ = clock.Sleep(ctx, s.cfg.HaltedPoll)
		}
	}
}

// deliver hands msg to the consumer and waits for its Ack or Nack.
func deliver(ctx context.Context, out chan<- *message.Message, msg *message.Message) error {
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(msgCtx)
	select {
	case out <- msg:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-msg.Acked():
		return nil
	case <-msg.Nacked():
		return fmt.Errorf("%w: %s at position %s", errNacked, msg.UUID, msg.Metadata.Get(MetaPosition))
	case <-ctx.Done():
		return ctx.Err()
	}
}
