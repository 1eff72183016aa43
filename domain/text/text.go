// Package text is rule X-7 for the text a command accepts: valid UTF-8
// with no NUL or other control characters, identifiers and names without
// invisible formatting characters, and every length bounded. Each check
// returns the reason a value is refused ("" when it is fine), worded for
// the field's name, so that a decider collects them in an invalid.List
// and the HTTP API and the portal name the field. Nothing is trimmed,
// replaced or defaulted here: a value is taken as it is, or refused.
//
// Why these checks, beyond taste: PostgreSQL refuses NUL in text and in
// JSON, so an event carrying one could never be applied by a read model
// on that engine, and a string longer than an index row allows fails the
// same way; look-alike identifiers (a zero-width space in an address, a
// right-to-left override in a server ID) would let two things pass for
// one (MEM-1).
package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a text field holds, which decides what it may contain.
type Kind int

// The kinds of text fields.
const (
	// Identifier: IDs, keys, codes, email addresses, versions, server
	// names. One line; no control or invisible formatting character; no
	// white space but the plain space (U+0020), and none at either end.
	Identifier Kind = iota
	// Name: a name or title shown on one line (a person's or company's
	// name, a farm name, a subject). As Identifier, but any visible space
	// may sit inside it.
	Name
	// Free: free text (notes, descriptions, replies). Line breaks and tabs
	// are kept; invisible formatting characters are allowed, since
	// right-to-left text needs them; no other control character.
	Free
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Identifier:
		return "identifier"
	case Name:
		return "name"
	case Free:
		return "free text"
	}
	return fmt.Sprintf("text.Kind(%d)", int(k))
}

// Check returns why value is not acceptable as a field of kind named
// field with at most max characters (runes), or "" when it is. An empty
// value passes: whether a field may be empty is the decider's rule.
func Check(field, value string, kind Kind, max int) string {
	if !utf8.ValidString(value) {
		return fmt.Sprintf("%s is not valid UTF-8 text", field)
	}
	if n := utf8.RuneCountInString(value); n > max {
		return fmt.Sprintf("%s is longer than %d characters", field, max)
	}
	for i, r := range value {
		if reason := refused(r, kind); reason != "" {
			return fmt.Sprintf("%s holds %s (U+%04X) at byte %d", field, reason, r, i)
		}
	}
	if kind != Free && value != "" {
		first, _ := utf8.DecodeRuneInString(value)
		last, _ := utf8.DecodeLastRuneInString(value)
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			return fmt.Sprintf("%s starts or ends with white space", field)
		}
	}
	return ""
}

// Required is Check for a field that must not be empty; white space
// alone counts as empty.
func Required(field, value string, kind Kind, max int) string {
	if strings.TrimSpace(value) == "" {
		return fmt.Sprintf("%s is required", field)
	}
	return Check(field, value, kind, max)
}

// refused names what r is when a field of kind may not hold it.
func refused(r rune, kind Kind) string {
	switch {
	case r == 0:
		return "a NUL character"
	case unicode.IsControl(r): // C0, DEL and C1
		if kind == Free && (r == '\n' || r == '\r' || r == '\t') {
			return ""
		}
		return "a control character"
	case r == '\u2028' || r == '\u2029':
		if kind == Free {
			return ""
		}
		return "a line or paragraph separator"
	case kind == Free:
		return ""
	case unicode.Is(unicode.Cf, r) || invisible(r):
		return "an invisible formatting character"
	case kind == Identifier && r != ' ' && unicode.IsSpace(r):
		return "a white space other than a plain space"
	}
	return ""
}

// invisible reports characters outside category Cf that render as
// nothing and so make look-alikes: the Hangul fillers, the braille blank,
// variation selectors and the combining grapheme joiner.
func invisible(r rune) bool {
	switch {
	case r == '\u115F' || r == '\u1160' || r == '\u3164' || r == '\uFFA0': // Hangul fillers
		return true
	case r == '\u2800': // braille pattern blank
		return true
	case r == '\u034F': // combining grapheme joiner
		return true
	case r >= '\uFE00' && r <= '\uFE0F', r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	}
	return false
}

// Valid reports whether value passes Check; for callers that only need a
// yes or no (a lookup that must not reach the database with garbage).
func Valid(value string, kind Kind, max int) bool {
	return Check("", value, kind, max) == ""
}
