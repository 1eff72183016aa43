package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/ticket"
	"seatledger/infra/eventstore"
)

var farmIssue = commands.OpenTicket{AccountID: "acc-1", ProductID: "ras", Category: "activation",
	Description: "The farm does not activate.\nThe key is refused.", Channel: "email"}

// ticketAccount makes acc-1 with ada and cyd as admins and bob and eve as
// regular members, and the product "ras" in the catalog.
func ticketAccount(t *testing.T, h *commands.Set, store eventstore.Store) {
	t.Helper()
	catalog(t, h)
	accountWithAdmins(t, h, store, "acc-1", "cyd")
	joinMember(t, h, store, "acc-1", "bob")
	joinMember(t, h, store, "acc-1", "eve")
}

// openTicket opens farmIssue as bob and returns the ticket's ID.
func openTicket(t *testing.T, h *commands.Set) string {
	t.Helper()
	res, err := h.Tickets.OpenTicket(context.Background(), as("bob"), farmIssue)
	if err != nil {
		t.Fatal(err)
	}
	return res.TicketID
}

var supportDesk = commands.Meta{Actor: event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}, CorrelationID: "corr-support"}

// Rule TKT-1 (and ): a member opens a ticket for a product with a
// category, a description and a channel; it gets a short ID; the event
// says who and why; a retry with the same idempotency key opens nothing
// new; strangers, the back office and unknown products are refused.
func TestOpenTicket_TKT1(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		ticketAccount(t, h, store)
		res, err := h.Tickets.OpenTicket(ctx, as("bob"), farmIssue)
		if err != nil {
			t.Fatal(err)
		}
		if !ticket.ValidID(res.TicketID) {
			t.Fatalf("ticket ID %q", res.TicketID)
		}
		recs, err := store.ReadStream(ctx, ticket.StreamID(res.TicketID), 1, 10)
		if err != nil || len(recs) != 1 || recs[0].Type != ticket.TypeOpened || recs[0].Metadata.Command != "OpenTicket" || recs[0].Metadata.Actor.ID != "bob" {
			t.Fatalf("events %+v, %v", recs, err)
		}
		tk, err := h.Tickets.AuthorizeTicket(ctx, as("bob").Actor, strings.ToLower(res.TicketID), ticket.ActionView)
		if err != nil || tk.Subject() != "The farm does not activate." || tk.Owner() != "bob" || tk.Status() != ticket.StatusOpen {
			t.Fatalf("ticket %+v, %v", tk, err)
		}

		retry := as("bob")
		retry.IdempotencyKey = "k-1"
		first, err := h.Tickets.OpenTicket(ctx, retry, farmIssue)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.Tickets.OpenTicket(ctx, retry, farmIssue)
		if err != nil || again.TicketID != first.TicketID || again.Position != first.Position {
			t.Fatalf("retry: %+v, %v; first %+v", again, err, first)
		}

		call := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
		booked := farmIssue
		booked.Channel, booked.CallAt = "call", &call
		res, err = h.Tickets.OpenTicket(ctx, as("ada"), booked)
		if err != nil {
			t.Fatal(err)
		}
		if tk, _ := h.Tickets.AuthorizeTicket(ctx, as("ada").Actor, res.TicketID, ticket.ActionView); tk.Channel().Kind != ticket.ChannelCall || !tk.Channel().CallAt.Equal(call) {
			t.Errorf("booked call: %+v", tk.Channel())
		}

		unknown := farmIssue
		unknown.ProductID = "nope"
		if _, err := h.Tickets.OpenTicket(ctx, as("bob"), unknown); !errors.Is(err, ticket.ErrInvalid) || !strings.Contains(err.Error(), "not in the catalog") {
			t.Errorf("unknown product: %v", err)
		}
		if _, err := h.Tickets.OpenTicket(ctx, as("zed"), farmIssue); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a stranger opens a ticket in acc-1: %v", err)
		}
		if _, err := h.Tickets.OpenTicket(ctx, supportDesk, farmIssue); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("the back office opens a ticket: %v", err)
		}
		mine := farmIssue
		mine.AccountID = account.PersonalID("zed")
		if _, err := h.Tickets.OpenTicket(ctx, as("zed"), mine); err != nil {
			t.Errorf("a ticket in one's personal account: %v", err)
		}
	})
}

