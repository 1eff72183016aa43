package staff

import (
	"time"

	"seatledger/domain/event"
)

// Stable event type names of the roster's stream.
const (
	TypeAdded                 = "staff.added"
	TypeEnrolled              = "staff.enrolled"
	TypeRoleChanged           = "staff.role_changed"
	TypeRemoved               = "staff.removed"
	TypeSignedIn              = "staff.signed_in"
	TypeSignedOut             = "staff.signed_out"
	TypeRecoveryCodeUsed      = "staff.recovery_code_used"
	TypeServiceAccountCreated = "staff.service_account_created"
	TypeServiceAccountRotated = "staff.service_account_rotated"
	TypeServiceAccountRevoked = "staff.service_account_revoked"
	TypeEnrolmentStarted      = "staff.enrolment_started"
	TypeEnrolmentConfirmed    = "staff.enrolment_confirmed"
	TypeEnrolmentReissued     = "staff.enrolment_reissued"
	TypeTOTPReset             = "staff.totp_reset"
)

// Register adds the roster's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeAdded, 1, Added{})
	reg.Register(TypeEnrolled, 1, Enrolled{})
	reg.Register(TypeRoleChanged, 1, RoleChanged{})
	reg.Register(TypeRemoved, 1, Removed{})
	reg.Register(TypeSignedIn, 1, SignedIn{})
	reg.Register(TypeSignedOut, 1, SignedOut{})
	reg.Register(TypeRecoveryCodeUsed, 1, RecoveryCodeUsed{})
	reg.Register(TypeServiceAccountCreated, 1, ServiceAccountCreated{})
	reg.Register(TypeServiceAccountRotated, 1, ServiceAccountRotated{})
	reg.Register(TypeServiceAccountRevoked, 1, ServiceAccountRevoked{})
	reg.Register(TypeEnrolmentStarted, 1, EnrolmentStarted{})
	reg.Register(TypeEnrolmentConfirmed, 1, EnrolmentConfirmed{})
	reg.Register(TypeEnrolmentReissued, 1, EnrolmentReissued{})
	reg.Register(TypeTOTPReset, 1, TOTPReset{})
}

// Added: a staff person joined the back office with a role; they enrol
// with the one-time token whose hash is recorded.
type Added struct {
	StaffID       string `json:"staff_id"`
	Email         string `json:"email"`
	DisplayName   string `json:"display_name"`
	Role          Role   `json:"role"`
	EnrolmentHash []byte `json:"enrolment_hash"`
}

// Enrolled: the staff person set their password and received their TOTP
// secret and recovery codes, in one step. Recorded by the first
// enrolments only: enrolment is two steps now (EnrolmentStarted, then
// EnrolmentConfirmed with the authenticator's first code); the roster
// still applies it. The TOTP secret is not recorded: it is
// derived from TOTPNonce with the server's key, so that reading the log
// reveals no second factor; the recovery codes are stored hashed.
type Enrolled struct {
	StaffID        string   `json:"staff_id"`
	PasswordHash   string   `json:"password_hash"`
	TOTPNonce      string   `json:"totp_nonce"`
	RecoveryHashes [][]byte `json:"recovery_hashes"`
}

// RoleChanged: an owner gave a staff person another role.
type RoleChanged struct {
	StaffID string `json:"staff_id"`
	Role    Role   `json:"role"`
}

// Removed: a staff person left the back office; their sessions end.
type Removed struct {
	StaffID string `json:"staff_id"`
}

// SignedIn: a staff person signed in with their password and a second
// factor, opening a session whose token's hash is recorded. TOTPStep is
// the RFC 6238 time step of the code used (a code is good once), or 0
// when a recovery code was used instead.
type SignedIn struct {
	StaffID     string    `json:"staff_id"`
	SessionHash []byte    `json:"session_hash"`
	ExpiresAt   time.Time `json:"expires_at"`
	TOTPStep    int64     `json:"totp_step,omitempty"`
	SignedInAt  time.Time `json:"signed_in_at"`
}

// SignedOut: a staff session ended before it expired.
type SignedOut struct {
	StaffID     string `json:"staff_id"`
	SessionHash []byte `json:"session_hash"`
}

// RecoveryCodeUsed: a recovery code stood in for the TOTP code; it is
// good only once.
type RecoveryCodeUsed struct {
	StaffID string `json:"staff_id"`
	Index   int    `json:"index"`
}

// ServiceAccountCreated: a machine of the vendor (the order system) got a
// named credential, stored hashed.
type ServiceAccountCreated struct {
	ServiceID  string `json:"service_id"`
	Name       string `json:"name"`
	SecretHash []byte `json:"secret_hash"`
}

// ServiceAccountRotated: the service account's credential was replaced;
// the old one stops working at once.
type ServiceAccountRotated struct {
	ServiceID  string `json:"service_id"`
	SecretHash []byte `json:"secret_hash"`
}

// ServiceAccountRevoked: the service account's credential stops working
// for good.
type ServiceAccountRevoked struct {
	ServiceID string `json:"service_id"`
}

// EnrolmentStarted: the staff person, holding their enrolment token, chose
// a password and received a TOTP secret and recovery codes, which do not
// count until the authenticator's first code confirms them
// (EnrolmentConfirmed): until then the person cannot sign in and, an
// owner, does not end the admin token's bootstrap. Starting again before
// confirming replaces all three. As with Enrolled, the TOTP secret is
// derived from TOTPNonce and the recovery codes are stored hashed.
type EnrolmentStarted struct {
	StaffID        string   `json:"staff_id"`
	PasswordHash   string   `json:"password_hash"`
	TOTPNonce      string   `json:"totp_nonce"`
	RecoveryHashes [][]byte `json:"recovery_hashes"`
}

// EnrolmentConfirmed: the authenticator's code of time step TOTPStep
// proved the started enrolment's TOTP secret works; the person is
// enrolled, their enrolment token is spent, and that code is used.
type EnrolmentConfirmed struct {
	StaffID  string `json:"staff_id"`
	TOTPStep int64  `json:"totp_step"`
}

// EnrolmentReissued: an owner gave a staff person who has not enrolled a
// new enrolment token (the first was lost); the old one stops working and
// a started enrolment is dropped.
type EnrolmentReissued struct {
	StaffID       string `json:"staff_id"`
	EnrolmentHash []byte `json:"enrolment_hash"`
}

// TOTPReset: an owner reset a staff person's second factor (a lost
// phone): their password, TOTP secret and recovery codes stop working,
// their sessions end, and they enrol again with the new enrolment token
// whose hash is recorded.
type TOTPReset struct {
	StaffID       string `json:"staff_id"`
	EnrolmentHash []byte `json:"enrolment_hash"`
}
