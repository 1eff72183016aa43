// Package openapitest checks HTTP exchanges against the served OpenAPI
// document (issue 19): the API tests route every request they send
// through a Validator, which validates the request and the response with
// kin-openapi's openapi3filter and reports each mismatch naming the
// operation and the problem. Any drift between the document and the code
// therefore fails the test that exercised it.
//
// The document is validated as written, with one tightening: an object
// schema that lists its properties and says nothing about others is
// closed (unevaluatedProperties: false), so that a field the server
// answers but the document does not describe is drift too. Clients of the
// document see it unchanged.
//
// Tests that send invalid requests on purpose (rule X-7's sweep, fuzzing)
// mark them with MarkInvalid: their requests are not validated, their
// responses (problem JSON) are.
//
// The package is imported by tests only; the server does not carry it.
package openapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// InvalidRequestHeader marks a request sent invalid on purpose: the
// Validator removes it before the handler sees the request, skips the
// request's validation and still validates the response.
const InvalidRequestHeader = "X-Openapitest-Invalid-Request"

// MarkInvalid marks h's request as invalid on purpose (see
// InvalidRequestHeader); why says which way, for whoever reads a trace.
func MarkInvalid(h http.Header, why string) {
	if why == "" {
		why = "on purpose"
	}
	h.Set(InvalidRequestHeader, why)
}

func init() {
	// Media types the document uses beyond kin-openapi's own decoders;
	// their schemas describe them as strings.
	openapi3filter.RegisterBodyDecoder("application/x-pem-file", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
}

// Validator validates exchanges against one OpenAPI document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	cacheMu sync.Mutex
	cache   = map[[32]byte]*Validator{}
)

// Load parses and checks document (OpenAPI 3.1 JSON) and returns its
// Validator; validators are kept per document, so loading the same
// document again is free.
func Load(document []byte) (*Validator, error) {
	key := sha256.Sum256(document)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if v, ok := cache[key]; ok {
		return v, nil
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	// The document names the server a deployment listens on; the tests'
	// servers listen elsewhere, so routes are matched on the path alone.
	doc.Servers = nil
	closeObjects(doc)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi router: %w", err)
	}
	v := &Validator{doc: doc, router: router}
	cache[key] = v
	return v, nil
}

// Served loads the document h serves at GET /openapi.json.
func Served(h http.Handler) (*Validator, error) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if w.Code != http.StatusOK {
		return nil, fmt.Errorf("GET /openapi.json = %d", w.Code)
	}
	return Load(w.Body.Bytes())
}

// maxBody bounds the response bytes kept for validation; a larger body
// (a load test's export) is validated for its status and headers only.
const maxBody = 16 << 20

// Handler returns next wrapped so that every exchange it serves is
// validated; report receives one line per mismatch. Requests for paths
// the document does not describe (the portal's pages, probes of unknown
// paths) pass through unchecked: the route-coverage test keeps every API
// route documented.
func (v *Validator) Handler(next http.Handler, report func(problem string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		invalid := r.Header.Get(InvalidRequestHeader) != ""
		r.Header.Del(InvalidRequestHeader)
		// What the handler sees of the request may change while it runs
		// (middleware sets context values); validate a copy taken now.
		probe := r.Clone(context.WithoutCancel(r.Context()))
		// The body is kept as the handler reads it, never read ahead:
		// how much of a body the server takes is behaviour tests check.
		body := &tee{ReadCloser: r.Body, eof: r.Body == nil || r.Body == http.NoBody}
		if !body.eof {
			r.Body = body
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		rec.finish()
		check := checkRequest
		switch {
		case invalid:
			check = skipRequest
		case !body.eof || body.overflow:
			// Refused before its end (a wrong Content-Type, a body over
			// the limit): the rest of the request is still checked.
			check = checkRequestWithoutBody
		}
		for _, p := range v.check(probe, body.kept.Bytes(), check, rec.status(), rec.header, rec.body.Bytes(), rec.overflow) {
			report(p)
		}
	})
}

// requestCheck says how much of a request is validated.
type requestCheck int

const (
	checkRequest            requestCheck = iota // all of it
	checkRequestWithoutBody                     // the body was not read to its end
	skipRequest                                 // invalid on purpose
)

// Check validates one exchange: the request (with its body) unless
// checkRequest is false, and the response with status, header and body
// (unless truncated). It returns one line per mismatch, each naming the
// operation; an exchange on a path the document does not describe
// returns nothing.
func (v *Validator) Check(req *http.Request, reqBody []byte, checkReq bool, status int, header http.Header, body []byte, truncated bool) []string {
	check := checkRequest
	if !checkReq {
		check = skipRequest
	}
	return v.check(req, reqBody, check, status, header, body, truncated)
}

func (v *Validator) check(req *http.Request, reqBody []byte, check requestCheck, status int, header http.Header, body []byte, truncated bool) []string {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil
	}
	name := route.Method + " " + route.Path
	if route.Operation.OperationID != "" {
		name += " (" + route.Operation.OperationID + ")"
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError:          true,
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
			ExcludeRequestBody:  check == checkRequestWithoutBody,
		},
	}
	var out []string
	if check != skipRequest {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			out = append(out, fmt.Sprintf("openapi: %s: request %s %s does not match the document: %s",
				name, req.Method, shorten(req.URL.RequestURI()), describe(err)))
		}
	}
	out = append(out, v.checkResponse(ctx, in, name, status, header, body, truncated)...)
	return out
}

