package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/infra/httpapi"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/offline"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// adversarial is a string the property test puts in text fields: as a Go
// string (for paths, headers, multipart parts and request files) and as
// the raw bytes of a JSON string literal (for JSON bodies: invalid bytes
// stay invalid, and a lone surrogate escape is sent as one).
type adversarial struct {
	name   string
	value  string
	json   string // the JSON literal; "" means jsonString(value)
	likely bool   // a clean value some field of every kind should accept
}

// adversarials are the strings of issue 16's property test (rule X-7).
var adversarials = []adversarial{
	{name: "NUL", value: "a\x00b"},
	{name: "raw invalid bytes", value: "a\xff\xfeb"},
	{name: "an overlong slash", value: "\xc0\xaf"},
	{name: "an encoded surrogate", value: "a\xed\xa0\x80b"},
	{name: "a lone surrogate escape", value: "a?b", json: `"a\ud800b"`},
	{name: "a 64 KB string", value: strings.Repeat("é", 32<<10)},
	{name: "a right-to-left override", value: "abc\u202edef"},
	{name: "a zero-width space", value: "ab\u200bcd"},
	{name: "an escape sequence", value: "a\x1b[2Jb"},
	{name: "line breaks", value: "line 1\nline 2"},
	{name: "emoji", value: "Zoë 🚀 👨\u200d👩\u200d👧", likely: true},
	{name: "quotes and backslashes", value: `O'Brien "the" \ one`, likely: true},
	{name: "plain", value: "Plain-Value 42", likely: true},
}

// jsonString is the JSON literal of s with its bytes kept: quotes,
// backslashes and control characters escaped, every other byte as is, so
// that invalid UTF-8 reaches the server as invalid UTF-8.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (a adversarial) literal() string {
	if a.json != "" {
		return a.json
	}
	return jsonString(a.value)
}

// rawBody marshals body, then puts the adversarial's literal where the
// string "@V@" is.
func rawBody(body any, a adversarial) []byte {
	b, _ := json.Marshal(body)
	return bytes.ReplaceAll(b, []byte(`"@V@"`), []byte(a.literal()))
}

// propEnv is the state the drivers act on.
type propEnv struct {
	t                    *testing.T
	m                    *Main
	office, ada          *client
	acc, sub, inst, bob  string
	ticket, mdmAccount   string
	n                    int // makes each request's other fields unique
	roleAdmin            bool
	keyForOffline        string
	offlineEnabledForAcc bool
	// accOffline is whether offline activation is on for acc, which the
	// switch's reason driver turns each time it is accepted.
	accOffline bool
	webhook    string // an endpoint of acc, refusing its deliveries (loopback)
}

func (e *propEnv) next() int { e.n++; return e.n }

// send posts a raw JSON body as c.
func (e *propEnv) send(c *client, method, path string, body []byte, contentType string) reply {
	req, err := http.NewRequestWithContext(e.t.Context(), method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return reply{status: 400, raw: err.Error()}
	}
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Content-Type", contentType)
	// Text fields are bad input on purpose: the answer is validated
	// against the OpenAPI document, the request is not.
	openapitest.MarkInvalid(req.Header, "X-7 text field")
	return c.send(req)
}

// driver puts an adversarial string into one text field of one event
// type through the API, as a client would, and returns the answer.
type driver func(e *propEnv, a adversarial) reply

