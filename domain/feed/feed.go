// Package feed is the published form of an account's events: the stable
// public names and payloads of the account event feed (GET
// /v1/accounts/{id}/events and its Server-Sent Events variant), decoupled
// from the internal event types. An internal event is either published
// under a public name, through a function that builds its public payload
// field by field (so a secret added to an internal event never leaks by
// default), or deliberately private, with the reason; a test checks that
// every registered event is one or the other.
//
// The public names and payloads are a published format: a field may be
// added, never renamed or removed, and a name never changes meaning.
package feed

import (
	"fmt"
	"slices"
	"strings"

	"seatledger/domain/events"
)

// registry knows every internal event.
var registry = events.Registry()

// publication is how one internal event type is published.
type publication struct {
	name    string
	payload func(any) any
}

// publish is the table entry of an internal event whose payload is a T,
// published as name with the payload fn builds. A T that is not a
// registered event is a programming error: it panics at start-up.
func publish[T any](name string, fn func(T) any) (string, publication) {
	var zero T
	internal, ok := registry.NameOf(zero)
	if !ok {
		panic(fmt.Sprintf("feed: %T is not a registered event", zero))
	}
	return internal, publication{name: name, payload: func(p any) any { return fn(p.(T)) }}
}

// published maps internal event types to their publication.
var published = func() map[string]publication {
	m := map[string]publication{}
	for _, entries := range [][]func() (string, publication){accountEvents, subscriptionEvents, installationEvents, ticketEvents, mdmEvents} {
		for _, entry := range entries {
			internal, p := entry()
			if _, dup := m[internal]; dup {
				panic(fmt.Sprintf("feed: %s published twice", internal))
			}
			m[internal] = p
		}
	}
	return m
}()

// Private lists the internal event types that are never published, and
// why. Together with the published ones they are every registered event.
var Private = map[string]string{
	"subscription.purchased":          "recorded before the subscription belongs to any account: an account's feed starts at subscription.registered",
	"license_key.issued":              "the key stream's own bookkeeping: subscription.sublicense_created and installation.activated tell the facts",
	"license_key.bound":               "the key stream's own bookkeeping: installation.activated tells the fact",
	"license_key.released":            "the key stream's own bookkeeping: installation.deactivated tells the fact",
	"person.signed_up":                "a person's own record, not an account's: members appear as member.joined",
	"person.email_verified":           "a person's own record, not an account's",
	"person.profile_changed":          "a person's own record, not an account's (their name is personal data)",
	"person.password_changed":         "a person's credentials",
	"person.password_reset_requested": "a person's credentials",
	"person.password_reset":           "a person's credentials",
	"person.api_token_issued":         "a person's credentials",
	"person.api_token_revoked":        "a person's credentials",
	"person.email_claimed":            "the uniqueness claim of an address, not a business fact",
	"product.defined":                 "the vendor's catalog, shared by every account",
	"release.published":               "the vendor's catalog, shared by every account (downloads list releases)",
	"release.withdrawn":               "the vendor's catalog, shared by every account",
	"ticket.assigned": "the back office's own work queue (which support person handles a ticket); the customer sees the support " +
		"person's name on their replies and status changes",
	// The back office's roster (issue 23): the vendor's own people and
	// machines, and their credentials; no account's.
	"staff.added":                   "the vendor's own staff, no account's",
	"staff.enrolled":                "a staff person's credentials",
	"staff.role_changed":            "the vendor's own staff, no account's",
	"staff.removed":                 "the vendor's own staff, no account's",
	"staff.signed_in":               "a staff person's credentials (a session)",
	"staff.signed_out":              "a staff person's credentials (a session)",
	"staff.recovery_code_used":      "a staff person's credentials",
	"staff.service_account_created": "the vendor's own machines and their credentials",
	"staff.service_account_rotated": "the vendor's own machines and their credentials",
	"staff.service_account_revoked": "the vendor's own machines and their credentials",
	"staff.enrolment_started":       "a staff person's credentials",
	"staff.enrolment_confirmed":     "a staff person's credentials",
	"staff.enrolment_reissued":      "a staff person's credentials",
	"staff.totp_reset":              "a staff person's credentials",
	// Webhook endpoints (issue 22): the delivery configuration of the
	// feed itself. A feed event about a failing endpoint would be
	// delivered to that endpoint; the admins are mailed instead, and the
	// API lists the endpoints and their delivery logs.
	"webhook.endpoint_created":  "the feed's own delivery configuration (the endpoints are listed by the webhooks API)",
	"webhook.endpoint_updated":  "the feed's own delivery configuration",
	"webhook.secret_rotated":    "a webhook endpoint's signing secret (a nonce it is derived from)",
	"webhook.endpoint_disabled": "the feed's own delivery configuration; the admins are mailed when deliveries fail for days",
	"webhook.endpoint_enabled":  "the feed's own delivery configuration",
	"webhook.endpoint_deleted":  "the feed's own delivery configuration",
	"webhook.resend_requested":  "the feed's own delivery bookkeeping (the delivery log shows the resend)",
}

// Publish returns the public name and payload of an event of internal
// type typ whose decoded payload is payload; ok is false for a private
// event.
func Publish(typ string, payload any) (name string, data any, ok bool) {
	p, ok := published[typ]
	if !ok {
		return "", nil, false
	}
	return p.name, p.payload(payload), true
}

// Published reports whether events of internal type typ are published.
func Published(typ string) bool {
	_, ok := published[typ]
	return ok
}

// InternalTypes returns the internal event types that are published, sorted.
func InternalTypes() []string {
	out := make([]string, 0, len(published))
	for typ := range published {
		out = append(out, typ)
	}
	slices.Sort(out)
	return out
}

// Names returns every public event name, sorted.
func Names() []string {
	out := make([]string, 0, len(published))
	for _, p := range published {
		out = append(out, p.name)
	}
	slices.Sort(out)
	return out
}

// Known reports whether name is a public event name.
func Known(name string) bool {
	for _, p := range published {
		if p.name == name {
			return true
		}
	}
	return false
}

// Subject is what a published event is about: its kind ("account",
// "subscription", "installation", "ticket") and ID.
type Subject struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// SubjectOf returns the subject of an event of stream; ok is false for a
// stream no account owns. An account's MDM certificates are the
// account's.
func SubjectOf(stream string) (Subject, bool) {
	for _, k := range []struct{ prefix, kind string }{
		{"account-", "account"}, {"mdm-", "account"}, {"subscription-", "subscription"},
		{"installation-", "installation"}, {"ticket-", "ticket"},
	} {
		if id, ok := strings.CutPrefix(stream, k.prefix); ok && id != "" {
			return Subject{Kind: k.kind, ID: id}, true
		}
	}
	return Subject{}, false
}

// Registered returns every registered internal event type, for the test
// that each is published or private.
func Registered() []string { return registry.Names() }
