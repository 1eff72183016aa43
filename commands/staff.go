package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/domain/staff"
)

// The prefixes of the back office's bearer tokens, so that a leaked one
// is recognisable (secret scanners) and never mistaken for a customer's.
const (
	staffSessionPrefix = "slst_"
	serviceTokenPrefix = "slsa_"
	// TOTPIssuer names the ledger in authenticator apps.
	TOTPIssuer = "Seatledger"
	// tokenStaffTOTP is the purpose the TOTP secrets are derived for.
	tokenStaffTOTP = "staff-totp"
)

// totpOptions are RFC 6238's defaults, which every authenticator app
// reads: 30-second steps, six digits, HMAC-SHA1.
var totpOptions = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// StaffHandler runs the use cases of the back office (issue 23): its
// staff people (added by an owner, enrolled with a password and a TOTP
// second factor, signed in), its service accounts, and the question every
// back-office request asks, Authorize.
type StaffHandler struct {
	loader    *Loader
	passwords Passwords
	tokens    Tokens
	people    *PeopleHandler // the password policy customers have
}

// NewStaffHandler returns a StaffHandler. It returns an error wrapping
// ErrMissingDependency if a dependency is nil.
func NewStaffHandler(loader *Loader, passwords Passwords, tokens Tokens, people *PeopleHandler) (*StaffHandler, error) {
	if err := dependencies("NewStaffHandler", dep{"a Loader", loader != nil}, dep{"Passwords", passwords != nil},
		dep{"Tokens", tokens != nil}, dep{"a PeopleHandler", people != nil}); err != nil {
		return nil, err
	}
	return &StaffHandler{loader: loader, passwords: passwords, tokens: tokens, people: people}, nil
}

// Roster returns the back office as of its latest event (shared; never
// evolve it).
func (h *StaffHandler) Roster(ctx context.Context) (staff.Roster, error) { return h.loader.roster(ctx) }

// Authorize answers whether actor may do p in the back office, from the
// roster's latest events; nil allows.
func (h *StaffHandler) Authorize(ctx context.Context, actor event.Actor, p staff.Permission) error {
	return h.loader.backOffice(ctx, actor, p)
}

func (h *StaffHandler) update(ctx context.Context, command string, meta Meta, p staff.Permission,
	decide func(staff.Roster, time.Time) ([]any, error)) (event.AppendResult, error) {
	if err := h.Authorize(ctx, meta.Actor, p); err != nil {
		return event.AppendResult{}, err
	}
	return h.append(ctx, command, meta, decide)
}

// append decides on the roster and appends. The roster's commands mint
// secrets (tokens, TOTP nonces, recovery codes) that are answered once and
// stored only hashed, so a retry cannot answer them again: an idempotency
// key is ignored, and a retry decides anew (adding the same address
// again is refused as taken; a repeated sign-in opens another session).
func (h *StaffHandler) append(ctx context.Context, command string, meta Meta,
	decide func(staff.Roster, time.Time) ([]any, error)) (event.AppendResult, error) {
	meta.IdempotencyKey = ""
	return update(ctx, h.loader, h.loader.rosters, "", command, meta, decide)
}

// StaffAdded is what AddStaff returns: the enrolment token is shown once,
// to whoever added the person, and stored only hashed.
type StaffAdded struct {
	event.AppendResult
	StaffID, EnrolmentToken string
}

// AddStaff adds a staff person with a role (an owner's; the admin token's
// while it bootstraps the back office). They enrol with the token
// returned.
func (h *StaffHandler) AddStaff(ctx context.Context, meta Meta, email, displayName string, role staff.Role) (StaffAdded, error) {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return StaffAdded{}, err
	}
	id, token := uuid.Must(uuid.NewV7()).String(), newSecret()
	res, err := h.update(ctx, "AddStaff", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.Add(id, normalized, displayName, role, staff.HashSecret(token))
	})
	if err != nil {
		return StaffAdded{}, err
	}
	return StaffAdded{AppendResult: res, StaffID: id, EnrolmentToken: token}, nil
}

// ChangeStaffRole gives staff person id another role (an owner's); the
// last owner keeps theirs.
func (h *StaffHandler) ChangeStaffRole(ctx context.Context, meta Meta, id string, role staff.Role) (event.AppendResult, error) {
	return h.update(ctx, "ChangeStaffRole", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.ChangeRole(id, role)
	})
}

