package ticket

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"seatledger/domain/account"
	"seatledger/domain/invalid"
	"seatledger/domain/text"
)

// Draft is what a member asks support (rule TKT-1): the ticket's account,
// owner and product, a category, an optional subject, the description,
// and the channel (email, phone, chat, or a call booked for CallAt).
type Draft struct {
	AccountID   string
	Owner       string
	ProductID   string
	Category    string
	Subject     string
	Description string
	Channel     string
	CallAt      *time.Time
}

// Open opens ticket id from d (rule TKT-1). knownProduct says whether the
// catalog has the product. Every problem with d is reported at once, in
// an *invalid.Error that matches ErrInvalid and names each field.
func (t Ticket) Open(id string, d Draft, knownProduct bool, now time.Time) ([]any, error) {
	if t.Exists() {
		return nil, fmt.Errorf("%w: ticket %s exists already", ErrInvalid, id)
	}
	var problems invalid.List
	if !ValidID(id) {
		problems.Add("ticket_id", "ticket ID %q is not valid", id)
	}
	if d.AccountID == "" {
		problems.Add("account_id", "account_id is required")
	}
	if d.Owner == "" || IsSupport(d.Owner) {
		problems.Add("", "a ticket is opened by a person")
	}
	switch {
	case d.ProductID == "":
		problems.Add("product_id", "product_id is required")
	case !knownProduct:
		problems.Add("product_id", "product %q is not in the catalog", d.ProductID)
	}
	category, err := ParseCategory(d.Category)
	if err != nil {
		problems.Add("category", "category %q is not one of %s", d.Category, names(categories, Category.String))
	}
	description, problem := checkText("description", d.Description, MaxTextLength)
	switch {
	case problem != "":
		problems.AddReason("description", problem)
	case strings.TrimSpace(description) == "":
		problems.Add("description", "description is required: describe the issue")
	}
	subject, problem := subjectOf(d.Subject, description)
	problems.AddReason("subject", problem)
	channel, field, problem := channelOf(d.Channel, d.CallAt, now)
	problems.AddReason(field, problem)
	if err := problems.Err(ErrInvalid); err != nil {
		return nil, err
	}
	return []any{Opened{TicketID: id, AccountID: d.AccountID, Owner: d.Owner, ProductID: d.ProductID, Category: category,
		Subject: subject, Description: description, Channel: channel}}, nil
}

// subjectOf returns the subject as given, checked, or by default the
// description's first line, shortened to MaxSubjectLength.
func subjectOf(given, description string) (string, string) {
	if given != "" {
		// rule X-7: one line of clean text, as given
		return given, text.Check("subject", given, text.Name, MaxSubjectLength)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(description), "\n")
	// A derived subject is one line of the description's words, without
	// the invisible characters free text may hold.
	first = strings.Join(strings.FieldsFunc(first, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || text.Check("", string(r), text.Name, 1) != ""
	}), " ")
	if utf8.RuneCountInString(first) > MaxSubjectLength {
		runes := []rune(first)
		first = strings.TrimSpace(string(runes[:MaxSubjectLength-1])) + "…"
	}
	return first, ""
}

// The request fields of the support channel.
const (
	fieldChannelKind   = "channel.kind"
	fieldChannelCallAt = "channel.call_at"
)

// channelOf checks the support channel: a call needs a time in the future
// (within MaxCallAhead); the other channels take none. A problem comes
// with the field it is about.
func channelOf(kind string, callAt *time.Time, now time.Time) (ch Channel, field, problem string) {
	k, err := ParseChannelKind(kind)
	if err != nil {
		return Channel{}, fieldChannelKind, fmt.Sprintf("channel %q is not one of %s", kind, names(channelKinds, ChannelKind.String))
	}
	if k != ChannelCall {
		if callAt != nil {
			return Channel{}, fieldChannelCallAt, "call_at is only for channel call"
		}
		return Channel{Kind: k}, "", ""
	}
	switch {
	case callAt == nil || callAt.IsZero():
		return Channel{}, fieldChannelCallAt, "a call needs call_at, the time support should call"
	case !callAt.After(now):
		return Channel{}, fieldChannelCallAt, fmt.Sprintf("call_at %s is not in the future", callAt.UTC().Format(time.RFC3339))
	case callAt.After(now.Add(MaxCallAhead)):
		return Channel{}, fieldChannelCallAt, "call_at must be within a year"
	}
	at := callAt.UTC()
	return Channel{Kind: k, CallAt: &at}, "", ""
}

