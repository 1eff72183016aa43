// Package subscription is the aggregate of a subscription sold by the
// order system (rules SUB-1..9) together with its license keys: the
// primary key and the sublicenses that reserve seats of it (KEY-1,
// KEY-3..7), and the members granted management of single keys (MEM-6).
// Keys live in the subscription so that the seat arithmetic of KEY-4 —
// the sublicenses' quotas never add up to more than the seats — is
// decided under the subscription stream's exact version, whatever the
// concurrency.
package subscription

import (
	"errors"
	"maps"
	"time"

	"seatledger/domain/invalid"
)

// GracePeriod is how long installations keep working after the end date
// (rule SUB-6).
const GracePeriod = 30 * 24 * time.Hour

// Period is how long a subscription is prepaid for (rule SUB-1).
type Period string

// The periods sold.
const (
	Month  Period = "1m"
	Year   Period = "1y"
	Years2 Period = "2y"
	Years3 Period = "3y"
	// Permanent is a permanent license (rule SUB-9): it never ends; its
	// upgrade insurance, bought for one of the other periods, decides
	// which new major versions it may run.
	Permanent Period = "permanent"
)

// After returns the end of a period that starts at t.
func (p Period) After(t time.Time) (time.Time, error) {
	switch p {
	case Month:
		return t.AddDate(0, 1, 0), nil
	case Year:
		return t.AddDate(1, 0, 0), nil
	case Years2:
		return t.AddDate(2, 0, 0), nil
	case Years3:
		return t.AddDate(3, 0, 0), nil
	}
	return time.Time{}, invalid.New(ErrInvalidOrder, "period", "period %q (use 1m, 1y, 2y or 3y)", string(p))
}

// Channel is where the subscription was sold (rule SUB-2).
type Channel string

// The channels.
const (
	Online   Channel = "online"
	Reseller Channel = "reseller"
)

// SupportPlan is the support a subscription carries (rule SUB-3).
type SupportPlan string

// The support plans.
const (
	Standard SupportPlan = "standard"
	Premium  SupportPlan = "premium"
)

// Status is where a subscription stands in its life (rule SUB-6).
type Status string

// The statuses.
const (
	Active  Status = "active"
	InGrace Status = "grace"
	Ended   Status = "expired"
)

// KeyType says whether a key is the subscription's primary key or a
// sublicense (shown as "Reserved", rule KEY-3).
type KeyType string

// The key types.
const (
	Primary  KeyType = "primary"
	Reserved KeyType = "reserved"
)

// Key is one license key of the subscription.
type Key struct {
	ID     string
	Type   KeyType
	Name   string
	Quota  int // for the primary: the seats no sublicense reserves (KEY-4)
	Lookup []byte
	Sealed []byte
	Hint   string // the key's last group, to tell keys apart when masked
	// ExpiresAt is a sublicense's own expiry; nil: it renews with the
	// subscription (and the primary always does).
	ExpiresAt *time.Time
	// Administrators are the members who may manage this key (MEM-6).
	Administrators map[string]bool
	// InGrace: a sublicense's own expiry passed and its 30 days of grace
	// run (KEY-3); Expired: they ran out, the key stops working and its
	// quota returned to the primary key.
	InGrace, Expired bool
}

// KeyStatus is where a key stands (KEY-3, SUB-6).
type KeyStatus string

// The key statuses.
const (
	KeyActive  KeyStatus = "active"
	KeyInGrace KeyStatus = "grace"
	KeyExpired KeyStatus = "expired"
)

// StatusAt returns the key's status at now: a sublicense with its own
// expiry lapses like a subscription (KEY-3), in grace from the expiry and
// expired 30 days later, whether or not its timers have recorded it yet;
// a key that renews with its subscription has the subscription's status
// (as Subscription.StatusAt tells it).
func (k Key) StatusAt(now time.Time) KeyStatus {
	switch {
	case k.Expired:
		return KeyExpired
	case k.ExpiresAt == nil:
		return KeyActive
	case !now.Before(k.ExpiresAt.Add(GracePeriod)):
		return KeyExpired
	case k.InGrace || !now.Before(*k.ExpiresAt):
		return KeyInGrace
	}
	return KeyActive
}

// Subscription is a subscription as of the events folded into it.
type Subscription struct {
	id          string
	accountID   string
	productID   string
	name        string
	seats       int
	period      Period
	channel     Channel
	supportPlan SupportPlan
	start, end  time.Time // end is zero for a permanent license
	// licensedMajor and insuranceEnd are a permanent license's terms: the
	// major version bought, and until when its upgrade insurance runs.
	licensedMajor int
	insuranceEnd  time.Time
	autoRenew     bool
	cancelled     bool
	status        Status
	orders        map[string]string // order ID → digest (SUB-4)
	primary       string
	keys          map[string]Key
	version       uint64
}

