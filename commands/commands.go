// Package commands is the write side: one file per use case. Each loads an
// aggregate by folding its stream, asks it to decide, and appends the
// events it decided with the exact version it was decided on, so a
// decision is always made from consistent state. A concurrent change makes
// the append conflict; the use case then loads again and decides again.
package commands

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/mdm"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/release"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
)

// EventStore is what the write side needs of the event store.
type EventStore interface {
	Append(ctx context.Context, stream string, expected event.ExpectedVersion, events ...event.Proposed) (event.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]event.Record, error)
}

// Clock tells the ledger's time.
type Clock interface{ Now() time.Time }

// Passwords hashes and checks passwords (rule MEM-1); infra/argon2id and
// infra/passwords implement it.
type Passwords interface {
	// Hash returns the slow salted hash that is stored.
	Hash(password string) (string, error)
	// Verify reports whether password matches a stored hash.
	Verify(password, encoded string) (bool, error)
	// Guessable reports whether password is common or easy to guess,
	// given hints such as the person's name and address.
	Guessable(password string, hints []string) bool
}

// Tokens derives the secret token of an emailed link from its purpose and
// subject with the server's key (infra/secret). Deriving instead of
// drawing at random lets the mail sender rebuild the link from the event,
// so that only its hash is ever stored.
type Tokens interface {
	Token(purpose, subject string) string
}

// Meta says who asks and why: it becomes every event's metadata (rule X-1).
type Meta struct {
	Actor         event.Actor
	CorrelationID string
	CausationID   string
	// IdempotencyKey, if set, makes the command safe to retry (rule X-4):
	// its events get IDs derived from the key, and a retry of a command
	// that already took effect returns the first result instead of
	// deciding again.
	IdempotencyKey string
	// EffectiveAt, if set, is when the command takes effect in the
	// business: a timer's due time (rule X-6). The decision is made with
	// it as now, and every event it records carries it as its effective
	// time, however late the process noticed. Zero: the ledger's clock.
	EffectiveAt time.Time
}

// now is the time a command of meta decides at: its effective time, or
// the ledger's clock.
func (h *Handler) now(meta Meta) time.Time {
	if !meta.EffectiveAt.IsZero() {
		return meta.EffectiveAt
	}
	return h.clock.Now()
}

// Config configures a Handler.
type Config struct {
	Store    EventStore
	Registry *event.Registry // must know every event the use cases read and write
	Clock    Clock
	// Passwords is needed by the use cases that take a password.
	Passwords Passwords
	// Tokens is needed by the use cases that mail a link.
	Tokens Tokens
	// Keys is needed by the use cases that issue or show license keys.
	Keys Keys
	// CA and Entitlements are needed by IssueMDMCertificate (rule MISC-1).
	CA           CertificateAuthority
	Entitlements Entitlements
	// Offline signs the answers to offline request files (rule ACT-2).
	Offline OfflineSigner
	// CacheSize bounds how many aggregates of each kind stay in memory.
	// Default 10,000.
	CacheSize int
}

// Handler runs use cases against an event store.
type Handler struct {
	store     EventStore
	registry  *event.Registry
	clock     Clock
	passwords Passwords
	tokens    Tokens
	keys      Keys

	ca           CertificateAuthority
	entitlements Entitlements
	offline      OfflineSigner

	accounts      *cache[account.Account]
	persons       *cache[person.Person]
	claims        *cache[emailClaim]
	subscriptions *cache[subscription.Subscription]
	licenseKeys   *cache[licensekey.Key]
	products      *cache[product.Product]
	mdm           *cache[mdm.Certificates]
	releases      *cache[release.Releases]
	tickets       *cache[ticket.Ticket]
	installations *cache[installation.Installation]

	dummyOnce sync.Once
	dummyHash string
}

