package lease_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"seatledger/infra/lease"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// ttl is the shortest time to live a lease may have: the tests wait for
// leases to expire, so they last a few seconds.
const ttl = time.Second

// process returns the leases of one process on target, with a pool of its own.
func process(t *testing.T, target sqldb.Target, holder string) (*lease.Leases, *sqldb.DB) {
	t.Helper()
	db := sqldbtest.Open(t, target)
	l, err := lease.New(lease.Config{DB: db, Holder: holder, TTL: ttl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l, db
}

// hold takes lease name for l on a context that lasts, failing the test
// if that takes longer than within.
func hold(t *testing.T, l *lease.Leases, name string, within time.Duration) (context.Context, func()) {
	t.Helper()
	ctx, giveUp := context.WithCancel(context.Background())
	type held struct {
		ctx     context.Context
		release func()
	}
	got := make(chan held, 1)
	go func() {
		if h, release, err := l.Hold(ctx, name); err == nil {
			got <- held{h, release}
		}
	}()
	select {
	case h := <-got:
		t.Cleanup(giveUp)
		return h.ctx, h.release
	case <-time.After(within):
		giveUp()
		t.Fatalf("%s did not get lease %s within %s", l.Holder(), name, within)
		return nil, nil
	}
}

// Rule X-8: while its holder renews it, nobody else gets a lease; given
// up, the next process takes it at its next try.
func TestLease_one_holder_at_a_time_and_handed_over_on_release_X8(t *testing.T) {
	t.Parallel()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		a, _ := process(t, target, "a")
		b, _ := process(t, target, "b")
		heldA, releaseA := hold(t, a, "projection.farms", time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 3*ttl) // three times its life: renewals keep it
		_, _, err := b.Hold(ctx, "projection.farms")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("b took a lease a holds and renews: %v", err)
		}
		if heldA.Err() != nil {
			t.Fatal("a lost the lease it kept renewing")
		}
		heldB, releaseB := hold(t, b, "projection.other", time.Second) // other leases are free
		releaseB()
		if heldB.Err() == nil {
			t.Fatal("release left the holder's context running")
		}
		releaseA()
		if heldA.Err() == nil {
			t.Fatal("release left the holder's context running")
		}
		_, releaseB = hold(t, b, "projection.farms", ttl) // at b's next try, not at expiry
		releaseB()
	})
}

// Rule X-8: a holder that dies (kill -9: it neither renews nor gives up)
// is replaced once its lease expires.
func TestLease_taken_over_when_the_holder_dies_X8(t *testing.T) {
	t.Parallel()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		a, _ := process(t, target, "a")
		b, _ := process(t, target, "b")
		ctx, die := context.WithCancel(context.Background())
		if _, _, err := a.Hold(ctx, "audit.checkpointer"); err != nil {
			t.Fatal(err)
		}
		die() // a's renewals stop; its release never runs
		start := time.Now()
		_, release := hold(t, b, "audit.checkpointer", 3*ttl)
		defer release()
		if waited := time.Since(start); waited < ttl/2 {
			t.Fatalf("b took the lease %s after a's last renewal: before it could have expired", waited)
		}
	})
}

// Rule X-8: a holder cut off from the database (paused, or the primary
// failing over for longer than the lease lives) ends its work before the
// lease can expire, so that two processes never work at once.
func TestLease_a_holder_that_cannot_renew_stops_before_another_takes_over_X8(t *testing.T) {
	t.Parallel()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		a, dbA := process(t, target, "a")
		b, _ := process(t, target, "b")
		heldA, releaseA := hold(t, a, "audit.snapshots", time.Second)
		defer releaseA()
		dbA.Close() // every renewal of a fails from now on
		heldB, releaseB := hold(t, b, "audit.snapshots", 3*ttl)
		defer releaseB()
		if heldA.Err() == nil {
			t.Fatal("b holds the lease while a still believes it does")
		}
		if heldB.Err() != nil {
			t.Fatal("b's hold ended at once")
		}
	})
}

// Run calls its work again each time the lease comes back, and an error
// of the work while the lease is held ends Run with it.
func TestLease_Run_restarts_work_after_a_takeover_and_reports_its_failure(t *testing.T) {
	t.Parallel()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		a, _ := process(t, target, "a")
		boom := errors.New("boom")
		calls := 0
		err := a.Run(context.Background(), "worker", func(ctx context.Context) error {
			calls++
			return boom
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Fatalf("Run = %v after %d calls, want the work's error after one", err, calls)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = a.Run(ctx, "worker", func(held context.Context) error {
			calls++
			if calls < 4 {
				return nil // ended by itself: Run takes the lease again and calls it again
			}
			cancel()
			<-held.Done()
			return held.Err()
		})
		if err != nil || calls != 4 {
			t.Fatalf("Run = %v after %d calls, want nil after four", err, calls)
		}
	})
}

// Rule X-8: a renewal that hangs (here on a row lock; in a failover, on
// connections waiting for the new primary) does not keep the holder
// believing it holds the lease: its hold ends when the lease stops being
// trusted, before the lease can expire for the other processes.
func TestLease_a_renewal_that_hangs_ends_the_hold_in_time_X8(t *testing.T) {
	t.Parallel()
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		a, _ := process(t, target, "a")
		held, release := hold(t, a, "projection.installations", time.Second)
		defer release()
		blocker := sqldbtest.Open(t, target)
		ctx := context.Background()
		tx, err := blocker.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, blocker.Rebind(`UPDATE leases SET acquired_at = acquired_at WHERE name = ?`), "projection.installations"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-held.Done():
		case <-time.After(2 * ttl):
			t.Fatal("the hold outlived the lease's time to live while its renewal hung")
		}
	})
}
