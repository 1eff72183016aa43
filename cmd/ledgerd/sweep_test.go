package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"seatledger/infra/httpapi"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// The bad-input sweep (rule X-7, issue 16). It reads the served
// /openapi.json and, for every operation in it, sends malformed inputs
// derived from the operation's own description: its path parameters
// replaced by garbage IDs, its query parameters and headers by broken
// values, its JSON body by null, the wrong shape, missing required fields,
// unknown fields, wrong types, invalid UTF-8, NUL and control characters,
// huge and negative numbers, and oversized bodies. Every answer must be a
// 4xx application/problem+json, never a 5xx nor a success, and the log
// head must not move. A route added to the document is swept without
// anyone adding it to a list; the base values come from the document
// (enums, examples, formats) and from the fixture's IDs by name.

// sweepCase is one malformed request.
type sweepCase struct {
	what        string
	method      string
	path        string // with its query, escaped
	header      http.Header
	contentType string
	body        []byte
}

// sweepFixture is the state the sweep's requests name: real IDs, so that
// a malformed input is refused for being malformed, not for naming
// nothing, and a principal for each security scheme.
type sweepFixture struct {
	ids     map[string]string  // path parameter and body property names to real values
	callers map[string]*client // security scheme name to a caller ("" is nobody)
}

// TestBadInputSweep_X7_every_operation_of_openapi_json refuses every
// malformed input of every documented operation with a 4xx problem and
// changes nothing, on SQLite and PostgreSQL.
func TestBadInputSweep_X7_every_operation_of_openapi_json(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		// No rate limit, so that every malformed input reaches the check
		// it is about rather than a 429 (which the limits test covers).
		m, _ := peopleServerWith(t, target, func(m *Main) { m.Limits = &httpapi.Limits{} })
		fx := sweepSetUp(t, m)
		doc := fetchOpenAPI(t, m)
		ops := doc.operations()
		if len(ops) < 80 {
			t.Fatalf("the document describes %d operations; the sweep expected the whole API", len(ops))
		}
		sent := 0
		for _, op := range ops {
			cases := doc.casesFor(op, fx)
			if len(cases) < 20 {
				t.Errorf("%s %s: %d malformed inputs, want at least 20", op.method, op.path, len(cases))
			}
			caller := fx.caller(op)
			for _, c := range cases {
				sweepOne(t, m, caller, op, c)
				sent++
			}
		}
		t.Logf("%d malformed requests over %d operations", sent, len(ops))
	})
}

