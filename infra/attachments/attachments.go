// Package attachments keeps the files attached to support-ticket replies
// (rule TKT-2) in the SQL read store (table ticket_attachments: BLOB on
// SQLite, BYTEA on PostgreSQL), out of the event log, which records only
// their metadata and SHA-256 (ticket.Attachment).
//
// A file is stored before the reply's event that references it; a file
// no event references (the reply failed or was refused) is harmless: it
// is never served, because downloads are checked against the ticket's
// events (ticket.Ticket.Attachment).
//
// Put refuses what a portal should never hand back to another person's
// browser: files over MaxBytes, types outside AllowedTypes, and files
// whose declared type disagrees with what their bytes are (an HTML page
// declared as image/png is refused, not stored).
package attachments

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"seatledger/domain/text"

	"github.com/google/uuid"

	"seatledger/domain/ticket"
	"seatledger/infra/sqldb"
)

// Limits of attachments (rule TKT-2; choices: enough for logs and
// screenshots, small enough to keep in the database).
const (
	// MaxBytes bounds one file (5 MiB).
	MaxBytes = ticket.MaxAttachmentBytes
	// MaxFiles bounds the files of one reply.
	MaxFiles = ticket.MaxAttachments
	// MaxNameLength bounds a file name, in characters; longer names are
	// shortened, keeping the extension.
	MaxNameLength = ticket.MaxAttachmentName
)

// AllowedTypes are the content types an attachment may have.
var AllowedTypes = []string{
	"text/plain", "application/pdf", "image/png", "image/jpeg", "image/gif", "application/zip", "application/json",
}

// The store's errors. Each message says what to fix.
var (
	// ErrTooLarge: a file is larger than MaxBytes.
	ErrTooLarge = errors.New("attachments: file too large")
	// ErrTooMany: a reply has more than MaxFiles files.
	ErrTooMany = errors.New("attachments: too many files")
	// ErrType: the file's type is not allowed, or its declared type
	// disagrees with its content.
	ErrType = errors.New("attachments: file type not accepted")
	// ErrName: the file's name is not clean text (rule X-7).
	ErrName = errors.New("attachments: file name not accepted")
	// ErrEmpty: the file has no bytes.
	ErrEmpty = errors.New("attachments: file is empty")
	// ErrNotFound: no such attachment of that ticket.
	ErrNotFound = errors.New("attachments: no such attachment")
	// ErrUnavailable: the server has no store for attachments.
	ErrUnavailable = errors.New("attachments: files cannot be stored on this server; reply without files")
	// ErrRead: a file could not be read from its upload.
	ErrRead = errors.New("attachments: the file could not be read")
)

// Clock tells the ledger's time.
type Clock interface{ Now() time.Time }

// Store keeps attachments in a SQL database.
type Store struct {
	db    *sqldb.DB
	clock Clock
}

// New returns a Store over db, stamping files with clock's time.
func New(db *sqldb.DB, clock Clock) *Store {
	return &Store{db: db, clock: clock}
}

// CheckCount refuses a reply with more than MaxFiles files (ErrTooMany).
func CheckCount(n int) error {
	if n > MaxFiles {
		return fmt.Errorf("%w: a reply takes at most %d files, not %d", ErrTooMany, MaxFiles, n)
	}
	return nil
}

// Upload gathers the files of one reply as they arrive, for both edges:
// each is checked and stored before the next is read, so that at most one
// file (MaxBytes) is held in memory, and the files are stored before the
// reply's event that references them. If the reply fails, Discard removes
// them again.
type Upload struct {
	store    *Store
	ticketID string
	files    []ticket.Attachment
}

// Upload starts the files of a reply to ticket ticketID. A nil store
// refuses every file with ErrUnavailable.
func (s *Store) Upload(ticketID string) *Upload { return &Upload{store: s, ticketID: ticketID} }

// Add reads one file from r, at most MaxBytes, checks it and stores it.
// Errors: ErrTooMany, ErrUnavailable, ErrRead (wrapping the reader's
// error), and Put's.
func (u *Upload) Add(ctx context.Context, name, declaredType string, r io.Reader) error {
	if err := CheckCount(len(u.files) + 1); err != nil {
		return err
	}
	if u.store == nil {
		return ErrUnavailable
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRead, err)
	}
	if len(data) > MaxBytes {
		return fmt.Errorf("%w: %q is larger than %d bytes (5 MiB)", ErrTooLarge, SanitizeName(name), MaxBytes)
	}
	a, err := u.store.Put(ctx, u.ticketID, name, declaredType, data)
	if err != nil {
		return err
	}
	u.files = append(u.files, a)
	return nil
}

// Files are the files stored so far, never nil.
func (u *Upload) Files() []ticket.Attachment {
	if u.files == nil {
		return []ticket.Attachment{}
	}
	return u.files
}