func company(extra map[string]any) map[string]any {
	c := map[string]any{"name": "Acme", "country": "DE", "zip": "8200", "phone": "+41 52 000"}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// drivers maps "event type field path" to how a client sets that field.
// Every text field of every event type is here or in derived.
var drivers = map[string]driver{}

func companyDrivers() {
	for _, f := range []string{"name", "street", "city", "country", "state", "zip", "phone"} {
		drivers["account.created .company."+f] = func(e *propEnv, a adversarial) reply {
			return e.send(e.ada, "POST", "/v1/accounts", rawBody(map[string]any{"company": company(map[string]any{f: "@V@"})}, a), "")
		}
		drivers["account.profile_changed .company."+f] = func(e *propEnv, a adversarial) reply {
			return e.send(e.ada, "PUT", "/v1/accounts/"+e.acc+"/profile", rawBody(company(map[string]any{f: "@V@", "name": fmt.Sprintf("Acme %d", e.next())}), a), "")
		}
	}
}

func identityDrivers() {
	for _, f := range []string{"server_id", "farm_name", "server_name", "site_code", "site_description", "app_version"} {
		drivers["installation.activated .identity."+f] = func(e *propEnv, a adversarial) reply {
			n := e.next()
			id := map[string]any{"kind": "farm", "server_id": fmt.Sprintf("srv-%d", n), "farm_name": "Farm", "app_version": "19.2"}
			product := "ras"
			if f == "server_name" || f == "site_code" || f == "site_description" {
				id = map[string]any{"kind": "proxy_server", "server_name": fmt.Sprintf("px-%d", n), "site_code": "ZRH", "app_version": "2.1"}
				product = "ras-mdm"
			}
			id[f] = "@V@"
			return e.send(newClient(e.t, e.m), "POST", "/v1/installations/trials", rawBody(map[string]any{"product_id": product, "identity": id}, a), "")
		}
	}
	drivers["installation.activated .product_id"] = func(e *propEnv, a adversarial) reply {
		return e.send(newClient(e.t, e.m), "POST", "/v1/installations/trials", rawBody(map[string]any{"product_id": "@V@",
			"identity": map[string]any{"kind": "farm", "server_id": fmt.Sprintf("srv-p-%d", e.next()), "farm_name": "F", "app_version": "1"}}, a), "")
	}
	nonce := func(e *propEnv, a adversarial) reply {
		e.enableOffline()
		content, _ := json.Marshal(offline.ActivationRequestContent{Key: e.keyForOffline,
			Identity: offline.Identity{Kind: "proxy_server", ServerName: fmt.Sprintf("off-%d", e.next()), SiteCode: "ZRH", AppVersion: "2"}})
		var id offline.ActivationRequestContent
		_ = json.Unmarshal(content, &id)
		raw, err := offline.Encode(offline.File{Kind: offline.ActivationRequest, Issued: e.m.Clock.Now(), Nonce: a.value,
			Server: "proxy_server/ZRH/" + id.Identity.ServerName, Content: content})
		if err != nil {
			return reply{status: 400, raw: err.Error()}
		}
		return e.send(e.ada, "POST", "/v1/accounts/"+e.mdmAccount+"/offline-requests", raw, "text/plain")
	}
	drivers["installation.activated .nonce"] = nonce
	drivers["installation.refreshed .nonce"] = nonce   // the same header of another request kind
	drivers["installation.deactivated .nonce"] = nonce // the same header of another request kind
	drivers["installation.notes_set .notes"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "PUT", "/v1/installations/"+e.inst+"/notes", rawBody(map[string]any{"notes": "@V@"}, a), "")
	}
}

// staffDrivers set the back office's text fields (issue 23) as the admin
// token, which bootstraps the back office: the staff added are support,
// never enrolled, so the token keeps working.
func staffDrivers() {
	addStaff := func(field string) driver {
		return func(e *propEnv, a adversarial) reply {
			n := e.next()
			body := map[string]any{"email": fmt.Sprintf("staff-%d@vendor.example", n), "display_name": fmt.Sprintf("Staff %d", n), "role": "support"}
			body[field] = "@V@"
			return e.send(e.office, "POST", "/v1/staff", rawBody(body, a), "")
		}
	}
	drivers["staff.added .email"] = addStaff("email")
	drivers["staff.added .display_name"] = addStaff("display_name")
	drivers["staff.service_account_created .name"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "POST", "/v1/service-accounts", rawBody(map[string]any{"name": "@V@"}, a), "")
	}
	// The switch's reason (issue 23): turned the other way each time, so
	// that every accepted value is recorded.
	drivers["account.offline_activation_set .reason"] = func(e *propEnv, a adversarial) reply {
		r := e.send(e.office, "PUT", "/v1/accounts/"+e.acc+"/offline-activation", rawBody(map[string]any{"enabled": !e.accOffline, "reason": "@V@"}, a), "")
		if r.status == http.StatusOK {
			e.accOffline = !e.accOffline
		}
		return r
	}
}