func (v *Validator) checkResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, name string, status int, header http.Header, body []byte, truncated bool) []string {
	where := fmt.Sprintf("openapi: %s: response %d to %s %s", name, status, in.Request.Method, shorten(in.Request.URL.RequestURI()))
	responses := in.Route.Operation.Responses
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return []string{fmt.Sprintf("%s: status %d is not documented (documented: %s)", where, status, documentedStatuses(responses))}
	}
	var out []string
	if len(ref.Value.Content) == 0 && len(body) > 0 && in.Request.Method != http.MethodHead {
		out = append(out, fmt.Sprintf("%s: the document describes no body, the server sent %d bytes (%s)",
			where, len(body), header.Get("Content-Type")))
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			MultiError:            true,
			IncludeResponseStatus: true,
			ExcludeResponseBody:   truncated,
		},
	}
	rin.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		out = append(out, fmt.Sprintf("%s does not match the document: %s", where, describe(err)))
	}
	if problem := unnamedInvalidRequest(status, header, body); problem != "" {
		out = append(out, fmt.Sprintf("%s: %s", where, problem))
	}
	return out
}

// unnamedInvalidRequest reports a refused request whose problem names no
// field: every invalid-request problem (400) lists what is wrong in
// invalid_params, so that a client (the portal too) can show each reason
// next to the field it is about (issue 20).
func unnamedInvalidRequest(status int, header http.Header, body []byte) string {
	if status != http.StatusBadRequest || !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") {
		return ""
	}
	var p struct {
		Type          string            `json:"type"`
		Detail        string            `json:"detail"`
		InvalidParams []json.RawMessage `json:"invalid_params"`
	}
	if json.Unmarshal(body, &p) != nil || !strings.HasSuffix(p.Type, "/invalid-request") || len(p.InvalidParams) > 0 {
		return ""
	}
	return fmt.Sprintf("an invalid-request problem names no field in invalid_params (detail %q)", p.Detail)
}

func documentedStatuses(responses *openapi3.Responses) string {
	codes := slices.Collect(func(yield func(string) bool) {
		for code := range responses.Map() {
			if !yield(code) {
				return
			}
		}
	})
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}

// describe flattens kin-openapi's (multi-)errors into one line each part.
func describe(err error) string {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		parts := make([]string, 0, len(multi))
		for _, e := range multi {
			parts = append(parts, describe(e))
		}
		return strings.Join(parts, "; ")
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && re.Err != nil {
		var inner openapi3.MultiError
		if errors.As(re.Err, &inner) {
			prefix := re.Reason
			if re.Parameter != nil {
				prefix = "parameter " + re.Parameter.Name + " in " + re.Parameter.In
			} else if re.RequestBody != nil && prefix == "" {
				prefix = "body"
			}
			return prefix + ": " + describe(inner)
		}
	}
	return brief(err.Error())
}

// shorten cuts a request URI (a sweep's path of 10,000 bytes) for a
// report.
func shorten(uri string) string {
	if len(uri) > 120 {
		return uri[:120] + "…"
	}
	return uri
}

// brief puts a kin-openapi message on one line without the schema it
// quotes (the operation names where to read it) and with the value cut
// short.
func brief(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if i := strings.Index(msg, " Schema: "); i >= 0 {
		value := ""
		if j := strings.LastIndex(msg, " Value: "); j > i {
			value = msg[j:]
			if len(value) > 160 {
				value = value[:160] + "…"
			}
		}
		msg = msg[:i] + value
	}
	return msg
}

// tee keeps what the handler reads of a request's body.
type tee struct {
	io.ReadCloser
	kept     bytes.Buffer
	eof      bool // read to its end
	overflow bool // longer than maxBody: not kept
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if !t.overflow {
		if t.kept.Len()+n > maxBody {
			t.overflow = true
			t.kept.Reset()
		} else {
			t.kept.Write(p[:n])
		}
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// recorder passes the response through while keeping a copy of its
// status, headers and body.
type recorder struct {
	http.ResponseWriter
	code     int
	header   http.Header
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// finish settles what the client received: a handler that wrote nothing
// answered 200, and a body without Content-Type was sniffed by net/http.
func (r *recorder) finish() {
	if r.header == nil {
		r.header = r.ResponseWriter.Header().Clone()
	}
	if r.header.Get("Content-Type") == "" && r.body.Len() > 0 {
		r.header.Set("Content-Type", http.DetectContentType(r.body.Bytes()))
	}
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
		r.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.overflow {
		if r.body.Len()+len(p) > maxBody {
			r.overflow = true
			r.body.Reset()
		} else {
			r.body.Write(p)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Flush keeps streaming responses streaming.
func (r *recorder) Flush() {
	if r.code == 0 {
		r.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// maxReported bounds the mismatches one Collect reports: a sweep repeats
// one mismatch over hundreds of requests.
const maxReported = 60

// Collect returns a report function for Handler that keeps each distinct
// mismatch and fails t with them when the test ends — after the cleanups
// registered later, such as closing the server, so every exchange has
// been answered and validated by then, and none is reported to a test
// that has already finished.
func Collect(t testing.TB) func(problem string) {
	var (
		mu       sync.Mutex
		problems []string
		seen     = map[string]bool{}
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for i, p := range problems {
			if i == maxReported {
				t.Errorf("openapi: and %d more mismatches", len(problems)-maxReported)
				break
			}
			t.Error(p)
		}
	})
	return func(problem string) {
		mu.Lock()
		defer mu.Unlock()
		if !seen[problem] {
			seen[problem] = true
			problems = append(problems, problem)
		}
	}
}
