package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"seatledger/commands"
	"seatledger/domain/staff"
	"seatledger/infra/sqldb/sqldbtest"
)

var bootstrap = commands.Meta{Actor: staff.AdminToken, CorrelationID: "corr-bootstrap"}

// TestStaff_secrets_are_answered_once_and_decisions_cross_processes_X8:
// the roster's commands mint secrets answered once, so a retry with the
// same idempotency key decides anew rather than answering a token that
// was never stored; a TOTP code is good once, the next step's code signs
// in; and a removal in one process ends the session the other process's
// cache still held, and the removed owner's power with it (X-8: caches are hints checked against the log).
func TestStaff_secrets_are_answered_once_and_decisions_cross_processes_X8(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, clk := twoProcesses(t, sqldbtest.SQLite(t))
	retried := bootstrap
	retried.IdempotencyKey = "add-ann"
	added, err := a.Staff.AddStaff(ctx, retried, "ann@vendor.example", "Ann", staff.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Staff.AddStaff(ctx, retried, "ann@vendor.example", "Ann", staff.RoleOwner); !errors.Is(err, staff.ErrEmailTaken) {
		t.Errorf("a retry of AddStaff = %v, want ErrEmailTaken (its first token is not answered twice)", err)
	}
	if _, err := a.Staff.EnrolStaff(ctx, bootstrap, "ann@vendor.example", added.EnrolmentToken, "short"); err == nil {
		t.Error("a weak password was accepted")
	}
	e, err := b.Staff.EnrolStaff(ctx, bootstrap, "ann@vendor.example", added.EnrolmentToken, "saffron lantern quarry")
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(e.TOTPSecret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The enrolment counts once the authenticator's first code confirms
	// it (issue 23): until then nobody signs in, and a wrong code
	// confirms nothing.
	if _, err := a.Staff.SignInStaff(ctx, commands.Meta{}, "ann@vendor.example", "saffron lantern quarry", code); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("a sign-in before the enrolment is confirmed = %v", err)
	}
	if _, _, err := a.Staff.ConfirmStaffEnrolment(ctx, bootstrap, "ann@vendor.example", added.EnrolmentToken, "12345"); !errors.Is(err, staff.ErrInvalid) {
		t.Errorf("confirming with a malformed code = %v", err)
	}
	previous, err := totp.GenerateCode(e.TOTPSecret, clk.Now().Add(-30*time.Second)) // one step of drift
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Staff.ConfirmStaffEnrolment(ctx, bootstrap, "ann@vendor.example", added.EnrolmentToken, previous); err != nil {
		t.Fatalf("confirming the enrolment: %v", err)
	}
	if _, err := a.Staff.EnrolStaff(ctx, bootstrap, "ann@vendor.example", added.EnrolmentToken, "saffron lantern quarry"); !errors.Is(err, staff.ErrEnrolled) {
		t.Errorf("a second enrolment = %v", err)
	}
	if _, err := a.Staff.SignInStaff(ctx, commands.Meta{}, "ann@vendor.example", "saffron lantern quarry", previous); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("the confirmation's code signs in = %v", err)
	}
	sess, err := a.Staff.SignInStaff(ctx, commands.Meta{}, "ann@vendor.example", "saffron lantern quarry", code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Staff.SignInStaff(ctx, commands.Meta{}, "ann@vendor.example", "saffron lantern quarry", code); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("the same code through the other process = %v", err)
	}
	clk.Advance(30 * time.Second)
	next, err := totp.GenerateCode(e.TOTPSecret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Staff.SignInStaff(ctx, commands.Meta{}, "ann@vendor.example", "saffron lantern quarry", next); err != nil {
		t.Errorf("the next step's code = %v", err)
	}
	actor, err := b.Staff.AuthenticateStaff(ctx, sess.Token)
	if err != nil || actor != staff.Actor(e.StaffID) {
		t.Fatalf("the session in the other process: %v %v", actor, err)
	}
	owner := commands.Meta{Actor: actor}
	second, err := a.Staff.AddStaff(ctx, owner, "bob@vendor.example", "Bob", staff.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	bob := commands.Meta{Actor: staff.Actor(second.StaffID)}
	if _, err := a.Staff.RemoveStaff(ctx, bob, e.StaffID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Staff.AuthenticateStaff(ctx, sess.Token); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("a removed person's session in the other process's cache = %v", err)
	}
	if _, err := b.Staff.AddStaff(ctx, owner, "eve@vendor.example", "Eve", staff.RoleOwner); !errors.Is(err, staff.ErrForbidden) {
		t.Errorf("a removed owner adding staff = %v", err)
	}
	if _, err := b.Staff.RemoveStaff(ctx, bob, second.StaffID); !errors.Is(err, staff.ErrLastOwner) {
		t.Errorf("removing the last owner through the other process = %v", err)
	}
}
