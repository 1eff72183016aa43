package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"seatledger/infra/access"
)

// Limits bound what callers who need no account can make the ledger store
// in its append-only log (issue 16): anonymous trial activations, and an
// installation's calls that record an event each (usage reports,
// enrollment requests). Each is a token bucket per key, in
// memory per process: N processes behind a balancer allow N times the
// rate. Beyond it a request answers 429 too-many-requests with
// Retry-After, and records nothing.
type Limits struct {
	// TrialsPerAddress limits trial activations per client address.
	TrialsPerAddress Rate
	// TrialsPerServer limits trial activations per server (a farm's server
	// ID; a proxy server's site code and server name), whatever the
	// address: a trial is once per server anyway (SUB-8).
	TrialsPerServer Rate
	// InstallationCalls limits each installation's usage reports and
	// enrollment requests, together. Farms report at least every 20
	// minutes and proxy servers weekly (USE-1), so the default leaves
	// ample room. License refreshes record only a changed license, and a
	// deactivation is recorded once: neither is limited.
	InstallationCalls Rate
}

// Rate is a token bucket: Burst requests at once, then one every Every.
// A zero Every means no limit.
type Rate struct {
	Every time.Duration
	Burst int
}

// DefaultLimits are the limits when PeopleConfig.Limits is nil.
func DefaultLimits() Limits {
	return Limits{
		TrialsPerAddress:  Rate{Every: 6 * time.Minute, Burst: 10},
		TrialsPerServer:   Rate{Every: 20 * time.Minute, Burst: 3},
		InstallationCalls: Rate{Every: time.Minute, Burst: 10},
	}
}

// newRateLimiter returns a limiter for rate, or nil for no limit.
func newRateLimiter(rate Rate) *access.Limiter {
	if rate.Every <= 0 || rate.Burst <= 0 {
		return nil
	}
	return access.NewLimiter(rate.Every, rate.Burst)
}

// admit takes a token of key from l (nil: unlimited) or answers 429 with
// Retry-After, naming what is limited. It reports whether the request may
// go on.
func admit(l *access.Limiter, key string, what string, w http.ResponseWriter, r *http.Request) bool {
	if l == nil {
		return true
	}
	ok, wait := l.Allow(key)
	if ok {
		return true
	}
	secs := int(wait.Seconds()) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteProblem(w, r, ProblemTooManyRequests.New("too many %s; try again in %d seconds", what, secs))
	return false
}
