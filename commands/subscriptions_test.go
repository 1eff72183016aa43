package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

var backOffice = commands.Meta{Actor: event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}, CorrelationID: "corr-bo"}

var yearly = subscription.Order{ID: "ord-1", ProductID: "ras", Seats: 10, Period: subscription.Year,
	Channel: subscription.Online, SupportPlan: subscription.Standard}

// productRAS is the product "ras" (concurrent users, major version 19).
var productRAS = product.Defined{ProductID: "ras", Name: "Remote Application Server",
	Model: product.ConcurrentUsers, Trial: product.Trial{Days: 30, Seats: 5}, MajorVersion: 19}

// catalog defines productRAS.
func catalog(t *testing.T, h *commands.Set) {
	t.Helper()
	must(t)(h.Orders.DefineProduct(context.Background(), backOffice, productRAS))
}

func isConflict(err error) bool { return errors.Is(err, event.ErrConflict) }

// registeredSubscription buys o and registers it to a new account acc
// whose admin is "ada"; it returns the subscription's ID and key.
func registeredSubscription(t *testing.T, h *commands.Set, o subscription.Order, acc string) (string, string) {
	t.Helper()
	ctx := context.Background()
	catalog(t, h)
	p, err := h.Orders.Purchase(ctx, backOffice, o)
	if err != nil {
		t.Fatal(err)
	}
	must(t)(h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: acc, Company: acme}))
	if _, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: p.Key, AccountID: acc}); err != nil {
		t.Fatal(err)
	}
	return p.SubscriptionID, p.Key
}

// Rules SUB-4, KEY-1: an order is applied once: the same order again
// returns the same subscription and primary key and appends nothing; the
// same order ID with other contents, an unknown product and a caller that
// is not the back office are refused.
func TestPurchase_is_idempotent_by_order_ID_SUB4_KEY1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		catalog(t, h)
		first, err := h.Orders.Purchase(ctx, backOffice, yearly)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.Orders.Purchase(ctx, backOffice, yearly)
		if err != nil {
			t.Fatal(err)
		}
		if again.SubscriptionID != first.SubscriptionID || again.Key != first.Key || again.LastVersion != first.LastVersion {
			t.Fatalf("retry answered %+v, first %+v", again, first)
		}
		if _, err := subscription.ParseKey(first.Key); err != nil {
			t.Fatalf("primary key %q: %v", first.Key, err)
		}
		other := yearly
		other.Seats = 12
		if _, err := h.Orders.Purchase(ctx, backOffice, other); !errors.Is(err, subscription.ErrOrderMismatch) {
			t.Errorf("reused order ID: %v", err)
		}
		unknown := yearly
		unknown.ID, unknown.ProductID = "ord-2", "nope"
		if _, err := h.Orders.Purchase(ctx, backOffice, unknown); !errors.Is(err, subscription.ErrInvalidOrder) {
			t.Errorf("unknown product: %v", err)
		}
		if _, err := h.Orders.Purchase(ctx, as("ada"), subscription.Order{ID: "ord-3", ProductID: "ras"}); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a person purchasing: %v", err)
		}
		s, err := h.Subscriptions.Subscription(ctx, first.SubscriptionID)
		if err != nil || s.Version() != 1 || s.Seats() != 10 {
			t.Fatalf("subscription version %d seats %d: %v", s.Version(), s.Seats(), err)
		}
		// SUB-4: seats and renewals are idempotent by their order IDs too.
		for range 2 {
			must(t)(h.Orders.AddSeats(ctx, backOffice, first.SubscriptionID, "ord-seats", 5))
		}
		if s, _ := h.Subscriptions.Subscription(ctx, first.SubscriptionID); s.Seats() != 15 || s.PrimaryKey().Quota != 15 {
			t.Errorf("after adding 5 seats twice by one order: %d seats", s.Seats())
		}
	})
}

