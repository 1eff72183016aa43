package queries

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"seatledger/domain/event"
	"seatledger/domain/installation"
)

// HistoryNames are the names the history for people calls things by,
// each by ID: people ("Ada Lovelace"), installations ("farm Berlin"),
// license keys, business accounts, products, subscriptions, invitations
// (by address) and API tokens. Me is the person reading, named "(you)".
type HistoryNames struct {
	People, Keys, Accounts, Products, Subscriptions, Invitations, Tokens map[string]string
	Installations                                                        map[string]InstallationName
	Me                                                                   string
}

// InstallationName is what an installation is called ("farm Berlin",
// "proxy server px1"), and the server it runs on as its activation's
// events name it ("farm/srv-1", installation.Identity.Server).
type InstallationName struct {
	Name, Server string
}

// person names person id.
func (n HistoryNames) person(id string) string {
	name := n.People[id]
	switch {
	case name == "":
		return "someone"
	case id == n.Me:
		return name + " (you)"
	}
	return name
}

// installation names installation id, or the server an activation's
// events name it by (X-1: the same farm is called the same throughout).
func (n HistoryNames) installation(id string) string {
	if i := n.Installations[id]; i.Name != "" {
		return i.Name
	}
	for _, k := range slices.Sorted(maps.Keys(n.Installations)) {
		if i := n.Installations[k]; i.Server == id && i.Name != "" {
			return i.Name
		}
	}
	kind, rest, _ := strings.Cut(id, "/")
	switch installation.Kind(kind) {
	case installation.Farm:
		return "farm " + rest
	case installation.ProxyServer:
		if _, name, ok := strings.Cut(rest, "/"); ok {
			return "proxy server " + name
		}
	}
	return "an installation"
}

// actor says who did the event ev: a person's name, the
// installation's, the back office's staff person by name and role, its
// service account by name and the admin token as such (ev's ActorName,
// from the roster's events), the ledger's own processes as "the ledger".
func (n HistoryNames) actor(ev AuditEvent) string {
	a := ev.Actor
	switch a.Kind {
	case event.ActorPerson:
		return n.person(a.ID)
	case event.ActorInstallation:
		return n.installation(a.ID)
	case event.ActorBackOffice:
		if ev.ActorName != "" {
			return ev.ActorName
		}
		return BackOfficeNames{}.Name(a, ev.Position)
	case event.ActorProcess:
		return "the ledger"
	}
	return "someone"
}

// InstallationTitle is what an installation of kind is called: "farm
// Berlin" (its server ID if it has no name), "proxy server px1".
func InstallationTitle(kind, serverID, farmName, serverName string) string {
	if installation.Kind(kind) == installation.ProxyServer {
		return "proxy server " + serverName
	}
	if farmName == "" {
		farmName = serverID
	}
	return "farm " + farmName
}

// learn adds the names page itself tells where n has none: a deleted
// key's (its deletion's from-values), an installation's from its
// identity, an invitation's address, an API token's name. The names the
// read store has now come first.
func (n *HistoryNames) learn(page HistoryPage) {
	n.People, n.Keys, n.Invitations, n.Tokens = maps.Clone(n.People), maps.Clone(n.Keys), maps.Clone(n.Invitations), maps.Clone(n.Tokens)
	n.Installations = maps.Clone(n.Installations)
	learned := map[string]map[string]string{}
	put := func(set, id string, raw json.RawMessage) {
		if s, ok := decode(raw).(string); ok && s != "" {
			if learned[set] == nil {
				learned[set] = map[string]string{}
			}
			learned[set][id] = s
		}
	}
	for _, ev := range page.Events {
		for _, ch := range ev.Changes {
			head, rest, _ := strings.Cut(ch.Field, ".")
			id, sub, _ := strings.Cut(rest, ".")
			for _, raw := range []json.RawMessage{ch.From, ch.To} { // the to-value last: the latest name
				switch {
				case page.Kind == KindSubscription && head == "keys" && sub == "name",
					page.Kind == KindAccount && head == "invitations" && sub == "email",
					page.Kind == KindPerson && head == "tokens" && sub == "name":
					put(head, id, raw)
				case page.Kind == KindKey && ch.Field == "key.name":
					put("keys", page.ID, raw)
				case page.Kind == KindPerson && (ch.Field == "first_name" || ch.Field == "last_name"):
					put("person", ch.Field, raw)
				case page.Kind == KindInstallation && head == "identity":
					put("identity", rest, raw)
				}
			}
		}
	}
	identity := learned["identity"]
	fill := func(dst *map[string]string, src map[string]string) {
		for id, name := range src {
			if (*dst)[id] == "" {
				if *dst == nil {
					*dst = map[string]string{}
				}
				(*dst)[id] = name
			}
		}
	}
	fill(&n.Keys, learned["keys"])
	fill(&n.Invitations, learned["invitations"])
	fill(&n.Tokens, learned["tokens"])
	if p := learned["person"]; p != nil {
		fill(&n.People, map[string]string{page.ID: strings.TrimSpace(p["first_name"] + " " + p["last_name"])})
	}
	if identity["kind"] != "" && n.Installations[page.ID].Name == "" {
		if n.Installations == nil {
			n.Installations = map[string]InstallationName{}
		}
		id := installation.Identity{Kind: installation.Kind(identity["kind"]), ServerID: identity["server_id"],
			ServerName: identity["server_name"], SiteCode: identity["site_code"]}
		n.Installations[page.ID] = InstallationName{Server: id.Server(),
			Name: InstallationTitle(identity["kind"], identity["server_id"], identity["farm_name"], identity["server_name"])}
	}
}

