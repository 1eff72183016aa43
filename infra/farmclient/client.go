// Package farmclient simulates a product installation — a farm
// (concurrent users) or a proxy server (managed computers) — against a
// running ledgerd over HTTP: it activates with a key or as a trial,
// refreshes its license, reports usage, enrolls computers and
// deactivates (rules ACT-1, ACT-4..8, USE-1, USE-6), and it writes and
// imports the files of offline activation (ACT-2, ACT-5, ACT-6).
//
// Client is the installation API; it is safe for concurrent use and keeps
// no state of its own, so a load generator shares one Client (and thus one
// http.Client and its pooled connections) between many simulated
// installations. State is what one installation remembers between runs,
// kept in a JSON file; WriteRequest and Import are the offline side.
//
// A refusal from the ledger is a *ProblemError (the RFC 9457 problem
// document it answered); a failure to reach the ledger is any other error,
// wrapped with what was being done.
package farmclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"seatledger/domain/installation"
	"seatledger/infra/offline"
)

// The kinds of installations (PROD-4).
const (
	KindFarm        = string(installation.Farm)        // concurrent users
	KindProxyServer = string(installation.ProxyServer) // managed computers
)

// The statuses the ledger reports for an installation.
const (
	StatusActive      = string(installation.Active)
	StatusPending     = string(installation.Pending) // a portal deactivation waits for the next contact (ACT-7)
	StatusSuspended   = string(installation.SuspendedStatus)
	StatusDeactivated = string(installation.Inactive)
)

// DefaultTimeout bounds one call of a Client whose HTTP field is nil.
const DefaultTimeout = 30 * time.Second

// defaultHTTP serves every Client without an http.Client of its own, so
// that they share one connection pool.
var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// maxAnswer bounds an answer the client reads; the ledger's are small.
const maxAnswer = 1 << 20

// Client calls the installation API of the ledger at BaseURL. The zero
// HTTP uses a shared http.Client with DefaultTimeout; a load generator
// sets its own, with a Transport sized for its concurrency.
type Client struct {
	// BaseURL is the ledger's base URL, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP sends the requests; nil: a shared default client.
	HTTP *http.Client
}

// Identity is who an installation is (PROD-4): a farm by its server ID,
// farm name and app version; a proxy server by its server name, site code,
// site description and app version.
type Identity struct {
	Kind            string `json:"kind"`
	ServerID        string `json:"server_id,omitempty"`
	FarmName        string `json:"farm_name,omitempty"`
	ServerName      string `json:"server_name,omitempty"`
	SiteCode        string `json:"site_code,omitempty"`
	SiteDescription string `json:"site_description,omitempty"`
	AppVersion      string `json:"app_version"`
}

func (id Identity) domain() installation.Identity {
	return installation.Identity{Kind: installation.Kind(id.Kind), ServerID: id.ServerID, FarmName: id.FarmName,
		ServerName: id.ServerName, SiteCode: id.SiteCode, SiteDescription: id.SiteDescription, AppVersion: id.AppVersion}
}

// Check refuses an identity that lacks what its kind needs, as the ledger
// would.
func (id Identity) Check() error {
	if err := id.domain().Check(); err != nil {
		return fmt.Errorf("farmclient: identity: %w", err)
	}
	return nil
}

// Server names the machine as offline files carry it: "farm/<server ID>"
// or "proxy_server/<site code>/<server name>".
func (id Identity) Server() string { return id.domain().Server() }

func (id Identity) offline() offline.Identity {
	return offline.Identity{Kind: id.Kind, ServerID: id.ServerID, FarmName: id.FarmName, ServerName: id.ServerName,
		SiteCode: id.SiteCode, SiteDescription: id.SiteDescription, AppVersion: id.AppVersion}
}

// License is the license the ledger certifies to an installation (ACT-4).
type License struct {
	KeyID     string     `json:"key_id,omitempty"`
	KeyHint   string     `json:"key_hint,omitempty"` // the key's last group
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"` // nil: a permanent license
	Seats     int        `json:"seats"`
	Used      int        `json:"used"`
	Remaining int        `json:"remaining"`
	Trial     bool       `json:"trial,omitempty"`
}

// Activation is the ledger's answer to an activation (ACT-1, ACT-4).
type Activation struct {
	InstallationID string  `json:"installation_id"`
	Credential     string  `json:"credential"` // a secret: sli_…
	Status         string  `json:"status"`
	License        License `json:"license"`
	Position       uint64  `json:"position"`
}

// LicenseAnswer is the ledger's answer to a license refresh (ACT-5).
type LicenseAnswer struct {
	InstallationID string  `json:"installation_id"`
	Status         string  `json:"status"`
	License        License `json:"license"`
}

// Connection is one live connection of a farm (PROD-2); Type is one of
// published_desktop, published_app, rdp_desktop, rdp_desktop_tunneled,
// rdp_app.
type Connection struct {
	User  string `json:"user"`
	Type  string `json:"type"`
	Admin bool   `json:"admin"`
	Host  string `json:"host"`
}

