package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"seatledger/infra/eventstore"
)

// listener holds the LISTEN connection that turns the commits of other
// Stores on the database (other processes, usually) into wake-ups of this
// Store's subscriptions.
type listener struct {
	cfg      *pgx.ConnConfig
	conn     *pgx.Conn // owned by run once started
	notifier *eventstore.Notifier
	// woken is the highest head subscriptions were woken for. This Store's
	// own commits come back as notifications too; they are dropped here
	// because the committer has already woken everyone for them.
	woken atomic.Uint64

	cancel context.CancelFunc
	done   chan struct{}
}

// Reconnection back-off of the LISTEN connection.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 30 * time.Second
)

// newListener connects and listens, so that a database that refuses LISTEN
// fails Open rather than leaving subscriptions on polling alone.
func newListener(ctx context.Context, cfg *pgx.ConnConfig) (*listener, error) {
	conn, err := connectListener(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &listener{cfg: cfg, conn: conn, done: make(chan struct{})}, nil
}

func connectListener(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to listen for commits: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres: listen for commits: %w", err)
	}
	return conn, nil
}

// start begins relaying notifications to n.
func (l *listener) start(n *eventstore.Notifier) {
	l.notifier = n
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(ctx)
}

// committed is the committer's OnCommit hook.
func (l *listener) committed(head uint64) { l.raise(head) }

// raise moves woken up to head and reports whether it moved.
func (l *listener) raise(head uint64) bool {
	for {
		cur := l.woken.Load()
		if head <= cur {
			return false
		}
		if l.woken.CompareAndSwap(cur, head) {
			return true
		}
	}
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	conn, retry := l.conn, listenRetryMin
	for {
		if conn == nil {
			var err error
			if conn, err = connectListener(ctx, l.cfg); err != nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(retry):
				}
				retry = min(2*retry, listenRetryMax)
				continue
			}
			retry = listenRetryMin
			l.notifier.Broadcast() // commits made while nobody listened went unheard
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			closeConn(conn)
			conn = nil
			if ctx.Err() != nil {
				return
			}
			continue
		}
		head, err := strconv.ParseUint(n.Payload, 10, 64)
		switch {
		case err != nil:
			l.notifier.Broadcast()
		case l.raise(head):
			l.notifier.Advance(head)
		}
	}
}

// close stops the listener and closes its connection.
func (l *listener) close() {
	if l.cancel == nil { // never started
		closeConn(l.conn)
		return
	}
	l.cancel()
	<-l.done
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx) // best effort: the server ends the session either way
}
