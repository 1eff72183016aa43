package queries

import (
	"encoding/json"
	"strings"
	"time"
)

// The labels of the history for people: what each event is called and
// what each field of an entity's state (audit_state.go's views) is
// called and how its values read. A test walks every field of every
// state and checks that it is labelled or left out on purpose here.

// eventTitles say what happened, by event type. A type missing here is
// told by its name in words (and a test keeps the list complete).
var eventTitles = map[string]string{
	"subscription.purchased":                 "Subscription purchased",
	"subscription.seats_added":               "Seats added",
	"subscription.renewed":                   "Subscription renewed",
	"subscription.cancelled":                 "Subscription cancelled",
	"subscription.registered":                "Registered to a business account",
	"subscription.renamed":                   "Subscription renamed",
	"subscription.auto_renew_set":            "Automatic renewal switched",
	"subscription.grace_started":             "Subscription ended: grace period started",
	"subscription.expired":                   "Subscription expired",
	"subscription.sublicense_created":        "License key created",
	"subscription.sublicense_changed":        "License key changed",
	"subscription.sublicense_renamed":        "License key renamed",
	"subscription.sublicense_deleted":        "License key deleted",
	"subscription.key_administrator_granted": "License administrator added",
	"subscription.key_administrator_revoked": "License administrator removed",
	"subscription.expiry_reminded":           "Expiry reminder sent",
	"subscription.renewal_requested":         "Renewal requested",
	"subscription.sublicense_grace_started":  "License key ended: grace period started",
	"subscription.sublicense_expired":        "License key expired",
	"license_key.issued":                     "License key issued",
	"license_key.bound":                      "License key activated an installation",
	"license_key.released":                   "License key released",
	"installation.activated":                 "Activated",
	"installation.refreshed":                 "License refreshed",
	"installation.usage_reported":            "Usage reported",
	"installation.deactivation_requested":    "Deactivation requested",
	"installation.deactivated":               "Deactivated",
	"installation.notes_set":                 "Notes changed",
	"installation.overuse_grace_started":     "Overuse: 7-day grace period started",
	"installation.overuse_detected":          "Overuse after the grace period",
	"installation.overuse_cleared":           "Overuse ended",
	"installation.suspended_for_overuse":     "Suspended for overuse",
	"installation.overuse_revalidated":       "Overuse checked again",
	"installation.reactivated":               "Reactivated",
	"installation.over_limit_started":        "Over the limit",
	"installation.over_limit_alerted":        "Over-limit alert sent",
	"installation.over_limit_ended":          "Back within the limit",
	"installation.usage_report_refused":      "Usage report refused",
	"installation.computers_enrolled":        "Computers enrolled",
	"account.created":                        "Business account created",
	"account.profile_changed":                "Business profile changed",
	"account.member_joined":                  "Member joined",
	"account.member_role_changed":            "Member's role changed",
	"account.member_blocked":                 "Member blocked",
	"account.member_unblocked":               "Member unblocked",
	"account.member_removed":                 "Member removed",
	"account.member_left":                    "Member left",
	"account.member_invited":                 "Invitation sent",
	"account.invitation_revoked":             "Invitation revoked",
	"account.offline_activation_set":         "Offline activation switched",
	"ticket.assigned":                        "Ticket assigned",
	"person.signed_up":                       "Signed up",
	"person.email_verified":                  "Email address verified",
	"person.profile_changed":                 "Profile changed",
	"person.password_changed":                "Password changed",
	"person.password_reset_requested":        "Password reset requested",
	"person.password_reset":                  "Password reset",
	"person.api_token_issued":                "API token created",
	"person.api_token_revoked":               "API token revoked",
	"person.email_claimed":                   "Email address claimed",
}

// eventTitle says what an event of type typ is.
func eventTitle(typ string) string {
	if t, ok := eventTitles[typ]; ok {
		return t
	}
	if t := humanize(typ); t != "" {
		return t
	}
	return "Change"
}

// valueKind is how a field's values read.
type valueKind int