// Rules KEY-2, KEY-9, SUB-7: a typed key is checked before any lookup,
// registering with company details creates the business account, and a
// key registered to one account cannot be registered to another.
func TestRegisterKey_KEY2_KEY9_SUB7(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, _ eventstore.Store) {
		ctx := context.Background()
		catalog(t, h)
		p, err := h.Orders.Purchase(ctx, backOffice, yearly)
		if err != nil {
			t.Fatal(err)
		}
		typo := []byte(p.Key)
		typo[3] = map[bool]byte{true: 'A', false: 'B'}[typo[3] != 'A']
		if _, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: string(typo), Company: &acme}); !errors.Is(err, subscription.ErrKeyFormat) {
			t.Errorf("a typo: %v", err)
		}
		unknown, _, _ := keys.Issue()
		if _, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: unknown, Company: &acme}); !errors.Is(err, commands.ErrUnknownKey) {
			t.Errorf("a key never issued: %v", err)
		}
		if s, _ := h.Subscriptions.Subscription(ctx, p.SubscriptionID); s.AccountID() != "" {
			t.Fatal("registered before registering")
		}
		reg, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: " " + p.Key + " ", Company: &acme})
		if err != nil {
			t.Fatal(err)
		}
		if !reg.AccountCreated || reg.SubscriptionID != p.SubscriptionID {
			t.Fatalf("registered %+v", reg)
		}
		a, _ := h.Accounts.Account(ctx, reg.AccountID)
		if m, ok := a.Member("ada"); !ok || m.Role != account.RoleAdmin || a.Company().Name != acme.Name {
			t.Fatalf("account %+v", a)
		}
		if _, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: p.Key, AccountID: reg.AccountID}); err != nil {
			t.Errorf("registering again to the same account: %v", err)
		}
		must(t)(h.Accounts.CreateBusinessAccount(ctx, as("bob"), commands.CreateBusinessAccount{AccountID: "acc-bob", Company: acme}))
		var yours *commands.KeyAlreadyYoursError
		if _, err := h.Subscriptions.RegisterKey(ctx, as("bob"), commands.RegisterKey{Key: p.Key, AccountID: "acc-bob"}); !errors.Is(err, subscription.ErrRegistered) || errors.As(err, &yours) {
			t.Errorf("registered to a stranger's account: %v", err)
		}
		if _, err := h.Subscriptions.RegisterKey(ctx, as("bob"), commands.RegisterKey{Key: p.Key, Company: &acme}); !errors.Is(err, subscription.ErrRegistered) || errors.As(err, &yours) {
			t.Errorf("registered to a stranger's account, with company details: %v", err)
		}
		// Ada's own account is named, whichever account she asks for
		// (her personal account's first step asks for none).
		must(t)(h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: "acc-ada-2", Company: acme}))
		for _, to := range []string{"", "acc-ada-2"} {
			_, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: p.Key, AccountID: to})
			if !errors.As(err, &yours) || !errors.Is(err, subscription.ErrRegistered) ||
				*yours != (commands.KeyAlreadyYoursError{AccountID: reg.AccountID, CompanyName: acme.Name, SubscriptionID: p.SubscriptionID}) {
				t.Errorf("ada's own key, asked for %q: %v", to, err)
			}
		}
		if _, err := h.Subscriptions.RegisterKey(ctx, as("bob"), commands.RegisterKey{Key: p.Key, AccountID: reg.AccountID}); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("registering to an account one is not an admin of: %v", err)
		}
	})
}