// NewHandler returns a Handler.
func NewHandler(cfg Config) *Handler {
	size := cfg.CacheSize
	if size <= 0 {
		size = 10_000
	}
	return &Handler{store: cfg.Store, registry: cfg.Registry, clock: cfg.Clock, passwords: cfg.Passwords, tokens: cfg.Tokens, keys: cfg.Keys,
		ca: cfg.CA, entitlements: cfg.Entitlements, offline: cfg.Offline,
		accounts: newCache(size, account.StreamID, seedAccount, evolveAccount, account.Account.Clone),
		persons: newCache(size, person.StreamID, func(string) person.Person { return person.Person{} },
			func(p person.Person, payload any, _ event.Record) person.Person { return p.Evolve(payload) }, nil),
		claims: newCache(size, person.EmailStreamID, func(string) emailClaim { return emailClaim{} }, evolveClaim, nil),
		subscriptions: newCache(size, subscription.StreamID, func(string) subscription.Subscription { return subscription.Subscription{} },
			evolveSubscription, subscription.Subscription.Clone),
		licenseKeys: newCache(size, licensekey.StreamID, func(string) licensekey.Key { return licensekey.Key{} }, evolveLicenseKey, nil),
		products:    newCache(size, product.StreamID, func(string) product.Product { return product.Product{} }, evolveProduct, nil),
		mdm:         newCache(size, mdm.StreamID, func(string) mdm.Certificates { return mdm.Certificates{} }, evolveMDM, mdm.Certificates.Clone),
		releases:    newCache(size, release.StreamID, func(string) release.Releases { return release.Releases{} }, evolveReleases, release.Releases.Clone),
		tickets:     newCache(size, ticket.StreamID, func(string) ticket.Ticket { return ticket.Ticket{} }, evolveTicket, ticket.Ticket.Clone),
		installations: newCache(size, installation.StreamID, func(string) installation.Installation { return installation.Installation{} },
			evolveInstallation, nil),
	}
}

// hotFreshness is how old a cached aggregate updateHot decides on first
// may be, and how old the other aggregates it reads (a key's quota) are.
const hotFreshness = time.Second

// maxAttempts bounds how often a use case decides again after losing a race.
const maxAttempts = 5

// readPage is how many events a load reads at a time.
const readPage = 512

// update brings the aggregate id of c up to its stream's current version,
// lets decide choose events from it, and appends them with the version
// they were decided on; on a conflict it does it all again. With an
// idempotency key, a retry whose events are already in the stream returns
// their original result.
func update[A any](ctx context.Context, h *Handler, c *cache[A], id, command string, meta Meta,
	decide func(A, time.Time) ([]any, error)) (event.AppendResult, error) {
	return decideAndAppend(ctx, h, c, id, command, meta, true, decide)
}

// updateHot is update for streams that grow all day long (usage reports):
// it decides on the cached aggregate even with an idempotency key, and
// leaves recognising a retry to the event store, which answers an append
// of already-stored event IDs with their original result before it checks
// the version. A retry thus costs one small read, not a fold of the whole
// stream.
func updateHot[A any](ctx context.Context, h *Handler, c *cache[A], id, command string, meta Meta,
	decide func(A, time.Time) ([]any, error)) (event.AppendResult, error) {
	return decideAndAppend(ctx, h, c, id, command, meta, false, decide)
}

func decideAndAppend[A any](ctx context.Context, h *Handler, c *cache[A], id, command string, meta Meta, foldForRetry bool,
	decide func(A, time.Time) ([]any, error)) (event.AppendResult, error) {
	stream := c.stream(id)
	var lastErr error
	for attempt := range maxAttempts {
		var (
			agg     A
			version uint64
			err     error
		)
		switch {
		case meta.IdempotencyKey != "" && foldForRetry:
			var done *event.AppendResult
			agg, version, done, err = load(ctx, h, c, id, meta)
			if done != nil {
				return *done, nil
			}
		case !foldForRetry && attempt == 0:
			// Optimistic: the state read a moment ago (by the
			// credential's check) is most likely the latest; if not, the
			// exact-version append conflicts and the next attempt reads.
			agg, version, err = c.recent(ctx, h, id, hotFreshness)
		default:
			agg, version, err = c.current(ctx, h, id)
		}
		if err != nil {
			return event.AppendResult{}, err
		}
		payloads, err := decide(agg, h.now(meta))
		if err != nil {
			return event.AppendResult{}, err
		}
		if len(payloads) == 0 {
			return event.AppendResult{StreamID: stream, FirstVersion: version, LastVersion: version}, nil
		}
		proposed, err := h.encode(command, stream, meta, payloads)
		if err != nil {
			return event.AppendResult{}, err
		}
		res, err := h.store.Append(ctx, stream, event.Exact(version), proposed...)
		if errors.Is(err, event.ErrConflict) {
			lastErr = err // decided on stale state: catch up and decide again
			continue
		}
		if err == nil {
			c.appended(agg, version, payloads, proposed, res)
		}
		return res, err
	}
	return event.AppendResult{}, fmt.Errorf("commands: %s on %q lost %d races: %w", command, stream, maxAttempts, lastErr)
}

