package projections_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/installation"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/projection/projectiontest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// installWorld is a world with the installation manager and the notifier.
type installWorld struct{ *world }

func newInstallWorld(t *testing.T, target sqldb.Target) *installWorld {
	return &installWorld{newWorld(t, target,
		projections.Notifier{Scheduler: timers.Scheduler{}}, projections.InstallationManager{Scheduler: timers.Scheduler{}})}
}

// storedTimer is a row of the timers table.
type storedTimer struct {
	id, kind, status string
	due              time.Time
	payload          projections.InstallationTimer
}

// timers returns the installation manager's timers, by ID.
func (w *installWorld) timers() map[string]storedTimer {
	w.TB.Helper()
	rows, err := w.DB.Select(context.Background(), `SELECT id, kind, due_at, payload, status FROM timers WHERE kind LIKE 'installation.%' ORDER BY id`)
	if err != nil {
		w.TB.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedTimer{}
	for rows.Next() {
		var s storedTimer
		var due int64
		var payload string
		if err := rows.Scan(&s.id, &s.kind, &due, &payload, &s.status); err != nil {
			w.TB.Fatal(err)
		}
		s.due = time.UnixMicro(due).UTC()
		if err := json.Unmarshal([]byte(payload), &s.payload); err != nil {
			w.TB.Fatal(err)
		}
		out[s.id] = s
	}
	if err := rows.Err(); err != nil {
		w.TB.Fatal(err)
	}
	return out
}

// pending returns the IDs of the pending installation timers, sorted.
func (w *installWorld) pending() []string {
	var out []string
	for id, s := range w.timers() {
		if s.status == "pending" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// expect checks that the timer cause schedules for installation inst is
// of kind, due at due, with reason, and has status.
func (w *installWorld) expect(what, kind, inst string, cause projectiontest.Appended, due time.Time, reason, status string) {
	w.TB.Helper()
	id := kind + "/" + inst + "/" + cause.ID
	got, ok := w.timers()[id]
	switch {
	case !ok:
		w.TB.Errorf("%s: no timer %s", what, id)
	case got.kind != kind || !got.due.Equal(due) || got.payload != (projections.InstallationTimer{InstallationID: inst, Reason: reason}) || got.status != status:
		w.TB.Errorf("%s: timer %s is %s due %s with %+v, %s; want %s due %s, reason %q, %s", what, id,
			got.kind, got.due, got.payload, got.status, kind, due, reason, status)
	}
}

func farm(serverID string) installation.Identity {
	return installation.Identity{Kind: installation.Farm, ServerID: serverID, FarmName: "Farm " + serverID, AppVersion: "19.1"}
}

func proxy(name, site string) installation.Identity {
	return installation.Identity{Kind: installation.ProxyServer, ServerName: name, SiteCode: site, AppVersion: "5.0"}
}

// activate appends the activation of installation id with key on sub for
// account acc.
func (w *installWorld) activate(id string, identity installation.Identity, key, sub, acc string) projectiontest.Appended {
	w.TB.Helper()
	return w.One(installation.StreamID(id), installation.Activated{InstallationID: id, Identity: identity, Mode: installation.Online,
		KeyID: key, SubscriptionID: sub, AccountID: acc, ProductID: "ras", Model: identity.Kind.Model(), Generation: 1,
		License: installation.License{KeyID: key, Seats: 10}})
}

// Rules USE-3 and USE-4: a farm's grace ends at GraceStarted.Ends; a
// detected overuse is due at its DeactivateAt (an hour after the
// excess); a suspension and each re-validation plan the next
// re-validation 20 minutes after they were recorded, cancelling the one
// before; reactivation cancels the last.
func TestInstallationManager_plans_overuse_of_farms_USE3_USE4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		stream := installation.StreamID("f-1")
		w.activate("f-1", farm("S-1"), "k-1", "s-1", "acc-1")
		graceEnds := t0.Add(installation.GracePeriod)
		grace := w.One(stream, installation.GraceStarted{Seats: 12, Quota: 10, Ends: graceEnds})
		w.Rebuild("installation_manager")
		w.expect("USE-3 grace", projections.TimerKindGraceEnd, "f-1", grace, graceEnds, "", "pending")

		deadline := graceEnds.Add(installation.DeactivationDelay)
		detected := w.One(stream, installation.OveruseDetected{Seats: 12, Quota: 10, DeactivateAt: deadline})
		suspended := w.One(stream, installation.Suspended{Seats: 12, Quota: 10})
		revalidated := w.One(stream, installation.Revalidated{Seats: 11, Quota: 10})
		w.Rebuild("installation_manager")
		w.expect("USE-4 detected overuse", projections.TimerKindOveruseDeactivate, "f-1", detected, deadline, "", "cancelled")
		w.expect("USE-4 suspension", projections.TimerKindRevalidate, "f-1", suspended, suspended.At.Add(20*time.Minute), "", "cancelled")
		w.expect("USE-4 re-validation", projections.TimerKindRevalidate, "f-1", revalidated, revalidated.At.Add(20*time.Minute), "", "pending")
		if got := w.pending(); len(got) != 2 { // the grace's and the last re-validation's
			t.Errorf("pending timers %v, want the grace's and one re-validation", got)
		}

		w.One(stream, installation.Resumed{Seats: 9, Quota: 10})
		w.Rebuild("installation_manager")
		w.expect("USE-4 reactivated", projections.TimerKindRevalidate, "f-1", revalidated, revalidated.At.Add(20*time.Minute), "", "cancelled")
	})
}

