package staff_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/staff"
)

var now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func given(events ...any) staff.Roster {
	var r staff.Roster
	for _, e := range events {
		r = r.Evolve(e)
	}
	return r
}

func added(id string, role staff.Role) staff.Added {
	return staff.Added{StaffID: id, Email: id + "@vendor.example", DisplayName: "Person " + id, Role: role, EnrolmentHash: staff.HashSecret("enrol-" + id)}
}

func enrolled(id string) staff.Enrolled {
	return staff.Enrolled{StaffID: id, PasswordHash: "hash", TOTPNonce: "nonce", RecoveryHashes: [][]byte{staff.HashSecret("r0"), staff.HashSecret("r1")}}
}

// TestRoster_never_the_last_owner: the back office keeps an owner
// (issue 23): the last owner is neither removed nor given another role;
// with two owners, one may go.
func TestRoster_never_the_last_owner(t *testing.T) {
	t.Parallel()
	one := given(added("ann", staff.RoleOwner), added("sue", staff.RoleSupport))
	two := given(added("ann", staff.RoleOwner), added("bob", staff.RoleOwner))
	for _, tc := range []struct {
		name string
		then func() ([]any, error)
		want []any
		err  error
	}{
		{"remove the last owner", func() ([]any, error) { return one.Remove("ann") }, nil, staff.ErrLastOwner},
		{"demote the last owner", func() ([]any, error) { return one.ChangeRole("ann", staff.RoleAuditor) }, nil, staff.ErrLastOwner},
		{"remove support", func() ([]any, error) { return one.Remove("sue") }, []any{staff.Removed{StaffID: "sue"}}, nil},
		{"remove one of two owners", func() ([]any, error) { return two.Remove("bob") }, []any{staff.Removed{StaffID: "bob"}}, nil},
		{"demote one of two owners", func() ([]any, error) { return two.ChangeRole("bob", staff.RoleSales) },
			[]any{staff.RoleChanged{StaffID: "bob", Role: staff.RoleSales}}, nil},
		{"the same role", func() ([]any, error) { return one.ChangeRole("sue", staff.RoleSupport) }, nil, staff.ErrNoChange},
		{"nobody", func() ([]any, error) { return one.Remove("zed") }, nil, staff.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.then()
			if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestRoster_add_refuses_a_taken_address_and_bad_fields.
func TestRoster_add_refuses_a_taken_address_and_bad_fields(t *testing.T) {
	t.Parallel()
	r := given(added("ann", staff.RoleOwner))
	if _, err := r.Add("x", "ann@vendor.example", "Ann Again", staff.RoleSales, nil); !errors.Is(err, staff.ErrEmailTaken) {
		t.Errorf("taken address: %v", err)
	}
	if _, err := r.Add("x", "x@vendor.example", "Bad\u200bName", staff.RoleSales, nil); !errors.Is(err, staff.ErrInvalid) {
		t.Errorf("invisible character: %v", err)
	}
	if _, err := r.Add("x", "x@vendor.example", "Xavier", staff.Role{}, nil); !errors.Is(err, staff.ErrInvalid) {
		t.Errorf("no role: %v", err)
	}
	if _, err := staff.ParseRole("janitor"); !errors.Is(err, staff.ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
}

// TestRoster_enrolment_is_once_with_the_right_token: the enrolment token
// works once, and a wrong one says nothing of the address.
func TestRoster_enrolment_is_once_with_the_right_token(t *testing.T) {
	t.Parallel()
	r := given(added("ann", staff.RoleOwner))
	if _, err := r.Enrol("ann@vendor.example", staff.HashSecret("wrong"), "h", "n", nil); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := r.Enrol("nobody@vendor.example", staff.HashSecret("enrol-ann"), "h", "n", nil); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("unknown address: %v", err)
	}
	got, err := r.Enrol("ann@vendor.example", staff.HashSecret("enrol-ann"), "h", "n", nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("enrol: %v %v", got, err)
	}
	started := r.Clone().Evolve(got[0])
	confirmed, err := started.ConfirmEnrolment("ann@vendor.example", staff.HashSecret("enrol-ann"), 7)
	if err != nil || !reflect.DeepEqual(confirmed, []any{staff.EnrolmentConfirmed{StaffID: "ann", TOTPStep: 7}}) {
		t.Fatalf("confirm: %v %v", confirmed, err)
	}
	if _, err := started.Clone().Evolve(confirmed[0]).Enrol("ann@vendor.example", staff.HashSecret("enrol-ann"), "h", "n", nil); !errors.Is(err, staff.ErrEnrolled) {
		t.Errorf("second enrolment: %v", err)
	}
}

// TestRoster_enrolment_counts_once_the_first_code_confirms_it (issue 23):
// a started enrolment signs nobody in and does not end the admin token's
// bootstrap; a code that does not match confirms nothing; starting again
// replaces the secret; the confirmation's code is used.
func TestRoster_enrolment_counts_once_the_first_code_confirms_it(t *testing.T) {
	t.Parallel()
	const ann = "ann@vendor.example"
	token := staff.HashSecret("enrol-ann")
	r := given(added("ann", staff.RoleOwner))
	if _, err := r.ConfirmEnrolment(ann, token, 7); !errors.Is(err, staff.ErrInvalid) {
		t.Errorf("confirming before starting: %v", err)
	}
	r = r.Evolve(staff.EnrolmentStarted{StaffID: "ann", PasswordHash: "h1", TOTPNonce: "n1", RecoveryHashes: [][]byte{staff.HashSecret("r0")}})
	m, _ := r.Member("ann")
	if m.Enrolled || !m.EnrolmentPending() || m.PendingTOTPNonce() != "n1" || !r.AdminTokenAccepted(false) {
		t.Errorf("started: enrolled %v, pending %v, nonce %q, admin token accepted %v", m.Enrolled, m.EnrolmentPending(), m.PendingTOTPNonce(), r.AdminTokenAccepted(false))
	}
	if _, err := r.SignIn("ann", staff.HashSecret("s"), 0, 0, now); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("a recovery code of an unconfirmed enrolment signs in: %v", err)
	}
	for _, tc := range []struct {
		token []byte
		step  int64
		err   error
	}{{token, 0, staff.ErrInvalid}, {staff.HashSecret("wrong"), 7, staff.ErrBadCredentials}} {
		if _, err := r.ConfirmEnrolment(ann, tc.token, tc.step); !errors.Is(err, tc.err) {
			t.Errorf("confirm step %d: %v, want %v", tc.step, err, tc.err)
		}
	}
	r = r.Evolve(staff.EnrolmentStarted{StaffID: "ann", PasswordHash: "h2", TOTPNonce: "n2"})
	if m, _ := r.Member("ann"); m.PendingTOTPNonce() != "n2" {
		t.Errorf("starting again kept nonce %q", m.PendingTOTPNonce())
	}
	r = r.Evolve(staff.EnrolmentConfirmed{StaffID: "ann", TOTPStep: 7})
	m, _ = r.Member("ann")
	if !m.Enrolled || m.EnrolmentPending() || m.PasswordHash() != "h2" || m.TOTPNonce() != "n2" || r.AdminTokenAccepted(false) {
		t.Errorf("confirmed: enrolled %v, password %q, nonce %q, admin token accepted %v", m.Enrolled, m.PasswordHash(), m.TOTPNonce(), r.AdminTokenAccepted(false))
	}
	if _, err := r.SignIn("ann", staff.HashSecret("s"), 7, -1, now); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("the confirmation's code signs in: %v", err)
	}
	if _, err := r.SignIn("ann", staff.HashSecret("s"), 8, -1, now); err != nil {
		t.Errorf("the next code: %v", err)
	}
}

// TestRoster_owner_reissues_enrolment_and_resets_TOTP (issue 23): a new
// enrolment token replaces a lost one for a person who has not enrolled;
// a reset of an enrolled person's second factor ends their sessions and
// credentials and has them enrol again; never the last enrolled owner's.
func TestRoster_owner_reissues_enrolment_and_resets_TOTP(t *testing.T) {
	t.Parallel()
	signedIn := staff.SignedIn{StaffID: "sue", SessionHash: staff.HashSecret("s"), ExpiresAt: now.Add(time.Hour), TOTPStep: 1, SignedInAt: now}
	r := given(added("ann", staff.RoleOwner), enrolled("ann"), added("sue", staff.RoleSupport), enrolled("sue"), signedIn,
		added("new", staff.RoleSales))
	got, err := r.ReissueEnrolment("new", staff.HashSecret("second"))
	if err != nil || !reflect.DeepEqual(got, []any{staff.EnrolmentReissued{StaffID: "new", EnrolmentHash: staff.HashSecret("second")}}) {
		t.Fatalf("reissue: %v %v", got, err)
	}
	reissued := r.Clone().Evolve(got[0])
	if _, err := reissued.Enrol("new@vendor.example", staff.HashSecret("enrol-new"), "h", "n", nil); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("the old enrolment token after a reissue: %v", err)
	}
	if _, err := reissued.Enrol("new@vendor.example", staff.HashSecret("second"), "h", "n", nil); err != nil {
		t.Errorf("the new enrolment token: %v", err)
	}
	for _, tc := range []struct {
		name string
		then func() ([]any, error)
		err  error
	}{
		{"reissue to an enrolled person", func() ([]any, error) { return r.ReissueEnrolment("sue", nil) }, staff.ErrNoChange},
		{"reissue to nobody", func() ([]any, error) { return r.ReissueEnrolment("zed", nil) }, staff.ErrNotFound},
		{"reset a person not enrolled", func() ([]any, error) { return r.ResetTOTP("new", nil) }, staff.ErrNoChange},
		{"reset the last enrolled owner", func() ([]any, error) { return r.ResetTOTP("ann", nil) }, staff.ErrLastOwner},
		{"reset nobody", func() ([]any, error) { return r.ResetTOTP("zed", nil) }, staff.ErrNotFound},
	} {
		if _, err := tc.then(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	got, err = r.ResetTOTP("sue", staff.HashSecret("again"))
	if err != nil || !reflect.DeepEqual(got, []any{staff.TOTPReset{StaffID: "sue", EnrolmentHash: staff.HashSecret("again")}}) {
		t.Fatalf("reset: %v %v", got, err)
	}
	reset := r.Clone().Evolve(got[0])
	if _, ok := reset.Session(staff.HashSecret("s"), now); ok {
		t.Error("a session outlived the reset")
	}
	m, _ := reset.Member("sue")
	if m.Enrolled || m.PasswordHash() != "" || m.RecoveryCodesLeft() != 0 {
		t.Errorf("after the reset: enrolled %v, password %q, %d recovery codes", m.Enrolled, m.PasswordHash(), m.RecoveryCodesLeft())
	}
	if _, err := reset.SignIn("sue", staff.HashSecret("s2"), 0, 0, now); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("an old recovery code after the reset: %v", err)
	}
	if _, err := reset.Enrol("sue@vendor.example", staff.HashSecret("again"), "h", "n", nil); err != nil {
		t.Errorf("enrolling again: %v", err)
	}
	if _, ok := r.Session(staff.HashSecret("s"), now); !ok {
		t.Error("evolving a clone changed the original's sessions")
	}
	two := given(added("ann", staff.RoleOwner), enrolled("ann"), added("bob", staff.RoleOwner), enrolled("bob"))
	if _, err := two.ResetTOTP("bob", nil); err != nil {
		t.Errorf("resetting one of two enrolled owners: %v", err)
	}
}

// TestRoster_second_factor_is_good_once: a TOTP step is used once and
// never an older one; a recovery code is used once.
func TestRoster_second_factor_is_good_once(t *testing.T) {
	t.Parallel()
	r := given(added("ann", staff.RoleOwner), enrolled("ann"),
		staff.SignedIn{StaffID: "ann", SessionHash: staff.HashSecret("s1"), ExpiresAt: now.Add(time.Hour), TOTPStep: 100, SignedInAt: now})
	for _, step := range []int64{99, 100} {
		if _, err := r.SignIn("ann", staff.HashSecret("s2"), step, -1, now); !errors.Is(err, staff.ErrBadCredentials) {
			t.Errorf("step %d again: %v", step, err)
		}
	}
	if _, err := r.SignIn("ann", staff.HashSecret("s2"), 101, -1, now); err != nil {
		t.Errorf("a later step: %v", err)
	}
	got, err := r.SignIn("ann", staff.HashSecret("s3"), 0, 1, now)
	if err != nil || len(got) != 2 || got[0] != (staff.RecoveryCodeUsed{StaffID: "ann", Index: 1}) {
		t.Fatalf("recovery code: %v %v", got, err)
	}
	used := r.Clone().Evolve(got[0]).Evolve(got[1])
	if _, err := used.SignIn("ann", staff.HashSecret("s4"), 0, 1, now); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("the same recovery code again: %v", err)
	}
	if m, _ := used.Member("ann"); m.RecoveryCodesLeft() != 1 || m.RecoveryCode(staff.HashSecret("r0")) != 0 {
		t.Errorf("recovery codes left %d", m.RecoveryCodesLeft())
	}
	if m, _ := r.Member("ann"); m.RecoveryCodesLeft() != 2 {
		t.Error("evolving a clone changed the original")
	}
}

