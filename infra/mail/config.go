package mail

import (
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
)

// Config configures a Sender.
type Config struct {
	// SMTPURL is the SMTP server, as ParseSMTPURL reads it. Empty: no
	// SMTP, every mail is written as a .eml file into Dir instead.
	SMTPURL string
	// From is the sender address (RFC 5322, e.g. "seatledger
	// <no-reply@example.com>"). Default "seatledger <no-reply@localhost>".
	From string
	// PublicURL is the portal's base URL, the start of every link a mail
	// carries (e.g. "https://portal.example.com"). Required.
	PublicURL string
	// Dir receives the .eml files when SMTPURL is empty. Default
	// "./data/mail".
	Dir string
	// Tokens derives a link's secret token from its purpose and subject
	// with the server's key: the same token whose hash the command
	// stored. Required as soon as a mail's link names a token purpose;
	// such a mail fails (and its timer is retried) without it.
	Tokens func(purpose, subject string) string
	// Logger receives one line per sent mail. Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultFrom = "seatledger <no-reply@localhost>"
	defaultDir  = "./data/mail"
)

func (c *Config) setDefaults() {
	if c.From == "" {
		c.From = defaultFrom
	}
	if c.Dir == "" {
		c.Dir = defaultDir
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration: a malformed SMTP
// URL or sender address, a missing or malformed public URL.
func (c Config) Validate() error {
	var errs []error
	if c.SMTPURL != "" {
		if _, err := ParseSMTPURL(c.SMTPURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.From != "" {
		if _, err := netmail.ParseAddress(c.From); err != nil {
			errs = append(errs, fmt.Errorf("mail: sender address %q: %w", c.From, err))
		}
	}
	if c.PublicURL == "" {
		errs = append(errs, errors.New("mail: config needs the portal's public URL to build links"))
	} else if _, err := parsePublicURL(c.PublicURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// parsePublicURL accepts an absolute http(s) URL with a host and neither
// query nor fragment, since links append their own.
func parsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mail: public URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mail: public URL %q must be http:// or https:// with a host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("mail: public URL %q must have no user, query or fragment", raw)
	}
	return u, nil
}