// Rule USE-6: a proxy server over its limit is checked an hour after the
// start and after every alert, one pending check at a time; the end of
// the over-limit period cancels it.
func TestInstallationManager_plans_hourly_over_limit_alerts_USE6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		stream := installation.StreamID("p-1")
		w.activate("p-1", proxy("px1", "BER"), "k-1", "s-1", "acc-1")
		started := w.One(stream, installation.OverLimitStarted{AccountID: "acc-1", Computers: 11, Quota: 10})
		w.Rebuild("installation_manager")
		w.expect("USE-6 start", projections.TimerKindOverLimitAlert, "p-1", started, started.At.Add(time.Hour), "", "pending")

		alerted := w.One(stream, installation.OverLimitAlerted{AccountID: "acc-1", Computers: 12, Quota: 10, Alert: 1})
		w.Rebuild("installation_manager")
		w.expect("USE-6 start, after an alert", projections.TimerKindOverLimitAlert, "p-1", started, started.At.Add(time.Hour), "", "cancelled")
		w.expect("USE-6 alert", projections.TimerKindOverLimitAlert, "p-1", alerted, alerted.At.Add(time.Hour), "", "pending")

		w.One(stream, installation.OverLimitEnded{Computers: 9, Quota: 10})
		w.Rebuild("installation_manager")
		if got := w.pending(); len(got) != 0 {
			t.Errorf("pending timers %v after the over-limit period ended, want none", got)
		}
	})
}

