package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// rule X-7: a path, query or Idempotency-Key no route can take is refused
// before any handler (and so before any SQL) runs: a NUL or invalid UTF-8
// in a path ID reached PostgreSQL and answered 500.
func TestRefuseUnclean_X7_answers_before_any_route(t *testing.T) {
	t.Parallel()
	reached := false
	h := refuseUnclean(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	for _, c := range []struct {
		name, target, key string
		status            int
		field             string
	}{
		{"NUL in a path ID", "/v1/subscriptions/abc%00", "", http.StatusNotFound, ""},
		{"overlong UTF-8 in a path ID", "/v1/accounts/%C0%AF/farms", "", http.StatusNotFound, ""},
		{"raw invalid byte in a path", "/v1/history/keys/\xff", "", http.StatusNotFound, ""},
		{"escape character in a path", "/v1/subscriptions/a%1Bb/keys", "", http.StatusNotFound, ""},
		{"C1 control in a path", "/v1/subscriptions/a%C2%85b", "", http.StatusNotFound, ""},
		{"a 100 KB path segment", "/v1/subscriptions/" + strings.Repeat("a", 100<<10), "", http.StatusNotFound, ""},
		{"NUL in a query value", "/v1/accounts/a/members?search=a%00", "", http.StatusBadRequest, "search"},
		{"invalid UTF-8 in a query value", "/v1/accounts/a/members?search=%FF", "", http.StatusBadRequest, "search"},
		{"a line break in a query value", "/v1/accounts/a/farms?after=a%0Ab", "", http.StatusBadRequest, "after"},
		{"a broken escape in the query", "/v1/accounts/a/farms?sort=%zz", "", http.StatusBadRequest, ""},
		{"a semicolon separator", "/v1/accounts/a/farms?sort=name;limit=1", "", http.StatusBadRequest, ""},
		{"an Idempotency-Key with a control character", "/v1/installation/usage", "k\x01", http.StatusBadRequest, "Idempotency-Key"},
		{"an Idempotency-Key of invalid UTF-8", "/v1/installation/usage", "k\xff", http.StatusBadRequest, "Idempotency-Key"},
		{"an over-long Idempotency-Key", "/v1/installation/usage", strings.Repeat("k", 256), http.StatusBadRequest, "Idempotency-Key"},
	} {
		reached = false
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawQuery, _ = strings.Cut(c.target, "?")
		r.URL.RawPath = ""
		if strings.Contains(r.URL.Path, "%") {
			var err error
			if r.URL, err = r.URL.Parse(c.target); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if c.key != "" {
			r.Header["Idempotency-Key"] = []string{c.key}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var p Problem
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		switch {
		case reached:
			t.Errorf("%s: reached the route", c.name)
		case w.Code != c.status || w.Header().Get("Content-Type") != problemContentType:
			t.Errorf("%s: %d %s, want %d problem JSON", c.name, w.Code, w.Header().Get("Content-Type"), c.status)
		case c.field != "" && (len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != c.field):
			t.Errorf("%s: invalid_params %+v, want %s", c.name, p.InvalidParams, c.field)
		}
	}
	for _, target := range []string{"/v1/subscriptions/0b0e-…", "/v1/accounts/a/members?search=Zo%C3%AB+%F0%9F%9A%80&limit=5", "/v1/history/keys/7K2MQ-X9PDA"} {
		reached = false
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		u, err := r.URL.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		r.URL = u
		r.Header.Set("Idempotency-Key", "report-2026-03-01T10:00")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if !reached {
			t.Errorf("%s: a clean request was refused", target)
		}
	}
}
