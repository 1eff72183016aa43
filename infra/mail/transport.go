package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// smtpTimeout bounds dialling and every exchange with the SMTP server.
const smtpTimeout = 30 * time.Second

// smtpTransport sends through an SMTP server, one connection per mail:
// mails are rare, and a fresh go-mail Client per send shares no state
// between concurrent handlers.
type smtpTransport struct{ url SMTPURL }

func (t smtpTransport) mode() string { return "smtp " + t.url.Addr() }

// encoding is quoted-printable, which every relay carries (8bit needs the
// relay's 8BITMIME).
func (smtpTransport) encoding(string) gomail.Encoding { return gomail.EncodingQP }

func (t smtpTransport) send(ctx context.Context, msg *gomail.Msg, _ string, _ time.Time) error {
	// go-mail honours ctx only while dialling; the dialler below ties the
	// connection to ctx, so that a cancelled handler stops a hung server
	// exchange, and gives it a deadline in any case.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, _, _ string) (net.Conn, error) {
		conn, err := t.dial(dctx)
		if err != nil {
			return nil, err
		}
		if err := conn.SetDeadline(time.Now().Add(smtpTimeout)); err != nil {
			_ = conn.Close()
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) }))
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(t.url.Port),
		gomail.WithTimeout(smtpTimeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(t.tlsConfig()),
	}
	switch t.url.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// With a custom dialler go-mail leaves implicit TLS to it (see
		// dial); WithSSL only stops it from trying STARTTLS on top.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	// Without a user the client never authenticates, whatever the
	// server offers: a relay that needs no login gets none.
	if t.url.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(t.url.Username), gomail.WithPassword(t.url.password))
	}
	client, err := gomail.NewClient(t.url.Host, opts...)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return client.DialAndSendWithContext(ctx, msg)
}

// dial connects to the server, in TLS from the start for implicit TLS. It
// dials the URL's address itself: go-mail joins host and port with a bare
// colon, which breaks IPv6 literals.
func (t smtpTransport) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: smtpTimeout}
	if t.url.TLS == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: t.tlsConfig()}
		return td.DialContext(ctx, "tcp", t.url.Addr())
	}
	return d.DialContext(ctx, "tcp", t.url.Addr())
}

func (t smtpTransport) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: t.url.Host, MinVersion: tls.VersionTLS12}
}

// dirTransport writes each mail as <dir>/<ledger time>-<short id>.eml, for
// development and for installations without an SMTP server; the time is
// the mail's date, so the files of a simulated clock sort in its time.
type dirTransport struct{ dir string }

func (t dirTransport) mode() string { return "eml " + t.dir }

// maxLine is RFC 5322's limit on a line, without its CRLF.
const maxLine = 998

// encoding is 8bit when every line of the body fits a mail line, so that
// a .eml file read with cat or less shows its links whole: in
// quoted-printable a long link is broken across lines with "=" and its "="
// written "=3D", and a link copied from it does not work (issue 20).
// `ledger mail show` decodes either.
func (dirTransport) encoding(body string) gomail.Encoding {
	for line := range strings.Lines(body) {
		if len(strings.TrimRight(line, "\r\n")) > maxLine {
			return gomail.EncodingQP
		}
	}
	return gomail.NoEncoding
}

// emlTime orders the files by their mails' dates.
const emlTime = "20060102T150405.000000000Z"

// send writes msg to a temporary file (not matching *.eml) and renames it,
// so that a reader of the directory never sees half a mail.
func (t dirTransport) send(ctx context.Context, msg *gomail.Msg, id string, at time.Time) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		return fmt.Errorf("create mail directory: %w", err)
	}
	// A timer fires again when its process died after writing the mail and
	// before recording that it fired (or another process took over, rule
	// the mail is written once, the first time.
	if written, err := filepath.Glob(filepath.Join(t.dir, "*-"+messageID(id)[:12]+".eml")); err == nil && len(written) > 0 {
		return nil
	}
	f, err := os.CreateTemp(t.dir, ".mail-*.tmp") // mode 0o600
	if err != nil {
		return fmt.Errorf("create mail file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := msg.WriteTo(f); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	name := filepath.Join(t.dir, at.UTC().Format(emlTime)+"-"+messageID(id)[:12]+".eml")
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("name mail file: %w", err)
	}
	return nil
}
