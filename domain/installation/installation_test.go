package installation_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/usage"
)

var (
	t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	farmIdentity  = installation.Identity{Kind: installation.Farm, ServerID: "srv-1", FarmName: "Lyon", AppVersion: "19.1"}
	proxyIdentity = installation.Identity{Kind: installation.ProxyServer, ServerName: "proxy-1", SiteCode: "LY1",
		SiteDescription: "Lyon office", AppVersion: "4.2", OfflineUse: true}

	farmLicense  = installation.LicenseOf("k1", "QX9P", t0, t0.AddDate(1, 0, 0), 10, 0, false)
	proxyLicense = installation.LicenseOf("k2", "ZZ7K", t0, t0.AddDate(1, 0, 0), 10, 0, false)
)

// farmActivation is an online activation of farmIdentity with key k1.
func farmActivation() installation.Activation {
	return installation.Activation{
		ID: installation.ID(farmIdentity.Server(), "k1"), Identity: farmIdentity, Mode: installation.Online,
		KeyID: "k1", KeyHint: "QX9P", SubscriptionID: "sub-1", AccountID: "acc-1", ProductID: "ras",
		Model: product.ConcurrentUsers, License: farmLicense,
	}
}

// proxyActivation is an online activation of proxyIdentity with key k2.
func proxyActivation() installation.Activation {
	return installation.Activation{
		ID: installation.ID(proxyIdentity.Server(), "k2"), Identity: proxyIdentity, Mode: installation.Online,
		KeyID: "k2", KeyHint: "ZZ7K", SubscriptionID: "sub-2", AccountID: "acc-1", ProductID: "mdm",
		Model: product.ManagedComputers, License: proxyLicense,
	}
}

// trialActivation is a trial of farmIdentity, without a key (SUB-8).
func trialActivation() installation.Activation {
	return installation.Activation{
		ID: installation.TrialID(farmIdentity.Server(), "ras"), Identity: farmIdentity, Mode: installation.Online,
		ProductID: "ras", Model: product.ConcurrentUsers, TrialEnd: t0.AddDate(0, 0, 30),
		License: installation.LicenseOf("", "", t0, t0.AddDate(0, 0, 30), 5, 0, true),
	}
}

// activated is the event of the first activation a.
func activated(a installation.Activation) installation.Activated {
	return installation.Activated{
		InstallationID: a.ID, Identity: a.Identity, Mode: a.Mode, Nonce: a.Nonce,
		KeyID: a.KeyID, KeyHint: a.KeyHint, SubscriptionID: a.SubscriptionID, AccountID: a.AccountID,
		ProductID: a.ProductID, Model: a.Model, Generation: 1, License: a.License, TrialEnd: a.TrialEnd, By: a.By,
	}
}

// given folds events, the first at t0 and each next a minute later.
func given(events ...any) installation.Installation {
	var i installation.Installation
	for n, e := range events {
		i = i.Evolve(e, t0.Add(time.Duration(n)*time.Minute))
	}
	return i
}

// then folds what a decision decided, at at; the decision must succeed.
func then(t *testing.T, i installation.Installation, at time.Time, evs []any, err error) installation.Installation {
	t.Helper()
	if err != nil {
		t.Fatalf("decision refused: %v", err)
	}
	for _, e := range evs {
		i = i.Evolve(e, at)
	}
	return i
}

// report decides a report of seats under quota at at, the installation's
// clock agreeing with the ledger's, and folds it.
func report(t *testing.T, i installation.Installation, seats, quota int, at time.Time) (installation.Installation, []any) {
	t.Helper()
	evs, err := i.Report(installation.Report{Seats: seats, ObservedAt: at, Quota: quota}, at)
	return then(t, i, at, evs, err), evs
}

func same(got, want []any) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}

