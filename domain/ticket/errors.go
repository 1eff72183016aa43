package ticket

import "errors"

// The ticket's domain errors. The HTTP layer maps each to a problem type.
// Refusals for lack of rights are account.ErrForbidden, as everywhere.
var (
	// ErrInvalid: the request is not valid (a missing description, an
	// unknown category, a call in the past …); the message says what.
	ErrInvalid = errors.New("ticket: invalid request")
	// ErrNotFound: no such ticket. Only the back office, which sees
	// every ticket, is told; people get account.ErrForbidden.
	ErrNotFound = errors.New("ticket: no such ticket")
	// ErrStatus: the action is not possible in the ticket's status; the
	// message names the status (rule TKT-2).
	ErrStatus = errors.New("ticket: not possible in the ticket's status")
	// ErrNoChange: the ticket is in the asked state already.
	ErrNoChange = errors.New("ticket: nothing to change")
	// ErrNotAdmin: a watcher must be an unblocked admin of the ticket's
	// business account (rule TKT-3).
	ErrNotAdmin = errors.New("ticket: a watcher must be an account admin")
)
