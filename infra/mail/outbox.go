package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Message is a mail as its recipient reads it: the header, the subject
// decoded (RFC 2047) and the plain-text body decoded from its transfer
// encoding, with \n line ends.
type Message struct {
	Header  netmail.Header
	Subject string
	Body    string
}

// Decode reads a message the ledger wrote (as sent, or as a .eml file):
// UTF-8 plain text in 7bit, 8bit, quoted-printable or base64.
func Decode(raw []byte) (Message, error) {
	var m Message
	parsed, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, fmt.Errorf("parse message: %w", err)
	}
	m.Header = parsed.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("decode subject: %w", err)
	}
	if ct := parsed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
		return m, fmt.Errorf("Content-Type %q is not UTF-8 plain text", ct)
	}
	var body io.Reader = parsed.Body
	switch cte := strings.ToLower(parsed.Header.Get("Content-Transfer-Encoding")); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(parsed.Body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineSkipper{parsed.Body})
	case "", "7bit", "8bit":
	default:
		return m, fmt.Errorf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return m, fmt.Errorf("read body: %w", err)
	}
	m.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	return m, nil
}

// newlineSkipper drops the line breaks of base64 text.
type newlineSkipper struct{ r io.Reader }

func (n newlineSkipper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	out := p[:0]
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return len(out), err
}

// linkPattern finds the links of a body: the ledger writes each on a line
// of its own.
var linkPattern = regexp.MustCompile(`https?://\S+`)

// Links returns the links in the body, in order.
func (m Message) Links() []string { return linkPattern.FindAllString(m.Body, -1) }

// OutboxMail is one mail of the local outbox: a .eml file the ledger wrote
// to its mail directory when no SMTP server is set.
type OutboxMail struct {
	Message
	// ID is the file's short ID (from the Message-ID), Path its file.
	ID, Path string
	// Date is the mail's date (ledger time), To its recipient and
	// Template the template it was rendered from.
	Date     time.Time
	To       string
	Template string
}

// ErrNoOutbox is matched by ReadOutbox's error when dir does not exist.
var ErrNoOutbox = errors.New("no mail folder")

// ReadOutbox reads every mail of the outbox in dir, oldest first.
func ReadOutbox(dir string) ([]OutboxMail, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err == nil && len(names) == 0 {
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoOutbox, dir)
		}
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // the names start with the date
	out := make([]OutboxMail, 0, len(names))
	for _, name := range names {
		m, err := ReadOutboxMail(name)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ReadOutboxMail reads the mail in the .eml file at path, decoded.
func ReadOutboxMail(path string) (OutboxMail, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return OutboxMail{}, err
	}
	msg, err := Decode(raw)
	if err != nil {
		return OutboxMail{}, fmt.Errorf("%s: %w", path, err)
	}
	m := OutboxMail{Message: msg, Path: path, Template: msg.Header.Get(string(headerTemplate))}
	base := strings.TrimSuffix(filepath.Base(path), ".eml")
	m.ID = base[strings.LastIndexByte(base, '-')+1:]
	m.Date, _ = msg.Header.Date()
	m.To = msg.Header.Get("To")
	if to, err := msg.Header.AddressList("To"); err == nil && len(to) == 1 {
		m.To = to[0].Address
	}
	return m, nil
}
