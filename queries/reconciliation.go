package queries

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/invalid"
	"seatledger/domain/subscription"
)

// Finance reconciliation (issue 7): per subscription and in total, for a
// period, what was bought, how it is allocated, how much is used, the
// overuse, and what does not add up.
//
// It is a fold of the event log, not a read of the read models: the log
// is exact for any past period (the read models only know "now") and
// does not depend on how far the projections have caught up. The fold
// reads the log in position order and stops at the first event recorded
// at or after the period's end; its memory grows with the subscriptions,
// keys and installations (and the report's own incidents and exceptions),
// never with the number of events read.
//
// Times. Every time is a recorded time, the ledger's clock: an event
// belongs to the period when it was recorded in [From, To), and an
// incident starts and ends when the ledger recorded the event that opened
// and closed it. Effective times (an installation's observed_at) are not
// used: an installation's clock may run early or late, and a period that
// is closed must not change when a late report arrives. Recorded time
// never decreases along the log (event.Record), so stopping at the first
// event at or after To reads everything before it.

// LogScan reads the whole event log from its first event, page by page in
// position order, calling fn with each page until the log is exhausted or
// fn returns an error, which it returns. The caller passes
// eventstore.ScanLog over its store (queries does not import infra).
type LogScan func(ctx context.Context, fn func(page []event.Record) error) error

// ErrInvalidPeriod is matched by the *PeriodError of a period that cannot
// be read or is empty.
var ErrInvalidPeriod = errors.New("queries: invalid period")

// PeriodError names the bound of a period that is wrong, and why.
type PeriodError struct {
	Field  string // "from" or "to"
	Reason string
}

func (e *PeriodError) Error() string { return "queries: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidPeriod) true.
func (e *PeriodError) Is(target error) bool { return target == ErrInvalidPeriod }

// Period is a reconciliation's period: the instants in [From, To), UTC.
type Period struct {
	From, To time.Time
}

// ParsePeriod reads a period as finance writes it. Each bound is a date
// (YYYY-MM-DD, a whole UTC day) or an RFC 3339 time (an instant). A date
// to is inclusive — from=2026-03-01&to=2026-03-31 is the whole of March,
// up to April 1 00:00 UTC — while an instant to is the exclusive end.
// The period must not be empty. It returns a *PeriodError naming the bad
// bound.
func ParsePeriod(from, to string) (Period, error) {
	f, _, err := parseBound("from", from)
	if err != nil {
		return Period{}, err
	}
	t, date, err := parseBound("to", to)
	if err != nil {
		return Period{}, err
	}
	if date {
		t = t.AddDate(0, 0, 1) // the whole day is in the period
	}
	if !t.After(f) {
		return Period{}, &PeriodError{Field: "to", Reason: fmt.Sprintf("to (%s) is before from (%s); the period would be empty", to, from)}
	}
	return Period{From: f, To: t}, nil
}

func parseBound(field, s string) (time.Time, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, &PeriodError{Field: field, Reason: field + " is required: a date (YYYY-MM-DD) or an RFC 3339 time"}
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, &PeriodError{Field: field, Reason: fmt.Sprintf("%q is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-03-01T00:00:00Z)", s)}
	}
	return t.UTC(), false, nil
}

// ReconciliationQuery asks for a reconciliation.
type ReconciliationQuery struct {
	Period Period
	// SubscriptionID, if set, reconciles that subscription alone.
	SubscriptionID string
}

// Reconciliation is the finance reconciliation of a period.
type Reconciliation struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"` // exclusive
	// AsOfPosition is the position of the last event read: the same
	// period reconciled again reads the same events up to it.
	AsOfPosition  uint64                       `json:"as_of_position"`
	Subscriptions []SubscriptionReconciliation `json:"subscriptions"` // by subscription ID
	Total         ReconciliationTotal          `json:"total"`
	Exceptions    []ReconciliationException    `json:"exceptions"` // by first time, kind, IDs
	// Orders are the orders recorded in the period, in log order, each
	// naming who applied it (X-1, issue 23).
	Orders []OrderApplied `json:"orders"`
}

// OrderApplied is one order the ledger recorded in the period (SUB-4): a
// purchase, seats added or a renewal, and who of the back office applied
// it, named as the roster's events named them then: a staff person by
// name and role, a service account by its name, the admin token.
type OrderApplied struct {
	Position       uint64    `json:"position"`
	RecordedAt     time.Time `json:"recorded_at"`
	SubscriptionID string    `json:"subscription_id"`
	OrderID        string    `json:"order_id"`
	// Kind is purchase, add_seats or renewal.
	Kind string `json:"kind"`
	// Seats are the seats the order bought (0 for a renewal).
	Seats int `json:"seats"`
	// AppliedBy is the actor as recorded ("back_office:service:<ID>"),
	// AppliedByName who that is.
	AppliedBy     string `json:"applied_by"`
	AppliedByName string `json:"applied_by_name"`
}