// Rule TKT-2: support moves the status and replies; the member replies
// with attachments (which puts a ticket awaiting them back to open),
// fills the survey of a resolved ticket once, reopens it and closes it;
// nobody replies to a closed ticket; support never acts as the customer.
func TestTicketLifecycle_TKT2(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		ticketAccount(t, h, store)
		id := openTicket(t, h)
		statusOf := func() ticket.Status {
			t.Helper()
			tk, err := h.Tickets.AuthorizeTicket(ctx, supportDesk.Actor, id, ticket.ActionView)
			if err != nil {
				t.Fatal(err)
			}
			return tk.Status()
		}
		must(t)(h.Tickets.ChangeTicketStatus(ctx, supportDesk, id, "in_progress", "anna"))
		r, err := h.Tickets.ReplyToTicket(ctx, supportDesk, id, commands.ReplyToTicket{Body: "Please send the log.", Agent: "anna"})
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := store.ReadStream(ctx, ticket.StreamID(id), r.LastVersion, 1)
		if !strings.Contains(string(recs[0].Data), `"author":"support:anna","from_support":true`) {
			t.Errorf("support's reply: %s", recs[0].Data)
		}
		must(t)(h.Tickets.ChangeTicketStatus(ctx, supportDesk, id, "awaiting_customer", ""))
		log := ticket.Attachment{AttachmentID: "a-1", Name: "farm.log", ContentType: "text/plain", Size: 42, SHA256: strings.Repeat("0f", 32)}
		if _, err := h.Tickets.ReplyToTicket(ctx, as("bob"), id, commands.ReplyToTicket{Body: "Here it is.", Attachments: []ticket.Attachment{log}}); err != nil {
			t.Fatal(err)
		}
		if s := statusOf(); s != ticket.StatusOpen {
			t.Errorf("after the member's reply: %s, want open", s)
		}
		if tk, _ := h.Tickets.AuthorizeTicket(ctx, as("bob").Actor, id, ticket.ActionView); tk.Replies() != 2 {
			t.Errorf("replies %d", tk.Replies())
		} else if _, ok := tk.Attachment("a-1"); !ok {
			t.Error("the attachment is not the ticket's")
		}
		if _, err := h.Tickets.SubmitSurvey(ctx, as("bob"), id, 5, ""); !errors.Is(err, ticket.ErrStatus) || !strings.Contains(err.Error(), "open") {
			t.Errorf("survey of an open ticket: %v", err)
		}
		must(t)(h.Tickets.ChangeTicketStatus(ctx, supportDesk, id, "resolved", ""))
		must(t)(h.Tickets.SubmitSurvey(ctx, as("bob"), id, 4, "quick"))
		if _, err := h.Tickets.SubmitSurvey(ctx, as("bob"), id, 5, ""); !errors.Is(err, ticket.ErrNoChange) {
			t.Errorf("second survey: %v", err)
		}
		if _, err := h.Tickets.CloseTicket(ctx, as("bob"), id); !errors.Is(err, ticket.ErrStatus) {
			t.Errorf("closing a resolved ticket: %v", err)
		}
		must(t)(h.Tickets.ReopenTicket(ctx, as("bob"), id))
		if s := statusOf(); s != ticket.StatusOpen {
			t.Errorf("after reopening: %s", s)
		}
		if _, err := h.Tickets.ChangeTicketStatus(ctx, supportDesk, id, "closed", ""); !errors.Is(err, ticket.ErrInvalid) {
			t.Errorf("support closing: %v", err)
		}
		for name, err := range map[string]error{
			"close":  appendErr(h.Tickets.CloseTicket(ctx, supportDesk, id)),
			"reopen": appendErr(h.Tickets.ReopenTicket(ctx, supportDesk, id)),
			"survey": appendErr(h.Tickets.SubmitSurvey(ctx, supportDesk, id, 5, "")),
		} {
			if !errors.Is(err, account.ErrForbidden) {
				t.Errorf("the back office may %s: %v", name, err)
			}
		}
		if _, err := h.Tickets.ChangeTicketStatus(ctx, as("bob"), id, "resolved", ""); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a member changes the status: %v", err)
		}
		must(t)(h.Tickets.CloseTicket(ctx, as("bob"), id))
		if _, err := h.Tickets.ReplyToTicket(ctx, as("bob"), id, commands.ReplyToTicket{Body: "one more thing"}); !errors.Is(err, ticket.ErrStatus) || !strings.Contains(err.Error(), "closed") {
			t.Errorf("reply to a closed ticket: %v", err)
		}
		if _, err := h.Tickets.ChangeTicketStatus(ctx, supportDesk, "T-0000-0000", "resolved", ""); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("supportDesk, unknown ticket: %v", err)
		}
	})
}

func appendErr(_ event.AppendResult, err error) error { return err }

