package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
		{"unknown field", "application/json", `{"by":"7d","bye":"1d"}`, ProblemInvalidRequest, `unknown field "bye"`},
		{"too large", "application/json", `{"by":"` + strings.Repeat("x", limit) + `"}`, ProblemPayloadTooLarge, "larger than 64 bytes"},
		{"too large after a first value", "application/json", `{}` + strings.Repeat(" ", limit), ProblemPayloadTooLarge, "larger than 64 bytes"},
		{"no content type", "", `{"by":"7d"}`, ProblemUnsupportedMediaType, "no Content-Type"},
		{"wrong content type", "text/plain", `{"by":"7d"}`, ProblemUnsupportedMediaType, "text/plain is not accepted"},
		{"wrong charset", "application/json; charset=latin1", `{"by":"7d"}`, ProblemUnsupportedMediaType, "charset latin1"},
		{"unparsable content type", "application/json; =", `{}`, ProblemUnsupportedMediaType, "cannot be parsed"},
		{"malformed", "application/json", `{"by":7d}`, ProblemMalformedJSON, "malformed JSON at byte 8"},
		{"empty", "application/json", ``, ProblemMalformedJSON, "empty"},
		{"cut short", "application/json", `{"by":"7d"`, ProblemMalformedJSON, "ends in the middle"},
		{"two values", "application/json", `{"by":"7d"} {"by":"1d"}`, ProblemMalformedJSON, "continues after its JSON value"},
		{"wrong field type", "application/json", `{"seats":"ten"}`, ProblemInvalidRequest, `field "seats" must be an integer, not a JSON string`},
		{"not an object", "application/json", `["7d"]`, ProblemInvalidRequest, "the body is a JSON array"},
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
