package projections_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/installation"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
)

// Issue 21: the appends apply the installations and the account feed in
// batches (projections.BatchApplier), a few multi-row statements for a
// run of records. Their rows must be exactly those of applying the records
// one by one, as a rebuild does, whatever the runs: usage reports current
// and not, out of order, of several days, two of one installation in a
// row, a trial installation in no account, a subscription's events before
// its registration (in no feed, USE-1, USE-2, issue 22), each engine.
func TestBatchApply_equals_one_by_one_USE1_USE2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ps := []projections.BatchApplier{projections.Installations{}, projections.AccountFeed{}}
		l := newWorld(t, target, projections.Installations{}, projections.AccountFeed{})
		batchLog(l)
		l.Rebuild()
		want := dumpTables(t, l.DB, ps)
		records, err := l.Store.ReadAll(context.Background(), 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 2, 3, 5, len(records)} {
			clearTables(t, l.DB, ps)
			for start := 0; start < len(records); start += size {
				run := records[start:min(start+size, len(records))]
				tx, err := l.DB.BeginTx(context.Background(), nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					if err := p.ApplyBatch(context.Background(), sqldb.ProjectionTx(tx, l.DB.Engine), run); err != nil {
						t.Fatalf("runs of %d: %s: %v", size, p.Name(), err)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if got := dumpTables(t, l.DB, ps); got != want {
				t.Errorf("runs of %d records: the rows differ from one by one\ngot:\n%s\nwant:\n%s", size, got, want)
			}
		}
		if !strings.Contains(want, "installation.usage_reported") || !strings.Contains(want, "|73|") {
			t.Fatalf("the log did not reach the read models:\n%s", want)
		}
	})
}

// batchLog appends the story of TestBatchApply_equals_one_by_one_USE1_USE2.
func batchLog(l *world) {
	const acct, sub = "acme", "sub-1"
	day1 := t0.Add(2 * time.Hour)
	l.Append(account.StreamID(acct), account.Created{AccountID: acct, Company: account.Company{Name: "Acme", Country: "DE"}, CreatorID: "p-1"})
	l.Append(subscription.StreamID(sub),
		subscription.Purchased{SubscriptionID: sub, OrderID: "o-1", ProductID: "farms", Seats: 10},
		subscription.SeatsAdded{OrderID: "o-2", Seats: 5}, // before its registration: in no feed
		subscription.Registered{AccountID: acct, By: "p-1"},
		subscription.SeatsAdded{OrderID: "o-3", Seats: 5})
	activated := func(id, sub string) installation.Activated {
		return installation.Activated{InstallationID: id,
			Identity: installation.Identity{Kind: installation.Farm, ServerID: "srv-" + id, FarmName: "farm " + id, AppVersion: "5.1"},
			Mode:     installation.Online, KeyID: "k-" + id, SubscriptionID: sub, AccountID: acct, ProductID: "farms",
			Model: product.ConcurrentUsers, Generation: 1, License: installation.License{KeyID: "k-" + id, Start: t0, Seats: 20, Trial: sub == ""}}
	}
	report := func(seats, quota int, observed time.Time, current bool) installation.UsageReported {
		return installation.UsageReported{Seats: seats, Quota: quota, ObservedAt: observed, Current: current}
	}
	l.Append(installation.StreamID("a"), activated("a", sub), report(3, 20, day1, true), report(7, 20, day1.Add(time.Minute), true))
	l.Append(installation.StreamID("b"), activated("b", sub))
	l.Append(installation.StreamID("trial"), activated("trial", ""), report(2, 20, day1, true))
	for i := range 12 {
		at := day1.Add(time.Duration(i) * 5 * time.Hour)
		l.Append(installation.StreamID("a"), report(10+i, 20+i%3, at, true))
		l.Append(installation.StreamID("b"), report(30-i, 25, at.Add(-30*time.Hour), i%2 == 0)) // late, some not current
		if i == 5 {
			l.Append(installation.StreamID("b"), report(73, 25, at.Add(-50*time.Hour), false), report(4, 18, at, true))
			l.Append(ticket.StreamID("t-1"), ticket.Opened{TicketID: "t-1", AccountID: acct, Owner: "p-1", ProductID: "farms",
				Category: ticket.CategoryLicensing, Subject: "Peak", Description: "Why 73?", Channel: ticket.Channel{Kind: ticket.ChannelEmail}})
		}
	}
}

func dumpTables(t *testing.T, db *sqldb.DB, ps []projections.BatchApplier) string {
	t.Helper()
	var out strings.Builder
	for _, p := range ps {
		for _, table := range p.Tables() {
			rows, err := db.Select(context.Background(), `SELECT * FROM `+table+` ORDER BY 1, 2`)
			if err != nil {
				t.Fatal(err)
			}
			cols, err := rows.Columns()
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				values := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range values {
					ptrs[i] = &values[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "%s", table)
				for _, v := range values {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					fmt.Fprintf(&out, "|%v", v)
				}
				out.WriteString("|\n")
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
	}
	return out.String()
}

func clearTables(t *testing.T, db *sqldb.DB, ps []projections.BatchApplier) {
	t.Helper()
	for _, p := range ps {
		for _, table := range p.Tables() {
			if err := db.Write(context.Background(), `DELETE FROM `+table); err != nil {
				t.Fatal(err)
			}
		}
	}
}
