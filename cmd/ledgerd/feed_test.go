package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

// feedEvents reads every event of account acc's feed as c, page by page
// (limit events a page, after the cursor after), checking that the pages
// join up; it returns the events and the last page's next.
func feedEvents(c *client, acc, after string, limit int) ([]queries.FeedEvent, string) {
	c.t.Helper()
	var all []queries.FeedEvent
	for {
		r := c.must(200, "GET", fmt.Sprintf("/v1/accounts/%s/events?limit=%d&after=%s", acc, limit, url.QueryEscape(after)), nil)
		var page queries.FeedPage
		if err := json.Unmarshal([]byte(r.raw), &page); err != nil {
			c.t.Fatal(err)
		}
		if len(page.Events) > limit {
			c.t.Fatalf("a page of limit %d holds %d events", limit, len(page.Events))
		}
		all = append(all, page.Events...)
		if len(page.Events) > 0 && page.Next != page.Events[len(page.Events)-1].ID || len(page.Events) == 0 && page.Next != after {
			c.t.Fatalf("next %q does not follow the page (after %q, %d events)", page.Next, after, len(page.Events))
		}
		after = page.Next
		if !page.HasMore {
			return all, after
		}
	}
}

func feedTypes(events []queries.FeedEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

// Issue 22: an account's feed pages through exactly its own events,
// oldest first, filtered by public name, with no secret in them; another
// account's admin reads none of them, and each account sees only its
// installations. On SQLite and PostgreSQL.
func TestAccountEvents_paging_types_isolation_secrets_X5_KEY9(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServer(t, target)
		office, ada, keyA, accA, subA := installationsAccount(t, m, "ras", 10)
		ctx := context.Background()
		farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}

		// B: eve's subscription with a farm.
		boughtB := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "feed-b", "product_id": "ras",
			"seats": 5, "period": "1y", "channel": "online", "support_plan": "standard"})
		keyB, subB := boughtB.str("key"), boughtB.str("subscription_id")
		eve := newClient(t, m)
		eve.must(201, "POST", "/v1/signup", signUpBody("Eve", "eve@example.com"))
		eve.must(200, "POST", "/v1/session", map[string]any{"email": "eve@example.com", "password": pw})
		accB := eve.must(201, "POST", "/v1/keys/register", map[string]any{"key": keyB,
			"company": map[string]any{"name": "Beta AG", "country": "CH", "zip": "8000", "phone": "+41 44 000 00 00"}}).str("account_id")
		actB, err := farm.Activate(ctx, keyB, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-beta", FarmName: "Beta farm", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := farm.Report(ctx, actB.Credential, farmclient.SeatsReport(3, time.Time{}), ""); err != nil {
			t.Fatal(err)
		}
		eve.must(200, "PUT", "/v1/subscriptions/"+subB+"/name", map[string]any{"name": "Beta main"})

		// A: a sublicense (its key is a secret), a farm over its quota.
		sub := ada.must(201, "POST", "/v1/subscriptions/"+subA+"/keys", map[string]any{"name": "Berlin", "quota": 3})
		actA, err := farm.Activate(ctx, keyA, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-acme", FarmName: "Acme farm", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := farm.Report(ctx, actA.Credential, farmclient.SeatsReport(12, time.Time{}), ""); err != nil {
			t.Fatal(err)
		}
		ada.must(200, "PUT", "/v1/installations/"+actA.InstallationID+"/notes", map[string]any{"notes": "rack 4"}) // after the reports: ada reads at its position

		// Paging: pages of 2 join up into the whole feed, oldest first.
		whole, _ := feedEvents(ada, accA, "", 1000)
		paged, _ := feedEvents(ada, accA, "", 2)
		if len(whole) < 7 || !slices.EqualFunc(whole, paged, func(a, b queries.FeedEvent) bool { return a.ID == b.ID && a.EventID == b.EventID }) {
			t.Fatalf("pages of 2 %v, want the whole feed %v", feedTypes(paged), feedTypes(whole))
		}
		for i := 1; i < len(whole); i++ {
			if !whole[i-1].RecordedAt.Before(whole[i].RecordedAt) && !whole[i-1].RecordedAt.Equal(whole[i].RecordedAt) {
				t.Fatalf("not oldest first: %v then %v", whole[i-1], whole[i])
			}
		}
		types := feedTypes(whole)
		for _, want := range []string{"account.created", "subscription.registered", "subscription.sublicense_created", "installation.activated",
			"installation.usage_reported", "installation.overuse_started", "installation.notes_set"} {
			if !slices.Contains(types, want) {
				t.Errorf("A's feed %v lacks %s", types, want)
			}
		}
		if types[0] != "subscription.registered" && types[0] != "account.created" {
			t.Errorf("A's feed begins with %s", types[0])
		}

		// The type filter keeps the named events only.
		over := ada.must(200, "GET", "/v1/accounts/"+accA+"/events?types=installation.overuse_started,installation.notes_set", nil)
		var filtered queries.FeedPage
		if err := json.Unmarshal([]byte(over.raw), &filtered); err != nil {
			t.Fatal(err)
		}
		if got := feedTypes(filtered.Events); !slices.Equal(got, []string{"installation.overuse_started", "installation.notes_set"}) {
			t.Errorf("types filter: %v", got)
		}
		data := string(filtered.Events[0].Data)
		if filtered.Events[0].Subject.ID != actA.InstallationID || !strings.Contains(data, `"seats":12`) || !strings.Contains(data, `"quota":7`) {
			t.Errorf("overuse_started: %+v %s", filtered.Events[0].Subject, data)
		}

		// Isolation: A's feed names nothing of B's, B's nothing of A's;
		// neither admin reads the other's feed.
		eve.bearer = eve.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "feed"}).str("token")
		wholeB, _ := feedEvents(eve, accB, "", 1000)
		rawA, _ := json.Marshal(whole)
		rawB, _ := json.Marshal(wholeB)
		for _, s := range []string{accB, subB, actB.InstallationID, "Beta"} {
			if strings.Contains(string(rawA), s) {
				t.Errorf("A's feed holds B's %q", s)
			}
		}
		for _, s := range []string{accA, subA, actA.InstallationID, "Acme"} {
			if strings.Contains(string(rawB), s) {
				t.Errorf("B's feed holds A's %q", s)
			}
		}
		eve.must(403, "GET", "/v1/accounts/"+accA+"/events", nil)
		ada.must(403, "GET", "/v1/accounts/"+accB+"/events", nil)
		// B's feed has B's farm, and begins at the registration: the
		// purchase before it is the order system's.
		if got := feedTypes(wholeB); !slices.Contains(got, "installation.activated") || !slices.Contains(got, "installation.usage_reported") ||
			slices.Contains(got, "subscription.purchased") || got[0] != "subscription.registered" && got[0] != "account.created" {
			t.Errorf("B's feed %v: want its registration first, and its farm", got)
		}

		// Secrets (KEY-9, X-5): no license key, credential or stored hash.
		for _, s := range []string{keyA, keyB, sub.str("key"), actA.Credential, actB.Credential, "lookup", "sealed", "token_hash", "order_digest", "nonce"} {
			if strings.Contains(string(rawA)+string(rawB), s) {
				t.Errorf("a feed holds the secret %q", s)
			}
		}

		// Bad input: a problem naming the parameter.
		for query, field := range map[string]string{"types=installation.nope": "types", "after=12": "after", "limit=0": "limit"} {
			r := ada.must(400, "GET", "/v1/accounts/"+accA+"/events?"+query, nil)
			if r.problemType() != "invalid-request" || !strings.Contains(r.raw, `"`+field+`"`) {
				t.Errorf("%s: %s", query, r.raw)
			}
		}
	})
}

