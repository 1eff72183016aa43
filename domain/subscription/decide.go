package subscription

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// MaxSeats bounds the seats of one order, a sanity limit on input.
const MaxSeats = 1_000_000

const maxNameLength = 100

// Order is what the order system sends (rule SUB-4). Its ID makes it
// idempotent: the same ID with the same contents changes nothing, with
// other contents it is refused.
type Order struct {
	ID          string
	ProductID   string
	Seats       int
	Period      Period
	Channel     Channel
	SupportPlan SupportPlan
	// Insurance is the upgrade insurance bought with a permanent license
	// (Period Permanent): 1y, 2y, 3y, or empty for none (SUB-9).
	Insurance Period
	// LicensedMajor is the product's major version when a permanent
	// license is bought; the catalog supplies it, not the order.
	LicensedMajor int
}

// digest fingerprints an order's contents, to tell a retry from a
// different order that reuses the ID.
func (o Order) digest(kind string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%s\x00%s\x00%s\x00%s", kind, o.ID, o.ProductID, o.Seats, o.Period, o.Channel, o.SupportPlan, o.Insurance))
	return hex.EncodeToString(sum[:16])
}

// MaxOrderIDLength bounds an order ID, in characters.
const MaxOrderIDLength = 100

// checkOrderID returns why id cannot be an order's ID, or "": the order
// system's identifier, required and clean (rules SUB-4, X-7).
func checkOrderID(id string) string {
	return text.Required("order_id", id, text.Identifier, MaxOrderIDLength)
}

// orderIDError refuses an order whose ID is not one, naming the field.
func orderIDError(id string) error {
	if reason := checkOrderID(id); reason != "" {
		return invalid.New(ErrInvalidOrder, "order_id", "%s", reason)
	}
	return nil
}

// seen reports whether order id was applied: (true, nil) for a retry with
// the same contents, ErrOrderMismatch for other contents.
func (s Subscription) seen(id, digest string) (bool, error) {
	prev, ok := s.orders[id]
	switch {
	case !ok:
		return false, nil
	case prev != digest:
		return true, fmt.Errorf("%w: order %s", ErrOrderMismatch, id)
	}
	return true, nil
}

// Purchase issues the subscription of order with its primary key (rules
// SUB-1..4, KEY-1). knownProduct says whether the catalog has the product.
func (s Subscription) Purchase(id string, o Order, knownProduct bool, primary SealedKey, now time.Time) ([]any, error) {
	digest := o.digest("purchase")
	if s.Exists() {
		if _, err := s.seen(o.ID, digest); err != nil || s.orders[o.ID] == digest {
			return nil, err // a retry: nothing to do
		}
		return nil, fmt.Errorf("%w: subscription %s exists already", ErrInvalidOrder, id)
	}
	var (
		problems invalid.List
		err      error
	)
	problems.AddReason("order_id", checkOrderID(o.ID))
	if !knownProduct {
		problems.Add("product_id", "product %q is not in the catalog", o.ProductID)
	}
	if o.Seats < 1 || o.Seats > MaxSeats {
		problems.Add("seats", "seats must be from 1 to %d, not %d", MaxSeats, o.Seats)
	}
	var (
		end          time.Time
		insuranceEnd *time.Time
	)
	if o.Period == Permanent {
		if o.Insurance != "" {
			if until, err := o.Insurance.After(now); err != nil || o.Insurance == Month {
				problems.Add("insurance", "insurance %q must be 1y, 2y or 3y", o.Insurance)
			} else {
				insuranceEnd = &until
			}
		}
	} else if o.Insurance != "" {
		problems.Add("insurance", "insurance is sold with permanent licenses only")
	} else if end, err = o.Period.After(now); err != nil {
		problems.Add("period", "period %q must be 1m, 1y, 2y, 3y or permanent", o.Period)
	}
	switch {
	case o.Channel != Online && o.Channel != Reseller:
		problems.Add("channel", "channel %q must be online or reseller", o.Channel)
	case o.Period == Month && o.Channel != Online:
		problems.Add("channel", "one-month subscriptions are sold online only") // SUB-1
	}
	if o.SupportPlan != Standard && o.SupportPlan != Premium {
		problems.Add("support_plan", "support_plan %q must be standard or premium", o.SupportPlan)
	}
	if primary.KeyID == "" || len(primary.Lookup) == 0 || len(primary.Sealed) == 0 {
		problems.Add("", "the primary key is missing")
	}
	if err := problems.Err(ErrInvalidOrder); err != nil {
		return nil, err
	}
	return []any{Purchased{SubscriptionID: id, OrderID: o.ID, OrderDigest: digest, ProductID: o.ProductID, Seats: o.Seats,
		Period: o.Period, Channel: o.Channel, SupportPlan: o.SupportPlan, Start: now, End: end,
		AutoRenew: o.Channel == Online && o.Period != Permanent, PrimaryKey: primary, // SUB-2: auto-renew on when sold online
		LicensedMajor: o.LicensedMajor, InsuranceEnd: insuranceEnd}}, nil
}