func peopleDrivers() {
	signUp := func(field string) driver {
		return func(e *propEnv, a adversarial) reply {
			body := signUpBody("Pat", fmt.Sprintf("pat-%d@example.com", e.next()))
			body[field] = "@V@"
			return e.send(newClient(e.t, e.m), "POST", "/v1/signup", rawBody(body, a), "")
		}
	}
	for _, f := range []string{"first_name", "last_name", "email", "person_id"} {
		drivers["person.signed_up ."+f] = signUp(f)
	}
	drivers["person.email_claimed .email"] = signUp("email")
	drivers["person.email_claimed .person_id"] = signUp("person_id")
	for _, f := range []string{"first_name", "last_name"} {
		drivers["person.profile_changed ."+f] = func(e *propEnv, a adversarial) reply {
			other := map[string]string{"first_name": "last_name", "last_name": "first_name"}[f]
			return e.send(e.ada, "PUT", "/v1/me", rawBody(map[string]any{f: "@V@", other: fmt.Sprintf("N%d", e.next())}, a), "")
		}
	}
	drivers["person.api_token_issued .name"] = func(e *propEnv, a adversarial) reply {
		r := e.send(e.ada, "POST", "/v1/me/tokens", rawBody(map[string]any{"name": "@V@"}, a), "")
		if r.status == 201 {
			e.ada.must(200, "DELETE", "/v1/me/tokens/"+r.str("token_id"), nil) // at most 20 live tokens
		}
		return r
	}
	drivers["account.created .account_id"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "POST", "/v1/accounts", rawBody(map[string]any{"account_id": "@V@", "company": company(nil)}, a), "")
	}
	drivers["account.member_invited .email"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "POST", "/v1/accounts/"+e.acc+"/invitations", rawBody(map[string]any{"emails": []string{"@V@"}}, a), "")
	}
	drivers["account.member_invited .language"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "POST", "/v1/accounts/"+e.acc+"/invitations", rawBody(map[string]any{
			"emails": []string{fmt.Sprintf("inv-%d@example.com", e.next())}, "language": "@V@"}, a), "")
	}
	drivers["account.member_role_changed .note"] = func(e *propEnv, a adversarial) reply {
		role := "admin"
		if e.roleAdmin {
			role = "member"
		}
		r := e.send(e.ada, "PUT", "/v1/accounts/"+e.acc+"/members/"+e.bob+"/role", rawBody(map[string]any{"role": role, "note": "@V@"}, a), "")
		if r.status == 200 {
			e.roleAdmin = !e.roleAdmin
		}
		return r
	}
}

