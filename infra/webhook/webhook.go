// Package webhook delivers each account's feed events (queries.FeedEvent,
// the same JSON as GET /v1/accounts/{id}/events) to the account's webhook
// endpoints (issue 22), signed per the Standard Webhooks convention:
//
//	webhook-id:        the feed event's event_id (the same on every retry and resend)
//	webhook-timestamp: Unix seconds of the attempt
//	webhook-signature: v1,<base64 HMAC-SHA256(secret, id + "." + timestamp + "." + body)>
//
// After a rotation the previous secret signs too, for a day: the header
// then holds two signatures separated by a space.
//
// Each endpoint has a cursor on its account's feed (the log position of
// the last event it took) kept in the database with its retry state, not
// a queue in memory: a backlog of any size costs one row per endpoint,
// and a restart resumes where the last one stopped. An endpoint takes its
// events in order, the next only after the previous was delivered; a
// failure is retried after 5s, 30s, 2m, 10m, 30m, 1h and then every 3 hours,
// and once a delivery has failed for 3 days the endpoint is disabled
// (commands.DisableFailingWebhook, which the notifier mails to the
// admins); enabled again, it resumes with the event that failed.
// Endpoints are delivered to concurrently (bounded), so a slow or dead
// one holds up only itself, and the ledger never waits for any.
//
// Delivery is at least once: an attempt that reached the receiver just
// before a crash is sent again with the same webhook-id. Each attempt is
// written to the delivery log (kept 90 days).
//
// Safety: a delivery never connects to a loopback, private, link-local
// or otherwise internal address (checked by the dialer after name
// resolution) unless AllowPrivate; it follows no redirect, goes through
// no proxy, takes at most Timeout, and its body is at most MaxPayload
// bytes (an event whose payload is larger is sent without its data, with
// "data_omitted": true; the receiver reads it from the feed API).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"seatledger/commands"
	"seatledger/infra/clock"
	"seatledger/infra/sqldb"
	"seatledger/queries"
)

// Header names of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Defaults of Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxPayload  = 256 << 10
	DefaultConcurrency = 8
	DefaultPoll        = time.Second
	DefaultGiveUpAfter = 72 * time.Hour
	DefaultRetention   = 90 * 24 * time.Hour
)

// DefaultSchedule is the wait before each retry of a failed delivery; the
// last one repeats until the delivery has failed for GiveUpAfter.
var DefaultSchedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour}

// Disabler disables an endpoint that failed for too long:
// commands.WebhooksHandler.DisableFailingWebhook with a process actor. It
// returns the log position of the event it recorded (0: none, the
// endpoint was disabled or deleted already).
type Disabler func(ctx context.Context, accountID, endpointID, eventID string, since time.Time, lastError string) (uint64, error)

// Config configures a Worker.
type Config struct {
	// DB holds the read models and the worker's tables. Required.
	DB *sqldb.DB
	// Clock is ledger time: of the delivery log and the retry schedule.
	// Required.
	Clock clock.Clock
	// Tokens derives the endpoints' secrets (commands.WebhookSecret).
	// Required.
	Tokens commands.Tokens
	// Disable disables an endpoint that failed for GiveUpAfter. Required.
	Disable Disabler
	// AllowHTTP lets deliveries use plain http:// URLs
	// (LEDGER_WEBHOOK_ALLOW_HTTP); without it an http:// endpoint, made
	// while the setting was on, fails every attempt.
	AllowHTTP bool
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (LEDGER_WEBHOOK_ALLOW_PRIVATE: tests, private networks).
	AllowPrivate bool
	// Timeout bounds one delivery (connection, TLS, answer). Default 10s.
	Timeout time.Duration
	// MaxPayload bounds a delivery's body. Default 256 KiB.
	MaxPayload int
	// Concurrency bounds how many endpoints are delivered to at once.
	// Default 8.
	Concurrency int
	// Poll is how often the worker looks for events and due retries.
	// Default 1s.
	Poll time.Duration
	// Schedule and GiveUpAfter are the retries (see DefaultSchedule).
	Schedule    []time.Duration
	GiveUpAfter time.Duration
	// Retention is how long the delivery log keeps an attempt. Default
	// 90 days.
	Retention time.Duration
	// Logger receives the worker's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultSchedule
	}
	if c.GiveUpAfter <= 0 {
		c.GiveUpAfter = DefaultGiveUpAfter
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every missing required field.
func (c Config) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("webhook: config needs the database"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("webhook: config needs the ledger's clock"))
	}
	if c.Tokens == nil {
		errs = append(errs, errors.New("webhook: config needs the server's key (Tokens)"))
	}
	if c.Disable == nil {
		errs = append(errs, errors.New("webhook: config needs Disable"))
	}
	return errors.Join(errs...)
}

