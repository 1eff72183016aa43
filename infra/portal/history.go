package portal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/event"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// The history panel (rules ): who changed what of a subscription,
// a license key, an installation, an account or a person, and when, from
// the audit's reads of the event log. It is a full page; the pages that
// embed the "history-link" partial load its .history-body with htmx, and
// without JavaScript the link opens the page itself.

func (p *Portal) historyPages(r chi.Router) {
	r.Get("/history/{kind}/{id}", p.historyPage)
}

// historyKinds are the kinds of the panel's path and what they are called.
var historyKinds = map[string]string{
	"subscriptions": "subscription", "keys": "license key", "installations": "installation",
	"accounts": "account", "people": "person",
}

// historyPageSize is how many events a page of the panel shows.
const historyPageSize = 20

// historyEntry is one event as the panel shows it.
type historyEntry struct {
	Who, When, What, Command string
	// Note is the reason the actor gave (a role change's note), if any.
	Note    string
	Changes []historyChange
}

// historyChange is one field the event changed.
type historyChange struct{ Field, From, To string }

// historyView is the history page's data.
type historyView struct {
	Entries []historyEntry
	// Back is the entity's page and Label what it is called.
	Back, Label string
	// Next is the page of later changes, First the first page ("" for
	// none).
	Next, First string
}

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
	after, limit := v.Value("after"), v.Value("limit")
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
	page, err := p.cfg.Queries.History(r.Context(), v.viewer, entityKind, id, queries.HistoryRequest{After: after, Limit: limit})
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	label, back, keyNames := p.historyContext(r, v, kind, id)
	if label == "" {
		label = noun + " " + id
	}
	v.Title = "History of " + label
	names := p.historyNames(r, v, historyPeople(page))
	view := historyView{Back: back, Label: label}
	for _, ev := range page.Events {
		entry := historyEntry{Who: actorName(ev.Actor, names), When: formatTime(ev.RecordedAt, "2 Jan 2006 15:04:05 MST"),
			What: eventWords(ev.Type), Command: ev.Command, Note: str(jsonObject(ev.Data)["note"])}
		for _, ch := range ev.Changes {
			from, to := changeValue(jsonValue(ch.From)), changeValue(jsonValue(ch.To))
			if from == to { // a container of changed fields, listed themselves
				continue
			}
			entry.Changes = append(entry.Changes, historyChange{Field: fieldName(ch.Field, keyNames, names), From: from, To: to})
		}
		view.Entries = append(view.Entries, entry)
	}
	self := "/history/" + kind + "/" + url.PathEscape(id)
	if page.NextAfter != 0 {
		view.Next = self + "?" + url.Values{"after": {strconv.FormatUint(page.NextAfter, 10)}, "limit": {limit}}.Encode()
	}
	if after != "" {
		view.First = self
	}
	v.Page = view
	p.render(w, r, "history.html", v)
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

