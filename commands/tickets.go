package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/product"
	"seatledger/domain/staff"
	"seatledger/domain/ticket"
)

// TicketsHandler runs the use cases of support tickets (rules TKT-1..4).
type TicketsHandler struct {
	loader  *Loader
	tickets *cache[ticket.Ticket]
}

// NewTicketsHandler returns a TicketsHandler on loader. It returns an
// error wrapping ErrMissingDependency if loader is nil.
func NewTicketsHandler(loader *Loader) (*TicketsHandler, error) {
	if err := dependencies("NewTicketsHandler", dep{"a Loader", loader != nil}); err != nil {
		return nil, err
	}
	return &TicketsHandler{loader: loader, tickets: newCache(loader.cacheSize, ticket.StreamID,
		func(string) ticket.Ticket { return ticket.Ticket{} }, evolveTicket, ticket.Ticket.Clone)}, nil
}

// evolveTicket folds one recorded event into a ticket; it was opened at
// the event's effective time.
func evolveTicket(t ticket.Ticket, payload any, rec event.Record) ticket.Ticket {
	return t.Evolve(payload, rec.Effective())
}

// replyIDs is the namespace of reply IDs derived from idempotency keys.
var replyIDs = uuid.MustParse("8c1d2f4e-6b7a-4c3d-9e8f-0a1b2c3d4e5f")

// OpenTicket is a member's support request (rule TKT-1): the account it
// is for (a business account they belong to, or their personal one), the
// product, a category, an optional subject, the description, and the
// channel — email, phone, chat, or call with CallAt, the booked time.
type OpenTicket struct {
	AccountID   string
	ProductID   string
	Category    string
	Subject     string
	Description string
	Channel     string
	CallAt      *time.Time
}

// TicketOpened is what OpenTicket returns: the ticket's ID, shown to the
// member.
type TicketOpened struct {
	event.AppendResult
	TicketID string
}

// errTicketIDTaken: the drawn ticket ID names an existing ticket; draw again.
var errTicketIDTaken = errors.New("commands: ticket ID taken")

// OpenTicket runs the use case: any unblocked member of the account may
// open a ticket, and owns it. The product must be in the catalog. With
// an idempotency key the ticket ID is derived from it, so a retry returns
// the same ticket; otherwise it is drawn at random (40 bits), and drawn
// again in the unlikely case that it is taken.
func (h *TicketsHandler) OpenTicket(ctx context.Context, meta Meta, cmd OpenTicket) (TicketOpened, error) {
	if meta.Actor.Kind != event.ActorPerson {
		return TicketOpened{}, fmt.Errorf("%w: a ticket is opened by a member of the account", account.ErrForbidden)
	}
	if cmd.AccountID == "" {
		return TicketOpened{}, invalid.New(ticket.ErrInvalid, "account_id", "account_id is required")
	}
	_, err := h.loader.product(ctx, cmd.ProductID)
	known := err == nil
	if err != nil && !errors.Is(err, product.ErrNotFound) {
		return TicketOpened{}, err
	}
	draft := ticket.Draft{AccountID: cmd.AccountID, Owner: meta.Actor.ID, ProductID: cmd.ProductID, Category: cmd.Category,
		Subject: cmd.Subject, Description: cmd.Description, Channel: cmd.Channel, CallAt: cmd.CallAt}
	for attempt := range maxAttempts {
		id, err := newTicketID(meta, attempt)
		if err != nil {
			return TicketOpened{}, err
		}
		res, err := update(ctx, h.loader, h.tickets, id, "OpenTicket", meta, func(t ticket.Ticket, now time.Time) ([]any, error) {
			a, err := h.loader.account(ctx, cmd.AccountID)
			if err != nil {
				return nil, err
			}
			if err := a.Authorize(meta.Actor, account.ActionView); err != nil {
				return nil, err
			}
			if t.Exists() {
				return nil, errTicketIDTaken
			}
			return t.Open(id, draft, known, now)
		})
		if errors.Is(err, errTicketIDTaken) {
			continue
		}
		if err != nil {
			return TicketOpened{}, err
		}
		return TicketOpened{AppendResult: res, TicketID: id}, nil
	}
	return TicketOpened{}, fmt.Errorf("commands: no free ticket ID after %d draws", maxAttempts)
}

// newTicketID draws the attempt'th ticket ID of an OpenTicket: from
// crypto/rand, or, for an idempotent command, from its key, so that a
// retry names the ticket the first run opened.
func newTicketID(meta Meta, attempt int) (string, error) {
	var b [8]byte
	if meta.IdempotencyKey != "" {
		sum := sha256.Sum256(fmt.Appendf(nil, "seatledger/ticket/%d/%s/%s", attempt, meta.Actor.ID, meta.IdempotencyKey))
		copy(b[:], sum[:])
	} else if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("commands: draw a ticket ID: %w", err)
	}
	return ticket.FormatID(b), nil
}

