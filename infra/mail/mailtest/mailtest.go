// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp)
// inside a test, on a random local port, and hands over what arrives,
// decoded: the ledger's mail tests check what a recipient would read.
package mailtest

import (
	"fmt"
	"io"
	"log"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"seatledger/infra/mail"
)

// Server is an SMTP server that keeps every message it receives.
type Server struct {
	addr       string
	user, pass string // empty user: no login needed (AUTH is still offered)

	mu       sync.Mutex
	received []Message
	arrived  chan struct{}
}

// Message is one delivered message: its envelope, and the message as
// parsed and decoded.
type Message struct {
	From    string
	To      []string
	Raw     []byte
	Header  netmail.Header
	Subject string
	Body    string // decoded, with \n line ends
}

// Start starts a server that accepts AUTH PLAIN with user and pass (or
// anybody, with user ""), without TLS, and stops it when the test ends.
func Start(t testing.TB, user, pass string) *Server {
	t.Helper()
	srv := &Server{user: user, pass: pass, arrived: make(chan struct{}, 1)}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{srv: srv}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		_ = l.Close() // Close may come before Serve has registered l, which then serves on
		<-done
	})
	return srv
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns the server's SMTP URL (no TLS) with the given credentials.
func (s *Server) URL(user, pass string) string {
	cred := ""
	if user != "" {
		cred = user + ":" + pass + "@"
	}
	return "smtp://" + cred + s.addr + "?tls=none"
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

// WaitFor returns the first message to rcpt whose subject contains
// subject, waiting up to timeout for it to arrive.
func (s *Server) WaitFor(t testing.TB, rcpt, subject string, timeout time.Duration) Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for _, m := range s.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, rcpt) && strings.Contains(m.Subject, subject) {
					return m
				}
			}
		}
		select {
		case <-s.arrived:
		case <-deadline:
			var got []string
			for _, m := range s.Messages() {
				got = append(got, fmt.Sprintf("%v %q", m.To, m.Subject))
			}
			t.Fatalf("no mail to %s about %q within %s; received %v", rcpt, subject, timeout, got)
		}
	}
}

// Link returns the first line of the body that starts with prefix: the
// link a recipient would click.
func (m Message) Link(prefix string) string {
	for _, line := range strings.Split(m.Body, "\n") {
		if i := strings.Index(line, prefix); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	return ""
}

type session struct {
	srv    *Server
	authed bool
	msg    Message
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.msg = Message{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	parsed, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: err.Error()}
	}
	parsed.From, parsed.To = s.msg.From, s.msg.To
	s.msg = parsed
	s.srv.mu.Lock()
	s.srv.received = append(s.srv.received, s.msg)
	s.srv.mu.Unlock()
	select {
	case s.srv.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (s *session) Reset()        { s.msg = Message{} }
func (s *session) Logout() error { return nil }

// Parse reads a message (as sent, or as a .eml file) into its header,
// subject and plain-text body, as mail.Decode does.
func Parse(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	d, err := mail.Decode(raw)
	m.Header, m.Subject, m.Body = d.Header, d.Subject, d.Body
	return m, err
}