// Rule KEY-4: at least 200 concurrent sublicense creations on a 10-seat
// subscription never reserve more than its 10 seats, on every engine;
// each refusal is "not enough free seats" or a lost race, never a
// partial write.
func TestCreateSublicense_concurrently_never_allocates_more_than_the_seats_KEY4(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, _ eventstore.Store) {
		ctx := context.Background()
		sub, _ := registeredSubscription(t, h, yearly, "acc-1")
		const requests = 200
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			created  []string
			refusals = map[string]int{}
		)
		for range requests {
			wg.Go(func() {
				res, err := h.Subscriptions.CreateSublicense(ctx, as("ada"), sub, subscription.Sublicense{Name: "Berlin", Quota: 1})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created = append(created, res.KeyID)
				case errors.Is(err, subscription.ErrQuota):
					refusals["quota"]++
				case errors.Is(err, event.ErrConflict):
					refusals["conflict"]++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		s, err := h.Subscriptions.Subscription(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		reserved := 0
		for _, k := range s.Keys() {
			if k.Type == subscription.Reserved {
				reserved += k.Quota
			}
		}
		t.Logf("%d created, refusals %v", len(created), refusals)
		if reserved > 10 || len(created) > 10 || reserved != len(created) || s.PrimaryKey().Quota != 10-reserved || s.PrimaryKey().Quota < 0 {
			t.Fatalf("%d sublicenses created, %d seats reserved, primary quota %d", len(created), reserved, s.PrimaryKey().Quota)
		}
		if len(created) == 0 {
			t.Fatal("no sublicense was created")
		}
	})
}

// Rules KEY-3..6, KEY-9, MEM-6: an admin creates, changes, renames and
// deletes a sublicense; the numbers name the limit; a license
// administrator of the primary key manages sublicenses and sees keys in
// full, a plain member does neither.
func TestSublicenses_and_license_administrators_KEY3_KEY5_KEY6_KEY9_MEM6(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		sub, primaryKey := registeredSubscription(t, h, yearly, "acc-1")
		s, _ := h.Subscriptions.Subscription(ctx, sub)
		primary := s.PrimaryKey().ID
		created, err := h.Subscriptions.CreateSublicense(ctx, as("ada"), sub, subscription.Sublicense{Name: "Berlin", Quota: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Subscriptions.CreateSublicense(ctx, as("ada"), sub, subscription.Sublicense{Name: "Paris", Quota: 12}); err == nil || err.Error() != "subscription: not enough free seats: 12 requested, 7 free" {
			t.Errorf("over quota: %v", err)
		}
		if got, err := h.Subscriptions.RevealKey(ctx, as("ada").Actor, sub, created.KeyID); err != nil || got != created.Key {
			t.Errorf("revealed %q, %v; want %q", got, err, created.Key)
		}
		if got, err := h.Subscriptions.RevealKey(ctx, as("ada").Actor, sub, primary); err != nil || got != primaryKey {
			t.Errorf("revealed primary %q, %v", got, err)
		}
		// The sublicense's own key finds its subscription.
		if found, keyID, err := h.Subscriptions.LookUpKey(ctx, created.Key); err != nil || found.ID() != sub || keyID != created.KeyID {
			t.Errorf("looked up %s %s: %v", found.ID(), keyID, err)
		}
		name, quota := "Berlin office", 5
		must(t)(h.Subscriptions.ChangeSublicense(ctx, as("ada"), sub, created.KeyID, commands.ChangeSublicense{Name: &name, Quota: &quota}))
		if s, _ := h.Subscriptions.Subscription(ctx, sub); s.PrimaryKey().Quota != 5 {
			t.Errorf("primary quota %d after the change, want 5", s.PrimaryKey().Quota)
		}
		late := s.End().Add(24 * time.Hour)
		if _, err := h.Subscriptions.ChangeSublicense(ctx, as("ada"), sub, created.KeyID, commands.ChangeSublicense{ExpiresAt: &late}); !errors.Is(err, subscription.ErrInvalid) {
			t.Errorf("expiry after the subscription's end: %v", err)
		}

		// MEM-6: carl, a plain member, may not; as administrator of the
		// primary key he may manage sublicenses.
		joinMember(t, h, store, "acc-1", "carl")
		if _, err := h.Subscriptions.RevealKey(ctx, as("carl").Actor, sub, created.KeyID); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a plain member sees a key: %v", err)
		}
		if _, err := h.Subscriptions.SetKeyAdministrator(ctx, as("ada"), sub, primary, "stranger", true); !errors.Is(err, account.ErrNotMember) {
			t.Errorf("granting a stranger: %v", err)
		}
		if _, err := h.Subscriptions.SetKeyAdministrator(ctx, as("carl"), sub, primary, "carl", true); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a member granting himself: %v", err)
		}
		must(t)(h.Subscriptions.SetKeyAdministrator(ctx, as("ada"), sub, primary, "carl", true))
		second, err := h.Subscriptions.CreateSublicense(ctx, as("carl"), sub, subscription.Sublicense{Name: "Lyon", Quota: 2})
		if err != nil {
			t.Fatalf("a license administrator creating a sublicense: %v", err)
		}
		if _, err := h.Subscriptions.RevealKey(ctx, as("carl").Actor, sub, created.KeyID); err != nil {
			t.Errorf("a license administrator of the primary key revealing a sublicense: %v", err)
		}
		if _, err := h.Subscriptions.RenameSubscription(ctx, as("carl"), sub, "Ours"); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a license administrator renaming the subscription: %v", err)
		}
		must(t)(h.Subscriptions.SetKeyAdministrator(ctx, as("ada"), sub, primary, "carl", false))
		if _, err := h.Subscriptions.DeleteSublicense(ctx, as("carl"), sub, second.KeyID); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("deleting after the grant was revoked: %v", err)
		}
		// KEY-6: deleting returns the seats to the primary; the key no
		// longer looks anything up.
		must(t)(h.Subscriptions.DeleteSublicense(ctx, as("ada"), sub, created.KeyID))
		if s, _ := h.Subscriptions.Subscription(ctx, sub); s.PrimaryKey().Quota != 8 {
			t.Errorf("primary quota %d after deleting 5 seats' sublicense, want 8", s.PrimaryKey().Quota)
		}
		if _, _, err := h.Subscriptions.LookUpKey(ctx, created.Key); !errors.Is(err, commands.ErrUnknownKey) {
			t.Errorf("a deleted sublicense's key: %v", err)
		}
	})
}

