package queries_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/ticket"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// ticketLog runs the directory, licenses and tickets projections.
type ticketLog struct{ *testLog }

func newTicketLog(tb testing.TB, target sqldb.Target) *ticketLog {
	return &ticketLog{newTestLog(tb, target, projections.Directory{}, projections.Licenses{}, projections.Tickets{})}
}

func (l *ticketLog) ticket(id string, payloads ...any) {
	l.Append(ticket.StreamID(id), payloads...)
}

func ticketOpened(id, acc, owner string) ticket.Opened {
	return ticket.Opened{TicketID: id, AccountID: acc, Owner: owner, ProductID: "ras", Category: ticket.CategoryTechnical,
		Subject: "Issue " + id, Description: "Details of " + id, Channel: ticket.Channel{Kind: ticket.ChannelEmail}}
}

func ticketIDs(p queries.TicketsPage) string {
	ids := make([]string, len(p.Tickets))
	for i, t := range p.Tickets {
		ids[i] = strings.TrimPrefix(t.TicketID, "T-0000-")
	}
	return strings.Join(ids, ",")
}

// Rule TKT-4 (with TKT-3, X-5): "My Tickets" lists a member's own
// tickets, or for an admin all of the account's, newest first, filtered
// by current, closed or one status, a page at a time; another account's
// tickets never appear.
func TestTickets_list_TKT4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newTicketLog(t, target)
		l.Append(product.StreamID("ras"), product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19})
		l.Append(person.StreamID("bob"), person.SignedUp{PersonID: "bob", FirstName: "Bob", LastName: "Baker", Email: "bob@example.com", PasswordHash: "x", TermsVersion: "t"})
		support := ticket.SupportAuthor("anna")
		// 0001..0006 are acc-1's; bob owns the odd ones; 0009 is acc-2's.
		for i := 1; i <= 6; i++ {
			owner := "bob"
			if i%2 == 0 {
				owner = "ada"
			}
			l.ticket(fmt.Sprintf("T-0000-000%d", i), ticketOpened(fmt.Sprintf("T-0000-000%d", i), "acc-1", owner))
		}
		// 000A and 000B are opened at the same time: the ID breaks the tie.
		same := t0.Add(time.Hour)
		l.AppendAt(ticket.StreamID("T-0000-000A"), same, ticketOpened("T-0000-000A", "acc-1", "bob"))
		l.AppendAt(ticket.StreamID("T-0000-000B"), same, ticketOpened("T-0000-000B", "acc-1", "bob"))
		l.ticket("T-0000-0009", ticketOpened("T-0000-0009", "acc-2", "bob"))
		l.ticket("T-0000-0001", ticket.StatusChanged{Status: ticket.StatusInProgress, By: support})
		l.ticket("T-0000-0003", ticket.StatusChanged{Status: ticket.StatusResolved, By: support})
		l.ticket("T-0000-0005", ticket.Closed{By: "bob"})
		l.ticket("T-0000-0002", ticket.StatusChanged{Status: ticket.StatusAwaitingCustomer, By: support})
		l.Rebuild()

		list := func(f queries.TicketsFilter) queries.TicketsPage {
			t.Helper()
			f.AccountID = "acc-1"
			p, err := queries.Tickets(ctx, l.DB, f)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		mine := queries.TicketsFilter{Person: "bob"}
		for _, c := range []struct {
			name string
			f    queries.TicketsFilter
			want string
		}{
			{"a member's own, newest first", mine, "000B,000A,0005,0003,0001"},
			{"an admin's, all of the account", queries.TicketsFilter{Person: "ada", AllOfAccount: true}, "000B,000A,0006,0005,0004,0003,0002,0001"},
			{"current", queries.TicketsFilter{Person: "bob", Status: "current"}, "000B,000A,0001"},
			{"closed: resolved or closed", queries.TicketsFilter{Person: "bob", Status: "closed"}, "0005,0003"},
			{"one status", queries.TicketsFilter{AllOfAccount: true, Status: "awaiting_customer"}, "0002"},
			{"in progress", queries.TicketsFilter{Person: "bob", Status: "in_progress"}, "0001"},
			{"nobody else's", queries.TicketsFilter{Person: "eve"}, ""},
		} {
			if got := ticketIDs(list(c.f)); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
		var pages []string
		f := queries.TicketsFilter{AllOfAccount: true, Limit: 3}
		for range 5 {
			p := list(f)
			pages = append(pages, ticketIDs(p))
			if f.After = p.Next; p.Next == "" {
				break
			}
		}
		if got := strings.Join(pages, " | "); got != "000B,000A,0006 | 0005,0004,0003 | 0002,0001" {
			t.Errorf("pages: %s", got)
		}
		row := list(queries.TicketsFilter{Person: "bob", Status: "in_progress"}).Tickets[0]
		if row.OwnerName != "Bob Baker" || row.ProductName != "Remote Application Server" || row.Status != "in_progress" ||
			row.Category != "technical" || row.Channel != "email" || row.Subject != "Issue T-0000-0001" || row.CreatedAt.After(row.UpdatedAt) || row.CreatedAt.Equal(row.UpdatedAt) {
			t.Errorf("row %+v", row)
		}
		for _, bad := range []queries.TicketsFilter{
			{AccountID: "acc-1", Person: "bob", Status: "done"},
			{AccountID: "acc-1", Person: "bob", After: "yesterday"},
			{AccountID: "acc-1"}, // neither a member nor all
			{Person: "bob"},      // no account
		} {
			if _, err := queries.Tickets(ctx, l.DB, bad); !errors.Is(err, queries.ErrInvalidFilter) {
				t.Errorf("%+v: %v, want ErrInvalidFilter", bad, err)
			}
		}
	})
}

