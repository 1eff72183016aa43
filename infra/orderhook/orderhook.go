// Package orderhook delivers the outbox's integration events to the order
// system: the handler of the timers that carry them. The ledger never
// charges anyone itself; when an auto-renewing subscription is due, it
// asks the order system to renew it, and the order system's renewal comes
// back as a command like any other order.
//
// A delivery is an HTTP POST of the timer's payload (JSON, as is) to the
// configured URL with these headers:
//
//	Content-Type: application/json
//	Idempotency-Key: <timer ID>         the same on every attempt: deduplicate on it
//	X-Seatledger-Event: <timer kind>
//	X-Seatledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>
//
// The signature is sent only when a secret is configured; the receiver
// checks it with Verify. Any 2xx answer is a delivery; anything else
// (other statuses, redirects, transport errors) fails the timer, which the
// timer loop retries with backoff. Delivery is therefore at least once.
//
// Without a URL, a delivery is only logged (at Warn) and counts as done,
// so that a ledger without an order system (a demo, a test) does not pile
// up failing timers; configure the URL before relying on renewals.
package orderhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"seatledger/infra/timers"
)

// Header names of a delivery.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderEvent          = "X-Seatledger-Event"
	HeaderSignature      = "X-Seatledger-Signature"
)

// DefaultTimeout bounds one delivery when Config.Client is nil.
const DefaultTimeout = 10 * time.Second

// DefaultTolerance is how far a signature's time may be from now when
// Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// maxErrorBody is how much of a refusal's body an error quotes.
const maxErrorBody = 200

// Config configures a Sender.
type Config struct {
	// URL is the order system's endpoint, an absolute http:// or https://
	// URL. Empty: deliveries are only logged (see the package documentation).
	URL string
	// Secret, if set, signs every delivery (X-Seatledger-Signature).
	Secret []byte
	// Client sends the requests. Default: an http.Client with a
	// DefaultTimeout timeout. Redirects are never followed, whichever the
	// client: a POST turned into a GET by a redirect would look delivered.
	Client *http.Client
	// Logger receives one line per delivery. Default slog.Default().
	Logger *slog.Logger
}

// Sender delivers integration events to the order system. It is safe for
// concurrent use.
type Sender struct {
	url    string
	secret []byte
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Sender for cfg, or an error if cfg.URL is set but not an
// absolute http(s) URL.
func New(cfg Config) (*Sender, error) {
	if cfg.URL != "" {
		if err := CheckURL(cfg.URL); err != nil {
			return nil, err
		}
	}
	client := &http.Client{Timeout: DefaultTimeout}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{
		url:    cfg.URL,
		secret: bytes.Clone(cfg.Secret),
		client: client,
		log:    cfg.Logger,
		now:    time.Now,
	}, nil
}

// CheckURL reports whether raw is an absolute http:// or https:// URL
// with a host. The error does not quote raw, which may hold a credential.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("orderhook: the order webhook URL must be an absolute http:// or https:// URL with a host")
	}
	return nil
}

// Configured reports whether deliveries go to an order system (a URL is
// set) rather than to the log only.
func (s *Sender) Configured() bool { return s.url != "" }

// Handle delivers the integration event that timer t carries; it is a
// timers.Handler. It returns nil once the order system answered 2xx, or
// when no URL is configured (the request is then only logged). Otherwise
// it returns an error naming the status and the start of the answer, and
// the timer loop retries.
func (s *Sender) Handle(ctx context.Context, t timers.Timer) error {
	if s.url == "" {
		s.log.Warn("order webhook not configured; renewal request recorded in the log only",
			"timer", t.ID, "kind", t.Kind, "payload", string(t.Payload))
		return nil
	}
	body := []byte(t.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("orderhook: timer %s: %w", t.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, t.ID)
	req.Header.Set(HeaderEvent, t.Kind)
	if len(s.secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(s.secret, s.now(), body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("orderhook: timer %s (%s): deliver: %w", t.ID, t.Kind, err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("orderhook: timer %s (%s): the order system answered %s: %q",
			t.ID, t.Kind, resp.Status, strings.TrimSpace(string(head)))
	}
	s.log.Info("order webhook delivered", "timer", t.ID, "kind", t.Kind, "status", resp.StatusCode)
	return nil
}

// Sign returns the X-Seatledger-Signature header of body sent at time at
// under secret: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix
// seconds>." + body)>".
func Sign(secret []byte, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature is matched by every refusal of Verify.
var ErrSignature = errors.New("orderhook: invalid signature")

// Verify checks the X-Seatledger-Signature header of a delivery of body,
// as the order system (and the tests) do: the header must be well formed
// (entries split at ',' and trimmed of white space, each key=value; one
// t of decimal digits; at least one v1 of 64 hex digits, every v1 well
// formed; other keys ignored), its time within tolerance of now (either
// way; tolerance <= 0 means DefaultTolerance), and one of its v1
// signatures the HMAC of secret, compared in constant time. Several v1
// entries are allowed, so that a sender may sign with an old and a new
// secret while they are rotated.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts     string
		haveTS bool
		sigs   [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed header", ErrSignature)
		}
		switch k {
		case "t":
			if haveTS {
				return fmt.Errorf("%w: two timestamps", ErrSignature)
			}
			ts, haveTS = v, true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: malformed v1 signature", ErrSignature)
			}
			sigs = append(sigs, sig)
		}
		// Other schemes are ignored, for future versions.
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: the header needs t= and v1=", ErrSignature)
	}
	// Digits only: ParseInt alone would take a sign ("+1774396800"), a
	// second spelling of the same time under another MAC.
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strings.Trim(ts, "0123456789") != "" {
		return fmt.Errorf("%w: malformed timestamp", ErrSignature)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %s, more than %s from now", ErrSignature, time.Unix(sec, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no signature matches", ErrSignature)
}
