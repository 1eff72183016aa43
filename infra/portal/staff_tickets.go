package portal

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/staff"
	"seatledger/domain/ticket"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// The console's support pages (issue 23, TKT-2): the ticket queue across
// every account, a ticket's thread with support's forms (assign to me,
// reply with attachments, change the status). Every role reads them
// (staff.PermRead); the forms are offered to, and their POSTs accepted
// from, the roles that act as support (staff.PermSupport) only. Support's
// replies and status changes are signed with the staff person's display
// name (commands.TicketsHandler), which the customer sees.

func init() {
	registerStaffPages(func(p *Portal, r chi.Router) {
		r.Get("/staff/tickets", p.staffTicketsPage)
		r.Get("/staff/tickets/{ticketID}", p.staffTicketPage)
		r.Get("/staff/tickets/{ticketID}/attachments/{attachmentID}", p.staffAttachment)
		r.Post("/staff/tickets/{ticketID}/assign", p.staffAssign)
		r.Post("/staff/tickets/{ticketID}/replies", p.staffReply)
		r.Post("/staff/tickets/{ticketID}/status", p.staffTicketStatus)
	})
	registerStaffNav(StaffNavItem{Order: 10, Path: "/staff/tickets", Label: "Ticket queue", Nav: "tickets", Perm: staff.PermRead,
		Description: "Every account's tickets, the customers who have waited longest first."})
}

// staffQueueStatuses are the queue's status filter.
var staffQueueStatuses = []map[string]string{
	{"value": "", "label": "Current (open, in progress, awaiting the customer)"},
	{"value": "all", "label": "All tickets"},
	{"value": "open", "label": "Open"},
	{"value": "in_progress", "label": "In progress"},
	{"value": "awaiting_customer", "label": "Awaiting the customer"},
	{"value": "resolved", "label": "Resolved"},
	{"value": "closed", "label": "Closed (resolved or closed)"},
}

// staffTicketStatuses are the statuses support moves a ticket to (TKT-2).
var staffTicketStatuses = []map[string]string{
	{"value": "open", "label": "Open"}, {"value": "in_progress", "label": "In progress"},
	{"value": "awaiting_customer", "label": "Awaiting the customer"}, {"value": "resolved", "label": "Resolved"},
}

// staffQueueView is the queue's data.
type staffQueueView struct {
	Tickets  []staffQueueRow
	Products []queries.Product
	Statuses []map[string]string
	// Full: the queue shows its first queries.MaxQueue rows only.
	Full bool
}

// staffQueueRow is a row with its waiting time and status for people.
type staffQueueRow struct {
	queries.QueueTicket
	Waiting, StatusLabel string
}

func (p *Portal) staffTicketsPage(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Ticket queue", "tickets", staff.PermRead)
	if v == nil {
		return
	}
	q, now := r.URL.Query(), p.cfg.Now()
	products, err := p.cfg.Queries.Products(r.Context(), v.viewer)
	if err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	view := staffQueueView{Products: products, Statuses: staffQueueStatuses}
	rows, err := p.cfg.Queries.TicketQueue(r.Context(), v.viewer, queries.TicketQueueFilter{Status: q.Get("status"), ProductID: q.Get("product"),
		Account: q.Get("account"), WaitingHours: q.Get("waiting"), Assignee: q.Get("assignee"), Now: now})
	if err != nil {
		if prob := problemOf(err); prob.Status >= 500 || prob.Status == http.StatusForbidden {
			p.staffFail(w, r, v, err)
			return
		}
		v.fail(err) // a filter the query refuses: shown next to it
	}
	for _, t := range rows {
		view.Tickets = append(view.Tickets, staffQueueRow{QueueTicket: t, Waiting: t.Waiting(now), StatusLabel: staffStatusLabel(t.Status)})
	}
	view.Full = len(rows) == queries.MaxQueue
	v.Page = view
	p.renderStaff(w, r, "staff_tickets.html", v)
}

// staffStatusLabel is a ticket's status as support reads it.
func staffStatusLabel(status string) string {
	if status == "awaiting_customer" {
		return "awaiting the customer"
	}
	return ticketStatusLabel(status)
}

// staffTicketView is a ticket's page in the console.
type staffTicketView struct {
	T           queries.TicketDetail
	StatusLabel string
	Replies     []replyView
	// AccountName names the ticket's account; AssigneeID and
	// AssigneeName whom it is assigned to.
	AccountName, AssigneeID, AssigneeName string
	// Closed: the customer closed it; support's forms are gone (TKT-2).
	Closed   bool
	Statuses []map[string]string
}

