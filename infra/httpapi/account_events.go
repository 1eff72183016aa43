package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/queries"
)

// defaultFeedWriteTimeout is how long a write to a live feed's client may
// take by default before it is cut off.
const defaultFeedWriteTimeout = 10 * time.Second

// feedSendBuffer bounds the kernel's send buffer of a live feed's
// connection, which it would otherwise grow to megabytes for a client
// that reads slowly: with the one page the follow holds, that is all the
// memory a slow client ties up. 64 KiB carries about 1 MB/s over a 100 ms
// round trip, far more than an account's events need.
const feedSendBuffer = 64 << 10

type connKey struct{}

// ConnContext is the http.Server's ConnContext: it keeps each request's
// connection in its context, where a live feed bounds its send buffer.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// boundSendBuffer bounds the send buffer of r's TCP connection, when the
// server kept it (ConnContext).
func boundSendBuffer(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(interface{ SetWriteBuffer(int) error }); ok {
		_ = c.SetWriteBuffer(feedSendBuffer) // a hint: the kernel's default is the fallback
	}
}

// accountEvents answers GET /v1/accounts/{id}/events?after=&types=&limit=:
// a page of the account's event feed (issue 22), or its live variant when
// the client accepts text/event-stream.
func (s *Server) accountEvents(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.accountEventStream(w, r)
		return
	}
	page, err := s.reads.AccountEvents(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"), feedRequest(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// accountEventStream answers GET /v1/accounts/{id}/events/stream: the
// account's event feed as Server-Sent Events, each event with its cursor
// as its id, from after (or Last-Event-ID, which a reconnecting client
// sends) on, live, with a comment line as heartbeat. A client that does
// not take a write within the feed's write timeout is cut off: it is
// never buffered beyond one page of events.
func (s *Server) accountEventStream(w http.ResponseWriter, r *http.Request) {
	req := feedRequest(r)
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		req.After = last
	}
	follow, err := s.reads.FollowAccountEvents(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	boundSendBuffer(r)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies such as nginx must not hold events back
	w.WriteHeader(http.StatusOK)
	sink := &eventStream{w: w, rc: http.NewResponseController(w), timeout: s.cfg.People.FeedWriteTimeout}
	if sink.timeout <= 0 {
		sink.timeout = defaultFeedWriteTimeout
	}
	fmt.Fprintf(&sink.buf, "retry: %d\n\n", 2000) // reconnect after 2 s
	if err = sink.flush(); err == nil {
		err = follow.Run(r.Context(), sink)
	}
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.cfg.Logger.WarnContext(r.Context(), "event feed client cut off: it did not keep up", "request_id", RequestID(r.Context()),
			"account_id", chi.URLParam(r, "accountID"), "timeout", sink.timeout)
	default:
		s.cfg.Logger.InfoContext(r.Context(), "event feed stream ended", "request_id", RequestID(r.Context()), "reason", err.Error())
	}
}

// feedRequest reads a feed request's parameters.
func feedRequest(r *http.Request) queries.FeedRequest {
	q := r.URL.Query()
	return queries.FeedRequest{After: q.Get("after"), Types: q.Get("types"), Limit: q.Get("limit")}
}

// eventStream writes a feed as Server-Sent Events: each batch is written
// and flushed under a write deadline, so a client that stops reading is
// cut off rather than buffered for.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
}

var _ queries.FeedSink = (*eventStream)(nil)

// Send implements queries.FeedSink: one SSE event per feed event, its
// cursor as id and its JSON (one line) as data.
func (s *eventStream) Send(events []queries.FeedEvent) error {
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		fmt.Fprintf(&s.buf, "id: %s\ndata: %s\n\n", e.ID, data)
	}
	return s.flush()
}

// Heartbeat implements queries.FeedSink with a comment line, which
// EventSource clients ignore.
func (s *eventStream) Heartbeat() error {
	s.buf.WriteString(": heartbeat\n\n")
	return s.flush()
}

func (s *eventStream) flush() error {
	defer s.buf.Reset()
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return err
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}