// NameHistory looks up in the read store db the names of what page
// refers to by ID: the people who acted or whose membership changed, the
// installations (by their streams, actors and the keys' bindings), keys,
// accounts, products, subscriptions and invitations. Only what the page
// itself refers to is looked up, so a reader learns no name of anything
// outside the history they may read. A name the read store does
// not have yet is left out; the view then says what it is, never its ID.
func NameHistory(ctx context.Context, db DB, page HistoryPage) (HistoryNames, error) {
	refs := historyRefs(page)
	var n HistoryNames
	var err error
	lookups := []struct {
		dst   *map[string]string
		kind  valueKind
		query string
	}{
		{&n.People, vPerson, `SELECT person_id, first_name || ' ' || last_name FROM dir_persons WHERE person_id IN `},
		{&n.Keys, vKey, `SELECT key_id, name FROM lic_keys WHERE key_id IN `},
		{&n.Accounts, vAccount, `SELECT account_id, company_name FROM dir_accounts WHERE account_id IN `},
		{&n.Products, vProduct, `SELECT product_id, name FROM lic_products WHERE product_id IN `},
	}
	for _, l := range lookups {
		if *l.dst, err = lookupNames(ctx, db, l.query, refs[l.kind], nil); err != nil {
			return n, err
		}
	}
	if n.Subscriptions, err = subscriptionNames(ctx, db, refs[vSubscription]); err != nil {
		return n, err
	}
	if n.Installations, err = installationNames(ctx, db, refs[vInstallation]); err != nil {
		return n, err
	}
	if page.Kind == KindAccount {
		n.Invitations, err = lookupNames(ctx, db, `SELECT invitation_id, email FROM dir_invitations WHERE account_id = ? AND invitation_id IN `,
			refs[vInvitation], []any{page.ID})
	}
	return n, err
}

// vInvitation is an invitation's ID, for the lookups only.
const vInvitation valueKind = -1

// historyRefs are the IDs page refers to, by what they are.
func historyRefs(page HistoryPage) map[valueKind][]string {
	sets := map[valueKind]map[string]bool{}
	add := func(k valueKind, id string) {
		if id == "" {
			return
		}
		if sets[k] == nil {
			sets[k] = map[string]bool{}
		}
		sets[k][id] = true
	}
	switch page.Kind {
	case KindInstallation:
		add(vInstallation, page.ID)
	case KindKey:
		add(vKey, page.ID)
	case KindAccount:
		add(vAccount, page.ID)
	case KindPerson:
		add(vPerson, page.ID)
	}
	var none HistoryNames
	for _, ev := range page.Events {
		switch ev.Actor.Kind {
		case event.ActorPerson:
			add(vPerson, ev.Actor.ID)
		case event.ActorInstallation:
			if !strings.Contains(ev.Actor.ID, "/") { // not a server: an installation's ID
				add(vInstallation, ev.Actor.ID)
			}
		}
		if id, ok := strings.CutPrefix(ev.StreamID, installation.StreamID("")); ok {
			add(vInstallation, id)
		}
		for _, ch := range ev.Changes {
			f, ok := lookupField(page.Kind, ch.Field, none)
			if !ok {
				continue
			}
			if f.part != "" {
				head, id, _ := strings.Cut(f.part, ".")
				switch head {
				case "keys":
					add(vKey, id)
				case "members":
					add(vPerson, id)
				case "invitations":
					add(vInvitation, id)
				}
			}
			switch f.spec.kind {
			case vMember:
				add(vPerson, f.last)
			case vPerson, vInstallation, vKey, vAccount, vProduct, vSubscription:
				for _, raw := range []json.RawMessage{ch.From, ch.To} {
					if s, ok := decode(raw).(string); ok {
						add(f.spec.kind, s)
					}
				}
			}
		}
	}
	out := make(map[valueKind][]string, len(sets))
	for k, set := range sets {
		out[k] = slices.Sorted(maps.Keys(set))
	}
	return out
}

