package subscription_test

import (
	"errors"
	"testing"
	"time"

	"seatledger/domain/subscription"
)

var permanent = subscription.Order{ID: "ord-p", ProductID: "prod-1", Seats: 5, Period: subscription.Permanent,
	Channel: subscription.Reseller, SupportPlan: subscription.Premium, Insurance: subscription.Year, LicensedMajor: 19}

// Rule SUB-9: a permanent license never ends, does not auto-renew, and a
// renewal extends its upgrade insurance, from its end or from now.
func TestPermanentLicense_SUB9(t *testing.T) {
	t.Parallel()
	p := purchased(t, permanent)
	if !p.End.IsZero() || p.AutoRenew || p.InsuranceEnd == nil || !p.InsuranceEnd.Equal(t0.AddDate(1, 0, 0)) || p.LicensedMajor != 19 {
		t.Fatalf("purchased %+v", p)
	}
	s := given(p, subscription.Registered{AccountID: "acc-1"})
	if evs, _ := s.Lapse(t0.AddDate(5, 0, 0)); len(evs) != 0 {
		t.Errorf("a permanent license lapsed: %v", evs)
	}
	if _, err := s.SetAutoRenew(true, "ada"); !errors.Is(err, subscription.ErrPermanent) {
		t.Errorf("auto-renewing a permanent license: %v", err)
	}
	late := t0.AddDate(3, 0, 0)
	evs, err := s.Renew("ord-ins", subscription.Years2, late)
	if err != nil {
		t.Fatal(err)
	}
	if r := evs[0].(subscription.Renewed); r.InsuranceEnd == nil || !r.InsuranceEnd.Equal(late.AddDate(2, 0, 0)) {
		t.Errorf("insurance renewed after it lapsed: %+v", r)
	}
	if _, err := s.Renew("ord-m", subscription.Month, late); !errors.Is(err, subscription.ErrInvalidOrder) {
		t.Errorf("a month of insurance: %v", err)
	}
	bad := permanent
	bad.Insurance = subscription.Month
	if _, err := (subscription.Subscription{}).Purchase("s", bad, true, primary, t0); !errors.Is(err, subscription.ErrInvalidOrder) {
		t.Errorf("a month of insurance at purchase: %v", err)
	}
	dated := order
	dated.Insurance = subscription.Year
	if _, err := (subscription.Subscription{}).Purchase("s", dated, true, primary, t0); !errors.Is(err, subscription.ErrInvalidOrder) {
		t.Errorf("insurance with a subscription: %v", err)
	}
}

