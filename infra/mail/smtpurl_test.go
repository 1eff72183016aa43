package mail

import (
	"strings"
	"testing"
)

func TestParseSMTPURL_reads_defaults_and_parameters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw      string
		want     SMTPURL
		password string
	}{
		{"smtp://mail.example.com", SMTPURL{Host: "mail.example.com", Port: 587, TLS: TLSStartTLS}, ""},
		{"smtp://mail.example.com:2525?tls=starttls", SMTPURL{Host: "mail.example.com", Port: 2525, TLS: TLSStartTLS}, ""},
		{"smtps://mail.example.com", SMTPURL{Host: "mail.example.com", Port: 465, TLS: TLSImplicit}, ""},
		{"smtp://mail.example.com?tls=tls", SMTPURL{Host: "mail.example.com", Port: 465, TLS: TLSImplicit}, ""},
		{"smtps://mail.example.com:4650?tls=tls", SMTPURL{Host: "mail.example.com", Port: 4650, TLS: TLSImplicit}, ""},
		{"smtp://relay:25?tls=none", SMTPURL{Host: "relay", Port: 25, TLS: TLSNone}, ""},
		{"smtp://ada@mail.example.com/", SMTPURL{Host: "mail.example.com", Port: 587, Username: "ada", TLS: TLSStartTLS}, ""},
		{"smtp://ada%40example.com:s%3Acr%40t@mail.example.com",
			SMTPURL{Host: "mail.example.com", Port: 587, Username: "ada@example.com", TLS: TLSStartTLS}, "s:cr@t"},
		{"smtp://u:pw@127.0.0.1:1025?tls=none", SMTPURL{Host: "127.0.0.1", Port: 1025, Username: "u", TLS: TLSNone}, "pw"},
		{"smtp://u:pw@[::1]:1025?tls=none", SMTPURL{Host: "::1", Port: 1025, Username: "u", TLS: TLSNone}, "pw"},
	} {
		got, err := ParseSMTPURL(tc.raw)
		if err != nil {
			t.Errorf("ParseSMTPURL(%q): %v", tc.raw, err)
			continue
		}
		pw := got.password
		got.password = ""
		if got != tc.want || pw != tc.password {
			t.Errorf("ParseSMTPURL(%q) = %+v (password %q); want %+v (password %q)", tc.raw, got, pw, tc.want, tc.password)
		}
		if tc.password != "" && strings.Contains(got.String(), tc.password) {
			t.Errorf("String() of %q = %q shows the password", tc.raw, got.String())
		}
	}
}

func TestParseSMTPURL_refuses_bad_URLs_without_showing_the_password(t *testing.T) {
	t.Parallel()
	const pw = "Sup3rSecr3t"
	for _, tc := range []struct {
		raw, wantErr string
	}{
		{"", "scheme must be"},
		{"mail.example.com:587", "scheme must be"},
		{"http://u:" + pw + "@mail.example.com", "scheme must be"},
		{"smtp://u:" + pw + "@", "has no host"},
		{"smtp://u:" + pw + "@mail.example.com:0", "port"},
		{"smtp://u:" + pw + "@mail.example.com:99999", "port"},
		{"smtp://u:" + pw + "@mail.example.com:smtp", "malformed"},
		{"smtp://u:" + pw + "%zz@mail.example.com", "malformed"},
		{"smtp://u:" + pw + "@mail.example.com?tls=maybe", "tls must be"},
		{"smtp://u:" + pw + "@mail.example.com?tls=none&tls=tls", "2 times"},
		{"smtp://u:" + pw + "@mail.example.com?ssl=1", "unknown parameter"},
		{"smtps://u:" + pw + "@mail.example.com?tls=starttls", "contradicts"},
		{"smtp://u:" + pw + "@mail.example.com/path", "only scheme"},
		{"smtp://:" + pw + "@mail.example.com", "no user"},
		{"smtp://u:" + pw + "@mail.example.com?tls=none", "in clear"},
		{"smtp://u:" + pw + "@mail.example.com/x@y:1:2", "only scheme"},
	} {
		_, err := ParseSMTPURL(tc.raw)
		if err == nil {
			t.Errorf("ParseSMTPURL(%q) succeeded", tc.raw)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "mail: ") {
			t.Errorf("ParseSMTPURL(%q) error %q; want it to contain %q", tc.raw, err, tc.wantErr)
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "Secr") {
			t.Errorf("ParseSMTPURL(%q) error %q shows the password", tc.raw, err)
		}
	}
}

func TestRedactURL_hides_only_the_password(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"smtp://mail.example.com:587":             "smtp://mail.example.com:587",
		"smtp://ada@mail.example.com":             "smtp://ada@mail.example.com",
		"smtp://ada:pw@mail.example.com?tls=none": "smtp://ada:xxxxx@mail.example.com?tls=none",
		"smtp://ada:p@w/d@mail.example.com":       "smtp://ada:xxxxx@mail.example.com",
		"not a url":                               "not a url",
	} {
		if got := redactURL(raw); got != want {
			t.Errorf("redactURL(%q) = %q; want %q", raw, got, want)
		}
	}
}