// Worker delivers the feed to the endpoints. Run it in one process at a
// time (ledgerd holds a lease for it, rule X-8).
type Worker struct {
	cfg    Config
	db     *sqldb.DB
	client *http.Client
	sem    chan struct{}
	wake   chan struct{}

	mu       sync.Mutex
	inFlight map[string]bool
	pruned   time.Time
	// lastStarted is the endpoint the last pass started last (round
	// robin); waiting says a pass left endpoints with work for lack of a
	// slot.
	lastStarted string
	waiting     atomic.Bool
}

// New returns a worker for cfg, or cfg's problems.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Worker{cfg: cfg, db: cfg.DB, client: newClient(cfg.Timeout, cfg.AllowPrivate), sem: make(chan struct{}, cfg.Concurrency),
		wake: make(chan struct{}, 1), inFlight: map[string]bool{}}, nil
}

// minPassInterval is the least time between the starts of two passes.
const minPassInterval = 25 * time.Millisecond

// Wake makes a running worker look for work now (within
// minPassInterval of its last pass).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the deliveries in flight
// and returns ctx's error.
func (w *Worker) Run(ctx context.Context) error {
	var running sync.WaitGroup
	defer running.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-w.wake:
		}
		started := time.Now()
		if err := w.pass(ctx, &running); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Error("webhook pass failed", "error", err)
		}
		t.Reset(w.cfg.Poll)
		// Woken at every move of a busy ledger's feed, passes are spaced:
		// what arrives meanwhile waits for the next one.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(minPassInterval - time.Since(started)):
		}
	}
}

// endpoint is one endpoint with its delivery state.
type endpoint struct {
	id, account, url, types string
	nonce, previous         string
	previousUntil           int64
	createdPosition         int64
	switched                int64
	hasState                bool
	cursor                  int64
	attempts                int
	failingSince, nextAt    int64
	gaveUp                  int64
	seenSwitch              int64
	enabled                 bool
}

const selectEndpoints = `SELECT e.endpoint_id, e.account_id, e.url, e.types, e.secret_nonce, e.previous_nonce, e.previous_until,
	e.created_position, e.switched_position, e.enabled,
	CASE WHEN s.endpoint_id IS NULL THEN 0 ELSE 1 END, COALESCE(s.cursor, 0), COALESCE(s.attempts, 0),
	COALESCE(s.failing_since, 0), COALESCE(s.next_attempt_at, 0), COALESCE(s.gave_up_position, 0), COALESCE(s.seen_switch, 0)
	FROM webhook_endpoints e LEFT JOIN webhook_state s ON s.endpoint_id = e.endpoint_id`

func scanEndpoint(row interface{ Scan(...any) error }) (endpoint, error) {
	var (
		e                 endpoint
		enabled, hasState int
	)
	err := row.Scan(&e.id, &e.account, &e.url, &e.types, &e.nonce, &e.previous, &e.previousUntil, &e.createdPosition, &e.switched,
		&enabled, &hasState, &e.cursor, &e.attempts, &e.failingSince, &e.nextAt, &e.gaveUp, &e.seenSwitch)
	e.enabled, e.hasState = enabled == 1, hasState == 1
	return e, err
}

