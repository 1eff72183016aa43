package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/httpapi"
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
	q := url.Values{}
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
		q.Set(name, val)
	}
	base := "/v1/history/" + kind + "/" + url.PathEscape(id)
	if !p.load(w, r, v, "history", base+"?"+q.Encode()) {
		return
	}
	label, back, keyNames := p.historyContext(w, r, v, kind, id)
	if label == "" {
		label = noun + " " + id
	}
	v.Title = "History of " + label
	page := licObject(v.Data["history"])
	names := p.historyNames(w, r, v, historyPeople(page))
	var entries []historyEntry
	for _, e := range licArray(page["events"]) {
		ev := licObject(e)
		entry := historyEntry{Who: actorName(licObject(ev["actor"]), names), When: formatTime(ev["recorded_at"], "2 Jan 2006 15:04:05 MST"),
			What: eventWords(str(ev["type"])), Command: str(ev["command"]), Note: str(licObject(ev["data"])["note"])}
		for _, c := range licArray(ev["changes"]) {
			ch := licObject(c)
			from, to := changeValue(ch["from"]), changeValue(ch["to"])
			if from == to { // a container of changed fields, listed themselves
				continue
			}
			entry.Changes = append(entry.Changes, historyChange{Field: fieldName(str(ch["field"]), keyNames, names), From: from, To: to})
		}
		entries = append(entries, entry)
	}
	v.Data["entries"], v.Data["back"], v.Data["label"] = entries, back, label
	self := "/history/" + kind + "/" + url.PathEscape(id)
	if next := str(page["next_after"]); next != "" && next != "0" {
		v.Data["next"] = self + "?" + url.Values{"after": {next}, "limit": {limit}}.Encode()
	}
	if after != "" {
		v.Data["first"] = self
	}
	p.render(w, r, "history.html", v)
}

// historyContext finds what the entity is called, the page to go back to,
// and makes its account the page's (so that the header shows it and the
// actors are named); for a subscription also its keys' names by ID. Each
// read is best effort: the history shows without.
func (p *Portal) historyContext(w http.ResponseWriter, r *http.Request, v *View, kind, id string) (label, back string, keyNames map[string]string) {
	var account string
	keyNames = map[string]string{}
	switch kind {
	case "subscriptions":
		var d map[string]any
		if p.read(w, r, "/v1/subscriptions/"+url.PathEscape(id), &d) == nil {
			s := licObject(d["subscription"])
			account, label, back = str(s["account_id"]), subscriptionTitle(str(s["name"]), str(s["product_name"]), str(s["product_id"]), str(s["period"])), "/subscriptions/"+url.PathEscape(id)
			for _, k := range licArray(d["keys"]) {
				m := licObject(k)
				keyNames[str(m["key_id"])] = str(m["name"])
			}
		}
		v.Nav = "subscriptions"
	case "keys":
		// The key's first event names the subscription that issued it.
		var first map[string]any
		if p.read(w, r, "/v1/history/keys/"+url.PathEscape(id)+"?limit=1", &first) != nil {
			break
		}
		var sub string
		if evs := licArray(first["events"]); len(evs) > 0 {
			var data map[string]any
			if b, err := json.Marshal(licObject(evs[0])["data"]); err == nil && json.Unmarshal(b, &data) == nil {
				sub = str(data["subscription_id"])
			}
		}
		var d map[string]any
		if sub == "" || p.read(w, r, "/v1/subscriptions/"+url.PathEscape(sub), &d) != nil {
			break
		}
		account = str(licObject(d["subscription"])["account_id"])
		back = "/subscriptions/" + url.PathEscape(sub) + "/keys/" + url.PathEscape(id)
		for _, k := range licArray(d["keys"]) {
			if m := licObject(k); str(m["key_id"]) == id {
				label = "license key " + str(m["name"])
			}
		}
		v.Nav = "subscriptions"
	case "installations":
		var d map[string]any
		if p.read(w, r, "/v1/installations/"+url.PathEscape(id), &d) == nil {
			account = str(d["account_id"])
			if n := str(d["farm_name"]) + str(d["server_name"]); n != "" {
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
		if c, err := r.Cookie(accountCookie); err == nil {
			account = c.Value
		}
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
func historyPeople(page map[string]any) []string {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, e := range licArray(page["events"]) {
		ev := licObject(e)
		if a := licObject(ev["actor"]); str(a["kind"]) == "person" {
			add(str(a["id"]))
		}
		for _, c := range licArray(ev["changes"]) {
			if rest, ok := strings.CutPrefix(str(licObject(c)["field"]), "members."); ok {
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
func (p *Portal) historyNames(w http.ResponseWriter, r *http.Request, v *View, ids []string) map[string]string {
	me := v.Me.PersonID
	names := map[string]string{me: strings.TrimSpace(v.Me.FirstName+" "+v.Me.LastName) + " (you)"}
	q := url.Values{}
	for _, id := range ids {
		if id != me && len(q["person_id"]) < maxNamed {
			q.Add("person_id", id)
		}
	}
	if !v.IsBusiness() || len(q) == 0 {
		return names
	}
	q.Set("limit", strconv.Itoa(len(q["person_id"])))
	var members struct {
		Members []map[string]any `json:"members"`
	}
	if p.read(w, r, "/v1/accounts/"+url.PathEscape(v.AccountID)+"/members?"+q.Encode(), &members) != nil {
		return names
	}
	for _, m := range members.Members {
		id := str(m["person_id"])
		if _, ok := names[id]; !ok {
			names[id] = strings.TrimSpace(str(m["first_name"]) + " " + str(m["last_name"]))
		}
	}
	return names
}

// actorName says who did it.
func actorName(a map[string]any, names map[string]string) string {
	id := str(a["id"])
	switch str(a["kind"]) {
	case "person":
		if n := names[id]; n != "" {
			return n
		}
		return "person " + id
	case "installation":
		return "installation " + id
	case "process":
		return "the ledger (" + id + ")"
	case "back_office":
		return "back office (" + id + ")"
	}
	return str(a["kind"]) + " " + id
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
