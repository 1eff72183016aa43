package watermill

import (
	"context"
	"errors"
	"fmt"
	"time"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"seatledger/domain/event"
)

// ErrStaleDelivery is returned (wrapped) by a consumer's handler when the
// delivered event does not follow its stored checkpoint: a rebuild reset
// the checkpoint, another process moved it, or the consumer was halted in
// the meantime. It is neither retried nor poisoned: the message is nacked
// at once and the subscriber resumes from the stored checkpoint.
var ErrStaleDelivery = errors.New("watermill: delivery does not follow the consumer's checkpoint")

// ErrTransient marks a handler failure that says nothing about the event:
// the database is unreachable, a commit failed. Such a failure is retried
// and then nacked and delivered again until it passes, but never poisoned:
// halting a projection for a database restart would need an operator for
// nothing. Wrap it with fmt.Errorf("%w: …: %w", ErrTransient, err).
var ErrTransient = errors.New("watermill: transient failure")

// ErrHalted is matched by every *HaltedError.
var ErrHalted = errors.New("watermill: consumer halted")

// HaltedError is what the router's handler returns for an event that
// still failed after every retry: the event went to the poison topic and
// its consumer was halted there.
type HaltedError struct {
	Consumer string
	Record   event.Record
	Cause    error
}

func (e *HaltedError) Error() string {
	return fmt.Sprintf("watermill: consumer %q halted at position %d (stream %q version %d, %s): %v",
		e.Consumer, e.Record.Position, e.Record.StreamID, e.Record.Version, e.Record.Type, e.Cause)
}

// Is makes errors.Is(err, ErrHalted) true.
func (e *HaltedError) Is(target error) bool { return target == ErrHalted }

// Unwrap returns the handler's error.
func (e *HaltedError) Unwrap() error { return e.Cause }

// Halter stops a consumer at an event it cannot process.
type Halter interface {
	// Halt records durably that consumer stopped at rec because of cause,
	// so that its subscription waits there (see Checkpoint.Halted) and its
	// status shows why.
	Halt(ctx context.Context, consumer string, rec event.Record, cause error) error
}

// DefaultPoisonTopic is where events that exhausted their retries are
// published when RouterConfig.PoisonTopic is empty.
const DefaultPoisonTopic = "ledger.poisoned"

// RouterConfig configures the router of the read side.
type RouterConfig struct {
	// Halter stops a consumer at a poisoned event. Required.
	Halter Halter
	// PoisonPublisher receives poisoned events (with watermill's
	// reason_poisoned and related metadata) for alerting. Default: an
	// in-process GoChannel, which drops them when nobody subscribes; the
	// durable record is the consumer's halted status.
	PoisonPublisher message.Publisher
	// PoisonTopic is the poison topic. Default DefaultPoisonTopic.
	PoisonTopic string
	// MaxRetries is how many times a failing handler is retried before
	// its event is poisoned. Default 5; a negative value means none.
	MaxRetries int
	// RetryInitialInterval is the first backoff interval (default
	// 100ms); it doubles up to RetryMaxInterval (default 5s).
	RetryInitialInterval, RetryMaxInterval time.Duration
	// CloseTimeout bounds how long Close waits for handlers. Default 30s.
	CloseTimeout time.Duration
	// Logger receives the router's logs. Default: slog.Default().
	Logger wm.LoggerAdapter
}

func (c *RouterConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = wm.NewSlogLogger(nil)
	}
	if c.PoisonPublisher == nil {
		c.PoisonPublisher = gochannel.NewGoChannel(gochannel.Config{}, c.Logger)
	}
	if c.PoisonTopic == "" {
		c.PoisonTopic = DefaultPoisonTopic
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = 5
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.RetryInitialInterval <= 0 {
		c.RetryInitialInterval = 100 * time.Millisecond
	}
	if c.RetryMaxInterval <= 0 {
		c.RetryMaxInterval = 5 * time.Second
	}
	if c.RetryMaxInterval < c.RetryInitialInterval {
		c.RetryMaxInterval = c.RetryInitialInterval
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 30 * time.Second
	}
}

