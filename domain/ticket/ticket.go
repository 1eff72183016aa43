// Package ticket is the support-ticket aggregate (rules TKT-1..4): a
// member opens a ticket for a product with a category, a description and
// a support channel; support and the member reply (with attachments);
// support moves its status; the member closes, reopens and rates it; the
// owner chooses which of the account's admins watch it.
//
// Like every aggregate it is a value folded from its stream (Evolve), and
// its methods decide: given a command and the time, they return new
// events or a domain error, and never change the ticket. Who may do what
// is answered by Authorize, from the ticket and its business account's
// events (TKT-3, X-5).
package ticket

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Limits of a ticket's fields (choices: generous for a support request,
// small enough that a page of them stays small).
const (
	// MaxSubjectLength bounds the subject, in characters.
	MaxSubjectLength = 120
	// MaxTextLength bounds a description and a reply's body, in characters.
	MaxTextLength = 10_000
	// MaxFeedbackLength bounds a survey's feedback, in characters.
	MaxFeedbackLength = 5_000
	// MaxAttachments bounds the files of one reply.
	MaxAttachments = 10
	// MaxAttachmentBytes bounds one attached file (5 MiB).
	MaxAttachmentBytes = 5 << 20
	// MaxAttachmentName bounds an attachment's file name, in characters.
	MaxAttachmentName = 200
	// MaxCallAhead bounds how far ahead a call can be booked.
	MaxCallAhead = 365 * 24 * time.Hour
)

// Status is where a ticket stands (rule TKT-2). It is a closed set.
type Status struct{ s string }

// The statuses. Open, in progress and awaiting the customer are
// "current"; resolved and closed are not.
var (
	StatusOpen             = Status{"open"}
	StatusInProgress       = Status{"in_progress"}
	StatusAwaitingCustomer = Status{"awaiting_customer"}
	StatusResolved         = Status{"resolved"}
	StatusClosed           = Status{"closed"}
)

var statuses = []Status{StatusOpen, StatusInProgress, StatusAwaitingCustomer, StatusResolved, StatusClosed}

// Statuses returns every status, in the order a ticket usually passes them.
func Statuses() []Status { return slices.Clone(statuses) }

// String returns the status's stable name.
func (s Status) String() string { return s.s }

// IsZero reports whether s is the invalid zero status.
func (s Status) IsZero() bool { return s.s == "" }

// Current reports whether the ticket is still being worked on: open, in
// progress or awaiting the customer (rule TKT-4, "current tickets").
func (s Status) Current() bool {
	return s == StatusOpen || s == StatusInProgress || s == StatusAwaitingCustomer
}

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) {
	for _, st := range statuses {
		if st.s == s {
			return st, nil
		}
	}
	return Status{}, fmt.Errorf("%w: unknown status %q (use %s)", ErrInvalid, s, names(statuses, Status.String))
}

// MarshalText encodes the status's stable name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.s), nil }

// UnmarshalText decodes a stable name.
func (s *Status) UnmarshalText(b []byte) error {
	parsed, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = parsed
	return nil
}

// Category is what a ticket is about (rule TKT-1): a fixed list, so that
// support can route tickets.
type Category struct{ s string }

// The categories.
var (
	CategoryLicensing    = Category{"licensing"}
	CategoryInstallation = Category{"installation"}
	CategoryActivation   = Category{"activation"}
	CategoryTechnical    = Category{"technical"}
	CategoryBilling      = Category{"billing"}
	CategoryOther        = Category{"other"}
)

var categories = []Category{CategoryLicensing, CategoryInstallation, CategoryActivation, CategoryTechnical, CategoryBilling, CategoryOther}

// Categories returns every category.
func Categories() []Category { return slices.Clone(categories) }

// String returns the category's stable name.
func (c Category) String() string { return c.s }

// ParseCategory returns the category named s; an unknown name is an
// error that names the allowed ones.
func ParseCategory(s string) (Category, error) {
	for _, c := range categories {
		if c.s == s {
			return c, nil
		}
	}
	return Category{}, fmt.Errorf("%w: unknown category %q (use %s)", ErrInvalid, s, names(categories, Category.String))
}

// MarshalText encodes the category's stable name.
func (c Category) MarshalText() ([]byte, error) { return []byte(c.s), nil }

