// Package invalid reports what is wrong with a request field by field.
// A decider collects every problem at once; adapters name the fields (the
// HTTP API as RFC 9457 invalid_params, the portal next to each input)
// while errors.Is still matches the decider's own sentinel error.
package invalid

import (
	"fmt"
	"strings"
)

// Field is one wrong field of a request, and why. Name is the request
// field's name as clients send it ("description", "call_at"); it is empty
// for a problem that no single field causes.
type Field struct {
	Name   string
	Reason string
}

// Error is a request's problems. It matches its kind (the decider's
// sentinel) with errors.Is, and reads "kind: reason; reason".
type Error struct {
	Kind   error
	Fields []Field
}

func (e *Error) Error() string {
	reasons := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		reasons[i] = f.Reason
	}
	return e.Kind.Error() + ": " + strings.Join(reasons, "; ")
}

// Unwrap returns the kind, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

// List collects a request's problems. Its zero value is empty and ready.
type List struct{ fields []Field }

// Add records a problem with the named field; the reason is formatted as
// by fmt.Sprintf.
func (l *List) Add(name, format string, args ...any) {
	l.fields = append(l.fields, Field{Name: name, Reason: fmt.Sprintf(format, args...)})
}

// AddReason records a problem with the named field unless reason is empty.
func (l *List) AddReason(name, reason string) {
	if reason != "" {
		l.fields = append(l.fields, Field{Name: name, Reason: reason})
	}
}

// Fields is a list of problems written as "<field> <reason>": each one's
// first word names its field ("files[0].url must be …" is about
// files[0].url; a trailing colon is dropped).
func Fields(problems []string) *List {
	var l List
	for _, p := range problems {
		name, _, _ := strings.Cut(p, " ")
		l.AddReason(strings.TrimSuffix(name, ":"), p)
	}
	return &l
}

// Err returns nil when the list is empty, else an *Error of kind.
func (l *List) Err(kind error) error {
	if len(l.fields) == 0 {
		return nil
	}
	return &Error{Kind: kind, Fields: l.fields}
}

// New returns an *Error of kind with one problem, of the named field.
func New(kind error, name, format string, args ...any) error {
	var l List
	l.Add(name, format, args...)
	return l.Err(kind)
}

// Several is a request's problems of different kinds (an *Error of one
// decider's, a sentinel of another's), reported at once; each names its
// own field. errors.Is and errors.As see every one of them.
type Several struct{ Errs []error }

func (s *Several) Error() string {
	msgs := make([]string, len(s.Errs))
	for i, err := range s.Errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (s *Several) Unwrap() []error { return s.Errs }

// Join returns nil when every err is nil, the one error when only one is
// not, and else a *Several of those that are not.
func Join(errs ...error) error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return &Several{Errs: out}
}
