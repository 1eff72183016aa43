package commands_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/offlinefile"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/domain/usage"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/offline"
	"seatledger/infra/passwords"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// instEnv is the write side, which signs offline answers, on an empty
// store of one engine, with the simulated clock they share.
type instEnv struct {
	h      *commands.Set
	store  eventstore.Store
	clk    *clock.Simulated
	signer *offline.Signer
}

func forEachEngineInst(t *testing.T, fn func(t *testing.T, e *instEnv)) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		db := sqldbtest.Open(t, target)
		clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		store, err := storage.OpenStore(context.Background(), db, storage.Options{Database: target, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer := offline.NewSigner(priv)
		h := newSet(t, commands.Config{Store: store, Registry: registry(), Clock: clk,
			Passwords: passwords.Policy{Hasher: hasher}, Tokens: linkKey, Keys: keys, OfflineSigner: signer})
		fn(t, &instEnv{h: h, store: store, clk: clk, signer: signer})
	})
}

var installer = commands.Meta{Actor: event.Actor{Kind: event.ActorInstallation, ID: "installation"}, CorrelationID: "corr-inst"}

func farm(serverID string) installation.Identity {
	return installation.Identity{Kind: installation.Farm, ServerID: serverID, FarmName: "Farm " + serverID, AppVersion: "19.2"}
}

func (e *instEnv) activate(t *testing.T, key string, id installation.Identity) commands.Activation {
	t.Helper()
	a, err := e.h.Installations.Activate(context.Background(), installer, commands.Activate{Key: key, Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *instEnv) report(t *testing.T, cred string, seats int) commands.UsageRecorded {
	t.Helper()
	ctx := context.Background()
	i, err := e.h.Installations.Authenticate(ctx, cred)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Seats: seats, ObservedAt: e.clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Rules ACT-1, ACT-4, KEY-8: an online activation answers the license and
// a credential; the same installation activating again gets the same
// credential and takes no change; the credential authenticates, a forged
// one does not.
func TestActivate_online_ACT1_ACT4_KEY8(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		a := e.activate(t, key, farm("srv-1"))
		if a.License.Seats != 10 || a.License.Remaining != 10 || a.License.End.IsZero() || !strings.HasPrefix(a.Credential, "sli_") {
			t.Fatalf("activation answered %+v", a)
		}
		again := e.activate(t, key, farm("srv-1"))
		if again.Credential != a.Credential || again.LastVersion != a.LastVersion {
			t.Fatalf("a repeated activation changed the credential or appended: %+v", again)
		}
		i, err := e.h.Installations.Authenticate(ctx, a.Credential)
		if err != nil || i.ID() != a.Installation.ID() {
			t.Fatalf("authenticate: %v", err)
		}
		for _, bad := range []string{"", "sli_", a.Credential + "x", strings.Replace(a.Credential, ".1.", ".2.", 1), "sli_" + strings.Repeat("0", 36) + ".1.abc"} {
			if _, err := e.h.Installations.Authenticate(ctx, bad); !errors.Is(err, commands.ErrCredential) {
				t.Errorf("credential %q: %v", bad, err)
			}
		}
		// SUB-7: an unregistered key activates nothing.
		p, err := e.h.Orders.Purchase(ctx, backOffice, subscription.Order{ID: "ord-unreg", ProductID: "ras", Seats: 3, Period: subscription.Year,
			Channel: subscription.Online, SupportPlan: subscription.Standard})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: p.Key, Identity: farm("srv-9")}); !errors.Is(err, subscription.ErrNotRegistered) {
			t.Errorf("unregistered key (SUB-7): %v", err)
		}
		// PROD-1, PROD-4: a proxy server cannot run a concurrent-users key.
		proxy := installation.Identity{Kind: installation.ProxyServer, ServerName: "px", SiteCode: "S1", AppVersion: "2.0"}
		if _, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: proxy}); !errors.Is(err, installation.ErrModel) {
			t.Errorf("model mismatch (PROD-4): %v", err)
		}
	})
}