// Rules SUB-6 and KEY-6: an expired subscription deactivates its
// licensed installations (active or suspended), not deactivated ones nor
// other subscriptions'; a deleted sublicense deactivates the licensed
// installation using its key. Both are due when the event was recorded.
func TestInstallationManager_deactivates_on_expiry_and_key_deletion_SUB6_KEY6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		w.activate("a-active", farm("A"), "k-1", "s-1", "acc-1")
		w.activate("b-gone", farm("B"), "k-2", "s-1", "acc-1")
		w.One(installation.StreamID("b-gone"), installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Online})
		w.activate("c-suspended", farm("C"), "k-3", "s-1", "acc-1")
		w.One(installation.StreamID("c-suspended"), installation.Suspended{Seats: 12, Quota: 10})
		w.activate("d-pending", farm("D"), "k-4", "s-1", "acc-1")
		w.One(installation.StreamID("d-pending"), installation.DeactivationRequested{By: "ada"})
		w.activate("e-other", farm("E"), "k-5", "s-2", "acc-1")
		w.activate("f-sub", proxy("px", "F"), "k-6", "s-2", "acc-1")
		w.activate("g-sub-gone", farm("G"), "k-6", "s-2", "acc-1")
		w.One(installation.StreamID("g-sub-gone"), installation.Deactivated{Reason: installation.ByPortal, Mode: installation.Online})

		expired := w.One(subscription.StreamID("s-1"), subscription.Expired{End: t0})
		deleted := w.One(subscription.StreamID("s-2"), subscription.SublicenseDeleted{KeyID: "k-6", By: "ada"})
		w.Rebuild("installation_manager")

		for _, inst := range []string{"a-active", "c-suspended", "d-pending"} {
			w.expect("SUB-6 expiry of "+inst, projections.TimerKindDeactivate, inst, expired, expired.At, "expired", "pending")
		}
		w.expect("KEY-6 deleted key", projections.TimerKindDeactivate, "f-sub", deleted, deleted.At, "key_deleted", "pending")
		var deactivations []string
		for _, s := range w.timers() {
			if s.kind == projections.TimerKindDeactivate {
				deactivations = append(deactivations, s.payload.InstallationID)
			}
		}
		slices.Sort(deactivations)
		if got := strings.Join(deactivations, ","); got != "a-active,c-suspended,d-pending,f-sub" {
			t.Errorf("deactivations of %s; want the licensed installations of s-1 and of key k-6 only", got)
		}
	})
}

// Rule SUB-8: a trial is deactivated at its end; a repeated activation
// plans it once; a deactivation before then cancels every pending timer
// of the installation.
func TestInstallationManager_ends_trials_SUB8(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		id := installation.TrialID("farm/T", "ras")
		end := t0.Add(30 * 24 * time.Hour)
		trial := func(version string) projectiontest.Appended {
			idy := farm("T")
			idy.AppVersion = version
			return w.One(installation.StreamID(id), installation.Activated{InstallationID: id, Identity: idy, Mode: installation.Online,
				ProductID: "ras", Model: idy.Kind.Model(), Generation: 1, License: installation.License{Seats: 3, Trial: true}, TrialEnd: end})
		}
		first := trial("19.1")
		again := trial("19.2") // a new app version: activated again, same trial
		w.Rebuild("installation_manager")
		w.expect("SUB-8 trial", projections.TimerKindDeactivate, id, again, end, "trial_ended", "pending")
		w.expect("SUB-8 trial, activated again", projections.TimerKindDeactivate, id, first, end, "trial_ended", "cancelled")

		w.One(installation.StreamID(id), installation.GraceStarted{Seats: 4, Quota: 3, Ends: t0.Add(installation.GracePeriod)})
		w.One(installation.StreamID(id), installation.Deactivated{Reason: installation.ByPortal, Mode: installation.Online})
		w.Rebuild("installation_manager")
		if got := w.pending(); len(got) != 0 {
			t.Errorf("pending timers %v after the deactivation, want none", got)
		}
	})
}