// UnmarshalText decodes a stable name.
func (c *Category) UnmarshalText(b []byte) error {
	parsed, err := ParseCategory(string(b))
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// ChannelKind is how the member wants to talk to support (rule TKT-1).
type ChannelKind struct{ s string }

// The support channels. A call is booked for a time.
var (
	ChannelEmail = ChannelKind{"email"}
	ChannelPhone = ChannelKind{"phone"}
	ChannelChat  = ChannelKind{"chat"}
	ChannelCall  = ChannelKind{"call"}
)

var channelKinds = []ChannelKind{ChannelEmail, ChannelPhone, ChannelChat, ChannelCall}

// String returns the channel's stable name.
func (k ChannelKind) String() string { return k.s }

// ParseChannelKind returns the channel named s.
func ParseChannelKind(s string) (ChannelKind, error) {
	for _, k := range channelKinds {
		if k.s == s {
			return k, nil
		}
	}
	return ChannelKind{}, fmt.Errorf("%w: unknown channel %q (use %s)", ErrInvalid, s, names(channelKinds, ChannelKind.String))
}

// MarshalText encodes the channel's stable name.
func (k ChannelKind) MarshalText() ([]byte, error) { return []byte(k.s), nil }

// UnmarshalText decodes a stable name.
func (k *ChannelKind) UnmarshalText(b []byte) error {
	parsed, err := ParseChannelKind(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Channel is the support channel a ticket was opened for, with the booked
// time of a call.
type Channel struct {
	Kind ChannelKind `json:"kind"`
	// CallAt is when support calls; set for ChannelCall only.
	CallAt *time.Time `json:"call_at,omitempty"`
}

// Attachment is a file attached to a reply, as the ledger records it: its
// metadata and checksum. The bytes are kept outside the event log
// (infra/attachments), written before the event that references them.
type Attachment struct {
	AttachmentID string `json:"attachment_id"`
	Name         string `json:"name"`
	ContentType  string `json:"content_type"`
	Size         int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the bytes.
	SHA256 string `json:"sha256"`
}

// supportPrefix marks an author or actor that is a support agent, not a
// person: "support:<agent>".
const supportPrefix = "support:"

// SupportAuthor returns how support agent agent signs replies and status
// changes.
func SupportAuthor(agent string) string { return supportPrefix + agent }

// IsSupport reports whether by (an author or the By of an event) is a
// support agent rather than a person.
func IsSupport(by string) bool { return strings.HasPrefix(by, supportPrefix) }

// Ticket is a support ticket as of the events folded into it. The zero
// value is a ticket that does not exist yet.
type Ticket struct {
	id, accountID, owner, productID string
	category                        Category
	subject                         string
	status                          Status
	channel                         Channel
	openedAt                        time.Time
	watchers                        map[string]bool
	attachments                     map[string]Attachment
	replies                         int
	surveyed                        bool
	assignee                        string // the staff ID support assigned it to
	version                         uint64
}

// StreamID returns the event stream of ticket id.
func StreamID(id string) string { return "ticket-" + id }

// Clone returns a copy that shares nothing with t (see account.Clone).
func (t Ticket) Clone() Ticket {
	t.watchers = maps.Clone(t.watchers)
	t.attachments = maps.Clone(t.attachments)
	return t
}

// ID returns the ticket's ID ("" before it is opened).
func (t Ticket) ID() string { return t.id }

// Exists reports whether the ticket was opened.
func (t Ticket) Exists() bool { return t.id != "" }

// AccountID returns the business (or personal) account the ticket belongs to.
func (t Ticket) AccountID() string { return t.accountID }

// Owner returns the person who opened the ticket.
func (t Ticket) Owner() string { return t.owner }

// ProductID returns the product the ticket is about.
func (t Ticket) ProductID() string { return t.productID }

// Category returns the ticket's category.
func (t Ticket) Category() Category { return t.category }

// Subject returns the ticket's subject.
func (t Ticket) Subject() string { return t.subject }

// Status returns the ticket's status.
func (t Ticket) Status() Status { return t.status }

// Channel returns the support channel chosen when it was opened.
func (t Ticket) Channel() Channel { return t.channel }

// OpenedAt returns when the ticket was opened.
func (t Ticket) OpenedAt() time.Time { return t.openedAt }

// Replies returns how many replies the ticket has.
func (t Ticket) Replies() int { return t.replies }

// Surveyed reports whether the member has filled the survey.
func (t Ticket) Surveyed() bool { return t.surveyed }

// Assignee is the staff person the ticket is assigned to ("" for none).
func (t Ticket) Assignee() string { return t.assignee }

// Version returns how many events were folded.
func (t Ticket) Version() uint64 { return t.version }

// IsWatcher reports whether person watches the ticket (rule TKT-3).
func (t Ticket) IsWatcher(person string) bool { return t.watchers[person] }

// Watchers returns the watchers' person IDs, sorted.
func (t Ticket) Watchers() []string {
	return slices.Sorted(maps.Keys(t.watchers))
}

// Attachment returns the attachment id of one of the ticket's replies.
// Only attachments an event references exist for the ticket.
func (t Ticket) Attachment(id string) (Attachment, bool) {
	a, ok := t.attachments[id]
	return a, ok
}

// idAlphabet is Crockford's base 32: digits and upper-case letters
// without I, L, O and U, so that an ID read out on the phone or typed
// from a mail is not mistaken.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// FormatID returns the ticket ID that random (8 bytes from a secure
// source) makes: "T-" and two groups of four symbols, such as
// T-7K2M-QX9P (40 random bits). The command draws the bytes.
func FormatID(random [8]byte) string {
	var b strings.Builder
	b.WriteString("T-")
	for i, r := range random {
		if i == 4 {
			b.WriteByte('-')
		}
		b.WriteByte(idAlphabet[r&31]) // 32 divides 256: no bias
	}
	return b.String()
}

// ValidID reports whether id is a ticket ID in canonical form (see
// FormatID and NormalizeID).
func ValidID(id string) bool {
	if len(id) != 11 || id[:2] != "T-" || id[6] != '-' {
		return false
	}
	for i := 2; i < len(id); i++ {
		if i == 6 {
			continue
		}
		if strings.IndexByte(idAlphabet, id[i]) < 0 {
			return false
		}
	}
	return true
}

// NormalizeID returns the canonical form of a ticket ID as a person may
// type it: surrounding space trimmed, upper case, and Crockford's
// look-alikes read as digits (O as 0, I and L as 1). The result may still
// not be ValidID.
func NormalizeID(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) < 2 {
		return s
	}
	return s[:2] + strings.NewReplacer("O", "0", "I", "1", "L", "1").Replace(s[2:])
}

// names joins the stable names of values for an error message.
func names[T any](values []T, name func(T) string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = name(v)
	}
	return strings.Join(out, ", ")
}