const (
	vText valueKind = iota
	vNumber
	vYesNo
	vOnOff
	vDate
	vTime
	vWords        // a stable name, in words
	vPerson       // a person's ID, as their name
	vInstallation // an installation's ID, as its name
	vKey          // a license key's ID, as its name
	vAccount      // a business account's ID, as its company's name
	vProduct      // a product's ID, as its name
	vSubscription // a subscription's ID, as its name
	vMember       // a set of people by ID (true: in it), as the person's name
)

// fieldSpec is how a field of a state reads; hidden leaves it out.
type fieldSpec struct {
	label  string
	kind   valueKind
	words  map[string]string
	hidden bool
	// sameAsPart: the field is the name its part is labelled with, so it
	// is not listed again when the part is new.
	sameAsPart bool
	// counts: 0 is a number of things (seats in use), not "none yet".
	counts bool
}

// hide is the spec of a field people do not see.
var hide = fieldSpec{hidden: true}

func text(label string) fieldSpec             { return fieldSpec{label: label} }
func number(label string) fieldSpec           { return fieldSpec{label: label, kind: vNumber} }
func count(label string) fieldSpec            { return fieldSpec{label: label, kind: vNumber, counts: true} }
func yesNo(label string) fieldSpec            { return fieldSpec{label: label, kind: vYesNo} }
func onOff(label string) fieldSpec            { return fieldSpec{label: label, kind: vOnOff} }
func date(label string) fieldSpec             { return fieldSpec{label: label, kind: vDate} }
func moment(label string) fieldSpec           { return fieldSpec{label: label, kind: vTime} }
func ref(label string, k valueKind) fieldSpec { return fieldSpec{label: label, kind: k} }
func words(label string, w map[string]string) fieldSpec {
	return fieldSpec{label: label, kind: vWords, words: w}
}

// render reads one side of a change: its text ("" for none) and whether
// it is the field's zero value. last is the field's last path segment
// (the person of a vMember set).
func (s fieldSpec) render(raw json.RawMessage, last string, names HistoryNames) (string, bool) {
	v := decode(raw)
	if v == nil {
		return "", true
	}
	if b, ok := v.(bool); ok {
		switch s.kind {
		case vOnOff:
			return pick(b, "on", "off"), !b
		case vMember:
			return pick(b, names.person(last), ""), !b
		}
		return pick(b, "yes", "no"), !b
	}
	if n, ok := v.(json.Number); ok {
		return n.String(), n.String() == "0"
	}
	str, ok := v.(string)
	if !ok || str == "" {
		return "", true // a container: its fields are listed themselves
	}
	switch s.kind {
	case vDate, vTime:
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil || t.IsZero() {
			return "", true
		}
		if s.kind == vDate {
			return t.UTC().Format("2 Jan 2006"), false
		}
		return t.UTC().Format(HistoryTimeLayout), false
	case vWords:
		if w, ok := s.words[str]; ok {
			return w, false
		}
		return humanize(str), false
	case vPerson:
		return names.person(str), false
	case vInstallation:
		return names.installation(str), false
	case vKey:
		return named(names.Keys, str, "a license key"), false
	case vAccount:
		return named(names.Accounts, str, "a business account"), false
	case vProduct:
		return named(names.Products, str, "a product"), false
	case vSubscription:
		return named(names.Subscriptions, str, "a subscription"), false
	}
	return str, false
}