// AddSeats adds seats from an order (SUB-4); they go to the primary key.
func (s Subscription) AddSeats(orderID string, seats int) ([]any, error) {
	o := Order{ID: orderID, Seats: seats}
	if err := orderIDError(orderID); err != nil {
		return nil, err
	}
	if err := s.orderable(); err != nil {
		return nil, err
	}
	digest := o.digest("seats")
	if seen, err := s.seen(orderID, digest); seen || err != nil {
		return nil, err
	}
	if seats < 1 || s.seats+seats > MaxSeats {
		return nil, invalid.New(ErrInvalidOrder, "seats", "seats to add must be from 1 to %d, not %d", MaxSeats-s.seats, seats)
	}
	return []any{SeatsAdded{OrderID: orderID, OrderDigest: digest, Seats: seats}}, nil
}

// Renew extends the subscription by period from its end date, or from
// now if it has expired (SUB-4); in grace, it becomes active again
// without interruption (SUB-6).
func (s Subscription) Renew(orderID string, period Period, now time.Time) ([]any, error) {
	o := Order{ID: orderID, Period: period}
	if err := orderIDError(orderID); err != nil {
		return nil, err
	}
	if err := s.orderable(); err != nil {
		return nil, err
	}
	digest := o.digest("renew")
	if seen, err := s.seen(orderID, digest); seen || err != nil {
		return nil, err
	}
	if s.IsPermanent() { // renewing a permanent license renews its insurance
		if period == Month || period == Permanent {
			return nil, invalid.New(ErrInvalidOrder, "period", "upgrade insurance is renewed for 1y, 2y or 3y, not %q", period)
		}
		from := s.insuranceEnd
		if from.Before(now) {
			from = now
		}
		until, err := period.After(from)
		if err != nil {
			return nil, err
		}
		return []any{Renewed{OrderID: orderID, OrderDigest: digest, Period: period, InsuranceEnd: &until}}, nil
	}
	if period == Month && s.channel != Online {
		return nil, invalid.New(ErrInvalidOrder, "period", "one-month renewals are sold online only")
	}
	if period == Permanent {
		return nil, invalid.New(ErrInvalidOrder, "period", "a subscription is renewed for 1m, 1y, 2y or 3y")
	}
	from := s.end
	if s.status == Ended {
		from = now
	}
	end, err := period.After(from)
	if err != nil {
		return nil, err
	}
	return []any{Renewed{OrderID: orderID, OrderDigest: digest, Period: period, End: end}}, nil
}

// Cancel stops renewals; the subscription runs to its end date.
func (s Subscription) Cancel(orderID string) ([]any, error) {
	o := Order{ID: orderID}
	if err := orderIDError(orderID); err != nil {
		return nil, err
	}
	if err := s.orderable(); err != nil {
		return nil, err
	}
	digest := o.digest("cancel")
	if seen, err := s.seen(orderID, digest); seen || err != nil {
		return nil, err
	}
	if s.cancelled {
		return nil, fmt.Errorf("%w: cancelled already", ErrNoChange)
	}
	return []any{Cancelled{OrderID: orderID, OrderDigest: digest}}, nil
}

func (s Subscription) orderable() error {
	if !s.Exists() {
		return ErrNotFound
	}
	return nil
}

// RegisterTo attaches the subscription to a business account (rules
// KEY-2, SUB-7). Registering it again to the same account changes
// nothing; to another account it is refused.
func (s Subscription) RegisterTo(accountID, by string) ([]any, error) {
	switch {
	case !s.Exists():
		return nil, ErrNotFound
	case s.accountID == accountID:
		return nil, nil
	case s.accountID != "":
		return nil, ErrRegistered
	}
	return []any{Registered{AccountID: accountID, By: by}}, nil
}

// Rename sets the display name (SUB-5).
func (s Subscription) Rename(name, by string) ([]any, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if name == s.name {
		return nil, ErrNoChange
	}
	return []any{Renamed{Name: name, By: by}}, nil
}

