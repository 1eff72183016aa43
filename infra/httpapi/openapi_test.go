package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
)

// openAPIOperations returns "METHOD /path" for every operation of the
// served document.
func openAPIOperations(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	w := do(t, s, http.MethodGet, "/openapi.json", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	ops := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return ops
}

func TestOpenAPI_documents_every_route_and_nothing_else(t *testing.T) {
	t.Parallel()
	// The people API is mounted for the walk only; no request reaches it.
	s, _ := newTestServer(t, Config{People: &PeopleConfig{Commands: &commands.Set{},
		Reads: (*sqldb.DB)(nil), Sessions: &session.Store{}, TermsVersion: "test"}})
	documented := openAPIOperations(t, s)
	served := map[string]bool{}
	err := chi.Walk(s.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("route %s is served but missing from openapi.json", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which no route serves", op)
		}
	}
}

// Every $ref points at something the document defines, so that a
// renamed component cannot leave a dangling reference.
func TestOpenAPI_references_resolve(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if len(refs) == 0 {
		t.Fatal("no references found")
	}
	for _, ref := range refs {
		parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		var node any = doc
		for _, p := range parts {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = m[p]
		}
		if !strings.HasPrefix(ref, "#/") || node == nil {
			t.Errorf("dangling $ref %s", ref)
		}
	}
}

// The validator the API tests pass every exchange through (issue 19)
// catches drift between the code and the served document: a field the
// document does not describe, a value of the wrong type, a status it does
// not list, a body where it describes none, a request it does not accept.
// A request marked invalid on purpose has its response validated only.
func TestOpenAPI_validator_fails_an_exchange_that_drifts_from_the_document(t *testing.T) {
	t.Parallel()
	v, err := openapitest.Load(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	answer := func(status int, contentType, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The request body is validated as far as the handler reads
			// it: to its end here, as a handler that decodes it.
			_, _ = io.Copy(io.Discard, r.Body)
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		})
	}
	for _, c := range []struct {
		name         string
		method, path string
		header       []string
		body         string
		server       http.Handler
		want         []string // in the one report, in order; none: no report
	}{
		{"as documented", "GET", "/healthz", nil, "", answer(200, "application/json", `{"status":"ok"}`), nil},
		{"an undocumented field", "GET", "/healthz", nil, "", answer(200, "application/json", `{"status":"ok","uptime":3}`),
			[]string{"GET /healthz (getHealth): response 200", "uptime"}},
		{"a value of the wrong type", "POST", "/admin/clock/advance", []string{"Content-Type", "application/json"}, `{"by":"7d"}`,
			answer(200, "application/json", `{"now":"2026-03-08T09:00:00Z","timers_fired":"three"}`),
			[]string{"POST /admin/clock/advance (advanceClock): response 200", "timers_fired"}},
		{"a wrong date", "GET", "/admin/clock", nil, "", answer(200, "application/json", `{"now":"next Tuesday"}`),
			[]string{"GET /admin/clock (getClock): response 200", "date-time"}},
		{"an undocumented status", "GET", "/healthz", nil, "", answer(http.StatusCreated, "application/json", `{"status":"ok"}`),
			[]string{"GET /healthz (getHealth): response 201", "status 201 is not documented"}},
		{"an undocumented content type", "GET", "/healthz", nil, "", answer(200, "text/html", `<p>ok</p>`),
			[]string{"GET /healthz (getHealth): response 200", "text/html"}},
		{"a problem that is not one", "GET", "/healthz", nil, "", answer(400, "application/problem+json", `{"title":"no type"}`),
			[]string{"GET /healthz (getHealth): response 400"}},
		{"a request the document refuses", "POST", "/admin/clock/advance", []string{"Content-Type", "application/json"}, `{"by":7}`,
			answer(200, "application/json", `{"now":"2026-03-08T09:00:00Z"}`),
			[]string{"POST /admin/clock/advance (advanceClock): request POST /admin/clock/advance", "/by"}},
		{"a bad request sent on purpose", "POST", "/admin/clock/advance",
			[]string{"Content-Type", "application/json", openapitest.InvalidRequestHeader, "X-7"}, `{"by":7}`,
			answer(400, "application/problem+json", `{"type":"https://seatledger.dev/problems/invalid-request","title":"Invalid request","status":400,"detail":"by: a string","instance":"/admin/clock/advance","request_id":"r","invalid_params":[{"name":"by","reason":"a string"}]}`),
			nil},
		{"an invalid request that names no field", "POST", "/admin/clock/advance",
			[]string{"Content-Type", "application/json", openapitest.InvalidRequestHeader, "X-7"}, `{"by":7}`,
			answer(400, "application/problem+json", `{"type":"https://seatledger.dev/problems/invalid-request","title":"Invalid request","status":400,"detail":"by: a string","instance":"/admin/clock/advance","request_id":"r"}`),
			[]string{"POST /admin/clock/advance (advanceClock): response 400", "names no field in invalid_params"}},
		{"its response still validated", "POST", "/admin/clock/advance",
			[]string{"Content-Type", "application/json", openapitest.InvalidRequestHeader, "X-7"}, `{"by":7}`,
			answer(200, "application/json", `{"now":"2026-03-08T09:00:00Z","undo":true}`),
			[]string{"POST /admin/clock/advance (advanceClock): response 200", "undo"}},
		{"a path the document does not describe", "GET", "/signin", nil, "", answer(200, "text/html", `<form>`), nil},
	} {
		var reports []string
		h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(openapitest.InvalidRequestHeader) != "" {
				t.Errorf("%s: the handler saw the marker header", c.name)
			}
			c.server.ServeHTTP(w, r)
		}), func(problem string) { reports = append(reports, problem) })
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		for i := 0; i+1 < len(c.header); i += 2 {
			r.Header.Set(c.header[i], c.header[i+1])
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if len(c.want) == 0 {
			if len(reports) != 0 {
				t.Errorf("%s: reported %q", c.name, reports)
			}
			continue
		}
		if len(reports) != 1 {
			t.Errorf("%s: %d reports %q, want one", c.name, len(reports), reports)
			continue
		}
		rest := reports[0]
		for _, w := range c.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: report %q does not say %q", c.name, reports[0], w)
				break
			}
			rest = rest[i+len(w):]
		}
	}
}
