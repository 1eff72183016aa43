package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/feed"
	"seatledger/domain/webhook"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// webhookPages: an account's webhook endpoints (issue 22), for its
// admins. The pages call the use cases the API's webhooks routes call
// (commands.WebhooksHandler, queries.Reads.Webhooks …), which authorize:
// a regular member, or a person of another account, gets their 403 as
// every admin page does.
func (p *Portal) webhookPages(r chi.Router) {
	const hooks = "/accounts/{accountID}/webhooks"
	const hook = hooks + "/{webhookID}"
	r.Get(hooks, p.webhooksPage(""))
	r.Get(hooks+"/new", p.webhooksPage("new"))
	r.Post(hooks, p.webhookCreate)
	r.Get(hook, p.webhookPage(""))
	r.Get(hook+"/edit", p.webhookPage("edit"))
	r.Post(hook, p.webhookUpdate)
	r.Post(hook+"/enable", p.webhookEnable(true))
	r.Post(hook+"/disable", p.webhookEnable(false))
	r.Get(hook+"/delete", p.webhookPage("delete"))
	r.Post(hook+"/delete", p.webhookDelete)
	r.Get(hook+"/rotate", p.webhookPage("rotate"))
	r.Post(hook+"/rotate", p.webhookRotate)
	r.Post(hook+"/deliveries/{deliveryID}/resend", p.webhookResend)
}

// webhookTypeGroup is the public feed names of one subject ("account",
// "subscription" …), the create and edit forms' checkboxes.
type webhookTypeGroup struct {
	Subject string
	Names   []string
}

// webhookTypeGroups groups the feed's public names by their first part.
func webhookTypeGroups() []webhookTypeGroup {
	var out []webhookTypeGroup
	for _, name := range feed.Names() {
		subject, _, _ := strings.Cut(name, ".")
		if len(out) == 0 || out[len(out)-1].Subject != subject {
			out = append(out, webhookTypeGroup{Subject: subject})
		}
		out[len(out)-1].Names = append(out[len(out)-1].Names, name)
	}
	return out
}

// webhookRow is an endpoint with its newest delivery attempt.
type webhookRow struct {
	queries.Webhook
	Last *queries.WebhookDelivery
}

// webhooksView is the data of the webhooks pages.
type webhooksView struct {
	// Base is the account's webhooks path.
	Base string
	// Endpoints are the account's endpoints (the list); Hook the one the
	// endpoint page is about, with its delivery log Deliveries.
	Endpoints  []webhookRow
	Hook       *webhookRow
	Deliveries queries.WebhookDeliveryPage
	// Before is the log page's before ("" for the newest); Limit its
	// size as asked ("" for the query's default).
	Before, Limit string
	// Dialog is "", "new", "edit", "delete" or "rotate".
	Dialog string
	// Groups are the event types the forms offer; Max the endpoints an
	// account may have; Overlap how long a rotated secret still signs.
	Groups  []webhookTypeGroup
	Max     int
	Overlap string
}

// Ticked reports whether the form shows event type name ticked: as sent,
// else as the endpoint has it.
func (w *webhooksView) Ticked(v *View, name string) bool {
	if v.Form.Has("csrf") || v.Form.Has("types") {
		return slices.Contains(v.Form["types"], name)
	}
	return w.Hook != nil && slices.Contains(w.Hook.Types, name)
}

// webhookSecretView is the answer page that shows a new secret once.
type webhookSecretView struct {
	Base, URL, Secret string
	Rotated           bool
	Overlap           string
}

func (p *Portal) newWebhooksView(v *View, dialog string) *webhooksView {
	return &webhooksView{Base: "/accounts/" + url.PathEscape(v.AccountID) + "/webhooks", Dialog: dialog, Groups: webhookTypeGroups(),
		Max: webhook.MaxEndpoints, Overlap: overlapWords(webhook.RotationOverlap)}
}

// overlapWords says a duration in hours, or days when whole.
func overlapWords(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "24 hours"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return fmt.Sprintf("%d hours", d/time.Hour)
}

// lastDelivery reads the newest attempt of endpoint id's log, or nil.
func (p *Portal) lastDelivery(r *http.Request, v *View, id string) (*queries.WebhookDelivery, error) {
	page, err := p.cfg.Queries.WebhookDeliveries(r.Context(), v.viewer, v.AccountID, id, "", "1")
	if err != nil || len(page.Deliveries) == 0 {
		return nil, err
	}
	return &page.Deliveries[0], nil
}