func pick(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// named is names[id], or what it is when it has no name.
func named(names map[string]string, id, unnamed string) string {
	if n := names[id]; n != "" {
		return n
	}
	return unnamed
}

// fieldSet is the fields of a state or of a part of one, in the order
// people read them.
type fieldSet struct {
	specs map[string]fieldSpec
	rank  map[string]int
}

// namedField is a field of a fieldSet: its name in the state's JSON
// ("orders.*": any key of a map), and how it reads.
type namedField struct {
	name string
	spec fieldSpec
}

func fieldsOf(list ...namedField) fieldSet {
	fs := fieldSet{specs: make(map[string]fieldSpec, len(list)), rank: make(map[string]int, len(list))}
	for i, f := range list {
		fs.specs[f.name], fs.rank[f.name] = f.spec, i
	}
	return fs
}

func (fs fieldSet) lookup(path string) (fieldAt, bool) {
	name, last := path, lastSegment(path)
	if _, ok := fs.specs[name]; !ok {
		head, rest, _ := strings.Cut(path, ".")
		name, last = head+".*", rest
		if rest == "" {
			return fieldAt{}, false
		}
	}
	spec, ok := fs.specs[name]
	return fieldAt{spec: spec, label: spec.label, last: last, rank: fs.rank[name]}, ok
}

// part is a set of things within a state, by ID: a subscription's keys,
// an account's members and invitations, a person's API tokens. Its
// fields are labelled "Key Berlin › Seats"; when its idField goes, the
// whole part is "removed".
type part struct {
	noun, unnamed, idField string
	fields                 fieldSet
	name                   func(HistoryNames, string) string
}

// schema is how the fields of one kind of state read.
type schema struct {
	fields fieldSet
	parts  map[string]*part
	// nested are states within the state (a key's view holds its
	// binding and its subscription's), with the label their fields are
	// prefixed with, in the order people read them.
	nested []nestedSchema
	// self is the part the entity itself is (a key's view: "key.…"),
	// whose fields read without a prefix.
	self map[string]*part
}

type nestedSchema struct {
	head, prefix string
	schema       *schema
}

// fieldAt is a changed field as people read it.
type fieldAt struct {
	spec  fieldSpec
	label string
	// last is the path's last segment (the ID of a map's entry).
	last string
	// part is the part's path ("keys.<id>") and partLabel, partName what
	// it is called ("Key Berlin", "Berlin"), when the field is in one.
	part, partLabel, partName string
	// group and rank order the changes: the state's own fields (group
	// 0), then its nested states', then its parts', each by rank.
	group, rank int
}

// lookupField finds how field path of a state of kind reads; false when
// people do not see it.
func lookupField(kind EntityKind, path string, names HistoryNames) (fieldAt, bool) {
	s := schemas[kind]
	if s == nil {
		return fieldAt{}, false
	}
	f, ok := s.lookup(path, names)
	return f, ok && !f.spec.hidden
}

// partsGroup is the group of the parts' fields: after every other.
const partsGroup = 100

func (s *schema) lookup(path string, names HistoryNames) (fieldAt, bool) {
	if f, ok := s.fields.lookup(path); ok {
		return f, true
	}
	head, rest, _ := strings.Cut(path, ".")
	if rest == "" {
		return fieldAt{}, false
	}
	for i, n := range s.nested {
		if n.head != head {
			continue
		}
		f, ok := n.schema.lookup(rest, names)
		if n.prefix != "" {
			f.label = n.prefix + " › " + f.label
		}
		f.group = 1 + i
		return f, ok
	}
	if p, ok := s.self[head]; ok {
		f, ok := p.fields.lookup(rest)
		f.part, f.partLabel = head, p.noun
		return f, ok
	}
	p, ok := s.parts[head]
	if !ok {
		return fieldAt{}, false
	}
	id, sub, _ := strings.Cut(rest, ".")
	if sub == "" {
		return fieldAt{spec: hide}, true // the part as a whole: its fields are listed
	}
	f, ok := p.fields.lookup(sub)
	f.partName = p.name(names, id)
	f.partLabel = p.unnamed
	if f.partName != "" {
		f.partLabel = p.noun + " " + f.partName
	}
	f.part, f.label, f.group = head+"."+id, f.partLabel+" › "+f.label, partsGroup
	return f, ok
}

func lastSegment(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// removedParts are the parts whose ID field changes went to nothing: the
// part is gone (a key deleted, a member removed), told in one line.
func removedParts(kind EntityKind, changes []FieldChange) map[string]bool {
	s := schemas[kind]
	if s == nil {
		return nil
	}
	out := map[string]bool{}
	for _, ch := range changes {
		if !isNull(ch.To) || isNull(ch.From) {
			continue
		}
		head, rest, _ := strings.Cut(ch.Field, ".")
		if p, ok := s.self[head]; ok && rest == p.idField {
			out[head] = true
		}
		if p, ok := s.parts[head]; ok {
			id, sub, _ := strings.Cut(rest, ".")
			if sub == p.idField {
				out[head+"."+id] = true
			}
		}
	}
	return out
}

// The states' fields, as audit_state.go's views show them, in the order
// people read them.

var keyFields = fieldsOf(
	namedField{"id", hide},
	namedField{"name", fieldSpec{label: "Name", sameAsPart: true}},
	namedField{"type", words("Type", map[string]string{"primary": "Primary", "reserved": "Reserved"})},
	namedField{"quota", count("Seats")},
	namedField{"expires_at", date("Expires")},
	namedField{"in_grace", yesNo("In grace")},
	namedField{"expired", yesNo("Expired")},
	namedField{"administrators", hide},
	namedField{"administrators.*", ref("License administrator", vMember)},
	namedField{"hint", hide}, // the key's last group: the name says which key
)

var subscriptionSchema = &schema{
	fields: fieldsOf(
		namedField{"id", hide},
		namedField{"product_id", ref("Product", vProduct)},
		namedField{"name", text("Display name")},
		namedField{"account_id", ref("Business account", vAccount)},
		namedField{"period", words("Period", map[string]string{"1m": "1 month", "1y": "1 year", "2y": "2 years", "3y": "3 years", "permanent": "Permanent"})},
		namedField{"seats", count("Seats")},
		namedField{"channel", words("Sold", map[string]string{"online": "Online", "reseller": "Through a reseller"})},
		namedField{"support_plan", words("Support plan", map[string]string{"standard": "Standard", "premium": "Premium"})},
		namedField{"start", date("Start date")},
		namedField{"end", date("End date")},
		namedField{"auto_renew", onOff("Automatic renewal")},
		namedField{"status", words("Status", map[string]string{"active": "Active", "grace": "In grace", "expired": "Expired"})},
		namedField{"cancelled", yesNo("Cancelled")},
		namedField{"licensed_major", number("Licensed major version")},
		namedField{"insurance_end", date("Upgrade insurance until")},
		namedField{"orders", hide}, // order IDs and digests: the order system's, not people's
		namedField{"orders.*", hide},
		namedField{"primary_key_id", hide},
		namedField{"keys", hide},
	),
	parts: map[string]*part{"keys": {noun: "Key", unnamed: "A license key", idField: "id", fields: keyFields,
		name: func(n HistoryNames, id string) string { return n.Keys[id] }}},
}

var bindingSchema = &schema{fields: fieldsOf(
	namedField{"id", hide},
	namedField{"subscription_id", hide},
	namedField{"bound", ref("Installation", vInstallation)},
	namedField{"changes", count("Installation changes (of 3)")},
	namedField{"last", hide},     // the installation before: bound's change tells it
	namedField{"bound_at", hide}, // the event's own time
)}

var installationSchema = &schema{fields: fieldsOf(
	namedField{"id", hide},
	namedField{"identity", hide},
	namedField{"identity.kind", words("Kind", map[string]string{"farm": "Farm", "proxy_server": "Proxy server"})},
	namedField{"identity.farm_name", text("Farm name")},
	namedField{"identity.server_id", text("Server ID")},
	namedField{"identity.server_name", text("Server name")},
	namedField{"identity.site_code", text("Site code")},
	namedField{"identity.site_description", text("Site description")},
	namedField{"identity.app_version", text("App version")},
	namedField{"identity.offline_use", yesNo("Offline use")},
	namedField{"status", words("Status", map[string]string{"active": "Active", "deactivation_pending": "Deactivation pending",
		"suspended": "Suspended for overuse", "deactivated": "Deactivated"})},
	namedField{"mode", words("Activation", map[string]string{"online": "Online", "offline": "Offline, by file"})},
	namedField{"product_id", ref("Product", vProduct)},
	namedField{"model", words("Licensing model", map[string]string{"concurrent_users": "Concurrent users", "managed_computers": "Managed computers"})},
	namedField{"subscription_id", ref("Subscription", vSubscription)},
	namedField{"key_id", ref("License key", vKey)},
	namedField{"account_id", ref("Business account", vAccount)},
	namedField{"trial", yesNo("Trial")},
	namedField{"trial_end", date("Trial ends")},
	namedField{"license", hide},
	namedField{"license.seats", count("Licensed seats")},
	namedField{"license.used", count("Seats used")},
	namedField{"license.remaining", count("Seats remaining")},
	namedField{"license.start", date("License starts")},
	namedField{"license.end", date("License ends")},
	namedField{"license.trial", yesNo("Trial license")},
	namedField{"license.key_id", hide}, // as key_id
	namedField{"license.key_hint", hide},
	namedField{"seats", count("In use")},
	namedField{"peak", count("Peak usage")},
	namedField{"grace_used", yesNo("Overuse grace used")},
	namedField{"grace_quota", number("Seats when the grace started")},
	namedField{"grace_ends", moment("Overuse grace ends")},
	namedField{"overuse_detected", yesNo("Overuse detected")},
	namedField{"deactivate_at", moment("Suspension due")},
	namedField{"over_limit", yesNo("Over the limit")},
	namedField{"notes", text("Notes")},
	namedField{"key_hint", hide},
	namedField{"generation", hide},
	namedField{"activated_at", hide},  // the event's own time
	namedField{"last_observed", hide}, // the report's own time
	namedField{"last_report", hide},
	namedField{"last_refused", hide},
	namedField{"alerts", hide}, // each alert is an event of its own
	namedField{"nonces", hide}, // the offline requests' nonces
	namedField{"nonces.*", hide},
)}

var accountSchema = &schema{
	fields: fieldsOf(
		namedField{"id", hide},
		namedField{"company", hide},
		namedField{"company.name", text("Company name")},
		namedField{"company.street", text("Street")},
		namedField{"company.city", text("City")},
		namedField{"company.zip", text("ZIP/postal code")},
		namedField{"company.state", text("State")},
		namedField{"company.country", text("Country")},
		namedField{"company.phone", text("Phone")},
		namedField{"support_code", text("Support code")},
		namedField{"offline_activation", onOff("Offline activation")},
		namedField{"personal", hide},
		namedField{"members", hide},
		namedField{"invitations", hide},
	),
	parts: map[string]*part{
		"members": {noun: "Member", unnamed: "A member", idField: "person_id", fields: fieldsOf(
			namedField{"person_id", hide},
			namedField{"role", words("Role", map[string]string{"member": "Regular member", "admin": "Account admin"})},
			namedField{"blocked", yesNo("Blocked")},
			namedField{"since", hide}, // the event's own time
		), name: func(n HistoryNames, id string) string { return n.People[id] }},
		"invitations": {noun: "Invitation to", unnamed: "An invitation", idField: "id", fields: fieldsOf(
			namedField{"id", hide},
			namedField{"email", fieldSpec{label: "Email", sameAsPart: true}},
			namedField{"language", text("Language")},
			namedField{"invited_by", ref("Invited by", vPerson)},
			namedField{"expires_at", moment("Expires")},
			namedField{"state", words("State", map[string]string{"pending": "Pending", "accepted": "Accepted", "revoked": "Revoked"})},
		), name: func(n HistoryNames, id string) string { return n.Invitations[id] }},
	},
}

var personSchema = &schema{
	fields: fieldsOf(
		namedField{"id", hide},
		namedField{"first_name", text("First name")},
		namedField{"last_name", text("Last name")},
		namedField{"email", text("Email")},
		namedField{"verified", yesNo("Email verified")},
		namedField{"verify_until", hide}, // a link's expiry: the events say when it was sent and used
		namedField{"reset_until", hide},
		namedField{"tokens", hide},
	),
	parts: map[string]*part{"tokens": {noun: "API token", unnamed: "An API token", idField: "token_id", fields: fieldsOf(
		namedField{"token_id", hide},
		namedField{"name", fieldSpec{label: "Name", sameAsPart: true}},
	), name: func(n HistoryNames, id string) string { return n.Tokens[id] }}},
}

// keySchema is a key's view: the key as its subscription holds it, the
// key's binding to an installation, and the subscription.
var keySchema = &schema{
	fields: fieldsOf(namedField{"key", hide}, namedField{"binding", hide}, namedField{"subscription", hide}),
	self:   map[string]*part{"key": {noun: "License key", idField: "id", fields: keyFields}},
	nested: []nestedSchema{{"binding", "", bindingSchema}, {"subscription", "Subscription", subscriptionSchema}},
}

var schemas = map[EntityKind]*schema{
	KindSubscription: subscriptionSchema,
	KindKey:          keySchema,
	KindInstallation: installationSchema,
	KindAccount:      accountSchema,
	KindPerson:       personSchema,
}