func licenseDrivers() {
	drivers["product.defined .product_id"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "PUT", "/v1/products/"+url.PathEscape(a.value), []byte(`{"name":"P","model":"concurrent_users"}`), "")
	}
	drivers["product.defined .name"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "PUT", fmt.Sprintf("/v1/products/p-%d", e.next()), rawBody(map[string]any{"name": "@V@", "model": "concurrent_users"}, a), "")
	}
	purchase := func(field string) driver {
		return func(e *propEnv, a adversarial) reply {
			body := map[string]any{"kind": "purchase", "order_id": fmt.Sprintf("o-%d", e.next()), "product_id": "ras", "seats": 1,
				"period": "1y", "channel": "online", "support_plan": "standard"}
			body[field] = "@V@"
			return e.send(e.office, "POST", "/v1/orders", rawBody(body, a), "")
		}
	}
	for _, typ := range []string{"subscription.purchased", "subscription.seats_added", "subscription.renewed", "subscription.cancelled"} {
		if typ == "subscription.purchased" {
			drivers[typ+" .order_id"] = purchase("order_id")
			continue
		}
		kind := map[string]string{"subscription.seats_added": "add_seats", "subscription.renewed": "renewal", "subscription.cancelled": "cancellation"}[typ]
		drivers[typ+" .order_id"] = func(e *propEnv, a adversarial) reply {
			body := map[string]any{"kind": kind, "order_id": "@V@", "subscription_id": e.sub, "seats": 1, "period": "1y"}
			if kind == "cancellation" {
				delete(body, "seats")
				delete(body, "period")
			}
			return e.send(e.office, "POST", "/v1/orders", rawBody(body, a), "")
		}
	}
	drivers["subscription.purchased .product_id"] = purchase("product_id")
	drivers["subscription.renamed .name"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "PUT", "/v1/subscriptions/"+e.sub+"/name", rawBody(map[string]any{"name": "@V@"}, a), "")
	}
	sublicense := func(e *propEnv, a adversarial) reply {
		r := e.send(e.ada, "POST", "/v1/subscriptions/"+e.sub+"/keys", rawBody(map[string]any{"name": "@V@", "quota": 1}, a), "")
		if r.status == 201 { // rename it too, then give its seat back
			e.send(e.ada, "PATCH", "/v1/subscriptions/"+e.sub+"/keys/"+r.str("key_id"), rawBody(map[string]any{"name": "@V@"}, a), "")
			e.ada.must(200, "DELETE", "/v1/subscriptions/"+e.sub+"/keys/"+r.str("key_id"), nil)
		}
		return r
	}
	drivers["subscription.sublicense_created .name"] = sublicense
	drivers["subscription.sublicense_renamed .name"] = func(e *propEnv, a adversarial) reply {
		r := e.ada.must(201, "POST", "/v1/subscriptions/"+e.sub+"/keys", map[string]any{"name": fmt.Sprintf("k-%d", e.next()), "quota": 1})
		defer e.ada.must(200, "DELETE", "/v1/subscriptions/"+e.sub+"/keys/"+r.str("key_id"), nil)
		return e.send(e.ada, "PATCH", "/v1/subscriptions/"+e.sub+"/keys/"+r.str("key_id"), rawBody(map[string]any{"name": "@V@"}, a), "")
	}
	drivers["release.published .version"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "PUT", "/v1/products/ras/releases/"+url.PathEscape(a.value), releaseBody(nil, adversarial{}), "")
	}
	drivers["release.withdrawn .version"] = drivers["release.published .version"]
	drivers["release.published .notes"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "PUT", fmt.Sprintf("/v1/products/ras/releases/20.%d", e.next()), releaseBody(map[string]any{"notes": "@V@"}, a), "")
	}
	for _, f := range []string{"name", "sha256", "url"} {
		drivers["release.published .files[]."+f] = func(e *propEnv, a adversarial) reply {
			return e.send(e.office, "PUT", fmt.Sprintf("/v1/products/ras/releases/21.%d", e.next()), releaseBody(map[string]any{"file." + f: "@V@"}, a), "")
		}
	}
}

// webhookDrivers set an endpoint's URL and event types (issue 22).
func webhookDrivers() {
	drivers["webhook.endpoint_created .url"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "POST", "/v1/accounts/"+e.acc+"/webhooks", rawBody(map[string]any{"url": "@V@"}, a), "")
	}
	drivers["webhook.endpoint_created .types[]"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "POST", "/v1/accounts/"+e.acc+"/webhooks", rawBody(map[string]any{"url": "https://127.0.0.1:9/t", "types": []any{"@V@"}}, a), "")
	}
	drivers["webhook.endpoint_updated .url"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "PATCH", "/v1/accounts/"+e.acc+"/webhooks/"+e.webhook, rawBody(map[string]any{"url": "@V@"}, a), "")
	}
	drivers["webhook.endpoint_updated .types[]"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "PATCH", "/v1/accounts/"+e.acc+"/webhooks/"+e.webhook, rawBody(map[string]any{"types": []any{"@V@"}}, a), "")
	}
	for _, f := range []string{
		"webhook.endpoint_created .endpoint_id", "webhook.endpoint_created .secret_nonce", "webhook.endpoint_created .by",
		"webhook.endpoint_updated .endpoint_id", "webhook.endpoint_updated .by",
		"webhook.secret_rotated .endpoint_id", "webhook.secret_rotated .secret_nonce", "webhook.secret_rotated .by",
		"webhook.endpoint_disabled .endpoint_id", "webhook.endpoint_disabled .reason", "webhook.endpoint_disabled .url",
		"webhook.endpoint_disabled .by", "webhook.endpoint_disabled .event_id",
		"webhook.endpoint_enabled .endpoint_id", "webhook.endpoint_enabled .by", "webhook.endpoint_deleted .endpoint_id", "webhook.endpoint_deleted .by",
		"webhook.resend_requested .endpoint_id", "webhook.resend_requested .delivery_id", "webhook.resend_requested .event_id", "webhook.resend_requested .by",
	} {
		derived[f] = "made by the ledger, the request's actor, the endpoint's checked URL, or a feed event's ID"
	}
	// The receiver's answer, cleaned by infra/webhook: valid UTF-8, no
	// control character, at most 300 characters.
	derived["webhook.endpoint_disabled .last_error"] = "a receiver's answer, cleaned by the delivery worker"
}

