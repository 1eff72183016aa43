package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBodyBytes bounds a JSON request body. Every request the API
// takes is a small command; a bigger body is a mistake or an attack, and
// reading it whole would let one client exhaust the server's memory.
const DefaultMaxBodyBytes = 1 << 20

// DecodeJSON reads r's body into dst with DecodeJSONLimit and
// DefaultMaxBodyBytes.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return DecodeJSONLimit(w, r, dst, DefaultMaxBodyBytes)
}

// DecodeJSONLimit reads r's body, which must be one JSON value of at most
// limit bytes sent as application/json, into dst. Fields dst does not
// declare are refused rather than ignored, so that a misspelt field is
// reported instead of silently dropped. The returned error is a *Problem
// (415, 413 or 400) whose detail says what to fix; pass it to WriteError.
func DecodeJSONLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	// One value only: a second one is most likely a client bug (two bodies
	// concatenated) that would otherwise be half-applied.
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeProblem(err)
		}
		return ProblemMalformedJSON.New("the body continues after its JSON value; send exactly one")
	}
	return nil
}

func checkJSONContentType(header string) error {
	if header == "" {
		return ProblemUnsupportedMediaType.New("the request has no Content-Type; send application/json")
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return ProblemUnsupportedMediaType.New("Content-Type %q cannot be parsed; send application/json", header)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return ProblemUnsupportedMediaType.New("Content-Type %s is not accepted; send application/json", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return ProblemUnsupportedMediaType.New("charset %s is not accepted; JSON is UTF-8", cs)
	}
	return nil
}

// decodeProblem explains a json.Decoder error in the client's terms.
func decodeProblem(err error) *Problem {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return ProblemPayloadTooLarge.New("the body is larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return ProblemMalformedJSON.New("the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ProblemMalformedJSON.New("the body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return ProblemMalformedJSON.New("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typeError):
		if typeError.Field == "" {
			return ProblemInvalidRequest.New("the body is a JSON %s; send a JSON object", typeError.Value)
		}
		return ProblemInvalidRequest.New("field %q must be %s, not a JSON %s", typeError.Field, jsonKind(typeError.Type.Kind().String()), typeError.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for DisallowUnknownFields.
		return ProblemInvalidRequest.New("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return ProblemMalformedJSON.New("the body cannot be read as JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return fmt.Sprintf("of type %s", goKind)
}
