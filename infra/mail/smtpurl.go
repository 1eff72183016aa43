package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// TLSMode is how the connection to the SMTP server is secured. It is a
// struct so that nobody invents a mode: the only values are TLSStartTLS,
// TLSImplicit and TLSNone.
type TLSMode struct{ s string }

// The TLS modes of an SMTP URL's "tls" parameter.
var (
	// TLSStartTLS connects in clear and upgrades with STARTTLS, refusing
	// a server that does not offer it (the default of smtp://).
	TLSStartTLS = TLSMode{"starttls"}
	// TLSImplicit speaks TLS from the first byte (smtps://, tls=tls).
	TLSImplicit = TLSMode{"tls"}
	// TLSNone never encrypts: only for a relay on the same machine and
	// for tests.
	TLSNone = TLSMode{"none"}
)

// String returns the mode as written in an SMTP URL.
func (m TLSMode) String() string { return m.s }

const (
	defaultSubmissionPort = 587
	defaultImplicitPort   = 465
	redactedPassword      = "xxxxx"
)

// SMTPURL is a parsed SMTP server address (see ParseSMTPURL). Its
// password is unexported and String redacts it, so that logging the value
// never leaks it.
type SMTPURL struct {
	// Host is the server's host name or IP address.
	Host string
	// Port is the server's TCP port.
	Port int
	// Username, if set, is sent with SMTP AUTH PLAIN.
	Username string
	// TLS secures the connection.
	TLS      TLSMode
	password string
}

// Addr returns host:port.
func (u SMTPURL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// String returns the URL with the password replaced by "xxxxx".
func (u SMTPURL) String() string {
	v := url.URL{Scheme: "smtp", Host: u.Addr(), RawQuery: "tls=" + u.TLS.s}
	switch {
	case u.Username != "" && u.password != "":
		v.User = url.UserPassword(u.Username, redactedPassword)
	case u.Username != "":
		v.User = url.User(u.Username)
	}
	return v.String()
}

// ParseSMTPURL parses an SMTP server address of the form
//
//	smtp://[user[:password]@]host[:port][?tls=starttls|tls|none]
//	smtps://[user[:password]@]host[:port]
//
// smtp:// defaults to port 587 and tls=starttls; smtps:// (or tls=tls)
// means implicit TLS and defaults to port 465. tls=none is accepted with
// credentials only for a loopback host, since the password would
// otherwise cross the network in clear. Errors name the URL with its
// password redacted, never the password itself.
func ParseSMTPURL(raw string) (SMTPURL, error) {
	shown := redactURL(raw)
	bad := func(format string, args ...any) (SMTPURL, error) {
		return SMTPURL{}, fmt.Errorf("mail: SMTP URL %s: %s", shown, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil {
		// *url.Error quotes the whole raw URL: keep only its reason, with
		// whatever of the password it might quote taken out.
		var uerr *url.Error
		var eerr url.EscapeError
		reason := err.Error()
		switch {
		case errors.As(err, &eerr):
			reason = "invalid %-escape" // the quoted escape may be part of the password
		case errors.As(err, &uerr):
			reason = uerr.Err.Error()
		}
		if pw := rawPassword(raw); pw != "" {
			reason = strings.ReplaceAll(reason, pw, redactedPassword)
		}
		return bad("malformed: %s", reason)
	}
	var out SMTPURL
	switch u.Scheme {
	case "smtp":
		out.TLS = TLSStartTLS
	case "smtps":
		out.TLS = TLSImplicit
	default:
		return bad("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return bad("must be only scheme, user, host, port and ?tls=")
	}
	out.Host = u.Hostname()
	if out.Host == "" {
		return bad("has no host")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("malformed query")
	}
	for k, vs := range q {
		if k != "tls" {
			return bad("unknown parameter %q (only tls is known)", k)
		}
		if len(vs) != 1 {
			return bad("tls given %d times", len(vs))
		}
		var mode TLSMode
		switch vs[0] {
		case TLSStartTLS.s:
			mode = TLSStartTLS
		case TLSImplicit.s:
			mode = TLSImplicit
		case TLSNone.s:
			mode = TLSNone
		default:
			return bad("tls must be starttls, tls or none, not %q", vs[0])
		}
		if u.Scheme == "smtps" && mode != TLSImplicit {
			return bad("smtps:// always uses implicit TLS, tls=%s contradicts it", mode.s)
		}
		out.TLS = mode
	}
	out.Port = defaultSubmissionPort
	if out.TLS == TLSImplicit {
		out.Port = defaultImplicitPort
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q is not a number from 1 to 65535", p)
		}
		out.Port = n
	}
	if u.User != nil {
		out.Username = u.User.Username()
		out.password, _ = u.User.Password()
		if out.Username == "" {
			return bad("has a password but no user")
		}
	}
	if out.Username != "" && out.TLS == TLSNone && !isLoopback(out.Host) {
		return bad("tls=none would send the password in clear to %s; use starttls or tls", out.Host)
	}
	return out, nil
}

// isLoopback matches the hosts for which go-mail allows AUTH PLAIN
// without TLS.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// userinfoBounds finds the user information of raw without parsing it
// (raw may be malformed): from after "://" to the last "@", so that a
// password with an unescaped "@" or "/" is still covered. ok is false when
// raw has none.
func userinfoBounds(raw string) (start, end int, ok bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return 0, 0, false
	}
	start = i + len("://")
	end = strings.LastIndex(raw, "@")
	if end < start {
		return 0, 0, false
	}
	return start, end, true
}

// rawPassword returns the password part of raw's user information, as
// written ("" when there is none).
func rawPassword(raw string) string {
	start, end, ok := userinfoBounds(raw)
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(raw[start:end], ":")
	return pw
}

// redactURL returns raw with the password of its user information
// replaced by "xxxxx". It works on the text, so that it also redacts a URL
// that does not parse.
func redactURL(raw string) string {
	start, end, ok := userinfoBounds(raw)
	if !ok {
		return raw
	}
	user, _, hasPW := strings.Cut(raw[start:end], ":")
	if !hasPW {
		return raw
	}
	return raw[:start] + user + ":" + redactedPassword + raw[end:]
}
