package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"seatledger/domain/text"
)

// maxPathSegment bounds one segment of a request's path, in bytes: every
// ID the API knows is far shorter, and a longer one names nothing.
const maxPathSegment = 512

// maxIdempotencyKey bounds the Idempotency-Key header, in bytes.
const maxIdempotencyKey = 255

// refuseUnclean answers, before any route runs, the requests no route can
// take (rule X-7), so that no handler has to remember it:
//
//   - a path that is not valid UTF-8, holds a control character (a NUL or
//     an invalid byte sequence reaching PostgreSQL fails the query: it
//     was a 500) or a segment longer than maxPathSegment bytes names
//     nothing: 404;
//   - a query string that does not parse (net/url's Query
//     would silently drop the broken pair), or whose names or values are
//     not valid UTF-8 or hold control characters: 400 naming the
//     parameter;
//   - an Idempotency-Key that is not a short line of visible text: 400.
func refuseUnclean(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanPath(r.URL.Path) {
			WriteProblem(w, r, ProblemNotFound.New("no resource at %q: a path is UTF-8 text without control characters, each segment at most %d bytes",
				strings.ToValidUTF8(r.URL.Path, "\uFFFD"), maxPathSegment))
			return
		}
		if r.URL.RawQuery != "" {
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				WriteProblem(w, r, ProblemInvalidRequest.New("the query string cannot be parsed: %v", err).Field("query"))
				return
			}
			for name, values := range q {
				if reason := text.Check("query parameter name", name, text.Identifier, 200); reason != "" {
					WriteProblem(w, r, ProblemInvalidRequest.New("%s", strings.ToValidUTF8(reason, "\uFFFD")).Field(strings.ToValidUTF8(name, "\uFFFD")))
					return
				}
				for _, v := range values {
					if reason := text.Check(name, v, text.Free, 1<<20); reason != "" || strings.ContainsAny(v, "\t\r\n") {
						if reason == "" {
							reason = name + " holds a control character"
						}
						WriteProblem(w, r, ProblemInvalidRequest.New("query parameter %s", reason).Field(name))
						return
					}
				}
			}
		}
		if key, ok := r.Header[http.CanonicalHeaderKey("Idempotency-Key")]; ok {
			if len(key) != 1 || len(key[0]) > maxIdempotencyKey || text.Required("Idempotency-Key", key[0], text.Identifier, maxIdempotencyKey) != "" {
				WriteProblem(w, r, ProblemInvalidRequest.New("header Idempotency-Key must be one value of 1 to %d bytes of visible text, such as a UUID", maxIdempotencyKey).
					Field("Idempotency-Key"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath reports whether a decoded request path can name a resource.
func cleanPath(p string) bool {
	if !utf8.ValidString(p) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if len(seg) > maxPathSegment {
			return false
		}
	}
	return !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) })
}
