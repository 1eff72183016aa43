// Package webhook is the record of a business account's webhook endpoints
// (issue 22): URLs to which the ledger POSTs the account's feed events
// (domain/feed), signed per the Standard Webhooks convention. Account
// admins create, change, disable, enable and delete them, rotate their
// signing secret and ask for a past delivery again; the delivery worker
// (infra/webhook) disables an endpoint that failed for days.
//
// The aggregate is one stream per account, "webhooks-<account ID>", so
// that the limit on endpoints per account holds under concurrent requests
// (the append's expected version). A signing secret never reaches the
// log: an event holds a random nonce, and the secret is derived from it
// with the server's key (commands.WebhookSecret), as the back office's
// TOTP secrets are.
package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// The stable names of the stream's events.
const (
	TypeCreated         = "webhook.endpoint_created"
	TypeUpdated         = "webhook.endpoint_updated"
	TypeSecretRotated   = "webhook.secret_rotated"
	TypeDisabled        = "webhook.endpoint_disabled"
	TypeEnabled         = "webhook.endpoint_enabled"
	TypeDeleted         = "webhook.endpoint_deleted"
	TypeResendRequested = "webhook.resend_requested"
)

// Created: an admin (By) added an endpoint. SecretNonce derives its
// signing secret with the server's key; the secret itself is shown once,
// in the answer to the request.
type Created struct {
	EndpointID  string   `json:"endpoint_id"`
	URL         string   `json:"url"`
	Types       []string `json:"types,omitempty"` // public feed names; empty: every event
	SecretNonce string   `json:"secret_nonce"`
	By          string   `json:"by"`
}

// Updated: an admin changed an endpoint's URL or event types (the new
// values, both given).
type Updated struct {
	EndpointID string   `json:"endpoint_id"`
	URL        string   `json:"url"`
	Types      []string `json:"types,omitempty"`
	By         string   `json:"by"`
}

// SecretRotated: an admin replaced an endpoint's secret. Deliveries are
// signed with the previous secret too until PreviousUntil, so that the
// receiver can switch without losing a delivery.
type SecretRotated struct {
	EndpointID    string    `json:"endpoint_id"`
	SecretNonce   string    `json:"secret_nonce"`
	PreviousUntil time.Time `json:"previous_until"`
	By            string    `json:"by"`
}

