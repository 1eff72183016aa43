package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"seatledger/infra/strictjson"
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
// limit bytes sent as application/json, into dst (a pointer to a struct),
// and refuses whatever rule X-7 refuses (package strictjson), naming each
// wrong field in the problem's invalid_params:
//
//   - exactly one JSON value, of the shape dst declares (an object for a
//     struct): not null, not followed by anything but white space;
//   - every field of dst is required unless its json tag says omitempty
//     or omitzero, or its Go type is a pointer; null is never a value (an
//     optional field is left out instead), so nothing is defaulted;
//   - fields dst does not declare are refused rather than ignored, names
//     are matched exactly (not case-insensitively), and a field given
//     twice is refused, so that what the client meant is never guessed;
//   - each value has the JSON type of its field, and numbers fit it;
//   - strings are valid UTF-8 — raw bytes and \u escapes alike, which
//     encoding/json would silently turn into U+FFFD — with no NUL or other
//     control character but line breaks and tabs (which fields may hold
//     those, and every other text rule, is the domain's: package text).
//
// The returned error is a *Problem (415, 413 or 400) whose detail says
// what to fix; pass it to WriteError.
func DecodeJSONLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ProblemPayloadTooLarge.New("the body is larger than %d bytes", tooLarge.Limit)
		}
		return ProblemInvalidRequest.New("the body could not be read: %v", err).Field("body")
	}
	return decodeStrict(body, dst)
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

// decodeStrict checks body against the shape of dst (see
// DecodeJSONLimit) and then decodes it into dst.
func decodeStrict(body []byte, dst any) error {
	err := strictjson.Decode(body, dst)
	var refused *strictjson.Error
	if !errors.As(err, &refused) {
		return err // nil, or a programming error: a 500
	}
	if refused.Malformed {
		return ProblemMalformedJSON.New("%s", refused.Reason)
	}
	p := ProblemInvalidRequest.New("%s", refused.Reason)
	if len(refused.Fields) > 1 {
		p.Detail = strings.Replace(p.Detail, " more problems)", " more problems, see invalid_params)", 1)
	}
	for _, f := range refused.Fields {
		p.InvalidParams = append(p.InvalidParams, InvalidParam{Name: f.Name, Reason: f.Reason})
	}
	return p
}