// releaseBody is a valid release, with fields replaced ("file.name" in
// its file), the adversarial's literal where "@V@" is.
func releaseBody(fields map[string]any, a adversarial) []byte {
	file := map[string]any{"name": "setup.msi", "kind": "installer", "size": 10, "sha256": strings.Repeat("ab", 32), "url": "https://dl.example.com/setup.msi"}
	body := map[string]any{"files": []any{file}}
	for k, v := range fields {
		if f, ok := strings.CutPrefix(k, "file."); ok {
			file[f] = v
		} else {
			body[k] = v
		}
	}
	if a.name == "" {
		b, _ := json.Marshal(body)
		return b
	}
	return rawBody(body, a)
}

func supportDrivers() {
	open := func(field string) driver {
		return func(e *propEnv, a adversarial) reply {
			body := map[string]any{"product_id": "ras", "category": "technical", "description": "Slow.", "channel": map[string]any{"kind": "email"}}
			body[field] = "@V@"
			return e.send(e.ada, "POST", "/v1/accounts/"+e.acc+"/tickets", rawBody(body, a), "")
		}
	}
	for _, f := range []string{"product_id", "subject", "description"} {
		drivers["ticket.opened ."+f] = open(f)
	}
	drivers["ticket.replied .body"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.ada, "POST", "/v1/tickets/"+e.ticket+"/replies", rawBody(map[string]any{"body": "@V@"}, a), "")
	}
	agent := func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "PUT", "/v1/tickets/"+e.ticket+"/status", rawBody(map[string]any{"status": []string{"in_progress", "open"}[e.next()%2], "agent": "@V@"}, a), "")
	}
	drivers["ticket.status_changed .by"] = agent
	drivers["ticket.replied .author"] = func(e *propEnv, a adversarial) reply {
		return e.send(e.office, "POST", "/v1/tickets/"+e.ticket+"/replies", rawBody(map[string]any{"body": "From support.", "agent": "@V@"}, a), "")
	}
	attachment := func(name, contentType string) func(e *propEnv, a adversarial) reply {
		return func(e *propEnv, a adversarial) reply {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			_ = mw.WriteField("body", "see the file")
			h := textproto.MIMEHeader{}
			n, ct := strings.ReplaceAll(name, "@V@", a.value), strings.ReplaceAll(contentType, "@V@", a.value)
			h["Content-Disposition"] = []string{`form-data; name="attachments"; filename="` + strings.ReplaceAll(n, `"`, `\"`) + `"`}
			h["Content-Type"] = []string{ct}
			part, err := mw.CreatePart(h)
			if err != nil {
				return reply{status: 400, raw: err.Error()}
			}
			_, _ = part.Write([]byte("plain text log\n"))
			_ = mw.Close()
			return e.send(e.ada, "POST", "/v1/tickets/"+e.ticket+"/replies", buf.Bytes(), mw.FormDataContentType())
		}
	}
	drivers["ticket.replied .attachments[].name"] = attachment("@V@", "text/plain")
	drivers["ticket.replied .attachments[].content_type"] = attachment("log.txt", "text/plain; x=@V@")
	drivers["ticket.survey_submitted .feedback"] = func(e *propEnv, a adversarial) reply {
		id := e.ada.must(201, "POST", "/v1/accounts/"+e.acc+"/tickets", map[string]any{"product_id": "ras", "category": "other",
			"description": "Survey me.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
		e.office.must(200, "PUT", "/v1/tickets/"+id+"/status", map[string]any{"status": "resolved"})
		return e.send(e.ada, "POST", "/v1/tickets/"+id+"/survey", rawBody(map[string]any{"rating": 4, "feedback": "@V@"}, a), "")
	}
	drivers["mdm.certificate_issued .subject"] = func(e *propEnv, a adversarial) reply {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: a.value}}, key)
		if err != nil {
			return reply{status: 400, raw: "no CSR can carry it: " + err.Error()}
		}
		csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		return e.send(e.ada, "POST", "/v1/accounts/"+e.mdmAccount+"/mdm/certificates", rawBody(map[string]any{"csr": csr}, adversarial{}), "")
	}
}

