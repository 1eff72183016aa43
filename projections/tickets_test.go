package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/ticket"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/infra/timers"
	"seatledger/projections"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// ticketWorld is an event store and read store with the notifier and the
// tickets read model; tests append events and run the projections.
type ticketWorld struct {
	t     *testing.T
	db    *sqldb.DB
	store eventstore.Store
	clk   *clock.Simulated
	rt    *projection.Runtime
	reg   *event.Registry
}

func newTicketWorld(t *testing.T, target sqldb.Target) *ticketWorld {
	t.Helper()
	ctx := context.Background()
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(t0)
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store,
		Projections: []projections.Projection{projections.Notifier{Scheduler: timers.Scheduler{}}, projections.Tickets{}}})
	if err != nil {
		t.Fatal(err)
	}
	reg := event.NewRegistry()
	for _, register := range []func(*event.Registry){account.Register, person.Register, product.Register, ticket.Register} {
		register(reg)
	}
	return &ticketWorld{t: t, db: db, store: store, clk: clk, rt: rt, reg: reg}
}

// append appends payloads to stream, a minute after the last append, and
// returns the appended events' IDs.
func (w *ticketWorld) append(stream string, payloads ...any) []string {
	w.t.Helper()
	if _, err := w.clk.Advance(time.Minute); err != nil {
		w.t.Fatal(err)
	}
	evs := make([]event.Proposed, len(payloads))
	ids := make([]string, len(payloads))
	for i, p := range payloads {
		name, ok := w.reg.NameOf(p)
		if !ok {
			w.t.Fatalf("%T is not registered", p)
		}
		data, v, err := w.reg.Encode(name, p)
		if err != nil {
			w.t.Fatal(err)
		}
		ids[i] = fmt.Sprintf("00000000-0000-7000-8000-%012d", w.clk.Now().Unix()%1_000_000*10+int64(i))
		evs[i] = event.Proposed{ID: ids[i], Type: name, SchemaVersion: v, Data: data,
			Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}
	}
	if _, err := w.store.Append(context.Background(), stream, event.Any(), evs...); err != nil {
		w.t.Fatal(err)
	}
	return ids
}

func (w *ticketWorld) run(names ...string) {
	w.t.Helper()
	for _, name := range names {
		if err := w.rt.Rebuild(context.Background(), name, nil); err != nil {
			w.t.Fatal(err)
		}
	}
}

// sentMail is a scheduled mail timer: its ID and payload.
type sentMail struct {
	id   string
	mail projections.Mail
}

