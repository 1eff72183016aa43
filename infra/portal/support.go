package portal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/mdm"
	"seatledger/domain/product"
	"seatledger/domain/ticket"
	"seatledger/infra/attachments"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// supportPages: My Tickets, a new ticket, a ticket's conversation and
// watchers (TKT-1..4), the MDM certificate page (MISC-1) and the
// downloads page (MISC-2). Ticket pages live at /tickets/{ticketID}, the
// address the notification mails link to.
func (p *Portal) supportPages(r chi.Router) {
	r.Get("/accounts/{accountID}/tickets", p.ticketsPage)
	r.Get("/accounts/{accountID}/tickets/new", p.newTicketPage)
	r.Post("/accounts/{accountID}/tickets/new", p.openTicket)
	r.Get("/tickets/{ticketID}", p.ticketPage)
	r.Post("/tickets/{ticketID}/replies", p.replyToTicket)
	r.Post("/tickets/{ticketID}/close", p.ticketAction("close", "The ticket is closed."))
	r.Post("/tickets/{ticketID}/reopen", p.ticketAction("reopen", "The ticket is open again."))
	r.Post("/tickets/{ticketID}/survey", p.submitSurvey)
	r.Get("/tickets/{ticketID}/watchers", p.watchersPage)
	r.Post("/tickets/{ticketID}/watchers", p.addWatcher)
	r.Post("/tickets/{ticketID}/watchers/{personID}/remove", p.removeWatcher)
	r.Get("/accounts/{accountID}/mdm", p.mdmPage)
	r.Post("/accounts/{accountID}/mdm", p.issueMDMCertificate)
	r.Get("/accounts/{accountID}/downloads", p.downloadsPage)
}

// ticketStatusLabels are the ticket statuses as people read them (TKT-2).
var ticketStatusLabels = map[string]string{
	"open": "open", "in_progress": "in progress", "awaiting_customer": "awaiting your reply",
	"resolved": "resolved", "closed": "closed",
}

// ticketCategories are what a ticket may be about (TKT-1), as the API
// names them.
var ticketCategories = []map[string]string{
	{"value": "licensing", "label": "Licensing"}, {"value": "installation", "label": "Installation"},
	{"value": "activation", "label": "Activation"}, {"value": "technical", "label": "Technical problem"},
	{"value": "billing", "label": "Billing"}, {"value": "other", "label": "Something else"},
}

// ticketStatusFilters are My Tickets' status filter (TKT-4), in order.
var ticketStatusFilters = []map[string]string{
	{"value": "", "label": "All tickets"},
	{"value": "current", "label": "Current (open, in progress, awaiting your reply)"},
	{"value": "closed", "label": "Closed (resolved or closed)"},
	{"value": "open", "label": "Open"},
	{"value": "in_progress", "label": "In progress"},
	{"value": "awaiting_customer", "label": "Awaiting your reply"},
	{"value": "resolved", "label": "Resolved"},
}

// ticketStatusLabel is a ticket's status as people read it.
func ticketStatusLabel(status string) string {
	if label, ok := ticketStatusLabels[status]; ok {
		return label
	}
	return status
}

// supBadInput records a problem of the portal's own form parsing (a value
// that is not a number or a time), before any call to the API.
func supBadInput(v *View, name, reason string) {
	v.Problem = &httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: name + " " + reason,
		InvalidParams: []httpapi.InvalidParam{{Name: name, Reason: reason}}}
	v.Status = http.StatusBadRequest
}

// ---- My Tickets (TKT-3, TKT-4) ----

// ticketsView is My Tickets' data.
type ticketsView struct {
	Tickets []ticketRow
	// Next is the cursor of the next page ("" on the last).
	Next     string
	Statuses []map[string]string
}

// ticketRow is a ticket of a list, with its status as people read it.
type ticketRow struct {
	queries.TicketSummary
	StatusLabel string
}