// sseEvent is one event of a Server-Sent Events stream.
type sseEvent struct {
	id   string
	data queries.FeedEvent
}

// sseStream is a live feed read as an EventSource would.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// openStream opens account acc's live feed as c, resuming after lastID
// (Last-Event-ID) unless it is "".
func openStream(t *testing.T, c *client, acc, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/accounts/"+acc+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{t: t, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() { s.cancel(); s.resp.Body.Close() }

// next returns the stream's next event, passing over heartbeats; it
// fails the test after 15 s.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	timer := time.AfterFunc(15*time.Second, s.cancel)
	defer timer.Stop()
	var e sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && e.id != "":
			return e
		case strings.HasPrefix(line, "id: "):
			e.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e.data); err != nil {
				s.t.Fatalf("data %q: %v", line, err)
			}
		}
	}
}

// heartbeat reads the stream up to its next heartbeat; an event before it
// fails the test.
func (s *sseStream) heartbeat() {
	s.t.Helper()
	timer := time.AfterFunc(15*time.Second, s.cancel)
	defer timer.Stop()
	for {
		line, err := s.r.ReadString('\n')
		switch {
		case err != nil:
			s.t.Fatalf("stream ended: %v", err)
		case line == ": heartbeat\n":
			return
		case line != "\n":
			s.t.Fatalf("an idle stream told %q", line)
		}
	}
}

// until reads events until one of type typ, and returns them all.
func (s *sseStream) until(typ string) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	for {
		e := s.next()
		got = append(got, e)
		if e.data.Type == typ {
			return got
		}
	}
}