// sweepOne sends c as caller and checks the answer and the log head.
func sweepOne(t *testing.T, m *Main, caller *client, op apiOperation, c sweepCase) {
	t.Helper()
	before := logHead(t, m)
	req, err := http.NewRequestWithContext(t.Context(), c.method, caller.base+c.path, bytes.NewReader(c.body))
	if err != nil {
		// A path the client cannot even send (raw bytes net/url refuses) is
		// refused before the server; nothing to check.
		return
	}
	if c.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range caller.header {
		req.Header[k] = v
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if caller.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+caller.bearer)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	openapitest.MarkInvalid(req.Header, "X-7 sweep: "+c.what)
	resp, err := caller.http.Do(req)
	if err != nil {
		t.Errorf("%s %s (%s): %v", op.method, op.path, c.what, err)
		return
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || ct != "application/problem+json" {
		t.Errorf("%s %s (%s): %d %s, want a 4xx problem: %.300s", op.method, op.path, c.what, resp.StatusCode, ct, raw)
	}
	if after := logHead(t, m); after != before {
		t.Errorf("%s %s (%s): the log head moved from %d to %d", op.method, op.path, c.what, before, after)
	}
}

// sweepSetUp creates what the requests name: an account with its admin,
// a member, a subscription with a sublicense, a farm, a ticket, a
// release, an invitation and an API token.
func sweepSetUp(t testing.TB, m *Main) sweepFixture {
	t.Helper()
	office, ada, key, acc, sub := installationsAccount(t, m, "ras", 20)
	ada.bearer = ""
	cookie := ada // signed in by cookie
	token := newClient(t, m)
	token.bearer = cookie.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "sweep"}).str("token")
	me := token.must(200, "GET", "/v1/me", nil)
	adaID := me.str("person_id")
	tokens := me.body["api_tokens"].([]any)
	tokenID := tokens[0].(map[string]any)["token_id"].(string)
	bob := newClient(t, m)
	bobID := bob.must(201, "POST", "/v1/signup", signUpBody("Bob", "bob@example.com")).str("person_id")
	inv := token.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"eve@example.com"}})
	invID := inv.body["invitation_ids"].([]any)[0].(string)
	sublicense := token.must(201, "POST", "/v1/subscriptions/"+sub+"/keys", map[string]any{"name": "Sweep", "quota": 2})
	keyID := sublicense.str("key_id")
	act := newClient(t, m).must(200, "POST", "/v1/installations/activations", map[string]any{"key": key,
		"identity": map[string]any{"kind": "farm", "server_id": "srv-sweep", "farm_name": "Sweep", "app_version": "19.2"}})
	farm := newClient(t, m)
	farm.bearer = act.str("credential")
	ticket := token.must(201, "POST", "/v1/accounts/"+acc+"/tickets", map[string]any{"product_id": "ras", "category": "technical",
		"description": "The farm is slow.", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
	office.must(200, "PUT", "/v1/products/ras/releases/19.2", map[string]any{"files": []map[string]any{{"name": "setup.msi",
		"kind": "installer", "size": 10, "sha256": strings.Repeat("ab", 32), "url": "https://dl.example.com/setup.msi"}}})
	anonymous := newClient(t, m)
	return sweepFixture{
		ids: map[string]string{
			"accountID": acc, "account_id": acc, "personID": bobID, "person_id": adaID, "tokenID": tokenID,
			"invitationID": invID, "invitation_id": invID, "productID": "ras", "product_id": "ras", "subscriptionID": sub,
			"subscription_id": sub, "keyID": keyID, "ticketID": ticket, "attachmentID": "00000000-0000-7000-8000-000000000000",
			"version": "19.2", "installationID": act.str("installation_id"), "kind": "subscriptions", "id": sub, "key": key,
		},
		callers: map[string]*client{"personalToken": token, "sessionCookie": cookie, "adminToken": office,
			"installationCredential": farm, "": anonymous},
	}
}

// caller picks who sends an operation's requests: its first documented
// security scheme, so that the request gets past authentication to the
// input it is about.
func (fx sweepFixture) caller(op apiOperation) *client {
	for _, scheme := range []string{"personalToken", "adminToken", "installationCredential", "sessionCookie"} {
		if slices.Contains(op.security, scheme) {
			return fx.callers[scheme]
		}
	}
	return fx.callers[""]
}

// apiDoc is the served OpenAPI document, decoded loosely.
type apiDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// apiOperation is one method on one path.
type apiOperation struct {
	method, path string
	params       []apiParam
	security     []string // scheme names, any of which is enough
	bodies       map[string]json.RawMessage
}

type apiParam struct {
	Name   string          `json:"name"`
	In     string          `json:"in"`
	Schema json.RawMessage `json:"schema"`
}

func fetchOpenAPI(t testing.TB, m *Main) apiDoc {
	t.Helper()
	code, _, raw := get(t, "http://"+m.Addr()+"/openapi.json")
	var doc apiDoc
	if err := json.Unmarshal(raw, &doc); code != 200 || err != nil {
		t.Fatalf("/openapi.json: %d %v", code, err)
	}
	return doc
}

// operations lists every operation, in a stable order.
func (d apiDoc) operations() []apiOperation {
	var out []apiOperation
	for path, item := range d.Paths {
		var shared []apiParam
		if raw, ok := item["parameters"]; ok {
			_ = json.Unmarshal(raw, &shared)
		}
		for method, raw := range item {
			method = strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "PUT", "POST", "PATCH", "DELETE"}, method) {
				continue
			}
			var op struct {
				Parameters  []apiParam            `json:"parameters"`
				Security    []map[string][]string `json:"security"`
				RequestBody struct {
					Content map[string]struct {
						Schema json.RawMessage `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			_ = json.Unmarshal(raw, &op)
			o := apiOperation{method: method, path: path, params: append(slices.Clone(shared), op.Parameters...), bodies: map[string]json.RawMessage{}}
			for i := range o.params {
				o.params[i].Schema = d.resolve(o.params[i].Schema)
			}
			for _, req := range op.Security {
				for scheme := range req {
					o.security = append(o.security, scheme)
				}
			}
			for ct, c := range op.RequestBody.Content {
				o.bodies[ct] = c.Schema
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

// schema is the part of a JSON schema the sweep reads.
type schema struct {
	Type       any                        `json:"type"`
	Format     string                     `json:"format"`
	Enum       []any                      `json:"enum"`
	Examples   []any                      `json:"examples"`
	Example    any                        `json:"example"`
	Minimum    *float64                   `json:"minimum"`
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
	Items      json.RawMessage            `json:"items"`
	AllOf      []json.RawMessage          `json:"allOf"`
	OneOf      []json.RawMessage          `json:"oneOf"`
	AnyOf      []json.RawMessage          `json:"anyOf"`
}

// resolve follows $ref.
func (d apiDoc) resolve(raw json.RawMessage) json.RawMessage {
	for range 10 {
		var ref struct {
			Ref string `json:"$ref"`
		}
		if json.Unmarshal(raw, &ref) != nil || ref.Ref == "" {
			return raw
		}
		raw = d.Components.Schemas[strings.TrimPrefix(ref.Ref, "#/components/schemas/")]
	}
	return raw
}

// parse reads a schema, merging allOf and the first of oneOf / anyOf.
func (d apiDoc) parse(raw json.RawMessage) schema {
	var s schema
	_ = json.Unmarshal(d.resolve(raw), &s)
	if s.Properties == nil {
		s.Properties = map[string]json.RawMessage{}
	}
	parts := slices.Clone(s.AllOf)
	if len(s.OneOf) > 0 {
		parts = append(parts, s.OneOf[0])
	}
	if len(s.AnyOf) > 0 {
		parts = append(parts, s.AnyOf[0])
	}
	for _, p := range parts {
		sub := d.parse(p)
		for k, v := range sub.Properties {
			s.Properties[k] = v
		}
		s.Required = append(s.Required, sub.Required...)
		if s.Type == nil {
			s.Type = sub.Type
		}
	}
	return s
}

func (s schema) typ() string {
	switch t := s.Type.(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return fmt.Sprint(x)
			}
		}
	}
	switch {
	case len(s.Properties) > 0:
		return "object"
	case len(s.Enum) > 0:
		return fmt.Sprintf("%T", s.Enum[0])
	}
	return ""
}

// base returns a plausible valid value of schema raw for property name:
// a fixture ID by name, an example, an enum's first value, a format's.
func (d apiDoc) base(raw json.RawMessage, name string, fx sweepFixture, depth int) any {
	s := d.parse(raw)
	if id, ok := fx.ids[name]; ok && (s.typ() == "string" || s.typ() == "") {
		return id
	}
	switch {
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Example != nil:
		return s.Example
	}
	switch s.typ() {
	case "object":
		if depth > 4 {
			return map[string]any{}
		}
		out := map[string]any{}
		for _, req := range s.Required {
			if p, ok := s.Properties[req]; ok {
				out[req] = d.base(p, req, fx, depth+1)
			}
		}
		return out
	case "array":
		return []any{d.base(s.Items, strings.TrimSuffix(name, "s"), fx, depth+1)}
	case "integer", "number", "float64":
		if s.Minimum != nil {
			return *s.Minimum + 1
		}
		return 1
	case "boolean", "bool":
		return true
	}
	switch s.Format {
	case "date-time":
		return clockStart.Add(48 * time.Hour).Format(time.RFC3339)
	case "date":
		return clockStart.Format(time.DateOnly)
	case "uuid":
		return "00000000-0000-7000-8000-000000000001"
	}
	return "sweep"
}

// Garbage for a path segment: each names nothing, or cannot be an ID.
var garbageIDs = []struct{ what, escaped string }{
	{"a NUL", "id%00"}, {"an overlong UTF-8 slash", "%C0%AF"}, {"an invalid byte", "%FF%FE"},
	{"an escape character", "a%1Bb"}, {"a 600-byte ID", strings.Repeat("x", 600)}, {"an encoded surrogate", "%ED%A0%80"},
}

// Garbage for any query parameter: refused by every route.
var garbageQuery = []struct{ what, value string }{
	{"NUL", "%00"}, {"invalid byte", "%FF"}, {"broken escape", "%zz"}, {"line break", "a%0Ab"}, {"overlong UTF-8", "%C0%AF"},
	{"encoded surrogate", "%ED%A0%80"}, {"DEL", "%7F"}, {"C1 control", "%C2%85"}, {"beyond U+10FFFF", "%F4%90%80%80"},
	{"truncated sequence", "%C3"}, {"lone continuation byte", "%80"}, {"overlong NUL", "%C0%80"}, {"escape character", "%1B%5B2J"},
}

// casesFor derives the malformed inputs of op.
func (d apiDoc) casesFor(op apiOperation, fx sweepFixture) []sweepCase {
	pathWith := func(override map[string]string) string {
		p := op.path
		for _, prm := range op.params {
			if prm.In != "path" {
				continue
			}
			v, ok := override[prm.Name]
			if !ok {
				v = url.PathEscape(fx.ids[prm.Name])
				if fx.ids[prm.Name] == "" {
					v = "sweep-" + strings.ToLower(prm.Name)
				}
			}
			p = strings.ReplaceAll(p, "{"+prm.Name+"}", v)
		}
		return p
	}
	base := pathWith(nil)
	jsonBody := d.jsonBase(op, fx)
	var cases []sweepCase
	add := func(c sweepCase) {
		if c.method == "" {
			c.method = op.method
		}
		if c.path == "" {
			c.path = base
		}
		if c.body == nil && c.contentType == "" && jsonBody != nil {
			c.body, c.contentType = jsonBody, "application/json" // the input under test is elsewhere
		}
		cases = append(cases, c)
	}
	// Path parameters: garbage IDs.
	for _, prm := range op.params {
		if prm.In != "path" {
			continue
		}
		for _, g := range garbageIDs {
			add(sweepCase{what: "path " + prm.Name + " with " + g.what, path: pathWith(map[string]string{prm.Name: g.escaped})})
		}
	}
	// Query parameters: every documented one broken, and one nobody
	// documents, which every route must refuse as well.
	names := []string{"x"}
	for _, prm := range op.params {
		if prm.In == "query" {
			names = append(names, prm.Name)
		}
	}
	for _, name := range names {
		for _, g := range garbageQuery {
			if name != "x" && g.what != "NUL" && g.what != "invalid byte" && g.what != "line break" {
				continue // the undocumented name carries the whole list
			}
			add(sweepCase{what: "query " + name + " with " + g.what, path: base + "?" + name + "=" + g.value})
		}
		if s := d.parse(d.paramSchema(op, name)); name != "x" {
			switch s.typ() {
			case "integer", "number":
				add(sweepCase{what: "query " + name + " not a number", path: base + "?" + name + "=twelve"})
				add(sweepCase{what: "query " + name + " beyond any integer", path: base + "?" + name + "=99999999999999999999999"})
			}
			if len(s.Enum) > 0 {
				add(sweepCase{what: "query " + name + " outside its enum", path: base + "?" + name + "=zz-not-an-option"})
			}
		}
	}
	add(sweepCase{what: "a NUL in a query name", path: base + "?a%00b=1"})
	add(sweepCase{what: "a semicolon separator", path: base + "?a=1;b=2"})
	// Headers.
	for _, h := range []struct{ what, value string }{
		{"a tab", "key\tvalue"}, {"invalid UTF-8", "key\xff"}, {"300 bytes", strings.Repeat("k", 300)}, {"empty", ""},
	} {
		add(sweepCase{what: "Idempotency-Key with " + h.what, header: http.Header{"Idempotency-Key": {h.value}}})
	}
	add(sweepCase{what: "Idempotency-Key twice", header: http.Header{"Idempotency-Key": {"a", "b"}}})
	for _, prm := range op.params {
		if prm.In == "header" && prm.Name == "X-Ledger-Min-Position" {
			for _, v := range []string{"abc", "-1", "1.5", "0x10", "99999999999999999999"} {
				add(sweepCase{what: "X-Ledger-Min-Position " + v, header: http.Header{"X-Ledger-Min-Position": {v}}})
			}
		}
	}
	// Bodies.
	if _, ok := op.bodies["application/json"]; ok {
		cases = append(cases, d.jsonCases(op, fx, base, jsonBody)...)
	}
	if _, ok := op.bodies["text/plain"]; ok {
		for _, b := range []struct{ what, body string }{
			{"an empty file", ""}, {"not a file", "hello"}, {"invalid UTF-8", "\xff\xfe\xfd"}, {"NUL bytes", "-----BEGIN \x00\x00"},
			{"an oversized file", strings.Repeat("A", 200<<10)},
			{"a request file with a NUL header", "-----BEGIN SEATLEDGER ACTIVATION REQUEST FILE-----\nKind: activation-request\nIssued: 2026-03-01T09:00:00Z\nNonce: n\x00\nServer: farm/s\n\ne30=\n-----END SEATLEDGER ACTIVATION REQUEST FILE-----\n"},
		} {
			add(sweepCase{what: "text body: " + b.what, contentType: "text/plain", body: []byte(b.body)})
		}
	}
	if _, ok := op.bodies["multipart/form-data"]; ok {
		add(sweepCase{what: "multipart without a boundary", contentType: "multipart/form-data", body: []byte("x")})
		add(sweepCase{what: "a broken multipart body", contentType: "multipart/form-data; boundary=zz", body: []byte("--zz\r\nbroken")})
		add(sweepCase{what: "multipart with a NUL body", contentType: "multipart/form-data; boundary=zz",
			body: []byte("--zz\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\na\x00b\r\n--zz--\r\n")})
	}
	return cases
}

// paramSchema returns the schema of op's parameter name.
func (d apiDoc) paramSchema(op apiOperation, name string) json.RawMessage {
	for _, p := range op.params {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// jsonBase is op's plausible valid JSON body, or nil without one.
func (d apiDoc) jsonBase(op apiOperation, fx sweepFixture) []byte {
	raw, ok := op.bodies["application/json"]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(d.base(raw, "", fx, 0))
	return b
}

// jsonCases are the malformed JSON bodies of op: whole-body ones, then one
// per property, each otherwise the valid base.
func (d apiDoc) jsonCases(op apiOperation, fx sweepFixture, path string, base []byte) []sweepCase {
	body := func(what string, b []byte) sweepCase {
		return sweepCase{what: "body " + what, method: op.method, path: path, contentType: "application/json", body: b}
	}
	s := d.parse(op.bodies["application/json"])
	out := []sweepCase{
		body("null", []byte("null")), body("an array", []byte("[]")), body("a string", []byte(`"x"`)), body("a number", []byte("7")),
		body("empty", []byte("")), body("cut short", []byte(`{"a":`)), body("two values", append(slices.Clone(base), base...)),
		body("an unknown field", withField(base, "zz_unknown_field", 1)),
		body("a field in another case", withRawField(base, `"ZZ_NOT_A_FIELD"`, `1`)),
		body("raw invalid UTF-8 in a field name", withRawField(base, "\"a\xffb\"", `1`)),
		body("larger than the body limit", []byte(`{"pad":"`+strings.Repeat("x", 5<<20)+`"}`)),
		{what: "text/plain content type", method: op.method, path: path, contentType: "text/plain", body: base},
		{what: "a latin-1 charset", method: op.method, path: path, contentType: "application/json; charset=latin1", body: base},
		{what: "no content type", method: op.method, path: path, body: base},
	}
	if len(s.Required) > 0 {
		out = append(out, body("no required field", []byte("{}")))
	}
	var baseValue map[string]any
	_ = json.Unmarshal(base, &baseValue)
	out = append(out, d.propertyCases(s, baseValue, nil, body, 0)...)
	return out
}

// propertyCases mutates each property of the object schema s, found at
// path in base (nil: the body itself), one at a time; objects and arrays
// of objects are followed one level deeper, so that a nested field
// (files[0].size) is swept like a top-level one.
func (d apiDoc) propertyCases(s schema, base map[string]any, path []string, body func(string, []byte) sweepCase, depth int) []sweepCase {
	var out []sweepCase
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := d.parse(s.Properties[name])
		at := append(slices.Clone(path), name)
		label := strings.Join(at, ".")
		set := func(raw string) []byte { return mutate(base, at, raw) }
		if slices.Contains(s.Required, name) {
			out = append(out, body(label+" missing", mutate(base, at, "")))
		}
		out = append(out, body(label+" null", set("null")))
		switch p.typ() {
		case "string", "":
			out = append(out, body(label+" a number", set("12345")))
			for _, v := range []struct{ what, raw string }{
				{"a NUL", `"a\u0000b"`}, {"an escape character", `"a\u001bb"`}, {"an unpaired surrogate", `"a\ud800b"`},
				{"a lone low surrogate", `"\udc00"`}, {"raw invalid bytes", "\"a\xff\xfeb\""}, {"an overlong encoding", "\"\xc0\xaf\""},
				{"an encoded surrogate", "\"\xed\xa0\x80\""}, {"DEL and a C1 control", `"a\u007f\u0085b"`},
			} {
				out = append(out, body(label+" with "+v.what, set(v.raw)))
			}
		case "integer", "number":
			for _, v := range []struct{ what, raw string }{
				{"a string", `"12"`}, {"a fraction", "1.5"}, {"beyond float64", "1e400"}, {"beyond int64", "9223372036854775808"},
				{"the largest int64", "9223372036854775807"}, {"negative", "-1"}, {"hugely negative", "-9223372036854775808"},
			} {
				out = append(out, body(label+" "+v.what, set(v.raw)))
			}
		case "boolean", "bool":
			out = append(out, body(label+" a string", set(`"yes"`)), body(label+" a number", set("1")))
		case "array":
			out = append(out, body(label+" an object", set("{}")), body(label+" holding null", set("[null]")),
				body(label+" holding a NUL string", set(`["\u0000"]`)))
			item := d.parse(p.Items)
			if items, ok := lookup(base, at).([]any); ok && len(items) > 0 && item.typ() == "object" && depth < 2 {
				if first, ok := items[0].(map[string]any); ok {
					nested := d.propertyCases(item, first, nil, func(what string, b []byte) sweepCase {
						return body(label+"[0]."+strings.TrimPrefix(what, "body "), mutate(base, at, "["+string(b)+"]"))
					}, depth+1)
					out = append(out, nested...)
				}
			}
		case "object":
			out = append(out, body(label+" an array", set("[]")), body(label+" with an unknown field", set(`{"zz_unknown_field":1}`)))
			if obj, ok := lookup(base, at).(map[string]any); ok && depth < 2 {
				out = append(out, d.propertyCases(p, obj, nil, func(what string, b []byte) sweepCase {
					return body(label+"."+strings.TrimPrefix(what, "body "), mutate(base, at, string(b)))
				}, depth+1)...)
			}
		}
	}
	return out
}

// sweepMark stands for a raw JSON value in a body being built.
const sweepMark = "@@sweep-raw-value@@"

// mutate returns base as JSON with the value at path replaced by raw,
// written as given (so that invalid bytes stay invalid), or removed when
// raw is "".
func mutate(base map[string]any, path []string, raw string) []byte {
	var cp map[string]any
	b, _ := json.Marshal(base)
	_ = json.Unmarshal(b, &cp)
	if cp == nil {
		cp = map[string]any{}
	}
	obj := cp
	for _, name := range path[:len(path)-1] {
		next, ok := obj[name].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[name] = next
		}
		obj = next
	}
	last := path[len(path)-1]
	if raw == "" {
		delete(obj, last)
		out, _ := json.Marshal(cp)
		return out
	}
	obj[last] = sweepMark
	out, _ := json.Marshal(cp)
	return bytes.Replace(out, []byte(`"`+sweepMark+`"`), []byte(raw), 1)
}

// lookup returns the value at path in base, or nil.
func lookup(base map[string]any, path []string) any {
	var v any = base
	for _, name := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}

// withField returns the JSON object b with field name set to v.
func withField(b []byte, name string, v any) []byte {
	raw, _ := json.Marshal(v)
	return withRawField(b, `"`+name+`"`, string(raw))
}

// withRawField returns the JSON object b with the raw key set to the raw
// value, written as given (so that invalid bytes stay invalid).
func withRawField(b []byte, key, value string) []byte {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(b, &fields)
	var buf bytes.Buffer
	buf.WriteString("{")
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if `"`+k+`"` == key {
			continue
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteString(":")
		buf.Write(fields[k])
		buf.WriteString(",")
	}
	buf.WriteString(key + ":" + value + "}")
	return buf.Bytes()
}