// ticketMail returns the ticket mail the notifier scheduled (the outbox:
// the timers table), by timer ID.
func (w *ticketWorld) ticketMail() []sentMail {
	w.t.Helper()
	rows, err := w.db.Select(context.Background(), `SELECT id, payload FROM timers WHERE kind = ? ORDER BY id`, projections.TimerKindMail)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []sentMail
	for rows.Next() {
		var s sentMail
		var payload string
		if err := rows.Scan(&s.id, &payload); err != nil {
			w.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(payload), &s.mail); err != nil {
			w.t.Fatal(err)
		}
		if strings.HasPrefix(s.mail.Template, "ticket_") {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// recipients returns who got mail caused by event id, sorted.
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
// is added (the new one too) — each in their own message whose timer ID
// names the event and the recipient; admins who do not watch, other
// members, blocked or demoted watchers and the customer's own actions
// mail nobody.
func TestNotifier_mails_only_owner_and_watchers_TKT3(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		w := newTicketWorld(t, target)
		for _, p := range []string{"ada", "bob", "cyd", "dan", "eve", "fay"} {
			w.append(person.StreamID(p), person.SignedUp{PersonID: p, FirstName: strings.ToUpper(p[:1]) + p[1:], LastName: "X",
				Email: p + "@example.com", PasswordHash: "x", TermsVersion: "t", VerifiedByInvitation: "inv"})
		}
		w.append(product.StreamID("ras"), product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19})
		acc := account.StreamID("acc-1")
		w.append(acc, account.Created{AccountID: "acc-1", CreatorID: "ada", SupportCode: "S",
			Company: account.Company{Name: "Acme", Country: "DE", ZIP: "1", Phone: "1"}})
		for _, p := range []string{"bob", "cyd", "dan", "eve", "fay"} {
			w.append(acc, account.MemberJoined{PersonID: p})
		}
		for _, p := range []string{"cyd", "dan", "fay"} {
			w.append(acc, account.RoleChanged{PersonID: p, Role: account.RoleAdmin, By: "ada"})
		}
		support := ticket.SupportAuthor("anna")
		id := "T-7K2M-QX9P"
		tk := ticket.StreamID(id)
		w.append(tk, ticket.Opened{TicketID: id, AccountID: "acc-1", Owner: "bob", ProductID: "ras", Category: ticket.CategoryActivation,
			Subject: "Farm does not activate", Description: "It does not.", Channel: ticket.Channel{Kind: ticket.ChannelEmail}})
		addCyd := w.append(tk, ticket.WatcherAdded{PersonID: "cyd", By: "bob"})[0]
		addDan := w.append(tk, ticket.WatcherAdded{PersonID: "dan", By: "bob"})[0]
		addFay := w.append(tk, ticket.WatcherAdded{PersonID: "fay", By: "bob"})[0]
		w.append(acc, account.MemberBlocked{PersonID: "dan", By: "ada"})                         // MEM-8: a blocked watcher hears nothing
		w.append(acc, account.RoleChanged{PersonID: "fay", Role: account.RoleMember, By: "ada"}) // a demoted one neither
		reply := w.append(tk, ticket.Replied{ReplyID: "r-1", Author: support, FromSupport: true,
			Body: "Please send the log.\n" + strings.Repeat("x", 3000), Attachments: []ticket.Attachment{{AttachmentID: "a"}}})[0]
		status := w.append(tk, ticket.StatusChanged{Status: ticket.StatusAwaitingCustomer, By: support})[0]
		own := w.append(tk, ticket.Replied{ReplyID: "r-2", Author: "bob", Body: "Here."}, ticket.StatusChanged{Status: ticket.StatusOpen, By: "bob"})
		closed := w.append(tk, ticket.Closed{By: "bob"})[0]
		w.run("notifier")

		mails := w.ticketMail()
		for _, c := range []struct {
			what, event string
			want        string
		}{
			{"watcher cyd added", addCyd, "bob,cyd"},
			{"watcher dan added", addDan, "bob,cyd,dan"},
			{"watcher fay added", addFay, "bob,cyd,dan,fay"},
			{"support's reply", reply, "bob,cyd"},
			{"support's status change", status, "bob,cyd"},
			{"the owner's reply", own[0], ""},
			{"the status the owner's reply set", own[1], ""},
			{"the owner closing", closed, ""},
		} {
			if got := strings.Join(recipients(mails, c.event), ","); got != c.want {
				t.Errorf("%s: mailed %q, want %q", c.what, got, c.want)
			}
		}
		if len(mails) != 2+3+4+2+2 {
			t.Errorf("%d ticket mails, want 13", len(mails))
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
		w.run("notifier")
		if again := w.ticketMail(); len(again) != len(mails) {
			t.Errorf("%d ticket mails after a rebuild, want %d", len(again), len(mails))
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
		w.append(tk, ticket.Opened{TicketID: id, AccountID: "acc-1", Owner: "bob", ProductID: "ras", Category: ticket.CategoryOther,
			Subject: "S", Description: "D", Channel: ticket.Channel{Kind: ticket.ChannelChat}})
		w.append(tk, ticket.Replied{ReplyID: "r-1", Author: "bob", Body: "more"}, ticket.Replied{ReplyID: "r-2", Author: "bob", Body: "and more"})
		w.append(tk, ticket.StatusChanged{Status: ticket.StatusResolved, By: ticket.SupportAuthor("anna")})
		w.append(tk, ticket.Reopened{By: "bob"})
		snapshot := func() string {
			var status string
			var replies int
			if err := w.db.SelectRow(context.Background(), `SELECT status, reply_count FROM tkt_tickets WHERE ticket_id = ?`, id).Scan(&status, &replies); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%s/%d", status, replies)
		}
		w.run("tickets")
		if got := snapshot(); got != "open/2" {
			t.Errorf("after reopening: %s", got)
		}
		w.append(tk, ticket.Closed{By: "bob"})
		w.run("tickets", "tickets")
		if got := snapshot(); got != "closed/2" {
			t.Errorf("after closing: %s", got)
		}
	})
}
