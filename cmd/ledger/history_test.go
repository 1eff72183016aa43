package main

import (
	"encoding/json"
	"strings"
	"testing"

	"seatledger/domain/event"
	"seatledger/domain/licensekey"
	"seatledger/domain/subscription"
	"seatledger/infra/projection/projectiontest"
	"seatledger/infra/sqldb/sqldbtest"
)

// Rules: `ledger history` prints who changed what, when and
// why; `ledger state` prints the state as of a date; bad input is one line.
func TestHistory_and_state_X1_X2(t *testing.T) {
	target := sqldbtest.SQLite(t)
	l := projectiontest.New(t, target)
	ada := event.Actor{Kind: event.ActorPerson, ID: "p-ada"}
	orders := event.Actor{Kind: event.ActorBackOffice, ID: "orders"}
	key := subscription.SealedKey{KeyID: "key-1", Lookup: []byte("lookup-1"), Sealed: []byte("sealed-1"), Hint: "AB"}
	l.AppendBy(subscription.StreamID("s"), orders, "ApplyOrder", subscription.Purchased{SubscriptionID: "s", OrderID: "o-1", OrderDigest: "d",
		ProductID: "farms", Seats: 10, Period: subscription.Year, Channel: subscription.Online, SupportPlan: subscription.Standard,
		Start: projectiontest.Start, End: projectiontest.Start.AddDate(1, 0, 0), PrimaryKey: subscription.SealedKey{KeyID: "key-p"}})
	l.AppendBy(licensekey.StreamID("key-1"), ada, "CreateSublicense", licensekey.Issued{KeyID: "key-1", SubscriptionID: "s"})
	l.AppendBy(subscription.StreamID("s"), ada, "CreateSublicense", subscription.SublicenseCreated{Key: key, Name: "Lab", Quota: 4, By: "p-ada"})
	l.Clock.Advance(48 * 3600e9)
	l.AppendBy(subscription.StreamID("s"), orders, "ApplyOrder", subscription.SeatsAdded{OrderID: "o-2", OrderDigest: "d2", Seats: 5})
	env := map[string]string{"LEDGER_DATABASE_URL": target.DSN}

	code, out, errOut := runCLI(t, env, "history", "subscription", "s")
	if code != exitOK || errOut != "" {
		t.Fatalf("history: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "back_office:orders") || !strings.Contains(lines[1], "ApplyOrder") ||
		!strings.Contains(lines[2], "person:p-ada") || !strings.Contains(lines[3], "seats: 10 → 15") {
		t.Errorf("history:\n%s", out)
	}
	code, out, _ = runCLI(t, env, "history", "keys", "key-1", "--field", "key.quota", "--json")
	var ev struct {
		Actor   event.Actor
		Changes []struct{ Field string }
	}
	if code != exitOK || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &ev) != nil || ev.Actor != ada {
		t.Errorf("key history as JSON: exit %d, %s", code, out)
	}
	code, out, _ = runCLI(t, env, "state", "key", "key-1", "--as-of", projectiontest.Start.Format("2006-01-02"))
	var st struct {
		Exists bool
		State  struct {
			Key          struct{ Quota int }
			Subscription struct{ Seats int }
		}
	}
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || !st.Exists || st.State.Key.Quota != 4 || st.State.Subscription.Seats != 10 {
		t.Errorf("state as of the first day: exit %d, %s", code, out)
	}
	if strings.Contains(out, "sealed") || strings.Contains(out, "lookup") {
		t.Errorf("the state shows secrets: %s", out)
	}

	code, _, errOut = runCLI(t, env, "history", "ticket", "t-1")
	if code != exitUsage {
		t.Errorf("unknown kind: exit %d", code)
	}
	wantOneLine(t, errOut, "ledger: unknown kind")
	code, _, errOut = runCLI(t, env, "state", "subscription", "s", "--as-of", "last tuesday")
	if code != exitUsage {
		t.Errorf("bad as-of: exit %d", code)
	}
	wantOneLine(t, errOut, "ledger: as-of \"last tuesday\" is neither")
	code, _, errOut = runCLI(t, env, "history", "subscription", "nope")
	if code != exitFailure {
		t.Errorf("unknown subscription: exit %d", code)
	}
	wantOneLine(t, errOut, `ledger: no subscription "nope" has ever existed`)
}
