package staff

import (
	"errors"
	"fmt"

	"seatledger/domain/invalid"
)

// The roster's domain errors. The HTTP layer maps each to a problem type.
var (
	// ErrInvalid: a field of a command is not valid; the error names it.
	ErrInvalid = errors.New("staff: invalid details")
	// ErrForbidden: the actor may not do this in the back office.
	ErrForbidden = errors.New("staff: not allowed")
	// ErrNotFound: no such staff person or service account.
	ErrNotFound = errors.New("staff: no such staff person or service account")
	// ErrEmailTaken: a staff person already has this address.
	ErrEmailTaken = errors.New("staff: a staff person already has this email address")
	// ErrLastOwner: the change would leave the back office without an
	// owner.
	ErrLastOwner = errors.New("staff: the last owner cannot be removed or given another role")
	// ErrNoChange: the command asks for the state the roster is in.
	ErrNoChange = errors.New("staff: nothing to change")
	// ErrBadCredentials: an email, password, second factor, enrolment
	// token or bearer token that does not sign anybody in. It never says
	// which part was wrong.
	ErrBadCredentials = errors.New("staff: the credentials are not valid")
	// ErrEnrolled: the enrolment link was used already.
	ErrEnrolled = errors.New("staff: enrolment is complete; sign in")
)

func invalidf(field, format string, args ...any) error {
	return invalid.New(ErrInvalid, field, format, args...)
}

func forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, args...))
}