// due reports whether e takes a delivery at now: enabled, not waiting
// for the projection to apply the worker's own disable (a later enable
// lifts that), and its retry time passed or an enable since the retries
// began starts them afresh.
func (e endpoint) due(now time.Time) bool {
	return e.enabled && e.switched >= e.gaveUp && (e.nextAt <= now.UnixMicro() || e.switched != e.seenSwitch)
}

// pass starts a delivery run for each due endpoint that has something to
// deliver (a pending resend, or a feed event after its cursor of the
// types it takes) and is not running, as many as Concurrency allows, in
// turn; it does not wait for them.
func (w *Worker) pass(ctx context.Context, running *sync.WaitGroup) error {
	now := w.cfg.Clock.Now()
	w.prune(ctx, now)
	rows, err := w.db.QueryContext(ctx, w.db.Rebind(selectEndpoints+` WHERE e.enabled = 1
		AND (COALESCE(s.next_attempt_at, 0) <= ? OR e.switched_position <> COALESCE(s.seen_switch, 0))
		AND (EXISTS (SELECT 1 FROM webhook_resends r WHERE r.endpoint_id = e.endpoint_id AND r.done = 0)
			OR EXISTS (SELECT 1 FROM feed_events f WHERE f.account_id = e.account_id
				AND f.position > COALESCE(s.cursor, e.created_position)
				AND (e.types = '' OR (',' || e.types || ',') LIKE ('%,' || f.type || ',%'))))
		ORDER BY e.endpoint_id`), now.UnixMicro())
	if err != nil {
		return fmt.Errorf("webhook: list endpoints: %w", err)
	}
	var due []string
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			_ = rows.Close()
			return fmt.Errorf("webhook: list endpoints: %w", err)
		}
		if e.due(now) {
			due = append(due, e.id)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("webhook: list endpoints: %w", err)
	}
	// Round robin: this pass starts after the endpoint the last one
	// started last, so that more endpoints with work than slots all get
	// their turn.
	w.mu.Lock()
	turn, _ := slices.BinarySearch(due, w.lastStarted)
	if turn < len(due) && due[turn] == w.lastStarted {
		turn++
	}
	w.mu.Unlock()
	due = append(due[turn:], due[:turn]...)
	for _, id := range due {
		w.mu.Lock()
		busy := w.inFlight[id]
		w.mu.Unlock()
		if busy {
			continue // a slow endpoint holds up only its own queue
		}
		select {
		case w.sem <- struct{}{}:
		default:
			// All slots busy: the run that ends first starts the next pass.
			w.waiting.Store(true)
			return nil
		}
		w.mu.Lock()
		w.inFlight[id], w.lastStarted = true, id
		w.mu.Unlock()
		running.Go(func() {
			defer func() {
				w.mu.Lock()
				delete(w.inFlight, id)
				w.mu.Unlock()
				<-w.sem
				if w.waiting.Swap(false) {
					w.Wake()
				}
			}()
			if err := w.drain(ctx, id); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Warn("webhook delivery run failed", "endpoint", id, "error", err)
			}
		})
	}
	return nil
}

// maxRun is how many deliveries one run makes to one endpoint before it
// gives its slot to the others.
const maxRun = 100

