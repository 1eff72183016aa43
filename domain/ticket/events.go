package ticket

import "seatledger/domain/event"

// Stable event type names of the ticket stream.
const (
	TypeOpened          = "ticket.opened"
	TypeReplied         = "ticket.replied"
	TypeStatusChanged   = "ticket.status_changed"
	TypeClosed          = "ticket.closed"
	TypeReopened        = "ticket.reopened"
	TypeSurveySubmitted = "ticket.survey_submitted"
	TypeWatcherAdded    = "ticket.watcher_added"
	TypeWatcherRemoved  = "ticket.watcher_removed"
	TypeAssigned        = "ticket.assigned"
)

// Opened: a member opened a ticket for a product, with a category, a
// description and the support channel they chose (rule TKT-1).
type Opened struct {
	TicketID    string   `json:"ticket_id"`
	AccountID   string   `json:"account_id"`
	Owner       string   `json:"owner"` // the person who opened it
	ProductID   string   `json:"product_id"`
	Category    Category `json:"category"`
	Subject     string   `json:"subject"`
	Description string   `json:"description"`
	Channel     Channel  `json:"channel"`
}

// Replied: support or a member replied, with attachments (rule TKT-2).
type Replied struct {
	ReplyID string `json:"reply_id"`
	// Author is a person ID, or SupportAuthor(agent) for support.
	Author      string       `json:"author"`
	FromSupport bool         `json:"from_support"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// StatusChanged: support moved the ticket (rule TKT-2), or a member's
// reply put a ticket awaiting the customer back to open. By is a person
// ID or SupportAuthor(agent).
type StatusChanged struct {
	Status Status `json:"status"`
	By     string `json:"by"`
}

// Closed: a member closed a current ticket (rule TKT-2).
type Closed struct {
	By string `json:"by"`
}

// Reopened: a member reopened a resolved ticket; it is open again (TKT-2).
type Reopened struct {
	By string `json:"by"`
}

// SurveySubmitted: a member rated a resolved ticket (rule TKT-2).
type SurveySubmitted struct {
	Rating   int    `json:"rating"` // 1 to 5
	Feedback string `json:"feedback,omitempty"`
	By       string `json:"by"`
}

// WatcherAdded: the owner made an account admin a watcher: they get the
// ticket's notifications too (rule TKT-3).
type WatcherAdded struct {
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// WatcherRemoved: the owner removed a watcher (rule TKT-3).
type WatcherRemoved struct {
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// Assigned: a support person of the back office took the ticket on (the
// staff console's "assign to me", issue 23). StaffID and Name are the
// staff person's ID and display name at the time; By is the actor's ID.
type Assigned struct {
	StaffID string `json:"staff_id"`
	Name    string `json:"name"`
	By      string `json:"by"`
}

// Register adds the ticket's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeOpened, 1, Opened{})
	reg.Register(TypeReplied, 1, Replied{})
	reg.Register(TypeStatusChanged, 1, StatusChanged{})
	reg.Register(TypeClosed, 1, Closed{})
	reg.Register(TypeReopened, 1, Reopened{})
	reg.Register(TypeSurveySubmitted, 1, SurveySubmitted{})
	reg.Register(TypeWatcherAdded, 1, WatcherAdded{})
	reg.Register(TypeWatcherRemoved, 1, WatcherRemoved{})
	reg.Register(TypeAssigned, 1, Assigned{})
}