// derived lists the text fields of events that no client sets: IDs and
// hashes the ledger makes, the actor of the request, values read from the
// ledger's own state, and enums the domain checks against their lists.
var derived = map[string]string{}

func init() {
	companyDrivers()
	identityDrivers()
	peopleDrivers()
	licenseDrivers()
	supportDrivers()
	staffDrivers()
	webhookDrivers()
	for _, f := range []string{
		"ticket.assigned .staff_id", "ticket.assigned .name", "ticket.assigned .by", // the signed-in staff person, from the roster
		"staff.added .staff_id", "staff.enrolled .staff_id", "staff.enrolled .password_hash", "staff.enrolled .totp_nonce",
		"staff.recovery_code_used .staff_id", "staff.removed .staff_id", "staff.role_changed .staff_id", "staff.service_account_created .service_id",
		"staff.service_account_revoked .service_id", "staff.service_account_rotated .service_id", "staff.signed_in .staff_id", "staff.signed_out .staff_id",
		"staff.enrolment_started .staff_id", "staff.enrolment_started .password_hash", "staff.enrolment_started .totp_nonce",
		"staff.enrolment_confirmed .staff_id", "staff.enrolment_reissued .staff_id", "staff.totp_reset .staff_id",
		"account.created .support_code", "account.created .creator_id", "account.invitation_revoked .invitation_id", "account.invitation_revoked .by",
		"account.member_blocked .person_id", "account.member_blocked .by", "account.member_invited .invitation_id", "account.member_invited .invited_by",
		"account.member_joined .person_id", "account.member_joined .invitation_id", "account.member_left .person_id", "account.member_removed .person_id",
		"account.member_removed .by", "account.member_role_changed .person_id", "account.member_role_changed .by", "account.member_unblocked .person_id",
		"account.member_unblocked .by", "account.offline_activation_set .by", "account.profile_changed .by",
		"installation.activated .installation_id", "installation.activated .identity.kind", "installation.activated .mode", "installation.activated .key_id",
		"installation.activated .key_hint", "installation.activated .subscription_id", "installation.activated .account_id", "installation.activated .model",
		"installation.activated .license.key_id", "installation.activated .license.key_hint", "installation.activated .by",
		"installation.deactivated .reason", "installation.deactivated .mode", "installation.deactivated .by", "installation.deactivation_requested .by",
		"installation.notes_set .by", "installation.over_limit_alerted .account_id", "installation.over_limit_started .account_id",
		"installation.refreshed .mode", "installation.refreshed .license.key_id", "installation.refreshed .license.key_hint", "installation.refreshed .by",
		"installation.usage_report_refused .reason", "installation.usage_reported .connections.sha256", "installation.usage_reported .connections.by_type{k}",
		"license_key.bound .installation_id", "license_key.issued .key_id", "license_key.issued .subscription_id", "license_key.released .installation_id",
		"license_key.released .reason", "mdm.certificate_issued .serial", "mdm.certificate_issued .fingerprint_sha256", "mdm.certificate_issued .by",
		"mdm.certificate_issued .subscription_id", "person.api_token_issued .token_id", "person.api_token_revoked .token_id", "person.api_token_revoked .reason", "person.password_changed .password_hash",
		"person.password_reset .password_hash", "person.password_reset_requested .reset_id", "person.signed_up .password_hash", "person.signed_up .terms_version",
		"person.signed_up .verified_by_invitation", "product.defined .model", "release.published .product_id", "release.published .files[].kind",
		"subscription.auto_renew_set .by", "subscription.cancelled .order_digest", "subscription.expiry_reminded .key_id", "subscription.expiry_reminded .key_name",
		"subscription.key_administrator_granted .key_id", "subscription.key_administrator_granted .person_id", "subscription.key_administrator_granted .by",
		"subscription.key_administrator_revoked .key_id", "subscription.key_administrator_revoked .person_id", "subscription.key_administrator_revoked .by",
		"subscription.purchased .subscription_id", "subscription.purchased .order_digest", "subscription.purchased .period", "subscription.purchased .channel",
		"subscription.purchased .support_plan", "subscription.purchased .primary_key.key_id", "subscription.purchased .primary_key.hint",
		"subscription.registered .account_id", "subscription.registered .by", "subscription.renamed .by", "subscription.renewal_requested .request_id",
		"subscription.renewal_requested .product_id", "subscription.renewal_requested .period", "subscription.renewed .order_digest", "subscription.renewed .period",
		"subscription.seats_added .order_digest", "subscription.sublicense_changed .key_id", "subscription.sublicense_changed .by",
		"subscription.sublicense_created .key.key_id", "subscription.sublicense_created .key.hint", "subscription.sublicense_created .by",
		"subscription.sublicense_deleted .key_id", "subscription.sublicense_deleted .by", "subscription.sublicense_renamed .key_id",
		"subscription.sublicense_renamed .by", "ticket.closed .by", "ticket.opened .ticket_id", "ticket.opened .account_id", "ticket.opened .owner",
		"ticket.reopened .by", "ticket.replied .reply_id", "ticket.replied .attachments[].attachment_id", "ticket.replied .attachments[].sha256",
		"subscription.sublicense_expired .key_id", "subscription.sublicense_expired .key_name",
		"subscription.sublicense_grace_started .key_id", "subscription.sublicense_grace_started .key_name",
		"ticket.survey_submitted .by", "ticket.watcher_added .person_id", "ticket.watcher_added .by", "ticket.watcher_removed .person_id", "ticket.watcher_removed .by",
	} {
		derived[f] = "made by the ledger, the request's actor, or an enum the domain checks"
	}
}