// Report is a usage report (PROD-3, USE-1): a count of seats, or the live
// connections the ledger counts them from; exactly one of Seats and
// Connections is set (a non-nil empty Connections reports no one).
type Report struct {
	// ObservedAt is when the installation observed the usage; zero: when
	// the ledger receives the report.
	ObservedAt  time.Time
	Seats       *int
	Connections []Connection
}

// SeatsReport returns a report of n seats observed at observedAt (zero:
// on receipt).
func SeatsReport(n int, observedAt time.Time) Report {
	return Report{ObservedAt: observedAt, Seats: &n}
}

type reportBody struct {
	ObservedAt  *time.Time    `json:"observed_at,omitempty"`
	Seats       *int          `json:"seats,omitempty"`
	Connections *[]Connection `json:"connections,omitempty"`
}

// ReportAnswer is what the ledger makes of a usage report (USE-1..6).
type ReportAnswer struct {
	InstallationID string     `json:"installation_id"`
	Status         string     `json:"status"`
	Seats          int        `json:"seats"`
	Quota          int        `json:"quota"`
	Peak           int        `json:"peak"`
	OverQuota      bool       `json:"over_quota"`
	GraceEnds      *time.Time `json:"grace_ends,omitempty"` // set while overuse grace runs (USE-3)
	// Grace is a farm's overuse grace after the report (USE-3..5); nil
	// for a proxy server, which has none (USE-6).
	Grace     *Grace `json:"grace,omitempty"`
	OverLimit bool   `json:"over_limit,omitempty"` // a proxy server over its limit (USE-6)
	Position  uint64 `json:"position"`
}

// Grace is where a farm's 7-day overuse grace stands (USE-3..5):
// "available" (the next excess starts one), "running" until Ends, or
// "used" (it Ended, and no seats were bought since: an excess now
// suspends the farm within 1–2 hours).
type Grace struct {
	State string     `json:"state"`
	Ends  *time.Time `json:"ends,omitempty"`
	Ended *time.Time `json:"ended,omitempty"`
}

// Enrollment is the ledger's permission to enroll computers (USE-6): it
// counts at once, so Managed includes them until the next usage report
// replaces the count.
type Enrollment struct {
	Allowed  bool   `json:"allowed"`
	Managed  int    `json:"managed"`
	Limit    int    `json:"limit"`
	Position uint64 `json:"position"`
}

// ProblemError is a refusal of the ledger: its RFC 9457 problem document.
// An answer that is not a problem document (a proxy's error page) is
// described by Status and Title alone.
type ProblemError struct {
	Status    int
	Type      string // a URI whose last segment is the slug
	Title     string
	Detail    string
	RequestID string // quote it to find the ledger's log lines
}