// Rules TKT-3, X-5, MEM-8: every unblocked admin of the account views and
// manages the account's tickets; a regular member only their own; the
// owner alone adds and removes watchers, who must be admins; a blocked
// owner loses the ticket; nobody else learns whether a ticket exists.
func TestTicketAccess_TKT3_X5(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		ticketAccount(t, h, store)
		id := openTicket(t, h)
		for _, who := range []string{"ada", "cyd"} {
			if _, err := h.Tickets.AuthorizeTicket(ctx, as(who).Actor, id, ticket.ActionManage); err != nil {
				t.Errorf("admin %s: %v", who, err)
			}
		}
		if _, err := h.Tickets.ReplyToTicket(ctx, as("cyd"), id, commands.ReplyToTicket{Body: "I am on it too."}); err != nil {
			t.Errorf("an admin replies: %v", err)
		}

		_, stranger := h.Tickets.AuthorizeTicket(ctx, as("eve").Actor, id, ticket.ActionView)
		if !errors.Is(stranger, account.ErrForbidden) {
			t.Fatalf("another member's ticket: %v", stranger)
		}
		accountWithAdmins(t, h, store, "acc-2")
		for name, err := range map[string]error{
			"missing":          ticketErr(h.Tickets.AuthorizeTicket(ctx, as("eve").Actor, "T-0000-0000", ticket.ActionView)),
			"malformed":        ticketErr(h.Tickets.AuthorizeTicket(ctx, as("eve").Actor, "../../etc", ticket.ActionView)),
			"reply to missing": replyErr(h.Tickets.ReplyToTicket(ctx, as("eve"), "T-0000-0000", commands.ReplyToTicket{Body: "hi"})),
			"close another's":  appendErr(h.Tickets.CloseTicket(ctx, as("eve"), id)),
		} {
			if err == nil || err.Error() != stranger.Error() {
				t.Errorf("%s: %v; want the same answer as %v", name, err, stranger)
			}
		}
		// acc-2 is ada's too, so another company's admin is played by zed.
		joinMember(t, h, store, "acc-2", "zed")
		if _, err := h.Tickets.AuthorizeTicket(ctx, as("zed").Actor, id, ticket.ActionView); err == nil || err.Error() != stranger.Error() {
			t.Errorf("another account's member: %v", err)
		}

		must(t)(h.Tickets.AddWatcher(ctx, as("bob"), id, "cyd"))
		if _, err := h.Tickets.AddWatcher(ctx, as("bob"), id, "eve"); !errors.Is(err, ticket.ErrNotAdmin) {
			t.Errorf("a regular member as watcher: %v", err)
		}
		if _, err := h.Tickets.AddWatcher(ctx, as("cyd"), id, "ada"); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("an admin who is not the owner adds a watcher: %v", err)
		}
		if _, err := h.Tickets.AddWatcher(ctx, supportDesk, id, "ada"); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("the back office adds a watcher: %v", err)
		}
		must(t)(h.Accounts.ChangeMemberRole(ctx, as("ada"), commands.ChangeMemberRole{AccountID: "acc-1", PersonID: "bob", Role: account.RoleAdmin}))
		must(t)(h.Accounts.ChangeMemberRole(ctx, as("ada"), commands.ChangeMemberRole{AccountID: "acc-1", PersonID: "cyd", Role: account.RoleMember}))
		if _, err := h.Tickets.AddWatcher(ctx, as("bob"), id, "cyd"); !errors.Is(err, ticket.ErrNotAdmin) {
			t.Errorf("a demoted admin, decided from the account's latest events: %v", err)
		}
		tk, err := h.Tickets.AuthorizeTicket(ctx, as("bob").Actor, id, ticket.ActionWatchers)
		if err != nil || strings.Join(tk.Watchers(), ",") != "cyd" {
			t.Fatalf("watchers %v, %v", tk.Watchers(), err)
		}
		must(t)(h.Tickets.RemoveWatcher(ctx, as("bob"), id, "cyd"))
		if _, err := h.Tickets.RemoveWatcher(ctx, as("bob"), id, "cyd"); !errors.Is(err, ticket.ErrNoChange) {
			t.Errorf("removing twice: %v", err)
		}

		must(t)(h.Accounts.BlockMember(ctx, as("ada"), commands.BlockMember{AccountID: "acc-1", PersonID: "bob"}))
		if _, err := h.Tickets.CloseTicket(ctx, as("bob"), id); err == nil || err.Error() != stranger.Error() {
			t.Errorf("the blocked owner closes the ticket: %v", err)
		}
		must(t)(h.Tickets.CloseTicket(ctx, as("ada"), id))
	})
}

func ticketErr(_ ticket.Ticket, err error) error { return err }

func replyErr(_ commands.TicketReplied, err error) error { return err }
