package subscription_test

import (
	"errors"
	"strings"
	"testing"

	"seatledger/domain/subscription"
)

// Rule KEY-4: the primary key's quota is the seats bought minus the sum
// of the sublicenses' quotas; seats bought go to the primary key, and a
// sublicense released (deleted, expired, or resized) gives its seats back.
// An allocation above the purchase (events that bypassed the commands)
// shows as a negative primary quota, not a clamped one.
func TestAllocation_primary_holds_what_no_sublicense_reserves_KEY4(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		got                      subscription.Allocation
		seats, reserved, primary int
		overAllocated            bool
	}{
		"nothing reserved":         {subscription.Allocate(10), 10, 0, 10, false},
		"two sublicenses":          {subscription.Allocate(10, 3, 4), 10, 7, 3, false},
		"all reserved":             {subscription.Allocate(10, 6, 4), 10, 10, 0, false},
		"seats added":              {subscription.Allocate(10, 6, 4).Buy(5), 15, 10, 5, false},
		"released":                 {subscription.Allocate(10, 6, 4).Release(4), 10, 6, 4, false},
		"resized":                  {subscription.Allocate(10, 6).Release(6).Reserve(2), 10, 2, 8, false},
		"reserve one by one":       {subscription.Allocate(10).Reserve(3).Reserve(3), 10, 6, 4, false},
		"above the purchase":       {subscription.Allocate(10, 8, 5), 10, 13, -3, true},
		"bought back into balance": {subscription.Allocate(10, 8, 5).Buy(3), 13, 13, 0, false},
		"a zero-seat subscription": {subscription.Allocate(0), 0, 0, 0, false},
	} {
		a := c.got
		if a.Seats() != c.seats || a.Reserved() != c.reserved || a.Primary() != c.primary || a.OverAllocated() != c.overAllocated {
			t.Errorf("%s: seats %d reserved %d primary %d over %v; want %d %d %d %v", name,
				a.Seats(), a.Reserved(), a.Primary(), a.OverAllocated(), c.seats, c.reserved, c.primary, c.overAllocated)
		}
	}
}

// Rules KEY-4, KEY-5: a sublicense holds at least one seat and at most
// its own and the primary key's together, so the sublicenses never
// reserve more than was bought.
func TestAllocation_check_quota_KEY4_KEY5(t *testing.T) {
	t.Parallel()
	a, over := subscription.Allocate(10, 3, 4), subscription.Allocate(10, 8, 5) // primary 3 and -3
	for name, c := range map[string]struct {
		alloc          subscription.Allocation
		current, quota int
		want           error
		phrase         string
	}{
		"new within the free seats":    {a, 0, 3, nil, ""},
		"new above the free seats":     {a, 0, 4, subscription.ErrQuota, "4 requested, 3 free"},
		"grow by the free seats":       {a, 4, 7, nil, ""},
		"grow beyond the free seats":   {a, 4, 8, subscription.ErrQuota, "8 requested, 7 free"},
		"shrink":                       {a, 4, 1, nil, ""},
		"zero":                         {a, 0, 0, subscription.ErrInvalid, "at least 1 seat, not 0"},
		"negative":                     {a, 4, -1, subscription.ErrInvalid, "at least 1 seat, not -1"},
		"over-allocated: nothing free": {over, 0, 1, subscription.ErrQuota, "1 requested, -3 free"},
	} {
		err := c.alloc.CheckQuota(c.current, c.quota)
		if c.want == nil && err != nil || c.want != nil && (!errors.Is(err, c.want) || !strings.Contains(err.Error(), c.phrase)) {
			t.Errorf("%s: err = %v, want %v %q", name, err, c.want, c.phrase)
		}
	}
}

// Rule KEY-4: the aggregate's primary key holds exactly what its
// Allocation computes from the sublicenses it keeps, through creation,
// change, expiry (KEY-3), deletion (KEY-6) and added seats.
func TestSubscription_primary_quota_is_its_allocation_KEY4(t *testing.T) {
	t.Parallel()
	in30 := t0.AddDate(0, 0, 30)
	key := func(id string) subscription.SealedKey {
		return subscription.SealedKey{KeyID: id, Lookup: []byte("l" + id), Sealed: []byte("s" + id)}
	}
	history := append(registered(t),
		subscription.SublicenseCreated{Key: key("k-1"), Name: "Lab", Quota: 3, ExpiresAt: &in30},
		subscription.SublicenseCreated{Key: key("k-2"), Name: "Office", Quota: 4},
		subscription.SeatsAdded{OrderID: "ord-2", Seats: 5},
		subscription.SublicenseChanged{KeyID: "k-2", Quota: 6},
		subscription.SublicenseExpired{KeyID: "k-1", ExpiresAt: in30.Add(subscription.GracePeriod)},
		subscription.SublicenseCreated{Key: key("k-3"), Name: "Annex", Quota: 2},
		subscription.SublicenseDeleted{KeyID: "k-2"},
	)
	wantPrimary := []int{10, 10, 7, 3, 8, 6, 9, 7, 13}
	var s subscription.Subscription
	for i, e := range history {
		s = s.Evolve(e)
		var quotas []int
		for _, k := range s.Keys() {
			if k.Type == subscription.Reserved {
				quotas = append(quotas, k.Quota)
			}
		}
		a := subscription.Allocate(s.Seats(), quotas...)
		if got := s.PrimaryKey().Quota; got != a.Primary() || got != wantPrimary[i] || s.Free() != got {
			t.Errorf("after %T: primary quota %d, free %d, allocation %d; want %d", e, got, s.Free(), a.Primary(), wantPrimary[i])
		}
	}
}