func (p *Portal) ticketsPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "My Tickets", "support")
	if v == nil {
		return
	}
	q := r.URL.Query()
	page, err := p.cfg.Queries.Tickets(r.Context(), v.viewer, queries.TicketsQuery{AccountID: v.AccountID, Scope: q.Get("scope"),
		Status: q.Get("status"), After: q.Get("after")})
	if err != nil {
		if prob := problemOf(err); prob.Status >= 500 || prob.Status == http.StatusForbidden {
			p.fail(w, r, v, err)
			return
		}
		v.fail(err) // a filter the query refuses: shown next to it
		page = queries.TicketsPage{}
	}
	view := ticketsView{Next: page.Next, Statuses: ticketStatusFilters}
	for _, t := range page.Tickets {
		view.Tickets = append(view.Tickets, ticketRow{TicketSummary: t, StatusLabel: ticketStatusLabel(t.Status)})
	}
	v.Page = view
	p.render(w, r, "support-tickets.html", v)
}

// ---- New ticket (TKT-1) ----

// newTicketData is the new ticket form's choices.
type newTicketData struct {
	Products   []queries.Product
	Categories []map[string]string
}

func (p *Portal) newTicketView(w http.ResponseWriter, r *http.Request) *View {
	v := p.accountPage(w, r, "New ticket", "support")
	if v == nil {
		return nil
	}
	products, err := p.cfg.Queries.Products(r.Context(), v.viewer)
	if err != nil {
		p.fail(w, r, v, err)
		return nil
	}
	v.Page = newTicketData{Products: products, Categories: ticketCategories}
	return v
}

func (p *Portal) newTicketPage(w http.ResponseWriter, r *http.Request) {
	v := p.newTicketView(w, r)
	if v == nil {
		return
	}
	p.render(w, r, "support-new.html", v)
}

