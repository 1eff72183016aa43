package audit

import "testing"

// A payload travels as "data" only when its bytes can stand in an NDJSON
// line unchanged: valid JSON in valid UTF-8 with no white space outside
// strings (docs/formats.md, "NDJSON export"); anything else as
// data_base64, so that every reader hashes the same bytes.
func TestRawJSONSafe_is_compact_JSON_in_UTF8_X2(t *testing.T) {
	t.Parallel()
	for payload, want := range map[string]bool{
		`{"a":1}`:              true,
		`{"name":"Zürich"}`:    true,
		`{"a":"x y"}`:          true, // white space inside a string is the payload's
		`{"a":"\u00fc\n"}`:     true, // escapes stay as they are
		`{ "a":1}`:             false,
		"{\"a\":1}\n":          false,
		`{"a":1,}`:             false,
		"{\"a\":\"\xff\"}":     false, // not UTF-8
		"{\"a\":\"\xe2\x80\"}": false, // a truncated UTF-8 sequence
		``:                     false,
		`not json`:             false,
	} {
		if got := rawJSONSafe([]byte(payload)); got != want {
			t.Errorf("rawJSONSafe(%q) = %v, want %v", payload, got, want)
		}
	}
}