// load folds the whole stream of id, bypassing the cache. It returns done,
// the original result, when the stream already holds the events of this
// idempotent command.
func load[A any](ctx context.Context, h *Handler, c *cache[A], id string, meta Meta) (A, uint64, *event.AppendResult, error) {
	stream := c.stream(id)
	var (
		agg     = c.seed(id)
		version uint64
		done    *event.AppendResult
	)
	for from := uint64(1); ; {
		page, err := h.store.ReadStream(ctx, stream, from, readPage)
		if err != nil {
			return agg, 0, nil, fmt.Errorf("commands: load %q: %w", stream, err)
		}
		for _, rec := range page {
			payload, err := h.registry.Decode(rec)
			if err != nil {
				return agg, 0, nil, err // an undecodable event is never skipped
			}
			if meta.IdempotencyKey != "" {
				done = extendRetried(done, meta.IdempotencyKey, stream, rec)
			}
			agg = c.evolve(agg, payload, rec)
			version = rec.Version
		}
		if len(page) < readPage {
			return agg, version, done, nil
		}
		from = page[len(page)-1].Version + 1
	}
}

// extendRetried recognises the events of an idempotent command already in
// the stream: a run of consecutive versions whose IDs are the ones the key
// derives, the first one first.
func extendRetried(done *event.AppendResult, key, stream string, rec event.Record) *event.AppendResult {
	switch {
	case done == nil && rec.ID == eventID(key, stream, 0):
		return &event.AppendResult{StreamID: stream, FirstVersion: rec.Version, LastVersion: rec.Version, Position: rec.Position, RecordedAt: rec.RecordedAt}
	case done != nil && rec.Version == done.LastVersion+1 && rec.ID == eventID(key, stream, int(rec.Version-done.FirstVersion)):
		done.LastVersion, done.Position = rec.Version, rec.Position
	}
	return done
}

// encode turns decided payloads into events to append.
func (h *Handler) encode(command, stream string, meta Meta, payloads []any) ([]event.Proposed, error) {
	out := make([]event.Proposed, len(payloads))
	for i, p := range payloads {
		name, ok := h.registry.NameOf(p)
		if !ok {
			return nil, fmt.Errorf("commands: %s decided an unregistered event %T", command, p)
		}
		data, version, err := h.registry.Encode(name, p)
		if err != nil {
			return nil, err
		}
		md := event.Metadata{Actor: meta.Actor, Command: command, CorrelationID: meta.CorrelationID, CausationID: meta.CausationID,
			EffectiveAt: meta.EffectiveAt}
		var id string // empty: the store assigns one
		if meta.IdempotencyKey != "" {
			id = eventID(meta.IdempotencyKey, stream, i)
		}
		out[i] = event.Proposed{ID: id, Type: name, SchemaVersion: version, Data: data, Metadata: md}
	}
	return out, nil
}

// eventID derives the i-th event ID of an idempotent command on stream
// from its key: the same on every retry.
func eventID(key, stream string, i int) string {
	return event.NameUUID(nil, fmt.Sprintf("seatledger/command-event/%d/%s/%s", i, stream, key))
}
