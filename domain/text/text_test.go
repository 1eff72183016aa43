package text_test

import (
	"strings"
	"testing"

	"seatledger/domain/text"
)

// rule X-7: text is valid UTF-8 without NUL or control characters (free
// text keeps line breaks and tabs); identifiers and names hold no
// invisible formatting characters; every length is bounded.
func TestCheck_X7_refuses_what_a_kind_may_not_hold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value string
		kind  text.Kind
		want  string // a part of the reason; "" means accepted
	}{
		{"plain identifier", "srv-1", text.Identifier, ""},
		{"identifier with inner space", "order 42", text.Identifier, ""},
		{"empty is the decider's business", "", text.Identifier, ""},
		{"raw invalid byte", "a\xffb", text.Identifier, "not valid UTF-8"},
		{"overlong slash", "\xc0\xaf", text.Name, "not valid UTF-8"},
		{"encoded surrogate", "\xed\xa0\x80", text.Free, "not valid UTF-8"},
		{"NUL in an identifier", "sw-11\x00", text.Identifier, "NUL"},
		{"NUL in free text", "a\x00b", text.Free, "NUL"},
		{"escape in free text", "a\x1bb", text.Free, "control character"},
		{"DEL in a name", "a\x7fb", text.Name, "control character"},
		{"C1 control in free text", "a\u0085b", text.Free, "control character"},
		{"line break in a name", "Acme\nInc", text.Name, "control character"},
		{"tab in an identifier", "a\tb", text.Identifier, "control character"},
		{"line breaks and tabs in free text", "line 1\r\nline 2\tend", text.Free, ""},
		{"zero-width space in an address", "ann\u200b@example.com", text.Identifier, "invisible formatting"},
		{"right-to-left override in a name", "moc.elpmaxe\u202e", text.Name, "invisible formatting"},
		{"byte order mark", "\ufeffabc", text.Identifier, "invisible formatting"},
		{"Hangul filler", "a\u3164b", text.Name, "invisible formatting"},
		{"bidi marks in free text", "\u202bשלום\u202c world", text.Free, ""},
		{"line separator in a name", "a\u2028b", text.Name, "line or paragraph separator"},
		{"no-break space in an identifier", "a\u00a0b", text.Identifier, "white space other than a plain space"},
		{"no-break space in a name", "Jean\u00a0Luc", text.Name, ""},
		{"leading space", " Acme", text.Name, "starts or ends with white space"},
		{"trailing space", "srv-1 ", text.Identifier, "starts or ends with white space"},
		{"free text keeps its edges", "  indented\n", text.Free, ""},
		{"emoji in a name", "Café 🚀", text.Name, ""},
		{"quotes and backslashes", `O'Brien "the" \ one`, text.Name, ""},
		{"too long", strings.Repeat("é", 11), text.Name, "longer than 10 characters"},
		{"at the bound", strings.Repeat("é", 10), text.Name, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := text.Check("field", c.value, c.kind, 10+len(c.value)*boolInt(c.name != "too long" && c.name != "at the bound"))
			switch {
			case c.want == "" && got != "":
				t.Fatalf("%q refused as %s: %s", c.value, c.kind, got)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Fatalf("%q as %s: reason %q, want one saying %q", c.value, c.kind, got, c.want)
			case c.want != "" && !strings.HasPrefix(got, "field "):
				t.Fatalf("reason %q does not name the field", got)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rule X-7: a required field is refused when empty, naming it.
func TestRequired_X7_names_the_missing_field(t *testing.T) {
	t.Parallel()
	if got := text.Required("server_id", "", text.Identifier, 10); got != "server_id is required" {
		t.Fatalf("reason %q", got)
	}
	if got := text.Required("server_id", " \t ", text.Identifier, 10); got != "server_id is required" {
		t.Fatalf("white space alone: reason %q", got)
	}
	if got := text.Required("server_id", "srv", text.Identifier, 10); got != "" {
		t.Fatalf("reason %q", got)
	}
	if text.Valid("a\x00", text.Free, 10) || !text.Valid("a", text.Free, 10) {
		t.Fatal("Valid disagrees with Check")
	}
}
