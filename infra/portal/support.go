package portal

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/httpapi"
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

// supLabelTicket adds the status as people read it to a ticket of the API.
func supLabelTicket(t map[string]any) {
	s := str(t["status"])
	label, ok := ticketStatusLabels[s]
	if !ok {
		label = s
	}
	t["status_label"] = label
}

// supAPI joins escaped segments under /v1.
func supAPI(segments ...string) string {
	var b strings.Builder
	b.WriteString("/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// supBadInput records a problem of the portal's own form parsing (a value
// that is not a number or a time), before any call to the API.
func supBadInput(v *View, name, reason string) {
	v.Problem = &httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: name + " " + reason,
		InvalidParams: []httpapi.InvalidParam{{Name: name, Reason: reason}}}
	v.Status = http.StatusBadRequest
}

// ---- My Tickets (TKT-3, TKT-4) ----

func (p *Portal) ticketsPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "My Tickets", "support")
	if v == nil {
		return
	}
	q := url.Values{}
	for _, k := range []string{"status", "scope", "after"} {
		if s := r.URL.Query().Get(k); s != "" {
			q.Set(k, s)
		}
	}
	path := supAPI("accounts", v.AccountID, "tickets")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var page map[string]any
	if err := p.read(w, r, path, &page); err != nil {
		var prob *httpapi.Problem
		if !errors.As(err, &prob) || prob.Status >= 500 || prob.Status == http.StatusForbidden {
			p.fail(w, r, v, err)
			return
		}
		v.fail(err) // a filter the API refuses: shown next to it
		page = map[string]any{"tickets": []any{}}
	}
	for _, t := range supList(page["tickets"]) {
		if m, ok := t.(map[string]any); ok {
			supLabelTicket(m)
		}
	}
	v.Data = map[string]any{"page": page, "statuses": ticketStatusFilters}
	p.render(w, r, "support-tickets.html", v)
}

// supList is a JSON array of the API, or nil.
func supList(v any) []any { l, _ := v.([]any); return l }

// ---- New ticket (TKT-1) ----

