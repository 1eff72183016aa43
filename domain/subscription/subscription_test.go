package subscription_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/subscription"
)

var (
	t0      = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	primary = subscription.SealedKey{KeyID: "k-primary", Lookup: []byte("lookup-p"), Sealed: []byte("sealed-p")}
	order   = subscription.Order{ID: "ord-1", ProductID: "prod-1", Seats: 10, Period: subscription.Year,
		Channel: subscription.Online, SupportPlan: subscription.Standard}
)

func given(events ...any) subscription.Subscription {
	var s subscription.Subscription
	for _, e := range events {
		s = s.Evolve(e)
	}
	return s
}

func purchased(t *testing.T, o subscription.Order) subscription.Purchased {
	t.Helper()
	evs, err := subscription.Subscription{}.Purchase("sub-1", o, true, primary, t0)
	if err != nil {
		t.Fatal(err)
	}
	return evs[0].(subscription.Purchased)
}

// registered is a purchased 10-seat yearly subscription registered to acc-1.
func registered(t *testing.T) []any {
	return []any{purchased(t, order), subscription.Registered{AccountID: "acc-1", By: "ada"}}
}

// Rules SUB-1, SUB-2, SUB-3, KEY-1: a purchase issues a subscription for a
// product, seats and a period, with a support plan and one primary key
// holding every seat; sold online it auto-renews.
func TestPurchase_SUB1_SUB2_SUB3_KEY1(t *testing.T) {
	t.Parallel()
	p := purchased(t, order)
	if p.End != t0.AddDate(1, 0, 0) || !p.AutoRenew || p.SupportPlan != subscription.Standard {
		t.Fatalf("purchased %+v", p)
	}
	s := given(p)
	if s.Status() != subscription.Active || len(s.Keys()) != 1 || s.PrimaryKey().Quota != 10 || s.PrimaryKey().Type != subscription.Primary {
		t.Fatalf("subscription %+v, keys %+v", s, s.Keys())
	}
	resold := order
	resold.Channel = subscription.Reseller
	if purchased(t, resold).AutoRenew {
		t.Error("a reseller's subscription auto-renews (SUB-2)")
	}
	bad := []struct {
		name   string
		change func(*subscription.Order)
		known  bool
		phrase string
	}{
		{"unknown product", func(o *subscription.Order) {}, false, "not in the catalog"},
		{"no seats", func(o *subscription.Order) { o.Seats = 0 }, true, "seats must be"},
		{"two months", func(o *subscription.Order) { o.Period = "2m" }, true, "period"},
		{"a month from a reseller (SUB-1)", func(o *subscription.Order) { o.Period, o.Channel = subscription.Month, subscription.Reseller }, true, "online only"},
		{"no support plan (SUB-3)", func(o *subscription.Order) { o.SupportPlan = "gold" }, true, "support_plan"},
		{"no order ID", func(o *subscription.Order) { o.ID = "" }, true, "order_id"},
		// rule X-7: the order ID that once broke the licenses read model on PostgreSQL
		{"an order ID with a NUL", func(o *subscription.Order) { o.ID = "sw-11\x00" }, true, "order_id holds a NUL"},
		{"an order ID with invalid UTF-8", func(o *subscription.Order) { o.ID = "sw-\xc0\xaf" }, true, "not valid UTF-8"},
		{"an order ID with a zero-width space", func(o *subscription.Order) { o.ID = "sw\u200b-11" }, true, "invisible"},
		{"a 64 KB order ID", func(o *subscription.Order) { o.ID = strings.Repeat("o", 64<<10) }, true, "longer than 100"},
	}
	for _, c := range bad {
		o := order
		c.change(&o)
		_, err := subscription.Subscription{}.Purchase("sub-1", o, c.known, primary, t0)
		if !errors.Is(err, subscription.ErrInvalidOrder) || !strings.Contains(err.Error(), c.phrase) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
}

// Rule SUB-4: the same order ID applied twice changes nothing; reused
// with other contents it is refused, not merged.
func TestOrders_are_idempotent_by_order_ID_SUB4(t *testing.T) {
	t.Parallel()
	s := given(registered(t)...)
	if evs, err := s.Purchase("sub-1", order, true, primary, t0.Add(time.Hour)); err != nil || evs != nil {
		t.Fatalf("purchase retried: %v, %v", evs, err)
	}
	other := order
	other.Seats = 11
	if _, err := s.Purchase("sub-1", other, true, primary, t0); !errors.Is(err, subscription.ErrOrderMismatch) {
		t.Fatalf("purchase with other contents: %v", err)
	}
	added, err := s.AddSeats("ord-2", 5)
	if err != nil {
		t.Fatal(err)
	}
	s = s.Evolve(added[0])
	if s.Seats() != 15 || s.PrimaryKey().Quota != 15 {
		t.Fatalf("after adding seats: %d seats, primary %d", s.Seats(), s.PrimaryKey().Quota)
	}
	if evs, err := s.AddSeats("ord-2", 5); err != nil || evs != nil {
		t.Fatalf("seats retried: %v, %v", evs, err)
	}
	if _, err := s.AddSeats("ord-2", 6); !errors.Is(err, subscription.ErrOrderMismatch) {
		t.Fatalf("seats with other contents: %v", err)
	}
	if _, err := s.Renew("ord-2", subscription.Year, t0); !errors.Is(err, subscription.ErrOrderMismatch) {
		t.Fatalf("an order ID reused for another kind of order: %v", err)
	}
	if _, err := s.AddSeats("ord-3", 0); !errors.Is(err, subscription.ErrInvalidOrder) {
		t.Fatalf("zero seats: %v", err)
	}
	// rule X-7: every kind of order refuses an order ID that is not clean.
	for _, id := range []string{"ord\x00", " ord-4", "ord\u202e4"} {
		if _, err := s.AddSeats(id, 1); !errors.Is(err, subscription.ErrInvalidOrder) {
			t.Errorf("add seats with order ID %q: %v", id, err)
		}
		if _, err := s.Renew(id, subscription.Year, t0); !errors.Is(err, subscription.ErrInvalidOrder) {
			t.Errorf("renew with order ID %q: %v", id, err)
		}
		if _, err := s.Cancel(id); !errors.Is(err, subscription.ErrInvalidOrder) {
			t.Errorf("cancel with order ID %q: %v", id, err)
		}
	}
}

// Rule SUB-6: end date → 30 days of grace → expired; a renewal in grace
// returns the subscription to active, counted from the old end date.
func TestLifecycle_SUB6(t *testing.T) {
	t.Parallel()
	s := given(registered(t)...)
	end := s.End()
	if evs, _ := s.Lapse(end.Add(-time.Second)); len(evs) != 0 {
		t.Fatalf("lapsed before the end: %v", evs)
	}
	evs, _ := s.Lapse(end)
	if !reflect.DeepEqual(evs, []any{subscription.GraceStarted{End: end}}) {
		t.Fatalf("at the end: %v", evs)
	}
	inGrace := s.Clone().Evolve(evs[0])
	renewal, err := inGrace.Renew("ord-r", subscription.Year, end.Add(10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	renewed := inGrace.Clone().Evolve(renewal[0])
	if renewed.Status() != subscription.Active || !renewed.End().Equal(end.AddDate(1, 0, 0)) {
		t.Fatalf("renewed in grace: %s until %s", renewed.Status(), renewed.End())
	}
	evs, _ = inGrace.Lapse(end.Add(subscription.GracePeriod))
	if !reflect.DeepEqual(evs, []any{subscription.Expired{End: end}}) {
		t.Fatalf("after the grace: %v", evs)
	}
	// A timer that fires late records both steps at once.
	if evs, _ := s.Lapse(end.Add(40 * 24 * time.Hour)); len(evs) != 2 {
		t.Fatalf("late timer: %v", evs)
	}
	expired := inGrace.Clone().Evolve(evs[0])
	if _, err := expired.CreateSublicense(subscription.SealedKey{KeyID: "k", Lookup: []byte("l"), Sealed: []byte("s")},
		subscription.Sublicense{Name: "x", Quota: 1}, "ada", end.Add(40*24*time.Hour)); !errors.Is(err, subscription.ErrExpired) {
		t.Fatalf("sublicense on an expired subscription: %v", err)
	}
}

// Rules KEY-2, SUB-7: a key registers its subscription to one account.
func TestRegister_KEY2_SUB7(t *testing.T) {
	t.Parallel()
	s := given(purchased(t, order))
	sub := subscription.SealedKey{KeyID: "k-1", Lookup: []byte("l1"), Sealed: []byte("s1")}
	if _, err := s.CreateSublicense(sub, subscription.Sublicense{Name: "Lab", Quota: 1}, "ada", t0); !errors.Is(err, subscription.ErrNotRegistered) {
		t.Fatalf("sublicense before registration: %v", err)
	}
	s = given(registered(t)...)
	if evs, err := s.RegisterTo("acc-1", "bob"); err != nil || evs != nil {
		t.Fatalf("registering again to the same account: %v, %v", evs, err)
	}
	if _, err := s.RegisterTo("acc-2", "eve"); !errors.Is(err, subscription.ErrRegistered) {
		t.Fatalf("registering to another account: %v", err)
	}
}

// Rules SUB-5, SUB-2: rename; auto-renew on and off, never for a reseller.
func TestRename_and_auto_renew_SUB5_SUB2(t *testing.T) {
	t.Parallel()
	s := given(registered(t)...)
	if evs, err := s.Rename("Berlin office", "ada"); err != nil || !reflect.DeepEqual(evs, []any{subscription.Renamed{Name: "Berlin office", By: "ada"}}) {
		t.Fatalf("rename: %v, %v", evs, err)
	}
	if _, err := s.Rename(" ", "ada"); !errors.Is(err, subscription.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	// rule X-7: a name is clean text, as given: nothing trimmed or replaced.
	for _, name := range []string{" Berlin office", "Berlin\x00office", "Berlin\u202eoffice", "Berlin\noffice", "Berlin \xff", strings.Repeat("b", 101)} {
		if _, err := s.Rename(name, "ada"); !errors.Is(err, subscription.ErrInvalid) {
			t.Errorf("rename to %q: %v", name, err)
		}
	}
	if _, err := s.Rename("Büro 🚀 \"Nord\" \\ 2", "ada"); err != nil {
		t.Errorf("rename with an emoji, quotes and a backslash: %v", err)
	}
	if evs, err := s.SetAutoRenew(false, "ada"); err != nil || len(evs) != 1 {
		t.Fatalf("auto-renew off: %v, %v", evs, err)
	}
	resold := order
	resold.Channel = subscription.Reseller
	r := given(purchased(t, resold))
	if _, err := r.SetAutoRenew(true, "ada"); !errors.Is(err, subscription.ErrReseller) {
		t.Fatalf("auto-renew on for a reseller: %v", err)
	}
}

// Rules KEY-3, KEY-4, KEY-5, KEY-6: sublicenses reserve seats of the
// primary key, never more than are free, with a name and either the
// subscription's expiry or one of their own.
func TestSublicenses_KEY3_KEY4_KEY5_KEY6(t *testing.T) {
	t.Parallel()
	s := given(registered(t)...)
	key := func(id string) subscription.SealedKey {
		return subscription.SealedKey{KeyID: id, Lookup: []byte("l" + id), Sealed: []byte("s" + id)}
	}
	in30 := t0.AddDate(0, 0, 30)
	evs, err := s.CreateSublicense(key("k-1"), subscription.Sublicense{Name: "Lab", Quota: 3, ExpiresAt: &in30}, "ada", t0)
	if err != nil {
		t.Fatal(err)
	}
	s = s.Clone().Evolve(evs[0])
	if s.PrimaryKey().Quota != 7 || s.Free() != 7 {
		t.Fatalf("primary quota %d after reserving 3 of 10", s.PrimaryKey().Quota)
	}
	past, late := t0.Add(-time.Hour), s.End().Add(time.Hour)
	for name, c := range map[string]struct {
		req    subscription.Sublicense
		want   error
		phrase string
	}{
		"more than free": {subscription.Sublicense{Name: "Big", Quota: 12}, subscription.ErrQuota, "12 requested, 7 free"},
		"zero quota":     {subscription.Sublicense{Name: "Zero", Quota: 0}, subscription.ErrInvalid, "at least 1"},
		"negative quota": {subscription.Sublicense{Name: "Neg", Quota: -2}, subscription.ErrInvalid, "at least 1"},
		"expiry in past": {subscription.Sublicense{Name: "Old", Quota: 1, ExpiresAt: &past}, subscription.ErrInvalid, "not in the future"},
		"after the end":  {subscription.Sublicense{Name: "Late", Quota: 1, ExpiresAt: &late}, subscription.ErrInvalid, "after the subscription's end"},
		"no name":        {subscription.Sublicense{Quota: 1}, subscription.ErrInvalid, "name"},
	} {
		if _, err := s.CreateSublicense(key("k-2"), c.req, "ada", t0); !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.phrase) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// KEY-5: the quota may grow by the free seats, not below what is used.
	if _, err := s.ChangeSublicense("k-1", 11, 0, nil, "ada", t0); !errors.Is(err, subscription.ErrQuota) || !strings.Contains(err.Error(), "11 requested, 10 free") {
		t.Fatalf("grow beyond free: %v", err)
	}
	if _, err := s.ChangeSublicense("k-1", 2, 3, nil, "ada", t0); !errors.Is(err, subscription.ErrQuota) {
		t.Fatalf("shrink below used: %v", err)
	}
	evs, err = s.ChangeSublicense("k-1", 10, 0, nil, "ada", t0)
	if err != nil {
		t.Fatal(err)
	}
	s = s.Clone().Evolve(evs[0])
	if s.PrimaryKey().Quota != 0 {
		t.Fatalf("primary keeps %d after a sublicense took all 10", s.PrimaryKey().Quota)
	}
	if evs, err := s.RenameSublicense("k-1", "Lab 2", "ada"); err != nil || len(evs) != 1 {
		t.Fatalf("rename: %v, %v", evs, err)
	}
	if _, err := s.DeleteSublicense(s.PrimaryKey().ID, "ada"); !errors.Is(err, subscription.ErrNoKey) {
		t.Fatalf("deleting the primary: %v", err)
	}
	evs, _ = s.DeleteSublicense("k-1", "ada")
	s = s.Clone().Evolve(evs[0])
	if s.PrimaryKey().Quota != 10 || len(s.Keys()) != 1 {
		t.Fatalf("after deleting: primary %d, %d keys", s.PrimaryKey().Quota, len(s.Keys()))
	}
}

// Rule MEM-6: admins grant and revoke management of one key.
func TestKeyAdministrators_MEM6(t *testing.T) {
	t.Parallel()
	s := given(registered(t)...)
	pk := s.PrimaryKey().ID
	evs, err := s.GrantAdministrator(pk, "bob", "ada")
	if err != nil {
		t.Fatal(err)
	}
	s = s.Clone().Evolve(evs[0])
	if !s.PrimaryKey().Administrators["bob"] {
		t.Fatal("bob does not administer the key")
	}
	if _, err := s.GrantAdministrator(pk, "bob", "ada"); !errors.Is(err, subscription.ErrNoChange) {
		t.Fatalf("grant twice: %v", err)
	}
	evs, _ = s.RevokeAdministrator(pk, "bob", "ada")
	if s = s.Clone().Evolve(evs[0]); s.PrimaryKey().Administrators["bob"] {
		t.Fatal("revoked, still an administrator")
	}
}

func TestEvents_round_trip_through_the_registry(t *testing.T) {
	t.Parallel()
	reg := event.NewRegistry()
	subscription.Register(reg)
	p := purchased(t, order)
	data, v, err := reg.Encode(subscription.TypePurchased, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Decode(event.Record{Type: subscription.TypePurchased, SchemaVersion: v, Data: data})
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip = %#v, %v", got, err)
	}
}
