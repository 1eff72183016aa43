package access

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets keyed by a string (an email address,
// a client address, an installation), in memory: each ledgerd limits on
// its own, so N processes behind a balancer allow N times the rate. Idle
// buckets are dropped when the set grows past maxKeys.
type Limiter struct {
	every time.Duration
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxKeys = 100_000

// NewLimiter returns a limiter that allows burst at once per key, then
// one every every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{every: every, burst: burst, now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes a token for key, or reports how long until one is free.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, now)
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// wait reports how long until key has a token, without taking one.
func (l *Limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		return 0
	}
	if tokens := b.lim.TokensAt(now); tokens < 1 {
		return time.Duration((1 - tokens) * float64(l.every))
	}
	return 0
}

// take takes a token for key if one is left.
func (l *Limiter) take(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.bucket(key, now).lim.AllowN(now, 1)
}

// bucket returns key's bucket, made full when new; l.mu is held.
func (l *Limiter) bucket(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b
}

// sweep drops buckets idle long enough to be full again.
func (l *Limiter) sweep(now time.Time) {
	full := l.every * time.Duration(l.burst)
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
}

// Limits of password attempts (sign-in, the current password of a change,
// an invitation accepted with a password) and of password-reset requests.
var (
	// perClientEvery, perClientBurst: one client address, whatever the
	// email addresses it tries: twenty at once, then one every 3 seconds.
	perClientEvery, perClientBurst = 3 * time.Second, 20
	// perPairEvery, perPairBurst: one client on one email address: five
	// at once, then one every 12 seconds.
	perPairEvery, perPairBurst = 12 * time.Second, 5
	// perAddressEvery, perAddressBurst: the failures on one email address
	// from every client together: ten, then one every 30 seconds. Past
	// them, the clients that have failed on the address are slowed down
	// to that pace; clients that have not are not held back.
	perAddressEvery, perAddressBurst = 30 * time.Second, 10
	// failureMemory is how long a client counts as having failed on an
	// address after its last failure there.
	failureMemory = 15 * time.Minute
)

// attemptGuard limits attempts on an email address's password (rule
// MEM-1) so that guessing is slow and yet nobody can lock the owner out:
// a limit that counted every client's attempts on an address together
// let one wrong try every 12 seconds from anywhere keep the owner out.
// So the hard limits are per client (one address guessing many accounts)
// and per (address, client) (one client guessing one account); failures
// from every client together only slow down the clients that have failed
// on that address themselves, so the owner, whose own client has not
// failed, still gets in with the right password while the address is
// under attack from elsewhere. A distributed guesser gets one free try
// per client address and is then held to the address's pace.
//
// Like Limiter, it is in memory, per process.
type attemptGuard struct {
	byClient, byPair, byAddress *Limiter

	mu     sync.Mutex
	failed map[string]time.Time // (address, client) → last failure
}

func newAttemptGuard() *attemptGuard {
	return &attemptGuard{
		byClient:  NewLimiter(perClientEvery, perClientBurst),
		byPair:    NewLimiter(perPairEvery, perPairBurst),
		byAddress: NewLimiter(perAddressEvery, perAddressBurst),
		failed:    map[string]time.Time{},
	}
}

func pairKey(address, client string) string { return address + "\x00" + client }

// admit decides whether client may make an attempt on address now; when
// not, it says how long to wait.
func (g *attemptGuard) admit(address, client string) (bool, time.Duration) {
	if ok, wait := g.byClient.Allow(client); !ok {
		return false, wait
	}
	if ok, wait := g.byPair.Allow(pairKey(address, client)); !ok {
		return false, wait
	}
	if g.hasFailed(address, client) {
		if wait := g.byAddress.wait(address); wait > 0 {
			return false, wait
		}
	}
	return true, 0
}

// fail records a failed attempt (or a costly one, such as a reset mail).
func (g *attemptGuard) fail(address, client string) {
	now := g.byAddress.now()
	g.byAddress.take(address)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.failed) >= maxKeys {
		for k, at := range g.failed {
			if now.Sub(at) > failureMemory {
				delete(g.failed, k)
			}
		}
	}
	g.failed[pairKey(address, client)] = now
}

// succeed forgets the client's failures on address: it knows the password.
func (g *attemptGuard) succeed(address, client string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.failed, pairKey(address, client))
}

func (g *attemptGuard) hasFailed(address, client string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.failed[pairKey(address, client)]
	return ok && g.byAddress.now().Sub(at) <= failureMemory
}
