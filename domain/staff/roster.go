package staff

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/text"
)

// Policy choices, recorded here because the issue is silent.
const (
	// SessionLifetime is how long a staff session lasts, however busy:
	// the back office signs in again each working day with both factors.
	SessionLifetime = 12 * time.Hour
	// RecoveryCodes is how many recovery codes an enrolment hands out.
	RecoveryCodes      = 10
	maxDisplayName     = 100
	maxServiceName     = 100
	maxServiceAccounts = 50
)

// Member is a staff person as the roster knows them.
type Member struct {
	ID, Email, DisplayName string
	Role                   Role
	// Enrolled: the person set their password and second factor.
	Enrolled bool

	enrolmentHash []byte
	passwordHash  string
	totpNonce     string
	recovery      [][]byte // nil once used
	lastStep      int64
	sessions      map[string]time.Time // hex of the token's hash -> expiry
	// started is an enrolment started and not confirmed yet: it counts
	// once the authenticator's first code confirms it.
	started *EnrolmentStarted
}

// EnrolmentPending reports whether the person started an enrolment that
// the authenticator's first code has not confirmed yet.
func (m Member) EnrolmentPending() bool { return !m.Enrolled && m.started != nil }

// PendingTOTPNonce is what the TOTP secret of the person's started,
// unconfirmed enrolment is derived from ("" if none).
func (m Member) PendingTOTPNonce() string {
	if m.started == nil {
		return ""
	}
	return m.started.TOTPNonce
}

// PasswordHash is the stored hash of the person's password ("" before
// enrolment).
func (m Member) PasswordHash() string { return m.passwordHash }

// TOTPNonce is what the person's TOTP secret is derived from ("" before
// enrolment).
func (m Member) TOTPNonce() string { return m.totpNonce }

// RecoveryCode returns the index of the unused recovery code whose hash
// is hash, comparing in constant time, or -1.
func (m Member) RecoveryCode(hash []byte) int {
	found := -1
	for i, h := range m.recovery {
		if h != nil && subtle.ConstantTimeCompare(h, hash) == 1 {
			found = i
		}
	}
	return found
}

// RecoveryCodesLeft counts the unused recovery codes.
func (m Member) RecoveryCodesLeft() int {
	n := 0
	for _, h := range m.recovery {
		if h != nil {
			n++
		}
	}
	return n
}

// Service is a service account as the roster knows it.
type Service struct {
	ID, Name   string
	Revoked    bool
	secretHash []byte
}

// Roster is the back office: its staff people and service accounts.
type Roster struct {
	members  map[string]Member
	byEmail  map[string]string
	services map[string]Service
	version  uint64
}

// Clone returns a copy that evolving does not share with r.
func (r Roster) Clone() Roster {
	c := Roster{members: make(map[string]Member, len(r.members)), byEmail: maps.Clone(r.byEmail),
		services: maps.Clone(r.services), version: r.version}
	for id, m := range r.members {
		m.sessions = maps.Clone(m.sessions)
		m.recovery = slices.Clone(m.recovery)
		c.members[id] = m // started is never changed in place: evolving replaces it
	}
	return c
}

// Member returns staff person id.
func (r Roster) Member(id string) (Member, bool) {
	m, ok := r.members[id]
	return m, ok
}

// ByEmail returns the staff person with the normalized address email.
func (r Roster) ByEmail(email string) (Member, bool) {
	id, ok := r.byEmail[email]
	if !ok {
		return Member{}, false
	}
	return r.Member(id)
}

// Members lists the staff, by email.
func (r Roster) Members() []Member {
	out := slices.Collect(maps.Values(r.members))
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Email, b.Email) })
	return out
}