// textFields lists "type field" for every string field of every event
// type, read from the registry's Go types.
func textFields(t *testing.T) []string {
	t.Helper()
	reg := events.Registry()
	var out []string
	for _, name := range reg.Names() {
		for v := 1; v < 20; v++ {
			x, err := reg.Decode(event.Record{Type: name, SchemaVersion: v, Data: json.RawMessage(`{}`)})
			if err != nil {
				continue
			}
			var fields []string
			stringFields(reflect.TypeOf(x), "", &fields, 0)
			for _, f := range fields {
				out = append(out, name+" "+f)
			}
			break
		}
	}
	return out
}

func stringFields(t reflect.Type, path string, out *[]string, depth int) {
	if depth > 6 {
		return
	}
	switch t.Kind() {
	case reflect.String:
		*out = append(*out, path)
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			stringFields(f.Type, path+"."+name, out, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 {
			stringFields(t.Elem(), path+"[]", out, depth+1)
		}
	case reflect.Pointer:
		stringFields(t.Elem(), path, out, depth+1)
	case reflect.Map:
		stringFields(t.Key(), path+"{k}", out, depth+1)
		stringFields(t.Elem(), path+"{v}", out, depth+1)
	}
}

// TestEveryTextField_X7_is_refused_or_applied_by_every_projection is
// issue 16's property test: for every text field of every event type,
// adversarial strings (NUL, invalid UTF-8 as raw bytes, surrogates, 64 KB,
// bidirectional overrides, emoji, quotes and backslashes …) are sent the
// way a client sets that field; each is either refused (a 4xx, nothing
// recorded) or recorded, and then every projection applies every event,
// on SQLite and on PostgreSQL. A new text field fails the test until it
// has a driver or is listed as derived.
func TestEveryTextField_X7_is_refused_or_applied_by_every_projection(t *testing.T) {
	fields := textFields(t)
	for _, f := range fields {
		_, driven := drivers[f]
		if _, d := derived[f]; !driven && !d {
			t.Errorf("text field %q has no driver and is not listed as derived", f)
		}
	}
	for f := range drivers {
		if !slices.Contains(fields, f) {
			t.Errorf("driver for %q, which no event has", f)
		}
	}
	if t.Failed() {
		return
	}
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServerWith(t, target, func(m *Main) { m.Limits = &httpapi.Limits{} })
		e := propSetUp(t, m)
		names := make([]string, 0, len(drivers))
		for f := range drivers {
			names = append(names, f)
		}
		slices.Sort(names)
		accepted := map[string]int{}
		for _, f := range names {
			for _, a := range adversarials {
				before := logHead(t, m)
				r := drivers[f](e, a)
				switch {
				case r.status >= 500:
					t.Errorf("%s with %s: %d %s", f, a.name, r.status, r.raw)
				case r.status >= 400:
					if after := logHead(t, m); after != before && f != "ticket.survey_submitted .feedback" && f != "subscription.sublicense_renamed .name" {
						t.Errorf("%s with %s: refused (%d) but the log moved from %d to %d", f, a.name, r.status, before, after)
					}
				default:
					accepted[f]++
				}
			}
		}
		// Every projection applies every event the commands accepted.
		head := logHead(t, m)
		for _, name := range m.readSide.runtime.Names() {
			if err := m.readSide.runtime.WaitFor(context.Background(), name, head, 60*time.Second); err != nil {
				t.Errorf("projection %s did not apply the log up to %d: %v", name, head, err)
			}
		}
		statuses, err := m.readSide.runtime.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range statuses {
			if s.State != projection.StateLive || s.Failure != nil {
				t.Errorf("projection %s is %s: %+v", s.Name, s.State, s.Failure)
			}
		}
		// The test does exercise "applied": clean values pass somewhere.
		if len(accepted) < len(drivers)/2 {
			t.Errorf("only %d of %d fields accepted any value: %v", len(accepted), len(drivers), accepted)
		}
		t.Logf("%d fields × %d strings; fields that accepted some: %d", len(drivers), len(adversarials), len(accepted))
	})
}