// checkText checks that s is free text a read model can hold (rule X-7):
// valid UTF-8, no control characters but line breaks and tabs, at most
// max characters. It returns s as given (nothing trimmed), or a problem.
func checkText(field, s string, max int) (string, string) {
	if problem := text.Check(field, s, text.Free, max); problem != "" {
		return "", problem
	}
	return s, ""
}

// Reply adds a reply by author (rule TKT-2): support (fromSupport, author
// SupportAuthor(agent)) or a member. The attachments' bytes are stored
// already; the reply records their metadata. No reply goes to a closed
// ticket. A member's reply to a ticket awaiting the customer puts it back
// to open (choice: support has something to act on again).
func (t Ticket) Reply(replyID, author string, fromSupport bool, body string, attachments []Attachment) ([]any, error) {
	if !t.Exists() {
		return nil, ErrNotFound
	}
	if t.status == StatusClosed {
		return nil, fmt.Errorf("%w: the ticket is closed; open a new ticket instead", ErrStatus)
	}
	var problems invalid.List
	if replyID == "" || author == "" || fromSupport != IsSupport(author) {
		problems.Add("", "a reply needs an ID and an author")
	}
	body, problem := checkText("body", body, MaxTextLength)
	problems.AddReason("body", problem)
	if strings.TrimSpace(body) == "" && len(attachments) == 0 {
		problems.Add("body", "write a reply or attach a file")
	}
	t.checkAttachments(&problems, attachments)
	if err := problems.Err(ErrInvalid); err != nil {
		return nil, err
	}
	out := []any{Replied{ReplyID: replyID, Author: author, FromSupport: fromSupport, Body: body, Attachments: slices.Clone(attachments)}}
	if !fromSupport && t.status == StatusAwaitingCustomer {
		out = append(out, StatusChanged{Status: StatusOpen, By: author})
	}
	return out, nil
}