// Rule PROD-4: a farm is identified by server ID, farm name and app
// version; a proxy server by server name, site code, site description,
// app version and the offline-use flag.
func TestIdentityCheck_PROD4(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", installation.MaxField+1)
	wide := strings.Repeat("é", installation.MaxField) // 200 characters, 400 bytes
	cases := []struct {
		name   string
		change func(*installation.Identity)
		base   installation.Identity
		ok     bool
	}{
		{"PROD-4 a farm", func(*installation.Identity) {}, farmIdentity, true},
		{"PROD-4 a proxy server", func(*installation.Identity) {}, proxyIdentity, true},
		{"PROD-4 a proxy server without a site description", func(id *installation.Identity) { id.SiteDescription = "" }, proxyIdentity, true},
		{"PROD-4 a farm without a server ID", func(id *installation.Identity) { id.ServerID = "" }, farmIdentity, false},
		{"PROD-4 a farm with a blank farm name", func(id *installation.Identity) { id.FarmName = "  " }, farmIdentity, false},
		{"PROD-4 a farm without an app version", func(id *installation.Identity) { id.AppVersion = "" }, farmIdentity, false},
		{"PROD-4 a farm identified as a proxy server", func(id *installation.Identity) {
			id.ServerID, id.FarmName, id.ServerName, id.SiteCode = "", "", "proxy-1", "LY1"
		}, farmIdentity, false},
		{"PROD-4 a proxy server without a server name", func(id *installation.Identity) { id.ServerName = "" }, proxyIdentity, false},
		{"PROD-4 a proxy server without a site code", func(id *installation.Identity) { id.SiteCode = "\t" }, proxyIdentity, false},
		{"PROD-4 a proxy server without an app version", func(id *installation.Identity) { id.AppVersion = "" }, proxyIdentity, false},
		{"PROD-4 a proxy server identified as a farm", func(id *installation.Identity) {
			id.ServerName, id.SiteCode, id.ServerID, id.FarmName = "", "", "srv-1", "Lyon"
		}, proxyIdentity, false},
		{"PROD-4 an over-long server ID", func(id *installation.Identity) { id.ServerID = long }, farmIdentity, false},
		{"PROD-4 an over-long farm name", func(id *installation.Identity) { id.FarmName = long }, farmIdentity, false},
		{"PROD-4 an over-long app version", func(id *installation.Identity) { id.AppVersion = long }, farmIdentity, false},
		{"PROD-4 an over-long server name", func(id *installation.Identity) { id.ServerName = long }, proxyIdentity, false},
		{"PROD-4 an over-long site code", func(id *installation.Identity) { id.SiteCode = long }, proxyIdentity, false},
		{"PROD-4 an over-long site description", func(id *installation.Identity) { id.SiteDescription = long }, proxyIdentity, false},
		{"PROD-4 an over-long field the kind does not use", func(id *installation.Identity) { id.SiteDescription = long }, farmIdentity, false},
		{"PROD-4 MaxField characters, counted as characters not bytes", func(id *installation.Identity) { id.FarmName = wide }, farmIdentity, true},
		{"PROD-4 invalid text", func(id *installation.Identity) { id.FarmName = "Ly\xffon" }, farmIdentity, false},
		{"X-7 a NUL in a server ID", func(id *installation.Identity) { id.ServerID = "srv\x00" }, farmIdentity, false},
		{"X-7 a zero-width space in a server ID", func(id *installation.Identity) { id.ServerID = "srv\u200b1" }, farmIdentity, false},
		{"X-7 a right-to-left override in a site code", func(id *installation.Identity) { id.SiteCode = "\u202eHRZ" }, proxyIdentity, false},
		{"X-7 a line break in a farm name", func(id *installation.Identity) { id.FarmName = "Ly\non" }, farmIdentity, false},
		{"X-7 a server ID with white space around it", func(id *installation.Identity) { id.ServerID = " srv-1" }, farmIdentity, false},
		{"X-7 a farm name with an emoji and quotes", func(id *installation.Identity) { id.FarmName = "Lyon 🚀 \"B\" \\" }, farmIdentity, true},
		{"PROD-4 no kind", func(id *installation.Identity) { id.Kind = "" }, farmIdentity, false},
		{"PROD-4 an unknown kind", func(id *installation.Identity) { id.Kind = "gateway" }, farmIdentity, false},
	}
	for _, c := range cases {
		id := c.base
		c.change(&id)
		err := id.Check()
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case !c.ok && !errors.Is(err, installation.ErrInvalid):
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	// The refusal names what the kind needs.
	id := proxyIdentity
	id.SiteCode = ""
	if err := id.Check(); err == nil || !strings.Contains(err.Error(), "server_name, site_code and app_version") {
		t.Errorf("a proxy server's refusal: %v", err)
	}
	id = farmIdentity
	id.ServerID = ""
	if err := id.Check(); err == nil || !strings.Contains(err.Error(), "server_id, farm_name and app_version") {
		t.Errorf("a farm's refusal: %v", err)
	}
}

// Rules KEY-8, SUB-8: the same machine on the same key is the same
// installation whatever its app version or names; a trial is one per
// server and product.
func TestIDs_KEY8_SUB8(t *testing.T) {
	t.Parallel()
	upgraded := farmIdentity
	upgraded.AppVersion, upgraded.FarmName = "20.0", "Lyon 2"
	if farmIdentity.Server() != upgraded.Server() || farmIdentity.Server() != "farm/srv-1" {
		t.Errorf("server of a farm: %q, upgraded %q", farmIdentity.Server(), upgraded.Server())
	}
	moved := proxyIdentity
	moved.AppVersion, moved.SiteDescription, moved.OfflineUse = "5.0", "Lyon HQ", false
	if proxyIdentity.Server() != moved.Server() || proxyIdentity.Server() != "proxy_server/LY1/proxy-1" {
		t.Errorf("server of a proxy server: %q, moved %q", proxyIdentity.Server(), moved.Server())
	}
	server := farmIdentity.Server()
	id := installation.ID(server, "k1")
	for _, c := range []struct {
		name string
		a, b string
		same bool
	}{
		{"KEY-8 the same server and key, twice", id, installation.ID(server, "k1"), true},
		{"KEY-8 the same server, upgraded", id, installation.ID(upgraded.Server(), "k1"), true},
		{"KEY-8 the same server, another key", id, installation.ID(server, "k2"), false},
		{"KEY-8 another server, the same key", id, installation.ID("farm/srv-2", "k1"), false},
		{"KEY-8 a proxy server and a farm", installation.ID(proxyIdentity.Server(), "k1"), id, false},
		{"SUB-8 a trial, twice", installation.TrialID(server, "ras"), installation.TrialID(server, "ras"), true},
		{"SUB-8 a trial of another product", installation.TrialID(server, "ras"), installation.TrialID(server, "vdi"), false},
		{"SUB-8 a trial of another server", installation.TrialID(server, "ras"), installation.TrialID("farm/srv-2", "ras"), false},
		{"SUB-8 a trial is not a keyed installation", installation.TrialID(server, "k1"), installation.ID(server, "k1"), false},
	} {
		if (c.a == c.b) != c.same {
			t.Errorf("%s: %s and %s", c.name, c.a, c.b)
		}
	}
	if len(id) != 36 || installation.StreamID(id) != "installation-"+id {
		t.Errorf("ID %q, stream %q", id, installation.StreamID(id))
	}
}

// Rules ACT-1, ACT-2, KEY-8, SUB-8: what an activation decides on the
// installation's history.
func TestActivate_ACT1(t *testing.T) {
	t.Parallel()
	first := activated(farmActivation())
	upgraded := farmActivation()
	upgraded.Identity.AppVersion = "20.0"
	offline := farmActivation()
	offline.Mode, offline.Nonce, offline.By = installation.Offline, "n-1", "ada"
	managed := farmActivation()
	managed.Model = product.ManagedComputers
	proxyOnConcurrent := proxyActivation()
	proxyOnConcurrent.Model = product.ConcurrentUsers
	badIdentity := farmActivation()
	badIdentity.Identity.ServerID = ""
	deactivated := installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Online}
	suspended := installation.Suspended{Seats: 12, Quota: 10}
	withGeneration := func(e installation.Activated, g int) installation.Activated {
		e.Generation = g
		return e
	}
	withIdentity := func(e installation.Activated, id installation.Identity) installation.Activated {
		e.Identity = id
		return e
	}
	for _, c := range []struct {
		name       string
		given      []any
		a          installation.Activation
		want       []any
		err        error
		generation int // after the decided events
	}{
		{"ACT-1 the first activation is generation 1", nil, farmActivation(), []any{first}, nil, 1},
		{"ACT-1 a proxy server's first activation", nil, proxyActivation(), []any{activated(proxyActivation())}, nil, 1},
		{"ACT-1 a repeat with the same identity records nothing and keeps its generation", []any{first}, farmActivation(), nil, nil, 1},
		{"ACT-1 a repeat with a new app version is recorded in the same generation", []any{first}, upgraded,
			[]any{withIdentity(first, upgraded.Identity)}, nil, 1},
		{"ACT-1 a repeat while suspended for overuse keeps its generation", []any{first, suspended}, upgraded,
			[]any{withIdentity(first, upgraded.Identity)}, nil, 1},
		{"ACT-1 a repeat while suspended, same identity: nothing", []any{first, suspended}, farmActivation(), nil, nil, 1},
		{"ACT-1 an activation after a deactivation is generation 2", []any{first, deactivated}, farmActivation(),
			[]any{withGeneration(first, 2)}, nil, 2},
		{"ACT-1 and generation 3 after the next one", []any{first, deactivated, withGeneration(first, 2), deactivated}, farmActivation(),
			[]any{withGeneration(first, 3)}, nil, 3},
		{"ACT-2 an offline repeat is recorded with its nonce, same generation", []any{first}, offline,
			[]any{installation.Activated{InstallationID: first.InstallationID, Identity: first.Identity, Mode: installation.Offline,
				Nonce: "n-1", KeyID: "k1", KeyHint: "QX9P", SubscriptionID: "sub-1", AccountID: "acc-1", ProductID: "ras",
				Model: product.ConcurrentUsers, Generation: 1, License: farmLicense, By: "ada"}}, nil, 1},
		{"ACT-2 a reused offline nonce is a replay", []any{first, withGeneration(activated(offline), 1)}, offline, nil, installation.ErrReplayed, 1},
		{"ACT-2 a nonce used by a refresh is a replay", []any{first, installation.Refreshed{Mode: installation.Offline, Nonce: "n-1"}}, offline,
			nil, installation.ErrReplayed, 1},
		{"ACT-2 a nonce used by a deactivation is a replay, even to reactivate", []any{first,
			installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Offline, Nonce: "n-1"}}, offline,
			nil, installation.ErrReplayed, 1},
		{"PROD-1 a farm with a managed-computers key", nil, managed, nil, installation.ErrModel, 0},
		{"PROD-1 a proxy server with a concurrent-users key", nil, proxyOnConcurrent, nil, installation.ErrModel, 0},
		{"PROD-4 an incomplete identity", nil, badIdentity, nil, installation.ErrInvalid, 0},
		{"SUB-8 a trial's first activation", nil, trialActivation(), []any{activated(trialActivation())}, nil, 1},
		{"SUB-8 a trial repeated while it runs records nothing", []any{activated(trialActivation())}, trialActivation(), nil, nil, 1},
		{"SUB-8 a second trial after a deactivation", []any{activated(trialActivation()), deactivated}, trialActivation(),
			nil, installation.ErrTrialUsed, 1},
		{"SUB-8 a second trial after the trial ended", []any{activated(trialActivation()),
			installation.Deactivated{Reason: installation.TrialEnded, Mode: installation.Online}}, trialActivation(),
			nil, installation.ErrTrialUsed, 1},
	} {
		i := given(c.given...)
		evs, err := i.Activate(c.a)
		if !errors.Is(err, c.err) || !same(evs, c.want) {
			t.Errorf("%s:\n got %#v %v\nwant %#v %v", c.name, evs, err, c.want, c.err)
			continue
		}
		after := i
		for _, e := range evs {
			after = after.Evolve(e, t0.Add(time.Hour))
		}
		if after.Generation() != c.generation {
			t.Errorf("%s: generation %d, want %d", c.name, after.Generation(), c.generation)
		}
	}
}

// Rules ACT-1, ACT-4, SUB-8: what an activation leaves the installation
// with; a repeat keeps its activation date.
func TestActivated_state_ACT1(t *testing.T) {
	t.Parallel()
	i := given(activated(farmActivation()))
	if !i.Exists() || i.ID() != farmActivation().ID || i.Identity() != farmIdentity || i.KeyID() != "k1" || i.KeyHint() != "QX9P" ||
		i.SubscriptionID() != "sub-1" || i.AccountID() != "acc-1" || i.ProductID() != "ras" || i.Model() != product.ConcurrentUsers ||
		i.Status() != installation.Active || i.Mode() != installation.Online || i.Trial() || !i.ActivatedAt().Equal(t0) ||
		!i.Licensed() || i.Version() != 1 {
		t.Fatalf("activated: %+v", i)
	}
	upgraded := farmActivation()
	upgraded.Identity.AppVersion = "20.0"
	evs, err := i.Activate(upgraded)
	i = then(t, i, t0.Add(time.Hour), evs, err)
	if i.Identity().AppVersion != "20.0" || !i.ActivatedAt().Equal(t0) || i.Generation() != 1 {
		t.Errorf("a repeat moved the activation: %v %v %d", i.Identity(), i.ActivatedAt(), i.Generation())
	}
	i = i.Evolve(installation.Deactivated{Reason: installation.ByPortal}, t0.Add(2*time.Hour))
	if i.Licensed() || i.Status() != installation.Inactive {
		t.Fatalf("deactivated: %v", i.Status())
	}
	evs, err = i.Activate(farmActivation())
	i = then(t, i, t0.Add(3*time.Hour), evs, err)
	if !i.ActivatedAt().Equal(t0.Add(3*time.Hour)) || i.Generation() != 2 || i.Status() != installation.Active {
		t.Errorf("reactivated: %v %d %v", i.ActivatedAt(), i.Generation(), i.Status())
	}
	trial := given(activated(trialActivation()))
	if !trial.Trial() || !trial.TrialEnd().Equal(t0.AddDate(0, 0, 30)) || trial.KeyID() != "" || trial.AccountID() != "" {
		t.Errorf("trial: %+v", trial)
	}
}

