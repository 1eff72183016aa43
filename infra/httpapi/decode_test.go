package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDecodeJSON_refuses_bad_bodies_with_a_clear_problem(t *testing.T) {
	t.Parallel()
	type body struct {
		By    string `json:"by"`
		Seats int    `json:"seats"`
	}
	const limit = 64
	for _, tc := range []struct {
		name, contentType, body string
		want                    ProblemType
		detail                  string
	}{
		{"unknown field", "application/json", `{"by":"7d","seats":1,"bye":"1d"}`, ProblemInvalidRequest, `unknown field "bye"`},
		{"too large", "application/json", `{"by":"` + strings.Repeat("x", limit) + `"}`, ProblemPayloadTooLarge, "larger than 64 bytes"},
		{"too large after a first value", "application/json", `{}` + strings.Repeat(" ", limit), ProblemPayloadTooLarge, "larger than 64 bytes"},
		{"no content type", "", `{"by":"7d"}`, ProblemUnsupportedMediaType, "no Content-Type"},
		{"wrong content type", "text/plain", `{"by":"7d"}`, ProblemUnsupportedMediaType, "text/plain is not accepted"},
		{"wrong charset", "application/json; charset=latin1", `{"by":"7d"}`, ProblemUnsupportedMediaType, "charset latin1"},
		{"unparsable content type", "application/json; =", `{}`, ProblemUnsupportedMediaType, "cannot be parsed"},
		{"malformed", "application/json", `{"by":7d}`, ProblemMalformedJSON, "malformed JSON near byte"},
		{"empty", "application/json", ``, ProblemMalformedJSON, "empty"},
		{"cut short", "application/json", `{"by":"7d"`, ProblemMalformedJSON, "ends in the middle"},
		{"two values", "application/json", `{"by":"7d"} {"by":"1d"}`, ProblemMalformedJSON, "continues after its JSON value"},
		{"wrong field type", "application/json", `{"by":"7d","seats":"ten"}`, ProblemInvalidRequest, `seats must be a number, not a string`},
		{"not an object", "application/json", `["7d"]`, ProblemInvalidRequest, "the body is an array; send an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			var dst body
			err := DecodeJSONLimit(httptest.NewRecorder(), r, &dst, limit)
			p, known := ProblemFor(err)
			if err == nil || !known {
				t.Fatalf("DecodeJSONLimit = %v, want a problem", err)
			}
			if p.Type != tc.want.URI() || p.Status != tc.want.Status() {
				t.Errorf("problem = %s %d, want %s %d", p.Type, p.Status, tc.want.URI(), tc.want.Status())
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tc.detail)
			}
		})
	}
}

func TestDecodeJSON_accepts_one_JSON_object(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/json", "application/json; charset=UTF-8", "application/merge-patch+json"} {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(" {\"by\":\"7d\"}\n"))
		r.Header.Set("Content-Type", ct)
		var dst struct {
			By string `json:"by"`
		}
		if err := DecodeJSON(httptest.NewRecorder(), r, &dst); err != nil || dst.By != "7d" {
			t.Errorf("%s: DecodeJSON = %v, by %q", ct, err, dst.By)
		}
	}
}