// ReplyToTicket is a reply (rule TKT-2): its text and the metadata of
// files already stored (infra/attachments). A person replies as the
// customer; the back office as support, signed by Agent (default: the
// back-office caller).
type ReplyToTicket struct {
	Body        string
	Attachments []ticket.Attachment
	Agent       string
}

// TicketReplied is what ReplyToTicket returns.
type TicketReplied struct {
	event.AppendResult
	ReplyID string
}

// ReplyToTicket runs the use case: the owner and the account's admins
// reply as the customer, the back office as support.
func (h *TicketsHandler) ReplyToTicket(ctx context.Context, meta Meta, id string, cmd ReplyToTicket) (TicketReplied, error) {
	author, fromSupport := meta.Actor.ID, false
	if meta.Actor.Kind == event.ActorBackOffice {
		agent, err := h.supportAgent(ctx, meta, cmd.Agent)
		if err != nil {
			return TicketReplied{}, err
		}
		author, fromSupport = ticket.SupportAuthor(agent), true
	}
	replyID := uuid.Must(uuid.NewV7()).String()
	if meta.IdempotencyKey != "" {
		replyID = uuid.NewSHA1(replyIDs, []byte("reply/"+meta.Actor.String()+"/"+meta.IdempotencyKey)).String()
	}
	res, err := h.updateTicket(ctx, "ReplyToTicket", id, meta, ticket.ActionReply, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.Reply(replyID, author, fromSupport, cmd.Body, cmd.Attachments)
	})
	if err != nil {
		return TicketReplied{}, err
	}
	return TicketReplied{AppendResult: res, ReplyID: replyID}, nil
}

// agentPattern is what a support agent's name may be.
var agentPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// supportAgent returns the name support signs with: a staff person's
// display name; for another back-office caller, agent if given, else the
// caller's ID.
func (h *TicketsHandler) supportAgent(ctx context.Context, meta Meta, agent string) (string, error) {
	if id, ok := staff.StaffOf(meta.Actor); ok {
		return h.staffAgent(ctx, meta.Actor, id, agent)
	}
	if agent == "" {
		return meta.Actor.ID, nil
	}
	if !agentPattern.MatchString(agent) {
		return "", invalid.New(ticket.ErrInvalid, "agent", "agent %q must be 1 to 64 letters, digits, dots, dashes, underscores or @", agent)
	}
	return agent, nil
}

// staffAgent is how staff person id signs as support: by their display
// name, which the customer sees (issue 23), never by another's.
func (h *TicketsHandler) staffAgent(ctx context.Context, actor event.Actor, id, agent string) (string, error) {
	if err := h.loader.backOffice(ctx, actor, staff.PermSupport); err != nil {
		return "", err
	}
	if agent != "" {
		return "", invalid.New(ticket.ErrInvalid, "agent", "a staff person signs with their own name; leave agent out")
	}
	r, err := h.loader.roster(ctx)
	if err != nil {
		return "", err
	}
	m, _ := r.Member(id) // there: backOffice found them
	return m.DisplayName, nil
}

// ChangeTicketStatus moves a ticket as support works on it (rule TKT-2):
// the back office's, signed by agent (default: the back-office caller).
func (h *TicketsHandler) ChangeTicketStatus(ctx context.Context, meta Meta, id, status, agent string) (event.AppendResult, error) {
	name, err := h.supportAgent(ctx, meta, agent)
	if err != nil {
		return event.AppendResult{}, err
	}
	return h.updateTicket(ctx, "ChangeTicketStatus", id, meta, ticket.ActionSupport, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.ChangeStatus(status, ticket.SupportAuthor(name))
	})
}

// AssignTicketToMe assigns the ticket to the staff person who asks (the
// staff console's "assign to me", issue 23): a staff person whose role
// acts on tickets as support (staff.PermSupport), named in the event by
// their display name.
func (h *TicketsHandler) AssignTicketToMe(ctx context.Context, meta Meta, id string) (event.AppendResult, error) {
	staffID, ok := staff.StaffOf(meta.Actor)
	if !ok {
		return event.AppendResult{}, fmt.Errorf("%w: only a staff person signed in takes a ticket on", staff.ErrForbidden)
	}
	name, err := h.staffAgent(ctx, meta.Actor, staffID, "")
	if err != nil {
		return event.AppendResult{}, err
	}
	return h.updateTicket(ctx, "AssignTicket", id, meta, ticket.ActionSupport, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.Assign(staffID, name, meta.Actor.ID)
	})
}