// TestRoster_sessions_end_by_time_sign_out_and_removal.
func TestRoster_sessions_end_by_time_sign_out_and_removal(t *testing.T) {
	t.Parallel()
	signedIn := staff.SignedIn{StaffID: "sue", SessionHash: staff.HashSecret("s"), ExpiresAt: now.Add(staff.SessionLifetime), TOTPStep: 1, SignedInAt: now}
	r := given(added("ann", staff.RoleOwner), added("sue", staff.RoleSupport), enrolled("sue"), signedIn)
	if _, ok := r.Session(staff.HashSecret("s"), now.Add(time.Hour)); !ok {
		t.Fatal("a live session was not found")
	}
	if _, ok := r.Session(staff.HashSecret("s"), now.Add(staff.SessionLifetime)); ok {
		t.Error("an expired session signs in")
	}
	out, err := r.SignOut(staff.HashSecret("s"), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Clone().Evolve(out[0]).Session(staff.HashSecret("s"), now); ok {
		t.Error("a signed-out session signs in")
	}
	if _, ok := r.Clone().Evolve(staff.Removed{StaffID: "sue"}).Session(staff.HashSecret("s"), now); ok {
		t.Error("a removed person's session signs in")
	}
}

// TestRoster_Authorize_roles_services_and_the_admin_token is the back
// office's policy table (issue 23): the auditor reads only; a service
// account applies orders and keeps the catalog only; a removed person and
// a revoked account may do nothing.
func TestRoster_Authorize_roles_services_and_the_admin_token(t *testing.T) {
	t.Parallel()
	r := given(added("own", staff.RoleOwner), added("sup", staff.RoleSupport), added("sal", staff.RoleSales), added("fin", staff.RoleFinance),
		added("aud", staff.RoleAuditor), added("gone", staff.RoleSupport), staff.Removed{StaffID: "gone"},
		staff.ServiceAccountCreated{ServiceID: "svc", Name: "orders", SecretHash: staff.HashSecret("t")},
		staff.ServiceAccountCreated{ServiceID: "old", Name: "old", SecretHash: staff.HashSecret("o")}, staff.ServiceAccountRevoked{ServiceID: "old"})
	perms := []staff.Permission{staff.PermOrders, staff.PermCatalog, staff.PermRead, staff.PermSupport, staff.PermSwitches,
		staff.PermAudit, staff.PermFinance, staff.PermStaff, staff.PermClock}
	allowed := map[event.Actor]string{ // one letter per permission above: o c r s w a f S k
		staff.AdminToken:                             "ocrswafSk",
		staff.Actor("own"):                           "ocrswafSk",
		staff.Actor("sup"):                           "..rsw....",
		staff.Actor("sal"):                           "ocr......",
		staff.Actor("fin"):                           "..r..af..",
		staff.Actor("aud"):                           "..r..af..",
		staff.Actor("gone"):                          ".........",
		staff.ServiceActor("svc"):                    "oc.......",
		staff.ServiceActor("old"):                    ".........",
		{Kind: event.ActorPerson, ID: "own"}:         ".........",
		{Kind: event.ActorBackOffice, ID: "someone"}: ".........",
	}
	for actor, want := range allowed {
		for i, p := range perms {
			err := r.Authorize(actor, p)
			if (want[i] != '.') != (err == nil) {
				t.Errorf("%s may %s = %v, want %c", actor, p, err, want[i])
			}
			if err != nil && !errors.Is(err, staff.ErrForbidden) {
				t.Errorf("%s %s: %v is not ErrForbidden", actor, p, err)
			}
		}
	}
}

// TestRoster_admin_token_bootstraps_until_an_owner_exists (issue 23).
func TestRoster_admin_token_bootstraps_until_an_owner_exists(t *testing.T) {
	t.Parallel()
	if !given(added("sue", staff.RoleSupport)).AdminTokenAccepted(false) {
		t.Error("refused with no owner")
	}
	if !given(added("ann", staff.RoleOwner)).AdminTokenAccepted(false) {
		t.Error("refused while the only owner has not enrolled")
	}
	owned := given(added("ann", staff.RoleOwner), enrolled("ann"))
	if owned.AdminTokenAccepted(false) {
		t.Error("accepted with an owner")
	}
	if !owned.AdminTokenAccepted(true) {
		t.Error("refused though kept by the setting")
	}
}

// TestRoster_service_accounts_rotate_and_revoke: the old token stops at
// once; a revoked account is gone for good; names are unique among the
// live ones.
func TestRoster_service_accounts_rotate_and_revoke(t *testing.T) {
	t.Parallel()
	r := given(staff.ServiceAccountCreated{ServiceID: "svc", Name: "orders", SecretHash: staff.HashSecret("t1")})
	if _, err := r.CreateService("x", "orders", nil); !errors.Is(err, staff.ErrInvalid) {
		t.Errorf("a second live account named orders: %v", err)
	}
	rotated := r.Clone().Evolve(staff.ServiceAccountRotated{ServiceID: "svc", SecretHash: staff.HashSecret("t2")})
	if _, ok := rotated.ServiceByToken("svc", staff.HashSecret("t1")); ok {
		t.Error("the old token works after a rotation")
	}
	if _, ok := rotated.ServiceByToken("svc", staff.HashSecret("t2")); !ok {
		t.Error("the new token does not work")
	}
	revoked := rotated.Clone().Evolve(staff.ServiceAccountRevoked{ServiceID: "svc"})
	if _, ok := revoked.ServiceByToken("svc", staff.HashSecret("t2")); ok {
		t.Error("a revoked account's token works")
	}
	if _, err := revoked.RotateService("svc", nil); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("rotating a revoked account: %v", err)
	}
	if _, err := revoked.RevokeService("svc"); !errors.Is(err, staff.ErrNoChange) {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := revoked.CreateService("x", "orders", nil); err != nil {
		t.Errorf("the name of a revoked account: %v", err)
	}
}

// TestRoster_clone_of_the_empty_roster_evolves: the cache clones the
// roster before its first event.
func TestRoster_clone_of_the_empty_roster_evolves(t *testing.T) {
	t.Parallel()
	r := staff.Roster{}.Clone().Evolve(added("ann", staff.RoleOwner))
	if _, ok := r.ByEmail("ann@vendor.example"); !ok {
		t.Fatal("ann is not in the roster")
	}
}
