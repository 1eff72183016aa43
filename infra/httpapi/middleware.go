package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
)

// RequestIDHeader carries a request's ID in and out.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLength bounds an incoming request ID: it is echoed, logged
// and stored as events' correlation ID, so it must stay short.
const maxRequestIDLength = 128

type requestIDKey struct{}

// RequestID returns the ID of the request ctx belongs to, or "" outside a
// request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDs gives every request an ID: the caller's X-Request-ID when it
// is sane (so that a proxy's or a client's ID ties their logs to ours),
// else a fresh UUIDv7 (time-ordered, so IDs sort like the log). The ID is
// echoed in the response.
func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// saneRequestID accepts IDs that are safe to echo in a header and to write
// in a log line: short, and made of characters IDs are made of. Anything
// else (spaces, quotes, control characters) is replaced, not rejected:
// the request itself is fine.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// quietPaths are polled by probes and scrapers every few seconds; their
// successful requests are logged at debug level so that they do not drown
// the requests people make.
var quietPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observeRequests logs one JSON line per request (request ID, method,
// path, route, status, size, duration) and records its duration in m.
// It never logs headers, query strings or bodies: they carry credentials
// (Authorization) and personal data.
func observeRequests(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			took := time.Since(start)

			status := ww.Status()
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			route := ""
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				route = rctx.RoutePattern()
			}
			m.observeRequest(r.Method, route, status, took)
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case quietPaths[r.URL.Path] && status < 400:
				level = slog.LevelDebug
			}
			log.LogAttrs(r.Context(), level, "http request",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Float64("duration_ms", float64(took.Microseconds())/1000),
			)
		})
	}
}

// recoverPanics turns a handler's panic into a 500 problem and a log line
// with the stack, so that one bad request neither kills the process nor
// leaves the client without an answer.
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww, ok := w.(middleware.WrapResponseWriter)
			if !ok {
				ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			}
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if rec == http.ErrAbortHandler {
					panic(rec) // net/http's way to abort a response on purpose
				}
				log.ErrorContext(r.Context(), "panic in handler",
					"request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				if ww.Status() != 0 {
					return // the response has begun; the client sees it cut short
				}
				WriteProblem(ww, r, ProblemInternal.New(genericInternalDetail))
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// allowedMethods lists the methods router serves at path, for the Allow
// header of a 405 (RFC 9110 §15.5.6 requires it).
func allowedMethods(router chi.Routes, path string) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if router.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}
