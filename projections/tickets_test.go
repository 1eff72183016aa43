package projections_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"seatledger/domain/account"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/ticket"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// ticketWorld is a world with the notifier and the tickets read model.
type ticketWorld struct{ *world }

func newTicketWorld(t *testing.T, target sqldb.Target) *ticketWorld {
	return &ticketWorld{newWorld(t, target, projections.Notifier{Scheduler: timers.Scheduler{}}, projections.Tickets{})}
}

func recipients(mails []sentMail, id string) []string {
	var out []string
	for _, m := range mails {
		if strings.HasPrefix(m.id, "mail/"+id+"/") {
			out = append(out, strings.TrimSuffix(m.mail.To, "@example.com"))
		}
	}
	slices.Sort(out)
	return out
}

// Rule TKT-3: only the ticket's owner and its watchers are mailed — when
// support replies, when support changes the status, and when a watcher
// is added (the new one too, but not the owner who added them) — each in
// their own message whose timer ID names the event and the recipient;
// admins who do not watch, other members, blocked or demoted watchers and
// the customer's own actions mail nobody.
func TestNotifier_mails_only_owner_and_watchers_TKT3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newTicketWorld(t, target)
		for _, p := range []string{"ada", "bob", "cyd", "dan", "eve", "fay"} {
			w.Append(person.StreamID(p), person.SignedUp{PersonID: p, FirstName: strings.ToUpper(p[:1]) + p[1:], LastName: "X",
				Email: p + "@example.com", PasswordHash: "x", TermsVersion: "t", VerifiedByInvitation: "inv"})
		}
		w.Append(product.StreamID("ras"), product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19})
		acc := account.StreamID("acc-1")
		w.Append(acc, account.Created{AccountID: "acc-1", CreatorID: "ada", SupportCode: "S",
			Company: account.Company{Name: "Acme", Country: "DE", ZIP: "1", Phone: "1"}})
		for _, p := range []string{"bob", "cyd", "dan", "eve", "fay"} {
			w.Append(acc, account.MemberJoined{PersonID: p})
		}
		for _, p := range []string{"cyd", "dan", "fay"} {
			w.Append(acc, account.RoleChanged{PersonID: p, Role: account.RoleAdmin, By: "ada"})
		}
		support := ticket.SupportAuthor("anna")
		id := "T-7K2M-QX9P"
		tk := ticket.StreamID(id)
		w.Append(tk, ticket.Opened{TicketID: id, AccountID: "acc-1", Owner: "bob", ProductID: "ras", Category: ticket.CategoryActivation,
			Subject: "Farm does not activate", Description: "It does not.", Channel: ticket.Channel{Kind: ticket.ChannelEmail}})
		addCyd := w.One(tk, ticket.WatcherAdded{PersonID: "cyd", By: "bob"}).ID
		addDan := w.One(tk, ticket.WatcherAdded{PersonID: "dan", By: "bob"}).ID
		addFay := w.One(tk, ticket.WatcherAdded{PersonID: "fay", By: "bob"}).ID
		w.Append(acc, account.MemberBlocked{PersonID: "dan", By: "ada"})                         // MEM-8: a blocked watcher hears nothing
		w.Append(acc, account.RoleChanged{PersonID: "fay", Role: account.RoleMember, By: "ada"}) // a demoted one neither
		reply := w.Append(tk, ticket.Replied{ReplyID: "r-1", Author: support, FromSupport: true,
			Body: "Please send the log.\n" + strings.Repeat("x", 3000), Attachments: []ticket.Attachment{{AttachmentID: "a"}}})[0].ID
		status := w.One(tk, ticket.StatusChanged{Status: ticket.StatusAwaitingCustomer, By: support}).ID
		own := w.Append(tk, ticket.Replied{ReplyID: "r-2", Author: "bob", Body: "Here."}, ticket.StatusChanged{Status: ticket.StatusOpen, By: "bob"})
		closed := w.One(tk, ticket.Closed{By: "bob"}).ID
		w.Rebuild("notifier")

		mails := scheduledMail(w.world, "ticket_")
		for _, c := range []struct {
			what, event string
			want        string
		}{
			{"watcher cyd added", addCyd, "cyd"},
			{"watcher dan added", addDan, "cyd,dan"},
			{"watcher fay added", addFay, "cyd,dan,fay"},
			{"support's reply", reply, "bob,cyd"},
			{"support's status change", status, "bob,cyd"},
			{"the owner's reply", own[0].ID, ""},
			{"the status the owner's reply set", own[1].ID, ""},
			{"the owner closing", closed, ""},
		} {
			if got := strings.Join(recipients(mails, c.event), ","); got != c.want {
				t.Errorf("%s: mailed %q, want %q", c.what, got, c.want)
			}
		}
		if len(mails) != 1+2+3+2+2 {
			t.Errorf("%d ticket mails, want 10", len(mails))
		}
		for _, m := range mails {
			if to := strings.TrimSuffix(m.mail.To, "@example.com"); !strings.HasSuffix(m.id, "/"+to) {
				t.Errorf("timer %s mails %s: the ID must name the recipient", m.id, m.mail.To)
			}
			if m.mail.Link == nil || m.mail.Link.Path != "/tickets/"+id || m.mail.Data["ticket_id"] != id || m.mail.Data["subject"] != "Farm does not activate" {
				t.Errorf("mail %s: %+v", m.id, m.mail)
			}
		}
		for _, m := range mails {
			switch {
			case strings.HasPrefix(m.id, "mail/"+reply+"/"):
				d := m.mail.Data
				if m.mail.Template != projections.TemplateTicketUpdate || d["kind"] != "reply" || d["status"] != "open" ||
					d["attachments"] != "1" || d["product"] != "Remote Application Server" || d["company"] != "Acme" ||
					!strings.HasPrefix(d["reply"], "Please send the log.") || len([]rune(d["reply"])) != 2001 {
					t.Errorf("reply mail %+v", m.mail)
				}
			case strings.HasPrefix(m.id, "mail/"+status+"/"):
				if m.mail.Data["kind"] != "status" || m.mail.Data["status"] != "awaiting_customer" {
					t.Errorf("status mail %+v", m.mail)
				}
			case strings.HasPrefix(m.id, "mail/"+addCyd+"/"):
				if m.mail.Template != projections.TemplateTicketWatcher || m.mail.Data["watcher"] != "Cyd X" ||
					(m.mail.Data["you_watch"] == "yes") != strings.HasSuffix(m.id, "/cyd") {
					t.Errorf("watcher mail %s: %+v", m.id, m.mail)
				}
			}
		}

		// A rebuild replays the log: no mail is scheduled twice.
		w.Rebuild("notifier")
		if again := scheduledMail(w.world, "ticket_"); len(again) != len(mails) {
			t.Errorf("%d ticket mails after a rebuild, want %d", len(again), len(mails))
		}
	})
}

