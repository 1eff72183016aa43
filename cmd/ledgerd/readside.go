package main

import (
	"context"
	"fmt"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"seatledger/infra/httpapi"
	"seatledger/infra/projection"
	"seatledger/infra/timers"
	"seatledger/infra/watermill"
	"seatledger/projections"
)

// readSide is the projection runtime with its watermill router, and the
// durable-timer loop.
type readSide struct {
	runtime *projection.Runtime
	router  *message.Router
	timers  *timers.Loop
}

// openReadSide builds the read side on the open store and database.
func (m *Main) openReadSide(ctx context.Context) (*readSide, error) {
	rt, err := projection.New(ctx, projection.Config{
		DB: m.DB, Log: m.Store, Logger: m.Logger,
		Projections: projections.All(timers.Scheduler{}),
	})
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	logger := wm.NewSlogLogger(m.Logger)
	sub, err := watermill.NewSubscriber(watermill.SubscriberConfig{Log: m.Store, Checkpoints: rt, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	router, err := watermill.NewRouter(watermill.RouterConfig{Halter: rt, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	rt.AddHandlers(router, sub)
	loop, err := timers.New(timers.Config{DB: m.DB, Clock: m.Clock, Logger: m.Logger})
	if err != nil {
		return nil, fmt.Errorf("timers: %w", err)
	}
	loop.Handle(projections.TimerKindMail, m.people.mail.Handle)
	m.handleInstallations(loop)
	if err := m.handleLifecycle(loop); err != nil {
		return nil, err
	}
	return &readSide{runtime: rt, router: router, timers: loop}, nil
}

// lag reports each projection's distance from the log head, for /readyz
// and /metrics.
func (rs *readSide) lag(ctx context.Context) (map[string]uint64, error) {
	statuses, err := rs.runtime.Status(ctx)
	if err != nil {
		return nil, err
	}
	lag := make(map[string]uint64, len(statuses))
	for _, s := range statuses {
		if s.Failure != nil {
			return nil, fmt.Errorf("projection %s stopped at position %d (stream %q version %d): %s",
				s.Name, s.Failure.Position, s.Failure.StreamID, s.Failure.Version, s.Failure.Reason)
		}
		lag[s.Name] = s.Lag
	}
	return lag, nil
}

// timersDue reports how many timers are due and not yet fired.
func (rs *readSide) timersDue(ctx context.Context) (int, error) {
	b, err := rs.timers.Backlog(ctx)
	return b.Due, err
}

var _ httpapi.ProjectionLagFunc = (*readSide)(nil).lag
