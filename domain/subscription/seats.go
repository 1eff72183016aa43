package subscription

import (
	"fmt"

	"seatledger/domain/invalid"
)

// Allocation is the seat arithmetic of rule KEY-4 for one subscription:
// the seats bought, and the seats its sublicenses reserve of them. The
// primary key's quota is what no sublicense reserves.
//
// It is the one place that arithmetic lives. The aggregate decides with
// it (Subscription.Allocation), the licenses read model stores the
// primary key's quota it computes from the rows (projections.Licenses),
// and the finance reconciliation folds the log with it (queries). The
// three cannot drift apart: they count with the same code.
//
// An expired (KEY-3) or deleted (KEY-6) sublicense reserves nothing: its
// seats are back on the primary key.
//
// The commands never let the sublicenses reserve more than was bought
// (CheckQuota), but an allocation built from events that did not come
// through them can: then Primary is negative and OverAllocated true, and
// the reconciliation reports it rather than hide it.
type Allocation struct {
	bought   int
	reserved int
}

// Allocate returns the allocation of seats bought among sublicenses
// holding quotas.
func Allocate(seats int, quotas ...int) Allocation {
	a := Allocation{bought: seats}
	for _, q := range quotas {
		a = a.Reserve(q)
	}
	return a
}

// Seats returns the seats bought.
func (a Allocation) Seats() int { return a.bought }

// Reserved returns the sum of the sublicenses' quotas.
func (a Allocation) Reserved() int { return a.reserved }

// Primary returns the primary key's quota: the seats bought minus the sum
// of the sublicenses' quotas. It is negative only when OverAllocated.
func (a Allocation) Primary() int { return a.bought - a.reserved }

// OverAllocated reports whether the sublicenses reserve more seats than
// were bought, which KEY-4 forbids.
func (a Allocation) OverAllocated() bool { return a.reserved > a.bought }

// Buy returns the allocation with n more seats bought (SUB-4): they go to
// the primary key.
func (a Allocation) Buy(n int) Allocation {
	a.bought += n
	return a
}

// Reserve returns the allocation with quota more seats reserved by a
// sublicense (KEY-3), taken from the primary key.
func (a Allocation) Reserve(quota int) Allocation {
	a.reserved += quota
	return a
}

// Release returns the allocation with quota seats no longer reserved: a
// sublicense deleted (KEY-6), expired (KEY-3) or about to hold another
// quota (KEY-5: Release the old, Reserve the new). They return to the
// primary key.
func (a Allocation) Release(quota int) Allocation {
	a.reserved -= quota
	return a
}

// CheckQuota checks that a sublicense now holding current seats (0 for a
// new one) may hold quota instead: at least one seat (ErrInvalid), and no
// more than its own seats and the primary key's together (ErrQuota), so
// that the sublicenses never reserve more than was bought.
func (a Allocation) CheckQuota(current, quota int) error {
	switch free := a.Primary() + current; {
	case quota < 1:
		return invalid.New(ErrInvalid, "quota", "a quota is at least 1 seat, not %d", quota)
	case quota > free:
		return fmt.Errorf("%w: %d requested, %d free", ErrQuota, quota, free)
	}
	return nil
}