// SubscriptionReconciliation is one subscription's figures. Seats
// purchased are what the orders bought (purchase and added seats, rule
// SUB-4); seats in use are what the installations bound to its keys last
// reported (current reports only, USE-1) while they held their key
// (active, suspended or pending deactivation).
type SubscriptionReconciliation struct {
	SubscriptionID string `json:"subscription_id"`
	AccountID      string `json:"account_id"` // "" while not registered (SUB-7)
	ProductID      string `json:"product_id"`
	// Status is active, grace or expired at the period's end (SUB-6).
	Status string `json:"status"`
	// SeatsAtStart and SeatsPurchased are the seats bought by orders
	// recorded before From and before To; SeatsChange is the difference,
	// the seats bought in the period.
	SeatsAtStart   int `json:"seats_at_start"`
	SeatsPurchased int `json:"seats_purchased"`
	SeatsChange    int `json:"seats_change"`
	// SublicenseSeats is the sum of the sublicenses' quotas at the end;
	// PrimaryRemainder is SeatsPurchased − SublicenseSeats, the primary
	// key's quota (KEY-4). A negative remainder is an allocation above
	// the purchase.
	SublicenseSeats  int `json:"sublicense_seats"`
	PrimaryRemainder int `json:"primary_remainder"`
	// InUse is the seats in use at the period's end: the sum of the last
	// current report of every installation holding one of its keys.
	InUse int `json:"in_use"`
	// Peak is the most seats in use at any one moment of the period,
	// counting the usage carried into it at From.
	Peak int `json:"peak"`
	// OveruseIncidents counts the incidents that overlap the period,
	// OpenIncidents those still open at its end.
	OveruseIncidents int `json:"overuse_incidents"`
	OpenIncidents    int `json:"open_incidents"`
	// GracePeriodsUsed counts the 7-day overuse graces that started in
	// the period (USE-3, USE-5); Suspensions the farms suspended for
	// overuse in it (USE-4).
	GracePeriodsUsed int `json:"grace_periods_used"`
	Suspensions      int `json:"suspensions"`
	// Exceptions counts the subscription's exceptions, each kind on each
	// key and installation once (ReconciliationException.Count has the
	// occurrences).
	Exceptions int               `json:"exceptions"`
	Keys       []KeyAllocation   `json:"keys"`      // primary first, then sublicenses as created
	Incidents  []OveruseIncident `json:"incidents"` // by start
}