// Services lists the service accounts, by name.
func (r Roster) Services() []Service {
	out := slices.Collect(maps.Values(r.services))
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// HasOwner reports whether the back office has an owner who enrolled, so
// can sign in: from then on the bootstrap admin token is off unless a
// setting keeps it. An owner added but not enrolled yet does not count,
// so that a lost enrolment token cannot lock the back office out.
func (r Roster) HasOwner() bool {
	for _, m := range r.members {
		if m.Role == RoleOwner && m.Enrolled {
			return true
		}
	}
	return false
}

// Session returns the staff person whose live session token hashes to
// hash at now.
func (r Roster) Session(hash []byte, now time.Time) (Member, bool) {
	key := hex.EncodeToString(hash)
	for _, m := range r.members {
		if exp, ok := m.sessions[key]; ok && now.Before(exp) {
			return m, true
		}
	}
	return Member{}, false
}

// ServiceByToken returns the live service account id whose token hashes
// to hash, comparing in constant time.
func (r Roster) ServiceByToken(id string, hash []byte) (Service, bool) {
	s, ok := r.services[id]
	if !ok || s.Revoked || subtle.ConstantTimeCompare(s.secretHash, hash) != 1 {
		return Service{}, false
	}
	return s, true
}

// Authorize is the back office's one policy: may actor do p? The admin
// token may do everything (it bootstraps the back office; whether it is
// accepted at all is AdminTokenAccepted's question); a staff person what
// their role grants, from the roster's latest events, so a removal or a
// new role counts from the next request; a service account the orders and
// the catalog while it is not revoked. Everyone else is refused.
func (r Roster) Authorize(actor event.Actor, p Permission) error {
	if actor == AdminToken {
		return nil
	}
	if id, ok := StaffOf(actor); ok {
		m, ok := r.members[id]
		switch {
		case !ok:
			return forbidden("this staff person was removed from the back office")
		case !m.Role.Grants(p):
			return forbidden("the %s role may not do this (%s)", m.Role, p)
		}
		return nil
	}
	if id, ok := ServiceOf(actor); ok {
		s, ok := r.services[id]
		switch {
		case !ok || s.Revoked:
			return forbidden("this service account was revoked")
		case !slices.Contains(serviceGrants, p):
			return forbidden("a service account may apply orders and keep the catalog only")
		}
		return nil
	}
	return forbidden("only the back office may do this")
}

// AdminTokenAccepted reports whether the bootstrap admin token is
// accepted: until the back office has an owner, or always when the
// setting keep says so.
func (r Roster) AdminTokenAccepted(keep bool) bool { return keep || !r.HasOwner() }

// Add adds a staff person with role, who enrols with the token whose
// hash is enrolmentHash. email must be normalized.
func (r Roster) Add(id, email, displayName string, role Role, enrolmentHash []byte) ([]any, error) {
	switch {
	case role.IsZero():
		return nil, invalidf("role", "role is required")
	case email == "":
		return nil, invalidf("email", "email is required")
	}
	if reason := text.Required("display_name", displayName, text.Name, maxDisplayName); reason != "" {
		return nil, invalidf("display_name", "%s", reason)
	}
	if _, taken := r.byEmail[email]; taken {
		return nil, ErrEmailTaken
	}
	if _, dup := r.members[id]; dup || id == "" {
		return nil, invalidf("staff_id", "staff ID %q is taken", id)
	}
	return []any{Added{StaffID: id, Email: email, DisplayName: displayName, Role: role, EnrolmentHash: enrolmentHash}}, nil
}

// Enrol starts the enrolment of the staff person with address email who
// holds the token whose hash is tokenHash: their password, TOTP nonce and
// recovery codes, which count once ConfirmEnrolment has the
// authenticator's first code. Starting again before that replaces them.
// A wrong address or token is ErrBadCredentials, the same answer for
// both.
func (r Roster) Enrol(email string, tokenHash []byte, passwordHash, totpNonce string, recoveryHashes [][]byte) ([]any, error) {
	m, err := r.enrolling(email, tokenHash)
	if err != nil {
		return nil, err
	}
	return []any{EnrolmentStarted{StaffID: m.ID, PasswordHash: passwordHash, TOTPNonce: totpNonce, RecoveryHashes: recoveryHashes}}, nil
}

// ConfirmEnrolment completes the started enrolment of the staff person
// with address email, who holds the enrolment token whose hash is
// tokenHash, with the authenticator's code of time step step (the caller
// checked the code against the started enrolment's secret; 0: it did not
// match). The code is used by it: a sign-in needs a later one.
func (r Roster) ConfirmEnrolment(email string, tokenHash []byte, step int64) ([]any, error) {
	m, err := r.enrolling(email, tokenHash)
	switch {
	case err != nil:
		return nil, err
	case m.started == nil:
		return nil, invalidf("code", "start the enrolment first: choose a password to receive the authenticator's secret")
	case step <= 0:
		return nil, invalidf("code", "the code does not match the authenticator's secret of this enrolment; enter the six digits it shows now")
	}
	return []any{EnrolmentConfirmed{StaffID: m.ID, TOTPStep: step}}, nil
}

// enrolling returns the staff person with address email who holds the
// enrolment token whose hash is tokenHash and has not enrolled.
func (r Roster) enrolling(email string, tokenHash []byte) (Member, error) {
	m, ok := r.ByEmail(email)
	switch {
	case !ok:
		return Member{}, ErrBadCredentials
	case m.Enrolled:
		return Member{}, ErrEnrolled
	case subtle.ConstantTimeCompare(m.enrolmentHash, tokenHash) != 1:
		return Member{}, ErrBadCredentials
	}
	return m, nil
}

// ReissueEnrolment gives staff person id, who has not enrolled, a new
// enrolment token whose hash is enrolmentHash (the first was lost); the
// old one stops working. An enrolled person's second factor is reset
// instead (ResetTOTP).
func (r Roster) ReissueEnrolment(id string, enrolmentHash []byte) ([]any, error) {
	m, ok := r.members[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case m.Enrolled:
		return nil, fmt.Errorf("%w: %s has enrolled; reset their second factor to have them enrol again", ErrNoChange, m.Email)
	}
	return []any{EnrolmentReissued{StaffID: id, EnrolmentHash: enrolmentHash}}, nil
}

// ResetTOTP resets enrolled staff person id's second factor: their
// password, TOTP secret and recovery codes stop working, their sessions
// end, and they enrol again with the new token whose hash is
// enrolmentHash. Never the last enrolled owner's: the back office would
// have no owner who can sign in.
func (r Roster) ResetTOTP(id string, enrolmentHash []byte) ([]any, error) {
	m, ok := r.members[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case !m.Enrolled:
		return nil, fmt.Errorf("%w: %s has not enrolled; re-issue their enrolment token instead", ErrNoChange, m.Email)
	case m.Role == RoleOwner && r.enrolledOwners() == 1:
		return nil, fmt.Errorf("%w: the last enrolled owner's second factor cannot be reset; enrol another owner first", ErrLastOwner)
	}
	return []any{TOTPReset{StaffID: id, EnrolmentHash: enrolmentHash}}, nil
}

func (r Roster) enrolledOwners() int {
	n := 0
	for _, m := range r.members {
		if m.Role == RoleOwner && m.Enrolled {
			n++
		}
	}
	return n
}

// ChangeRole gives staff person id another role; the last owner keeps
// theirs.
func (r Roster) ChangeRole(id string, role Role) ([]any, error) {
	m, ok := r.members[id]
	switch {
	case role.IsZero():
		return nil, invalidf("role", "role is required")
	case !ok:
		return nil, ErrNotFound
	case m.Role == role:
		return nil, ErrNoChange
	case m.Role == RoleOwner && r.owners() == 1:
		return nil, ErrLastOwner
	}
	return []any{RoleChanged{StaffID: id, Role: role}}, nil
}

// Remove removes staff person id; never the last owner.
func (r Roster) Remove(id string) ([]any, error) {
	m, ok := r.members[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case m.Role == RoleOwner && r.owners() == 1:
		return nil, ErrLastOwner
	}
	return []any{Removed{StaffID: id}}, nil
}

func (r Roster) owners() int {
	n := 0
	for _, m := range r.members {
		if m.Role == RoleOwner {
			n++
		}
	}
	return n
}

// SignIn opens a session for staff person id, whose password and second
// factor the caller checked: a TOTP code of time step step (later than
// any used before, so a code is good once), or else, with step 0, the
// unused recovery code recovery.
func (r Roster) SignIn(id string, sessionHash []byte, step int64, recovery int, now time.Time) ([]any, error) {
	m, ok := r.members[id]
	switch {
	case !ok || !m.Enrolled:
		return nil, ErrBadCredentials
	case step > 0 && step <= m.lastStep:
		return nil, ErrBadCredentials // a code already used, or an older one
	case step <= 0 && (recovery < 0 || recovery >= len(m.recovery) || m.recovery[recovery] == nil):
		return nil, ErrBadCredentials
	}
	signedIn := SignedIn{StaffID: id, SessionHash: sessionHash, ExpiresAt: now.Add(SessionLifetime), SignedInAt: now}
	if step > 0 {
		signedIn.TOTPStep = step
		return []any{signedIn}, nil
	}
	return []any{RecoveryCodeUsed{StaffID: id, Index: recovery}, signedIn}, nil
}

// SignOut ends the session whose token hashes to sessionHash.
func (r Roster) SignOut(sessionHash []byte, now time.Time) ([]any, error) {
	m, ok := r.Session(sessionHash, now)
	if !ok {
		return nil, ErrBadCredentials
	}
	return []any{SignedOut{StaffID: m.ID, SessionHash: sessionHash}}, nil
}

// CreateService creates service account id named name, whose token
// hashes to secretHash.
func (r Roster) CreateService(id, name string, secretHash []byte) ([]any, error) {
	if reason := text.Required("name", name, text.Name, maxServiceName); reason != "" {
		return nil, invalidf("name", "%s", reason)
	}
	live := 0
	for _, s := range r.services {
		if s.Name == name && !s.Revoked {
			return nil, invalidf("name", "a service account named %q exists; rotate its token or choose another name", name)
		}
		if !s.Revoked {
			live++
		}
	}
	if live >= maxServiceAccounts {
		return nil, invalidf("name", "at most %d service accounts may be live; revoke one first", maxServiceAccounts)
	}
	if _, dup := r.services[id]; dup || id == "" {
		return nil, invalidf("service_id", "service account ID %q is taken", id)
	}
	return []any{ServiceAccountCreated{ServiceID: id, Name: name, SecretHash: secretHash}}, nil
}

// RotateService replaces the token of live service account id.
func (r Roster) RotateService(id string, secretHash []byte) ([]any, error) {
	if s, ok := r.services[id]; !ok || s.Revoked {
		return nil, ErrNotFound
	}
	return []any{ServiceAccountRotated{ServiceID: id, SecretHash: secretHash}}, nil
}

// RevokeService ends service account id for good.
func (r Roster) RevokeService(id string) ([]any, error) {
	s, ok := r.services[id]
	switch {
	case !ok:
		return nil, ErrNotFound
	case s.Revoked:
		return nil, ErrNoChange
	}
	return []any{ServiceAccountRevoked{ServiceID: id}}, nil
}

// Evolve applies one recorded event, in place: callers clone a shared
// roster first. It never validates.
func (r Roster) Evolve(payload any) Roster {
	if r.members == nil {
		r.members = map[string]Member{}
	}
	if r.byEmail == nil {
		r.byEmail = map[string]string{}
	}
	if r.services == nil {
		r.services = map[string]Service{}
	}
	switch e := payload.(type) {
	case Added:
		r.members[e.StaffID] = Member{ID: e.StaffID, Email: e.Email, DisplayName: e.DisplayName, Role: e.Role,
			enrolmentHash: e.EnrolmentHash, sessions: map[string]time.Time{}}
		r.byEmail[e.Email] = e.StaffID
	case Enrolled:
		r.member(e.StaffID, func(m *Member) {
			m.Enrolled, m.passwordHash, m.totpNonce, m.enrolmentHash = true, e.PasswordHash, e.TOTPNonce, nil
			m.recovery = slices.Clone(e.RecoveryHashes)
		})
	case EnrolmentStarted:
		r.member(e.StaffID, func(m *Member) {
			started := e
			started.RecoveryHashes = slices.Clone(e.RecoveryHashes)
			m.started = &started
		})
	case EnrolmentConfirmed:
		r.member(e.StaffID, func(m *Member) {
			if m.started == nil {
				return
			}
			m.Enrolled, m.passwordHash, m.totpNonce, m.enrolmentHash = true, m.started.PasswordHash, m.started.TOTPNonce, nil
			m.recovery, m.started = slices.Clone(m.started.RecoveryHashes), nil
			m.lastStep = max(m.lastStep, e.TOTPStep)
		})
	case EnrolmentReissued:
		r.member(e.StaffID, func(m *Member) { m.enrolmentHash, m.started = e.EnrolmentHash, nil })
	case TOTPReset:
		r.member(e.StaffID, func(m *Member) {
			m.Enrolled, m.passwordHash, m.totpNonce, m.recovery, m.started = false, "", "", nil, nil
			m.enrolmentHash, m.sessions = e.EnrolmentHash, map[string]time.Time{}
		})
	case RoleChanged:
		r.member(e.StaffID, func(m *Member) { m.Role = e.Role })
	case Removed:
		if m, ok := r.members[e.StaffID]; ok {
			delete(r.byEmail, m.Email)
			delete(r.members, e.StaffID)
		}
	case SignedIn:
		r.pruneSessions(e.SignedInAt)
		r.member(e.StaffID, func(m *Member) {
			m.sessions[hex.EncodeToString(e.SessionHash)] = e.ExpiresAt
			m.lastStep = max(m.lastStep, e.TOTPStep)
		})
	case SignedOut:
		r.member(e.StaffID, func(m *Member) { delete(m.sessions, hex.EncodeToString(e.SessionHash)) })
	case RecoveryCodeUsed:
		r.member(e.StaffID, func(m *Member) {
			if e.Index >= 0 && e.Index < len(m.recovery) {
				m.recovery[e.Index] = nil
			}
		})
	case ServiceAccountCreated:
		r.services[e.ServiceID] = Service{ID: e.ServiceID, Name: e.Name, secretHash: e.SecretHash}
	case ServiceAccountRotated:
		if s, ok := r.services[e.ServiceID]; ok {
			s.secretHash = e.SecretHash
			r.services[e.ServiceID] = s
		}
	case ServiceAccountRevoked:
		if s, ok := r.services[e.ServiceID]; ok {
			s.Revoked, s.secretHash = true, nil
			r.services[e.ServiceID] = s
		}
	}
	r.version++
	return r
}

func (r Roster) member(id string, change func(*Member)) {
	if m, ok := r.members[id]; ok {
		change(&m)
		r.members[id] = m
	}
}

// pruneSessions forgets the sessions expired at now, so that the roster
// does not grow with every sign-in ever made.
func (r Roster) pruneSessions(now time.Time) {
	for _, m := range r.members {
		maps.DeleteFunc(m.sessions, func(_ string, exp time.Time) bool { return !now.Before(exp) })
	}
}