// Rule KEY-8: installations racing for one key: exactly one wins, the
// others are told the key is in use; the binding is decided on the key's
// stream under its exact version.
func TestActivate_concurrent_installations_one_key_KEY8(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		const racers = 24
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  []string
			lost int
		)
		for n := range racers {
			wg.Go(func() {
				a, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-" + string(rune('a'+n)))})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, a.Installation.ID())
				case errors.Is(err, licensekey.ErrInUse), errors.Is(err, event.ErrConflict):
					lost++
				default:
					t.Errorf("racer %d: %v", n, err)
				}
			})
		}
		wg.Wait()
		if len(won) != 1 || lost != racers-1 {
			t.Fatalf("%d won, %d lost", len(won), lost)
		}
		s, keyID, err := e.h.Subscriptions.LookUpKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := e.store.ReadStream(ctx, licensekey.StreamID(keyID), 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		bound := 0
		for _, r := range recs {
			if r.Type == licensekey.TypeBound {
				bound++
			}
		}
		if bound != 1 || s.ID() == "" {
			t.Fatalf("%d bindings recorded on the key's stream", bound)
		}
	})
}

// Rules KEY-8, ACT-6, ACT-8: after an installation deactivates online the
// key is released at once; three other installations may take it in turn,
// the fourth change is refused naming the changes used; going back to an
// installation the key had is no change.
func TestKey_changes_of_installation_KEY8_ACT6_ACT8(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		first := e.activate(t, key, farm("srv-0"))
		if _, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-x")}); !errors.Is(err, licensekey.ErrInUse) ||
			!strings.Contains(err.Error(), "srv-0") {
			t.Fatalf("a second installation while bound: %v", err)
		}
		prev := first
		for n := 1; n <= 3; n++ {
			i, _ := e.h.Installations.Authenticate(ctx, prev.Credential)
			if err := e.h.Installations.DeactivateSelf(ctx, installer, i); err != nil {
				t.Fatal(err)
			}
			// ACT-8: a deactivated installation cannot report or refresh.
			if _, err := e.h.Installations.Authenticate(ctx, prev.Credential); err != nil {
				t.Fatal(err)
			}
			i, _ = e.h.Installations.Authenticate(ctx, prev.Credential)
			if _, err := e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Seats: 1}); !errors.Is(err, installation.ErrDeactivated) {
				t.Fatalf("report after deactivation: %v", err)
			}
			if _, err := e.h.Installations.License(ctx, installer, i); !errors.Is(err, installation.ErrDeactivated) {
				t.Fatalf("refresh after deactivation: %v", err)
			}
			// The refused report is recorded for the auditors, once an hour.
			if _, err := e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Seats: 2}); !errors.Is(err, installation.ErrDeactivated) {
				t.Fatalf("second report after deactivation: %v", err)
			}
			recs, _ := e.store.ReadStream(ctx, installation.StreamID(i.ID()), 1, 1000)
			if n := countType(recs, installation.TypeReportRefused); n != 1 {
				t.Fatalf("%d refused reports recorded, want 1", n)
			}
			prev = e.activate(t, key, farm("srv-"+string(rune('0'+n))))
		}
		i, _ := e.h.Installations.Authenticate(ctx, prev.Credential)
		if err := e.h.Installations.DeactivateSelf(ctx, installer, i); err != nil {
			t.Fatal(err)
		}
		_, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-new")})
		if !errors.Is(err, licensekey.ErrChangesUsedUp) || !strings.Contains(err.Error(), "3 of 3 changes used") {
			t.Fatalf("a fourth change: %v", err)
		}
		// The last installation the key had may come back: no change.
		back := e.activate(t, key, farm("srv-3"))
		if back.Installation.Generation() != 2 || back.Credential == prev.Credential {
			t.Fatalf("reactivation: generation %d", back.Installation.Generation())
		}
		if _, err := e.h.Installations.Authenticate(ctx, prev.Credential); !errors.Is(err, commands.ErrCredential) {
			t.Errorf("the credential of the earlier activation still works: %v", err)
		}
	})
}