// Rule SUB-9: eligibility for a major version, by key.
func TestEligible_SUB9(t *testing.T) {
	t.Parallel()
	perm := given(purchased(t, permanent), subscription.Registered{AccountID: "acc-1"})
	sub := given(registered(t)...)
	unregistered := given(purchased(t, order))
	for _, c := range []struct {
		name  string
		s     subscription.Subscription
		major int
		at    time.Time
		want  bool
	}{
		{"permanent, its version, uninsured later", perm, 19, t0.AddDate(4, 0, 0), true},
		{"permanent, next version, insured", perm, 20, t0.AddDate(0, 6, 0), true},
		{"permanent, next version, insurance over", perm, 20, t0.AddDate(1, 0, 1), false},
		{"subscription, active", sub, 99, t0.AddDate(0, 6, 0), true},
		{"subscription, in grace", sub, 99, t0.AddDate(1, 0, 10), true},
		{"subscription, expired", sub, 99, t0.AddDate(1, 2, 0), false},
		{"unregistered (SUB-7)", unregistered, 1, t0, false},
	} {
		got, err := c.s.Eligible(c.s.PrimaryKey().ID, c.major, c.at)
		if err != nil || got.Eligible != c.want || got.Reason == "" {
			t.Errorf("%s: %+v %v, want eligible=%v", c.name, got, err, c.want)
		}
	}
	if _, err := sub.Eligible("nope", 1, t0); !errors.Is(err, subscription.ErrNoKey) {
		t.Errorf("unknown key: %v", err)
	}
	for v, want := range map[string]int{"19": 19, "19.2": 19, " 7.0.1 ": 7} {
		if got, err := subscription.MajorOf(v); err != nil || got != want {
			t.Errorf("MajorOf(%q) = %d, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "v19", "-1", "+1", ".2"} {
		if _, err := subscription.MajorOf(v); !errors.Is(err, subscription.ErrInvalid) {
			t.Errorf("MajorOf(%q): %v", v, err)
		}
	}
}

// Rules SUB-2, SUB-6: reminders and renewal requests are recorded only
// while the end they were planned for still holds.
func TestRemindersAndRenewalRequests_SUB2_SUB6(t *testing.T) {
	t.Parallel()
	s := given(registered(t)...)
	end := s.End()
	if evs, _ := s.RemindExpiry("", end, 30); len(evs) != 1 || evs[0].(subscription.ExpiryReminded).DaysLeft != 30 {
		t.Errorf("reminder: %v", evs)
	}
	if evs, _ := s.RemindExpiry("", end.Add(-time.Hour), 30); len(evs) != 0 {
		t.Errorf("a reminder for a moved end: %v", evs)
	}
	if evs, _ := s.RequestRenewal("r1", end); len(evs) != 1 || evs[0].(subscription.RenewalRequested).Seats != 10 {
		t.Errorf("renewal request: %v", evs)
	}
	off := s.Evolve(subscription.AutoRenewSet{On: false})
	if evs, _ := off.RequestRenewal("r2", end); len(evs) != 0 {
		t.Errorf("a renewal request with auto-renew off: %v", evs)
	}
	if evs, _ := given(purchased(t, order)).RemindExpiry("", end, 3); len(evs) != 0 {
		t.Errorf("a reminder for an unregistered subscription: %v", evs)
	}
	expiry := t0.AddDate(0, 6, 0)
	withKey := s.Evolve(subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k2", Lookup: []byte{1}, Sealed: []byte{1}}, Name: "Lyon", Quota: 2, ExpiresAt: &expiry})
	if evs, _ := withKey.RemindExpiry("k2", expiry, 3); len(evs) != 1 || evs[0].(subscription.ExpiryReminded).KeyName != "Lyon" {
		t.Errorf("a sublicense's reminder: %v", evs)
	}
	if st := s.StatusAt(end.Add(time.Hour)); st != subscription.InGrace {
		t.Errorf("status after the end before the timer: %s", st)
	}
}

// Rule KEY-3: a sublicense past its custom expiration date lapses like a
// subscription (SUB-6): 30 days of grace, during which its key still
// works, then it expires — its key stops working and its seats return to
// the primary key. A timer planned for an expiry that moved, or for a
// deleted key, records nothing.
func TestLapseSublicense_grace_then_expiry_KEY3_KEY4(t *testing.T) {
	t.Parallel()
	expiry := t0.AddDate(0, 2, 2)
	s := given(append(registered(t),
		subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k2", Lookup: []byte{1}, Sealed: []byte{1}, Hint: "QX9P"},
			Name: "Lyon", Quota: 4, ExpiresAt: &expiry})...)
	if s.PrimaryKey().Quota != 6 {
		t.Fatalf("KEY-4 primary quota %d, want 6", s.PrimaryKey().Quota)
	}
	k, _ := s.Key("k2")
	for _, c := range []struct {
		at   time.Time
		want subscription.KeyStatus
	}{{expiry.Add(-time.Second), subscription.KeyActive}, {expiry, subscription.KeyInGrace},
		{expiry.Add(subscription.GracePeriod - time.Second), subscription.KeyInGrace}, {expiry.Add(subscription.GracePeriod), subscription.KeyExpired}} {
		if got := k.StatusAt(c.at); got != c.want {
			t.Errorf("KEY-3 status at %v: %s, want %s", c.at, got, c.want)
		}
	}
	if evs, err := s.LapseSublicense("k2", expiry, expiry.Add(-time.Minute)); err != nil || len(evs) != 0 {
		t.Errorf("KEY-3 before the expiry: %#v %v", evs, err)
	}
	evs, err := s.LapseSublicense("k2", expiry, expiry)
	grace := subscription.SublicenseGraceStarted{KeyID: "k2", KeyName: "Lyon", ExpiresAt: expiry}
	if err != nil || len(evs) != 1 || evs[0] != grace {
		t.Fatalf("KEY-3 at the expiry: %#v %v", evs, err)
	}
	inGrace := s.Clone().Evolve(grace) // Evolve writes into the maps it shares
	// During the grace the key works: eligible, and still counted (KEY-4).
	if e, _ := inGrace.Eligible("k2", 19, expiry.AddDate(0, 0, 5)); !e.Eligible || inGrace.PrimaryKey().Quota != 6 {
		t.Errorf("KEY-3 in grace: %+v, primary %d", e, inGrace.PrimaryKey().Quota)
	}
	if evs, _ := inGrace.LapseSublicense("k2", expiry, expiry.Add(time.Hour)); len(evs) != 0 {
		t.Errorf("KEY-3 the grace again: %#v", evs)
	}
	end := expiry.Add(subscription.GracePeriod)
	evs, err = inGrace.LapseSublicense("k2", expiry, end)
	gone := subscription.SublicenseExpired{KeyID: "k2", KeyName: "Lyon", ExpiresAt: expiry, Quota: 4}
	if err != nil || len(evs) != 1 || evs[0] != gone {
		t.Fatalf("KEY-3 at the grace's end: %#v %v", evs, err)
	}
	expired := inGrace.Clone().Evolve(gone)
	k, _ = expired.Key("k2")
	if k.Quota != 0 || k.StatusAt(end) != subscription.KeyExpired || expired.PrimaryKey().Quota != 10 {
		t.Errorf("KEY-3, KEY-4 expired: key %+v, primary quota %d, want its 4 seats back on the primary's 10", k, expired.PrimaryKey().Quota)
	}
	if e, _ := expired.Eligible("k2", 19, end); e.Eligible {
		t.Errorf("KEY-3 an expired sublicense is eligible: %+v", e)
	}
	later := end.AddDate(0, 1, 0)
	if _, err := expired.ChangeSublicense("k2", 2, 0, &later, "ada", end); !errors.Is(err, subscription.ErrExpired) {
		t.Errorf("KEY-3 changing an expired sublicense: %v", err)
	}
	if evs, _ := expired.RemindExpiry("k2", expiry, 3); len(evs) != 0 {
		t.Errorf("KEY-3 a reminder of an expired sublicense: %#v", evs)
	}
	// Both at once, when the timer of the grace's start fires that late.
	if evs, _ := s.LapseSublicense("k2", expiry, end); len(evs) != 2 {
		t.Errorf("KEY-3 a late timer records the grace and the expiry: %#v", evs)
	}
	// A new expiry during the grace ends it, with no interruption; the
	// timer of the old expiry records nothing.
	moved := t0.AddDate(0, 5, 0)
	renewed := inGrace.Clone().Evolve(subscription.SublicenseChanged{KeyID: "k2", Quota: 4, ExpiresAt: &moved})
	if k, _ := renewed.Key("k2"); k.StatusAt(expiry.AddDate(0, 0, 1)) != subscription.KeyActive {
		t.Errorf("KEY-3 a changed expiry during the grace: %s", k.StatusAt(expiry.AddDate(0, 0, 1)))
	}
	if evs, _ := renewed.LapseSublicense("k2", expiry, end); len(evs) != 0 {
		t.Errorf("KEY-3 a timer of a moved expiry: %#v", evs)
	}
	if evs, _ := s.Clone().Evolve(subscription.SublicenseDeleted{KeyID: "k2"}).LapseSublicense("k2", expiry, end); len(evs) != 0 {
		t.Errorf("KEY-3 a timer of a deleted sublicense: %#v", evs)
	}
}
