package openapitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A small document: Summary alone, Details composing Summary with more
// fields, and an operation taking a body.
const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "http://127.0.0.1:8080"}],
  "paths": {
    "/summary": {"get": {"operationId": "getSummary", "responses": {"200": {"description": "ok",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Summary"}}}}}}},
    "/details": {"get": {"operationId": "getDetails", "responses": {"200": {"description": "ok",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Details"}}}}}}},
    "/things": {"post": {"operationId": "addThing",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["n"], "properties": {"n": {"type": "integer"}}}}}},
      "responses": {"204": {"description": "added"}, "400": {"description": "refused",
        "content": {"application/problem+json": {"schema": {"type": "object", "required": ["status"],
          "properties": {"status": {"type": "integer"}}}}}}}}}
  },
  "components": {"schemas": {
    "Summary": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "note": {}}},
    "Details": {"allOf": [{"$ref": "#/components/schemas/Summary"},
      {"type": "object", "properties": {"more": {"type": "string"}}}]}
  }}
}`

func serve(t *testing.T, method, path, body string, header http.Header, readBody bool, status int, answer string) []string {
	t.Helper()
	v, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var reports []string
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readBody {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		if answer != "" {
			ct := "application/json"
			if status >= 400 {
				ct = "application/problem+json"
			}
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}), func(p string) { reports = append(reports, p) })
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	return reports
}

// Objects are closed, composed ones included: a component used alone and
// in an allOf admits exactly its fields alone and the union in the allOf;
// an empty schema admits null (OpenAPI 3.1).
func TestHandler_closes_objects_and_composes_allOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		path, answer string
		drift        string // "" for none
	}{
		{"/summary", `{"id":"a","note":null}`, ""},
		{"/summary", `{"id":"a","more":"x"}`, "more"},
		{"/details", `{"id":"a","more":"x"}`, ""},
		{"/details", `{"id":"a","more":"x","extra":1}`, "extra"},
		{"/details", `{"more":"x"}`, "id"},
	} {
		got := serve(t, "GET", c.path, "", nil, true, 200, c.answer)
		switch {
		case c.drift == "" && len(got) != 0:
			t.Errorf("%s %s: reported %q", c.path, c.answer, got)
		case c.drift != "" && (len(got) != 1 || !strings.Contains(got[0], c.drift)):
			t.Errorf("%s %s: reported %q, want one naming %s", c.path, c.answer, got, c.drift)
		}
	}
}

// A request body is validated as far as the handler read it; a request
// marked invalid on purpose has only its answer validated.
func TestHandler_validates_requests_as_read_unless_marked(t *testing.T) {
	t.Parallel()
	if got := serve(t, "POST", "/things", `{"n":"one"}`, nil, true, 204, ""); len(got) != 1 || !strings.Contains(got[0], "addThing") || !strings.Contains(got[0], "request") {
		t.Errorf("a wrong body read to its end: %q", got)
	}
	if got := serve(t, "POST", "/things", `{"n":"one"}`, nil, false, 204, ""); len(got) != 0 {
		t.Errorf("a body the handler did not read: %q", got)
	}
	marked := http.Header{}
	MarkInvalid(marked, "test")
	if got := serve(t, "POST", "/things", `{"n":"one"}`, marked, true, 400, `{"status":400}`); len(got) != 0 {
		t.Errorf("a marked request: %q", got)
	}
	if got := serve(t, "POST", "/things", `{"n":"one"}`, marked, true, 400, `{"status":"400"}`); len(got) != 1 || !strings.Contains(got[0], "response 400") {
		t.Errorf("a marked request's wrong answer: %q", got)
	}
	if got := serve(t, "POST", "/things", `{"n":1}`, nil, true, 204, "surprise"); len(got) != 1 || !strings.Contains(got[0], "describes no body") {
		t.Errorf("a body where none is documented: %q", got)
	}
}