// x7Body is a request with every kind of field the strict decoder knows.
type x7Body struct {
	Name     string            `json:"name"`
	Enabled  bool              `json:"enabled"`
	Seats    int32             `json:"seats"`
	Note     string            `json:"note,omitempty"`
	Limit    *int              `json:"limit"`
	At       *time.Time        `json:"at,omitempty"`
	Role     x7Role            `json:"role,omitempty"`
	Items    []x7Item          `json:"items,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Nested   *x7Item           `json:"nested,omitempty"`
	Embedded                   // its fields are the body's own
}

type x7Item struct {
	User string `json:"user"`
	Host string `json:"host,omitempty"`
}

type Embedded struct {
	Extra string `json:"extra,omitempty"`
}

type x7Role string

func (r *x7Role) UnmarshalText(b []byte) error {
	if string(b) != "admin" && string(b) != "member" {
		return fmt.Errorf("x7: unknown role %q", b)
	}
	*r = x7Role(b)
	return nil
}

// rule X-7: one strict decoder for every route: exactly one JSON value,
// no null, missing or wrongly typed required field, no invalid UTF-8 or
// control character; each refusal names its field in invalid_params.
func TestDecodeJSON_X7_refuses_and_names_each_wrong_field(t *testing.T) {
	t.Parallel()
	const ok = `"name":"n","enabled":true,"seats":1`
	for _, tc := range []struct {
		name, body string
		fields     []string // invalid_params names, in order
		detail     string
	}{
		{"null body", `null`, []string{""}, "the body is null"},
		{"string body", `"x"`, []string{""}, "the body is a string; send an object"},
		{"missing required fields", `{}`, []string{"name", "enabled", "seats"}, "name is required"},
		{"null required field", `{"name":null,"enabled":true,"seats":1}`, []string{"name"}, "name must not be null"},
		{"null optional field", `{` + ok + `,"note":null}`, []string{"note"}, "note must not be null"},
		{"null pointer field", `{` + ok + `,"limit":null}`, []string{"limit"}, "limit must not be null"},
		{"wrong type", `{"name":1,"enabled":"yes","seats":true}`, []string{"name", "enabled", "seats"}, "name must be a string, not a number"},
		{"fraction for an integer", `{"name":"n","enabled":true,"seats":1.5}`, []string{"seats"}, "whole number"},
		{"huge number", `{"name":"n","enabled":true,"seats":1e400}`, []string{"seats"}, "whole number"},
		{"number beyond the type", `{"name":"n","enabled":true,"seats":2147483648}`, []string{"seats"}, "from -2147483648 to 2147483647"},
		{"unknown field", `{` + ok + `,"nmae":"x"}`, []string{"nmae"}, `unknown field "nmae"`},
		{"field name in another case", `{"NAME":"n","enabled":true,"seats":1}`, []string{"NAME", "name"}, `unknown field "NAME"`},
		{"field given twice", `{` + ok + `,"name":"m"}`, []string{"name"}, "name is given twice"},
		{"raw invalid bytes", "{\"name\":\"a\xff\xfeb\",\"enabled\":true,\"seats\":1}", []string{"name"}, "name is not valid UTF-8"},
		{"overlong encoding", "{\"name\":\"\xc0\xaf\",\"enabled\":true,\"seats\":1}", []string{"name"}, "not valid UTF-8"},
		{"encoded surrogate", "{\"name\":\"\xed\xa0\x80\",\"enabled\":true,\"seats\":1}", []string{"name"}, "not valid UTF-8"},
		{"unpaired high surrogate escape", `{"name":"a\ud800b","enabled":true,"seats":1}`, []string{"name"}, `unpaired surrogate (\ud800)`},
		{"unpaired low surrogate escape", `{"name":"\uDC00","enabled":true,"seats":1}`, []string{"name"}, "unpaired surrogate"},
		{"high surrogate before a non-surrogate", `{"name":"\ud800\u0041","enabled":true,"seats":1}`, []string{"name"}, "unpaired surrogate"},
		{"NUL escape", `{"name":"sw-11\u0000","enabled":true,"seats":1}`, []string{"name"}, "name holds a NUL character"},
		{"escape character", `{"name":"a\u001bb","enabled":true,"seats":1}`, []string{"name"}, "control character"},
		{"nested field", `{` + ok + `,"items":[{"user":"u"},{"host":"h"},{"user":"\u0000"}]}`, []string{"items[1].user", "items[2].user"}, "items[1].user is required"},
		{"nested null", `{` + ok + `,"items":[null]}`, []string{"items[0]"}, "items[0] must not be null"},
		{"invalid map key", `{` + ok + `,"labels":{"a\u200bb":"x"}}`, []string{"labels.a\u200bb"}, "invisible formatting"},
		{"text type refuses", `{` + ok + `,"role":"owner"}`, []string{"role"}, `role: unknown role "owner"`},
		{"bad time", `{` + ok + `,"at":"yesterday"}`, []string{"at"}, "RFC 3339"},
		{"invalid UTF-8 inside a value of the wrong type", "{" + ok + ",\"nested\":[\"\xff\"]}", []string{"nested", "nested"}, "nested must be an object, not an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			var dst x7Body
			err := DecodeJSON(httptest.NewRecorder(), r, &dst)
			p, known := ProblemFor(err)
			if err == nil || !known || p.Status != http.StatusBadRequest {
				t.Fatalf("DecodeJSON = %v, want a 400 problem", err)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tc.detail)
			}
			var names []string
			for _, ip := range p.InvalidParams {
				names = append(names, ip.Name)
			}
			if strings.Join(names, "|") != strings.Join(tc.fields, "|") {
				t.Errorf("invalid_params %q, want %q", names, tc.fields)
			}
		})
	}
}

// rule X-7: what the strict decoder accepts arrives whole: optional fields
// left out, valid escapes (a surrogate pair, a quote), line breaks.
func TestDecodeJSON_X7_accepts_a_faithful_body(t *testing.T) {
	t.Parallel()
	body := `{"name":"Caf\u00e9 \ud83d\ude80 \"q\" \\ x","enabled":false,"seats":0,"limit":3,"note":"line 1\nline 2\ttab",` +
		`"items":[{"user":"u","host":"h"}],"labels":{"k":"v"},"extra":"e","role":"admin","at":"2026-03-01T12:00:00Z"}`
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	var dst x7Body
	if err := DecodeJSON(httptest.NewRecorder(), r, &dst); err != nil {
		t.Fatalf("DecodeJSON = %v", err)
	}
	if dst.Name != "Café 🚀 \"q\" \\ x" || dst.Note != "line 1\nline 2\ttab" || *dst.Limit != 3 || dst.Extra != "e" || dst.Role != "admin" ||
		len(dst.Items) != 1 || dst.Items[0].Host != "h" || dst.Labels["k"] != "v" || dst.At == nil {
		t.Fatalf("decoded %+v", dst)
	}
}