// Rules USE-1, USE-2, USE-3, USE-4, USE-5 through the use cases and the
// timers' commands: a 10-seat farm reaches 12 users → grace; 7 days later
// still 12 → detected, suspended an hour later; users drop to 9 → the
// 20-minute re-validation reactivates it; seats bought → the grace is
// available again.
func TestOveruse_grace_suspension_reactivation_USE3_USE4_USE5(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		sub, key := registeredSubscription(t, e.h, yearly, "acc-1")
		a := e.activate(t, key, farm("srv-1"))
		id := a.Installation.ID()
		proc := commands.Meta{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}
		state := func() installation.Installation {
			i, err := e.h.Installations.Installation(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return i
		}
		e.report(t, a.Credential, 8)
		r := e.report(t, a.Credential, 12)
		if r.Installation.GraceEnds().IsZero() || r.Quota != 10 {
			t.Fatalf("12 of 10 seats: no grace (%+v)", r.Installation)
		}
		graceEnds := r.Installation.GraceEnds()
		// USE-1: an older report is recorded, current usage stays.
		i, _ := e.h.Installations.Authenticate(ctx, a.Credential)
		if _, err := e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Seats: 3, ObservedAt: e.clk.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got := state(); got.Seats() != 12 || got.Peak() != 12 {
			t.Fatalf("an older report moved usage to %d (peak %d)", got.Seats(), got.Peak())
		}
		e.clk.Advance(installation.GracePeriod)
		if err := e.h.Installations.InstallationGraceEnded(ctx, proc, id); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(installation.DeactivationDelay)
		if err := e.h.Installations.InstallationDeactivationDue(ctx, proc, id); err != nil {
			t.Fatal(err)
		}
		if got := state(); got.Status() != installation.SuspendedStatus {
			t.Fatalf("after the grace and an hour over the quota: %s", got.Status())
		}
		e.report(t, a.Credential, 9) // a suspended farm still reports
		e.clk.Advance(installation.RevalidateInterval)
		if err := e.h.Installations.RevalidateInstallation(ctx, proc, id); err != nil {
			t.Fatal(err)
		}
		if got := state(); got.Status() != installation.Active {
			t.Fatalf("9 of 10 after re-validation: %s", got.Status())
		}
		// Over again after the grace: detected, not a new grace.
		r = e.report(t, a.Credential, 11)
		if !r.Installation.GraceEnds().Equal(graceEnds) {
			t.Fatal("the grace started again without seats bought")
		}
		// USE-5: seats bought, the grace is available again.
		must(t)(e.h.Orders.AddSeats(ctx, backOffice, sub, "ord-more", 1))
		r = e.report(t, a.Credential, 13)
		if !r.Installation.GraceEnds().After(graceEnds) {
			t.Fatal("no new grace after seats were bought")
		}
	})
}