// drain delivers endpoint id's next events in order until none is left,
// one fails, or maxRun were delivered.
func (w *Worker) drain(ctx context.Context, id string) error {
	for range maxRun {
		more, err := w.step(ctx, id)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// item is what an endpoint takes next: a resend an admin asked for, or
// the next event after its cursor.
type item struct {
	event    queries.FeedEvent
	position int64
	resendID string // the request's ID; "" for the cursor's next event
}

// step makes one delivery to endpoint id if one is due, and records it.
// more says whether another may follow at once.
func (w *Worker) step(ctx context.Context, id string) (more bool, err error) {
	now := w.cfg.Clock.Now()
	e, err := scanEndpoint(w.db.QueryRowContext(ctx, w.db.Rebind(selectEndpoints+` WHERE e.endpoint_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhook: read endpoint %s: %w", id, err)
	}
	if !e.due(now) {
		return false, nil
	}
	if !e.hasState {
		if _, err := w.db.ExecContext(ctx, w.db.Rebind(`INSERT INTO webhook_state (endpoint_id, account_id, cursor) VALUES (?, ?, ?)
			ON CONFLICT (endpoint_id) DO NOTHING`), e.id, e.account, e.createdPosition); err != nil {
			return false, fmt.Errorf("webhook: start endpoint %s: %w", id, err)
		}
		e.cursor = e.createdPosition
	}
	if e.switched != e.seenSwitch {
		// Disabled and enabled since the retries began: the time it was
		// off does not count towards giving up, and the next try is now.
		if _, err := w.db.ExecContext(ctx, w.db.Rebind(`UPDATE webhook_state SET attempts = 0, failing_since = 0, next_attempt_at = 0,
			seen_switch = ? WHERE endpoint_id = ?`), e.switched, e.id); err != nil {
			return false, fmt.Errorf("webhook: restart endpoint %s: %w", id, err)
		}
		e.attempts, e.failingSince, e.nextAt, e.seenSwitch = 0, 0, 0, e.switched
	}
	it, ok, err := w.next(ctx, e)
	if err != nil || !ok {
		return false, err
	}
	attempt := w.deliver(ctx, e, it, now)
	if ctx.Err() != nil && attempt.status == 0 {
		return false, nil // stopping: the attempt was cut short before an answer, not the endpoint's fault
	}
	// An answer came (the worker may be stopping meanwhile): it is the
	// attempt's outcome, and record keeps it whatever ctx says, so the log
	// tells every attempt the receiver saw and a delivered event is not
	// sent again after a restart.
	return attempt.ok, w.record(ctx, e, it, attempt)
}

// next returns e's next item: its oldest pending resend, else the first
// event after its cursor of the types it takes.
func (w *Worker) next(ctx context.Context, e endpoint) (item, bool, error) {
	var it item
	err := w.db.QueryRowContext(ctx, w.db.Rebind(`SELECT request_id, position FROM webhook_resends WHERE endpoint_id = ? AND done = 0
		ORDER BY requested_at, request_id LIMIT 1`), e.id).Scan(&it.resendID, &it.position)
	switch {
	case err == nil:
		ev, found, err := w.feedEvent(ctx, e.account, `position = ?`, []any{it.position})
		if err != nil {
			return it, false, err
		}
		if !found {
			// Not (yet) in the feed: the position came from the log, so the
			// feed's projection has not reached it; try again later.
			return it, false, nil
		}
		it.event = ev
		return it, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return it, false, fmt.Errorf("webhook: resends of %s: %w", e.id, err)
	}
	cond, args := `position > ?`, []any{e.cursor}
	if e.types != "" {
		types := strings.Split(e.types, ",")
		cond += ` AND type IN (?` + strings.Repeat(", ?", len(types)-1) + `)`
		for _, t := range types {
			args = append(args, t)
		}
	}
	ev, found, err := w.feedEvent(ctx, e.account, cond+` ORDER BY position LIMIT 1`, args)
	if err != nil || !found {
		return it, false, err
	}
	it.event = ev
	it.position = int64(mustPosition(ev.ID))
	return it, true, nil
}

// feedEvent reads the first event of account's feed matching cond.
func (w *Worker) feedEvent(ctx context.Context, account, cond string, args []any) (queries.FeedEvent, bool, error) {
	var (
		e                  queries.FeedEvent
		position           int64
		occurred, recorded int64
		data               string
	)
	err := w.db.QueryRowContext(ctx, w.db.Rebind(`SELECT position, event_id, type, subject_kind, subject_id, occurred_at, recorded_at, data
		FROM feed_events WHERE account_id = ? AND `+cond), append([]any{account}, args...)...).
		Scan(&position, &e.EventID, &e.Type, &e.Subject.Kind, &e.Subject.ID, &occurred, &recorded, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("webhook: read the feed of %s: %w", account, err)
	}
	e.ID = queries.FeedCursor(uint64(position))
	e.OccurredAt, e.RecordedAt = time.UnixMicro(occurred).UTC(), time.UnixMicro(recorded).UTC()
	e.Data = json.RawMessage(data)
	return e, true, nil
}

func mustPosition(cursor string) uint64 {
	p, _ := queries.ParseFeedCursor(cursor)
	return p
}

// Envelope is a delivery's body: the feed event as the feed API shows
// it, without its data when that would make the body too large.
type Envelope struct {
	queries.FeedEvent
	DataOmitted bool `json:"data_omitted,omitempty"`
}

// attempt is the outcome of one delivery.
type attempt struct {
	ok      bool
	status  int
	latency time.Duration
	err     string
	at      time.Time
}

// deliver POSTs it to e and returns the outcome.
func (w *Worker) deliver(ctx context.Context, e endpoint, it item, now time.Time) attempt {
	body, err := w.body(it.event)
	if err != nil {
		return attempt{err: err.Error(), at: now}
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return attempt{err: "the endpoint's URL cannot be requested", at: now}
	}
	if req.URL.Scheme != "https" && !w.cfg.AllowHTTP {
		return attempt{err: "plain http:// is not allowed by this ledger (LEDGER_WEBHOOK_ALLOW_HTTP is off); change the URL to https://", at: now}
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10) // the receiver checks it against its own clock
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "seatledger-webhooks/1")
	req.Header.Set(HeaderID, it.event.EventID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, w.signatures(e, it.event.EventID, ts, body, now))
	start := time.Now()
	resp, err := w.client.Do(req)
	a := attempt{at: now}
	if err != nil {
		a.latency = time.Since(start)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token of the receiver's
		}
		a.err = clean(err.Error())
		return a
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	a.latency, a.status = time.Since(start), resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.ok = true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.err = fmt.Sprintf("HTTP %d: redirects are not followed; configure the final URL", resp.StatusCode)
	default:
		a.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
		if s := clean(string(excerpt)); s != "" {
			a.err += ": " + s
		}
	}
	return a
}

// body is the JSON of ev, at most MaxPayload bytes.
func (w *Worker) body(ev queries.FeedEvent) ([]byte, error) {
	b, err := json.Marshal(Envelope{FeedEvent: ev})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	if len(b) <= w.cfg.MaxPayload {
		return b, nil
	}
	ev.Data = json.RawMessage("null")
	return json.Marshal(Envelope{FeedEvent: ev, DataOmitted: true})
}

// signatures returns the webhook-signature header: one signature per
// secret that signs at now (the current one, and the previous one during
// a rotation's overlap).
func (w *Worker) signatures(e endpoint, id, ts string, body []byte, now time.Time) string {
	sigs := []string{Sign(commands.WebhookSecret(w.cfg.Tokens, e.id, e.nonce), id, ts, body)}
	if e.previous != "" && now.UnixMicro() < e.previousUntil {
		sigs = append(sigs, Sign(commands.WebhookSecret(w.cfg.Tokens, e.id, e.previous), id, ts, body))
	}
	return strings.Join(sigs, " ")
}

// Sign returns the Standard Webhooks signature "v1,<base64>" of body sent
// as message id at timestamp ts, with secret.
func Sign(secret []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// clean makes s fit for the delivery log: valid UTF-8 on one line, at
// most 300 characters.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 300 {
		s = string([]rune(s)[:300]) + "…"
	}
	return s
}

// record writes a's delivery log row and moves e's state on: past the
// item when it was delivered; else to its next retry, or, once the item
// has failed for GiveUpAfter, to a disabled endpoint waiting for an
// admin, with the item still first in line.
func (w *Worker) record(ctx context.Context, e endpoint, it item, a attempt) error {
	ctx = context.WithoutCancel(ctx) // the attempt happened: its outcome must be kept
	now := a.at.UnixMicro()
	outcome := "delivered"
	var giveUp bool
	failingSince := e.failingSince
	if !a.ok {
		outcome = "failed"
		if failingSince == 0 {
			failingSince = now
		}
		giveUp = a.at.Sub(time.UnixMicro(failingSince)) >= w.cfg.GiveUpAfter
		if giveUp {
			outcome = "gave_up"
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("webhook: record a delivery to %s: %w", e.id, err)
	}
	defer func() { _ = tx.Rollback() }()
	resend := 0
	if it.resendID != "" {
		resend = 1
	}
	exec := func(q string, args ...any) {
		if err == nil {
			_, err = tx.ExecContext(ctx, w.db.Rebind(q), args...)
		}
	}
	exec(`INSERT INTO webhook_deliveries (delivery_id, endpoint_id, account_id, event_id, event_type, position, attempt, resend,
		outcome, status, latency_ms, error, attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		"dl_"+uuid.Must(uuid.NewV7()).String(), e.id, e.account, it.event.EventID, it.event.Type, it.position, e.attempts+1, resend,
		outcome, a.status, a.latency.Milliseconds(), a.err, now)
	switch {
	case a.ok && it.resendID != "":
		exec(`UPDATE webhook_resends SET done = 1 WHERE request_id = ?`, it.resendID)
		exec(`UPDATE webhook_state SET attempts = 0, failing_since = 0, next_attempt_at = 0, last_error = '' WHERE endpoint_id = ?`, e.id)
	case a.ok:
		exec(`UPDATE webhook_state SET cursor = ?, attempts = 0, failing_since = 0, next_attempt_at = 0, last_error = ''
			WHERE endpoint_id = ? AND cursor < ?`, it.position, e.id, it.position)
	case giveUp:
		// Recorded after the disable below, which must come first: a
		// crash in between only retries once more.
	default:
		next := a.at.Add(w.backoff(e.attempts + 1)).UnixMicro()
		exec(`UPDATE webhook_state SET attempts = attempts + 1, failing_since = ?, next_attempt_at = ?, last_error = ? WHERE endpoint_id = ?`,
			failingSince, next, a.err, e.id)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("webhook: record a delivery to %s: %w", e.id, err)
	}
	if !a.ok {
		w.cfg.Logger.Info("webhook delivery failed", "endpoint", e.id, "account", e.account, "event", it.event.EventID,
			"attempt", e.attempts+1, "status", a.status, "error", a.err, "gave_up", giveUp)
	}
	if !giveUp {
		return nil
	}
	position, err := w.cfg.Disable(ctx, e.account, e.id, it.event.EventID, time.UnixMicro(failingSince).UTC(), a.err)
	if err != nil {
		return fmt.Errorf("webhook: disable failing endpoint %s: %w", e.id, err)
	}
	if _, err := w.db.ExecContext(ctx, w.db.Rebind(`UPDATE webhook_state SET attempts = 0, failing_since = 0, next_attempt_at = 0, last_error = ?,
		gave_up_position = ? WHERE endpoint_id = ?`), a.err, int64(position), e.id); err != nil {
		return fmt.Errorf("webhook: record the disable of %s: %w", e.id, err)
	}
	w.cfg.Logger.Warn("webhook endpoint disabled after failing deliveries", "endpoint", e.id, "account", e.account,
		"failing_since", time.UnixMicro(failingSince).UTC())
	return nil
}

// backoff is the wait after the attempts'th failure in a row.
func (w *Worker) backoff(attempts int) time.Duration {
	s := w.cfg.Schedule
	return s[min(attempts, len(s))-1]
}

// prune deletes delivery log rows and finished resends older than
// Retention, at most once an hour.
func (w *Worker) prune(ctx context.Context, now time.Time) {
	w.mu.Lock()
	if !w.pruned.IsZero() && now.Sub(w.pruned) < time.Hour {
		w.mu.Unlock()
		return
	}
	w.pruned = now
	w.mu.Unlock()
	cut := now.Add(-w.cfg.Retention).UnixMicro()
	for _, q := range []string{`DELETE FROM webhook_deliveries WHERE attempted_at < ?`,
		`DELETE FROM webhook_resends WHERE done = 1 AND requested_at < ?`} {
		if _, err := w.db.ExecContext(ctx, w.db.Rebind(q), cut); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("webhook: prune the delivery log", "error", err)
		}
	}
}