// Rules SUB-2, SUB-6: the lifecycle's use cases, as its timers run them:
// grace at the end date, active again on renewal in grace, expired after
// 30 days of grace; a reminder planned for an end that moved records
// nothing; a renewal request only while auto-renewal is on.
func TestLifecycle_SUB2_SUB6(t *testing.T) {
	forEachEngineClock(t, func(t *testing.T, h *commands.Set, _ eventstore.Store, clk *clock.Simulated) {
		ctx := context.Background()
		sub, _ := registeredSubscription(t, h, yearly, "acc-1")
		s, _ := h.Subscriptions.Subscription(ctx, sub)
		end := s.End()
		process := commands.Meta{Actor: event.Actor{Kind: event.ActorProcess, ID: "lifecycle"}, IdempotencyKey: "renew/1"}
		must(t)(h.Subscriptions.RequestRenewal(ctx, process, sub, end))
		must(t)(h.Subscriptions.RequestRenewal(ctx, process, sub, end)) // the timer fired twice
		must(t)(h.Subscriptions.RemindExpiry(ctx, commands.Meta{Actor: process.Actor, IdempotencyKey: "remind/1"}, sub, "", end, 30))
		if s, _ = h.Subscriptions.Subscription(ctx, sub); s.Version() != 4 {
			t.Fatalf("version %d after a renewal request and a reminder, want 4", s.Version())
		}
		clk.Set(end)
		must(t)(h.Subscriptions.LapseSubscription(ctx, commands.Meta{Actor: process.Actor}, sub))
		if s, _ = h.Subscriptions.Subscription(ctx, sub); s.Status() != subscription.InGrace {
			t.Fatalf("status %s at the end date", s.Status())
		}
		clk.Set(end.Add(10 * 24 * time.Hour))
		must(t)(h.Orders.Renew(ctx, backOffice, sub, "ord-renew", subscription.Year))
		if s, _ = h.Subscriptions.Subscription(ctx, sub); s.Status() != subscription.Active || !s.End().Equal(end.AddDate(1, 0, 0)) {
			t.Fatalf("after renewal in grace: %s until %s", s.Status(), s.End())
		}
		// The old end's reminder is stale now.
		before := s.Version()
		must(t)(h.Subscriptions.RemindExpiry(ctx, commands.Meta{Actor: process.Actor}, sub, "", end, 3))
		if s, _ = h.Subscriptions.Subscription(ctx, sub); s.Version() != before {
			t.Error("a stale reminder was recorded")
		}
		must(t)(h.Subscriptions.SetAutoRenew(ctx, as("ada"), sub, false))
		must(t)(h.Subscriptions.RequestRenewal(ctx, commands.Meta{Actor: process.Actor, IdempotencyKey: "renew/2"}, sub, s.End()))
		clk.Set(s.End().Add(subscription.GracePeriod))
		must(t)(h.Subscriptions.LapseSubscription(ctx, commands.Meta{Actor: process.Actor}, sub))
		if s, _ = h.Subscriptions.Subscription(ctx, sub); s.Status() != subscription.Ended || s.Version() != before+3 {
			t.Fatalf("status %s version %d, want expired at %d (auto-renew off, grace, expiry)", s.Status(), s.Version(), before+3)
		}
	})
}

// Rule SUB-9: a permanent license runs its major version for ever and
// later ones while its upgrade insurance lasts; a subscription's keys run
// every version until it expires.
func TestEligibility_SUB9(t *testing.T) {
	forEachEngineClock(t, func(t *testing.T, h *commands.Set, _ eventstore.Store, clk *clock.Simulated) {
		ctx := context.Background()
		perm := subscription.Order{ID: "ord-perm", ProductID: "ras", Seats: 5, Period: subscription.Permanent,
			Channel: subscription.Reseller, SupportPlan: subscription.Premium, Insurance: subscription.Year}
		sub, key := registeredSubscription(t, h, perm, "acc-1")
		check := func(version string, want bool) {
			t.Helper()
			got, err := h.Subscriptions.Eligibility(ctx, as("ada").Actor, key, version)
			if err != nil || got.Eligible != want {
				t.Errorf("version %s: %+v, %v; want eligible=%v", version, got, err, want)
			}
		}
		check("19.4", true)
		check("20.0", true) // insured
		clk.Advance(366 * 24 * time.Hour)
		check("19.9.1", true)
		check("20", false) // insurance ended
		must(t)(h.Orders.Renew(ctx, backOffice, sub, "ord-insurance", subscription.Years2))
		check("21.0", true)
		if _, err := h.Subscriptions.Eligibility(ctx, as("ada").Actor, key, "next"); !errors.Is(err, subscription.ErrInvalid) {
			t.Errorf("a version without a number: %v", err)
		}
		if _, err := h.Subscriptions.Eligibility(ctx, as("stranger").Actor, key, "19"); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a stranger asking: %v", err)
		}
	})
}

// joinMember makes person a plain member of acc through an appended
// MemberJoined event (joining by invitation is its own use case).
func joinMember(t *testing.T, h *commands.Set, store eventstore.Store, acc, person string) {
	t.Helper()
	a, err := h.Accounts.Account(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), account.StreamID(acc), event.Exact(a.Version()), event.Proposed{
		Type: account.TypeMemberJoined, SchemaVersion: 1, Data: []byte(`{"person_id":"` + person + `"}`),
		Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}); err != nil {
		t.Fatal(err)
	}
}