// SetAutoRenew turns auto-renewal on or off; sold through a reseller it
// stays off (SUB-2).
func (s Subscription) SetAutoRenew(on bool, by string) ([]any, error) {
	switch {
	case s.IsPermanent():
		return nil, ErrPermanent
	case on && s.channel == Reseller:
		return nil, ErrReseller
	case on && s.cancelled:
		return nil, fmt.Errorf("%w: the subscription was cancelled", ErrInvalid)
	case on == s.autoRenew:
		return nil, ErrNoChange
	}
	return []any{AutoRenewSet{On: on, By: by}}, nil
}

// Lapse records the status the end date has brought at now (SUB-6): the
// process manager's decision when its timer fires. Nothing changes if the
// subscription was renewed in the meantime.
func (s Subscription) Lapse(now time.Time) ([]any, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	var out []any
	status := s.status
	if s.IsPermanent() {
		return nil, nil
	}
	if status == Active && !now.Before(s.end) {
		out, status = append(out, GraceStarted{End: s.end}), InGrace
	}
	if status == InGrace && !now.Before(s.end.Add(GracePeriod)) {
		out = append(out, Expired{End: s.end})
	}
	return out, nil
}

// LapseSublicense records what a sublicense's own expiry has brought at
// now (KEY-3): at expiresAt its 30 days of grace start (its installations
// keep working, as SUB-6 has it for a subscription), and when they end
// it expires: its key stops working, its installations are deactivated
// and its quota returns to the primary key. The process manager's timers
// decide it; nothing is recorded when the expiry has moved since the
// timer was planned (a changed expiry), when the key was deleted, or when
// the whole subscription has expired (SUB-6 deactivates everything).
func (s Subscription) LapseSublicense(keyID string, expiresAt, now time.Time) ([]any, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	k, ok := s.keys[keyID]
	if !ok || k.Type != Reserved || k.ExpiresAt == nil || !k.ExpiresAt.Equal(expiresAt) || k.Expired || s.status == Ended {
		return nil, nil
	}
	var out []any
	if !now.Before(expiresAt) && !k.InGrace {
		out = append(out, SublicenseGraceStarted{KeyID: keyID, KeyName: k.Name, ExpiresAt: expiresAt})
	}
	if !now.Before(expiresAt.Add(GracePeriod)) {
		out = append(out, SublicenseExpired{KeyID: keyID, KeyName: k.Name, ExpiresAt: expiresAt, Quota: k.Quota})
	}
	return out, nil
}

// RemindersBefore are how long before an end date the account's admins
// are reminded of it.
var RemindersBefore = []int{30, 3} // days

// RemindExpiry records that the subscription (keyID empty) or sublicense
// keyID ends at end in daysLeft days, so that the account's admins are
// told. Nothing is recorded when the end has moved since the reminder was
// planned (a renewal, a changed expiry), when the key is gone, or when
// the subscription is not registered (nobody to tell).
func (s Subscription) RemindExpiry(keyID string, end time.Time, daysLeft int) ([]any, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	current, name := s.end, ""
	if keyID != "" {
		k, ok := s.keys[keyID]
		if !ok || k.ExpiresAt == nil {
			return nil, nil
		}
		if k.Expired {
			return nil, nil
		}
		current, name = *k.ExpiresAt, k.Name
	}
	if s.accountID == "" || s.status == Ended || !current.Equal(end) {
		return nil, nil
	}
	return []any{ExpiryReminded{KeyID: keyID, KeyName: name, End: end, DaysLeft: daysLeft, AutoRenew: s.autoRenew}}, nil
}

// RenewalLead is how long before the end date an auto-renewing
// subscription asks the order system for its renewal (SUB-2).
const RenewalLead = 7 * 24 * time.Hour

// RequestRenewal asks the order system to renew the subscription that
// ends at end, if it still renews automatically and still ends then.
func (s Subscription) RequestRenewal(requestID string, end time.Time) ([]any, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if !s.autoRenew || s.cancelled || s.status == Ended || !s.end.Equal(end) {
		return nil, nil
	}
	return []any{RenewalRequested{RequestID: requestID, ProductID: s.productID, Seats: s.seats, Period: s.period, End: end}}, nil
}

// StatusAt returns the status at now (SUB-6): the recorded status, or the
// one the end date has brought if the lifecycle's timer has not recorded
// it yet.
func (s Subscription) StatusAt(now time.Time) Status {
	switch {
	case s.IsPermanent() || s.status == Ended:
		return s.status
	case !now.Before(s.end.Add(GracePeriod)):
		return Ended
	case !now.Before(s.end):
		return InGrace
	}
	return s.status
}