// Issue 22: the live feed tells the feed's events, then new ones as they
// happen, with heartbeats while none comes; a client that reconnects with
// Last-Event-ID resumes after that event and misses nothing of what
// happened while it was away. On SQLite and PostgreSQL.
func TestAccountEvents_stream_resumes_with_Last_Event_ID(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServerWith(t, target, func(m *Main) {
			m.FeedFollow = queries.FeedConfig{Heartbeat: 100 * time.Millisecond, Poll: 50 * time.Millisecond}
		})
		_, ada, _, acc, sub := installationsAccount(t, m, "ras", 10)
		ada.must(201, "POST", "/v1/subscriptions/"+sub+"/keys", map[string]any{"name": "Berlin", "quota": 3})
		backlog, _ := feedEvents(ada, acc, "", 1000)

		first := openStream(t, ada, acc, "")
		for i, want := range backlog {
			if got := first.next(); got.id != want.ID || got.data.EventID != want.EventID || got.data.ID != got.id {
				t.Fatalf("event %d of the stream: %s %+v, want %s %s", i, got.id, got.data, want.ID, want.Type)
			}
		}
		// Live: a change made now arrives on the open stream.
		ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Live"})
		live := first.until("subscription.renamed")
		if len(live) != 1 || !strings.Contains(string(live[0].data.Data), `"Live"`) {
			t.Fatalf("live: %+v", live)
		}
		// Idle: heartbeats, and no event.
		first.heartbeat()
		lastID := live[0].id // the last event this client saw
		first.close()

		// Away: three changes; back with Last-Event-ID: exactly those.
		ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Away 1"})
		ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/auto-renew", map[string]any{"on": false})
		ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Away 2"})
		missed, _ := feedEvents(ada, acc, lastID, 1000)
		if len(missed) != 3 {
			t.Fatalf("after %s the feed holds %v, want the three changes", lastID, feedTypes(missed))
		}
		second := openStream(t, ada, acc, lastID)
		for i, want := range missed {
			if got := second.next(); got.id != want.ID || got.data.Type != want.Type {
				t.Fatalf("resumed event %d: %s %s, want %s %s", i, got.id, got.data.Type, want.ID, want.Type)
			}
		}
		// A bad Last-Event-ID is refused before the stream starts.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ada.base+"/v1/accounts/"+acc+"/events/stream", nil)
		req.Header.Set("Authorization", "Bearer "+ada.bearer)
		req.Header.Set("Last-Event-ID", "not-a-cursor")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("a bad Last-Event-ID: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// Issue 22: a client that stops reading its live feed is cut off once a
// write to it has waited the feed's write timeout: the server holds one
// page of events for it, never more. The client's receive buffer is made
// small, so that the kernel's buffers cannot hide the stall. On SQLite
// and PostgreSQL.
func TestAccountEvents_slow_stream_reader_is_cut_off(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, _ := peopleServerWith(t, target, func(m *Main) { m.FeedWriteTimeout = 300 * time.Millisecond })
		_, ada, key, acc, _ := installationsAccount(t, m, "ras", 10)
		act, err := (&farmclient.Client{BaseURL: "http://" + m.Addr()}).Activate(context.Background(), key,
			farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-slow", FarmName: "Slow", AppVersion: "19.2"})
		if err != nil {
			t.Fatal(err)
		}
		// 200 notes of 4,000 characters: about 800 KB of events.
		for i := range 200 {
			notes := fmt.Sprintf("%03d %s", i, strings.Repeat("n", 3990))
			ada.must(200, "PUT", "/v1/installations/"+act.InstallationID+"/notes", map[string]any{"notes": notes})
		}
		all, _ := feedEvents(ada, acc, "", 1000)

		dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return errors.Join(err, serr)
		}}
		conn, err := dialer.DialContext(t.Context(), "tcp", m.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /v1/accounts/%s/events/stream HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", acc, m.Addr(), ada.bearer)
		time.Sleep(2 * time.Second) // the client reads nothing: the server's write waits, and times out

		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		received, err := io.ReadAll(conn)
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			t.Fatalf("the server did not cut the stalled client off (read %d bytes, still open)", len(received))
		}
		if !strings.Contains(string(received), "200 OK") || strings.Contains(string(received), "id: "+all[len(all)-1].ID+"\n") {
			t.Fatalf("the stalled client received %d bytes, the feed's last event %v", len(received), strings.Contains(string(received), all[len(all)-1].ID))
		}
		logs := m.LogOutput.(*syncBuffer)
		eventually(t, "the cut-off in the log", func() bool { return strings.Contains(logs.String(), "event feed client cut off") })
	})
}

// Issue 22, rule X-8: with two processes on one PostgreSQL, a live feed
// opened on either tells a change made through the other, whichever of
// them applies the feed's projection (the other polls its rows), and a
// client that moves to the other process resumes there with its
// Last-Event-ID.
func TestAccountEvents_stream_on_two_processes_X8(t *testing.T) {
	t.Parallel()
	ms := startProcesses(t, sqldbtest.Postgres(t), 2)
	_, ada, _, acc, sub := installationsAccount(t, ms[0], "ras", 10)
	onSecond := *ada
	onSecond.base = "http://" + ms[1].Addr()
	streams := []*sseStream{openStream(t, ada, acc, ""), openStream(t, &onSecond, acc, "")}
	ada.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "Seen by both"})
	var last string
	for i, s := range streams {
		got := s.until("subscription.renamed")
		if !strings.Contains(string(got[len(got)-1].data.Data), "Seen by both") {
			t.Fatalf("process %d's stream: %+v", i+1, got)
		}
		last = got[len(got)-1].id
		s.close()
	}
	onSecond.must(200, "PUT", "/v1/subscriptions/"+sub+"/name", map[string]any{"name": "While away"})
	resumed := openStream(t, ada, acc, last).next()
	if resumed.data.Type != "subscription.renamed" || !strings.Contains(string(resumed.data.Data), "While away") {
		t.Fatalf("resumed on process 1 after %s: %+v", last, resumed)
	}
}
