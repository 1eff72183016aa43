package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"seatledger/infra/mail"
	"seatledger/projections"
)

// outbox writes mails as ledgerd does without SMTP: one invitation to
// Jürgen in German at 9:00, one password reset to Ada at 10:00 (ledger
// time), and one written by an earlier version, quoted-printable.
func outbox(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mail")
	s, err := mail.New(mail.Config{Dir: dir, PublicURL: "http://127.0.0.1:8080", Logger: slog.New(slog.DiscardHandler),
		Tokens: func(purpose, subject string) string { return "tok-" + subject }})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, m := range []projections.Mail{
		{To: "Jürgen Müller <juergen@example.com>", Language: "de", Template: projections.TemplateInvitation,
			Data: map[string]string{"company": "Müller GmbH", "inviter": "Ada Lovelace"},
			Link: &projections.Link{Path: "/invitations/accept", Query: map[string]string{"account": "acc-1", "invitation": "inv-1"}, TokenPurpose: "invitation", TokenSubject: "inv-1"}},
		{To: "ada@example.com", Language: "en", Template: projections.TemplatePasswordReset, Data: map[string]string{"first_name": "Ada"},
			Link: &projections.Link{Path: "/reset-password", Query: map[string]string{"person": "p-1"}, TokenPurpose: "reset", TokenSubject: "r-1"}},
	} {
		payload, _ := json.Marshal(m)
		if err := s.Handle(context.Background(), projections.Timer{ID: "mail/" + m.Template, Kind: projections.TimerKindMail,
			Payload: payload, Due: at.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	qp := "From: seatledger <no-reply@localhost>\r\nTo: <old@example.com>\r\nSubject: Verify your address\r\n" +
		"Date: Sat, 28 Feb 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nOpen:\r\nhttp://127.0.0.1:8080/verify-email?person=3Dp-0&toke=\r\nn=3Dabc\r\n"
	if err := os.WriteFile(filepath.Join(dir, "20260228T090000.000000000Z-0123456789ab.eml"), []byte(qp), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Issue 20: `ledger mail list|show` read the local outbox decoded: the
// subject of a German mail, the names, and links whole, also from a
// quoted-printable file whose raw text breaks them.
func TestMail_list_and_show_read_the_outbox_decoded(t *testing.T) {
	t.Parallel()
	dir := outbox(t)
	env := map[string]string{"LEDGER_MAIL_DIR": dir}
	out := ok(t, env, "mail", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "0123456789ab  2026-02-28T09:00:00Z  old@example.com") ||
		!strings.Contains(lines[2], "2026-03-01T09:00:00Z  juergen@example.com  Einladung zu Müller GmbH bei seatledger") ||
		!strings.Contains(lines[3], "2026-03-01T10:00:00Z  ada@example.com") {
		t.Fatalf("list:\n%s", out)
	}
	out = ok(t, map[string]string{}, "mail", "list", "--mail-dir", dir, "--to", "ADA@example.com")
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "ada@example.com") {
		t.Errorf("list --to:\n%s", out)
	}

	out = ok(t, env, "mail", "show", "0123")
	wantLines(t, "show of the quoted-printable mail", out, "To:      <old@example.com>", "Subject: Verify your address",
		"http://127.0.0.1:8080/verify-email?person=p-0&token=abc")
	jid := strings.Fields(lines[2])[0]
	out = ok(t, env, "mail", "show", jid)
	wantLines(t, "show of the German invitation", out, "Date:    2026-03-01T09:00:00Z", "To:      Jürgen Müller <juergen@example.com>",
		"Subject: Einladung zu Müller GmbH bei seatledger", "http://127.0.0.1:8080/invitations/accept?account=acc-1&invitation=inv-1&token=tok-inv-1")
	out = ok(t, env, "mail", "show", "--last")
	if !strings.Contains(out, "To:      <ada@example.com>") || !strings.Contains(out, "\nhttp://127.0.0.1:8080/reset-password?person=p-1&token=tok-r-1\n") {
		t.Errorf("show --last:\n%s", out)
	}
	if out := ok(t, env, "mail", "show", "--last", "--to", "juergen@example.com"); !strings.Contains(out, "Einladung") {
		t.Errorf("show --last --to:\n%s", out)
	}
	file := filepath.Join(dir, "20260228T090000.000000000Z-0123456789ab.eml")
	for _, arg := range []string{file, filepath.Base(file)} {
		if out := ok(t, env, "mail", "show", arg); !strings.Contains(out, "Verify your address") {
			t.Errorf("show %s:\n%s", arg, out)
		}
	}
}

// The refusals of ledger mail are one line each: no mail folder (and none
// is created), no such mail, nothing named.
func TestMail_refusals_are_one_line(t *testing.T) {
	t.Parallel()
	dir := outbox(t)
	env := map[string]string{"LEDGER_MAIL_DIR": dir}
	missing := filepath.Join(t.TempDir(), "data", "mail")
	usage(t, map[string]string{"LEDGER_MAIL_DIR": missing}, "ledger: no mail folder at "+missing+": ledgerd writes its mail there when LEDGER_SMTP_URL is not set", "mail", "list")
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the folder was created: %v", err)
	}
	usage(t, env, `ledger: no mail "ffffffff" in the mail folder`, "mail", "show", "ffffffff")
	usage(t, env, "ledger: name the mails to show (ID or file), or give --last", "mail", "show")
	usage(t, env, "ledger: ledger mail needs a subcommand: list, show", "mail")
}