// RemoveStaff removes staff person id (an owner's); never the last owner.
// Their sessions end with it.
func (h *StaffHandler) RemoveStaff(ctx context.Context, meta Meta, id string) (event.AppendResult, error) {
	return h.update(ctx, "RemoveStaff", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.Remove(id)
	})
}

// ListStaff returns the roster for an owner.
func (h *StaffHandler) ListStaff(ctx context.Context, actor event.Actor) (staff.Roster, error) {
	if err := h.Authorize(ctx, actor, staff.PermStaff); err != nil {
		return staff.Roster{}, err
	}
	return h.Roster(ctx)
}

// Enrolment is what EnrolStaff returns, shown once: the TOTP secret (and
// its otpauth:// URL for a QR code) and the recovery codes.
type Enrolment struct {
	event.AppendResult
	StaffID, TOTPSecret, TOTPURL string
	RecoveryCodes                []string
}

// EnrolStaff starts the enrolment of the staff person with address
// email, who holds the enrolment token: they choose a password (the
// customers' policy, MEM-1) and receive their TOTP secret and recovery
// codes, which count once ConfirmStaffEnrolment has the authenticator's
// first code (until then the person cannot sign in). A wrong address or
// token is staff.ErrBadCredentials.
func (h *StaffHandler) EnrolStaff(ctx context.Context, meta Meta, email, token, password string) (Enrolment, error) {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return Enrolment{}, staff.ErrBadCredentials
	}
	r, err := h.Roster(ctx)
	if err != nil {
		return Enrolment{}, err
	}
	m, ok := r.ByEmail(normalized)
	if !ok {
		return Enrolment{}, staff.ErrBadCredentials
	}
	if err := h.people.checkPassword(password, normalized, strings.Fields(m.DisplayName)...); err != nil {
		return Enrolment{}, err
	}
	hash, err := h.passwords.Hash(password)
	if err != nil {
		return Enrolment{}, err
	}
	nonce := newSecret()
	codes := make([]string, staff.RecoveryCodes)
	hashes := make([][]byte, len(codes))
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = staff.HashSecret(codes[i])
	}
	meta.Actor = staff.Actor(m.ID)
	res, err := h.append(ctx, "EnrolStaff", meta, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.Enrol(normalized, staff.HashSecret(token), hash, nonce, hashes)
	})
	if err != nil {
		return Enrolment{}, err
	}
	secret := h.totpSecret(m.ID, nonce)
	key, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: normalized, Period: totpOptions.Period,
		Digits: totpOptions.Digits, Algorithm: totpOptions.Algorithm, Secret: secret})
	if err != nil {
		return Enrolment{}, fmt.Errorf("commands: enrol staff: %w", err)
	}
	return Enrolment{AppendResult: res, StaffID: m.ID, TOTPSecret: key.Secret(), TOTPURL: key.URL(), RecoveryCodes: codes}, nil
}

// ConfirmStaffEnrolment completes the started enrolment of the staff
// person with address email, who holds the enrolment token, with the
// first code their authenticator shows: it proves the secret reached
// it. The code is used by it. A wrong address or token is
// staff.ErrBadCredentials; a code that does not match is staff.ErrInvalid
// naming the code, and the enrolment stays started.
func (h *StaffHandler) ConfirmStaffEnrolment(ctx context.Context, meta Meta, email, token, code string) (event.AppendResult, string, error) {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return event.AppendResult{}, "", staff.ErrBadCredentials
	}
	r, err := h.Roster(ctx)
	if err != nil {
		return event.AppendResult{}, "", err
	}
	m, ok := r.ByEmail(normalized)
	if !ok {
		return event.AppendResult{}, "", staff.ErrBadCredentials
	}
	var step int64
	if nonce := m.PendingTOTPNonce(); nonce != "" {
		step = h.totpStep(m.ID, nonce, code, h.loader.now(meta))
	}
	meta.Actor = staff.Actor(m.ID)
	res, err := h.append(ctx, "ConfirmStaffEnrolment", meta, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.ConfirmEnrolment(normalized, staff.HashSecret(token), step)
	})
	return res, m.ID, err
}

