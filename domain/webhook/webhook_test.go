package webhook_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"seatledger/domain/invalid"
	"seatledger/domain/webhook"
)

var at = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func known(name string) bool { return name == "member.joined" || name == "ticket.opened" }

var strict = webhook.Policy{KnownType: known}

func given(events ...any) webhook.Endpoints {
	var s webhook.Endpoints
	for _, e := range events {
		s = s.Evolve(e, at)
	}
	return s
}

func created(id string) webhook.Created {
	return webhook.Created{EndpointID: id, URL: "https://hooks.example.com/" + id, SecretNonce: "n-" + id, By: "p1"}
}

// Issue 22: an endpoint's URL is https (http only where the setting
// allows it), absolute, without credentials or fragment, its types are
// public feed names, and each refusal names the field (rule X-7).
func TestCreate_validates_url_and_types_X7(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		policy webhook.Policy
		url    string
		types  []string
		field  string // "" when accepted
	}{
		{"https", strict, "https://hooks.example.com/in", nil, ""},
		{"types known", strict, "https://hooks.example.com/in", []string{"ticket.opened", "member.joined"}, ""},
		{"plain http refused", strict, "http://hooks.example.com/in", nil, "url"},
		{"plain http allowed by the setting", webhook.Policy{AllowHTTP: true, KnownType: known}, "http://127.0.0.1:8080/in", nil, ""},
		{"empty", strict, "", nil, "url"},
		{"relative", strict, "/hooks", nil, "url"},
		{"other scheme", strict, "ftp://hooks.example.com/", nil, "url"},
		{"credentials", strict, "https://user:pw@hooks.example.com/", nil, "url"},
		{"fragment", strict, "https://hooks.example.com/#x", nil, "url"},
		{"invisible", strict, "https://hooks.example.com/\u200b", nil, "url"},
		{"single-label host", strict, "https://intranet/", nil, "url"},
		{"unknown type", strict, "https://hooks.example.com/", []string{"ticket.opened", "nope.never"}, "types[1]"},
		{"control char in type", strict, "https://hooks.example.com/", []string{"ticket.opened\x00"}, "types[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			events, err := given().Create(c.policy, "w1", c.url, c.types, "nonce", "p1")
			if c.field == "" {
				if err != nil || len(events) != 1 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *invalid.Error
			if !errors.As(err, &ie) || !errors.Is(err, webhook.ErrInvalid) {
				t.Fatalf("got %v, want an invalid field %s", err, c.field)
			}
			if ie.Fields[0].Name != c.field {
				t.Errorf("named %q, want %q (%v)", ie.Fields[0].Name, c.field, err)
			}
		})
	}
}

// Issue 22: at most MaxEndpoints endpoints per account; a deleted one
// frees its place.
func TestCreate_limit_per_account(t *testing.T) {
	t.Parallel()
	var events []any
	for i := range webhook.MaxEndpoints {
		events = append(events, created(fmt.Sprintf("w%d", i)))
	}
	s := given(events...)
	if _, err := s.Create(strict, "wx", "https://hooks.example.com/x", nil, "n", "p1"); !errors.Is(err, webhook.ErrLimit) {
		t.Fatalf("an eleventh endpoint: %v, want ErrLimit", err)
	}
	s = s.Evolve(webhook.Deleted{EndpointID: "w3", By: "p1"}, at)
	if _, err := s.Create(strict, "wx", "https://hooks.example.com/x", nil, "n", "p1"); err != nil {
		t.Fatalf("after a deletion: %v", err)
	}
}

// Issue 22: a rotation keeps the previous secret signing for a day; a
// failing endpoint is disabled once (an admin's disable wins), enabled
// again by an admin, and a deleted one is gone.
func TestEndpoints_rotate_disable_enable_delete(t *testing.T) {
	t.Parallel()
	s := given(created("w1"))
	events, err := s.RotateSecret("w1", "n2", "p1", at)
	if err != nil {
		t.Fatal(err)
	}
	s = s.Evolve(events[0], at)
	e, _ := s.Get("w1")
	if e.SecretNonce != "n2" || e.PreviousNonce != "n-w1" || !e.PreviousUntil.Equal(at.Add(webhook.RotationOverlap)) {
		t.Errorf("after rotation: %+v", e)
	}

	events, err = s.DisableFailing("w1", "ev-1", at.Add(-72*time.Hour), "HTTP 500")
	if err != nil || len(events) != 1 || events[0].(webhook.Disabled).Reason != webhook.ReasonFailing {
		t.Fatalf("disable failing: %v %v", events, err)
	}
	s = s.Evolve(events[0], at)
	if events, _ := s.DisableFailing("w1", "ev-1", at, ""); len(events) != 0 {
		t.Errorf("disabled twice: %v", events)
	}
	if events, _ := s.Disable("w1", "p1"); len(events) != 0 {
		t.Errorf("an admin's disable of a disabled endpoint: %v", events)
	}
	events, err = s.Enable("w1", "p1")
	if err != nil || len(events) != 1 {
		t.Fatalf("enable: %v %v", events, err)
	}
	s = s.Evolve(events[0], at)
	if e, _ := s.Get("w1"); !e.Enabled {
		t.Error("not enabled")
	}
	events, _ = s.Delete("w1", "p1")
	s = s.Evolve(events[0], at)
	for name, f := range map[string]func() ([]any, error){
		"update":  func() ([]any, error) { return s.Update(strict, "w1", "https://a.example.com/", nil, "p1") },
		"rotate":  func() ([]any, error) { return s.RotateSecret("w1", "n3", "p1", at) },
		"disable": func() ([]any, error) { return s.Disable("w1", "p1") },
		"enable":  func() ([]any, error) { return s.Enable("w1", "p1") },
		"delete":  func() ([]any, error) { return s.Delete("w1", "p1") },
		"resend":  func() ([]any, error) { return s.Resend("w1", "d1", "ev-1", 7, "p1") },
	} {
		if _, err := f(); !errors.Is(err, webhook.ErrNotFound) {
			t.Errorf("%s of a deleted endpoint: %v, want ErrNotFound", name, err)
		}
	}
	if _, ok := s.Get("w1"); ok {
		t.Error("deleted endpoint still listed")
	}
}

// An update to the same values records nothing; types are kept sorted
// without duplicates.
func TestUpdate_same_values_records_nothing(t *testing.T) {
	t.Parallel()
	s := given(webhook.Created{EndpointID: "w1", URL: "https://a.example.com/", Types: []string{"member.joined", "ticket.opened"}, SecretNonce: "n", By: "p1"})
	events, err := s.Update(strict, "w1", "https://a.example.com/", []string{"ticket.opened", "member.joined", "ticket.opened"}, "p1")
	if err != nil || len(events) != 0 {
		t.Errorf("same values: %v %v", events, err)
	}
	events, err = s.Update(strict, "w1", "https://b.example.com/", nil, "p1")
	if err != nil || len(events) != 1 || events[0].(webhook.Updated).Types != nil {
		t.Errorf("new URL, all types: %v %v", events, err)
	}
}
