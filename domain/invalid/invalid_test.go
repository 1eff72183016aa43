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
