package attachments_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"seatledger/infra/attachments"
	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

var (
	png  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 40)...)
	pdf  = []byte("%PDF-1.7\n1 0 obj << >> endobj\n")
	html = []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")
)

func newStore(t *testing.T, target sqldb.Target) *attachments.Store {
	t.Helper()
	return attachments.New(sqldbtest.Open(t, target), clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)))
}

// Rule TKT-2: a file attached to a reply is stored with its checksum and
// read back byte for byte, under its ticket only.
func TestStore_round_trip_TKT2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		s := newStore(t, target)
		a, err := s.Put(ctx, "T-AAAA-BBBB", `C:\Users\bob\screen shot.png`, "image/png", png)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(png)
		if a.AttachmentID == "" || a.Name != "screen shot.png" || a.ContentType != "image/png" || a.Size != int64(len(png)) || a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored %+v", a)
		}
		got, data, err := s.Get(ctx, "T-AAAA-BBBB", a.AttachmentID)
		if err != nil || got != a || !bytes.Equal(data, png) {
			t.Fatalf("read back %+v, %d bytes, %v", got, len(data), err)
		}
		if _, _, err := s.Get(ctx, "T-CCCC-DDDD", a.AttachmentID); !errors.Is(err, attachments.ErrNotFound) {
			t.Errorf("under another ticket: %v", err)
		}
		if _, _, err := s.Get(ctx, "T-AAAA-BBBB", "nope"); !errors.Is(err, attachments.ErrNotFound) {
			t.Errorf("unknown attachment: %v", err)
		}
		// A type the client did not give is taken from the content.
		if a, err := s.Put(ctx, "T-AAAA-BBBB", "report.pdf", "application/octet-stream", pdf); err != nil || a.ContentType != "application/pdf" {
			t.Errorf("undeclared PDF: %+v, %v", a, err)
		}
		if a, err := s.Put(ctx, "T-AAAA-BBBB", "farm.log", "text/plain; charset=utf-8", []byte("2026-03-01 error: key refused\n")); err != nil || a.ContentType != "text/plain" {
			t.Errorf("a log: %+v, %v", a, err)
		}
		if _, err := s.Put(ctx, "T-AAAA-BBBB", "settings.json", "application/json", []byte(`{"farm":"A"}`)); err != nil {
			t.Errorf("JSON: %v", err)
		}
	})
}

// Rule TKT-2: the limits — 5 MiB a file, 10 files a reply, the allowed
// types — and a declared type that the bytes contradict is refused,
// naming both.
func TestStore_limits_and_forged_types_TKT2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		s := newStore(t, target)
		big := bytes.Repeat([]byte("a"), attachments.MaxBytes+1)
		for _, c := range []struct {
			name, declared string
			data           []byte
			err            error
			words          string
		}{
			{"big.log", "text/plain", big, attachments.ErrTooLarge, "at most 5242880"},
			{"empty.txt", "text/plain", nil, attachments.ErrEmpty, "no content"},
			{"cat.png", "image/png", html, attachments.ErrType, "declared as image/png but its content is text/html"},
			{"cat.png", "image/png", []byte("just text"), attachments.ErrType, "declared as image/png but its content is text/plain"},
			{"page.txt", "text/plain", html, attachments.ErrType, "declared as text/plain but its content is text/html"},
			{"page.html", "text/html", html, attachments.ErrType, "accepted are text/plain, application/pdf"},
			{"page.html", "", html, attachments.ErrType, "is text/html"},
			{"doc.pdf", "application/pdf", png, attachments.ErrType, "its content is image/png"},
			{"x.json", "application/json", []byte("{not json"), attachments.ErrType, "not valid JSON"},
			{"x.bin", "no/such type", pdf, attachments.ErrType, "not a content type"},
			{"page.log", "text/x-log", html, attachments.ErrType, "accepted are text/plain"}, // HTML stays HTML
		} {
			if _, err := s.Put(ctx, "T-AAAA-BBBB", c.name, c.declared, c.data); !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.words) {
				t.Errorf("%s as %q: %v; want %v with %q", c.name, c.declared, err, c.err, c.words)
			}
		}
		// A browser sends a .log file as text/x-log: plain text bytes are
		// stored as text/plain (TKT-2).
		if got, err := attachments.Check("farm.log", "text/x-log", []byte("12:00 farm started\n")); err != nil || got != "text/plain" {
			t.Errorf("a log file as text/x-log: %q, %v; want text/plain", got, err)
		}
		if err := attachments.CheckCount(10); err != nil {
			t.Errorf("ten files: %v", err)
		}
		if err := attachments.CheckCount(11); !errors.Is(err, attachments.ErrTooMany) {
			t.Errorf("eleven files: %v", err)
		}
	})
}

// Rule X-7: a file name keeps its last path element only, and is taken as
// it is or refused; nothing in it is removed or replaced.
func TestSanitizeName_X7_refuses_rather_than_changes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300) + ".log"
	for in, want := range map[string]string{ // "" means refused
		"../../etc/passwd":       "passwd",
		`..\..\boot.ini`:         "boot.ini",
		"evil\u202Egnp.exe":      "",
		"line\nbreak\x00.txt":    "",
		"  ..  ":                 "",
		"":                       "attachment",
		"dir/":                   "attachment",
		"report (final).pdf":     "report (final).pdf",
		long:                     "",
		"bad\xffutf8.txt":        "",
		"\ufeffbom.txt":          "",
		"Überweisung März.pdf":   "Überweisung März.pdf",
		"a/b\\c/d.png":           "d.png",
		"tab\tname.txt":          "",
		"zero\u200bwidth.txt":    "",
		"rtl\u2067isolate\u2069": "",
		"🚀 launch \"plan\".txt":  "🚀 launch \"plan\".txt",
	} {
		got := attachments.SanitizeName(in)
		err := attachments.CheckName(got)
		switch {
		case want == "" && !errors.Is(err, attachments.ErrName):
			t.Errorf("%q: name %q accepted (%v), want ErrName", in, got, err)
		case want != "" && (err != nil || got != want):
			t.Errorf("%q: name %q, %v; want %q", in, got, err, want)
		}
	}
}