// Eligibility is the answer to "may key K run version V?" (SUB-9).
type Eligibility struct {
	Eligible bool   `json:"eligible"`
	Reason   string `json:"reason"`
}

// Eligible answers whether key keyID may run major version major at now
// (rule SUB-9): a subscription's keys run every version while it is
// active or in grace (installations keep working, SUB-6) and until a
// sublicense's own expiry; a permanent license runs the major version it
// was bought for and earlier ones for ever, and later ones while its
// upgrade insurance lasts. A key of an unregistered subscription runs
// nothing yet (SUB-7).
func (s Subscription) Eligible(keyID string, major int, now time.Time) (Eligibility, error) {
	k, ok := s.keys[keyID]
	switch {
	case !s.Exists():
		return Eligibility{}, ErrNotFound
	case !ok:
		return Eligibility{}, ErrNoKey
	case major < 0:
		return Eligibility{}, fmt.Errorf("%w: a major version is 0 or more, not %d", ErrInvalid, major)
	case s.accountID == "":
		return Eligibility{Reason: "the key is not registered to a business account yet"}, nil
	case k.StatusAt(now) == KeyExpired:
		return Eligibility{Reason: fmt.Sprintf("the sublicense expired on %s and its 30 days of grace are over", k.ExpiresAt.UTC().Format(time.DateOnly))}, nil
	case s.IsPermanent() && major <= s.licensedMajor:
		return Eligibility{Eligible: true, Reason: fmt.Sprintf("permanent license for version %d", s.licensedMajor)}, nil
	case s.IsPermanent() && now.Before(s.insuranceEnd):
		return Eligibility{Eligible: true, Reason: fmt.Sprintf("upgrade insurance until %s", s.insuranceEnd.UTC().Format(time.DateOnly))}, nil
	case s.IsPermanent() && s.insuranceEnd.IsZero():
		return Eligibility{Reason: fmt.Sprintf("permanent license for version %d without upgrade insurance", s.licensedMajor)}, nil
	case s.IsPermanent():
		return Eligibility{Reason: fmt.Sprintf("permanent license for version %d; its upgrade insurance ended on %s", s.licensedMajor, s.insuranceEnd.UTC().Format(time.DateOnly))}, nil
	case s.StatusAt(now) == Ended:
		return Eligibility{Reason: fmt.Sprintf("the subscription expired; it ended on %s", s.end.UTC().Format(time.DateOnly))}, nil
	case s.StatusAt(now) == InGrace:
		return Eligibility{Eligible: true, Reason: fmt.Sprintf("the subscription is in its grace period until %s", s.end.Add(GracePeriod).UTC().Format(time.DateOnly))}, nil
	case k.StatusAt(now) == KeyInGrace:
		return Eligibility{Eligible: true, Reason: fmt.Sprintf("the sublicense is in its grace period until %s", k.ExpiresAt.Add(GracePeriod).UTC().Format(time.DateOnly))}, nil
	}
	return Eligibility{Eligible: true, Reason: fmt.Sprintf("active subscription until %s", s.end.UTC().Format(time.DateOnly))}, nil
}

// checkName checks a subscription's or a sublicense's display name
// (SUB-5, KEY-3): required, one line of clean text, taken as given
// (rule X-7).
func checkName(name string) error {
	if reason := text.Required("name", name, text.Name, maxNameLength); reason != "" {
		return invalid.New(ErrInvalid, "name", "%s", reason)
	}
	return nil
}

// Sublicense is the request of a new or changed sublicense (KEY-3, KEY-5).
type Sublicense struct {
	Name  string
	Quota int
	// ExpiresAt is a custom expiry; nil renews with the subscription.
	ExpiresAt *time.Time
}

// CreateSublicense reserves quota seats for a new key (KEY-3, KEY-4): at
// most the free seats, at least one; a custom expiry lies after now and
// not after the subscription's end.
func (s Subscription) CreateSublicense(key SealedKey, req Sublicense, by string, now time.Time) ([]any, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	name := req.Name
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := s.Allocation().CheckQuota(0, req.Quota); err != nil {
		return nil, err
	}
	if err := s.checkExpiry(req.ExpiresAt, now); err != nil {
		return nil, err
	}
	if _, dup := s.keys[key.KeyID]; dup || key.KeyID == "" || len(key.Lookup) == 0 || len(key.Sealed) == 0 {
		return nil, fmt.Errorf("subscription: a sublicense needs a fresh key")
	}
	return []any{SublicenseCreated{Key: key, Name: name, Quota: req.Quota, ExpiresAt: utc(req.ExpiresAt), By: by}}, nil
}