func (p *Portal) openTicket(w http.ResponseWriter, r *http.Request) {
	v := p.newTicketView(w, r)
	if v == nil {
		return
	}
	f := v.Form
	cmd := commands.OpenTicket{AccountID: v.AccountID, ProductID: f.Get("product_id"), Category: f.Get("category"), Subject: f.Get("subject"),
		Description: f.Get("description"), Channel: f.Get("channel")}
	if at := strings.TrimSpace(f.Get("call_at")); at != "" && f.Get("channel") == "call" {
		t, err := supParseTime(at)
		if err != nil {
			supBadInput(v, "channel.call_at", "must be a date and time such as 2030-01-31T14:30 (UTC)")
			p.render(w, r, "support-new.html", v)
			return
		}
		cmd.CallAt = &t
	}
	res, err := p.cfg.Commands.Tickets.OpenTicket(r.Context(), v.meta(r), cmd)
	if !p.done(w, v, res.AppendResult, err) {
		p.render(w, r, "support-new.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(res.TicketID),
		fmt.Sprintf("Ticket %s is open. Quote its ID when you contact support.", res.TicketID))
}

// supParseTime reads a datetime-local input (or RFC 3339) as UTC.
func supParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

// ---- A ticket: conversation, actions, survey (TKT-2) ----

// ticketPageView is a ticket's page data: the conversation tab and the
// watchers tab.
type ticketPageView struct {
	T ticketDetailView
	// ID is the ticket's ID; Tab "conversation" or "watchers".
	ID, Tab string
	// IsOwner: the person opened it (and so manages its watchers, TKT-3).
	IsOwner bool
	// Current, Resolved, CanReply and CanSurvey say what the page offers
	// in the ticket's status (TKT-2).
	Current, Resolved, CanReply, CanSurvey bool
	// Candidates are the account's admins who may be added as watchers.
	Candidates []queries.PersonRef
}

// ticketDetailView is the ticket with what people read.
type ticketDetailView struct {
	queries.TicketDetail
	StatusLabel string
	Replies     []replyView
}

// replyView is a reply with its author and its files as people read them.
type replyView struct {
	queries.TicketReply
	AuthorLabel string
	Attachments []attachmentView
}

// attachmentView is a file of a reply with its size for people.
type attachmentView struct {
	queries.AttachmentMetadata
	SizeLabel string
}

// ticketView reads the ticket of the route, with its account as the
// page's; nil when it has answered itself.
func (p *Portal) ticketView(w http.ResponseWriter, r *http.Request, tab string) (*View, *ticketPageView) {
	id := chi.URLParam(r, "ticketID")
	v := p.page(w, r, "Ticket "+id, "support")
	if v == nil {
		return nil, nil
	}
	t, err := p.cfg.Queries.TicketDetails(r.Context(), v.viewer, id)
	if err != nil {
		p.fail(w, r, v, err)
		return nil, nil
	}
	v.setAccount(t.AccountID)
	if t.Subject != "" {
		v.Title = fmt.Sprintf("Ticket %s: %s", t.TicketID, t.Subject)
	}
	d := ticketDetailView{TicketDetail: t, StatusLabel: ticketStatusLabel(t.Status)}
	for _, reply := range t.Replies {
		rv := replyView{TicketReply: reply}
		switch {
		case reply.FromSupport:
			rv.AuthorLabel = "Support"
			if agent := strings.TrimPrefix(reply.Author, "support:"); agent != "" {
				rv.AuthorLabel = "Support (" + agent + ")"
			}
		case reply.Author == v.Me.PersonID:
			rv.AuthorLabel = reply.AuthorName + " (you)"
		default:
			rv.AuthorLabel = reply.AuthorName
		}
		for _, a := range reply.Attachments {
			rv.Attachments = append(rv.Attachments, attachmentView{AttachmentMetadata: a, SizeLabel: supSize(a.Size)})
		}
		d.Replies = append(d.Replies, rv)
	}
	status := t.Status
	page := &ticketPageView{T: d, ID: t.TicketID, Tab: tab, IsOwner: t.Owner == v.Me.PersonID,
		Current:  status == "open" || status == "in_progress" || status == "awaiting_customer",
		Resolved: status == "resolved", CanReply: status != "closed", CanSurvey: status == "resolved" && t.Survey == nil}
	v.Page = page
	return v, page
}

// supSize prints a byte count for people.
func supSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func (p *Portal) ticketPage(w http.ResponseWriter, r *http.Request) {
	v, _ := p.ticketView(w, r, "conversation")
	if v == nil {
		return
	}
	p.render(w, r, "support-ticket.html", v)
}

// replyToTicket sends the reply form with its files (TKT-2): the person
// is authorized first, the files are stored one by one before the reply's
// event that references them, and removed again if the reply fails.
func (p *Portal) replyToTicket(w http.ResponseWriter, r *http.Request) {
	v, page := p.ticketView(w, r, "conversation")
	if v == nil {
		return
	}
	id, ctx := page.ID, r.Context()
	upload := p.cfg.Attachments.Upload(id)
	res, err := p.sendReply(ctx, v.meta(r), upload, id, v.Form.Get("body"), supFiles(r.MultipartForm, "attachments"))
	if err != nil {
		if derr := upload.Discard(ctx); derr != nil {
			p.cfg.Logger.WarnContext(ctx, "removing the files of a failed reply", "request_id", httpapi.RequestID(ctx), "error", derr)
		}
	}
	if !p.done(w, v, res, err) {
		p.render(w, r, "support-ticket.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id)+"#replies", "Your reply is sent.")
}

func (p *Portal) sendReply(ctx context.Context, meta commands.Meta, upload *attachments.Upload, ticketID, body string, files []*multipart.FileHeader) (event.AppendResult, error) {
	if _, err := p.cfg.Commands.Tickets.AuthorizeTicket(ctx, meta.Actor, ticketID, ticket.ActionReply); err != nil {
		return event.AppendResult{}, err
	}
	for _, fh := range files {
		f, err := fh.Open()
		if err != nil {
			return event.AppendResult{}, fmt.Errorf("%w: %w", attachments.ErrRead, err)
		}
		err = upload.Add(ctx, fh.Filename, fh.Header.Get("Content-Type"), f)
		f.Close()
		if err != nil {
			return event.AppendResult{}, err
		}
	}
	res, err := p.cfg.Commands.Tickets.ReplyToTicket(ctx, meta, ticketID, commands.ReplyToTicket{Body: body, Attachments: upload.Files()})
	return res.AppendResult, err
}

// ticketAction is a button of the ticket page that POSTs to the API's
// action of the same name (close, reopen).
func (p *Portal) ticketAction(action, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, page := p.ticketView(w, r, "conversation")
		if v == nil {
			return
		}
		id := page.ID
		run := p.cfg.Commands.Tickets.CloseTicket
		if action == "reopen" {
			run = p.cfg.Commands.Tickets.ReopenTicket
		}
		res, err := run(r.Context(), v.meta(r), id)
		if !p.done(w, v, res, err) {
			p.render(w, r, "support-ticket.html", v)
			return
		}
		p.redirect(w, r, "/tickets/"+url.PathEscape(id), done)
	}
}

func (p *Portal) submitSurvey(w http.ResponseWriter, r *http.Request) {
	v, page := p.ticketView(w, r, "conversation")
	if v == nil {
		return
	}
	id := page.ID
	rating, err := strconv.Atoi(strings.TrimSpace(v.Form.Get("rating")))
	if err != nil {
		supBadInput(v, "rating", "choose a rating from 1 to 5")
		p.render(w, r, "support-ticket.html", v)
		return
	}
	res, err := p.cfg.Commands.Tickets.SubmitSurvey(r.Context(), v.meta(r), id, rating, v.Form.Get("feedback"))
	if !p.done(w, v, res, err) {
		p.render(w, r, "support-ticket.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id), "Thank you for your feedback.")
}

// ---- Watchers (TKT-3) ----

// watchersView is the ticket's Watchers tab: its watchers, and the
// account's admins the owner may add.
func (p *Portal) watchersView(w http.ResponseWriter, r *http.Request) (*View, *ticketPageView) {
	v, page := p.ticketView(w, r, "watchers")
	if v == nil {
		return nil, nil
	}
	t := page.T
	watching := map[string]bool{t.Owner: true}
	for _, x := range t.Watchers {
		watching[x.PersonID] = true
	}
	if v.IsBusiness() {
		profile, err := p.cfg.Queries.AccountProfile(r.Context(), v.viewer, t.AccountID)
		if err != nil {
			p.fail(w, r, v, err)
			return nil, nil
		}
		if profile.Business != nil {
			for _, a := range profile.Business.Admins {
				if !watching[a.PersonID] {
					page.Candidates = append(page.Candidates, a)
				}
			}
		}
	}
	return v, page
}

func (p *Portal) watchersPage(w http.ResponseWriter, r *http.Request) {
	v, _ := p.watchersView(w, r)
	if v == nil {
		return
	}
	p.render(w, r, "support-watchers.html", v)
}

func (p *Portal) addWatcher(w http.ResponseWriter, r *http.Request) {
	v, page := p.watchersView(w, r)
	if v == nil {
		return
	}
	id, person := page.ID, strings.TrimSpace(v.Form.Get("person_id"))
	if person == "" {
		supBadInput(v, "person_id", "choose an admin of the account")
		p.render(w, r, "support-watchers.html", v)
		return
	}
	res, err := p.cfg.Commands.Tickets.AddWatcher(r.Context(), v.meta(r), id, person)
	if !p.done(w, v, res, err) {
		p.render(w, r, "support-watchers.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id)+"/watchers", "The watcher is added; they get the ticket's notifications.")
}

func (p *Portal) removeWatcher(w http.ResponseWriter, r *http.Request) {
	v, page := p.watchersView(w, r)
	if v == nil {
		return
	}
	id := page.ID
	res, err := p.cfg.Commands.Tickets.RemoveWatcher(r.Context(), v.meta(r), id, chi.URLParam(r, "personID"))
	if !p.done(w, v, res, err) {
		p.render(w, r, "support-watchers.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id)+"/watchers", "The watcher is removed.")
}

// ---- MDM certificate (MISC-1) ----

// maxCSRFile bounds an uploaded CSR file the portal reads; the API
// refuses a CSR over 64 KiB with its own problem.
const maxCSRFile = 256 << 10

// mdmData is the MDM page's data: the account's certificates, one just
// issued, shown once, and whether the person may request one.
type mdmData struct {
	Certificates []mdm.Certificate
	Issued       *issuedCertificate
	// Admin: the person is an admin of the account; Entitled: it has a
	// managed-computers subscription active or in grace. The request form
	// is offered only with both (MISC-1).
	Admin, Entitled bool
}

// issuedCertificate is a new certificate with its download links.
type issuedCertificate struct {
	Serial, Certificate, CACertificate string
	CertificateURL, CAURL              template.URL
}

// mdmLoad reads the account's certificates into v (from the account's
// events, as the API's list); false when it has answered itself.
func (p *Portal) mdmLoad(w http.ResponseWriter, r *http.Request, v *View, issued *issuedCertificate) bool {
	list, err := p.cfg.Commands.MDM.MDMCertificates(r.Context(), v.viewer.Actor, v.AccountID)
	if err != nil {
		p.fail(w, r, v, err)
		return false
	}
	data := mdmData{Certificates: list, Issued: issued, Admin: v.IsAdmin()}
	if data.Admin {
		cards, err := p.cfg.Queries.Dashboard(r.Context(), v.viewer, v.AccountID, p.cfg.Now())
		if err != nil {
			p.fail(w, r, v, err)
			return false
		}
		data.Entitled = slices.ContainsFunc(cards, func(c queries.ProductCard) bool { return c.Model == string(product.ManagedComputers) })
	}
	v.Page = data
	return true
}

func (p *Portal) mdmView(w http.ResponseWriter, r *http.Request) *View {
	v := p.accountPage(w, r, "MDM certificate", "mdm")
	if v == nil || !p.mdmLoad(w, r, v, nil) {
		return nil
	}
	return v
}

func (p *Portal) mdmPage(w http.ResponseWriter, r *http.Request) {
	v := p.mdmView(w, r)
	if v == nil {
		return
	}
	p.render(w, r, "support-mdm.html", v)
}

// issueMDMCertificate sends the CSR, uploaded as a file or pasted, and
// answers with the certificate: shown as PEM and offered as a download.
// The certificate is not kept for a later read, so the answer is this
// page itself rather than a redirect.
func (p *Portal) issueMDMCertificate(w http.ResponseWriter, r *http.Request) {
	v := p.mdmView(w, r)
	if v == nil {
		return
	}
	csr := v.Form.Get("csr")
	if files := supFiles(r.MultipartForm, "csr_file"); len(files) > 0 {
		f, err := files[0].Open()
		if err != nil {
			p.badForm(w, r, err)
			return
		}
		b, err := io.ReadAll(io.LimitReader(f, maxCSRFile))
		f.Close()
		if err != nil {
			p.badForm(w, r, err)
			return
		}
		if len(b) > 0 {
			csr = string(b)
		}
	}
	if csr == "" {
		v.fail(httpapi.ProblemInvalidCSR.New("csr is required: the PEM text of a certificate signing request").Field("csr"))
		p.render(w, r, "support-mdm.html", v)
		return
	}
	// The entitling subscription is found in the licenses read model: the
	// browser's last write (a key just registered) must be in it.
	err := p.cfg.Queries.Await(r.Context(), v.viewer, queries.LicensesReadModel)
	var res commands.IssuedCertificate
	if err == nil {
		res, err = p.cfg.Commands.MDM.IssueMDMCertificate(r.Context(), v.meta(r), v.AccountID, csr)
	}
	if !p.done(w, v, res.AppendResult, err) {
		p.render(w, r, "support-mdm.html", v)
		return
	}
	issued := &issuedCertificate{Serial: res.Serial, Certificate: string(res.CertificatePEM), CACertificate: string(res.CACertificatePEM)}
	issued.CertificateURL, issued.CAURL = supPEMURL(issued.Certificate), supPEMURL(issued.CACertificate)
	if !p.mdmLoad(w, r, v, issued) {
		return
	}
	v.Form = url.Values{}
	v.Flash = "The certificate is issued. Download it now: it is shown only once."
	p.render(w, r, "support-mdm.html", v)
}

// supPEMURL is a data: URL of a PEM text, for a download link.
func supPEMURL(pem string) template.URL {
	return template.URL("data:application/x-pem-file;base64," + base64.StdEncoding.EncodeToString([]byte(pem)))
}

// supFiles returns the files of a parsed multipart form's field name
// that the browser sent with a name (an empty file input sends none); nil
// when the form was not multipart.
func supFiles(f *multipart.Form, name string) []*multipart.FileHeader {
	if f == nil {
		return nil
	}
	var out []*multipart.FileHeader
	for _, fh := range f.File[name] {
		if fh.Filename != "" {
			out = append(out, fh)
		}
	}
	return out
}

// ---- Downloads (MISC-2) ----

// downloadsView is the downloads page's data: a card per product, and
// the product asked for that is not one of the account's (Unlisted).
type downloadsView struct {
	Cards    []downloadCard
	Unlisted string
	// NoEntitlement: Unlisted is a product the account has no active
	// subscription of.
	NoEntitlement bool
}

// downloadCard is one product with its version selector.
type downloadCard struct {
	Product  queries.DownloadProduct
	Selected bool
	Release  queries.ProductReleases
	// Files are the selected version's files with their sizes for people.
	Files []fileView
	// Problem is why the version selected cannot be shown.
	Problem *httpapi.Problem
}

// fileView is a file of a version with its size for people.
type fileView struct {
	queries.ReleaseFile
	SizeLabel string
}

// Notes returns the notes of the card's selected version.
func (c downloadCard) Notes() string {
	for _, r := range c.Release.Versions {
		if r.Version == c.Release.Version {
			return r.Notes
		}
	}
	return ""
}

// downloadsPage lists the products the account may download, each with
// its version selector (a GET form: ?product=…&version=…) and the files
// of the version selected, newest by default. A product the account has
// no subscription of is explained with the query's problem.
func (p *Portal) downloadsPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Downloads", "downloads")
	if v == nil {
		return
	}
	ctx := r.Context()
	products, err := p.cfg.Queries.DownloadProducts(ctx, v.viewer, v.AccountID)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	selected, version := r.URL.Query().Get("product"), strings.TrimSpace(r.URL.Query().Get("version"))
	page := downloadsView{}
	listed := false
	for _, prod := range products {
		card := downloadCard{Product: prod, Selected: prod.ProductID == selected}
		asked := ""
		if card.Selected {
			listed, asked = true, version
		}
		rel, err := p.cfg.Queries.Releases(ctx, v.viewer, v.AccountID, prod.ProductID, asked)
		if err != nil {
			card.Problem = problemOf(err)
			if card.Selected {
				v.Problem, v.Status = card.Problem, card.Problem.Status
			}
			// the selector still lists the versions: read them without the selection
			if card.Selected && asked != "" {
				if all, err := p.cfg.Queries.Releases(ctx, v.viewer, v.AccountID, prod.ProductID, ""); err == nil {
					rel = all
					rel.Version, rel.Files = asked, nil
				}
			}
		}
		for _, f := range rel.Files {
			card.Files = append(card.Files, fileView{ReleaseFile: f, SizeLabel: supSize(f.Size)})
		}
		card.Release = rel
		page.Cards = append(page.Cards, card)
	}
	if selected != "" && !listed {
		// Not one of the account's products: the query says why (no
		// entitlement, MISC-2) and the page explains it.
		if _, err := p.cfg.Queries.Releases(ctx, v.viewer, v.AccountID, selected, ""); err != nil {
			prob := problemOf(err)
			v.Problem, v.Status = prob, prob.Status
			page.Unlisted = selected
			page.NoEntitlement = errors.Is(err, queries.ErrNoEntitlement)
		}
	}
	v.Page = page
	p.render(w, r, "support-downloads.html", v)
}
