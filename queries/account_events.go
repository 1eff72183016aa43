package queries

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/feed"
)

// FeedReadModel holds every account's published events (issue 22).
const FeedReadModel = "account_feed"

// The page sizes of the feed: a page's default and most, and the most a
// live follower holds at a time (its memory bound, issue 22).
const (
	feedDefaultLimit = 100
	feedMaxLimit     = 1000
	feedFollowLimit  = 100
)

// FeedEvent is one event of an account's feed, in its published form
// (domain/feed): ID is the feed cursor of the event, to resume after it.
type FeedEvent struct {
	ID         string          `json:"id"`
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	Subject    feed.Subject    `json:"subject"`
	OccurredAt time.Time       `json:"occurred_at"`
	RecordedAt time.Time       `json:"recorded_at"`
	Data       json.RawMessage `json:"data"`
}

// FeedPage is a page of an account's feed, oldest first. Next is the
// cursor to ask for the following page with (the last event's ID, or the
// request's cursor when the page is empty); HasMore says whether more
// events were there already.
type FeedPage struct {
	Events  []FeedEvent `json:"events"`
	Next    string      `json:"next"`
	HasMore bool        `json:"has_more"`
}

// FeedRequest is a page or a follow of an account's feed as the client
// asked for it: the cursor to start after ("" from the beginning), the
// public event names to keep (comma-separated, "" all) and the page size.
type FeedRequest struct {
	After, Types, Limit string
}

// feedQuery is a checked FeedRequest.
type feedQuery struct {
	after uint64
	types []string
	limit int
}

// FeedConfig tunes the live follow of the feed; the zero value is the
// defaults.
type FeedConfig struct {
	// Progress wakes followers when the read models may have moved on (in
	// this process); nil: they poll only.
	Progress Progress
	// Poll is how often an idle follower looks for events another
	// process's projection wrote. Default 1s.
	Poll time.Duration
	// MinInterval spaces a follower's reads when it is woken often (a busy
	// log). Default 100ms.
	MinInterval time.Duration
	// Heartbeat is how often an idle follower tells its client it lives,
	// and checks that the viewer may still read. Default 15s.
	Heartbeat time.Duration
	// MaxDuration ends a follow, which the client resumes from its last
	// event: the credential it opened with is authenticated again. Default 30 min.
	MaxDuration time.Duration
}

func (c *FeedConfig) setDefaults() {
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.MinInterval <= 0 {
		c.MinInterval = 100 * time.Millisecond
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = 30 * time.Minute
	}
}

// Progress tells a long-lived read that the read models may have moved on.
type Progress interface {
	// Moved returns a channel closed at the next move of any read model
	// in this process.
	Moved() <-chan struct{}
}

// AccountEvents is the use case of a page of account id's event feed
// (issue 22): v must be allowed to read it (account.ActionReadEvents:
// its unblocked admins, and the back office); then the request is read (an
// *InputError naming after, types or limit), the read model must have
// applied v's last write, and the page is read, oldest first.
func (q *Reads) AccountEvents(ctx context.Context, v Viewer, id string, req FeedRequest) (FeedPage, error) {
	fq, err := q.openFeed(ctx, v, id, req, feedMaxLimit)
	if err != nil {
		return FeedPage{}, err
	}
	return q.readFeed(ctx, id, fq, req.After)
}

// openFeed authorizes v on account id's feed, checks req and waits for
// the read model.
func (q *Reads) openFeed(ctx context.Context, v Viewer, id string, req FeedRequest, maxLimit int) (feedQuery, error) {
	if err := q.accounts.Authorize(ctx, v.Actor, id, account.ActionReadEvents); err != nil {
		return feedQuery{}, err
	}
	fq, err := parseFeedRequest(req, maxLimit)
	if err != nil {
		return feedQuery{}, err
	}
	return fq, q.await(ctx, v, FeedReadModel)
}

// parseFeedRequest checks a request (an *InputError naming the field).
func parseFeedRequest(req FeedRequest, maxLimit int) (feedQuery, error) {
	fq := feedQuery{limit: feedDefaultLimit}
	var err error
	if req.After != "" {
		if fq.after, err = ParseFeedCursor(req.After); err != nil {
			return fq, invalidInput("after", ErrInvalidFilter, "%v", err)
		}
	}
	if req.Types != "" {
		for name := range strings.SplitSeq(req.Types, ",") {
			name = strings.TrimSpace(name)
			if !feed.Known(name) {
				return fq, invalidInput("types", ErrInvalidFilter, "types: %q is not an event name of the feed (see the README or the API's description)", name)
			}
			fq.types = append(fq.types, name)
		}
	}
	limit, err := parseLimit(req.Limit, feedMaxLimit)
	if err != nil {
		return fq, invalidInput("limit", ErrInvalidFilter, "limit must be a whole number from 1 to %d, not %q", feedMaxLimit, req.Limit)
	}
	if limit > 0 {
		fq.limit = limit
	}
	fq.limit = min(fq.limit, maxLimit)
	return fq, nil
}

