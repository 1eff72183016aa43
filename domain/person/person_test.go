package person_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/person"
)

var (
	t0         = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	verifyHash = person.HashToken("verify-token")
)

func signedUp() person.SignedUp {
	return person.SignedUp{PersonID: "ada", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", TermsVersion: "2026-01",
		VerificationTokenHash: verifyHash, VerificationExpiresAt: t0.Add(person.VerificationValidity)}
}

func given(events ...any) person.Person {
	var p person.Person
	for _, e := range events {
		p = p.Evolve(e)
	}
	return p
}

// Rule MEM-1: sign-up needs first and last name, email, a password (its
// hash) and acceptance of the terms of use.
func TestSignUp_MEM1(t *testing.T) {
	t.Parallel()
	s := signedUp()
	got, err := given().SignUp("ada", "Ada", "Lovelace", s.Email, s.PasswordHash, "2026-01", verifyHash, t0)
	if err != nil || !reflect.DeepEqual(got, []any{s}) {
		t.Fatalf("sign-up = %#v, %v", got, err)
	}
	cases := map[string]struct {
		first, terms string
		want         error
	}{
		"terms not accepted": {"Ada", "", person.ErrTerms},
		"no first name":      {" ", "2026-01", person.ErrInvalid},
	}
	for name, c := range cases {
		if _, err := given().SignUp("ada", c.first, "Lovelace", s.Email, s.PasswordHash, c.terms, verifyHash, t0); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	if _, err := given(s).SignUp("ada", "Ada", "Lovelace", s.Email, s.PasswordHash, "2026-01", verifyHash, t0); !errors.Is(err, person.ErrExists) {
		t.Errorf("signing up twice: err = %v", err)
	}
}

// Rule MEM-1: passwords are long enough and not the email address.
func TestCheckPassword_MEM1(t *testing.T) {
	t.Parallel()
	for pw, ok := range map[string]bool{
		"correct horse battery":  true,
		"short":                  false,
		"ada@example.com":        false,
		strings.Repeat("x", 129): false,
		// rule X-7: no control character, no broken UTF-8
		"correct horse\x00battery":  false,
		"correct horse\tbattery":    false,
		"correct horse \xffbattery": false,
	} {
		if err := person.CheckPassword(pw, "ada@example.com"); (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v", pw, err)
		}
	}
}

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	if got, err := given(signedUp()).VerifyEmail("verify-token", t0.Add(time.Hour)); err != nil || !reflect.DeepEqual(got, []any{person.EmailVerified{}}) {
		t.Fatalf("verify = %#v, %v", got, err)
	}
	for name, c := range map[string]struct {
		p     person.Person
		token string
		at    time.Time
		want  error
	}{
		"wrong token":  {given(signedUp()), "guess", t0, person.ErrBadLink},
		"expired link": {given(signedUp()), "verify-token", t0.Add(person.VerificationValidity), person.ErrBadLink},
		"verified":     {given(signedUp(), person.EmailVerified{}), "verify-token", t0, person.ErrVerified},
	} {
		if _, err := c.p.VerifyEmail(c.token, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

// Rule MEM-4: a person who signs up through an invitation link has a
// verified address and gets no verification link.
func TestSignUpInvited_MEM4(t *testing.T) {
	t.Parallel()
	got, err := given().SignUpInvited("p1", "Ada", "Lovelace", "ada@example.com", "hash", "2026-01", "inv-1")
	want := person.SignedUp{PersonID: "p1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		PasswordHash: "hash", TermsVersion: "2026-01", VerifiedByInvitation: "inv-1"}
	if err != nil || !reflect.DeepEqual(got, []any{want}) {
		t.Fatalf("sign-up = %#v, %v", got, err)
	}
	if !given(want).Verified() {
		t.Fatal("not verified after signing up through an invitation")
	}
	if _, err := given().SignUpInvited("p1", "Ada", "Lovelace", "ada@example.com", "hash", "", "inv-1"); !errors.Is(err, person.ErrTerms) {
		t.Fatalf("without the terms: %v", err)
	}
}

// Rule MEM-1: a forgotten password is reset through a single-use link
// that expires; only the newest link works.
func TestResetPassword_MEM1(t *testing.T) {
	t.Parallel()
	requested := person.PasswordResetRequested{ResetID: "r1", TokenHash: person.HashToken("reset-1"), ExpiresAt: t0.Add(person.ResetValidity)}
	if got, err := given(signedUp()).RequestPasswordReset("r1", person.HashToken("reset-1"), t0); err != nil || !reflect.DeepEqual(got, []any{requested}) {
		t.Fatalf("request = %#v, %v", got, err)
	}
	p := given(signedUp(), requested)
	if got, err := p.ResetPassword("reset-1", "new-hash", t0.Add(time.Minute)); err != nil ||
		!reflect.DeepEqual(got, []any{person.PasswordReset{PasswordHash: "new-hash"}}) {
		t.Fatalf("reset = %#v, %v", got, err)
	}
	newer := person.PasswordResetRequested{TokenHash: person.HashToken("reset-2"), ExpiresAt: t0.Add(2 * person.ResetValidity)}
	for name, c := range map[string]struct {
		p     person.Person
		token string
		at    time.Time
	}{
		"used twice":      {given(signedUp(), requested, person.PasswordReset{PasswordHash: "h"}), "reset-1", t0},
		"expired":         {p, "reset-1", t0.Add(person.ResetValidity)},
		"wrong token":     {p, "reset-x", t0},
		"superseded":      {given(signedUp(), requested, newer), "reset-1", t0},
		"never requested": {given(signedUp()), "reset-1", t0},
	} {
		if _, err := c.p.ResetPassword(c.token, "h2", c.at); !errors.Is(err, person.ErrBadLink) {
			t.Errorf("%s: err = %v, want ErrBadLink", name, err)
		}
	}
}

// Rule MEM-1: a password reset revokes every live personal API token, each
// by an event of its own that names the reset as the reason; a token
// revoked earlier is not revoked again, and a person without tokens gets
// the reset alone.
func TestResetPassword_revokes_every_API_token_MEM1(t *testing.T) {
	t.Parallel()
	requested := person.PasswordResetRequested{ResetID: "r1", TokenHash: person.HashToken("reset-1"), ExpiresAt: t0.Add(person.ResetValidity)}
	tok := func(id string) person.APITokenIssued {
		return person.APITokenIssued{TokenID: id, Name: "ci " + id, TokenHash: person.HashToken("secret-" + id)}
	}
	p := given(signedUp(), tok("t2"), tok("t1"), tok("t3"), person.APITokenRevoked{TokenID: "t3"}, requested)
	got, err := p.ResetPassword("reset-1", "new-hash", t0.Add(time.Minute))
	want := []any{person.PasswordReset{PasswordHash: "new-hash"},
		person.APITokenRevoked{TokenID: "t1", Reason: person.ReasonPasswordReset},
		person.APITokenRevoked{TokenID: "t2", Reason: person.ReasonPasswordReset}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("reset = %#v, %v; want %#v", got, err, want)
	}
	after := given(append([]any{signedUp(), tok("t2"), tok("t1"), tok("t3"), person.APITokenRevoked{TokenID: "t3"}, requested}, got...)...)
	if left := after.APITokens(); len(left) != 0 {
		t.Fatalf("tokens left after the reset: %v", left)
	}
	if _, ok := after.APIToken(person.HashToken("secret-t1")); ok {
		t.Fatal("a token still authenticates after the reset")
	}
}

func TestProfile_and_password_changes(t *testing.T) {
	t.Parallel()
	p := given(signedUp())
	if got, err := p.ChangeProfile("Augusta Ada", "King"); err != nil ||
		!reflect.DeepEqual(got, []any{person.ProfileChanged{FirstName: "Augusta Ada", LastName: "King"}}) {
		t.Fatalf("change profile = %#v, %v", got, err)
	}
	if _, err := p.ChangeProfile("Ada", "Lovelace"); !errors.Is(err, person.ErrNoChange) {
		t.Errorf("same name: err = %v", err)
	}
	if got := given(signedUp(), person.PasswordChanged{PasswordHash: "h2"}).PasswordHash(); got != "h2" {
		t.Errorf("password hash after a change = %q", got)
	}
}

// Personal API tokens are stored as hashes, found by hash, and revocable.
func TestAPITokens(t *testing.T) {
	t.Parallel()
	issued := person.APITokenIssued{TokenID: "tok-1", Name: "backup script", TokenHash: person.HashToken("slt_secret")}
	got, err := given(signedUp()).IssueAPIToken("tok-1", "backup script", person.HashToken("slt_secret"))
	if err != nil || !reflect.DeepEqual(got, []any{issued}) {
		t.Fatalf("issue = %#v, %v", got, err)
	}
	p := given(signedUp(), issued)
	if tok, ok := p.APIToken(person.HashToken("slt_secret")); !ok || tok.TokenID != "tok-1" {
		t.Fatal("the token is not found by its hash")
	}
	if _, ok := p.APIToken(person.HashToken("slt_guess")); ok {
		t.Fatal("a wrong token is accepted")
	}
	revoked := p.Evolve(person.APITokenRevoked{TokenID: "tok-1"})
	if _, ok := revoked.APIToken(person.HashToken("slt_secret")); ok {
		t.Fatal("a revoked token is still accepted")
	}
	if _, ok := p.APIToken(person.HashToken("slt_secret")); !ok {
		t.Fatal("evolving a copy changed the original")
	}
	if _, err := revoked.RevokeAPIToken("tok-1"); !errors.Is(err, person.ErrNoToken) {
		t.Errorf("revoking twice: err = %v", err)
	}
	full := given(signedUp())
	for i := range person.MaxAPITokens {
		full = full.Evolve(person.APITokenIssued{TokenID: string(rune('a' + i)), Name: "t", TokenHash: person.HashToken(string(rune('a' + i)))})
	}
	if _, err := full.IssueAPIToken("tok-x", "one more", person.HashToken("x")); !errors.Is(err, person.ErrTooManyTokens) {
		t.Errorf("token over the limit: err = %v", err)
	}
}

func TestEvents_round_trip_through_the_registry(t *testing.T) {
	t.Parallel()
	reg := event.NewRegistry()
	person.Register(reg)
	data, v, err := reg.Encode(person.TypeSignedUp, signedUp())
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Decode(event.Record{Type: person.TypeSignedUp, SchemaVersion: v, Data: data})
	if err != nil || !reflect.DeepEqual(got, signedUp()) {
		t.Fatalf("round trip = %#v, %v", got, err)
	}
}

// rules MEM-1, X-7: an address is compared after normalization, and one
// with invisible characters (a look-alike of another) is refused, as is
// one with white space around it; nothing is trimmed or replaced.
func TestNormalizeEmail_MEM1_X7_refuses_look_alikes(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"Ada@Example.com": "ada@example.com",
		"ada@example.com": "ada@example.com",
	} {
		if got, err := person.NormalizeEmail(raw); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"ada\u200b@example.com", // zero-width space
		"ada@example.com\u200b",
		"\u202eada@example.com", // right-to-left override
		"ada@exam\u00adple.com", // soft hyphen
		"ada@example.com\ufeff", // byte order mark
		" ada@example.com", "ada@example.com ", "ada@example.com\n",
		"ada\x00@example.com", "ada\xff@example.com",
		"Ada <ada@example.com>", "<ada@example.com>", "ada@example.com (Ada)",
		"", "ada", strings.Repeat("a", 250) + "@example.com",
	} {
		_, err := person.NormalizeEmail(raw)
		var fields *invalid.Error
		if !errors.Is(err, person.ErrInvalid) || !errors.As(err, &fields) || fields.Fields[0].Name != "email" {
			t.Errorf("NormalizeEmail(%q) = %v, want ErrInvalid naming email", raw, err)
		}
	}
}

// rule X-7: names are one line of visible text, taken as given; each
// wrong one is named.
func TestSignUp_X7_names_are_clean_text(t *testing.T) {
	t.Parallel()
	s := signedUp()
	for _, c := range []struct{ first, last, field string }{
		{" Ada", "Lovelace", "first_name"},
		{"Ada", "Love\nlace", "last_name"},
		{"A\u200bda", "Lovelace", "first_name"},
		{"Ada", "Lovelace\u202e", "last_name"},
		{"Ada\x00", "Lovelace", "first_name"},
		{strings.Repeat("a", 101), "Lovelace", "first_name"},
		{"", "Lovelace", "first_name"},
	} {
		_, err := given().SignUp("ada", c.first, c.last, s.Email, s.PasswordHash, "2026-01", person.HashToken("verify-token"), t0)
		var fields *invalid.Error
		if !errors.Is(err, person.ErrInvalid) || !errors.As(err, &fields) || fields.Fields[0].Name != c.field {
			t.Errorf("SignUp(%q, %q) = %v, want ErrInvalid naming %s", c.first, c.last, err, c.field)
		}
	}
	if _, err := given().SignUp("ada", "Zoë 🚀", "O'Brien-\"Smith\" \\", s.Email, s.PasswordHash, "2026-01", person.HashToken("verify-token"), t0); err != nil {
		t.Errorf("a name with an emoji, quotes and a backslash: %v", err)
	}
	if _, err := given(s).IssueAPIToken("t", "backup\u2028script", person.HashToken("x")); !errors.Is(err, person.ErrInvalid) {
		t.Errorf("a token name with a line separator: %v", err)
	}
}