// KeyAllocation is one key of a subscription at the period's end: its
// quota (rule KEY-4: the primary holds what no sublicense reserves), and
// its usage. A sublicense deleted in the period is listed with DeletedAt
// and quota 0; one deleted before the period is not listed.
type KeyAllocation struct {
	KeyID     string     `json:"key_id"`
	Type      string     `json:"type"` // primary or reserved
	Name      string     `json:"name"`
	Hint      string     `json:"hint"` // the key's last group (KEY-9)
	Quota     int        `json:"quota"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // a sublicense's own expiry
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	InUse     int        `json:"in_use"`
	Peak      int        `json:"peak"`
}

// OveruseIncident is a stretch of time during which an installation's
// usage was above its key's quota (USE-3..6): it starts with the current
// report (or the quota cut) that puts the last reported usage above the
// quota, and ends with the report or quota raise that brings it back
// within, or with the installation's deactivation. It is listed when it
// overlaps the period; End is nil while it is still open at the period's
// end. Peak is the most seats reported during it; Quota is the key's
// quota when it started.
type OveruseIncident struct {
	SubscriptionID string     `json:"subscription_id"`
	KeyID          string     `json:"key_id"`
	InstallationID string     `json:"installation_id"`
	Start          time.Time  `json:"start"`
	End            *time.Time `json:"end"`
	Quota          int        `json:"quota"`
	Peak           int        `json:"peak"`
	// GraceStartedAt is when a 7-day grace started during the incident
	// (farms, USE-3); Suspended says whether the farm was suspended for
	// overuse during it (USE-4).
	GraceStartedAt *time.Time `json:"grace_started_at,omitempty"`
	Suspended      bool       `json:"suspended"`
}

// ReconciliationTotal adds the subscriptions' figures up. Peak is the
// most seats in use at any one moment of the period over all of them
// together, the same definition as a subscription's; it can be less than
// the sum of their peaks, which did not all happen at once.
type ReconciliationTotal struct {
	Subscriptions    int `json:"subscriptions"`
	Keys             int `json:"keys"`
	SeatsAtStart     int `json:"seats_at_start"`
	SeatsPurchased   int `json:"seats_purchased"`
	SeatsChange      int `json:"seats_change"`
	SublicenseSeats  int `json:"sublicense_seats"`
	PrimaryRemainder int `json:"primary_remainder"`
	InUse            int `json:"in_use"`
	Peak             int `json:"peak"`
	OveruseIncidents int `json:"overuse_incidents"`
	OpenIncidents    int `json:"open_incidents"`
	GracePeriodsUsed int `json:"grace_periods_used"`
	Suspensions      int `json:"suspensions"`
	Exceptions       int `json:"exceptions"`
}

// The kinds of exception a reconciliation flags.
const (
	// ExceptionAllocation: the sublicenses' quotas add up to more than
	// the seats purchased (KEY-4 forbids it; the commands refuse it, so
	// it means events that did not come through them). Each purchase,
	// seats added or sublicense created, changed or deleted recorded in
	// the period that leaves the subscription over-allocated counts once,
	// and so does an over-allocation carried in at From.
	ExceptionAllocation = "allocation_above_purchase"
	// ExceptionExpiredActivity: an activation or usage report recorded on
	// a key that had expired — its subscription expired (SUB-6: the
	// expiry event, or 30 days of grace after the end) or, for a
	// sublicense, the 30 days of grace after its own expiry date ended
	// (KEY-3: during them its key still works). Each such event counts
	// once.
	ExceptionExpiredActivity = "activity_on_expired_key"
	// ExceptionDeactivatedReport: a deactivated installation reported
	// usage (ACT-8); the ledger refused the report and recorded the
	// refusal (installation.usage_report_refused, at most one an hour).
	// Each refusal counts once.
	ExceptionDeactivatedReport = "report_from_deactivated_installation"
)

// ReconciliationException is something that does not add up. The
// occurrences of one kind on one subscription, key and installation are
// one exception: First and Last are the first and last occurrence in the
// period, Count how many there were; Message describes the first.
type ReconciliationException struct {
	Kind           string    `json:"kind"`
	SubscriptionID string    `json:"subscription_id"`
	KeyID          string    `json:"key_id,omitempty"`
	InstallationID string    `json:"installation_id,omitempty"`
	First          time.Time `json:"first"`
	Last           time.Time `json:"last"`
	Count          int       `json:"count"`
	Message        string    `json:"message"`
}

// Reconcile reconciles q's period over the log that scan reads, decoding
// events with reg. It returns ErrNotFound when q names a subscription
// that was not purchased before the period's end.
func Reconcile(ctx context.Context, scan LogScan, reg *event.Registry, q ReconciliationQuery) (Reconciliation, error) {
	r := NewReconciler(reg, q)
	err := scan(ctx, func(page []event.Record) error {
		for _, rec := range page {
			more, err := r.Apply(rec)
			if err != nil {
				return err
			}
			if !more {
				return errPeriodOver
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPeriodOver) {
		return Reconciliation{}, fmt.Errorf("queries: reconciliation: %w", err)
	}
	res := r.Result()
	if q.SubscriptionID != "" && len(res.Subscriptions) == 0 {
		return Reconciliation{}, fmt.Errorf("%w: no subscription %q was purchased before %s", ErrNotFound, q.SubscriptionID, q.Period.To.Format(time.RFC3339))
	}
	return res, nil
}

// errPeriodOver stops the scan at the period's end.
var errPeriodOver = errors.New("queries: the period is over")

// Reconciler folds the log, in position order, into a reconciliation.
// It is not safe for concurrent use.
type Reconciler struct {
	reg     *event.Registry
	period  Period
	only    string // the one subscription reconciled, or ""
	started bool   // an event at or after From was seen (or the fold ended)
	last    uint64

	subs  map[string]*recSub
	keys  map[string]*recKey
	insts map[string]*recInst

	inUse, peak int // of all subscriptions together

	exceptions map[exceptionKey]*ReconciliationException
	names      BackOfficeNames // the roster's names, folded as the log goes
	orders     []OrderApplied
}

type recSub struct {
	id, account, product string
	permanent            bool
	end                  time.Time
	expired              bool                    // the expiry event, not undone by a renewal
	alloc                subscription.Allocation // seats bought and reserved (KEY-4)
	seatsAtStart         int
	primary              *recKey
	keys                 []*recKey
	inUse, peak          int
	graces, suspensions  int
	overAllocated        bool
	incidents            []*OveruseIncident
}

type recKey struct {
	sub       *recSub
	id, name  string
	hint      string
	primary   bool
	quota     int // a sublicense's; the primary's is computed
	expiresAt *time.Time
	expired   bool // KEY-3: its grace after expiresAt ended
	deletedAt *time.Time
	inUse     int
	peak      int
	insts     []*recInst
}

type recInst struct {
	id       string
	key      *recKey
	seats    int // current usage, as last reported (USE-2)
	licensed bool
	incident *OveruseIncident // open
}

type exceptionKey struct{ kind, sub, key, inst string }

// NewReconciler returns a Reconciler of q's period.
func NewReconciler(reg *event.Registry, q ReconciliationQuery) *Reconciler {
	return &Reconciler{reg: reg, period: q.Period, only: q.SubscriptionID,
		subs: map[string]*recSub{}, keys: map[string]*recKey{}, insts: map[string]*recInst{},
		exceptions: map[exceptionKey]*ReconciliationException{}}
}

// Apply folds one record. It returns false once the record lies at or
// after the period's end: it and every later one are outside the period
// and are not read. Events the reconciliation does not need are passed
// over by type without being decoded.
func (r *Reconciler) Apply(rec event.Record) (bool, error) {
	if !rec.RecordedAt.Before(r.period.To) {
		return false, nil
	}
	if !r.started && !rec.RecordedAt.Before(r.period.From) {
		r.startPeriod()
	}
	r.last = rec.Position
	at := rec.RecordedAt
	switch rec.Type {
	case subscription.TypePurchased, subscription.TypeSeatsAdded, subscription.TypeRenewed, subscription.TypeRegistered,
		subscription.TypeExpired, subscription.TypeSublicenseCreated, subscription.TypeSublicenseChanged,
		subscription.TypeSublicenseRenamed, subscription.TypeSublicenseDeleted, subscription.TypeSublicenseExpired:
		id, _ := strings.CutPrefix(rec.StreamID, "subscription-")
		if r.only != "" && id != r.only {
			return true, nil
		}
		payload, err := r.reg.Decode(rec)
		if err != nil {
			return false, err
		}
		r.subscriptionEvent(id, payload, at)
		r.order(rec, id, payload)
	case installation.TypeActivated:
		payload, err := r.reg.Decode(rec)
		if err != nil {
			return false, err
		}
		r.activated(payload.(installation.Activated), at)
	case installation.TypeUsageReported, installation.TypeDeactivated, installation.TypeGraceStarted,
		installation.TypeSuspended, installation.TypeReportRefused, installation.TypeDeactivationRequested, installation.TypeEnrolled:
		id, _ := strings.CutPrefix(rec.StreamID, "installation-")
		in := r.insts[id]
		if in == nil {
			return true, nil // a trial, or an installation of another subscription
		}
		payload, err := r.reg.Decode(rec)
		if err != nil {
			return false, err
		}
		r.installationEvent(in, payload, at)
	default:
		if IsRosterNameEvent(rec.Type) {
			payload, err := r.reg.Decode(rec)
			if err != nil {
				return false, err
			}
			r.names.Apply(rec.Position, payload)
		}
	}
	return true, nil
}

// order lists an order recorded in the period with who applied it.
func (r *Reconciler) order(rec event.Record, sub string, payload any) {
	if !r.started || r.subs[sub] == nil {
		return
	}
	o := OrderApplied{Position: rec.Position, RecordedAt: rec.RecordedAt.UTC(), SubscriptionID: sub,
		AppliedBy: rec.Metadata.Actor.String()}
	switch e := payload.(type) {
	case subscription.Purchased:
		o.OrderID, o.Kind, o.Seats = e.OrderID, "purchase", e.Seats
	case subscription.SeatsAdded:
		o.OrderID, o.Kind, o.Seats = e.OrderID, "add_seats", e.Seats
	case subscription.Renewed:
		o.OrderID, o.Kind = e.OrderID, "renewal"
	default:
		return
	}
	o.AppliedByName = r.names.Name(rec.Metadata.Actor, rec.Position)
	if o.AppliedByName == "" {
		o.AppliedByName = rec.Metadata.Actor.Kind.String() // not the back office: named by its kind
	}
	r.orders = append(r.orders, o)
}

func (r *Reconciler) subscriptionEvent(id string, payload any, at time.Time) {
	if e, ok := payload.(subscription.Purchased); ok {
		if r.subs[id] != nil {
			return // a purchase is the stream's first event; never twice
		}
		s := &recSub{id: id, product: e.ProductID, permanent: e.Period == subscription.Permanent, end: e.End, alloc: subscription.Allocate(e.Seats)}
		s.primary = &recKey{sub: s, id: e.PrimaryKey.KeyID, name: "Primary", hint: e.PrimaryKey.Hint, primary: true}
		s.keys = []*recKey{s.primary}
		r.subs[id], r.keys[s.primary.id] = s, s.primary
		r.checkAllocation(s, at)
		return
	}
	s := r.subs[id]
	if s == nil {
		return // events of a stream whose purchase was never recorded
	}
	switch e := payload.(type) {
	case subscription.SeatsAdded:
		s.alloc = s.alloc.Buy(e.Seats)
		r.quotaChanged(s.primary, at)
		r.checkAllocation(s, at)
	case subscription.Renewed:
		if e.InsuranceEnd == nil { // a permanent license's insurance changes no dates
			s.end, s.expired = e.End, false // SUB-6: a renewal in grace or after makes it active
		}
	case subscription.Registered:
		s.account = e.AccountID
	case subscription.Expired:
		s.expired = true
	case subscription.SublicenseCreated:
		k := &recKey{sub: s, id: e.Key.KeyID, name: e.Name, hint: e.Key.Hint, quota: e.Quota, expiresAt: e.ExpiresAt}
		s.keys = append(s.keys, k)
		r.keys[k.id] = k
		s.alloc = s.alloc.Reserve(e.Quota)
		r.quotaChanged(s.primary, at)
		r.checkAllocation(s, at)
	case subscription.SublicenseChanged:
		if k := r.keys[e.KeyID]; k != nil && k.sub == s && !k.primary && k.deletedAt == nil {
			s.alloc = s.alloc.Release(k.quota).Reserve(e.Quota) // KEY-5
			k.quota, k.expiresAt = e.Quota, e.ExpiresAt
			r.quotaChanged(k, at)
			r.quotaChanged(s.primary, at)
			r.checkAllocation(s, at)
		}
	case subscription.SublicenseRenamed:
		if k := r.keys[e.KeyID]; k != nil && k.sub == s {
			k.name = e.Name
		}
	case subscription.SublicenseExpired:
		if k := r.keys[e.KeyID]; k != nil && k.sub == s && !k.primary && k.deletedAt == nil && !k.expired {
			s.alloc = s.alloc.Release(k.quota)
			k.quota, k.expired = 0, true // KEY-3: its quota returns to the primary
			r.quotaChanged(k, at)
			r.quotaChanged(s.primary, at)
			r.checkAllocation(s, at)
		}
	case subscription.SublicenseDeleted:
		if k := r.keys[e.KeyID]; k != nil && k.sub == s && !k.primary && k.deletedAt == nil {
			s.alloc = s.alloc.Release(k.quota)
			deleted := at
			k.quota, k.deletedAt = 0, &deleted // KEY-6: its quota returns to the primary
			r.quotaChanged(k, at)
			r.quotaChanged(s.primary, at)
			r.checkAllocation(s, at)
		}
	}
}

// quotaNow is the key's quota now: a sublicense's own (0 once deleted),
// the primary's the seats no sublicense reserves (KEY-4), negative when
// the subscription is over-allocated.
func (k *recKey) quotaNow() int {
	if k.primary {
		return k.sub.alloc.Primary()
	}
	return k.quota
}

// quotaChanged re-assesses the overuse of the installations on key k.
func (r *Reconciler) quotaChanged(k *recKey, at time.Time) {
	for _, in := range k.insts {
		r.assess(in, at)
	}
}

func (r *Reconciler) checkAllocation(s *recSub, at time.Time) {
	over := s.alloc.OverAllocated()
	s.overAllocated = over
	if over && r.started {
		r.flag(ExceptionAllocation, s, nil, nil, at, func() string {
			a := s.alloc
			return fmt.Sprintf("sublicenses reserve %d seats of the %d purchased: %d more than bought", a.Reserved(), a.Seats(), -a.Primary())
		})
	}
}

func (r *Reconciler) activated(e installation.Activated, at time.Time) {
	if e.KeyID == "" {
		return // a trial (SUB-8) belongs to no subscription
	}
	k := r.keys[e.KeyID]
	if k == nil {
		return // a key of another subscription (or never issued by a recorded event)
	}
	in := r.insts[e.InstallationID]
	if in == nil {
		in = &recInst{id: e.InstallationID, key: k}
		r.insts[in.id] = in
		k.insts = append(k.insts, in)
	}
	r.expiredActivity(in, "activation", at)
	// A repeat keeps the installation's usage; so does an activation
	// after a deactivation, until the next report (as the aggregate).
	r.setUsage(in, in.seats, true, at)
}

func (r *Reconciler) installationEvent(in *recInst, payload any, at time.Time) {
	switch e := payload.(type) {
	case installation.UsageReported:
		r.expiredActivity(in, "usage report", at)
		if e.Current { // USE-1: an older report moves nothing
			r.setUsage(in, e.Seats, in.licensed, at)
		}
	case installation.Deactivated:
		r.setUsage(in, in.seats, false, at)
	case installation.DeactivationRequested:
		r.setUsage(in, in.seats, false, at) // ACT-7: the key is released at once
	case installation.Enrolled:
		r.setUsage(in, e.Managed, in.licensed, at) // USE-6: enrolled computers count at once
	case installation.GraceStarted:
		if r.started {
			in.key.sub.graces++
		}
		if in.incident != nil && in.incident.GraceStartedAt == nil {
			started := at
			in.incident.GraceStartedAt = &started
		}
	case installation.Suspended:
		if r.started {
			in.key.sub.suspensions++
		}
		if in.incident != nil {
			in.incident.Suspended = true
		}
	case installation.ReportRefused:
		if r.started {
			r.flag(ExceptionDeactivatedReport, in.key.sub, in.key, in, at, func() string {
				return fmt.Sprintf("the deactivated installation reported %d seats observed at %s; the report was refused",
					e.Seats, e.ObservedAt.UTC().Format(time.RFC3339))
			})
		}
	}
}

// expiredActivity flags an activation or report on an expired key.
func (r *Reconciler) expiredActivity(in *recInst, what string, at time.Time) {
	if !r.started {
		return
	}
	k, s := in.key, in.key.sub
	var why string
	switch {
	case s.expiredAt(at):
		why = "its subscription expired"
		if !s.end.IsZero() {
			why += " (ended " + s.end.UTC().Format(time.DateOnly) + ")"
		}
	case k.expired || (k.expiresAt != nil && !at.Before(k.expiresAt.Add(subscription.GracePeriod))):
		// KEY-3: a sublicense works through 30 days of grace after its
		// own expiry, like a subscription (SUB-6).
		why = "the sublicense expired on " + k.expiresAt.UTC().Format(time.DateOnly) + " and its grace ended"
	case k.expiresAt != nil && !at.Before(*k.expiresAt):
		return // in its grace: legitimate
	default:
		return
	}
	r.flag(ExceptionExpiredActivity, s, k, in, at, func() string {
		return fmt.Sprintf("%s on key …%s after %s", what, k.hint, why)
	})
}

// expiredAt reports whether the subscription had expired at t, as the
// aggregate decides it (subscription.StatusAt): the expiry event, or the
// end date 30 days of grace ago.
func (s *recSub) expiredAt(t time.Time) bool {
	switch {
	case s.permanent:
		return false
	case s.expired:
		return true
	}
	return !s.end.IsZero() && !t.Before(s.end.Add(subscription.GracePeriod))
}

// statusAt is the subscription's status at t (SUB-6).
func (s *recSub) statusAt(t time.Time) string {
	switch {
	case s.expiredAt(t):
		return string(subscription.Ended)
	case !s.permanent && !s.end.IsZero() && !t.Before(s.end):
		return string(subscription.InGrace)
	}
	return string(subscription.Active)
}

// setUsage sets an installation's reported seats and whether it holds
// its key, moves the usage of its key, its subscription and the total,
// and re-assesses its overuse.
func (r *Reconciler) setUsage(in *recInst, seats int, licensed bool, at time.Time) {
	before := in.counted()
	in.seats, in.licensed = seats, licensed
	if d := in.counted() - before; d != 0 {
		k, s := in.key, in.key.sub
		k.inUse += d
		s.inUse += d
		r.inUse += d
		if r.started {
			k.peak, s.peak, r.peak = max(k.peak, k.inUse), max(s.peak, s.inUse), max(r.peak, r.inUse)
		}
	}
	r.assess(in, at)
}

// counted is what the installation adds to its key's usage.
func (in *recInst) counted() int {
	if in.licensed {
		return in.seats
	}
	return 0
}

// assess opens, extends or closes the installation's overuse incident.
// An installation on a deleted sublicense is not overusing: it is being
// deactivated (KEY-6), and its seats went back to the primary key, so
// the deletion ends its incident.
func (r *Reconciler) assess(in *recInst, at time.Time) {
	over := in.licensed && in.key.deletedAt == nil && in.seats > in.key.quotaNow()
	switch {
	case over && in.incident == nil:
		in.incident = &OveruseIncident{SubscriptionID: in.key.sub.id, KeyID: in.key.id, InstallationID: in.id,
			Start: at, Quota: in.key.quotaNow(), Peak: in.seats}
		if r.started {
			in.key.sub.incidents = append(in.key.sub.incidents, in.incident)
		}
	case over:
		in.incident.Peak = max(in.incident.Peak, in.seats)
	case in.incident != nil:
		end := at
		in.incident.End = &end
		in.incident = nil // listed if it was open in the period; forgotten if it ended before
	}
}

// startPeriod takes what is carried into the period at From: the seats
// bought before it, the usage as the peaks' starting point, the open
// incidents, and over-allocations.
func (r *Reconciler) startPeriod() {
	r.started = true
	r.peak = r.inUse
	for _, s := range r.subs {
		s.seatsAtStart, s.peak = s.alloc.Seats(), s.inUse
		for _, k := range s.keys {
			k.peak = k.inUse
			for _, in := range k.insts {
				if in.incident != nil {
					s.incidents = append(s.incidents, in.incident)
				}
			}
		}
		if s.overAllocated {
			r.checkAllocation(s, r.period.From)
		}
	}
}

// flag records one occurrence of an exception at at; message describes
// the first occurrence.
func (r *Reconciler) flag(kind string, s *recSub, k *recKey, in *recInst, at time.Time, message func() string) {
	key := exceptionKey{kind: kind, sub: s.id}
	if k != nil {
		key.key = k.id
	}
	if in != nil {
		key.inst = in.id
	}
	if x := r.exceptions[key]; x != nil {
		x.Last = at
		x.Count++
		return
	}
	r.exceptions[key] = &ReconciliationException{Kind: kind, SubscriptionID: s.id, KeyID: key.key, InstallationID: key.inst,
		First: at, Last: at, Count: 1, Message: message()}
}

// Result returns the reconciliation of what was folded; the period ends
// with the last event folded before To.
func (r *Reconciler) Result() Reconciliation {
	if !r.started {
		r.startPeriod() // no event in the period: everything is carried in
	}
	res := Reconciliation{From: r.period.From.UTC(), To: r.period.To.UTC(), AsOfPosition: r.last,
		Subscriptions: []SubscriptionReconciliation{}, Exceptions: []ReconciliationException{}, Orders: slices.Clone(r.orders)}
	if res.Orders == nil {
		res.Orders = []OrderApplied{}
	}
	perSub := map[string]int{}
	for _, x := range r.exceptions {
		res.Exceptions = append(res.Exceptions, *x)
		perSub[x.SubscriptionID]++
	}
	slices.SortFunc(res.Exceptions, func(a, b ReconciliationException) int {
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return strings.Compare(a.Kind+"/"+a.SubscriptionID+"/"+a.KeyID+"/"+a.InstallationID,
			b.Kind+"/"+b.SubscriptionID+"/"+b.KeyID+"/"+b.InstallationID)
	})
	ids := make([]string, 0, len(r.subs))
	for id := range r.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	t := &res.Total
	for _, id := range ids {
		s := r.subs[id]
		out := SubscriptionReconciliation{SubscriptionID: s.id, AccountID: s.account, ProductID: s.product,
			Status: s.statusAt(r.period.To), SeatsAtStart: s.seatsAtStart, SeatsPurchased: s.alloc.Seats(), SeatsChange: s.alloc.Seats() - s.seatsAtStart,
			SublicenseSeats: s.alloc.Reserved(), PrimaryRemainder: s.alloc.Primary(), InUse: s.inUse, Peak: s.peak,
			GracePeriodsUsed: s.graces, Suspensions: s.suspensions, Exceptions: perSub[s.id],
			Keys: []KeyAllocation{}, Incidents: []OveruseIncident{}}
		for _, k := range s.keys {
			if k.deletedAt != nil && k.deletedAt.Before(r.period.From) {
				continue
			}
			typ := subscription.Reserved
			if k.primary {
				typ = subscription.Primary
			}
			out.Keys = append(out.Keys, KeyAllocation{KeyID: k.id, Type: string(typ), Name: k.name, Hint: k.hint,
				Quota: k.quotaNow(), ExpiresAt: utcPtr(k.expiresAt), DeletedAt: utcPtr(k.deletedAt), InUse: k.inUse, Peak: k.peak})
		}
		for _, inc := range s.incidents {
			c := *inc
			c.Start = c.Start.UTC()
			c.End, c.GraceStartedAt = utcPtr(c.End), utcPtr(c.GraceStartedAt)
			out.Incidents = append(out.Incidents, c)
			if c.End == nil {
				out.OpenIncidents++
			}
		}
		slices.SortStableFunc(out.Incidents, func(a, b OveruseIncident) int { return a.Start.Compare(b.Start) })
		out.OveruseIncidents = len(out.Incidents)
		res.Subscriptions = append(res.Subscriptions, out)

		t.Subscriptions++
		t.Keys += len(out.Keys)
		t.SeatsAtStart += out.SeatsAtStart
		t.SeatsPurchased += out.SeatsPurchased
		t.SeatsChange += out.SeatsChange
		t.SublicenseSeats += out.SublicenseSeats
		t.PrimaryRemainder += out.PrimaryRemainder
		t.InUse += out.InUse
		t.OveruseIncidents += out.OveruseIncidents
		t.OpenIncidents += out.OpenIncidents
		t.GracePeriodsUsed += out.GracePeriodsUsed
		t.Suspensions += out.Suspensions
		t.Exceptions += out.Exceptions
	}
	t.Peak = r.peak
	return res
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// The parts of a reconciliation as CSV: one table each, so that each
// opens as a sheet of its own.
const (
	// CSVSubscriptions: one row per subscription, then a row TOTAL.
	CSVSubscriptions = "subscriptions"
	// CSVKeys: one row per key (allocation, KEY-4).
	CSVKeys = "keys"
	// CSVIncidents: one row per overuse incident.
	CSVIncidents = "incidents"
	// CSVExceptions: one row per exception.
	CSVExceptions = "exceptions"
	// CSVOrders: one row per order recorded in the period, naming who
	// applied it.
	CSVOrders = "orders"
)

// CSVParts lists the parts WriteReconciliationCSV writes.
var CSVParts = []string{CSVSubscriptions, CSVKeys, CSVIncidents, CSVExceptions, CSVOrders}

// TotalRow is the subscription_id of the subscriptions part's total row.
const TotalRow = "TOTAL"

// WriteReconciliationCSV writes one part of rec (CSVSubscriptions,
// CSVKeys, CSVIncidents, CSVExceptions or CSVOrders) as CSV with a header row, row by
// row. Times are RFC 3339 UTC, an open incident's end is empty, and text
// that a spreadsheet would run as a formula is quoted with a leading '.
// An unknown part is an ErrInvalidFilter, reported before anything is
// written.
func WriteReconciliationCSV(w io.Writer, rec Reconciliation, part string) error {
	var header []string
	var rows func(emit func(...string) error) error
	switch part {
	case CSVSubscriptions, "":
		header = []string{"subscription_id", "account_id", "product_id", "status", "seats_at_start", "seats_purchased", "seats_change",
			"sublicense_seats", "primary_remainder", "keys", "in_use", "peak", "overuse_incidents", "open_incidents",
			"grace_periods_used", "suspensions", "exceptions"}
		rows = func(emit func(...string) error) error {
			for _, s := range rec.Subscriptions {
				if err := emit(s.SubscriptionID, csvText(s.AccountID), csvText(s.ProductID), s.Status, itoa(s.SeatsAtStart),
					itoa(s.SeatsPurchased), itoa(s.SeatsChange), itoa(s.SublicenseSeats), itoa(s.PrimaryRemainder),
					itoa(len(s.Keys)), itoa(s.InUse), itoa(s.Peak), itoa(s.OveruseIncidents), itoa(s.OpenIncidents),
					itoa(s.GracePeriodsUsed), itoa(s.Suspensions), itoa(s.Exceptions)); err != nil {
					return err
				}
			}
			t := rec.Total
			return emit(TotalRow, "", "", "", itoa(t.SeatsAtStart), itoa(t.SeatsPurchased), itoa(t.SeatsChange),
				itoa(t.SublicenseSeats), itoa(t.PrimaryRemainder), itoa(t.Keys), itoa(t.InUse), itoa(t.Peak),
				itoa(t.OveruseIncidents), itoa(t.OpenIncidents), itoa(t.GracePeriodsUsed), itoa(t.Suspensions), itoa(t.Exceptions))
		}
	case CSVKeys:
		header = []string{"subscription_id", "key_id", "type", "name", "hint", "quota", "expires_at", "deleted_at", "in_use", "peak"}
		rows = func(emit func(...string) error) error {
			for _, s := range rec.Subscriptions {
				for _, k := range s.Keys {
					if err := emit(s.SubscriptionID, k.KeyID, k.Type, csvText(k.Name), k.Hint, itoa(k.Quota), csvTimePtr(k.ExpiresAt),
						csvTimePtr(k.DeletedAt), itoa(k.InUse), itoa(k.Peak)); err != nil {
						return err
					}
				}
			}
			return nil
		}
	case CSVIncidents:
		header = []string{"subscription_id", "key_id", "installation_id", "start", "end", "quota", "peak", "grace_started_at", "suspended"}
		rows = func(emit func(...string) error) error {
			for _, s := range rec.Subscriptions {
				for _, i := range s.Incidents {
					if err := emit(i.SubscriptionID, i.KeyID, i.InstallationID, csvTimeOf(i.Start), csvTimePtr(i.End), itoa(i.Quota),
						itoa(i.Peak), csvTimePtr(i.GraceStartedAt), strconv.FormatBool(i.Suspended)); err != nil {
						return err
					}
				}
			}
			return nil
		}
	case CSVExceptions:
		header = []string{"kind", "subscription_id", "key_id", "installation_id", "first", "last", "count", "message"}
		rows = func(emit func(...string) error) error {
			for _, x := range rec.Exceptions {
				if err := emit(x.Kind, x.SubscriptionID, x.KeyID, x.InstallationID, csvTimeOf(x.First), csvTimeOf(x.Last),
					itoa(x.Count), csvText(x.Message)); err != nil {
					return err
				}
			}
			return nil
		}
	case CSVOrders:
		header = []string{"position", "recorded_at", "subscription_id", "order_id", "kind", "seats", "applied_by", "applied_by_name"}
		rows = func(emit func(...string) error) error {
			for _, o := range rec.Orders {
				if err := emit(strconv.FormatUint(o.Position, 10), csvTimeOf(o.RecordedAt), o.SubscriptionID, csvText(o.OrderID), o.Kind,
					itoa(o.Seats), csvText(o.AppliedBy), csvText(o.AppliedByName)); err != nil {
					return err
				}
			}
			return nil
		}
	default:
		return invalid.New(ErrInvalidFilter, "part", "part %q is not one of %s", part, strings.Join(CSVParts, ", "))
	}
	cw := csv.NewWriter(w)
	emit := func(record ...string) error { return cw.Write(record) }
	if err := emit(header...); err != nil {
		return err
	}
	if err := rows(emit); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

// csvText guards a text cell against being run as a formula.
func csvText(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvTimeOf(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func csvTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return csvTimeOf(*t)
}
