package strictjson_test

import (
	"errors"
	"strings"
	"testing"

	"seatledger/infra/strictjson"
)

// TestDecode_names_where_a_body_is_malformed checks the wording of the
// refusals for bodies that are not JSON (rule X-7): a body cut short says
// so wherever it is cut, and a bad byte is named with what is wrong with it.
// Go 1.27 reports a cut-short body differently from Go 1.26 (a syntax
// error at the end, not an EOF); this test keeps the wording clients see.
func TestDecode_names_where_a_body_is_malformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{`{"name":"a"`, "ends in the middle of a JSON value"},
		{`{"name":"a",`, "ends in the middle of a JSON value"},
		{`{"name":`, "ends in the middle of a JSON value"},
		{"{\"items\":[{\"user\":\"u\"}  \n", "ends in the middle of a JSON value"},
		{`{`, "ends in the middle of a JSON value"},
		{`{"name":7d}`, "malformed JSON near byte |invalid character 'd'"},
		{`{"seats" 1}`, "malformed JSON near byte |invalid character '1' after object key"},
		{`{"numbers":[1,,2]}`, "malformed JSON near byte |invalid character ','"},
		{`{"on":tru}`, "malformed JSON near byte |invalid character '}' in literal true"},
	} {
		var dst fuzzBody
		err := strictjson.Decode([]byte(tc.body), &dst)
		var e *strictjson.Error
		if !errors.As(err, &e) || !e.Malformed {
			t.Errorf("Decode(%q) = %v, want a malformed-body refusal", tc.body, err)
			continue
		}
		for _, part := range strings.Split(tc.want, "|") {
			if !strings.Contains(e.Reason, part) {
				t.Errorf("Decode(%q) says %q, want it to contain %q", tc.body, e.Reason, part)
			}
		}
	}
}