// webhooksPage is the list of endpoints; dialog is "" or "new".
func (p *Portal) webhooksPage(dialog string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, "Webhooks", "webhooks")
		if v == nil {
			return
		}
		p.webhooksRender(w, r, v, dialog)
	}
}

func (p *Portal) webhooksRender(w http.ResponseWriter, r *http.Request, v *View, dialog string) {
	list, err := p.cfg.Queries.Webhooks(r.Context(), v.viewer, v.AccountID)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	page := p.newWebhooksView(v, dialog)
	for _, h := range list {
		last, err := p.lastDelivery(r, v, h.ID)
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		page.Endpoints = append(page.Endpoints, webhookRow{Webhook: h, Last: last})
	}
	v.Page = page
	p.render(w, r, "account-webhooks.html", v)
}

// webhookPage is one endpoint with its delivery log (?before= pages it);
// dialog is "", "edit", "delete" or "rotate".
func (p *Portal) webhookPage(dialog string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, "Webhook endpoint", "webhooks")
		if v == nil {
			return
		}
		p.webhookRender(w, r, v, dialog)
	}
}

func (p *Portal) webhookRender(w http.ResponseWriter, r *http.Request, v *View, dialog string) {
	id := chi.URLParam(r, "webhookID")
	h, err := p.cfg.Queries.Webhook(r.Context(), v.viewer, v.AccountID, id)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	page := p.newWebhooksView(v, dialog)
	page.Hook = &webhookRow{Webhook: h}
	page.Before, page.Limit = r.URL.Query().Get("before"), r.URL.Query().Get("limit")
	page.Deliveries, err = p.cfg.Queries.WebhookDeliveries(r.Context(), v.viewer, v.AccountID, id, page.Before, page.Limit)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	if len(page.Deliveries.Deliveries) > 0 && page.Before == "" {
		page.Hook.Last = &page.Deliveries.Deliveries[0]
	}
	if dialog == "edit" && !v.Form.Has("url") {
		v.Form.Set("url", h.URL)
	}
	v.Page = page
	p.render(w, r, "account-webhook.html", v)
}

// webhookPlace names the form's fields in a problem: "types[3]" is the
// checkboxes' "types"; a refusal naming no field stands by url.
func webhookPlace(v *View) {
	if v.Problem == nil {
		return
	}
	for i, ip := range v.Problem.InvalidParams {
		if strings.HasPrefix(ip.Name, "types[") {
			v.Problem.InvalidParams[i].Name = "types"
		}
	}
	acctPlace(v, "url")
}

// webhookTypes are the ticked types; none is every event.
func webhookTypes(f url.Values) []string {
	types := slices.Clone(f["types"])
	if types == nil {
		types = []string{}
	}
	return types
}

// webhookCreate adds an endpoint and shows its secret once.
func (p *Portal) webhookCreate(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Webhooks", "webhooks")
	if v == nil {
		return
	}
	u := strings.TrimSpace(v.Form.Get("url"))
	res, err := p.cfg.Commands.Webhooks.CreateWebhook(r.Context(), v.meta(r), v.AccountID, commands.WebhookInput{URL: u, Types: webhookTypes(v.Form)})
	if !p.done(w, v, res.AppendResult, err) {
		webhookPlace(v)
		p.webhooksRender(w, r, v, "new")
		return
	}
	p.webhookSecret(w, r, v, u, res.Secret, false)
}

// webhookSecret answers a create or rotation with the new secret, shown
// this once (the log keeps only the nonce it is derived from).
func (p *Portal) webhookSecret(w http.ResponseWriter, r *http.Request, v *View, endpointURL, secret string, rotated bool) {
	base := "/accounts/" + url.PathEscape(v.AccountID) + "/webhooks"
	v.Title = "The endpoint's signing secret"
	v.Page = webhookSecretView{Base: base, URL: endpointURL, Secret: secret, Rotated: rotated, Overlap: overlapWords(webhook.RotationOverlap)}
	v.Status = http.StatusCreated
	if rotated {
		v.Status = http.StatusOK
	}
	p.render(w, r, "account-webhook-secret.html", v)
}

