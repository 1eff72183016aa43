package postgres

import (
	"errors"
	"fmt"
	"time"

	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

// Config configures a Store. The zero value is usable: every field has a
// default.
//
// The connection pool is configured through the DSN with pgxpool's
// parameters (pool_max_conns, pool_max_conn_lifetime …). One connection
// commits at a time; the others serve reads, so the default size (the
// greater of 4 and the CPU count) suits most deployments.
type Config struct {
	// Clock stamps recorded times. Default: the wall clock.
	Clock clock.Clock
	// Observer, if set, is told about each committed batch (for metrics).
	Observer eventstore.CommitObserver
	// MaxBatchEvents caps the events of one append and of one commit
	// transaction. Default 1024.
	MaxBatchEvents int
	// PollInterval is how often a caught-up subscription reads the log
	// when no wake-up arrives: the safety net under the LISTEN connection
	// that carries other processes' commits. Default 1s.
	PollInterval time.Duration
	// FailoverTimeout is how long an append or a read waits for the
	// database to come back when it is unreachable (a restart, a failover
	// to the standby) before it fails with eventstore.ErrUnavailable.
	// Default 30s; negative: fail at once.
	FailoverTimeout time.Duration

	// beforeCommit, set only by tests, runs in each batch between Load and
	// Commit, while the append lock is held.
	beforeCommit func()
}

// Defaults of Config.
const (
	DefaultMaxBatchEvents  = 1024
	DefaultPollInterval    = time.Second
	DefaultFailoverTimeout = 30 * time.Second
)

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	switch {
	case c.FailoverTimeout == 0:
		c.FailoverTimeout = DefaultFailoverTimeout
	case c.FailoverTimeout < 0:
		c.FailoverTimeout = 0
	}
}

// Validate reports every field that holds an unusable value.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBatchEvents < 0 {
		errs = append(errs, fmt.Errorf("postgres: MaxBatchEvents is %d, want 1 or more (0: default %d)", c.MaxBatchEvents, DefaultMaxBatchEvents))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("postgres: PollInterval is %s, want a positive duration (0: default %s)", c.PollInterval, DefaultPollInterval))
	}
	return errors.Join(errs...)
}