// Rules USE-4, ACT-7: a repeat activation (a new app version) is a
// contact of the same activation: it neither lifts a suspension for
// overuse nor forgets a deactivation requested in the portal.
func TestActivate_repeat_keeps_status_USE4_ACT7(t *testing.T) {
	t.Parallel()
	upgraded := farmActivation()
	upgraded.Identity.AppVersion = "20.0"
	for _, c := range []struct {
		name  string
		given []any
		want  installation.Status
	}{
		{"USE-4 suspended for overuse", []any{installation.Suspended{Seats: 12, Quota: 10}}, installation.SuspendedStatus},
		{"ACT-7 deactivation pending", []any{installation.DeactivationRequested{By: "ada"}}, installation.Pending},
		{"ACT-1 active", nil, installation.Active},
	} {
		i := given(append([]any{activated(farmActivation())}, c.given...)...)
		evs, err := i.Activate(upgraded)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", c.name, evs, err)
		}
		if i = i.Evolve(evs[0], t0.Add(time.Hour)); i.Status() != c.want || i.Identity().AppVersion != "20.0" {
			t.Errorf("%s: status %v, identity %+v; want %v", c.name, i.Status(), i.Identity(), c.want)
		}
	}
}

// Rules ACT-7, ACT-8, SUB-8: what every contact of the installation first
// decides.
func TestContact_ACT7_ACT8_SUB8(t *testing.T) {
	t.Parallel()
	farm := activated(farmActivation())
	trial := activated(trialActivation())
	end := trialActivation().TrialEnd
	for _, c := range []struct {
		name  string
		given []any
		now   time.Time
		want  []any
		err   error
	}{
		{"ACT-1 an active installation goes on", []any{farm}, t0.Add(time.Hour), nil, nil},
		{"USE-4 a suspended farm goes on (it must report to come back)", []any{farm, installation.Suspended{Seats: 12, Quota: 10}},
			t0.Add(time.Hour), nil, nil},
		{"ACT-7 a deactivation pending in the portal takes effect", []any{farm, installation.DeactivationRequested{By: "ada"}},
			t0.Add(time.Hour), []any{installation.Deactivated{Reason: installation.ByPortal, Mode: installation.Online}}, nil},
		{"ACT-7 a pending trial is deactivated by the portal, not its end", []any{trial, installation.DeactivationRequested{By: "ada"}},
			end.Add(time.Hour), []any{installation.Deactivated{Reason: installation.ByPortal, Mode: installation.Online}}, nil},
		{"SUB-8 a running trial goes on", []any{trial}, end.Add(-time.Second), nil, nil},
		{"SUB-8 a trial at its end is deactivated", []any{trial}, end,
			[]any{installation.Deactivated{Reason: installation.TrialEnded, Mode: installation.Online}}, nil},
		{"SUB-8 a trial after its end is deactivated", []any{trial}, end.AddDate(0, 1, 0),
			[]any{installation.Deactivated{Reason: installation.TrialEnded, Mode: installation.Online}}, nil},
		{"ACT-8 a deactivated installation is refused", []any{farm, installation.Deactivated{Reason: installation.ByInstallation}},
			t0.Add(time.Hour), nil, installation.ErrDeactivated},
		{"ACT-8 an ended trial is refused", []any{trial, installation.Deactivated{Reason: installation.TrialEnded}},
			end.Add(time.Hour), nil, installation.ErrDeactivated},
		{"an unknown installation", nil, t0, nil, installation.ErrNotFound},
	} {
		evs, err := given(c.given...).Contact(c.now)
		if !errors.Is(err, c.err) || !same(evs, c.want) {
			t.Errorf("%s: %#v %v; want %#v %v", c.name, evs, err, c.want, c.err)
		}
	}
}