// Validate reports every missing required field.
func (c RouterConfig) Validate() error {
	if c.Halter == nil {
		return errors.New("watermill: router needs a halter to stop consumers at poisoned events")
	}
	return nil
}

// NewRouter returns a router whose handlers run inside, outermost first:
// correlation (produced messages inherit the event's correlation ID), halt
// on poison (publish to the poison topic and halt the consumer, see
// HaltOnPoison), retry (bounded, exponential backoff), and recoverer (a
// panic becomes an error, retried and then poisoned like any other).
func NewRouter(cfg RouterConfig) (*message.Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("watermill: new router: %w", err)
	}
	retry := middleware.Retry{
		MaxRetries:      cfg.MaxRetries,
		InitialInterval: cfg.RetryInitialInterval,
		MaxInterval:     cfg.RetryMaxInterval,
		Multiplier:      2,
		// Bounded by MaxRetries, not by time: a slow database must not turn
		// into a poisoned event sooner than the configured attempts.
		MaxElapsedTime:      0,
		RandomizationFactor: 0.2,
		ShouldRetry: func(p middleware.RetryParams) bool {
			return !errors.Is(p.Err, ErrStaleDelivery) && !errors.Is(p.Err, ErrHalted)
		},
		Logger: cfg.Logger,
	}
	router.AddMiddleware(
		middleware.CorrelationID,
		HaltOnPoison(cfg.Halter, cfg.PoisonPublisher, cfg.PoisonTopic, cfg.Logger),
		retry.Middleware,
		middleware.Recoverer,
	)
	return router, nil
}

// HaltOnPoison is watermill's poison queue made safe for an ordered log.
// When the handler still fails (after the retry middleware inside it), the
// message is published on topic with watermill's poison metadata, the
// consumer is halted at the event through h, and the handler's result is
// a *HaltedError: the message is nacked, never acknowledged, so the
// subscriber cannot move past it. Stale deliveries, transient failures,
// consumers already halted, and failures caused by shutdown pass through
// untouched.
func HaltOnPoison(h Halter, pub message.Publisher, topic string, logger wm.LoggerAdapter) message.HandlerMiddleware {
	return func(next message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			produced, err := next(msg)
			if err == nil || errors.Is(err, ErrStaleDelivery) || errors.Is(err, ErrTransient) || errors.Is(err, ErrHalted) ||
				msg.Context().Err() != nil {
				return produced, err
			}
			consumer := message.SubscribeTopicFromCtx(msg.Context())
			rec, _, decodeErr := Decode(msg)
			if decodeErr != nil {
				err = errors.Join(err, decodeErr)
			}
			fields := wm.LogFields{"consumer": consumer, "position": rec.Position, "stream": rec.StreamID, "version": rec.Version, "event_type": rec.Type}
			poisoned := msg.Copy()
			poisoned.Metadata.Set(middleware.ReasonForPoisonedKey, err.Error())
			poisoned.Metadata.Set(middleware.PoisonedTopicKey, consumer)
			poisoned.Metadata.Set(middleware.PoisonedHandlerKey, message.HandlerNameFromCtx(msg.Context()))
			poisoned.Metadata.Set(middleware.PoisonedSubscriberKey, message.SubscriberNameFromCtx(msg.Context()))
			if pubErr := pub.Publish(topic, poisoned); pubErr != nil {
				// The halt below is the durable record; the topic only alerts.
				logger.Error("Cannot publish a poisoned event", pubErr, fields)
			}
			if haltErr := h.Halt(msg.Context(), consumer, rec, err); haltErr != nil {
				// Not halted: the Nack makes the subscriber deliver the
				// event again, so it fails (and we try to halt) again.
				return produced, errors.Join(err, fmt.Errorf("watermill: halt consumer %q: %w", consumer, haltErr))
			}
			logger.Error("Event poisoned; consumer halted at it", err, fields)
			return produced, &HaltedError{Consumer: consumer, Record: rec, Cause: err}
		}
	}
}