// Rule X-6 on the real clock: a timer that ran late — the process was
// down when it fell due — decides at its due time and records it as its
// events' effective time: the grace's end is detected at the end, and
// the suspension is due an hour after that, not after the late run.
func TestTimer_run_late_records_its_due_time_X6_USE4(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		a := e.activate(t, key, farm("srv-1"))
		id := a.Installation.ID()
		graceEnds := e.report(t, a.Credential, 12).Installation.GraceEnds()
		e.clk.Advance(installation.GracePeriod + 5*time.Hour) // the process was down
		timer := commands.Meta{Actor: event.Actor{Kind: event.ActorProcess, ID: "installation-manager"}, IdempotencyKey: "grace-end-1",
			EffectiveAt: graceEnds}
		if err := e.h.Installations.InstallationGraceEnded(ctx, timer, id); err != nil {
			t.Fatal(err)
		}
		evs, err := e.store.ReadStream(ctx, installation.StreamID(id), 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		if last.Type != installation.TypeOveruseDetected || !last.Metadata.EffectiveAt.Equal(graceEnds) || !last.RecordedAt.Equal(e.clk.Now()) {
			t.Fatalf("X-6 the late grace end: %s effective %v recorded %v, want effective at the end %v", last.Type,
				last.Metadata.EffectiveAt, last.RecordedAt, graceEnds)
		}
		if !strings.Contains(string(last.Data), `"deactivate_at":"`+graceEnds.Add(installation.DeactivationDelay).Format(time.RFC3339)) {
			t.Fatalf("USE-4 the suspension is due an hour after the grace's end: %s", last.Data)
		}
		// Its successor, late too, suspends at its own due time.
		timer = commands.Meta{Actor: timer.Actor, IdempotencyKey: "deadline-1", EffectiveAt: graceEnds.Add(installation.DeactivationDelay)}
		if err := e.h.Installations.InstallationDeactivationDue(ctx, timer, id); err != nil {
			t.Fatal(err)
		}
		evs, _ = e.store.ReadStream(ctx, installation.StreamID(id), last.Version+1, 10)
		if len(evs) != 1 || evs[0].Type != installation.TypeSuspended || !evs[0].Effective().Equal(graceEnds.Add(time.Hour)) {
			t.Fatalf("X-6 the late deadline: %+v", evs)
		}
	})
}

// Rules USE-6, USE-7: a proxy server over its limit records it, new
// enrollments are refused, and the hourly check ends the period once
// computers were removed.
func TestOverLimit_managed_computers_USE6_USE7(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		must(t)(e.h.Orders.DefineProduct(ctx, backOffice, product.Defined{ProductID: "mdm", Name: "Device Management", Model: product.ManagedComputers, MajorVersion: 2}))
		_, key := registeredSubscription(t, e.h, subscription.Order{ID: "ord-mdm", ProductID: "mdm", Seats: 5, Period: subscription.Year,
			Channel: subscription.Online, SupportPlan: subscription.Standard}, "acc-1")
		proxy := installation.Identity{Kind: installation.ProxyServer, ServerName: "px-1", SiteCode: "ZRH", SiteDescription: "Zurich", AppVersion: "2.1"}
		a := e.activate(t, key, proxy)
		e.report(t, a.Credential, 5)
		i, _ := e.h.Installations.Authenticate(ctx, a.Credential)
		if _, err := e.h.Installations.Enroll(ctx, installer, i, 1); !errors.Is(err, installation.ErrOverLimit) || !strings.Contains(err.Error(), "5 computers are managed") {
			t.Fatalf("enrolling the 6th of 5: %v", err)
		}
		r := e.report(t, a.Credential, 7)
		if !r.Installation.OverLimit() || r.Installation.Status() != installation.Active {
			t.Fatalf("7 of 5: %+v", r.Installation)
		}
		proc := commands.Meta{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}
		if err := e.h.Installations.AlertOverLimit(ctx, proc, a.Installation.ID()); err != nil {
			t.Fatal(err)
		}
		e.report(t, a.Credential, 4)
		got, _ := e.h.Installations.Installation(ctx, a.Installation.ID())
		if got.OverLimit() {
			t.Fatal("still over the limit with 4 of 5")
		}
		i, _ = e.h.Installations.Authenticate(ctx, a.Credential)
		if _, err := e.h.Installations.Enroll(ctx, installer, i, 1); err != nil {
			t.Fatalf("enrolling the 5th of 5: %v", err)
		}
	})
}

