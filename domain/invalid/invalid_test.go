package invalid_test

import (
	"errors"
	"testing"

	"seatledger/domain/invalid"
)

var errBad = errors.New("thing: invalid request")

func TestList_reports_every_field_and_matches_its_kind(t *testing.T) {
	var l invalid.List
	if err := l.Err(errBad); err != nil {
		t.Fatalf("an empty list is an error: %v", err)
	}
	l.Add("name", "name is longer than %d characters", 80)
	l.AddReason("notes", "")
	l.AddReason("", "a request needs an author")
	err := l.Err(errBad)
	if !errors.Is(err, errBad) {
		t.Fatalf("%v does not match its kind", err)
	}
	if got, want := err.Error(), "thing: invalid request: name is longer than 80 characters; a request needs an author"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	var e *invalid.Error
	if !errors.As(err, &e) || len(e.Fields) != 2 || e.Fields[0].Name != "name" || e.Fields[1].Name != "" {
		t.Fatalf("fields %+v", e)
	}
}

func TestNew_names_one_field(t *testing.T) {
	var e *invalid.Error
	err := invalid.New(errBad, "notes", "notes are text of at most %d characters", 2000)
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0] != (invalid.Field{Name: "notes", Reason: "notes are text of at most 2000 characters"}) {
		t.Fatalf("%+v", e)
	}
}

func TestJoin_reports_problems_of_several_kinds_at_once(t *testing.T) {
	errTerms := errors.New("thing: terms not accepted")
	if invalid.Join(nil, nil) != nil {
		t.Fatal("no problem is an error")
	}
	if err := invalid.Join(nil, errTerms); err != errTerms {
		t.Fatalf("one problem comes back as %v, want it as it is", err)
	}
	err := invalid.Join(invalid.New(errBad, "email", "email is required"), nil, errTerms)
	var several *invalid.Several
	if !errors.As(err, &several) || len(several.Errs) != 2 || !errors.Is(err, errBad) || !errors.Is(err, errTerms) {
		t.Fatalf("%v does not hold both problems", err)
	}
	if got, want := err.Error(), "thing: invalid request: email is required; thing: terms not accepted"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