// A rebuild replays the log: it schedules the same timers, no more, and
// a timer that fired is not armed again (its ID is spent).
func TestInstallationManager_replay_schedules_nothing_twice(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		w.activate("f-1", farm("S-1"), "k-1", "s-1", "acc-1")
		w.activate("p-1", proxy("px1", "BER"), "k-2", "s-1", "acc-1")
		grace := w.One(installation.StreamID("f-1"), installation.GraceStarted{Seats: 12, Quota: 10, Ends: t0.Add(installation.GracePeriod)})
		w.One(installation.StreamID("p-1"), installation.OverLimitStarted{AccountID: "acc-1", Computers: 11, Quota: 10})
		w.One(installation.StreamID("p-1"), installation.OverLimitAlerted{AccountID: "acc-1", Computers: 11, Quota: 10, Alert: 1})
		w.One(subscription.StreamID("s-1"), subscription.Expired{End: t0})
		w.Rebuild("installation_manager")
		before := w.timers()
		if len(before) != 5 {
			t.Fatalf("%d timers, want 5: %v", len(before), before)
		}

		graceID := projections.TimerKindGraceEnd + "/f-1/" + grace.ID
		if _, err := w.DB.ExecContext(context.Background(), w.DB.Rebind(`UPDATE timers SET status = 'fired' WHERE id = ?`), graceID); err != nil {
			t.Fatal(err)
		}
		w.Rebuild("installation_manager", "installation_manager")
		after := w.timers()
		if len(after) != len(before) {
			t.Errorf("%d timers after rebuilds, want %d", len(after), len(before))
		}
		for id, s := range before {
			if id == graceID {
				s.status = "fired"
			}
			if after[id] != s {
				t.Errorf("timer %s after rebuilds: %+v, want %+v", id, after[id], s)
			}
		}
	})
}

