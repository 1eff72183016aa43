package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/httpapi"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
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
	if err := m.applyInline(rt); err != nil {
		return nil, err
	}
	logger := wm.NewSlogLogger(m.Logger)
	sub, err := watermill.NewSubscriber(watermill.SubscriberConfig{Log: m.Store, Checkpoints: rt, Logger: logger,
		Ownership: projectionLeases{m.leases}})
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	router, err := watermill.NewRouter(watermill.RouterConfig{Halter: rt, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	rt.AddHandlers(router, sub)
	settled := &settled{}
	loop, err := timers.New(timers.Config{DB: m.DB, Clock: m.Clock, Logger: m.Logger,
		Settle: func(ctx context.Context) error { return m.settle(ctx, rt, settled) }})
	if err != nil {
		return nil, fmt.Errorf("timers: %w", err)
	}
	loop.HandleDelivery(projections.TimerKindMail, m.people.mail.Handle)
	m.people.resets = passwordResets{db: m.DB, clock: m.Clock, loop: loop}
	loop.Handle(timerKindPasswordReset, m.people.resets.handler(m.people.commands.People))
	m.handleInstallations(loop)
	if err := m.handleLifecycle(loop); err != nil {
		return nil, err
	}
	return &readSide{runtime: rt, router: router, timers: loop}, nil
}

// inlineProjections are the read models the appends apply in their own
// transaction on engine (issue 21): on SQLite, those a usage report, the
// log's most frequent event, changes — the installations, the count of
// events by type and the account event feed — so that a report costs one
// write transaction instead of several. There every transaction of the
// process runs one at a time on one connection (sqldb's writer), and a
// projection's own transactions cost more than its rows in the append's.
// In pairs of BenchmarkUsageIngest runs, the feed inline took 3–5% less
// CPU per report (0.152–0.157 ms against 0.159–0.164) for about 3% fewer
// reports/s.
//
// None on PostgreSQL. Its throughput is bounded by the append lock's hold,
// not by the CPU (the machine was a quarter idle), and every inline
// statement lengthens it; outside it, the runtimes write alongside in
// transactions of their own, for no more CPU per report. Measured in
// three alternating pairs of runs each: the feed inline 7,308–7,987
// reports/s, the installations and the counts 7,888–8,039; the counts
// alone 8,177–8,566; none 8,311–9,014, with the batches' hold from 3.2 ms
// to 2.5–2.7.
func inlineProjections(engine sqldb.Engine) []string {
	if engine == sqldb.SQLite {
		return []string{"stream_stats", "installations", "account_feed"}
	}
	return nil
}

// applyInline makes inlineProjections the event store's inline
// projections when the store keeps its events in the read models'
// database (SQLite, PostgreSQL; not KurrentDB).
func (m *Main) applyInline(rt *projection.Runtime) error {
	store, ok := m.Store.(interface{ SetInline(...eventstore.Inline) })
	if !ok {
		return nil
	}
	names := inlineProjections(m.DB.Engine)
	ps := make([]eventstore.Inline, len(names))
	for i, name := range names {
		p, err := rt.Inline(name)
		if err != nil {
			return fmt.Errorf("projections: %w", err)
		}
		ps[i] = p
	}
	store.SetInline(ps...)
	return nil
}

// settleTimeout bounds how long the timer loop waits for the process
// managers after a timer fired.
const settleTimeout = 30 * time.Second

// settled is the log position the process managers were last seen to
// have applied.
type settled struct{ position atomic.Uint64 }

// settle waits until the process managers — the projections that
// schedule timers — have applied every event in the log, so that the
// timers a fired timer's events schedule exist before the next due one
// is chosen (rule X-6). With nothing appended since the last time (a
// delivery fired: mail records nothing), it costs one read of the head.
func (m *Main) settle(ctx context.Context, rt *projection.Runtime, last *settled) error {
	head, err := m.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	if head <= last.position.Load() {
		return nil
	}
	for _, p := range projections.ProcessManagers(timers.Scheduler{}) {
		if err := rt.WaitFor(ctx, p.Name(), head, settleTimeout); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
	}
	for {
		seen := last.position.Load()
		if head <= seen || last.position.CompareAndSwap(seen, head) {
			return nil
		}
	}
}

// stepClock advances the simulated clock by d through the timers due on
// the way (rule X-6), saves the new time, and answers with the log's
// head, which a read waits for to see the effects.
func (m *Main) stepClock(ctx context.Context, sim *clock.Simulated, d time.Duration) (httpapi.ClockSteps, error) {
	done, err := m.readSide.timers.Advance(ctx, sim, d)
	// Save where the clock stands even when the advance stopped: the
	// timers it fired must not fall due again after a restart.
	if serr := timers.SaveSimulatedTime(context.WithoutCancel(ctx), m.DB, sim.Now()); serr != nil && err == nil {
		err = fmt.Errorf("clock advanced to %s but not saved: %w", sim.Now().Format(time.RFC3339), serr)
	}
	if err != nil {
		return httpapi.ClockSteps{}, err
	}
	head, err := m.Store.Head(ctx)
	if err != nil {
		return httpapi.ClockSteps{}, err
	}
	return httpapi.ClockSteps{From: done.From, To: done.To, Fired: done.Fired, Retrying: done.Retrying, Position: head}, nil
}

// lag reports each projection's distance from the log head, for /readyz
// and /metrics; a stopped projection's too (see stopped).
func (rs *readSide) lag(ctx context.Context) (map[string]uint64, error) {
	statuses, err := rs.runtime.Status(ctx)
	if err != nil {
		return nil, err
	}
	lag := make(map[string]uint64, len(statuses))
	for _, s := range statuses {
		lag[s.Name] = s.Lag
	}
	return lag, nil
}

// stopped reports the projections stopped at an event they cannot apply,
// with where and why, for /readyz (degraded) and /metrics.
func (rs *readSide) stopped(ctx context.Context) (map[string]string, error) {
	statuses, err := rs.runtime.Status(ctx)
	if err != nil {
		return nil, err
	}
	stopped := map[string]string{}
	for _, s := range statuses {
		if f := s.Failure; f != nil {
			stopped[s.Name] = fmt.Sprintf("at position %d (stream %q version %d, %s): %s", f.Position, f.StreamID, f.Version, f.EventType, f.Reason)
		}
	}
	return stopped, nil
}

// projectionStopped answers httpapi.PeopleConfig.ProjectionStopped from
// the runtime's memory of halts (at most a second old).
func (rs *readSide) projectionStopped(ctx context.Context, name string) (bool, string, error) {
	f, err := rs.runtime.Stopped(ctx, name)
	if err != nil || f == nil {
		return false, "", err
	}
	return true, fmt.Sprintf("at position %d (%s): %s", f.Position, f.EventType, f.Reason), nil
}

// timersDue reports how many timers are due and not yet fired.
func (rs *readSide) timersDue(ctx context.Context) (int, error) {
	b, err := rs.timers.Backlog(ctx)
	return b.Due, err
}

var (
	_ httpapi.ProjectionLagFunc     = (*readSide)(nil).lag
	_ httpapi.ProjectionStoppedFunc = (*readSide)(nil).stopped
)
