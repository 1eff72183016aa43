package mail_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"seatledger/infra/mail"
	"seatledger/projections"
)

// Issue 20: an .eml file holds its links whole. Written quoted-printable,
// a link's "=" became "=3D" and a long one was broken across lines, so a
// link copied from `cat` did not work. A body with a line too long for
// a mail line (RFC 5322: 998) is still written quoted-printable.
func TestEML_files_keep_their_links_whole_for_cat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSender(t, mail.Config{Dir: dir})
	if err := s.Handle(context.Background(), mailTimer(t, "mail/ev-link", invitation("en"))); err != nil {
		t.Fatal(err)
	}
	long := invitation("en")
	long.Data["note"] = strings.Repeat("a long note ", 100)
	if err := s.Handle(context.Background(), mailTimer(t, "mail/ev-long", long)); err != nil {
		t.Fatal(err)
	}
	mails, err := mail.ReadOutbox(dir)
	if err != nil || len(mails) != 2 {
		t.Fatalf("outbox: %v, %v", mails, err)
	}
	const link = publicURL + "/invitations/accept?a+b=x%26y&invitation=I-1&token=tok-invitation-I-1"
	for _, m := range mails {
		raw, err := os.ReadFile(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		long := strings.Contains(m.Body, "a long note a long note")
		cte := m.Header.Get("Content-Transfer-Encoding")
		switch {
		case !long && (cte != "8bit" || !strings.Contains(string(raw), "\r\n"+link+"\r\n")):
			t.Errorf("%s (%s): the link is not whole on its line:\n%s", m.Path, cte, raw)
		case long && cte != "quoted-printable":
			t.Errorf("a line longer than 998 bytes went out as %s", cte)
		}
		if got := m.Links(); len(got) != 1 || got[0] != link {
			t.Errorf("%s: decoded links %q, want %q", m.Path, got, link)
		}
	}
}

// ReadOutbox reads the outbox oldest first, decoded: recipient, date
// (ledger time), template, subject and body, from 8bit and
// quoted-printable files alike.
func TestReadOutbox_reads_the_mails_decoded_oldest_first(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSender(t, mail.Config{Dir: dir})
	march := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, lang := range []string{"de", "en"} {
		tm := mailTimer(t, "mail/ev-"+lang, invitation(lang))
		tm.Due = march.AddDate(0, 0, 1-i) // the German one is the later
		if err := s.Handle(context.Background(), tm); err != nil {
			t.Fatal(err)
		}
	}
	qp := "From: seatledger <no-reply@localhost>\r\nTo: <old@example.com>\r\nSubject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Date: Sat, 28 Feb 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nhttp://127.0.0.1:8080/reset-password?person=3Dp-1&token=\r\n=3Dabc\r\n"
	if err := os.WriteFile(filepath.Join(dir, "20260228T090000.000000000Z-0123456789ab.eml"), []byte(qp), 0o600); err != nil {
		t.Fatal(err)
	}
	mails, err := mail.ReadOutbox(dir)
	if err != nil || len(mails) != 3 {
		t.Fatalf("outbox: %v, %v", mails, err)
	}
	old, en, de := mails[0], mails[1], mails[2]
	if old.ID != "0123456789ab" || old.To != "old@example.com" || old.Subject != "Grüße" ||
		strings.Join(old.Links(), " ") != "http://127.0.0.1:8080/reset-password?person=p-1&token=abc" {
		t.Errorf("the quoted-printable mail: %+v", old)
	}
	if en.To != "juergen@example.com" || !en.Date.Equal(march) || en.Template != projections.TemplateInvitation ||
		!strings.HasPrefix(en.Subject, "Invitation to Müller GmbH") || len(en.ID) != 12 {
		t.Errorf("the English mail: %+v", en)
	}
	if !de.Date.Equal(march.AddDate(0, 0, 1)) || !strings.HasPrefix(de.Subject, "Einladung") {
		t.Errorf("the German mail: %+v", de)
	}
	if _, err := mail.ReadOutbox(filepath.Join(dir, "none")); !errors.Is(err, mail.ErrNoOutbox) {
		t.Errorf("a missing folder: %v", err)
	}
}