// staffTicket reads the ticket of the route for a console page needing
// perm; nil when it has answered itself.
func (p *Portal) staffTicket(w http.ResponseWriter, r *http.Request, perm staff.Permission) (*View, *staffTicketView) {
	id := chi.URLParam(r, "ticketID")
	v := p.staffPage(w, r, "Ticket "+id, "tickets", perm)
	if v == nil {
		return nil, nil
	}
	ctx := r.Context()
	t, err := p.cfg.Queries.TicketDetails(ctx, v.viewer, id)
	if err != nil {
		p.staffFail(w, r, v, err)
		return nil, nil
	}
	page := &staffTicketView{T: t, StatusLabel: staffStatusLabel(t.Status), Closed: t.Status == "closed", Statuses: staffTicketStatuses}
	if page.AssigneeID, page.AssigneeName, err = p.cfg.Queries.TicketAssignee(ctx, v.viewer, t.TicketID); err == nil {
		page.AccountName, _, _, err = p.cfg.Queries.AccountName(ctx, t.AccountID)
	}
	if err != nil {
		p.staffFail(w, r, v, err)
		return nil, nil
	}
	for _, reply := range t.Replies {
		rv := replyView{TicketReply: reply, AuthorLabel: reply.AuthorName}
		if reply.FromSupport {
			rv.AuthorLabel = "Support"
			if agent := strings.TrimPrefix(reply.Author, "support:"); agent != "" {
				rv.AuthorLabel = "Support (" + agent + ")"
			}
		}
		for _, a := range reply.Attachments {
			rv.Attachments = append(rv.Attachments, attachmentView{AttachmentMetadata: a, SizeLabel: supSize(a.Size)})
		}
		page.Replies = append(page.Replies, rv)
	}
	if t.Subject != "" {
		v.Title = fmt.Sprintf("Ticket %s: %s", t.TicketID, t.Subject)
	}
	v.Page = page
	return v, page
}

func (p *Portal) staffTicketPage(w http.ResponseWriter, r *http.Request) {
	v, _ := p.staffTicket(w, r, staff.PermRead)
	if v == nil {
		return
	}
	p.renderStaff(w, r, "staff_ticket.html", v)
}

// staffAttachment sends a file of a reply (the staff cookie does not
// reach the API's download route).
func (p *Portal) staffAttachment(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Attachment", "tickets", staff.PermRead)
	if v == nil {
		return
	}
	ctx := r.Context()
	t, err := p.cfg.Commands.Tickets.AuthorizeTicket(ctx, v.viewer.Actor, chi.URLParam(r, "ticketID"), ticket.ActionView)
	if err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	id := chi.URLParam(r, "attachmentID")
	if _, ok := t.Attachment(id); !ok {
		p.staffFail(w, r, v, httpapi.ProblemNotFound.New("ticket %s has no attachment %s", t.ID(), id))
		return
	}
	if p.cfg.Attachments == nil {
		p.staffFail(w, r, v, httpapi.ProblemUnavailable.New("attachments cannot be read on this server"))
		return
	}
	a, data, err := p.cfg.Attachments.Get(ctx, t.ID(), id)
	if err != nil {
		p.staffFail(w, r, v, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// staffAssign takes the ticket on: "assign to me" (a ticket.assigned
// event naming the staff person).
func (p *Portal) staffAssign(w http.ResponseWriter, r *http.Request) {
	v, page := p.staffTicket(w, r, staff.PermSupport)
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Tickets.AssignTicketToMe(r.Context(), staffMeta(v, r), page.T.TicketID)
	if !p.staffDone(w, v, res, err) {
		p.renderStaff(w, r, "staff_ticket.html", v)
		return
	}
	p.redirect(w, r, "/staff/tickets/"+url.PathEscape(page.T.TicketID), "The ticket is assigned to you.")
}

// staffReply sends support's reply with its files (TKT-2), signed with
// the staff person's display name: the files are stored one by one before
// the reply's event that references them, and removed if it fails.
func (p *Portal) staffReply(w http.ResponseWriter, r *http.Request) {
	v, page := p.staffTicket(w, r, staff.PermSupport)
	if v == nil {
		return
	}
	ctx, id := r.Context(), page.T.TicketID
	upload := p.cfg.Attachments.Upload(id)
	res, err := p.sendReply(ctx, staffMeta(v, r), upload, id, v.Form.Get("body"), supFiles(r.MultipartForm, "attachments"))
	if err != nil {
		if derr := upload.Discard(ctx); derr != nil {
			p.cfg.Logger.WarnContext(ctx, "removing the files of a failed reply", "request_id", httpapi.RequestID(ctx), "error", derr)
		}
	}
	if !p.staffDone(w, v, res, err) {
		p.renderStaff(w, r, "staff_ticket.html", v)
		return
	}
	p.redirect(w, r, "/staff/tickets/"+url.PathEscape(id)+"#replies", "Your reply is sent; the customer sees it signed "+v.Staff.DisplayName+".")
}

// staffTicketStatus moves the ticket among open, in progress, awaiting
// the customer and resolved (TKT-2).
func (p *Portal) staffTicketStatus(w http.ResponseWriter, r *http.Request) {
	v, page := p.staffTicket(w, r, staff.PermSupport)
	if v == nil {
		return
	}
	res, err := p.cfg.Commands.Tickets.ChangeTicketStatus(r.Context(), staffMeta(v, r), page.T.TicketID, v.Form.Get("status"), "")
	if !p.staffDone(w, v, res, err) {
		p.renderStaff(w, r, "staff_ticket.html", v)
		return
	}
	p.redirect(w, r, "/staff/tickets/"+url.PathEscape(page.T.TicketID), "The ticket is "+staffStatusLabel(v.Form.Get("status"))+".")
}