// Rules ACT-7, INST-3, MEM-5, KEY-8: an admin deactivates installations
// in the portal; the key is released at once — a key must be able to
// leave a damaged or stolen server that never calls again — and may
// activate another installation (a change of installation); the old one
// is then deactivated, and refused if it ever calls. One that calls
// before its key moves learns of it then. A member may not deactivate; a
// selection with a foreign installation changes nothing.
func TestDeactivate_from_the_portal_ACT7(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		a := e.activate(t, key, farm("srv-1"))
		if _, err := e.h.Installations.RequestDeactivation(ctx, as("mallory"), "acc-1", []string{a.Installation.ID()}); !errors.Is(err, account.ErrForbidden) && !errors.Is(err, installation.ErrNotFound) {
			t.Fatalf("a stranger: %v", err)
		}
		if _, err := e.h.Installations.RequestDeactivation(ctx, as("ada"), "acc-1", []string{a.Installation.ID(), "00000000-0000-0000-0000-000000000000"}); err == nil {
			t.Fatal("a selection with an unknown installation was accepted")
		}
		// Ada's own installation, named under another of her accounts: not
		// that account's, so refused like a foreign one.
		must(t)(e.h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: "acc-2", Company: acme}))
		if _, err := e.h.Installations.RequestDeactivation(ctx, as("ada"), "acc-2", []string{a.Installation.ID()}); !errors.Is(err, installation.ErrNotFound) {
			t.Fatalf("an installation of acc-1 deactivated as acc-2's: %v", err)
		}
		if got, _ := e.h.Installations.Installation(ctx, a.Installation.ID()); got.Status() != installation.Active {
			t.Fatalf("a refused selection changed the status to %s", got.Status())
		}
		res, err := e.h.Installations.RequestDeactivation(ctx, as("ada"), "acc-1", []string{a.Installation.ID()})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := e.h.Installations.Installation(ctx, a.Installation.ID()); got.Status() != installation.Pending {
			t.Fatalf("ACT-7 after the portal's deactivation: %s, want pending until its next contact", got.Status())
		}
		// A retry releases nothing twice and answers the same.
		if _, err := e.h.Installations.RequestDeactivation(ctx, as("ada"), "acc-1", []string{a.Installation.ID()}); err != nil {
			t.Fatalf("a retried deactivation: %v", err)
		}
		// The farm never calls again: its key activates another at once.
		b, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-2")})
		if err != nil {
			t.Fatalf("ACT-7 the key after a portal deactivation, before any contact: %v", err)
		}
		if res.Position == 0 || b.Position <= res.Position {
			t.Errorf("positions: deactivation %d, activation %d", res.Position, b.Position)
		}
		old, _ := e.h.Installations.Installation(ctx, a.Installation.ID())
		if old.Status() != installation.Inactive {
			t.Fatalf("ACT-7 once its key activates another: %s, want deactivated", old.Status())
		}
		keyEvents, err := e.store.ReadStream(ctx, licensekey.StreamID(b.Installation.KeyID()), 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, rec := range keyEvents {
			kinds = append(kinds, rec.Type)
		}
		last := keyEvents[len(keyEvents)-1]
		if want := "license_key.issued license_key.bound license_key.released license_key.bound"; strings.Join(kinds, " ") != want ||
			!strings.Contains(string(keyEvents[2].Data), `"reason":"portal"`) || !strings.Contains(string(last.Data), `"change":true,"changes":1`) {
			t.Fatalf("KEY-8 the key's stream: %s (%s, %s), want %s, released by the portal, one change", kinds, keyEvents[2].Data, last.Data, want)
		}
		// The stolen farm calls after all: refused.
		i, err := e.h.Installations.Authenticate(ctx, a.Credential)
		if err == nil {
			_, err = e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Seats: 1})
		}
		if !errors.Is(err, installation.ErrDeactivated) {
			t.Fatalf("ACT-8 the old farm's call: %v", err)
		}

		// A farm that calls before its key moves learns of it at that call.
		p2, err := e.h.Orders.Purchase(ctx, backOffice, subscription.Order{ID: "ord-2", ProductID: "ras", Seats: 5, Period: subscription.Year,
			Channel: subscription.Online, SupportPlan: subscription.Standard})
		if err != nil {
			t.Fatal(err)
		}
		key2 := p2.Key
		if _, err := e.h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: key2, AccountID: "acc-1"}); err != nil {
			t.Fatal(err)
		}
		c := e.activate(t, key2, farm("srv-3"))
		if _, err := e.h.Installations.RequestDeactivation(ctx, as("ada"), "acc-1", []string{c.Installation.ID()}); err != nil {
			t.Fatal(err)
		}
		i, _ = e.h.Installations.Authenticate(ctx, c.Credential)
		if _, err := e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Seats: 1}); !errors.Is(err, installation.ErrDeactivated) {
			t.Fatalf("ACT-7 the next contact: %v", err)
		}
		e.activate(t, key2, farm("srv-4"))
	})
}