// propSetUp makes what the drivers act on: an account with a subscription
// of a trial product, a member, a farm, a ticket, and an account with a
// managed-computers subscription and offline activation on.
func propSetUp(t *testing.T, m *Main) *propEnv {
	t.Helper()
	office, ada, key, acc, sub := installationsAccount(t, m, "ras", 50)
	office.must(200, "PUT", "/v1/products/ras-mdm", map[string]any{"name": "Device Management", "model": "managed_computers",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 2})
	bob := newClient(t, m)
	bobID := bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com")).str("person_id")
	bob.must(200, "POST", "/v1/session", map[string]any{"email": "bob@example.com", "password": pw})
	verifyEmail(t, m, bobID) // MEM-4: only a verified address accepts an invitation
	inv := ada.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"bob@example.com"}})
	invID := inv.body["invitation_ids"].([]any)[0].(string)
	bob.must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": acc, "invitation_id": invID,
		"token": linkKeyOf(m).Token(account.TokenInvitation, invID)})
	act := newClient(t, m).must(200, "POST", "/v1/installations/activations", map[string]any{"key": key,
		"identity": map[string]any{"kind": "farm", "server_id": "srv-prop", "farm_name": "Prop", "app_version": "19.2"}})
	ticket := ada.must(201, "POST", "/v1/accounts/"+acc+"/tickets", map[string]any{"product_id": "ras", "category": "technical",
		"description": "Slow.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
	bought := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "prop-mdm", "product_id": "ras-mdm",
		"seats": 500, "period": "1y", "channel": "online", "support_plan": "standard"})
	mdmAcc := ada.must(201, "POST", "/v1/keys/register", map[string]any{"key": bought.str("key"), "company": company(map[string]any{"name": "Devices"})}).str("account_id")
	e := &propEnv{t: t, m: m, office: office, ada: ada, acc: acc, sub: sub, inst: act.str("installation_id"), bob: bobID,
		ticket: ticket, mdmAccount: mdmAcc, keyForOffline: bought.str("key")}
	e.enableOffline()
	// Its deliveries go nowhere: a loopback address is refused (SSRF).
	e.webhook = ada.must(201, "POST", "/v1/accounts/"+acc+"/webhooks", map[string]any{"url": "https://127.0.0.1:9/prop"}).str("id")
	return e
}

// enableOffline turns offline activation on for the managed-computers
// account, once (ACT-3).
func (e *propEnv) enableOffline() {
	if !e.offlineEnabledForAcc {
		e.office.must(200, "PUT", "/v1/accounts/"+e.mdmAccount+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})
		e.offlineEnabledForAcc = true
	}
}