// StreamID returns the event stream of subscription id.
func StreamID(id string) string { return "subscription-" + id }

// The subscription's domain errors.
var (
	ErrNotFound      = errors.New("subscription: no such subscription")
	ErrInvalidOrder  = errors.New("subscription: invalid order")
	ErrOrderMismatch = errors.New("subscription: this order ID was used with different contents")
	ErrRegistered    = errors.New("subscription: the key is registered to another business account")
	ErrNotRegistered = errors.New("subscription: the subscription is not registered to a business account yet")
	ErrReseller      = errors.New("subscription: sold through a reseller, auto-renewal stays off; contact your reseller")
	ErrQuota         = errors.New("subscription: not enough free seats")
	ErrInvalid       = errors.New("subscription: invalid request")
	ErrNoKey         = errors.New("subscription: no such key")
	ErrExpired       = errors.New("subscription: the subscription has expired")
	ErrNoChange      = errors.New("subscription: nothing to change")
	ErrPermanent     = errors.New("subscription: a permanent license has no end date and does not renew")
)

// Accessors.

// ID returns the subscription's ID ("" before it is purchased).
func (s Subscription) ID() string { return s.id }

// Exists reports whether the subscription was purchased.
func (s Subscription) Exists() bool { return s.id != "" }

// AccountID returns the business account it is registered to, or "".
func (s Subscription) AccountID() string { return s.accountID }

// ProductID returns the product sold.
func (s Subscription) ProductID() string { return s.productID }

// Name returns the display name (SUB-5).
func (s Subscription) Name() string { return s.name }

// Seats returns the seats bought.
func (s Subscription) Seats() int { return s.seats }

// Period, Channel and SupportPlan return the terms of the sale.
func (s Subscription) Period() Period { return s.period }

// Channel returns where it was sold.
func (s Subscription) Channel() Channel { return s.channel }

// SupportPlan returns the support plan.
func (s Subscription) SupportPlan() SupportPlan { return s.supportPlan }

// Start returns when the subscription started.
func (s Subscription) Start() time.Time { return s.start }

// End returns the paid-up end date; zero for a permanent license.
func (s Subscription) End() time.Time { return s.end }

// IsPermanent reports whether this is a permanent license (SUB-9).
func (s Subscription) IsPermanent() bool { return s.period == Permanent }

// LicensedMajor returns the major version a permanent license was bought
// for (SUB-9).
func (s Subscription) LicensedMajor() int { return s.licensedMajor }

// InsuranceEnd returns when a permanent license's upgrade insurance ends;
// zero when it has none (SUB-9).
func (s Subscription) InsuranceEnd() time.Time { return s.insuranceEnd }

// AutoRenew reports whether it renews automatically (SUB-2).
func (s Subscription) AutoRenew() bool { return s.autoRenew }

// Cancelled reports whether the order system cancelled it.
func (s Subscription) Cancelled() bool { return s.cancelled }

// Status returns the recorded status (SUB-6).
func (s Subscription) Status() Status { return s.status }

// Version returns how many events were folded.
func (s Subscription) Version() uint64 { return s.version }

// Key returns key id.
func (s Subscription) Key(id string) (Key, bool) {
	k, ok := s.keys[id]
	return k, ok
}

// PrimaryKey returns the primary key (KEY-1).
func (s Subscription) PrimaryKey() Key { return s.keys[s.primary] }

// Keys returns every key, the primary first, then sublicenses in no order.
func (s Subscription) Keys() []Key {
	out := make([]Key, 0, len(s.keys))
	out = append(out, s.keys[s.primary])
	for id, k := range s.keys {
		if id != s.primary {
			out = append(out, k)
		}
	}
	return out
}

// Allocation returns how the seats bought are allocated among the keys
// (rule KEY-4): the sublicenses' quotas against the seats.
func (s Subscription) Allocation() Allocation {
	a := Allocate(s.seats)
	for id, k := range s.keys {
		if id != s.primary {
			a = a.Reserve(k.Quota)
		}
	}
	return a
}

// Free returns the seats no sublicense reserves: the primary key's quota
// (rule KEY-4).
func (s Subscription) Free() int { return s.Allocation().Primary() }

// Clone returns a copy that shares nothing with s (see account.Clone).
func (s Subscription) Clone() Subscription {
	s.orders = maps.Clone(s.orders)
	s.keys = maps.Clone(s.keys)
	for id, k := range s.keys {
		k.Administrators = maps.Clone(k.Administrators)
		s.keys[id] = k
	}
	return s
}

// Stored returns the key as the ledger stores it.
func (k Key) Stored() SealedKey {
	return SealedKey{KeyID: k.ID, Lookup: k.Lookup, Sealed: k.Sealed, Hint: k.Hint}
}