// readFeed reads the page of account id after fq's cursor; cursor is the
// request's, returned as Next when the page is empty.
func (q *Reads) readFeed(ctx context.Context, id string, fq feedQuery, cursor string) (FeedPage, error) {
	query := `SELECT position, event_id, type, subject_kind, subject_id, occurred_at, recorded_at, data
		FROM feed_events WHERE account_id = ? AND position > ?`
	args := []any{id, int64(fq.after)}
	if len(fq.types) > 0 {
		query += ` AND type IN (?` + strings.Repeat(", ?", len(fq.types)-1) + `)`
		for _, t := range fq.types {
			args = append(args, t)
		}
	}
	query += ` ORDER BY position LIMIT ?`
	args = append(args, fq.limit+1)
	rows, err := q.db.Select(ctx, query, args...)
	if err != nil {
		return FeedPage{}, fmt.Errorf("queries: read the event feed of %s: %w", id, err)
	}
	defer rows.Close()
	page := FeedPage{Events: []FeedEvent{}, Next: cursor}
	for rows.Next() {
		if len(page.Events) == fq.limit {
			page.HasMore = true
			break
		}
		var (
			e                  FeedEvent
			position           int64
			occurred, recorded int64
			data               string
		)
		if err := rows.Scan(&position, &e.EventID, &e.Type, &e.Subject.Kind, &e.Subject.ID, &occurred, &recorded, &data); err != nil {
			return FeedPage{}, fmt.Errorf("queries: read the event feed of %s: %w", id, err)
		}
		e.ID, e.OccurredAt, e.RecordedAt, e.Data = FeedCursor(uint64(position)), micros(occurred), micros(recorded), json.RawMessage(data)
		page.Events = append(page.Events, e)
		page.Next = e.ID
	}
	if err := rows.Err(); err != nil {
		return FeedPage{}, fmt.Errorf("queries: read the event feed of %s: %w", id, err)
	}
	return page, nil
}

// feedCursorVersion begins every cursor, so that its form can change.
const feedCursorVersion = 1

// FeedCursor returns the opaque cursor of the feed event at log position:
// the position, so a cursor stays valid across restarts and rebuilds.
func FeedCursor(position uint64) string {
	b := make([]byte, 9)
	b[0] = feedCursorVersion
	binary.BigEndian.PutUint64(b[1:], position)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseFeedCursor returns the log position of a cursor FeedCursor made.
func ParseFeedCursor(s string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 9 || b[0] != feedCursorVersion {
		return 0, fmt.Errorf("after %q is not a cursor of this feed (use an event's id, or a page's next)", s)
	}
	return binary.BigEndian.Uint64(b[1:]), nil
}

// FeedSink receives what a follow of the feed tells.
type FeedSink interface {
	// Send tells events, in order. An error ends the follow.
	Send(events []FeedEvent) error
	// Heartbeat tells the client that the follow lives. An error ends it.
	Heartbeat() error
}

// FeedFollow is an authorized live follow of an account's feed.
type FeedFollow struct {
	q      *Reads
	v      Viewer
	id     string
	fq     feedQuery
	cursor string
}

// FollowAccountEvents is the use case of the live feed (Server-Sent
// Events): authorized and checked as AccountEvents, it returns the follow
// to Run once the caller is ready to stream. At most 100 events are held
// at a time, however far behind the follow starts.
func (q *Reads) FollowAccountEvents(ctx context.Context, v Viewer, id string, req FeedRequest) (*FeedFollow, error) {
	fq, err := q.openFeed(ctx, v, id, req, feedFollowLimit)
	if err != nil {
		return nil, err
	}
	return &FeedFollow{q: q, v: v, id: id, fq: fq, cursor: req.After}, nil
}

// Run tells sink the feed's events after the cursor, then each new one as
// the read model applies it, with heartbeats while none comes. It returns
// nil when ctx ends or the follow has lasted FeedConfig.MaxDuration (the
// client resumes from its last event), the sink's error when the client
// cannot keep up, and an error matching account.ErrForbidden once the
// viewer may no longer read the feed (checked before every send and at
// every heartbeat: a block or demotion ends it).
func (f *FeedFollow) Run(ctx context.Context, sink FeedSink) error {
	cfg := f.q.feed
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxDuration)
	defer cancel()
	heartbeat := time.NewTicker(cfg.Heartbeat)
	defer heartbeat.Stop()
	poll := time.NewTimer(cfg.Poll)
	defer poll.Stop()
	for {
		var moved <-chan struct{}
		if cfg.Progress != nil {
			moved = cfg.Progress.Moved() // before reading: a move after the read wakes us
		}
		read := time.Now()
		page, err := f.q.readFeed(ctx, f.id, f.fq, f.cursor)
		if err != nil {
			return f.ended(ctx, err)
		}
		if len(page.Events) > 0 {
			if err := f.q.accounts.Authorize(ctx, f.v.Actor, f.id, account.ActionReadEvents); err != nil {
				return f.ended(ctx, err)
			}
			if err := sink.Send(page.Events); err != nil {
				return err
			}
			f.fq.after, f.cursor = mustPosition(page.Next), page.Next
			if page.HasMore {
				continue
			}
		}
		poll.Reset(cfg.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			if err := f.q.accounts.Authorize(ctx, f.v.Actor, f.id, account.ActionReadEvents); err != nil {
				return f.ended(ctx, err)
			}
			if err := sink.Heartbeat(); err != nil {
				return err
			}
		case <-moved:
			if err := sleep(ctx, cfg.MinInterval-time.Since(read)); err != nil {
				return nil
			}
		case <-poll.C:
		}
	}
}

// ended is err, or nil when the follow ended because ctx did.
func (f *FeedFollow) ended(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, account.ErrForbidden) {
		return nil
	}
	return err
}

// mustPosition is the position of a cursor readFeed made.
func mustPosition(cursor string) uint64 {
	p, _ := ParseFeedCursor(cursor)
	return p
}

// sleep waits d (nothing when d ≤ 0), or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
