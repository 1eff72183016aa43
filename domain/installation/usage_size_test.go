package installation_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/usage"
)

// registry knows the installation's events.
var registry = func() *event.Registry {
	reg := event.NewRegistry()
	installation.Register(reg)
	return reg
}()

// Issue 16 (rules PROD-3, X-7): a report's connection list is bounded by
// MaxConnections and stored as its summary, so the log grows by a few
// hundred bytes per report, not by the list (10,000 connections once
// made a 728 KB event).
func TestReport_PROD3_stores_connections_compactly(t *testing.T) {
	t.Parallel()
	conns := make([]usage.Connection, installation.MaxConnections)
	for n := range conns {
		conns[n] = usage.Connection{User: fmt.Sprintf(`CORP\user-%04d-%s`, n, strings.Repeat("x", 150)), Type: usage.PublishedApp,
			Admin: n%10 == 0, Host: fmt.Sprintf("rdsh-%02d.corp.example.com", n%40)}
	}
	evs, err := given(activated(farmActivation())).Report(installation.Report{Connections: conns, ObservedAt: t0.Add(time.Hour), Quota: 2000}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := registry.Encode(installation.TypeUsageReported, evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 2048 {
		t.Fatalf("a report of %d connections is a %d-byte event: %s", len(conns), len(data), data)
	}
	got := evs[0].(installation.UsageReported)
	if got.Seats != len(conns) || got.Connections.Connections != len(conns) || got.Connections.Hosts != 40 || got.Connections.Admin != 100 ||
		len(got.Connections.SHA256) != 64 {
		t.Fatalf("summary %+v, seats %d", got.Connections, got.Seats)
	}
	if _, err := given(activated(farmActivation())).Report(installation.Report{Connections: append(conns, conns[0]), Quota: 10}, t0.Add(time.Hour)); err == nil ||
		!strings.Contains(err.Error(), "report larger farms as a count") {
		t.Fatalf("more than MaxConnections: %v", err)
	}
}

// Issue 16 (rule X-2): usage reports recorded with their list (schema
// version 1) read as the summary of that list, so every consumer sees one
// shape and history is not rewritten.
func TestUsageReported_version_1_is_upcast_to_its_summary(t *testing.T) {
	t.Parallel()
	conns := []usage.Connection{
		{User: "ann", Type: usage.PublishedDesktop, Admin: true, Host: "h1"},
		{User: "bob", Type: usage.RDPApp, Host: "h1"},
		{User: "bob", Type: usage.RDPApp, Host: "h2"},
	}
	v1, _ := json.Marshal(map[string]any{"seats": 1, "connections": conns, "observed_at": t0.Add(time.Hour), "current": true, "quota": 10})
	got, err := registry.Decode(event.Record{Type: installation.TypeUsageReported, SchemaVersion: 1, Data: v1})
	if err != nil {
		t.Fatal(err)
	}
	rep := got.(installation.UsageReported)
	_, want, _ := usage.Summarize(conns)
	if rep.Seats != 1 || rep.Connections == nil || rep.Connections.SHA256 != want.SHA256 || rep.Connections.Users != 2 ||
		rep.Connections.FreeAdmin != 1 || rep.Connections.ByType[usage.RDPApp] != 2 {
		t.Fatalf("upcast %+v / %+v", rep, rep.Connections)
	}
	v1count, _ := json.Marshal(map[string]any{"seats": 4, "observed_at": t0.Add(time.Hour), "current": true, "quota": 10})
	if got, err := registry.Decode(event.Record{Type: installation.TypeUsageReported, SchemaVersion: 1, Data: v1count}); err != nil ||
		got.(installation.UsageReported).Connections != nil || got.(installation.UsageReported).Seats != 4 {
		t.Fatalf("a count upcast: %+v %v", got, err)
	}
}