// checkAttachments adds the problems with a reply's attachments.
func (t Ticket) checkAttachments(problems *invalid.List, attachments []Attachment) {
	const field = "attachments"
	if len(attachments) > MaxAttachments {
		problems.Add(field, "a reply takes at most %d files, not %d", MaxAttachments, len(attachments))
		return
	}
	seen := map[string]bool{}
	for i, a := range attachments {
		sum, err := hex.DecodeString(a.SHA256)
		_, taken := t.attachments[a.AttachmentID]
		switch {
		case a.AttachmentID == "" || seen[a.AttachmentID] || taken:
			problems.Add(field, "attachment %d has no ID of its own", i+1)
		case text.Required("name", a.Name, text.Name, MaxAttachmentName) != "" || strings.ContainsAny(a.Name, `/\`):
			problems.Add(field, "attachment %d needs a file name of at most %d characters, without path or control characters", i+1, MaxAttachmentName)
		case text.Required("content type", a.ContentType, text.Identifier, 255) != "":
			problems.Add(field, "attachment %q has no content type", a.Name)
		case a.Size < 1 || a.Size > MaxAttachmentBytes:
			problems.Add(field, "attachment %q has %d bytes; a file has 1 to %d", a.Name, a.Size, MaxAttachmentBytes)
		case err != nil || len(sum) != 32 || a.SHA256 != strings.ToLower(a.SHA256):
			problems.Add(field, "attachment %q has no SHA-256", a.Name)
		}
		seen[a.AttachmentID] = true
	}
}

// ChangeStatus moves the ticket as support works on it (rule TKT-2):
// among open, in progress, awaiting the customer and resolved. Only the
// member closes a ticket, and a closed ticket stays closed.
func (t Ticket) ChangeStatus(status, by string) ([]any, error) {
	if !t.Exists() {
		return nil, ErrNotFound
	}
	st, err := ParseStatus(status)
	switch {
	case err != nil:
		return nil, invalid.New(ErrInvalid, "status", "status %q is not one of %s", status, names(statuses, Status.String))
	case st == StatusClosed:
		return nil, invalid.New(ErrInvalid, "status", "support moves a ticket among open, in_progress, awaiting_customer and resolved; only the member closes it")
	case t.status == StatusClosed:
		return nil, fmt.Errorf("%w: the ticket is closed", ErrStatus)
	case st == t.status:
		return nil, fmt.Errorf("%w: the ticket is %s already", ErrNoChange, st)
	}
	return []any{StatusChanged{Status: st, By: by}}, nil
}

// Assign assigns the ticket to staff person staffID, named name (issue
// 23: "assign to me"), by the actor by. A closed ticket is not worked on
// any more; assigning it to whom it is assigned already is ErrNoChange.
func (t Ticket) Assign(staffID, name, by string) ([]any, error) {
	switch {
	case !t.Exists():
		return nil, ErrNotFound
	case staffID == "":
		return nil, invalid.New(ErrInvalid, "staff_id", "staff_id is required")
	case t.status == StatusClosed:
		return nil, fmt.Errorf("%w: the ticket is closed", ErrStatus)
	case t.assignee == staffID:
		return nil, fmt.Errorf("%w: the ticket is assigned to %s already", ErrNoChange, name)
	}
	return []any{Assigned{StaffID: staffID, Name: name, By: by}}, nil
}

// Close closes a current ticket: open, in progress or awaiting the
// customer (rule TKT-2, "Close — current tickets").
func (t Ticket) Close(by string) ([]any, error) {
	switch {
	case !t.Exists():
		return nil, ErrNotFound
	case t.status == StatusClosed:
		return nil, fmt.Errorf("%w: the ticket is closed already", ErrNoChange)
	case !t.status.Current():
		return nil, fmt.Errorf("%w: the ticket is %s; only a current ticket (open, in_progress, awaiting_customer) can be closed", ErrStatus, t.status)
	}
	return []any{Closed{By: by}}, nil
}

// Reopen reopens a resolved ticket; it is open again (rule TKT-2,
// "Reopen — resolved tickets").
func (t Ticket) Reopen(by string) ([]any, error) {
	switch {
	case !t.Exists():
		return nil, ErrNotFound
	case t.status != StatusResolved:
		return nil, fmt.Errorf("%w: the ticket is %s; only a resolved ticket can be reopened", ErrStatus, t.status)
	}
	return []any{Reopened{By: by}}, nil
}

// SubmitSurvey records the member's rating (1 to 5) and feedback on a
// resolved ticket (rule TKT-2). Choice: once per ticket, even if it is
// reopened and resolved again — the survey rates the support case, and a
// second one would overwrite the first answer.
func (t Ticket) SubmitSurvey(rating int, feedback, by string) ([]any, error) {
	switch {
	case !t.Exists():
		return nil, ErrNotFound
	case t.status != StatusResolved:
		return nil, fmt.Errorf("%w: the ticket is %s; the survey is filled on a resolved ticket", ErrStatus, t.status)
	case t.surveyed:
		return nil, fmt.Errorf("%w: the survey of this ticket was submitted already", ErrNoChange)
	}
	var problems invalid.List
	if rating < 1 || rating > 5 {
		problems.Add("rating", "rating must be from 1 to 5, not %d", rating)
	}
	feedback, problem := checkText("feedback", feedback, MaxFeedbackLength)
	problems.AddReason("feedback", problem)
	if err := problems.Err(ErrInvalid); err != nil {
		return nil, err
	}
	return []any{SurveySubmitted{Rating: rating, Feedback: feedback, By: by}}, nil
}

// AddWatcher makes person a watcher (rule TKT-3): they must be an
// unblocked admin of acct, the ticket's account as of its latest events.
// Choice: watchers can be added whatever the status; a closed ticket
// simply tells nobody anything more.
func (t Ticket) AddWatcher(acct account.Account, person, by string) ([]any, error) {
	if !t.Exists() {
		return nil, ErrNotFound
	}
	if person == "" {
		return nil, invalid.New(ErrInvalid, "person_id", "person_id is required")
	}
	if person == t.owner {
		return nil, invalid.New(ErrInvalid, "person_id", "the owner gets the ticket's notifications already")
	}
	m, ok := acct.Member(person)
	if acct.ID() != t.accountID || !ok || m.Role != account.RoleAdmin || m.Blocked {
		return nil, fmt.Errorf("%w: %s is not an admin of this business account", ErrNotAdmin, person)
	}
	if t.watchers[person] {
		return nil, fmt.Errorf("%w: %s watches the ticket already", ErrNoChange, person)
	}
	return []any{WatcherAdded{PersonID: person, By: by}}, nil
}

// RemoveWatcher stops person watching the ticket (rule TKT-3).
func (t Ticket) RemoveWatcher(person, by string) ([]any, error) {
	switch {
	case !t.Exists():
		return nil, ErrNotFound
	case !t.watchers[person]:
		return nil, fmt.Errorf("%w: %s does not watch the ticket", ErrNoChange, person)
	}
	return []any{WatcherRemoved{PersonID: person, By: by}}, nil
}