// Rules KEY-5, KEY-7: a sublicense's quota cannot go below the seats its
// installation uses now.
func TestChangeSublicense_not_below_used_seats_KEY5(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		sub, _ := registeredSubscription(t, e.h, yearly, "acc-1")
		sl, err := e.h.Subscriptions.CreateSublicense(ctx, as("ada"), sub, subscription.Sublicense{Name: "Berlin", Quota: 6})
		if err != nil {
			t.Fatal(err)
		}
		a := e.activate(t, sl.Key, farm("srv-b"))
		e.report(t, a.Credential, 5)
		four := 4
		if _, err := e.h.Subscriptions.ChangeSublicense(ctx, as("ada"), sub, sl.KeyID, commands.ChangeSublicense{Quota: &four}); err == nil {
			t.Fatal("a quota of 4 below the 5 seats in use was accepted")
		}
		five := 5
		must(t)(e.h.Subscriptions.ChangeSublicense(ctx, as("ada"), sub, sl.KeyID, commands.ChangeSublicense{Quota: &five}))
	})
}

// Rules PROD-2, PROD-3: a report of live connections is counted with the
// connection-type table.
func TestReportUsage_connections_PROD2_PROD3(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		a := e.activate(t, key, farm("srv-1"))
		i, _ := e.h.Installations.Authenticate(ctx, a.Credential)
		r, err := e.h.Installations.ReportUsage(ctx, installer, i, commands.UsageReport{Connections: []usage.Connection{
			{User: "ann", Type: usage.PublishedApp, Host: "h1"},
			{User: "ann", Type: usage.RDPApp, Host: "h2"},
			{User: "root", Type: usage.PublishedDesktop, Admin: true, Host: "h1"},
			{User: "bob", Type: usage.RDPDesktop, Host: "h1"},
		}})
		if err != nil || r.Installation.Seats() != 2 {
			t.Fatalf("seats %d: %v", r.Installation.Seats(), err)
		}
	})
}

// Rule X-4: a usage report retried with its idempotency key is recorded once.
func TestReportUsage_retry_is_recorded_once_X4(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		a := e.activate(t, key, farm("srv-1"))
		meta := installer
		meta.IdempotencyKey = "report-1"
		i, _ := e.h.Installations.Authenticate(ctx, a.Credential)
		first, err := e.h.Installations.ReportUsage(ctx, meta, i, commands.UsageReport{Seats: 4, ObservedAt: e.clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.h.Installations.ReportUsage(ctx, meta, i, commands.UsageReport{Seats: 4, ObservedAt: e.clk.Now()})
		if err != nil || again.FirstVersion != first.FirstVersion {
			t.Fatalf("retry: %+v (first %+v): %v", again.AppendResult, first.AppendResult, err)
		}
		recs, _ := e.store.ReadStream(ctx, installation.StreamID(a.Installation.ID()), 1, 100)
		if n := countType(recs, installation.TypeUsageReported); n != 1 {
			t.Fatalf("%d reports recorded", n)
		}
	})
}