// Rules USE-3, USE-4 and USE-6: the account's unblocked admins — not
// regular members, not blocked admins — are mailed when a proxy server
// goes over its limit and at every hourly alert, and when a farm's grace
// starts and when it is suspended for overuse; each in the language the
// admin was invited in. A trial belongs to no account: nobody is mailed.
// A rebuild mails nobody twice.
func TestNotifier_mails_overuse_to_admins_only_USE3_USE4_USE6(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newInstallWorld(t, target)
		for _, p := range []string{"ada", "bob", "cyd", "dan"} {
			w.One(person.StreamID(p), person.SignedUp{PersonID: p, FirstName: strings.ToUpper(p[:1]) + p[1:], LastName: "X",
				Email: p + "@example.com", PasswordHash: "x", TermsVersion: "t", VerifiedByInvitation: "inv"})
		}
		w.One(product.StreamID("mdm"), product.Defined{ProductID: "mdm", Name: "Device Manager", Model: product.ManagedComputers, MajorVersion: 5})
		acc := account.StreamID("acc-1")
		w.One(acc, account.Created{AccountID: "acc-1", CreatorID: "ada", SupportCode: "S",
			Company: account.Company{Name: "Acme", Country: "DE", ZIP: "1", Phone: "1"}})
		w.One(acc, account.MemberInvited{InvitationID: "inv-dan", Email: "dan@example.com", Language: "de", InvitedBy: "ada", ExpiresAt: t0.Add(time.Hour)})
		w.Append(acc, account.MemberJoined{PersonID: "bob"}, account.MemberJoined{PersonID: "cyd"}, account.MemberJoined{PersonID: "dan", InvitationID: "inv-dan"})
		w.Append(acc, account.RoleChanged{PersonID: "cyd", Role: account.RoleAdmin, By: "ada"}, account.RoleChanged{PersonID: "dan", Role: account.RoleAdmin, By: "ada"})
		w.One(acc, account.MemberBlocked{PersonID: "cyd", By: "ada"}) // a blocked admin hears nothing

		px := w.One(installation.StreamID("p-1"), installation.Activated{InstallationID: "p-1", Identity: proxy("px1", "BER"), Mode: installation.Online,
			KeyID: "k-1", SubscriptionID: "s-1", AccountID: "acc-1", ProductID: "mdm", Model: product.ManagedComputers, Generation: 1})
		started := w.One(installation.StreamID("p-1"), installation.OverLimitStarted{AccountID: "acc-1", Computers: 11, Quota: 10})
		alerted := w.One(installation.StreamID("p-1"), installation.OverLimitAlerted{AccountID: "acc-1", Computers: 12, Quota: 10, Alert: 1})
		w.One(installation.StreamID("p-1"), installation.OverLimitEnded{Computers: 9, Quota: 10})
		w.activate("f-1", farm("S-1"), "k-2", "s-1", "acc-1")
		graceEnds := t0.Add(installation.GracePeriod)
		grace := w.One(installation.StreamID("f-1"), installation.GraceStarted{Seats: 12, Quota: 10, Ends: graceEnds})
		suspended := w.One(installation.StreamID("f-1"), installation.Suspended{Seats: 13, Quota: 10})
		trial := installation.TrialID("farm/T", "ras")
		w.One(installation.StreamID(trial), installation.Activated{InstallationID: trial, Identity: farm("T"), Mode: installation.Online,
			ProductID: "ras", Model: product.ConcurrentUsers, Generation: 1, License: installation.License{Seats: 3, Trial: true}, TrialEnd: graceEnds})
		trialGrace := w.One(installation.StreamID(trial), installation.GraceStarted{Seats: 4, Quota: 3, Ends: graceEnds})
		w.Rebuild("notifier")

		mails := scheduledMail(w.world, "installation_")
		for _, c := range []struct {
			what  string
			cause projectiontest.Appended
			want  string
		}{
			{"USE-6 over limit", started, "ada,dan"},
			{"USE-6 hourly alert", alerted, "ada,dan"},
			{"USE-3 grace", grace, "ada,dan"},
			{"USE-4 suspension", suspended, "ada,dan"},
			{"a trial's grace", trialGrace, ""},
			{"an activation", px, ""},
		} {
			if got := strings.Join(recipients(mails, c.cause.ID), ","); got != c.want {
				t.Errorf("%s: mailed %q, want %q", c.what, got, c.want)
			}
		}
		if len(mails) != 8 {
			t.Errorf("%d installation mails, want 8", len(mails))
		}
		for _, m := range mails {
			to := strings.TrimSuffix(m.mail.To, "@example.com")
			wantLang := map[string]string{"ada": "en", "dan": "de"}[to]
			if m.mail.Language != wantLang || m.mail.Data["company"] != "Acme" || m.mail.Link == nil || !strings.HasPrefix(m.mail.Link.Path, "/installations/") {
				t.Errorf("mail %s: %+v; want language %q", m.id, m.mail, wantLang)
			}
			d := m.mail.Data
			switch {
			case strings.HasPrefix(m.id, "mail/"+started.ID+"/"), strings.HasPrefix(m.id, "mail/"+alerted.ID+"/"):
				wantAlert, wantComputers := "0", "11"
				if strings.HasPrefix(m.id, "mail/"+alerted.ID+"/") {
					wantAlert, wantComputers = "1", "12"
				}
				if m.mail.Template != projections.TemplateInstallationOverLimit || d["server_name"] != "px1" || d["site_code"] != "BER" ||
					d["computers"] != wantComputers || d["quota"] != "10" || d["alert"] != wantAlert || d["product"] != "Device Manager" {
					t.Errorf("over-limit mail %s: %+v", m.id, m.mail)
				}
			case strings.HasPrefix(m.id, "mail/"+grace.ID+"/"):
				if m.mail.Template != projections.TemplateInstallationGrace || d["farm_name"] != "Farm S-1" || d["server_id"] != "S-1" ||
					d["seats"] != "12" || d["quota"] != "10" || d["grace_end"] != graceEnds.Format("2006-01-02 15:04")+" UTC" {
					t.Errorf("grace mail %s: %+v", m.id, m.mail)
				}
			case strings.HasPrefix(m.id, "mail/"+suspended.ID+"/"):
				if m.mail.Template != projections.TemplateInstallationSuspended || d["farm_name"] != "Farm S-1" || d["seats"] != "13" || d["quota"] != "10" {
					t.Errorf("suspension mail %s: %+v", m.id, m.mail)
				}
			}
		}

		// A rebuild replays the log: no mail is scheduled twice.
		w.Rebuild("notifier")
		if again := scheduledMail(w.world, "installation_"); len(again) != len(mails) {
			t.Errorf("%d installation mails after a rebuild, want %d", len(again), len(mails))
		}
	})
}