func (p *Portal) newTicketView(w http.ResponseWriter, r *http.Request) *View {
	v := p.accountPage(w, r, "New ticket", "support")
	if v == nil || !p.load(w, r, v, "products", "/v1/products") {
		return nil
	}
	v.Data["categories"] = ticketCategories
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
	channel := map[string]any{"kind": f.Get("channel")}
	if at := strings.TrimSpace(f.Get("call_at")); at != "" && f.Get("channel") == "call" {
		t, err := supParseTime(at)
		if err != nil {
			supBadInput(v, "channel.call_at", "must be a date and time such as 2030-01-31T14:30 (UTC)")
			p.render(w, r, "support-new.html", v)
			return
		}
		channel["call_at"] = t
	}
	body := map[string]any{"product_id": f.Get("product_id"), "category": f.Get("category"), "subject": f.Get("subject"),
		"description": f.Get("description"), "channel": channel}
	var out struct {
		TicketID string `json:"ticket_id"`
	}
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, supAPI("accounts", v.AccountID, "tickets"), body), &out) {
		p.render(w, r, "support-new.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(out.TicketID),
		fmt.Sprintf("Ticket %s is open. Quote its ID when you contact support.", out.TicketID))
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

// ticketView reads the ticket of the route into v.Data["ticket"], with
// its account as the page's; nil when it has answered itself.
func (p *Portal) ticketView(w http.ResponseWriter, r *http.Request, tab string) *View {
	id := chi.URLParam(r, "ticketID")
	v := p.page(w, r, "Ticket "+id, "support")
	if v == nil || !p.load(w, r, v, "ticket", supAPI("tickets", id)) {
		return nil
	}
	t, _ := v.Data["ticket"].(map[string]any)
	if t == nil {
		p.fail(w, r, v, errors.New("the ticket's answer is not an object"))
		return nil
	}
	v.setAccount(str(t["account_id"]))
	supLabelTicket(t)
	if s := str(t["subject"]); s != "" {
		v.Title = fmt.Sprintf("Ticket %s: %s", str(t["ticket_id"]), s)
	}
	for _, x := range supList(t["replies"]) {
		reply, ok := x.(map[string]any)
		if !ok {
			continue
		}
		switch {
		case reply["from_support"] == true:
			reply["author_label"] = "Support"
			if agent := strings.TrimPrefix(str(reply["author"]), "support:"); agent != "" {
				reply["author_label"] = "Support (" + agent + ")"
			}
		case str(reply["author"]) == v.Me.PersonID:
			reply["author_label"] = str(reply["author_name"]) + " (you)"
		default:
			reply["author_label"] = str(reply["author_name"])
		}
		for _, a := range supList(reply["attachments"]) {
			if m, ok := a.(map[string]any); ok {
				m["size_label"] = supSize(m["size"])
			}
		}
	}
	status := str(t["status"])
	v.Data["id"] = str(t["ticket_id"])
	v.Data["tab"] = tab
	v.Data["is_owner"] = str(t["owner"]) == v.Me.PersonID
	v.Data["current"] = status == "open" || status == "in_progress" || status == "awaiting_customer"
	v.Data["resolved"] = status == "resolved"
	v.Data["can_reply"] = status != "closed"
	v.Data["can_survey"] = status == "resolved" && t["survey"] == nil
	return v
}

// supSize prints a byte count of the API's JSON for people.
func supSize(v any) string {
	n, err := strconv.ParseInt(str(v), 10, 64)
	if err != nil {
		return str(v)
	}
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
	v := p.ticketView(w, r, "conversation")
	if v == nil {
		return
	}
	p.render(w, r, "support-ticket.html", v)
}

// replyToTicket forwards the reply form, with its files, to the API as
// multipart (TKT-2): field body, files attachments.
func (p *Portal) replyToTicket(w http.ResponseWriter, r *http.Request) {
	v := p.ticketView(w, r, "conversation")
	if v == nil {
		return
	}
	id := v.Data["id"].(string)
	req, err := multipartRequest(http.MethodPost, supAPI("tickets", id, "replies"), map[string]string{"body": v.Form.Get("body")},
		"attachments", supFiles(r.MultipartForm, "attachments"))
	if err != nil {
		p.badForm(w, r, err)
		return
	}
	if !p.submit(w, r, v, req, nil) {
		p.render(w, r, "support-ticket.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id)+"#replies", "Your reply is sent.")
}

// ticketAction is a button of the ticket page that POSTs to the API's
// action of the same name (close, reopen).
func (p *Portal) ticketAction(action, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.ticketView(w, r, "conversation")
		if v == nil {
			return
		}
		id := v.Data["id"].(string)
		if !p.submit(w, r, v, jsonRequest(http.MethodPost, supAPI("tickets", id, action), nil), nil) {
			p.render(w, r, "support-ticket.html", v)
			return
		}
		p.redirect(w, r, "/tickets/"+url.PathEscape(id), done)
	}
}

func (p *Portal) submitSurvey(w http.ResponseWriter, r *http.Request) {
	v := p.ticketView(w, r, "conversation")
	if v == nil {
		return
	}
	id := v.Data["id"].(string)
	rating, err := strconv.Atoi(strings.TrimSpace(v.Form.Get("rating")))
	if err != nil {
		supBadInput(v, "rating", "choose a rating from 1 to 5")
		p.render(w, r, "support-ticket.html", v)
		return
	}
	body := map[string]any{"rating": rating, "feedback": v.Form.Get("feedback")}
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, supAPI("tickets", id, "survey"), body), nil) {
		p.render(w, r, "support-ticket.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id), "Thank you for your feedback.")
}

// ---- Watchers (TKT-3) ----

// watchersView is the ticket's Watchers tab: its watchers, and the
// account's admins the owner may add.
func (p *Portal) watchersView(w http.ResponseWriter, r *http.Request) *View {
	v := p.ticketView(w, r, "watchers")
	if v == nil {
		return nil
	}
	t := v.Data["ticket"].(map[string]any)
	watching := map[string]bool{str(t["owner"]): true}
	for _, x := range supList(t["watchers"]) {
		if m, ok := x.(map[string]any); ok {
			watching[str(m["person_id"])] = true
		}
	}
	var candidates []any
	if v.IsBusiness() {
		var profile map[string]any
		if err := p.read(w, r, supAPI("accounts", str(t["account_id"])), &profile); err != nil {
			p.fail(w, r, v, err)
			return nil
		}
		for _, x := range supList(profile["admins"]) {
			if m, ok := x.(map[string]any); ok && !watching[str(m["person_id"])] {
				candidates = append(candidates, m)
			}
		}
	}
	v.Data["candidates"] = candidates
	return v
}

func (p *Portal) watchersPage(w http.ResponseWriter, r *http.Request) {
	v := p.watchersView(w, r)
	if v == nil {
		return
	}
	p.render(w, r, "support-watchers.html", v)
}

func (p *Portal) addWatcher(w http.ResponseWriter, r *http.Request) {
	v := p.watchersView(w, r)
	if v == nil {
		return
	}
	id, person := v.Data["id"].(string), strings.TrimSpace(v.Form.Get("person_id"))
	if person == "" {
		supBadInput(v, "person_id", "choose an admin of the account")
		p.render(w, r, "support-watchers.html", v)
		return
	}
	if !p.submit(w, r, v, jsonRequest(http.MethodPut, supAPI("tickets", id, "watchers", person), nil), nil) {
		p.render(w, r, "support-watchers.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id)+"/watchers", "The watcher is added; they get the ticket's notifications.")
}

func (p *Portal) removeWatcher(w http.ResponseWriter, r *http.Request) {
	v := p.watchersView(w, r)
	if v == nil {
		return
	}
	id := v.Data["id"].(string)
	if !p.submit(w, r, v, jsonRequest(http.MethodDelete, supAPI("tickets", id, "watchers", chi.URLParam(r, "personID")), nil), nil) {
		p.render(w, r, "support-watchers.html", v)
		return
	}
	p.redirect(w, r, "/tickets/"+url.PathEscape(id)+"/watchers", "The watcher is removed.")
}

// ---- MDM certificate (MISC-1) ----

// maxCSRFile bounds an uploaded CSR file the portal reads; the API
// refuses a CSR over 64 KiB with its own problem.
const maxCSRFile = 256 << 10

func (p *Portal) mdmView(w http.ResponseWriter, r *http.Request) *View {
	v := p.accountPage(w, r, "MDM certificate", "mdm")
	if v == nil || !p.load(w, r, v, "certificates", supAPI("accounts", v.AccountID, "mdm", "certificates")) {
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
	var out map[string]any
	if !p.submit(w, r, v, jsonRequest(http.MethodPost, supAPI("accounts", v.AccountID, "mdm", "certificates"), map[string]any{"csr": csr}), &out) {
		p.render(w, r, "support-mdm.html", v)
		return
	}
	if !p.load(w, r, v, "certificates", supAPI("accounts", v.AccountID, "mdm", "certificates")) {
		return
	}
	out["certificate_url"] = supPEMURL(str(out["certificate"]))
	out["ca_url"] = supPEMURL(str(out["ca_certificate"]))
	v.Data["issued"] = out
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

// downloadsPage lists the products the account may download, each with
// its version selector (a GET form: ?product=…&version=…) and the files
// of the version selected, newest by default. A product the account has
// no subscription of is explained with the API's problem.
func (p *Portal) downloadsPage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Downloads", "downloads")
	if v == nil || !p.load(w, r, v, "downloads", supAPI("accounts", v.AccountID, "downloads")) {
		return
	}
	downloads, _ := v.Data["downloads"].(map[string]any)
	selected, version := r.URL.Query().Get("product"), strings.TrimSpace(r.URL.Query().Get("version"))
	var cards []any
	listed := false
	for _, x := range supList(downloads["products"]) {
		prod, ok := x.(map[string]any)
		if !ok {
			continue
		}
		id := str(prod["product_id"])
		card := map[string]any{"product": prod, "selected": id == selected}
		path := supAPI("accounts", v.AccountID, "downloads", id)
		if id == selected {
			listed = true
			if version != "" {
				path += "?version=" + url.QueryEscape(version)
			}
		}
		var rel map[string]any
		if err := p.read(w, r, path, &rel); err != nil {
			var prob *httpapi.Problem
			if !errors.As(err, &prob) {
				p.fail(w, r, v, err)
				return
			}
			card["problem"] = prob
			if id == selected {
				v.Problem, v.Status = prob, prob.Status
			}
			// the selector still lists the versions: read them without the selection
			if id == selected && version != "" && p.read(w, r, supAPI("accounts", v.AccountID, "downloads", id), &rel) == nil {
				rel["version"], rel["files"] = version, []any{}
			}
		}
		for _, f := range supList(rel["files"]) {
			if m, ok := f.(map[string]any); ok {
				m["size_label"] = supSize(m["size"])
			}
		}
		card["release"] = rel
		cards = append(cards, card)
	}
	if selected != "" && !listed {
		// Not one of the account's products: the API says why (no
		// entitlement, MISC-2) and the page explains it.
		var rel map[string]any
		if err := p.read(w, r, supAPI("accounts", v.AccountID, "downloads", selected), &rel); err != nil {
			var prob *httpapi.Problem
			if !errors.As(err, &prob) {
				p.fail(w, r, v, err)
				return
			}
			v.Problem, v.Status = prob, prob.Status
			v.Data["unlisted"] = selected
			v.Data["no_entitlement"] = strings.HasSuffix(prob.Type, "/no-entitlement")
		}
	}
	v.Data["cards"] = cards
	p.render(w, r, "support-downloads.html", v)
}