// historyContext finds what the entity is called, the page to go back to,
// and makes its account the page's (so that the header shows it and the
// actors are named); for a subscription also its keys' names by ID. Each
// read is best effort: the history shows without.
func (p *Portal) historyContext(r *http.Request, v *View, kind, id string) (label, back string, keyNames map[string]string) {
	var account string
	keyNames = map[string]string{}
	ctx := r.Context()
	switch kind {
	case "subscriptions":
		if d, err := p.cfg.Queries.SubscriptionDetails(ctx, v.viewer, id, ""); err == nil {
			s := d.Subscription
			account, label, back = s.AccountID, subscriptionTitle(s.Name, s.ProductName, s.ProductID, s.Period), "/subscriptions/"+url.PathEscape(id)
			for _, k := range d.Keys {
				keyNames[k.KeyID] = k.Name
			}
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
		d, err := p.cfg.Queries.SubscriptionDetails(ctx, v.viewer, sub, "")
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
		if d, err := p.cfg.Queries.InstallationDetails(ctx, v.viewer, id); err == nil {
			account = d.AccountID
			if n := d.FarmName + d.ServerName; n != "" {
				label = "installation " + n
			}
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
	return label, back, keyNames
}

// fieldName names a changed field: a subscription's "keys.<id>.quota" as
// "key Berlin › quota" while the key exists, an account's
// "members.<id>.role" as "member Bob Tester › role".
func fieldName(field string, keyNames, people map[string]string) string {
	for _, c := range []struct {
		prefix, word string
		names        map[string]string
	}{{"keys.", "key", keyNames}, {"members.", "member", people}} {
		rest, ok := strings.CutPrefix(field, c.prefix)
		if !ok {
			continue
		}
		id, sub, _ := strings.Cut(rest, ".")
		name, ok := c.names[id]
		if !ok {
			return field
		}
		if sub == "" {
			return c.word + " " + name
		}
		return c.word + " " + name + " › " + sub
	}
	return field
}

// historyPeople returns the person IDs a page of history shows: the
// people who acted and the members whose fields changed.
func historyPeople(page queries.HistoryPage) []string {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, ev := range page.Events {
		if ev.Actor.Kind == event.ActorPerson {
			add(ev.Actor.ID)
		}
		for _, c := range ev.Changes {
			if rest, ok := strings.CutPrefix(c.Field, "members."); ok {
				id, _, _ := strings.Cut(rest, ".")
				add(id)
			}
		}
	}
	return ids
}

// maxNamed is how many people a history page names at most (the members
// list's largest page); a longer page shows the rest by ID.
const maxNamed = 200

// historyNames maps the person IDs the panel shows to names: the
// signed-in person, and those of ids who are members of the page's
// account, looked up by ID however many members it has.
func (p *Portal) historyNames(r *http.Request, v *View, ids []string) map[string]string {
	me := v.Me.PersonID
	names := map[string]string{me: strings.TrimSpace(v.Me.FirstName+" "+v.Me.LastName) + " (you)"}
	var others []string
	for _, id := range ids {
		if id != me && len(others) < maxNamed {
			others = append(others, id)
		}
	}
	if !v.IsBusiness() || len(others) == 0 {
		return names
	}
	members, err := p.cfg.Queries.Members(r.Context(), v.viewer, queries.MembersFilter{AccountID: v.AccountID, PersonIDs: others, Limit: len(others)})
	if err != nil {
		return names
	}
	for _, m := range members.Members {
		if _, ok := names[m.PersonID]; !ok {
			names[m.PersonID] = strings.TrimSpace(m.FirstName + " " + m.LastName)
		}
	}
	return names
}

// actorName says who did it.
func actorName(a event.Actor, names map[string]string) string {
	id := a.ID
	switch a.Kind {
	case event.ActorPerson:
		if n := names[id]; n != "" {
			return n
		}
		return "person " + id
	case event.ActorInstallation:
		return "installation " + id
	case event.ActorProcess:
		return "the ledger (" + id + ")"
	case event.ActorBackOffice:
		return "back office (" + id + ")"
	}
	return a.Kind.String() + " " + id
}

// eventNames are the events whose type is not clear enough in words.
var eventNames = map[string]string{
	"subscription.purchased":                 "Subscription purchased",
	"subscription.registered":                "Registered to a business account",
	"subscription.auto_renew_set":            "Subscription renewal turned on or off",
	"subscription.sublicense_created":        "License key created",
	"subscription.sublicense_changed":        "License key changed",
	"subscription.sublicense_renamed":        "License key renamed",
	"subscription.sublicense_deleted":        "License key deleted",
	"subscription.key_administrator_granted": "License administrator added",
	"subscription.key_administrator_revoked": "License administrator removed",
	"subscription.expiry_reminded":           "Expiry reminder sent",
	"license_key.issued":                     "Key issued",
	"license_key.bound":                      "Key bound to an installation",
	"license_key.released":                   "Key released by its installation",
}

// eventWords says what happened: "subscription.seats_added" → "Subscription seats added".
func eventWords(typ string) string {
	if n, ok := eventNames[typ]; ok {
		return n
	}
	s := strings.NewReplacer(".", " ", "_", " ").Replace(typ)
	if s == "" {
		return "Change"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// changeValue prints one side of a change: nothing as "—", a time as a
// date and time, anything structured as compact JSON.
func changeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "“”"
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2 Jan 2006 15:04 MST")
		}
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return str(v)
	}
	return string(b)
}