// Rules USE-1, PROD-2, PROD-3, ACT-8: what a usage report records.
func TestReport_USE1_PROD3(t *testing.T) {
	t.Parallel()
	farm := given(activated(farmActivation()))
	reported, _ := report(t, farm, 4, 10, t0.Add(time.Hour))
	proxy := given(activated(proxyActivation()))
	now := t0.Add(2 * time.Hour)
	users := []usage.Connection{
		{User: "ann", Type: usage.PublishedApp, Host: "h1"},
		{User: "ann", Type: usage.RDPDesktop, Host: "h2"}, // PROD-1: still one seat
		{User: "bob", Type: usage.RDPApp, Host: "h1"},
		{User: "adm", Type: usage.PublishedDesktop, Admin: true, Host: "h1"}, // PROD-2: free
		{User: "root", Type: usage.RDPDesktop, Admin: true, Host: "h1"},      // PROD-2: free
		{User: "sys", Type: usage.RDPDesktopTunneled, Admin: true, Host: "h1"},
	}
	usersSeats, err := usage.Seats(users)
	if err != nil || usersSeats != 3 {
		t.Fatalf("usage.Seats: %d %v", usersSeats, err)
	}
	tooMany := make([]usage.Connection, installation.MaxConnections+1)
	for n := range tooMany {
		tooMany[n] = usage.Connection{User: "u", Type: usage.PublishedApp, Host: "h"}
	}
	atMost := tooMany[:installation.MaxConnections]
	summary := func(conns []usage.Connection) *usage.Summary {
		_, sum, err := usage.Summarize(conns)
		if err != nil {
			t.Fatal(err)
		}
		return &sum
	}
	for _, c := range []struct {
		name string
		i    installation.Installation
		r    installation.Report
		want []any
		err  error
	}{
		{"USE-1 a count of seats", reported, installation.Report{Seats: 7, ObservedAt: now.Add(-time.Minute), Quota: 10},
			[]any{installation.UsageReported{Seats: 7, ObservedAt: now.Add(-time.Minute), Current: true, Quota: 10}}, nil},
		{"USE-1 a report without the installation's time is at the ledger's", reported, installation.Report{Seats: 7, Quota: 10},
			[]any{installation.UsageReported{Seats: 7, ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"USE-1 a report in the installation's zone is recorded in UTC", reported,
			installation.Report{Seats: 7, ObservedAt: now.In(time.FixedZone("CET", 3600)), Quota: 10},
			[]any{installation.UsageReported{Seats: 7, ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"USE-1 a report as old as the last one is current", reported, installation.Report{Seats: 7, ObservedAt: t0.Add(time.Hour), Quota: 10},
			[]any{installation.UsageReported{Seats: 7, ObservedAt: t0.Add(time.Hour), Current: true, Quota: 10}}, nil},
		{"USE-1 a report older than the last one is recorded, not current", reported,
			installation.Report{Seats: 50, ObservedAt: t0.Add(30 * time.Minute), Quota: 10},
			[]any{installation.UsageReported{Seats: 50, ObservedAt: t0.Add(30 * time.Minute), Current: false, Quota: 10}}, nil},
		{"USE-1 a clock ahead within the drift", reported, installation.Report{Seats: 7, ObservedAt: now.Add(installation.Drift), Quota: 10},
			[]any{installation.UsageReported{Seats: 7, ObservedAt: now.Add(installation.Drift), Current: true, Quota: 10}}, nil},
		{"USE-1 a report from beyond the drift is refused", reported,
			installation.Report{Seats: 7, ObservedAt: now.Add(installation.Drift + time.Second), Quota: 10}, nil, installation.ErrInvalid},
		{"USE-1 a negative count is refused", reported, installation.Report{Seats: -1, Quota: 10}, nil, installation.ErrInvalid},
		{"USE-1 an absurd count is refused", reported, installation.Report{Seats: installation.MaxSeats + 1, Quota: 10}, nil, installation.ErrInvalid},
		{"USE-1 the largest count", reported, installation.Report{Seats: installation.MaxSeats, ObservedAt: now, Quota: installation.MaxSeats},
			[]any{installation.UsageReported{Seats: installation.MaxSeats, ObservedAt: now, Current: true, Quota: installation.MaxSeats}}, nil},
		{"PROD-3 PROD-2 connections are counted with usage.Seats", reported, installation.Report{Connections: users, ObservedAt: now, Quota: 10},
			[]any{installation.UsageReported{Seats: usersSeats, Connections: summary(users), ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"PROD-3 no connections: no seats", reported, installation.Report{Connections: []usage.Connection{}, ObservedAt: now, Quota: 10},
			[]any{installation.UsageReported{Seats: 0, Connections: summary([]usage.Connection{}), ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"PROD-3 MaxConnections connections", reported, installation.Report{Connections: atMost, ObservedAt: now, Quota: 10},
			[]any{installation.UsageReported{Seats: 1, Connections: summary(atMost), ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"PROD-3 more than MaxConnections connections are refused", reported, installation.Report{Connections: tooMany, Quota: 10},
			nil, installation.ErrInvalid},
		{"PROD-3 a count and connections are refused", reported, installation.Report{Seats: 3, Connections: users, Quota: 10},
			nil, installation.ErrInvalid},
		{"PROD-3 a connection the rules cannot count is refused", reported,
			installation.Report{Connections: []usage.Connection{{User: "ann", Type: "vnc", Host: "h1"}}, Quota: 10}, nil, installation.ErrInvalid},
		{"PROD-3 a proxy server reporting connections is refused", proxy, installation.Report{Connections: users, Quota: 10},
			nil, installation.ErrInvalid},
		{"PROD-3 a proxy server reports a count of computers", proxy, installation.Report{Seats: 8, ObservedAt: now, Quota: 10},
			[]any{installation.UsageReported{Seats: 8, ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"ACT-8 a deactivated installation cannot report", reported.Evolve(installation.Deactivated{Reason: installation.ByPortal}, now),
			installation.Report{Seats: 1, Quota: 10}, nil, installation.ErrDeactivated},
		{"USE-4 a farm suspended for overuse can report", reported.Evolve(installation.Suspended{Seats: 12, Quota: 10}, now),
			installation.Report{Seats: 12, ObservedAt: now, Quota: 10},
			[]any{installation.UsageReported{Seats: 12, ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"ACT-7 a farm pending deactivation can report", reported.Evolve(installation.DeactivationRequested{By: "ada"}, now),
			installation.Report{Seats: 2, ObservedAt: now, Quota: 10},
			[]any{installation.UsageReported{Seats: 2, ObservedAt: now, Current: true, Quota: 10}}, nil},
		{"an unknown installation cannot report", installation.Installation{}, installation.Report{Seats: 1, Quota: 10},
			nil, installation.ErrNotFound},
	} {
		evs, err := c.i.Report(c.r, now)
		if !errors.Is(err, c.err) || !same(evs, c.want) {
			t.Errorf("%s:\n got %v %v\nwant %v %v", c.name, evs, err, c.want, c.err)
		}
	}
}

// Rules USE-1, USE-2: the current usage, last report and peak, as the
// reports fold; a late report moves none of them.
func TestReport_current_and_peak_USE1_USE2(t *testing.T) {
	t.Parallel()
	i := given(activated(farmActivation()))
	for _, c := range []struct {
		name      string
		seats     int
		observed  time.Time
		received  time.Time
		current   bool
		wantSeats int
		wantPeak  int
		wantLast  time.Time
	}{
		{"USE-2 the first report", 4, t0.Add(20 * time.Minute), t0.Add(20 * time.Minute), true, 4, 4, t0.Add(20 * time.Minute)},
		{"USE-2 a higher one raises the peak", 9, t0.Add(40 * time.Minute), t0.Add(41 * time.Minute), true, 9, 9, t0.Add(41 * time.Minute)},
		{"USE-2 a lower one keeps the peak", 3, t0.Add(60 * time.Minute), t0.Add(60 * time.Minute), true, 3, 9, t0.Add(60 * time.Minute)},
		{"USE-1 a late report moves nothing, not even the peak", 40, t0.Add(30 * time.Minute), t0.Add(70 * time.Minute), false, 3, 9, t0.Add(60 * time.Minute)},
		{"USE-2 the next one moves on", 5, t0.Add(80 * time.Minute), t0.Add(80 * time.Minute), true, 5, 9, t0.Add(80 * time.Minute)},
	} {
		evs, err := i.Report(installation.Report{Seats: c.seats, ObservedAt: c.observed, Quota: 50}, c.received)
		if err != nil || len(evs) != 1 || evs[0].(installation.UsageReported).Current != c.current {
			t.Fatalf("%s: %v %v", c.name, evs, err)
		}
		i = then(t, i, c.received, evs, err)
		if i.Seats() != c.wantSeats || i.Peak() != c.wantPeak || !i.LastReport().Equal(c.wantLast) {
			t.Errorf("%s: seats %d peak %d last %v; want %d %d %v", c.name, i.Seats(), i.Peak(), i.LastReport(), c.wantSeats, c.wantPeak, c.wantLast)
		}
	}
	// USE-1: a late report over the quota is no overuse.
	if evs, _ := i.Report(installation.Report{Seats: 40, ObservedAt: t0, Quota: 10}, t0.Add(2*time.Hour)); len(evs) != 1 {
		t.Errorf("a late report over the quota: %v", evs)
	}
}

// Rules USE-3, USE-4: a farm's overuse, step by step — the first excess
// starts a 7-day grace; after it, an excess is detected and suspends the
// farm an hour later unless usage is back within the quota; a suspended
// farm is re-validated until it is within its quota.
func TestOveruse_farm_USE3_USE4(t *testing.T) {
	t.Parallel()
	const quota = 10
	i := given(activated(farmActivation()))
	step := func(name string, evs, want []any, err error) {
		t.Helper()
		if err != nil || !same(evs, want) {
			t.Fatalf("%s:\n got %#v %v\nwant %#v", name, evs, err, want)
		}
	}
	reported := func(seats int, at time.Time) installation.UsageReported {
		return installation.UsageReported{Seats: seats, ObservedAt: at, Current: true, Quota: quota}
	}

	// At the quota: nothing.
	at := t0.Add(time.Hour)
	i, evs := report(t, i, quota, quota, at)
	step("USE-3 at the quota", evs, []any{reported(quota, at)}, nil)

	// USE-3: the first excess starts the grace.
	start := t0.Add(2 * time.Hour)
	ends := start.Add(installation.GracePeriod)
	i, evs = report(t, i, 12, quota, start)
	step("USE-3 the first excess", evs, []any{reported(12, start), installation.GraceStarted{Seats: 12, Quota: quota, Ends: ends}}, nil)
	if !i.GraceEnds().Equal(ends) || !ends.Equal(start.AddDate(0, 0, 7)) {
		t.Fatalf("grace ends %v", i.GraceEnds())
	}

	// USE-3: within the grace, more users than the quota: nothing more.
	for _, d := range []time.Duration{time.Hour, 3 * 24 * time.Hour, installation.GracePeriod - time.Minute} {
		at = start.Add(d)
		var evs []any
		i, evs = report(t, i, 15, quota, at)
		step("USE-3 within the grace", evs, []any{reported(15, at)}, nil)
	}
	if evs, err := i.GraceEnded(quota, ends.Add(-time.Minute)); err != nil || len(evs) != 0 {
		t.Fatalf("USE-3 GraceEnded before the end: %v %v", evs, err)
	}
	if evs, err := i.DeactivationDue(quota, ends); err != nil || len(evs) != 0 {
		t.Fatalf("USE-4 DeactivationDue with nothing detected: %v %v", evs, err)
	}

	// USE-4: after the grace, back within the quota: it keeps working.
	at = ends.Add(time.Minute)
	i, evs = report(t, i, 9, quota, at)
	step("USE-4 within the quota after the grace", evs, []any{reported(9, at)}, nil)

	// USE-4: an excess after the grace is detected, due an hour later.
	seen := ends.Add(time.Hour)
	due := seen.Add(installation.DeactivationDelay)
	i, evs = report(t, i, 11, quota, seen)
	step("USE-4 an excess after the grace", evs,
		[]any{reported(11, seen), installation.OveruseDetected{Seats: 11, Quota: quota, DeactivateAt: due}}, nil)
	if i.Status() != installation.Active {
		t.Fatalf("USE-4 suspended at once: %v", i.Status())
	}

	// USE-4: a second excess while detected: nothing more.
	at = seen.Add(20 * time.Minute)
	i, evs = report(t, i, 14, quota, at)
	step("USE-4 a second excess while detected", evs, []any{reported(14, at)}, nil)

	// USE-4: before the deadline, nothing.
	evs, err := i.DeactivationDue(quota, due.Add(-time.Second))
	step("USE-4 DeactivationDue before the deadline", evs, nil, err)

	// USE-4: at the deadline, still over: suspended.
	evs, err = i.DeactivationDue(quota, due)
	step("USE-4 at the deadline, still over", evs, []any{installation.Suspended{Seats: 14, Quota: quota}}, err)
	i = then(t, i, due, evs, err)
	if i.Status() != installation.SuspendedStatus || !i.Licensed() {
		t.Fatalf("USE-4 suspended: %v licensed %v", i.Status(), i.Licensed())
	}
	evs, err = i.DeactivationDue(quota, due.Add(time.Hour))
	step("USE-4 DeactivationDue again once suspended", evs, nil, err)

	// USE-4: a suspended farm reports; nothing but the report.
	at = due.Add(10 * time.Minute)
	i, evs = report(t, i, 13, quota, at)
	step("USE-4 a suspended farm's report", evs, []any{reported(13, at)}, nil)

	// USE-4: the re-validation, still over.
	evs, err = i.Revalidate(quota)
	step("USE-4 re-validation over the quota", evs, []any{installation.Revalidated{Seats: 13, Quota: quota}}, err)
	i = then(t, i, due.Add(installation.RevalidateInterval), evs, err)
	if i.Status() != installation.SuspendedStatus {
		t.Fatalf("USE-4 revalidated: %v", i.Status())
	}

	// USE-4: at the quota, re-validation reactivates it.
	at = due.Add(30 * time.Minute)
	i, _ = report(t, i, quota, quota, at)
	evs, err = i.Revalidate(quota)
	step("USE-4 re-validation at the quota", evs, []any{installation.Resumed{Seats: quota, Quota: quota}}, err)
	i = then(t, i, due.Add(2*installation.RevalidateInterval), evs, err)
	if i.Status() != installation.Active {
		t.Fatalf("USE-4 resumed: %v", i.Status())
	}
	evs, err = i.Revalidate(quota)
	step("USE-4 re-validation of an active farm", evs, nil, err)

	// USE-4: a new excess is detected again (the grace is used); back
	// within the quota by the deadline clears it.
	seen = due.Add(3 * time.Hour)
	i, evs = report(t, i, 11, quota, seen)
	step("USE-4 an excess after resuming", evs, []any{reported(11, seen),
		installation.OveruseDetected{Seats: 11, Quota: quota, DeactivateAt: seen.Add(installation.DeactivationDelay)}}, nil)
	i, _ = report(t, i, 8, quota, seen.Add(30*time.Minute))
	evs, err = i.DeactivationDue(quota, seen.Add(installation.DeactivationDelay))
	step("USE-4 back within the quota by the deadline", evs, []any{installation.OveruseCleared{Seats: 8, Quota: quota}}, err)
	i = then(t, i, seen.Add(installation.DeactivationDelay), evs, err)
	evs, err = i.DeactivationDue(quota, seen.Add(2*installation.DeactivationDelay))
	step("USE-4 DeactivationDue after clearing", evs, nil, err)

	// USE-4: the next excess is detected anew.
	at = seen.Add(2 * time.Hour)
	_, evs = report(t, i, 12, quota, at)
	step("USE-4 an excess after clearing", evs, []any{reported(12, at),
		installation.OveruseDetected{Seats: 12, Quota: quota, DeactivateAt: at.Add(installation.DeactivationDelay)}}, nil)
}

// Rules USE-3, USE-4: a deactivated or pending farm's overuse decides
// nothing; a deactivation ends a detected overuse.
func TestOveruse_not_active_USE4_ACT8(t *testing.T) {
	t.Parallel()
	detected := given(activated(farmActivation()),
		installation.GraceStarted{Seats: 12, Quota: 10, Ends: t0.Add(installation.GracePeriod)},
		installation.UsageReported{Seats: 12, ObservedAt: t0.AddDate(0, 0, 8), Current: true, Quota: 10},
		installation.OveruseDetected{Seats: 12, Quota: 10, DeactivateAt: t0.AddDate(0, 0, 8).Add(time.Hour)})
	due := t0.AddDate(0, 0, 9)
	if evs, _ := detected.DeactivationDue(10, due); len(evs) != 1 {
		t.Fatalf("detected: %v", evs)
	}
	gone := detected.Evolve(installation.Deactivated{Reason: installation.ByInstallation}, due)
	if evs, err := gone.DeactivationDue(10, due); err != nil || len(evs) != 0 {
		t.Errorf("ACT-8 a deactivated farm's deadline: %v %v", evs, err)
	}
	if evs, err := gone.GraceEnded(10, due); err != nil || len(evs) != 0 {
		t.Errorf("ACT-8 a deactivated farm's grace end: %v %v", evs, err)
	}
	if evs, err := gone.Revalidate(10); err != nil || len(evs) != 0 {
		t.Errorf("ACT-8 a deactivated farm's re-validation: %v %v", evs, err)
	}
	pending := given(activated(farmActivation()), installation.DeactivationRequested{By: "ada"})
	if evs, _ := pending.Report(installation.Report{Seats: 12, ObservedAt: t0.Add(time.Hour), Quota: 10}, t0.Add(time.Hour)); len(evs) != 1 {
		t.Errorf("ACT-7 a pending farm's excess: %v", evs)
	}
	// USE-4: once reactivated, it is not detected any more.
	back := gone.Evolve(installation.Activated{InstallationID: "x", Identity: farmIdentity, Model: product.ConcurrentUsers, Generation: 2}, due)
	if evs, _ := back.DeactivationDue(10, due); len(evs) != 0 {
		t.Errorf("USE-4 a reactivated farm's old deadline: %v", evs)
	}
}

// Rules USE-5, USE-4: the grace can be used again once more seats have
// been bought; GraceEnded decides at the end of a grace as a report
// would.
func TestGrace_again_USE5(t *testing.T) {
	t.Parallel()
	start := t0.Add(time.Hour)
	ends := start.Add(installation.GracePeriod)
	used := given(activated(farmActivation()),
		installation.UsageReported{Seats: 11, ObservedAt: start, Current: true, Quota: 10},
		installation.GraceStarted{Seats: 11, Quota: 10, Ends: ends})
	after := ends.Add(24 * time.Hour)
	for _, c := range []struct {
		name  string
		seats int
		quota int
		at    time.Time
		want  []any // after the UsageReported
	}{
		{"USE-5 quota 12 (seats bought), usage 13: a new grace", 13, 12, after,
			[]any{installation.GraceStarted{Seats: 13, Quota: 12, Ends: after.Add(installation.GracePeriod)}}},
		{"USE-5 seats bought during the grace: a new grace from now", 13, 12, start.Add(time.Hour),
			[]any{installation.GraceStarted{Seats: 13, Quota: 12, Ends: start.Add(time.Hour).Add(installation.GracePeriod)}}},
		{"USE-5 quota unchanged: no new grace, detected", 13, 10, after,
			[]any{installation.OveruseDetected{Seats: 13, Quota: 10, DeactivateAt: after.Add(installation.DeactivationDelay)}}},
		{"USE-5 quota lowered: no new grace, detected", 9, 8, after,
			[]any{installation.OveruseDetected{Seats: 9, Quota: 8, DeactivateAt: after.Add(installation.DeactivationDelay)}}},
		{"USE-5 quota unchanged within the grace: nothing", 13, 10, start.Add(time.Hour), nil},
		{"USE-5 quota 12, usage 12: nothing", 12, 12, after, nil},
	} {
		evs, err := used.Report(installation.Report{Seats: c.seats, ObservedAt: c.at, Quota: c.quota}, c.at)
		want := append([]any{installation.UsageReported{Seats: c.seats, ObservedAt: c.at, Current: true, Quota: c.quota}}, c.want...)
		if err != nil || !same(evs, want) {
			t.Errorf("%s:\n got %#v %v\nwant %#v", c.name, evs, err, want)
		}
	}

	// USE-5: the second grace, once used, is not used a third time at the
	// same quota.
	second := then(t, used, after, []any{
		installation.UsageReported{Seats: 13, ObservedAt: after, Current: true, Quota: 12},
		installation.GraceStarted{Seats: 13, Quota: 12, Ends: after.Add(installation.GracePeriod)},
	}, nil)
	later := after.Add(installation.GracePeriod + time.Hour)
	if evs, _ := second.Report(installation.Report{Seats: 13, ObservedAt: later, Quota: 12}, later); len(evs) != 2 ||
		!reflect.DeepEqual(evs[1], installation.OveruseDetected{Seats: 13, Quota: 12, DeactivateAt: later.Add(installation.DeactivationDelay)}) {
		t.Errorf("USE-5 after the second grace: %#v", evs)
	}

	// USE-4: GraceEnded at the end of the grace.
	over := then(t, used, start.Add(time.Hour), []any{installation.UsageReported{Seats: 14, ObservedAt: start.Add(time.Hour), Current: true, Quota: 10}}, nil)
	within := then(t, used, start.Add(time.Hour), []any{installation.UsageReported{Seats: 10, ObservedAt: start.Add(time.Hour), Current: true, Quota: 10}}, nil)
	for _, c := range []struct {
		name  string
		i     installation.Installation
		quota int
		at    time.Time
		want  []any
	}{
		{"USE-4 GraceEnded with an excess: detected", over, 10, ends,
			[]any{installation.OveruseDetected{Seats: 14, Quota: 10, DeactivateAt: ends.Add(installation.DeactivationDelay)}}},
		{"USE-4 GraceEnded within the quota: nothing", within, 10, ends, nil},
		{"USE-4 GraceEnded before the end: nothing", over, 10, ends.Add(-time.Second), nil},
		{"USE-5 GraceEnded with seats bought meanwhile, still over: a new grace", over, 12, ends,
			[]any{installation.GraceStarted{Seats: 14, Quota: 12, Ends: ends.Add(installation.GracePeriod)}}},
		{"USE-4 GraceEnded of a suspended farm: nothing", over.Evolve(installation.Suspended{Seats: 14, Quota: 10}, ends), 10, ends, nil},
		{"USE-4 GraceEnded once detected: nothing more", over.Evolve(installation.OveruseDetected{Seats: 14, Quota: 10, DeactivateAt: ends}, ends),
			10, ends.Add(time.Minute), nil},
	} {
		evs, err := c.i.GraceEnded(c.quota, c.at)
		if err != nil || !same(evs, c.want) {
			t.Errorf("%s:\n got %#v %v\nwant %#v", c.name, evs, err, c.want)
		}
	}
}

// Rules USE-6, USE-7: a proxy server over its limit is recorded and
// alerted hourly, never suspended; removing computers or adding seats
// ends it.
func TestOverLimit_USE6_USE7(t *testing.T) {
	t.Parallel()
	const quota = 10
	i := given(activated(proxyActivation()))
	week := 7 * 24 * time.Hour
	reported := func(n int, at time.Time, q int) installation.UsageReported {
		return installation.UsageReported{Seats: n, ObservedAt: at, Current: true, Quota: q}
	}
	check := func(name string, evs, want []any, err error) {
		t.Helper()
		if err != nil || !same(evs, want) {
			t.Fatalf("%s:\n got %#v %v\nwant %#v", name, evs, err, want)
		}
	}

	at := t0.Add(week)
	i, evs := report(t, i, quota, quota, at)
	check("USE-6 at the limit", evs, []any{reported(quota, at, quota)}, nil)
	evs, err := i.AlertOverLimit(quota)
	check("USE-6 no alert within the limit", evs, nil, err)

	at = at.Add(week)
	i, evs = report(t, i, 12, quota, at)
	check("USE-6 an excess starts an over-limit period", evs,
		[]any{reported(12, at, quota), installation.OverLimitStarted{AccountID: "acc-1", Computers: 12, Quota: quota}}, nil)
	if !i.OverLimit() || i.Status() != installation.Active {
		t.Fatalf("USE-6 over limit: %v %v", i.OverLimit(), i.Status())
	}

	for n := 1; n <= 3; n++ {
		evs, err = i.AlertOverLimit(quota)
		check("USE-6 the hourly alert", evs, []any{installation.OverLimitAlerted{AccountID: "acc-1", Computers: 12, Quota: quota, Alert: n}}, err)
		i = then(t, i, at.Add(time.Duration(n)*installation.AlertInterval), evs, err)
	}

	// USE-6: never a grace, a detection or a suspension, however long.
	at = at.Add(week)
	i, evs = report(t, i, 30, quota, at)
	check("USE-6 a further excess while over", evs, []any{reported(30, at, quota)}, nil)
	for _, f := range []func() ([]any, error){
		func() ([]any, error) { return i.GraceEnded(quota, at.AddDate(1, 0, 0)) },
		func() ([]any, error) { return i.DeactivationDue(quota, at.AddDate(1, 0, 0)) },
		func() ([]any, error) { return i.Revalidate(quota) },
		func() ([]any, error) { return i.Contact(at.AddDate(1, 0, 0)) },
	} {
		if evs, err := f(); err != nil || len(evs) != 0 {
			t.Fatalf("USE-6 a proxy server was acted on: %v %v", evs, err)
		}
	}
	if evs, _ = i.AlertOverLimit(quota); evs[0].(installation.OverLimitAlerted).Alert != 4 || evs[0].(installation.OverLimitAlerted).Computers != 30 {
		t.Fatalf("USE-6 the 4th alert: %#v", evs)
	}

	// USE-7: computers removed, seen at the next report.
	removed := i
	at = at.Add(week)
	removed, evs = report(t, removed, 9, quota, at)
	check("USE-7 computers removed", evs, []any{reported(9, at, quota), installation.OverLimitEnded{Computers: 9, Quota: quota}}, nil)
	if removed.OverLimit() {
		t.Fatal("USE-7 still over limit")
	}
	evs, err = removed.AlertOverLimit(quota)
	check("USE-6 no alert once ended", evs, nil, err)

	// USE-7: seats added (to the subscription or the key): the hourly
	// check ends it.
	evs, err = i.AlertOverLimit(30)
	check("USE-7 seats added", evs, []any{installation.OverLimitEnded{Computers: 30, Quota: 30}}, err)
	added := then(t, i, at, evs, err)
	if added.OverLimit() {
		t.Fatal("USE-7 still over limit after seats were added")
	}

	// USE-6: a new excess starts a new period, its alerts from 1.
	at = at.Add(week)
	removed, evs = report(t, removed, 11, quota, at)
	check("USE-6 a new excess", evs, []any{reported(11, at, quota), installation.OverLimitStarted{AccountID: "acc-1", Computers: 11, Quota: quota}}, nil)
	if evs, _ = removed.AlertOverLimit(quota); evs[0].(installation.OverLimitAlerted).Alert != 1 {
		t.Errorf("USE-6 the new period's first alert: %#v", evs)
	}

	// ACT-8: a deactivated proxy server is no longer alerted.
	gone := i.Evolve(installation.Deactivated{Reason: installation.ByPortal}, at)
	if evs, err := gone.AlertOverLimit(quota); err != nil || len(evs) != 0 {
		t.Errorf("ACT-8 a deactivated proxy server's alert: %v %v", evs, err)
	}
}

// Rule USE-6: new enrollments are refused at the limit, with the numbers;
// farms do not enroll.
func TestEnroll_USE6(t *testing.T) {
	t.Parallel()
	proxy := given(activated(proxyActivation()))
	at := t0.Add(time.Hour)
	eight, _ := report(t, proxy, 8, 10, at)
	ten, _ := report(t, proxy, 10, 10, at)
	over, _ := report(t, proxy, 12, 10, at)
	farm := given(activated(farmActivation()))
	for _, c := range []struct {
		name   string
		i      installation.Installation
		adding int
		quota  int
		err    error
		says   string
	}{
		{"USE-6 within the limit", eight, 2, 10, nil, ""},
		{"USE-6 past the limit", eight, 3, 10, installation.ErrOverLimit, "8 computers are managed and the license allows 10; 3 more cannot be enrolled"},
		{"USE-6 at the limit", ten, 1, 10, installation.ErrOverLimit, "10 computers are managed and the license allows 10; 1 more cannot be enrolled"},
		{"USE-6 over the limit", over, 1, 10, installation.ErrOverLimit, "12 computers are managed and the license allows 10"},
		{"USE-7 seats added", ten, 1, 11, nil, ""},
		{"USE-6 nothing to enroll", eight, 0, 10, installation.ErrInvalid, ""},
		{"USE-6 an absurd number", eight, installation.MaxSeats + 1, 10, installation.ErrInvalid, ""},
		{"USE-6 farms do not enroll", farm, 1, 10, installation.ErrInvalid, "proxy servers"},
		{"ACT-8 a deactivated proxy server does not enroll", eight.Evolve(installation.Deactivated{Reason: installation.ByPortal}, at),
			1, 10, installation.ErrDeactivated, ""},
		{"an unknown installation", installation.Installation{}, 1, 10, installation.ErrInvalid, ""},
	} {
		evs, err := c.i.Enroll(c.adding, c.quota)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
			continue
		}
		if c.says != "" && !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: the refusal says %q, want %q", c.name, err, c.says)
		}
		want := []any{installation.Enrolled{Computers: c.adding, Managed: c.i.Seats() + c.adding, Quota: c.quota}}
		if err == nil && !same(evs, want) {
			t.Errorf("%s: %#v, want %#v", c.name, evs, want)
		}
		if err != nil && len(evs) != 0 {
			t.Errorf("%s: a refusal recorded %#v", c.name, evs)
		}
	}
}

// Rule USE-6: an accepted enrollment counts at once, until the next usage
// report replaces the count: on a 2-seat proxy server, two enrollments of
// 2 computers in a row with no report between them cannot both pass.
func TestEnroll_counts_at_once_USE6(t *testing.T) {
	t.Parallel()
	at := t0.Add(time.Hour)
	proxy, _ := report(t, given(activated(proxyActivation())), 0, 2, at)
	evs, err := proxy.Enroll(2, 2)
	first := then(t, proxy, at, evs, err)
	if first.Seats() != 2 || first.Peak() != 2 {
		t.Fatalf("USE-6 after enrolling 2: managed %d, peak %d", first.Seats(), first.Peak())
	}
	if evs, err := first.Enroll(2, 2); !errors.Is(err, installation.ErrOverLimit) || len(evs) != 0 {
		t.Fatalf("USE-6 the second enrollment of 2 on 2 seats: %#v %v, want refused", evs, err)
	}
	// The next usage report replaces the count: computers were removed.
	later := at.Add(time.Hour)
	after, _ := report(t, first, 0, 2, later)
	if evs, err := after.Enroll(2, 2); err != nil || len(evs) != 1 {
		t.Fatalf("USE-6 after a report of 0: %#v %v", evs, err)
	}
}

// Rules USE-3, USE-4, USE-5: the grace is available, running until its
// end, or used once it ran out — and available again once seats were
// bought past the quota it was used at.
func TestGrace_state_USE3_USE4_USE5(t *testing.T) {
	t.Parallel()
	start := t0.Add(time.Hour)
	ends := start.Add(installation.GracePeriod)
	fresh := given(activated(farmActivation()))
	used := given(activated(farmActivation()),
		installation.UsageReported{Seats: 11, ObservedAt: start, Current: true, Quota: 10},
		installation.GraceStarted{Seats: 11, Quota: 10, Ends: ends})
	for _, c := range []struct {
		name  string
		i     installation.Installation
		quota int
		at    time.Time
		want  installation.Grace
	}{
		{"USE-3 none began: available", fresh, 10, start, installation.Grace{State: installation.GraceAvailable}},
		{"USE-3 within it: running until its end", used, 10, start.Add(time.Hour), installation.Grace{State: installation.GraceRunning, Ends: ends}},
		{"USE-4 at its end: used", used, 10, ends, installation.Grace{State: installation.GraceUsed, Ends: ends}},
		{"USE-4 long after: used", used, 10, ends.AddDate(0, 1, 0), installation.Grace{State: installation.GraceUsed, Ends: ends}},
		{"USE-5 seats bought: available again", used, 11, ends.Add(time.Hour), installation.Grace{State: installation.GraceAvailable}},
		{"USE-5 seats bought during it: available again", used, 11, start.Add(time.Hour), installation.Grace{State: installation.GraceAvailable}},
	} {
		if got := c.i.Grace(c.quota, c.at); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Rule X-6: a timer decides at its due time. A grace that ends while a
// farm is over its quota is detected at the grace's end, with the
// suspension due an hour after that end — not an hour after whenever the
// timer happened to run (a clock that jumped past the end).
func TestGraceEnded_decides_at_the_due_time_X6_USE4(t *testing.T) {
	t.Parallel()
	start := t0.Add(time.Hour)
	ends := start.Add(installation.GracePeriod)
	over := given(activated(farmActivation()),
		installation.UsageReported{Seats: 12, ObservedAt: start, Current: true, Quota: 10},
		installation.GraceStarted{Seats: 12, Quota: 10, Ends: ends})
	evs, err := over.GraceEnded(10, ends)
	want := []any{installation.OveruseDetected{Seats: 12, Quota: 10, DeactivateAt: ends.Add(installation.DeactivationDelay)}}
	if err != nil || !same(evs, want) {
		t.Fatalf("X-6 GraceEnded at its due time:\n got %#v %v\nwant %#v", evs, err, want)
	}
	detected := then(t, over, ends, evs, nil)
	// Half an hour after the end nothing is due yet; at the deadline the
	// farm is suspended (USE-4: within 1–2 hours of the excess).
	if evs, _ := detected.DeactivationDue(10, ends.Add(30*time.Minute)); len(evs) != 0 {
		t.Errorf("X-6 before the deadline: %#v", evs)
	}
	if evs, _ := detected.DeactivationDue(10, ends.Add(installation.DeactivationDelay)); !same(evs, []any{installation.Suspended{Seats: 12, Quota: 10}}) {
		t.Errorf("X-6 at the deadline: %#v", evs)
	}
}

// Rule ACT-7: a portal deactivation lets the key go at once — the
// installation no longer holds it — and it takes effect when the key
// activates another installation (Superseded), or at the next contact.
func TestPortalDeactivation_releases_the_key_ACT7(t *testing.T) {
	t.Parallel()
	active := given(activated(farmActivation()))
	pending := given(activated(farmActivation()), installation.DeactivationRequested{By: "ada"})
	suspended := given(activated(farmActivation()), installation.Suspended{Seats: 12, Quota: 10})
	if !active.HoldsKey() || !suspended.HoldsKey() || pending.HoldsKey() {
		t.Errorf("ACT-7 holds its key: active %v, suspended %v, pending %v; want true, true, false",
			active.HoldsKey(), suspended.HoldsKey(), pending.HoldsKey())
	}
	if !pending.Licensed() {
		t.Error("ACT-7 a pending installation is not deactivated before it learns of it")
	}
	evs, err := pending.Superseded()
	if err != nil || !same(evs, []any{installation.Deactivated{Reason: installation.ByPortal}}) {
		t.Fatalf("ACT-7 its key activates another installation: %#v %v", evs, err)
	}
	for name, i := range map[string]installation.Installation{"active": active, "suspended": suspended,
		"deactivated": then(t, pending, t0, evs, nil), "unknown": {}} {
		if evs, err := i.Superseded(); err != nil || len(evs) != 0 {
			t.Errorf("ACT-7 Superseded of a %s installation: %#v %v", name, evs, err)
		}
	}
}

// Rules ACT-6, ACT-7, ACT-8, ACT-2: deactivation from the installation
// now, from the portal at the next contact.
func TestDeactivation_ACT6_ACT7(t *testing.T) {
	t.Parallel()
	active := given(activated(farmActivation()))
	pending := given(activated(farmActivation()), installation.DeactivationRequested{By: "ada"})
	suspended := given(activated(farmActivation()), installation.Suspended{Seats: 12, Quota: 10})
	gone := given(activated(farmActivation()), installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Offline, Nonce: "n-9"})
	offlineUsed := given(activated(farmActivation()), installation.Refreshed{Mode: installation.Offline, Nonce: "n-1"})

	for _, c := range []struct {
		name string
		i    installation.Installation
		want []any
		err  error
	}{
		{"ACT-7 an active installation: pending", active, []any{installation.DeactivationRequested{By: "ada"}}, nil},
		{"ACT-7 a suspended farm: pending", suspended, []any{installation.DeactivationRequested{By: "ada"}}, nil},
		{"ACT-7 already pending: nothing", pending, nil, nil},
		{"ACT-8 already deactivated", gone, nil, installation.ErrDeactivated},
		{"an unknown installation", installation.Installation{}, nil, installation.ErrNotFound},
	} {
		evs, err := c.i.RequestDeactivation("ada")
		if !errors.Is(err, c.err) || !same(evs, c.want) {
			t.Errorf("%s: %#v %v; want %#v %v", c.name, evs, err, c.want, c.err)
		}
	}
	evs, err := active.RequestDeactivation("ada")
	if i := then(t, active, t0.Add(time.Hour), evs, err); i.Status() != installation.Pending || !i.Licensed() {
		t.Errorf("ACT-7 pending: %v licensed %v", i.Status(), i.Licensed())
	}

	type deactivation struct {
		reason installation.Reason
		mode   installation.Mode
		nonce  string
	}
	for _, c := range []struct {
		name string
		i    installation.Installation
		d    deactivation
		want []any
		err  error
	}{
		{"ACT-6 online, from the installation", active, deactivation{installation.ByInstallation, installation.Online, ""},
			[]any{installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Online, By: "ada"}}, nil},
		{"ACT-6 offline, with its request's nonce", active, deactivation{installation.ByInstallation, installation.Offline, "n-2"},
			[]any{installation.Deactivated{Reason: installation.ByInstallation, Mode: installation.Offline, Nonce: "n-2", By: "ada"}}, nil},
		{"ACT-2 offline with a used nonce", offlineUsed, deactivation{installation.ByInstallation, installation.Offline, "n-1"},
			nil, installation.ErrReplayed},
		{"KEY-6 a pending installation, its key deleted", pending, deactivation{installation.KeyDeleted, "", ""},
			[]any{installation.Deactivated{Reason: installation.KeyDeleted, By: "ada"}}, nil},
		{"SUB-6 a suspended farm, its subscription expired", suspended, deactivation{installation.SubscriptionEnd, "", ""},
			[]any{installation.Deactivated{Reason: installation.SubscriptionEnd, By: "ada"}}, nil},
		{"ACT-8 already deactivated", gone, deactivation{installation.ByInstallation, installation.Online, ""}, nil, installation.ErrDeactivated},
		{"an unknown installation", installation.Installation{}, deactivation{installation.ByInstallation, installation.Online, ""},
			nil, installation.ErrNotFound},
	} {
		evs, err := c.i.Deactivate(c.d.reason, c.d.mode, c.d.nonce, "ada")
		if !errors.Is(err, c.err) || !same(evs, c.want) {
			t.Errorf("%s: %#v %v; want %#v %v", c.name, evs, err, c.want, c.err)
		}
	}
	// ACT-8: deactivated, it is licensed for nothing.
	if gone.Licensed() || gone.Status() != installation.Inactive {
		t.Errorf("ACT-8 deactivated: %v", gone.Status())
	}
	if _, err := gone.Refresh(installation.Online, "", farmLicense, ""); !errors.Is(err, installation.ErrDeactivated) {
		t.Errorf("ACT-8 a deactivated installation refreshed: %v", err)
	}
}

// Rule ACT-5, issue 16: an online refresh that tells the license the
// installation was last told records nothing, so polling cannot grow the
// log; a changed license is recorded.
func TestRefresh_ACT5_records_only_a_changed_license(t *testing.T) {
	t.Parallel()
	active := given(activated(farmActivation()))
	if evs, err := active.Refresh(installation.Online, "", farmLicense, ""); err != nil || len(evs) != 0 {
		t.Fatalf("an unchanged license: %#v %v", evs, err)
	}
	more := farmLicense
	more.Used, more.Remaining = more.Used+1, more.Remaining-1
	if evs, err := active.Refresh(installation.Online, "", more, ""); err != nil || !same(evs, []any{installation.Refreshed{Mode: installation.Online, License: more}}) {
		t.Fatalf("a changed license: %#v %v", evs, err)
	}
}

// Rules ACT-5, ACT-2: a refresh records the license re-read; an offline
// request file is used once.
func TestRefresh_ACT5(t *testing.T) {
	t.Parallel()
	active := given(activated(farmActivation()))
	more := installation.LicenseOf("k1", "QX9P", t0, t0.AddDate(1, 0, 0), 15, 4, false)
	evs, err := active.Refresh(installation.Offline, "n-1", more, "ada")
	if err != nil || !same(evs, []any{installation.Refreshed{Mode: installation.Offline, Nonce: "n-1", License: more, By: "ada"}}) {
		t.Fatalf("ACT-5 refresh: %#v %v", evs, err)
	}
	if active.License() != farmLicense {
		t.Errorf("ACT-4 the license at activation: %+v", active.License())
	}
	used := then(t, active, t0.Add(time.Hour), evs, err)
	if used.License() != more {
		t.Errorf("ACT-5 the license after a refresh: %+v", used.License())
	}
	if _, err := used.Refresh(installation.Offline, "n-1", more, "ada"); !errors.Is(err, installation.ErrReplayed) {
		t.Errorf("ACT-2 a replayed refresh: %v", err)
	}
	// The folded state before it is unchanged (states share no nonces).
	if _, err := active.Refresh(installation.Offline, "n-1", more, "ada"); err != nil {
		t.Errorf("ACT-2 an earlier state saw a later nonce: %v", err)
	}
	if _, err := (installation.Installation{}).Refresh(installation.Online, "", more, ""); !errors.Is(err, installation.ErrNotFound) {
		t.Errorf("refreshing an unknown installation: %v", err)
	}
}

// Rule INST-4: an admin edits the notes; too long is refused, unchanged
// records nothing.
func TestSetNotes_INST4(t *testing.T) {
	t.Parallel()
	noted := given(activated(farmActivation()), installation.NotesSet{Notes: "rack 4", By: "ada"})
	if noted.Notes() != "rack 4" {
		t.Fatalf("notes %q", noted.Notes())
	}
	gone := noted.Evolve(installation.Deactivated{Reason: installation.ByPortal}, t0)
	for _, c := range []struct {
		name  string
		i     installation.Installation
		notes string
		want  []any
		err   error
	}{
		{"INST-4 X-7 new notes, kept as written", noted, "  rack 5\nsecond line\t", []any{installation.NotesSet{Notes: "  rack 5\nsecond line\t", By: "ada"}}, nil},
		{"INST-4 unchanged notes record nothing", noted, "rack 4", nil, nil},
		{"INST-4 X-7 a NUL in the notes", noted, "rack\x004", nil, installation.ErrInvalid},
		{"INST-4 X-7 an escape character in the notes", noted, "rack\x1b[31m4", nil, installation.ErrInvalid},
		{"INST-4 X-7 right-to-left text with its marks", noted, "\u202bרק 4\u202c, 🚀 \"quoted\" \\", []any{installation.NotesSet{Notes: "\u202bרק 4\u202c, 🚀 \"quoted\" \\", By: "ada"}}, nil},
		{"INST-4 cleared", noted, "", []any{installation.NotesSet{Notes: "", By: "ada"}}, nil},
		{"INST-4 MaxNotes characters", noted, strings.Repeat("é", installation.MaxNotes),
			[]any{installation.NotesSet{Notes: strings.Repeat("é", installation.MaxNotes), By: "ada"}}, nil},
		{"INST-4 too long", noted, strings.Repeat("x", installation.MaxNotes+1), nil, installation.ErrInvalid},
		{"INST-4 invalid text", noted, "rack \xff", nil, installation.ErrInvalid},
		{"INST-4 a deactivated installation keeps its notes editable", gone, "returned", []any{installation.NotesSet{Notes: "returned", By: "ada"}}, nil},
		{"an unknown installation", installation.Installation{}, "x", nil, installation.ErrNotFound},
	} {
		evs, err := c.i.SetNotes(c.notes, "ada")
		if !errors.Is(err, c.err) || !same(evs, c.want) {
			t.Errorf("%s: %#v %v; want %#v %v", c.name, evs, err, c.want, c.err)
		}
	}
}

// Rule ACT-4: an installation's license: key, dates, seats, used and
// remaining, never below 0.
func TestLicenseOf_ACT4(t *testing.T) {
	t.Parallel()
	end := t0.AddDate(1, 0, 0)
	for _, c := range []struct {
		name      string
		quota     int
		used      int
		remaining int
	}{
		{"ACT-4 some used", 10, 4, 6},
		{"ACT-4 all used", 10, 10, 0},
		{"ACT-4 over the quota: none remaining, not negative", 10, 13, 0},
		{"ACT-4 a key with no seats", 0, 2, 0},
		{"ACT-4 nothing used", 5, 0, 5},
	} {
		l := installation.LicenseOf("k1", "QX9P", t0, end, c.quota, c.used, false)
		want := installation.License{KeyID: "k1", KeyHint: "QX9P", Start: t0, End: end, Seats: c.quota, Used: c.used, Remaining: c.remaining}
		if l != want {
			t.Errorf("%s: %+v, want %+v", c.name, l, want)
		}
	}
	if l := installation.LicenseOf("", "", t0, time.Time{}, 5, 1, true); !l.Trial || !l.End.IsZero() || l.Remaining != 4 {
		t.Errorf("ACT-4 SUB-8 a trial's license: %+v", l)
	}
}

// Rule ACT-8: a deactivated installation's report is recorded for the
// auditors at most once an hour; an active one's never is.
func TestRefuseReport_once_an_hour_ACT8(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	active := installation.Installation{}.Evolve(installation.Activated{InstallationID: "i-1", Identity: installation.Identity{Kind: installation.Farm, ServerID: "s", FarmName: "f", AppVersion: "1"},
		Model: installation.Farm.Model(), Generation: 1}, at)
	if out, _ := active.RefuseReport(installation.Report{Seats: 3}, at); len(out) != 0 {
		t.Fatalf("an active installation's report refused: %v", out)
	}
	gone := active.Evolve(installation.Deactivated{Reason: installation.ByInstallation}, at)
	// rule X-7: a malformed report is not a report, and is not recorded
	// (the bad-input sweep found the largest int64 recorded as seats).
	for _, bad := range []installation.Report{{Seats: 1 << 62}, {Seats: -1}, {Seats: 1, ObservedAt: at.Add(24 * time.Hour)},
		{Connections: []usage.Connection{{User: "a\x00", Type: usage.RDPApp, Host: "h"}}}} {
		if out, _ := gone.RefuseReport(bad, at); len(out) != 0 {
			t.Fatalf("a malformed report %+v recorded: %v", bad, out)
		}
	}
	out, _ := gone.RefuseReport(installation.Report{Seats: 3}, at)
	if len(out) != 1 || out[0].(installation.ReportRefused).Seats != 3 {
		t.Fatalf("first refused report: %v", out)
	}
	gone = gone.Evolve(out[0], at)
	if out, _ := gone.RefuseReport(installation.Report{Seats: 4}, at.Add(59*time.Minute)); len(out) != 0 {
		t.Fatalf("a second record within the hour: %v", out)
	}
	if out, _ := gone.RefuseReport(installation.Report{Seats: 4}, at.Add(installation.RefusedEvery)); len(out) != 1 {
		t.Fatalf("no record an hour later: %v", out)
	}
}