// lookupChunk bounds the IDs of one lookup statement.
const lookupChunk = 500

// lookupRows runs query (ending in "IN ") for ids, chunk by chunk, with
// args before the IDs, and hands each row to scan.
func lookupRows(ctx context.Context, db DB, query string, ids []string, args []any, scan func(scan func(...any) error) error) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), lookupChunk)]
		ids = ids[len(chunk):]
		all := append(slices.Clone(args), make([]any, len(chunk))...)
		for i, id := range chunk {
			all[len(args)+i] = id
		}
		rows, err := db.Select(ctx, query+"(?"+strings.Repeat(", ?", len(chunk)-1)+")", all...)
		if err != nil {
			return fmt.Errorf("queries: names of a history: %w", err)
		}
		for rows.Next() {
			if err := scan(rows.Scan); err != nil {
				rows.Close()
				return fmt.Errorf("queries: names of a history: %w", err)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("queries: names of a history: %w", err)
		}
	}
	return nil
}

// lookupNames maps ids to the names query selects (id, name).
func lookupNames(ctx context.Context, db DB, query string, ids []string, args []any) (map[string]string, error) {
	out := map[string]string{}
	err := lookupRows(ctx, db, query, ids, args, func(scan func(...any) error) error {
		var id, name string
		if err := scan(&id, &name); err != nil {
			return err
		}
		out[id] = strings.TrimSpace(name)
		return nil
	})
	return out, err
}

func subscriptionNames(ctx context.Context, db DB, ids []string) (map[string]string, error) {
	out := map[string]string{}
	err := lookupRows(ctx, db, `SELECT s.subscription_id, s.name, COALESCE(p.name, ''), s.product_id, s.period
		FROM lic_subscriptions s LEFT JOIN lic_products p ON p.product_id = s.product_id WHERE s.subscription_id IN `, ids, nil,
		func(scan func(...any) error) error {
			var id, name, product, productID, period string
			if err := scan(&id, &name, &product, &productID, &period); err != nil {
				return err
			}
			out[id] = SubscriptionTitle(name, product, productID, period)
			return nil
		})
	return out, err
}

func installationNames(ctx context.Context, db DB, ids []string) (map[string]InstallationName, error) {
	out := map[string]InstallationName{}
	err := lookupRows(ctx, db, `SELECT installation_id, kind, server_id, farm_name, server_name, site_code
		FROM inst_installations WHERE installation_id IN `, ids, nil, func(scan func(...any) error) error {
		var id, kind, serverID, farm, server, site string
		if err := scan(&id, &kind, &serverID, &farm, &server, &site); err != nil {
			return err
		}
		identity := installation.Identity{Kind: installation.Kind(kind), ServerID: serverID, ServerName: server, SiteCode: site}
		out[id] = InstallationName{Name: InstallationTitle(kind, serverID, farm, server), Server: identity.Server()}
		return nil
	})
	return out, err
}

// SubscriptionTitle is what a subscription is called: its display name
// (SUB-5), else its product's name and what it is ("Remote Application
// Server Subscription", "… Permanent License", SUB-9).
func SubscriptionTitle(name, productName, productID, period string) string {
	if name != "" {
		return name
	}
	if productName == "" {
		productName = productID
	}
	if period == "permanent" {
		return productName + " Permanent License"
	}
	return productName + " Subscription"
}