// ReissueEnrolment gives staff person id, who has not enrolled, a new
// enrolment token (an owner's), returned once; the old one stops working.
func (h *StaffHandler) ReissueEnrolment(ctx context.Context, meta Meta, id string) (StaffAdded, error) {
	token := newSecret()
	res, err := h.update(ctx, "ReissueEnrolment", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.ReissueEnrolment(id, staff.HashSecret(token))
	})
	if err != nil {
		return StaffAdded{}, err
	}
	return StaffAdded{AppendResult: res, StaffID: id, EnrolmentToken: token}, nil
}

// ResetStaffTOTP resets enrolled staff person id's second factor (an
// owner's; a lost phone): their password, TOTP secret and recovery codes
// stop working and their sessions end; they enrol again with the new
// enrolment token returned once. Never the last enrolled owner's.
func (h *StaffHandler) ResetStaffTOTP(ctx context.Context, meta Meta, id string) (StaffAdded, error) {
	token := newSecret()
	res, err := h.update(ctx, "ResetStaffTOTP", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.ResetTOTP(id, staff.HashSecret(token))
	})
	if err != nil {
		return StaffAdded{}, err
	}
	return StaffAdded{AppendResult: res, StaffID: id, EnrolmentToken: token}, nil
}

// totpSecret derives staff person id's TOTP secret from their enrolment's
// nonce with the server's key: the log holds no second factor.
func (h *StaffHandler) totpSecret(id, nonce string) []byte {
	sum := sha256.Sum256([]byte(h.tokens.Token(tokenStaffTOTP, id+"/"+nonce)))
	return sum[:20] // RFC 4226 recommends 160 bits
}

// newRecoveryCode returns a recovery code of 80 random bits, in four
// groups of base32 letters and digits.
func newRecoveryCode() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms we run on
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// StaffSession is an opened staff session: Token is its bearer token,
// shown once.
type StaffSession struct {
	event.AppendResult
	StaffID   string
	Token     string
	ExpiresAt time.Time
}

// SignInStaff checks a staff person's email, password and second factor
// (a TOTP code, good once, or an unused recovery code) and opens a staff
// session. Every failure is staff.ErrBadCredentials, and an unknown
// address costs a password hash like a known one.
func (h *StaffHandler) SignInStaff(ctx context.Context, meta Meta, email, password, code string) (StaffSession, error) {
	normalized, err := person.NormalizeEmail(email)
	if err != nil {
		return StaffSession{}, staff.ErrBadCredentials
	}
	r, err := h.Roster(ctx)
	if err != nil {
		return StaffSession{}, err
	}
	m, ok := r.ByEmail(normalized)
	encoded := m.PasswordHash()
	if !ok || !m.Enrolled {
		encoded = h.people.dummyPasswordHash()
	}
	good, err := h.passwords.Verify(password, encoded)
	if err != nil {
		return StaffSession{}, fmt.Errorf("commands: staff sign-in: %w", err)
	}
	if !good || !ok || !m.Enrolled {
		return StaffSession{}, staff.ErrBadCredentials
	}
	now := h.loader.now(meta)
	step, recovery := h.secondFactor(m, code, now), -1
	if step == 0 {
		recovery = m.RecoveryCode(staff.HashSecret(strings.ToLower(strings.TrimSpace(code))))
	}
	token := staffSessionPrefix + newSecret()
	meta.Actor = staff.Actor(m.ID)
	res, err := h.append(ctx, "SignInStaff", meta, func(r staff.Roster, now time.Time) ([]any, error) {
		return r.SignIn(m.ID, staff.HashSecret(token), step, recovery, now)
	})
	if err != nil {
		return StaffSession{}, err
	}
	return StaffSession{AppendResult: res, StaffID: m.ID, Token: token, ExpiresAt: now.Add(staff.SessionLifetime)}, nil
}

// secondFactor returns the RFC 6238 time step whose code is code for the
// person's enrolled secret, trying the current step and one on either
// side (clock drift), or 0.
func (h *StaffHandler) secondFactor(m staff.Member, code string, now time.Time) int64 {
	return h.totpStep(m.ID, m.TOTPNonce(), code, now)
}

// totpStep returns the time step whose code is code for the TOTP secret
// of staff person id derived from nonce, trying the current step and one
// on either side, or 0.
func (h *StaffHandler) totpStep(id, nonce, code string, now time.Time) int64 {
	if len(code) != 6 {
		return 0
	}
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.totpSecret(id, nonce))
	period := int64(totpOptions.Period)
	for _, skew := range []int64{-1, 0, 1} {
		t := time.Unix((now.Unix()/period+skew)*period, 0)
		want, err := totp.GenerateCodeCustom(secret, t, totpOptions)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / period
		}
	}
	return 0
}

