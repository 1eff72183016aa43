package ticket

import "time"

// Evolve returns the ticket with one more recorded event applied: the
// decoded payload, effective at at. It does not validate; the events are
// facts. Like account.Evolve it writes into the maps the value shares:
// fold into a value only you hold (the zero Ticket or a Clone).
func (t Ticket) Evolve(payload any, at time.Time) Ticket {
	if t.watchers == nil {
		t.watchers = map[string]bool{}
	}
	if t.attachments == nil {
		t.attachments = map[string]Attachment{}
	}
	switch e := payload.(type) {
	case Opened:
		t.id, t.accountID, t.owner, t.productID = e.TicketID, e.AccountID, e.Owner, e.ProductID
		t.category, t.subject, t.channel = e.Category, e.Subject, e.Channel
		t.status, t.openedAt = StatusOpen, at
	case Replied:
		t.replies++
		for _, a := range e.Attachments {
			t.attachments[a.AttachmentID] = a
		}
	case StatusChanged:
		t.status = e.Status
	case Closed:
		t.status = StatusClosed
	case Reopened:
		t.status = StatusOpen
	case SurveySubmitted:
		t.surveyed = true
	case WatcherAdded:
		t.watchers[e.PersonID] = true
	case WatcherRemoved:
		delete(t.watchers, e.PersonID)
	case Assigned:
		t.assignee = e.StaffID
	}
	t.version++
	return t
}
