// Package mail is the sender side of the mail outbox: the handler of
// projections.TimerKindMail timers. The notifier decides a mail
// (projections.Mail) and schedules it in the transaction of the event that
// caused it; when the timer fires, Sender.Handle renders the mail from the
// embedded text templates (templates/<language>/<template>.tmpl), builds
// its link with a token derived on the spot, and hands it to an SMTP
// server through github.com/wneessen/go-mail, or writes it as a .eml file
// when no server is configured.
//
// Delivery is at least once: an error leaves the timer pending and the
// timer loop retries it, and a mail that reached the server just before a
// crash is sent again. Every attempt of one timer carries the same
// Message-ID, so that mail software can recognise the duplicate.
package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"seatledger/projections"
)

// headerTemplate names the template a mail was rendered from, for
// filtering and for tests.
const headerTemplate gomail.Header = "X-Seatledger-Template"

// Sender renders and sends the mails of the outbox. It is safe for
// concurrent use.
type Sender struct {
	cfg       Config
	from      *netmail.Address
	publicURL *url.URL
	transport transport
	log       *slog.Logger
}

// transport delivers one finished message.
type transport interface {
	// send delivers msg, dated at (ledger time), of timer id.
	send(ctx context.Context, msg *gomail.Msg, id string, at time.Time) error
	mode() string
	// encoding is the body's transfer encoding.
	encoding(body string) gomail.Encoding
}

// New returns a Sender for cfg, or the configuration's problems (see
// Config.Validate), or an error if an embedded template is broken.
func New(cfg Config) (*Sender, error) {
	if templatesErr != nil {
		return nil, templatesErr
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", cfg.From, err)
	}
	public, err := parsePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, from: from, publicURL: public, log: cfg.Logger}
	if cfg.SMTPURL == "" {
		s.transport = dirTransport{dir: cfg.Dir}
	} else {
		u, err := ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		s.transport = smtpTransport{url: u}
	}
	return s, nil
}

// Mode describes where mail goes, for a start-up log line: "smtp
// host:port" or "eml <dir>".
func (s *Sender) Mode() string { return s.transport.mode() }

// Handle sends the mail that timer t carries; it is the timers.Handler of
// projections.TimerKindMail. It returns an error naming the timer when the
// payload is not a mail, names an unknown template, or cannot be rendered
// or sent; the timer loop then retries it. Errors never contain the link,
// whose token is a secret.
func (s *Sender) Handle(ctx context.Context, t projections.Timer) error {
	var m projections.Mail
	if err := json.Unmarshal(t.Payload, &m); err != nil {
		return fmt.Errorf("mail: timer %s: payload is not a mail: %w", t.ID, err)
	}
	at := dateOf(t)
	msg, err := s.message(t.ID, m, at)
	if err != nil {
		return fmt.Errorf("mail: timer %s: %w", t.ID, err)
	}
	if err := s.transport.send(ctx, msg, t.ID, at); err != nil {
		return fmt.Errorf("mail: timer %s: send %s via %s: %w", t.ID, m.Template, s.transport.mode(), err)
	}
	s.log.Info("mail sent", "timer", t.ID, "template", m.Template, "to_domain", domainOf(m.To))
	return nil
}

// dateOf is the date of the mail timer t carries: its due time, which is
// ledger time — when the event that caused the mail took effect (rule
// so that a ledger on a simulated clock dates its mail in its own
// time, and a retry, however late, keeps the date the message was ready
// (RFC 5322's origination date). A timer that never went through the
// outbox has no due time and is dated by the wall clock.
func dateOf(t projections.Timer) time.Time {
	if t.Due.IsZero() {
		return time.Now().UTC()
	}
	return t.Due.UTC()
}

// message renders m into a finished message dated at, whose Message-ID
// derives from timerID.
func (s *Sender) message(timerID string, m projections.Mail, at time.Time) (*gomail.Msg, error) {
	if m.To == "" {
		return nil, errors.New("mail has no recipient")
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	tmpl, ok := templates.lookup(m.Language, m.Template)
	if !ok {
		return nil, fmt.Errorf("unknown mail template %q", m.Template)
	}
	link, err := s.link(m.Link)
	if err != nil {
		return nil, err
	}
	subject, body, err := render(tmpl, templateData{Data: m.Data, Link: link})
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", m.Template, err)
	}

	encoding := s.transport.encoding(body)
	if encoding == gomail.NoEncoding {
		// Written as it is: with a mail's CRLF line ends, as
		// quoted-printable's encoder writes them.
		body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(encoding))
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(subject)
	msg.SetDateWithValue(at)
	msg.SetMessageIDWithValue(messageID(timerID))
	msg.SetGenHeader(headerTemplate, m.Template)
	// RFC 3834: tells auto-responders not to answer a notification.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, body)
	return msg, nil
}

// link builds the absolute URL of l: the public URL, l's path, and l's
// query plus the derived token, sorted and escaped. It returns "" for a
// nil link.
func (s *Sender) link(l *projections.Link) (string, error) {
	if l == nil {
		return "", nil
	}
	q := url.Values{}
	for k, v := range l.Query {
		q.Set(k, v)
	}
	if l.TokenPurpose != "" {
		if s.cfg.Tokens == nil {
			return "", fmt.Errorf("link needs a %q token but the sender has no Tokens function", l.TokenPurpose)
		}
		token := s.cfg.Tokens(l.TokenPurpose, l.TokenSubject)
		if token == "" {
			return "", fmt.Errorf("the Tokens function derived an empty %q token", l.TokenPurpose)
		}
		q.Set("token", token)
	}
	u := *s.publicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(l.Path, "/")
	u.RawPath = ""
	u.RawQuery = q.Encode() // Encode sorts by key
	return u.String(), nil
}

// messageID derives the Message-ID (without angle brackets) from the
// timer's ID, so that every attempt of one timer carries the same one.
func messageID(timerID string) string {
	sum := sha256.Sum256([]byte(timerID))
	return hex.EncodeToString(sum[:16]) + "@seatledger"
}

// domainOf returns the domain of an address, the only part of the
// recipient that the log shows.
func domainOf(addr string) string {
	if a, err := netmail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	if i := strings.LastIndex(addr, "@"); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