// Rule TKT-3, issue 20: the owner adding the first watcher of a ticket
// was sent two mails for one action — one to the new watcher and one to
// the owner about their own action. Now it sends one: to the watcher.
func TestNotifier_adding_a_watcher_sends_one_mail_TKT3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newTicketWorld(t, target)
		for _, p := range []string{"bob", "cyd"} {
			w.Append(person.StreamID(p), person.SignedUp{PersonID: p, FirstName: p, LastName: "X",
				Email: p + "@example.com", PasswordHash: "x", TermsVersion: "t", VerifiedByInvitation: "inv"})
		}
		w.Append(product.StreamID("ras"), product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19})
		acc := account.StreamID("acc-1")
		w.Append(acc, account.Created{AccountID: "acc-1", CreatorID: "bob", SupportCode: "S",
			Company: account.Company{Name: "Acme", Country: "DE", ZIP: "1", Phone: "1"}}, account.MemberJoined{PersonID: "cyd"},
			account.RoleChanged{PersonID: "cyd", Role: account.RoleAdmin, By: "bob"})
		id := "T-ONE-MAIL"
		tk := ticket.StreamID(id)
		w.Append(tk, ticket.Opened{TicketID: id, AccountID: "acc-1", Owner: "bob", ProductID: "ras", Category: ticket.CategoryOther,
			Subject: "S", Description: "D", Channel: ticket.Channel{Kind: ticket.ChannelEmail}})
		added := w.One(tk, ticket.WatcherAdded{PersonID: "cyd", By: "bob"}).ID
		w.Rebuild("notifier")
		if got := strings.Join(recipients(scheduledMail(w.world, "ticket_"), added), ","); got != "cyd" {
			t.Fatalf("adding a watcher mailed %q, want one mail, to cyd", got)
		}
	})
}

// Rule TKT-4: the tickets read model follows the ticket's status, and
// applying the log again (a rebuild) builds the same rows.
func TestTickets_read_model_follows_status_TKT4(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newTicketWorld(t, target)
		id := "T-AAAA-BBBB"
		tk := ticket.StreamID(id)
		w.Append(tk, ticket.Opened{TicketID: id, AccountID: "acc-1", Owner: "bob", ProductID: "ras", Category: ticket.CategoryOther,
			Subject: "S", Description: "D", Channel: ticket.Channel{Kind: ticket.ChannelChat}})
		w.Append(tk, ticket.Replied{ReplyID: "r-1", Author: "bob", Body: "more"}, ticket.Replied{ReplyID: "r-2", Author: "bob", Body: "and more"})
		w.Append(tk, ticket.StatusChanged{Status: ticket.StatusResolved, By: ticket.SupportAuthor("anna")})
		w.Append(tk, ticket.Reopened{By: "bob"})
		snapshot := func() string {
			var status string
			var replies int
			if err := w.DB.SelectRow(context.Background(), `SELECT status, reply_count FROM tkt_tickets WHERE ticket_id = ?`, id).Scan(&status, &replies); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%s/%d", status, replies)
		}
		w.Rebuild("tickets")
		if got := snapshot(); got != "open/2" {
			t.Errorf("after reopening: %s", got)
		}
		w.Append(tk, ticket.Closed{By: "bob"})
		w.Rebuild("tickets", "tickets")
		if got := snapshot(); got != "closed/2" {
			t.Errorf("after closing: %s", got)
		}
	})
}
