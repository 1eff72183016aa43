package portal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// The history panel (rules ): who changed what of a subscription,
// a license key, an installation, an account or a person, and when, from
// the audit's reads of the event log. It is a full page; the pages that
// embed the "history-link" partial load its .history-body with htmx, and
// without JavaScript the link opens the page itself. It tells the history
// for people (queries.HistoryView: names and labels, no IDs); its toggle
// shows the raw events, as the API serves them, for whoever wants them.

func (p *Portal) historyPages(r chi.Router) {
	r.Get("/history/{kind}/{id}", p.historyPage)
}

// historyKinds are the kinds of the panel's path and what they are called.
var historyKinds = map[string]string{
	"subscriptions": "subscription", "keys": "license key", "installations": "installation",
	"accounts": "account", "people": "person",
}

// historyPageSize is how many entries a page of the panel shows (in the
// raw view: events).
const historyPageSize = 20

// historyView is the history page's data: the history for people
// (queries.HistoryView), or with Raw the events as the log holds them.
type historyView struct {
	queries.HistoryView
	Raw    bool
	Events []rawEvent
	// Back is the entity's page and Label what it is called.
	Back, Label string
	// Next is the page of later changes, First the first page ("" for
	// none); Toggle the same page in the other view.
	Next, First, Toggle string
}

// rawEvent is one event of the raw view: everything the API's history
// says of it (X-1: who, when, why), as text.
type rawEvent struct {
	queries.AuditEvent
	Actor, Data string
	Changes     []rawChange
}

// rawChange is one field the event changed, its values as JSON.
type rawChange struct{ Field, From, To string }

func (p *Portal) historyPage(w http.ResponseWriter, r *http.Request) {
	kind, id := chi.URLParam(r, "kind"), chi.URLParam(r, "id")
	v := p.page(w, r, "History", "")
	if v == nil {
		return
	}
	noun, ok := historyKinds[kind]
	if !ok {
		p.fail(w, r, v, &httpapi.Problem{Status: http.StatusNotFound, Title: "Page not found",
			Detail: "there is no history of " + kind + "; use subscriptions, keys, installations, accounts or people"})
		return
	}
	after, limit, raw := v.Value("after"), v.Value("limit"), v.Value("raw") == "1"
	if limit == "" {
		limit = strconv.Itoa(historyPageSize)
	}
	for name, val := range map[string]string{"after": after, "limit": limit} {
		if val == "" {
			continue
		}
		if _, err := strconv.ParseUint(val, 10, 64); err != nil {
			p.fail(w, r, v, &httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request",
				Detail: name + " must be a whole number", InvalidParams: []httpapi.InvalidParam{{Name: name, Reason: "must be a whole number"}}})
			return
		}
	}
	entityKind, err := queries.ParseEntityKind(kind)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	req := queries.HistoryRequest{After: after, Limit: limit}
	view := historyView{Raw: raw}
	var next uint64
	if raw {
		page, err := p.cfg.Queries.History(r.Context(), v.viewer, entityKind, id, req)
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		view.Events, next = rawEvents(page), page.NextAfter
	} else {
		if view.HistoryView, err = p.cfg.Queries.HistoryView(r.Context(), v.viewer, entityKind, id, req); err != nil {
			p.fail(w, r, v, err)
			return
		}
		next = view.NextAfter
	}
	view.Label, view.Back = p.historyContext(r, v, kind, id)
	if view.Label == "" {
		view.Label = noun
	}
	v.Title = "History of " + view.Label
	self := "/history/" + kind + "/" + url.PathEscape(id)
	link := func(q url.Values, raw bool) string {
		if raw {
			q.Set("raw", "1")
		}
		if len(q) == 0 {
			return self
		}
		return self + "?" + q.Encode()
	}
	if next != 0 {
		view.Next = link(url.Values{"after": {strconv.FormatUint(next, 10)}, "limit": {limit}}, raw)
	}
	if after != "" {
		view.First = link(url.Values{}, raw)
	}
	toggle := url.Values{}
	if after != "" {
		toggle.Set("after", after)
	}
	view.Toggle = link(toggle, !raw)
	v.Page = view
	p.render(w, r, "history.html", v)
}

// rawEvents renders page's events as the raw view shows them.
func rawEvents(page queries.HistoryPage) []rawEvent {
	out := make([]rawEvent, 0, len(page.Events))
	for _, ev := range page.Events {
		re := rawEvent{AuditEvent: ev, Actor: ev.Actor.String(), Data: string(ev.Data)}
		for _, ch := range ev.Changes {
			re.Changes = append(re.Changes, rawChange{Field: ch.Field, From: string(ch.From), To: string(ch.To)})
		}
		out = append(out, re)
	}
	return out
}

// jsonValue decodes a JSON value as the API's clients read it (numbers
// stay json.Number); nil when there is none.
func jsonValue(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

// jsonObject decodes a JSON object (nil if raw is not one).
func jsonObject(raw json.RawMessage) map[string]any {
	m, _ := jsonValue(raw).(map[string]any)
	return m
}

// historyContext finds what the entity is called and the page to go back
// to, and makes its account the page's (so that the header shows it).
// Each read is best effort: the history shows without.
func (p *Portal) historyContext(r *http.Request, v *View, kind, id string) (label, back string) {
	var account string
	ctx := r.Context()
	switch kind {
	case "subscriptions":
		if d, err := p.cfg.Queries.SubscriptionDetails(ctx, v.viewer, id, "", p.cfg.Now()); err == nil {
			s := d.Subscription
			account, label, back = s.AccountID, queries.SubscriptionTitle(s.Name, s.ProductName, s.ProductID, s.Period), "/subscriptions/"+url.PathEscape(id)
		}
		v.Nav = "subscriptions"
	case "keys":
		// The key's first event names the subscription that issued it.
		first, err := p.cfg.Queries.History(ctx, v.viewer, queries.KindKey, id, queries.HistoryRequest{Limit: "1"})
		if err != nil {
			break
		}
		var sub string
		if len(first.Events) > 0 {
			sub = str(jsonObject(first.Events[0].Data)["subscription_id"])
		}
		if sub == "" {
			break
		}
		d, err := p.cfg.Queries.SubscriptionDetails(ctx, v.viewer, sub, "", p.cfg.Now())
		if err != nil {
			break
		}
		account = d.Subscription.AccountID
		back = "/subscriptions/" + url.PathEscape(sub) + "/keys/" + url.PathEscape(id)
		for _, k := range d.Keys {
			if k.KeyID == id {
				label = "license key " + k.Name
			}
		}
		v.Nav = "subscriptions"
	case "installations":
		if d, err := p.cfg.Queries.InstallationDetails(ctx, v.viewer, id, p.cfg.Now()); err == nil {
			account, back = d.AccountID, "/installations/"+url.PathEscape(id)
			label = queries.InstallationTitle(d.Kind, d.ServerID, d.FarmName, d.ServerName)
		}
	case "accounts":
		account, back = id, "/accounts/"+url.PathEscape(id)
		for _, a := range v.Accounts {
			if a.AccountID == id && a.CompanyName != "" {
				label = a.CompanyName
			}
		}
	case "people":
		if id == v.Me.PersonID {
			account, back, label = v.Me.PersonalAccountID, "/me", "your profile"
		}
	}
	if account == "" {
		account = v.lastAccount
	}
	if !v.setAccount(account) {
		v.setAccount(v.Me.PersonalAccountID)
	}
	return label, back
}