// SignOutStaff ends the staff session of token.
func (h *StaffHandler) SignOutStaff(ctx context.Context, meta Meta, token string) (event.AppendResult, error) {
	return h.append(ctx, "SignOutStaff", meta, func(r staff.Roster, now time.Time) ([]any, error) {
		return r.SignOut(staff.HashSecret(token), now)
	})
}

// AuthenticateStaff returns the actor of a staff session's bearer token,
// from the roster's latest events: a removal or a sign-out counts at
// once. A token that signs nobody in is staff.ErrBadCredentials.
func (h *StaffHandler) AuthenticateStaff(ctx context.Context, token string) (event.Actor, error) {
	if !strings.HasPrefix(token, staffSessionPrefix) {
		return event.Actor{}, staff.ErrBadCredentials
	}
	r, err := h.Roster(ctx)
	if err != nil {
		return event.Actor{}, err
	}
	m, ok := r.Session(staff.HashSecret(token), h.loader.clock.Now())
	if !ok {
		return event.Actor{}, staff.ErrBadCredentials
	}
	return staff.Actor(m.ID), nil
}

// IsStaffToken and IsServiceToken tell the back office's bearer tokens
// apart from the others by their prefixes.
func IsStaffToken(token string) bool { return strings.HasPrefix(token, staffSessionPrefix) }

// IsServiceToken: see IsStaffToken.
func IsServiceToken(token string) bool { return strings.HasPrefix(token, serviceTokenPrefix) }

// ServiceToken is a service account's new token, shown once.
type ServiceToken struct {
	event.AppendResult
	ServiceID, Token string
}

// serviceToken returns a new token of service account id:
// "slsa_<service ID>_<secret>".
func serviceToken(id string) string { return serviceTokenPrefix + id + "_" + newSecret() }

// CreateServiceAccount creates a named credential for one of the
// vendor's machines (an owner's): it may apply orders and keep the
// catalog, and its events name it.
func (h *StaffHandler) CreateServiceAccount(ctx context.Context, meta Meta, name string) (ServiceToken, error) {
	id := uuid.Must(uuid.NewV7()).String()
	token := serviceToken(id)
	res, err := h.update(ctx, "CreateServiceAccount", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.CreateService(id, name, staff.HashSecret(token))
	})
	if err != nil {
		return ServiceToken{}, err
	}
	return ServiceToken{AppendResult: res, ServiceID: id, Token: token}, nil
}

// RotateServiceAccount replaces service account id's token (an owner's);
// the old one stops working at once.
func (h *StaffHandler) RotateServiceAccount(ctx context.Context, meta Meta, id string) (ServiceToken, error) {
	token := serviceToken(id)
	res, err := h.update(ctx, "RotateServiceAccount", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.RotateService(id, staff.HashSecret(token))
	})
	if err != nil {
		return ServiceToken{}, err
	}
	return ServiceToken{AppendResult: res, ServiceID: id, Token: token}, nil
}

// RevokeServiceAccount ends service account id for good (an owner's).
func (h *StaffHandler) RevokeServiceAccount(ctx context.Context, meta Meta, id string) (event.AppendResult, error) {
	return h.update(ctx, "RevokeServiceAccount", meta, staff.PermStaff, func(r staff.Roster, _ time.Time) ([]any, error) {
		return r.RevokeService(id)
	})
}

// AuthenticateService returns the actor of a service account's token,
// from the roster's latest events: a rotation or revocation counts at
// once. A token that names no live account is staff.ErrBadCredentials.
func (h *StaffHandler) AuthenticateService(ctx context.Context, token string) (event.Actor, error) {
	rest, ok := strings.CutPrefix(token, serviceTokenPrefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || id == "" {
		return event.Actor{}, staff.ErrBadCredentials
	}
	r, err := h.Roster(ctx)
	if err != nil {
		return event.Actor{}, err
	}
	if _, ok := r.ServiceByToken(id, staff.HashSecret(token)); !ok {
		return event.Actor{}, staff.ErrBadCredentials
	}
	return staff.ServiceActor(id), nil
}