// webhookUpdate changes the URL and types.
func (p *Portal) webhookUpdate(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Webhook endpoint", "webhooks")
	if v == nil {
		return
	}
	id := chi.URLParam(r, "webhookID")
	u, types := strings.TrimSpace(v.Form.Get("url")), webhookTypes(v.Form)
	res, err := p.cfg.Commands.Webhooks.UpdateWebhook(r.Context(), v.meta(r), v.AccountID, id, commands.WebhookChange{URL: &u, Types: &types})
	if !p.done(w, v, res, err) {
		webhookPlace(v)
		p.webhookRender(w, r, v, "edit")
		return
	}
	p.redirect(w, r, webhookPath(v, id), "The endpoint is saved; the next deliveries go to "+u+".")
}

func webhookPath(v *View, id string) string {
	return "/accounts/" + url.PathEscape(v.AccountID) + "/webhooks/" + url.PathEscape(id)
}

// webhookEnable disables or enables an endpoint.
func (p *Portal) webhookEnable(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, "Webhook endpoint", "webhooks")
		if v == nil {
			return
		}
		id := chi.URLParam(r, "webhookID")
		res, err := p.cfg.Commands.Webhooks.SetWebhookEnabled(r.Context(), v.meta(r), v.AccountID, id, enabled)
		if !p.done(w, v, res, err) {
			p.webhookRender(w, r, v, "")
			return
		}
		msg := "The endpoint is disabled: nothing is delivered to it until it is enabled again; the events wait."
		if enabled {
			msg = "The endpoint is enabled: deliveries resume where they stopped."
		}
		p.redirect(w, r, webhookPath(v, id), msg)
	}
}

// webhookDelete removes an endpoint, after the confirmation.
func (p *Portal) webhookDelete(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Webhook endpoint", "webhooks")
	if v == nil {
		return
	}
	id := chi.URLParam(r, "webhookID")
	res, err := p.cfg.Commands.Webhooks.DeleteWebhook(r.Context(), v.meta(r), v.AccountID, id)
	if !p.done(w, v, res, err) {
		p.webhookRender(w, r, v, "delete")
		return
	}
	p.redirect(w, r, "/accounts/"+url.PathEscape(v.AccountID)+"/webhooks", "The endpoint is deleted; nothing more is delivered to it.")
}

// webhookRotate gives the endpoint a new secret, shown once.
func (p *Portal) webhookRotate(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Webhook endpoint", "webhooks")
	if v == nil {
		return
	}
	id := chi.URLParam(r, "webhookID")
	res, err := p.cfg.Commands.Webhooks.RotateWebhookSecret(r.Context(), v.meta(r), v.AccountID, id)
	if !p.done(w, v, res.AppendResult, err) {
		p.webhookRender(w, r, v, "rotate")
		return
	}
	h, err := p.cfg.Queries.Webhook(r.Context(), v.viewer, v.AccountID, id)
	endpointURL := h.URL
	if err != nil {
		endpointURL = "" // the rotation is done; the page says the secret without the URL
	}
	p.webhookSecret(w, r, v, endpointURL, res.Secret, true)
}

// webhookResend queues a delivery of the log again, as the API's resend:
// the delivery is looked up in the endpoint's log, then the command asks
// for it.
func (p *Portal) webhookResend(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Webhook endpoint", "webhooks")
	if v == nil {
		return
	}
	id := chi.URLParam(r, "webhookID")
	target, err := p.cfg.Queries.WebhookResendTarget(r.Context(), v.viewer, v.AccountID, id, chi.URLParam(r, "deliveryID"))
	if err != nil {
		v.fail(err)
		if v.Status == http.StatusNotFound {
			v.Problem = &httpapi.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "that delivery is not in this endpoint's log (any more)"}
		}
		p.webhookRender(w, r, v, "")
		return
	}
	res, err := p.cfg.Commands.Webhooks.ResendWebhook(r.Context(), v.meta(r), v.AccountID, id, target.DeliveryID, target.EventID, target.Position)
	if !p.done(w, v, res, err) {
		p.webhookRender(w, r, v, "")
		return
	}
	p.redirect(w, r, webhookPath(v, id), "The delivery of "+target.EventID+" is queued again, with the same webhook-id; it is sent before the endpoint's next new event.")
}