// Discard removes the files of a reply that failed. It runs on a context
// of its own (the request's may be what failed). A file left behind is
// harmless: no event references it, so it is never served.
func (u *Upload) Discard(ctx context.Context) error {
	if len(u.files) == 0 {
		return nil
	}
	ids := make([]string, len(u.files))
	for i, a := range u.files {
		ids[i] = a.AttachmentID
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return u.store.Delete(ctx, u.ticketID, ids...)
}

// Put checks a file and stores it for ticket ticketID under a new ID, and
// returns its metadata for the reply's event. name is sanitized (see
// SanitizeName). declaredType is the type the client sent; empty or
// application/octet-stream means "unknown", and the type is then taken
// from the content. Errors: ErrEmpty, ErrTooLarge, ErrType.
func (s *Store) Put(ctx context.Context, ticketID, name, declaredType string, data []byte) (ticket.Attachment, error) {
	name = SanitizeName(name)
	contentType, err := Check(name, declaredType, data)
	if err != nil {
		return ticket.Attachment{}, err
	}
	sum := sha256.Sum256(data)
	a := ticket.Attachment{AttachmentID: uuid.Must(uuid.NewV7()).String(), Name: name, ContentType: contentType,
		Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO ticket_attachments
		(ticket_id, attachment_id, name, content_type, size, sha256, data, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		ticketID, a.AttachmentID, a.Name, a.ContentType, a.Size, a.SHA256, data, s.clock.Now().UnixMicro())
	if err != nil {
		return ticket.Attachment{}, fmt.Errorf("attachments: store %q of ticket %s: %w", name, ticketID, err)
	}
	return a, nil
}

// Delete removes attachments of ticket ticketID that no event references
// (the files of a reply that failed). Unknown IDs are ignored.
func (s *Store) Delete(ctx context.Context, ticketID string, attachmentIDs ...string) error {
	for _, id := range attachmentIDs {
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM ticket_attachments WHERE ticket_id = ? AND attachment_id = ?`), ticketID, id); err != nil {
			return fmt.Errorf("attachments: remove %s of ticket %s: %w", id, ticketID, err)
		}
	}
	return nil
}

// Get returns attachment attachmentID of ticket ticketID with its bytes;
// ErrNotFound if there is none. The bytes are checked against the stored
// SHA-256.
func (s *Store) Get(ctx context.Context, ticketID, attachmentID string) (ticket.Attachment, []byte, error) {
	a := ticket.Attachment{AttachmentID: attachmentID}
	var data []byte
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT name, content_type, size, sha256, data FROM ticket_attachments
		WHERE ticket_id = ? AND attachment_id = ?`), ticketID, attachmentID).Scan(&a.Name, &a.ContentType, &a.Size, &a.SHA256, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return ticket.Attachment{}, nil, ErrNotFound
	}
	if err != nil {
		return ticket.Attachment{}, nil, fmt.Errorf("attachments: read %s of ticket %s: %w", attachmentID, ticketID, err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.SHA256 {
		return ticket.Attachment{}, nil, fmt.Errorf("attachments: %s of ticket %s does not match its SHA-256", attachmentID, ticketID)
	}
	return a, data, nil
}

// Check checks a file before it is stored and returns its content type:
// not empty, at most MaxBytes, an allowed type, and a declared type that
// agrees with http.DetectContentType of the bytes (a JSON file must also
// parse), and a clean name (CheckName). Parameters of the declared type
// (charset=…) are ignored.
func Check(name, declaredType string, data []byte) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	switch {
	case len(data) == 0:
		return "", fmt.Errorf("%w: %q has no content", ErrEmpty, name)
	case len(data) > MaxBytes:
		return "", fmt.Errorf("%w: %q has %d bytes; a file may have at most %d (5 MiB)", ErrTooLarge, name, len(data), MaxBytes)
	}
	detected, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	declared := strings.ToLower(strings.TrimSpace(declaredType))
	if declared != "" {
		mt, _, err := mime.ParseMediaType(declared)
		if err != nil {
			return "", fmt.Errorf("%w: %q is declared as %q, which is not a content type", ErrType, name, declaredType)
		}
		declared = mt
	}
	switch {
	case declared == "" || declared == "application/octet-stream":
		// The client did not say: take what the bytes are, if allowed.
		declared = detected
	case strings.HasPrefix(declared, "text/") && !slices.Contains(AllowedTypes, declared) && detected == "text/plain":
		// A text type of the client's own (browsers send a .log file as
		// text/x-log) whose bytes are plain text is plain text.
		declared = detected
	}
	if !slices.Contains(AllowedTypes, declared) {
		return "", fmt.Errorf("%w: %q is %s; accepted are %s", ErrType, name, declared, strings.Join(AllowedTypes, ", "))
	}
	if !agrees(declared, detected) {
		return "", fmt.Errorf("%w: %q is declared as %s but its content is %s", ErrType, name, declared, detected)
	}
	if declared == "application/json" && !json.Valid(data) {
		return "", fmt.Errorf("%w: %q is declared as application/json but is not valid JSON", ErrType, name)
	}
	return declared, nil
}

// agrees reports whether content sniffed as detected may be declared as
// declared. http.DetectContentType knows no JSON: JSON is text.
func agrees(declared, detected string) bool {
	switch declared {
	case "application/json":
		return detected == "text/plain"
	}
	return declared == detected
}

// SanitizeName returns the part of a client's file name that names the
// file: the last element of any path (either slash; browsers on Windows
// used to send one), or "attachment" when that is empty or a dot. The
// rest of the name is kept as it is: CheckName refuses what cannot be
// stored or shown (rule X-7), rather than changing it silently.
func SanitizeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "" || name == "." || name == ".." {
		return "attachment"
	}
	return name
}

// CheckName refuses a file name that is not one line of clean, visible
// text of at most MaxNameLength characters (rule X-7): invalid UTF-8,
// control characters, and invisible ones such as a right-to-left
// override, which would make "invoice\u202Efdp.exe" show as
// "invoiceexe.pdf". The error matches ErrName.
func CheckName(name string) error {
	if reason := text.Check("the file name", name, text.Name, MaxNameLength); reason != "" {
		return fmt.Errorf("%w: %s; rename the file", ErrName, strings.ToValidUTF8(reason, "?"))
	}
	return nil
}