// Rules TKT-1..3: a ticket's page shows its description and channel,
// replies oldest first with their attachments' metadata, the watchers and
// the survey.
func TestTicketDetails_TKT1_TKT2_TKT3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		l := newTicketLog(t, target)
		l.Append(person.StreamID("bob"), person.SignedUp{PersonID: "bob", FirstName: "Bob", LastName: "Baker", Email: "bob@example.com", PasswordHash: "x", TermsVersion: "t"})
		l.Append(person.StreamID("cyd"), person.SignedUp{PersonID: "cyd", FirstName: "Cyd", LastName: "Cole", Email: "cyd@example.com", PasswordHash: "x", TermsVersion: "t"})
		call := t0.Add(48 * time.Hour)
		o := ticketOpened("T-0000-0001", "acc-1", "bob")
		o.Channel = ticket.Channel{Kind: ticket.ChannelCall, CallAt: &call}
		log := ticket.Attachment{AttachmentID: "a-1", Name: "farm.log", ContentType: "text/plain", Size: 12, SHA256: strings.Repeat("0f", 32)}
		png := ticket.Attachment{AttachmentID: "a-2", Name: "screen.png", ContentType: "image/png", Size: 99, SHA256: strings.Repeat("ab", 32)}
		support := ticket.SupportAuthor("anna")
		l.ticket("T-0000-0001", o)
		l.ticket("T-0000-0001", ticket.Replied{ReplyID: "r-2", Author: support, FromSupport: true, Body: "Please send the log."})
		l.ticket("T-0000-0001", ticket.Replied{ReplyID: "r-1", Author: "bob", Body: "Here.", Attachments: []ticket.Attachment{log, png}})
		l.ticket("T-0000-0001", ticket.WatcherAdded{PersonID: "cyd", By: "bob"}, ticket.WatcherAdded{PersonID: "ada", By: "bob"})
		l.ticket("T-0000-0001", ticket.WatcherRemoved{PersonID: "ada", By: "bob"})
		l.ticket("T-0000-0001", ticket.StatusChanged{Status: ticket.StatusResolved, By: support},
			ticket.SurveySubmitted{Rating: 5, Feedback: "Fast.", By: "bob"})
		l.Rebuild()

		d, err := queries.TicketDetails(ctx, l.DB, "T-0000-0001")
		if err != nil {
			t.Fatal(err)
		}
		if d.Description != "Details of T-0000-0001" || d.Channel != "call" || d.CallAt == nil || !d.CallAt.Equal(call) ||
			d.Status != "resolved" || d.ReplyCount != 2 || d.OwnerName != "Bob Baker" {
			t.Errorf("ticket %+v", d.TicketSummary)
		}
		if len(d.Replies) != 2 || d.Replies[0].ReplyID != "r-2" || !d.Replies[0].FromSupport || d.Replies[0].AuthorName != "" ||
			len(d.Replies[0].Attachments) != 0 || d.Replies[1].AuthorName != "Bob Baker" {
			t.Fatalf("replies %+v", d.Replies)
		}
		if a := d.Replies[1].Attachments; len(a) != 2 || a[0].AttachmentID != "a-1" || a[1] != (queries.AttachmentMetadata{
			AttachmentID: "a-2", Name: "screen.png", ContentType: "image/png", Size: 99, SHA256: png.SHA256}) {
			t.Errorf("attachments %+v", a)
		}
		if len(d.Watchers) != 1 || d.Watchers[0].PersonID != "cyd" || d.Watchers[0].Name != "Cyd Cole" {
			t.Errorf("watchers %+v", d.Watchers)
		}
		if d.Survey == nil || d.Survey.Rating != 5 || d.Survey.Feedback != "Fast." || d.Survey.SubmittedBy != "bob" {
			t.Errorf("survey %+v", d.Survey)
		}
		if _, err := queries.TicketDetails(ctx, l.DB, "T-0000-0002"); !errors.Is(err, queries.ErrNotFound) {
			t.Errorf("unknown ticket: %v", err)
		}
	})
}