func countType(recs []event.Record, typ string) int {
	n := 0
	for _, r := range recs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// Rule SUB-8: a trial without a key, once per server.
func TestTrial_once_per_server_SUB8(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		catalog(t, e.h)
		a, err := e.h.Installations.Activate(ctx, installer, commands.Activate{ProductID: "ras", Identity: farm("srv-t")})
		if err != nil || !a.License.Trial || a.License.Seats != 5 || !a.License.End.Equal(a.License.Start.AddDate(0, 0, 30)) {
			t.Fatalf("trial %+v: %v", a.License, err)
		}
		proc := commands.Meta{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}
		e.clk.Advance(31 * 24 * time.Hour)
		if err := e.h.Installations.DeactivateInstallation(ctx, proc, a.Installation.ID(), installation.TrialEnded); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.Installations.Activate(ctx, installer, commands.Activate{ProductID: "ras", Identity: farm("srv-t")}); !errors.Is(err, installation.ErrTrialUsed) {
			t.Fatalf("a second trial: %v", err)
		}
	})
}

// offlineRequest writes a request file as an installation would.
func offlineRequest(t *testing.T, k offline.Kind, server string, issued time.Time, content any) ([]byte, string) {
	t.Helper()
	body, err := json.Marshal(content)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := offline.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := offline.Encode(offline.File{Kind: k, Issued: issued, Nonce: nonce, Server: server, Content: body})
	if err != nil {
		t.Fatal(err)
	}
	return raw, nonce
}