// Disabled: deliveries to the endpoint stop. By an admin (By set), or by
// the delivery worker when a delivery kept failing for FailingSince on
// (Reason ReasonFailing, EventID the feed event it gave up on: delivery
// resumes from it once the endpoint is enabled again).
type Disabled struct {
	EndpointID   string    `json:"endpoint_id"`
	Reason       string    `json:"reason"`
	URL          string    `json:"url,omitempty"` // the endpoint's, for the admins' mail
	By           string    `json:"by,omitempty"`
	EventID      string    `json:"event_id,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
}

// The reasons of Disabled.
const (
	ReasonAdmin   = "admin"
	ReasonFailing = "failing"
)

// Enabled: an admin turned deliveries back on; they resume where they
// stopped.
type Enabled struct {
	EndpointID string `json:"endpoint_id"`
	By         string `json:"by"`
}

// Deleted: an admin removed the endpoint; nothing more is delivered to it.
type Deleted struct {
	EndpointID string `json:"endpoint_id"`
	By         string `json:"by"`
}

// ResendRequested: an admin asked for a past delivery again. It is sent
// with the same webhook-id (the feed event's ID) before the endpoint's
// next new event.
type ResendRequested struct {
	EndpointID string `json:"endpoint_id"`
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	Position   uint64 `json:"position"` // the feed event's log position
	By         string `json:"by"`
}

// Register adds the stream's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeCreated, 1, Created{})
	reg.Register(TypeUpdated, 1, Updated{})
	reg.Register(TypeSecretRotated, 1, SecretRotated{})
	reg.Register(TypeDisabled, 1, Disabled{})
	reg.Register(TypeEnabled, 1, Enabled{})
	reg.Register(TypeDeleted, 1, Deleted{})
	reg.Register(TypeResendRequested, 1, ResendRequested{})
}

// The limits of an account's endpoints.
const (
	// MaxEndpoints is how many endpoints an account keeps at most
	// (choice: ten, enough for a few systems and their staging twins).
	MaxEndpoints = 10
	// MaxURLLength bounds an endpoint's URL.
	MaxURLLength = 2048
	// RotationOverlap is how long the previous secret keeps signing after
	// a rotation (choice: a day).
	RotationOverlap = 24 * time.Hour
)

// The errors of the webhook endpoints.
var (
	// ErrInvalid: a field of the request is wrong; the *invalid.Error
	// names it.
	ErrInvalid = errors.New("webhook: invalid webhook endpoint")
	// ErrNotFound: the account has no such endpoint (or it was deleted).
	ErrNotFound = errors.New("webhook: no such webhook endpoint")
	// ErrLimit: the account has MaxEndpoints endpoints already.
	ErrLimit = errors.New("webhook: too many webhook endpoints")
)

// Policy is what the deployment allows, and which event types exist.
type Policy struct {
	// AllowHTTP accepts http:// URLs (tests, private networks); else
	// only https://.
	AllowHTTP bool
	// KnownType reports whether a name is a public feed event name.
	KnownType func(string) bool
}

// Endpoint is one endpoint as the events left it.
type Endpoint struct {
	ID            string
	URL           string
	Types         []string
	SecretNonce   string
	PreviousNonce string    // signs too until PreviousUntil
	PreviousUntil time.Time // zero: no previous secret
	Enabled       bool
	DisabledWhy   string // a reason of Disabled while disabled
	CreatedAt     time.Time
	CreatedBy     string
}

// Endpoints is the webhook endpoints of one account, as of the events
// folded into it, oldest first; deleted ones are gone.
type Endpoints struct {
	list    []Endpoint
	version uint64
}

// StreamID returns the webhooks stream of account accountID.
func StreamID(accountID string) string { return "webhooks-" + accountID }

// Version returns how many events were folded.
func (s Endpoints) Version() uint64 { return s.version }

// List returns the endpoints, oldest first. The slice is the caller's.
func (s Endpoints) List() []Endpoint {
	out := slices.Clone(s.list)
	for i := range out {
		out[i].Types = slices.Clone(out[i].Types)
	}
	return out
}

// Get returns endpoint id.
func (s Endpoints) Get(id string) (Endpoint, bool) {
	i := s.index(id)
	if i < 0 {
		return Endpoint{}, false
	}
	e := s.list[i]
	e.Types = slices.Clone(e.Types)
	return e, true
}

func (s Endpoints) index(id string) int {
	return slices.IndexFunc(s.list, func(e Endpoint) bool { return e.ID == id })
}

// Clone returns a copy that shares nothing with s.
func (s Endpoints) Clone() Endpoints {
	s.list = s.List()
	return s
}

// Evolve applies one event recorded at time at.
func (s Endpoints) Evolve(payload any, at time.Time) Endpoints {
	s.version++
	s.list = slices.Clone(s.list)
	set := func(id string, f func(*Endpoint)) {
		if i := s.index(id); i >= 0 {
			f(&s.list[i])
		}
	}
	switch e := payload.(type) {
	case Created:
		s.list = append(s.list, Endpoint{ID: e.EndpointID, URL: e.URL, Types: slices.Clone(e.Types), SecretNonce: e.SecretNonce,
			Enabled: true, CreatedAt: at, CreatedBy: e.By})
	case Updated:
		set(e.EndpointID, func(p *Endpoint) { p.URL, p.Types = e.URL, slices.Clone(e.Types) })
	case SecretRotated:
		set(e.EndpointID, func(p *Endpoint) {
			p.PreviousNonce, p.PreviousUntil, p.SecretNonce = p.SecretNonce, e.PreviousUntil, e.SecretNonce
		})
	case Disabled:
		set(e.EndpointID, func(p *Endpoint) { p.Enabled, p.DisabledWhy = false, e.Reason })
	case Enabled:
		set(e.EndpointID, func(p *Endpoint) { p.Enabled, p.DisabledWhy = true, "" })
	case Deleted:
		if i := s.index(e.EndpointID); i >= 0 {
			s.list = slices.Delete(s.list, i, i+1)
		}
	}
	return s
}

// Create adds endpoint id with url and types for admin by (rules checked:
// the URL, the types, the number of endpoints).
func (s Endpoints) Create(p Policy, id, rawURL string, types []string, nonce, by string) ([]any, error) {
	if err := check(p, rawURL, types); err != nil {
		return nil, err
	}
	if id == "" || nonce == "" || by == "" {
		return nil, fmt.Errorf("%w: an endpoint needs an ID, a secret nonce and an author", ErrInvalid)
	}
	if len(s.list) >= MaxEndpoints {
		return nil, fmt.Errorf("%w: an account keeps at most %d webhook endpoints; delete one first", ErrLimit, MaxEndpoints)
	}
	if s.index(id) >= 0 {
		return nil, fmt.Errorf("%w: endpoint %s exists", ErrInvalid, id)
	}
	return []any{Created{EndpointID: id, URL: rawURL, Types: normalTypes(types), SecretNonce: nonce, By: by}}, nil
}

// Update changes endpoint id's URL and types (the new values of both);
// nothing when they are the same.
func (s Endpoints) Update(p Policy, id, rawURL string, types []string, by string) ([]any, error) {
	e, ok := s.Get(id)
	if !ok {
		return nil, notFound(id)
	}
	if err := check(p, rawURL, types); err != nil {
		return nil, err
	}
	types = normalTypes(types)
	if e.URL == rawURL && slices.Equal(e.Types, types) {
		return nil, nil
	}
	return []any{Updated{EndpointID: id, URL: rawURL, Types: types, By: by}}, nil
}

// RotateSecret gives endpoint id the secret of nonce; the previous one
// signs too for RotationOverlap after now.
func (s Endpoints) RotateSecret(id, nonce, by string, now time.Time) ([]any, error) {
	if _, ok := s.Get(id); !ok {
		return nil, notFound(id)
	}
	if nonce == "" {
		return nil, fmt.Errorf("%w: a rotation needs a secret nonce", ErrInvalid)
	}
	return []any{SecretRotated{EndpointID: id, SecretNonce: nonce, PreviousUntil: now.Add(RotationOverlap), By: by}}, nil
}

// Disable stops deliveries to endpoint id at admin by's request; nothing
// when it is disabled already.
func (s Endpoints) Disable(id, by string) ([]any, error) {
	e, ok := s.Get(id)
	if !ok {
		return nil, notFound(id)
	}
	if !e.Enabled {
		return nil, nil
	}
	return []any{Disabled{EndpointID: id, Reason: ReasonAdmin, URL: e.URL, By: by}}, nil
}

// DisableFailing stops deliveries to endpoint id after the delivery of
// feed event eventID failed from since on; nothing when it is disabled or
// gone already (an admin was quicker).
func (s Endpoints) DisableFailing(id, eventID string, since time.Time, lastError string) ([]any, error) {
	e, ok := s.Get(id)
	if !ok || !e.Enabled {
		return nil, nil
	}
	if len(lastError) > 500 {
		lastError = lastError[:500]
	}
	return []any{Disabled{EndpointID: id, Reason: ReasonFailing, URL: e.URL, EventID: eventID, FailingSince: since, LastError: lastError}}, nil
}

// Enable resumes deliveries to endpoint id; nothing when it is enabled.
func (s Endpoints) Enable(id, by string) ([]any, error) {
	e, ok := s.Get(id)
	if !ok {
		return nil, notFound(id)
	}
	if e.Enabled {
		return nil, nil
	}
	return []any{Enabled{EndpointID: id, By: by}}, nil
}

// Delete removes endpoint id.
func (s Endpoints) Delete(id, by string) ([]any, error) {
	if _, ok := s.Get(id); !ok {
		return nil, notFound(id)
	}
	return []any{Deleted{EndpointID: id, By: by}}, nil
}

// Resend asks for delivery deliveryID (of feed event eventID at log
// position) to endpoint id again.
func (s Endpoints) Resend(id, deliveryID, eventID string, position uint64, by string) ([]any, error) {
	if _, ok := s.Get(id); !ok {
		return nil, notFound(id)
	}
	if deliveryID == "" || eventID == "" || position == 0 {
		return nil, fmt.Errorf("%w: a resend names a delivery, its event and its position", ErrInvalid)
	}
	return []any{ResendRequested{EndpointID: id, DeliveryID: deliveryID, EventID: eventID, Position: position, By: by}}, nil
}

func notFound(id string) error { return fmt.Errorf("%w: %s", ErrNotFound, id) }

// normalTypes returns types sorted without duplicates (nil when empty).
func normalTypes(types []string) []string {
	if len(types) == 0 {
		return nil
	}
	out := slices.Clone(types)
	slices.Sort(out)
	return slices.Compact(out)
}

// check returns an *invalid.Error naming url or types when either is
// wrong: the URL must be absolute https:// (http:// only when the policy
// allows it), with a host, without credentials or fragment; each type a
// public feed name (rule X-7 for both).
func check(p Policy, rawURL string, types []string) error {
	var l invalid.List
	l.AddReason("url", urlProblem(p, rawURL))
	for i, t := range types {
		field := fmt.Sprintf("types[%d]", i)
		if reason := text.Required(field, t, text.Identifier, 100); reason != "" {
			l.AddReason(field, reason)
		} else if p.KnownType == nil || !p.KnownType(t) {
			l.Add(field, "%s %q is not an event name of the account feed", field, t)
		}
	}
	if len(types) > 100 {
		l.Add("types", "types lists at most 100 event names")
	}
	return l.Err(ErrInvalid)
}

func urlProblem(p Policy, raw string) string {
	if reason := text.Required("url", raw, text.Identifier, MaxURLLength); reason != "" {
		return reason
	}
	if strings.ContainsRune(raw, ' ') {
		return "url holds a space"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "url must be an absolute URL like https://example.com/hooks"
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowHTTP:
	case u.Scheme == "http":
		return "url must use https:// (this ledger does not allow plain http:// webhooks)"
	default:
		return "url must use https://"
	}
	if u.User != nil {
		return "url must not hold a user name or password (the signature authenticates the ledger)"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "url must not have a #fragment"
	}
	if host := u.Hostname(); host == "" || strings.ContainsAny(host, "%") {
		return "url must name a host"
	} else if ip := net.ParseIP(host); ip == nil && !strings.Contains(host, ".") && host != "localhost" {
		return "url must name a host by a full domain name or an IP address"
	}
	return ""
}