// CloseTicket closes a current ticket (rule TKT-2): its owner or an
// admin of its account.
func (h *TicketsHandler) CloseTicket(ctx context.Context, meta Meta, id string) (event.AppendResult, error) {
	return h.updateTicket(ctx, "CloseTicket", id, meta, ticket.ActionManage, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.Close(meta.Actor.ID)
	})
}

// ReopenTicket reopens a resolved ticket (rule TKT-2).
func (h *TicketsHandler) ReopenTicket(ctx context.Context, meta Meta, id string) (event.AppendResult, error) {
	return h.updateTicket(ctx, "ReopenTicket", id, meta, ticket.ActionManage, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.Reopen(meta.Actor.ID)
	})
}

// SubmitSurvey records the rating (1–5) and feedback of a resolved
// ticket, once (rule TKT-2).
func (h *TicketsHandler) SubmitSurvey(ctx context.Context, meta Meta, id string, rating int, feedback string) (event.AppendResult, error) {
	return h.updateTicket(ctx, "SubmitSurvey", id, meta, ticket.ActionManage, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.SubmitSurvey(rating, feedback, meta.Actor.ID)
	})
}

// AddWatcher makes an admin of the ticket's account a watcher (rule
// TKT-3): the owner's. Whether the person is an unblocked admin is
// decided from the account's latest events.
func (h *TicketsHandler) AddWatcher(ctx context.Context, meta Meta, id, personID string) (event.AppendResult, error) {
	return h.updateTicket(ctx, "AddWatcher", id, meta, ticket.ActionWatchers, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		a, err := h.loader.account(ctx, t.AccountID())
		if err != nil {
			return nil, err
		}
		return t.AddWatcher(a, personID, meta.Actor.ID)
	})
}

// RemoveWatcher stops a watcher watching the ticket (rule TKT-3): the
// owner's.
func (h *TicketsHandler) RemoveWatcher(ctx context.Context, meta Meta, id, personID string) (event.AppendResult, error) {
	return h.updateTicket(ctx, "RemoveWatcher", id, meta, ticket.ActionWatchers, func(t ticket.Ticket, _ time.Time) ([]any, error) {
		return t.RemoveWatcher(personID, meta.Actor.ID)
	})
}

// AuthorizeTicket answers whether actor may do action with ticket id,
// from the latest events of the ticket and of its account (rules TKT-3,
// MEM-8, X-5), and returns the ticket it decided on: the check before a
// query reads the tickets read model or an attachment is served. id may
// be typed as a person would (see ticket.NormalizeID). A person is
// refused alike whether the ticket exists or not; the back office gets
// ticket.ErrNotFound.
func (h *TicketsHandler) AuthorizeTicket(ctx context.Context, actor event.Actor, id string, action ticket.Action) (ticket.Ticket, error) {
	id = ticket.NormalizeID(id)
	if !ticket.ValidID(id) {
		return ticket.Ticket{}, ticket.Ticket{}.Authorize(actor, account.Account{}, action)
	}
	t, _, err := h.tickets.current(ctx, h.loader, id)
	if err != nil {
		return ticket.Ticket{}, err
	}
	return t, h.authorizeTicket(ctx, actor, t, action)
}

func (h *TicketsHandler) authorizeTicket(ctx context.Context, actor event.Actor, t ticket.Ticket, action ticket.Action) error {
	if actor.Kind == event.ActorBackOffice {
		// The back office reads every ticket and acts on them as
		// support: which of its people may, the roster says.
		p := staff.PermSupport
		if action == ticket.ActionView {
			p = staff.PermRead
		}
		if err := h.loader.backOffice(ctx, actor, p); err != nil {
			return err
		}
	}
	var acct account.Account
	if t.Exists() {
		var err error
		if acct, err = h.loader.account(ctx, t.AccountID()); err != nil {
			return err
		}
	}
	return t.Authorize(actor, acct, action)
}

// updateTicket runs decide on ticket id as of its latest event, once
// actor may do action there.
func (h *TicketsHandler) updateTicket(ctx context.Context, command, id string, meta Meta, action ticket.Action,
	decide func(ticket.Ticket, time.Time) ([]any, error)) (event.AppendResult, error) {
	id = ticket.NormalizeID(id)
	if !ticket.ValidID(id) {
		return event.AppendResult{}, ticket.Ticket{}.Authorize(meta.Actor, account.Account{}, action)
	}
	return update(ctx, h.loader, h.tickets, id, command, meta, func(t ticket.Ticket, now time.Time) ([]any, error) {
		if err := h.authorizeTicket(ctx, meta.Actor, t, action); err != nil {
			return nil, err
		}
		return decide(t, now)
	})
}