// ChangeSublicense sets a sublicense's quota and expiry (KEY-5): the quota
// may grow by the free seats, and not shrink below used, the seats it
// uses now. A new expiry during the sublicense's grace ends the grace
// (KEY-3); an expired sublicense cannot be changed.
func (s Subscription) ChangeSublicense(keyID string, quota, used int, expiresAt *time.Time, by string, now time.Time) ([]any, error) {
	k, err := s.sublicense(keyID)
	if err != nil {
		return nil, err
	}
	if k.Expired { // KEY-3: its seats went back to the primary key
		return nil, fmt.Errorf("%w: the sublicense expired on %s and its grace is over; delete it or create another",
			ErrExpired, k.ExpiresAt.UTC().Format(time.DateOnly))
	}
	if err := s.usable(); err != nil {
		return nil, err
	}
	if err := s.Allocation().CheckQuota(k.Quota, quota); err != nil {
		return nil, err
	}
	if quota < used {
		return nil, fmt.Errorf("%w: %d requested, %d in use on this key now", ErrQuota, quota, used)
	}
	if err := s.checkExpiry(expiresAt, now); err != nil {
		return nil, err
	}
	if quota == k.Quota && sameTime(expiresAt, k.ExpiresAt) {
		return nil, ErrNoChange
	}
	return []any{SublicenseChanged{KeyID: keyID, Quota: quota, ExpiresAt: utc(expiresAt), By: by}}, nil
}

// RenameSublicense renames a sublicense (KEY-5).
func (s Subscription) RenameSublicense(keyID, name, by string) ([]any, error) {
	k, err := s.sublicense(keyID)
	if err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if name == k.Name {
		return nil, ErrNoChange
	}
	return []any{SublicenseRenamed{KeyID: keyID, Name: name, By: by}}, nil
}

// DeleteSublicense deletes a sublicense; its seats return to the primary
// key (KEY-6).
func (s Subscription) DeleteSublicense(keyID, by string) ([]any, error) {
	if _, err := s.sublicense(keyID); err != nil {
		return nil, err
	}
	return []any{SublicenseDeleted{KeyID: keyID, By: by}}, nil
}

// GrantAdministrator lets member manage key keyID (MEM-6); the caller
// has checked that member belongs to the account.
func (s Subscription) GrantAdministrator(keyID, member, by string) ([]any, error) {
	k, ok := s.keys[keyID]
	switch {
	case !ok:
		return nil, ErrNoKey
	case k.Administrators[member]:
		return nil, ErrNoChange
	}
	return []any{AdministratorGranted{KeyID: keyID, PersonID: member, By: by}}, nil
}

// RevokeAdministrator ends member's management of key keyID (MEM-6).
func (s Subscription) RevokeAdministrator(keyID, member, by string) ([]any, error) {
	k, ok := s.keys[keyID]
	switch {
	case !ok:
		return nil, ErrNoKey
	case !k.Administrators[member]:
		return nil, ErrNoChange
	}
	return []any{AdministratorRevoked{KeyID: keyID, PersonID: member, By: by}}, nil
}

func (s Subscription) sublicense(keyID string) (Key, error) {
	k, ok := s.keys[keyID]
	if !ok || k.Type != Reserved {
		return Key{}, ErrNoKey
	}
	return k, nil
}

// usable refuses changes to keys of a subscription that is not
// registered (SUB-7) or has expired (SUB-6).
func (s Subscription) usable() error {
	switch {
	case !s.Exists():
		return ErrNotFound
	case s.accountID == "":
		return ErrNotRegistered
	case s.status == Ended:
		return ErrExpired
	}
	return nil
}

func (s Subscription) checkExpiry(at *time.Time, now time.Time) error {
	switch {
	case at == nil:
		return nil
	case !at.After(now):
		return invalid.New(ErrInvalid, "expires_at", "the expiry %s is not in the future", at.UTC().Format(time.DateOnly))
	case !s.IsPermanent() && at.After(s.end):
		return invalid.New(ErrInvalid, "expires_at", "the expiry %s is after the subscription's end %s", at.UTC().Format(time.DateOnly), s.end.UTC().Format(time.DateOnly))
	}
	return nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// MajorOf returns the major version of a version such as "19", "19.2" or
// "19.2.1".
func MajorOf(version string) (int, error) {
	head, _, _ := strings.Cut(strings.TrimSpace(version), ".")
	n, err := strconv.Atoi(head)
	if err != nil || n < 0 || head == "" || head[0] == '+' {
		return 0, invalid.New(ErrInvalid, "version", "version %q must start with a major version number, as in 19.2", version)
	}
	return n, nil
}
