package invitation_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/invitation"
)

var (
	t0   = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	hash = invitation.HashToken("s3cret-link-token")
)

func issued() invitation.Issued {
	return invitation.Issued{InvitationID: "inv-1", AccountID: "acc-1", Email: "bob@example.com", Language: "de",
		InvitedBy: "ada", ExpiresAt: t0.Add(invitation.Validity), TokenHash: hash}
}

func given(events ...any) invitation.Invitation {
	var i invitation.Invitation
	for _, e := range events {
		i = i.Evolve(e)
	}
	return i
}

// Rule MEM-4: an invitation goes to one address, in a language, and
// expires 14 days after it was issued.
func TestIssue_MEM4(t *testing.T) {
	t.Parallel()
	got, err := given().Issue("inv-1", "acc-1", "  Bob@Example.COM ", "DE", "ada", hash, t0)
	if err != nil || !reflect.DeepEqual(got, []any{issued()}) {
		t.Fatalf("issue = %#v, %v", got, err)
	}
	for name, c := range map[string]struct {
		email, lang string
		want        error
	}{
		"no address":       {"bob", "en", invitation.ErrBadEmail},
		"display name":     {"Bob <bob@example.com>", "en", invitation.ErrBadEmail},
		"bad language":     {"bob@example.com", "german", invitation.ErrBadLang},
		"language missing": {"bob@example.com", "", invitation.ErrBadLang},
	} {
		if _, err := given().Issue("inv-1", "acc-1", c.email, c.lang, "ada", hash, t0); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	if _, err := given(issued()).Issue("inv-1", "acc-1", "bob@example.com", "en", "ada", hash, t0); !errors.Is(err, invitation.ErrExists) {
		t.Errorf("issuing twice: err = %v", err)
	}
}

// Rule MEM-4: the link works once, with its own token, within 14 days,
// unless revoked.
func TestAccept_MEM4(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		given []any
		token string
		at    time.Time
		want  error
	}{
		{"on time", []any{issued()}, "s3cret-link-token", t0.Add(13 * 24 * time.Hour), nil},
		{"a wrong token", []any{issued()}, "guess", t0, invitation.ErrBadToken},
		{"after 14 days", []any{issued()}, "s3cret-link-token", t0.Add(invitation.Validity), invitation.ErrExpired},
		{"twice", []any{issued(), invitation.Accepted{PersonID: "bob"}}, "s3cret-link-token", t0, invitation.ErrUsed},
		{"revoked", []any{issued(), invitation.Revoked{By: "ada"}}, "s3cret-link-token", t0, invitation.ErrRevoked},
		{"never issued", nil, "s3cret-link-token", t0, invitation.ErrNotFound},
	}
	for _, c := range cases {
		got, err := given(c.given...).Accept("bob", c.token, c.at)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && !reflect.DeepEqual(got, []any{invitation.Accepted{PersonID: "bob"}}) {
			t.Errorf("%s: decided %#v", c.name, got)
		}
	}
}

// Rule MEM-4: admins revoke pending invitations.
func TestRevoke_MEM4(t *testing.T) {
	t.Parallel()
	if got, err := given(issued()).Revoke("ada"); err != nil || !reflect.DeepEqual(got, []any{invitation.Revoked{By: "ada"}}) {
		t.Fatalf("revoke = %#v, %v", got, err)
	}
	if _, err := given(issued(), invitation.Accepted{PersonID: "bob"}).Revoke("ada"); !errors.Is(err, invitation.ErrNotPending) {
		t.Errorf("revoking an accepted invitation: err = %v", err)
	}
	if st := given(issued(), invitation.Revoked{By: "ada"}).State(); st != invitation.StateRevoked {
		t.Errorf("state = %s", st)
	}
}

func TestEvents_round_trip_through_the_registry(t *testing.T) {
	t.Parallel()
	reg := event.NewRegistry()
	invitation.Register(reg)
	data, v, err := reg.Encode(invitation.TypeIssued, issued())
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Decode(event.Record{Type: invitation.TypeIssued, SchemaVersion: v, Data: data})
	if err != nil || !reflect.DeepEqual(got, issued()) {
		t.Fatalf("round trip = %#v, %v", got, err)
	}
}
