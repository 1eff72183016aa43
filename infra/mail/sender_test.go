package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"seatledger/infra/mail"
	"seatledger/infra/mail/mailtest"
	"seatledger/infra/timers"
	"seatledger/projections"
)

// Sender.Handle is what the timer loop calls for projections.TimerKindMail.
var _ timers.Handler = (*mail.Sender)(nil).Handle

// startSMTP starts a real SMTP server that accepts AUTH PLAIN with user
// and pass, without TLS.
func startSMTP(t *testing.T, user, pass string) *mailtest.Server {
	return mailtest.Start(t, user, pass)
}

// parse decodes a message (sent, or a .eml file).
func parse(t *testing.T, raw []byte) mailtest.Message {
	t.Helper()
	m, err := mailtest.Parse(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return m
}

const publicURL = "http://127.0.0.1:8080/portal"

// tokens derives a recognisable fake token.
func tokens(purpose, subject string) string { return "tok-" + purpose + "-" + subject }

func newSender(t *testing.T, cfg mail.Config) *mail.Sender {
	t.Helper()
	if cfg.PublicURL == "" {
		cfg.PublicURL = publicURL
	}
	if cfg.Tokens == nil {
		cfg.Tokens = tokens
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := mail.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mailTimer wraps m as the outbox does.
func mailTimer(t *testing.T, id string, m projections.Mail) projections.Timer {
	t.Helper()
	payload, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return projections.Timer{ID: id, Kind: projections.TimerKindMail, Payload: payload}
}

func invitation(lang string) projections.Mail {
	return projections.Mail{
		To:       "Jürgen Müller <juergen@example.com>",
		Language: lang,
		Template: projections.TemplateInvitation,
		Data: map[string]string{
			"first_name": "Jürgen", "company": "Müller GmbH", "inviter": "Ada Lovelace", "note": "Willkommen im Team",
		},
		Link: &projections.Link{
			Path:         "/invitations/accept",
			Query:        map[string]string{"invitation": "I-1", "a b": "x&y"},
			TokenPurpose: "invitation",
			TokenSubject: "I-1",
		},
	}
}

// Rule MEM-4: an invitation goes out in the language chosen for it.
func TestHandle_sends_a_German_invitation_with_its_link_over_SMTP_MEM4(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "mailer", "s3cret")
	var logs bytes.Buffer
	s := newSender(t, mail.Config{
		SMTPURL: srv.URL("mailer", "s3cret"),
		From:    "seatledger <no-reply@seatledger.example>",
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err := s.Handle(context.Background(), mailTimer(t, "mail/ev-1", invitation("de"))); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages; want 1", len(msgs))
	}
	if msgs[0].From != "no-reply@seatledger.example" || strings.Join(msgs[0].To, ",") != "juergen@example.com" {
		t.Errorf("envelope from %q to %q", msgs[0].From, msgs[0].To)
	}
	m := msgs[0]
	if want := "Einladung zu Müller GmbH bei seatledger"; m.Subject != want {
		t.Errorf("subject %q; want %q", m.Subject, want)
	}
	wantLink := publicURL + "/invitations/accept?a+b=x%26y&invitation=I-1&token=tok-invitation-I-1"
	for _, want := range []string{"Hallo Jürgen,", "Ada Lovelace hat Sie eingeladen", "Willkommen im Team", "\n" + wantLink + "\n"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	for header, want := range map[string]string{
		"X-Seatledger-Template": "invitation",
		"From":                  `"seatledger" <no-reply@seatledger.example>`,
	} {
		if got := m.Header.Get(header); got != want {
			t.Errorf("%s: %q; want %q", header, got, want)
		}
	}
	if to, err := m.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Name != "Jürgen Müller" {
		t.Errorf("To %v, %v", to, err)
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@seatledger>") {
		t.Errorf("Message-ID %q", id)
	}
	// The log names the timer and the recipient's domain, nothing secret
	// or personal.
	line := logs.String()
	for _, want := range []string{"mail/ev-1", "invitation", "example.com"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	for _, secret := range []string{"tok-", "juergen@", "Jürgen", "http"} {
		if strings.Contains(line, secret) {
			t.Errorf("log %q shows %q", line, secret)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("log has %d lines; want 1:\n%s", strings.Count(line, "\n"), line)
	}
}

// Retries of one timer must be recognisable as one mail.
func TestHandle_keeps_the_Message_ID_across_retries_of_a_timer(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "", "")
	s := newSender(t, mail.Config{SMTPURL: srv.URL("", "")})
	for _, id := range []string{"mail/ev-1", "mail/ev-1", "mail/ev-2"} {
		if err := s.Handle(context.Background(), mailTimer(t, id, invitation("en"))); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("server received %d messages; want 3", len(msgs))
	}
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.Header.Get("Message-ID"))
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[0] == ids[2] {
		t.Errorf("Message-IDs %q; want the first two equal and the third different", ids)
	}
}

func TestHandle_fails_on_a_wrong_SMTP_password_without_showing_it(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "mailer", "right-password")
	s := newSender(t, mail.Config{SMTPURL: srv.URL("mailer", "wrong-password")})
	err := s.Handle(context.Background(), mailTimer(t, "mail/ev-1", invitation("en")))
	if err == nil {
		t.Fatal("sent with a wrong password")
	}
	if !strings.Contains(err.Error(), "mail/ev-1") || !strings.Contains(err.Error(), "535") {
		t.Errorf("error %q; want the timer and the server's refusal", err)
	}
	if strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "tok-") {
		t.Errorf("error %q shows a secret", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

// The default tls=starttls is a requirement, not a wish: a server without
// STARTTLS gets nothing, rather than a mail in clear.
func TestHandle_refuses_a_server_without_STARTTLS_by_default(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "", "")
	s := newSender(t, mail.Config{SMTPURL: "smtp://" + srv.Addr()})
	err := s.Handle(context.Background(), mailTimer(t, "mail/ev-1", invitation("en")))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %v; want one about STARTTLS", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestHandle_chooses_the_language_and_falls_back_to_English(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "", "")
	s := newSender(t, mail.Config{SMTPURL: srv.URL("", "")})
	cases := []struct{ lang, wantSubject string }{
		{"de", "Einladung zu Müller GmbH bei seatledger"},
		{"de-AT", "Einladung zu Müller GmbH bei seatledger"},
		{"en", "Invitation to Müller GmbH on seatledger"},
		{"fr", "Invitation to Müller GmbH on seatledger"},
		{"", "Invitation to Müller GmbH on seatledger"},
	}
	for _, tc := range cases {
		if err := s.Handle(context.Background(), mailTimer(t, "mail/"+tc.lang, invitation(tc.lang))); err != nil {
			t.Fatalf("language %q: %v", tc.lang, err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != len(cases) {
		t.Fatalf("server received %d messages; want %d", len(msgs), len(cases))
	}
	for i, tc := range cases {
		if got := msgs[i].Subject; got != tc.wantSubject {
			t.Errorf("language %q: subject %q; want %q", tc.lang, got, tc.wantSubject)
		}
	}
}

func TestHandle_greets_without_a_name_and_sends_mail_without_a_link(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "", "")
	s := newSender(t, mail.Config{SMTPURL: srv.URL("", "")})
	m := projections.Mail{To: "x@example.org", Language: "en", Template: projections.TemplateMemberRemoved}
	if err := s.Handle(context.Background(), mailTimer(t, "mail/ev-1", m)); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages; want 1", len(msgs))
	}
	p := msgs[0]
	if !strings.HasPrefix(p.Body, "Hello,\n") || strings.Contains(p.Body, "http") {
		t.Errorf("body:\n%s", p.Body)
	}
	if p.Subject != "You were removed from a business account on seatledger" {
		t.Errorf("subject %q", p.Subject)
	}
}

func TestHandle_refuses_mail_it_cannot_render(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "", "")
	s := newSender(t, mail.Config{SMTPURL: srv.URL("", "")})
	noTokens, err := mail.New(mail.Config{SMTPURL: srv.URL("", ""), PublicURL: publicURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	unknown := invitation("en")
	unknown.Template = "birthday"
	noRecipient := invitation("en")
	noRecipient.To = ""
	badRecipient := invitation("en")
	badRecipient.To = "not an address"
	for _, tc := range []struct {
		name    string
		sender  *mail.Sender
		timer   projections.Timer
		wantErr string
	}{
		{"unknown template", s, mailTimer(t, "mail/t1", unknown), `unknown mail template "birthday"`},
		{"malformed payload", s, projections.Timer{ID: "mail/t2", Kind: projections.TimerKindMail, Payload: json.RawMessage(`{"to":`)}, "payload is not a mail"},
		{"payload of another shape", s, projections.Timer{ID: "mail/t3", Kind: projections.TimerKindMail, Payload: json.RawMessage(`[1,2]`)}, "payload is not a mail"},
		{"no payload", s, projections.Timer{ID: "mail/t4", Kind: projections.TimerKindMail}, "payload is not a mail"},
		{"no recipient", s, mailTimer(t, "mail/t5", noRecipient), "no recipient"},
		{"bad recipient", s, mailTimer(t, "mail/t6", badRecipient), "recipient"},
		{"token without Tokens", noTokens, mailTimer(t, "mail/t7", invitation("en")), `needs a "invitation" token`},
	} {
		err := tc.sender.Handle(context.Background(), tc.timer)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.timer.ID) ||
			!strings.HasPrefix(err.Error(), "mail: ") {
			t.Errorf("%s: error %q; want the timer %s and %q", tc.name, err, tc.timer.ID, tc.wantErr)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestHandle_stops_when_the_context_is_cancelled(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, "", "")
	s := newSender(t, mail.Config{SMTPURL: srv.URL("", "")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Handle(ctx, mailTimer(t, "mail/ev-1", invitation("en")))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v; want context.Canceled", err)
	}
}

func TestHandle_writes_eml_files_without_SMTP(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	s := newSender(t, mail.Config{Dir: dir})
	if got, want := s.Mode(), "eml "+dir; got != want {
		t.Errorf("Mode() = %q; want %q", got, want)
	}
	for _, id := range []string{"mail/ev-1", "mail/ev-2"} {
		if err := s.Handle(context.Background(), mailTimer(t, id, invitation("de"))); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory %v, %v; want mode 0700", fi, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("directory holds %v; want two .eml files and nothing else", entries)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("file %q is not a finished .eml", e.Name())
			continue
		}
		if fi, err := e.Info(); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("file %s: %v, %v; want mode 0600", e.Name(), fi, err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m := parse(t, raw)
		if m.Subject != "Einladung zu Müller GmbH bei seatledger" || !strings.Contains(m.Body, "token=tok-invitation-I-1") {
			t.Errorf("%s: subject %q body:\n%s", e.Name(), m.Subject, m.Body)
		}
		if from := m.Header.Get("From"); from != `"seatledger" <no-reply@localhost>` {
			t.Errorf("default From %q", from)
		}
	}
}

// Rule X-8: a mail timer that fires again (its process died after writing
// the mail, before recording that it fired) writes no second file.
func TestHandle_writes_a_timer_s_eml_file_once_X8(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	s := newSender(t, mail.Config{Dir: dir})
	for range 3 {
		if err := s.Handle(context.Background(), mailTimer(t, "mail/ev-again", invitation("en"))); err != nil {
			t.Fatal(err)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v); want the one mail", entries, err)
	}
}

func TestNew_reports_every_configuration_problem(t *testing.T) {
	t.Parallel()
	_, err := mail.New(mail.Config{SMTPURL: "smtp://u:hunter2@host:0", From: "not an address"})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"SMTP URL smtp://u:xxxxx@host:0", "sender address", "public URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the password", err)
	}
	for _, bad := range []string{"ftp://example.com", "/relative", "https://example.com/?x=1", "https://u:p@example.com"} {
		if err := (mail.Config{PublicURL: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "public URL") {
			t.Errorf("PublicURL %q: %v", bad, err)
		}
	}
}

func TestMode_names_the_SMTP_server(t *testing.T) {
	t.Parallel()
	s := newSender(t, mail.Config{SMTPURL: "smtps://u:pw@mail.example.com"})
	if got, want := s.Mode(), "smtp mail.example.com:465"; got != want {
		t.Errorf("Mode() = %q; want %q", got, want)
	}
}

// Rule X-6 (and issue 25): a mail carries ledger time, not the wall
// clock's: its Date header and its .eml file's name are the due time of
// its outbox timer — when the event that caused it took effect — so a
// ledger on a simulated clock in March dates its mail in March.
func TestHandle_dates_mail_by_ledger_time_X6(t *testing.T) {
	t.Parallel()
	ledgerTime := time.Date(2026, 3, 9, 14, 30, 0, 0, time.UTC)
	tm := mailTimer(t, "mail/ev-dated", invitation("en"))
	tm.Due = ledgerTime

	srv := startSMTP(t, "", "")
	if err := newSender(t, mail.Config{SMTPURL: srv.URL("", "")}).Handle(context.Background(), tm); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages; want 1", len(msgs))
	}
	if date, err := msgs[0].Header.Date(); err != nil || !date.Equal(ledgerTime) {
		t.Errorf("SMTP Date: %v, %v; want the ledger's %v", date, err, ledgerTime)
	}

	dir := filepath.Join(t.TempDir(), "mail")
	if err := newSender(t, mail.Config{Dir: dir}).Handle(context.Background(), tm); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v); want one .eml", entries, err)
	}
	if name := entries[0].Name(); !strings.HasPrefix(name, "20260309T143000.000000000Z-") {
		t.Errorf(".eml file %q is not named by the ledger's time %v", name, ledgerTime)
	}
	raw, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if date, err := parse(t, raw).Header.Date(); err != nil || !date.Equal(ledgerTime) {
		t.Errorf(".eml Date: %v, %v; want %v", date, err, ledgerTime)
	}
}