// Rules ACT-2, ACT-3, ACT-5, ACT-6: offline activation is refused until
// the back office enables it; then an admin's upload of the request
// answers with a signed activation file bound to its nonce and server; a
// replayed request is refused; a refresh after seats were added
// certifies them; an offline deactivation releases the key when it is
// uploaded, not before.
func TestOffline_activation_refresh_deactivation_ACT2_ACT3_ACT5_ACT6(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		sub, key := registeredSubscription(t, e.h, yearly, "acc-1")
		id := offline.Identity{Kind: "farm", ServerID: "srv-off", FarmName: "Offline farm", AppVersion: "19.2"}
		server := installation.Identity{Kind: installation.Farm, ServerID: "srv-off"}.Server()
		req, nonce := offlineRequest(t, offline.ActivationRequest, server, e.clk.Now(), offline.ActivationRequestContent{Key: key, Identity: id})
		if _, err := e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", req); !errors.Is(err, commands.ErrOfflineDisabled) {
			t.Fatalf("offline before the back office enabled it (ACT-3): %v", err)
		}
		if _, err := e.h.Accounts.SetOfflineActivation(ctx, as("ada"), "acc-1", true, "the customer asked"); !errors.Is(err, account.ErrForbidden) {
			t.Fatalf("an admin enabling offline: %v", err)
		}
		must(t)(e.h.Accounts.SetOfflineActivation(ctx, backOffice, "acc-1", true, "air-gapped site (ticket T-1)"))
		ans, err := e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", req)
		if err != nil {
			t.Fatal(err)
		}
		f, err := offline.Verify(ans.File, offline.Activation, e.signer.PublicKey(), e.clk.Now(), offline.DefaultDrift)
		if err != nil || f.Nonce != nonce || f.Server != server {
			t.Fatalf("activation file: %v (nonce %q server %q)", err, f.Nonce, f.Server)
		}
		var act offline.AnswerContent
		if err := offline.DecodeContent(f, &act); err != nil || act.Credential == "" || act.License.Seats != 10 {
			t.Fatalf("activation content %+v: %v", act, err)
		}
		if _, err := e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", req); !errors.Is(err, installation.ErrReplayed) {
			t.Fatalf("a replayed request: %v", err)
		}
		// ACT-5: seats added, an offline refresh certifies them.
		must(t)(e.h.Orders.AddSeats(ctx, backOffice, sub, "ord-more", 5))
		proof := func(k offline.Kind) ([]byte, string) {
			n, _ := offline.NewNonce()
			c, _ := json.Marshal(offline.ProofRequestContent{InstallationID: act.InstallationID, Proof: offlinefile.Proof(act.Credential, k, n, server, act.InstallationID)})
			raw, err := offline.Encode(offline.File{Kind: k, Issued: e.clk.Now(), Nonce: n, Server: server, Content: c})
			if err != nil {
				t.Fatal(err)
			}
			return raw, n
		}
		refresh, _ := proof(offline.RefreshRequest)
		ans, err = e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", refresh)
		if err != nil {
			t.Fatal(err)
		}
		f, err = offline.Verify(ans.File, offline.SubscriptionInfo, e.signer.PublicKey(), e.clk.Now(), offline.DefaultDrift)
		var info offline.AnswerContent
		if err != nil || offline.DecodeContent(f, &info) != nil || info.License.Seats != 15 {
			t.Fatalf("subscription information: %+v: %v", info, err)
		}
		// A forged proof is refused.
		n, _ := offline.NewNonce()
		c, _ := json.Marshal(offline.ProofRequestContent{InstallationID: act.InstallationID, Proof: "forged"})
		forged, _ := offline.Encode(offline.File{Kind: offline.DeactivationRequest, Issued: e.clk.Now(), Nonce: n, Server: server, Content: c})
		if _, err := e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", forged); !errors.Is(err, offline.ErrSignature) {
			t.Fatalf("a forged proof: %v", err)
		}
		// ACT-6: the key is released only when the deactivation is uploaded.
		if _, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-other")}); !errors.Is(err, licensekey.ErrInUse) {
			t.Fatalf("the key is free before the upload: %v", err)
		}
		deact, _ := proof(offline.DeactivationRequest)
		ans, err = e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", deact)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := offline.Verify(ans.File, offline.Deactivation, e.signer.PublicKey(), e.clk.Now(), offline.DefaultDrift); err != nil {
			t.Fatal(err)
		}
		e.activate(t, key, farm("srv-other"))
		// A future-dated request is refused.
		future, _ := offlineRequest(t, offline.ActivationRequest, server, e.clk.Now().Add(time.Hour), offline.ActivationRequestContent{Key: key, Identity: id})
		if _, err := e.h.Offline.AnswerOfflineRequest(ctx, as("ada"), "acc-1", future); !errors.Is(err, offline.ErrFuture) {
			t.Fatalf("a request from the future: %v", err)
		}
	})
}

// Rule KEY-8: a key bound by an activation that was never recorded (the
// process stopped between the key's append and the installation's) is
// in use for a minute, then free for another installation.
func TestActivate_abandoned_binding_frees_the_key_KEY8(t *testing.T) {
	forEachEngineInst(t, func(t *testing.T, e *instEnv) {
		ctx := context.Background()
		_, key := registeredSubscription(t, e.h, yearly, "acc-1")
		_, keyID, err := e.h.Subscriptions.LookUpKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		ghost := installation.ID(farm("srv-ghost").Server(), keyID)
		if _, err := e.store.Append(ctx, licensekey.StreamID(keyID), event.Exact(1), event.Proposed{Type: licensekey.TypeBound, SchemaVersion: 1,
			Data: []byte(`{"installation_id":"` + ghost + `","change":false,"changes":0}`), Metadata: event.Metadata{Actor: installer.Actor}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.Installations.Activate(ctx, installer, commands.Activate{Key: key, Identity: farm("srv-2")}); !errors.Is(err, licensekey.ErrInUse) {
			t.Fatalf("while the other activation may still be running: %v", err)
		}
		e.clk.Advance(2 * time.Minute)
		e.activate(t, key, farm("srv-2"))
	})
}
