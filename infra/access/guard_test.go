package access

import (
	"strconv"
	"testing"
	"time"
)

// guardAt returns a guard whose limiters all read *now.
func guardAt(now *time.Time) *attemptGuard {
	g := newAttemptGuard()
	for _, l := range []*Limiter{g.byClient, g.byPair, g.byAddress} {
		l.now = func() time.Time { return *now }
	}
	return g
}

// MEM-1: the owner of an address is never locked out by failures from
// other clients: however many clients fail on the address, a client that
// has not failed gets its attempt, while each guessing client is held to
// five tries and then one every 12 s, and guessers that keep failing are
// slowed to the address's pace.
func TestAttemptGuard_other_clients_failures_never_lock_the_owner_out_MEM1(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	g := guardAt(&now)
	const ada = "ada@example.com"

	// One guesser: five tries at once, then refused for 12 s.
	for i := range perPairBurst {
		if ok, _ := g.admit(ada, "198.51.100.1"); !ok {
			t.Fatalf("try %d refused", i+1)
		}
		g.fail(ada, "198.51.100.1")
	}
	if ok, wait := g.admit(ada, "198.51.100.1"); ok || wait <= 0 || wait > perPairEvery {
		t.Fatalf("sixth try at once: ok %v, wait %s", ok, wait)
	}

	// A guesser on many addresses is held per client.
	for i := range perClientBurst {
		g.admit("user"+strconv.Itoa(i)+"@example.com", "198.51.100.2")
	}
	if ok, _ := g.admit("another@example.com", "198.51.100.2"); ok {
		t.Fatal("a client tried more addresses than its burst at once")
	}

	// A wrong try every 12 s from ever new clients, for an hour: the
	// owner's own client still signs in at any moment.
	for i := range 300 {
		client := "203.0.113." + strconv.Itoa(i%250) + "/" + strconv.Itoa(i)
		if ok, _ := g.admit(ada, client); ok {
			g.fail(ada, client)
		}
		now = now.Add(12 * time.Second)
		if i%50 == 0 {
			if ok, wait := g.admit(ada, "192.0.2.77"); !ok {
				t.Fatalf("the owner was refused after %d attacks (wait %s)", i+1, wait)
			}
			g.succeed(ada, "192.0.2.77")
		}
	}

	// The address is hot now: a client that fails there is slowed to the
	// address's pace, even with tries of its own left.
	if ok, _ := g.admit(ada, "198.51.100.9"); !ok {
		t.Fatal("a new client's first try was refused")
	}
	g.fail(ada, "198.51.100.9")
	if ok, wait := g.admit(ada, "198.51.100.9"); ok || wait <= 0 || wait > perAddressEvery {
		t.Fatalf("a failing client on a hot address: ok %v, wait %s", ok, wait)
	}
	if ok, _ := g.admit(ada, "192.0.2.77"); !ok {
		t.Fatal("the owner's client, which has not failed, was refused on the hot address")
	}
}