// Error renders the refusal on one line: the title, then the detail
// without the title repeated at its start (the ledger's detail of a
// domain error may begin with it: "Invalid request: invalid request: …"
// would say it twice).
func (e *ProblemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the ledger refused (%d", e.Status)
	if s := e.Slug(); s != "" {
		b.WriteString(" " + s)
	}
	b.WriteString("): " + e.Title)
	if detail := withoutTitle(e.Detail, e.Title); detail != "" {
		b.WriteString(": " + detail)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// withoutTitle returns detail without a repetition of title at its start
// (compared without regard to case), and "" when detail only repeats it.
func withoutTitle(detail, title string) string {
	if title == "" || len(detail) < len(title) || !strings.EqualFold(detail[:len(title)], title) {
		return detail
	}
	rest := detail[len(title):]
	switch {
	case rest == "":
		return ""
	case strings.HasPrefix(rest, ": "):
		return rest[2:]
	}
	return detail
}

// Slug returns the problem type's last path segment, such as
// "key-in-use" or "deactivated"; empty when the answer named no type.
func (e *ProblemError) Slug() string {
	return e.Type[strings.LastIndexByte(e.Type, '/')+1:]
}

// IsProblem reports whether err is (or wraps) a refusal of type slug.
func IsProblem(err error, slug string) bool {
	var p *ProblemError
	return errors.As(err, &p) && p.Slug() == slug
}

// Activate activates an installation with a license key (ACT-1).
func (c *Client) Activate(ctx context.Context, key string, id Identity) (Activation, error) {
	var a Activation
	body := struct {
		Key      string   `json:"key"`
		Identity Identity `json:"identity"`
	}{key, id}
	err := c.do(ctx, http.MethodPost, "/v1/installations/activations", "", "", body, &a)
	return a, err
}

// ActivateTrial activates a trial of product productID (SUB-8).
func (c *Client) ActivateTrial(ctx context.Context, productID string, id Identity) (Activation, error) {
	var a Activation
	body := struct {
		ProductID string   `json:"product_id"`
		Identity  Identity `json:"identity"`
	}{productID, id}
	err := c.do(ctx, http.MethodPost, "/v1/installations/trials", "", "", body, &a)
	return a, err
}

// License refreshes the license of the installation whose credential is
// credential (ACT-5).
func (c *Client) License(ctx context.Context, credential string) (LicenseAnswer, error) {
	var l LicenseAnswer
	err := c.do(ctx, http.MethodGet, "/v1/installation/license", credential, "", nil, &l)
	return l, err
}

// Report sends a usage report (USE-1). With an idempotencyKey (rule X-4)
// a retry of the same report is recorded once; empty sends none.
func (c *Client) Report(ctx context.Context, credential string, r Report, idempotencyKey string) (ReportAnswer, error) {
	var a ReportAnswer
	if (r.Seats == nil) == (r.Connections == nil) {
		return a, errors.New("farmclient: a usage report has either seats or connections, not both or neither")
	}
	body := reportBody{Seats: r.Seats}
	if !r.ObservedAt.IsZero() {
		body.ObservedAt = &r.ObservedAt
	}
	if r.Connections != nil {
		body.Connections = &r.Connections
	}
	err := c.do(ctx, http.MethodPost, "/v1/installation/usage", credential, idempotencyKey, body, &a)
	return a, err
}

// Deactivate deactivates the installation online; the ledger releases its
// key at once (ACT-6).
func (c *Client) Deactivate(ctx context.Context, credential string) error {
	return c.do(ctx, http.MethodPost, "/v1/installation/deactivation", credential, "", nil, nil)
}

// Enroll asks whether a proxy server may enroll n more computers (USE-6);
// at its limit the ledger refuses with the problem "over-limit".
func (c *Client) Enroll(ctx context.Context, credential string, n int) (Enrollment, error) {
	var e Enrollment
	body := struct {
		Computers int `json:"computers"`
	}{n}
	err := c.do(ctx, http.MethodPost, "/v1/installation/enrollments", credential, "", body, &e)
	return e, err
}

// PublicKey fetches the ledger's Ed25519 key that verifies its offline
// answers (ACT-2). Pin it once: trusting whatever a server serves later
// would let any server sign answers.
func (c *Client) PublicKey(ctx context.Context) (ed25519.PublicKey, error) {
	var ans struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"key_id"`
		PublicKey string `json:"public_key"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/offline/public-key", "", "", nil, &ans); err != nil {
		return nil, err
	}
	if ans.Algorithm != "Ed25519" {
		return nil, fmt.Errorf("farmclient: the ledger's offline key is %q, not Ed25519", ans.Algorithm)
	}
	pub, err := ParsePublicKey(ans.PublicKey)
	if err != nil {
		return nil, err
	}
	if ans.KeyID != "" && ans.KeyID != offline.KeyID(pub) {
		return nil, fmt.Errorf("farmclient: the ledger's offline key does not match its key ID %s", ans.KeyID)
	}
	return pub, nil
}

// ParsePublicKey reads an Ed25519 public key in standard base64, as the
// ledger serves it.
func ParsePublicKey(b64 string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("farmclient: the ledger's public key is the base64 of %d bytes", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// Header values shared by every request (never modified).
var (
	acceptJSON  = []string{"application/json, application/problem+json"}
	contentJSON = []string{"application/json"}
)

// do sends body (when not nil) as JSON and decodes a success into out
// (when not nil); credential and idempotencyKey are sent when not empty.
func (c *Client) do(ctx context.Context, method, path, credential, idempotencyKey string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("farmclient: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("farmclient: %s %s: %w", method, path, err)
	}
	req.Header["Accept"] = acceptJSON
	if body != nil {
		req.Header["Content-Type"] = contentJSON
	}
	if credential != "" {
		req.Header["Authorization"] = []string{"Bearer " + credential}
	}
	if idempotencyKey != "" {
		req.Header["Idempotency-Key"] = []string{idempotencyKey}
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error repeats the method and the full URL; say it plainly.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("farmclient: %s %s: cannot reach the ledger at %s: %w", method, path, redact(c.BaseURL), err)
	}
	defer func() {
		// Read to the end so that the connection goes back to the pool.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 300 {
		return ReadProblem(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return fmt.Errorf("farmclient: %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// ReadProblem reads the refusal resp answered: its problem document, or
// its status when it is not one. Other clients of the ledger (the ledger
// CLI's back-office calls) read their refusals with it too, so that every
// refusal the CLI prints reads the same.
func ReadProblem(resp *http.Response) *ProblemError {
	p := &ProblemError{Status: resp.StatusCode}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var doc struct {
			Type      string `json:"type"`
			Title     string `json:"title"`
			Detail    string `json:"detail"`
			RequestID string `json:"request_id"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&doc) == nil {
			p.Type, p.Title, p.Detail, p.RequestID = doc.Type, doc.Title, doc.Detail, doc.RequestID
		}
	}
	if p.Title == "" {
		p.Title = http.StatusText(resp.StatusCode)
		if p.Detail == "" && mt != "" {
			p.Detail = "the answer was " + mt + ", not a problem document"
		}
	}
	if p.RequestID == "" {
		p.RequestID = resp.Header.Get("X-Request-ID")
	}
	return p
}

// redact drops a password from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
