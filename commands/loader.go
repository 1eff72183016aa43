package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/licensekey"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
)

// Loader loads aggregates by folding their streams and appends the events
// the handlers decide, for every handler of the write side: one event
// store, one registry, one clock. It keeps the caches of the aggregates
// that several handlers read — accounts (every authorization reads one),
// people, subscriptions, license keys, products and installations; a
// handler keeps the cache of an aggregate that only it reads (tickets,
// MDM certificates, releases, email claims).
type Loader struct {
	store     EventStore
	registry  *event.Registry
	clock     Clock
	cacheSize int

	accounts      *cache[account.Account]
	persons       *cache[person.Person]
	subscriptions *cache[subscription.Subscription]
	licenseKeys   *cache[licensekey.Key]
	products      *cache[product.Product]
	installations *cache[installation.Installation]
	// roster is the back office (one aggregate): every back-office
	// request is authorized from it.
	rosters *cache[staff.Roster]
}

// defaultCacheSize is how many aggregates of each kind stay in memory
// unless configured otherwise.
const defaultCacheSize = 10_000

// NewLoader returns a Loader on store, decoding and encoding events with
// registry (which must know every event the use cases read and write),
// deciding at clock's time, and keeping up to cacheSize aggregates of
// each kind in memory (0: 10,000). It returns an error wrapping
// ErrMissingDependency if store, registry or clock is nil.
func NewLoader(store EventStore, registry *event.Registry, clock Clock, cacheSize int) (*Loader, error) {
	if err := dependencies("NewLoader", dep{"an event store", store != nil}, dep{"a registry", registry != nil},
		dep{"a clock", clock != nil}); err != nil {
		return nil, err
	}
	if cacheSize <= 0 {
		cacheSize = defaultCacheSize
	}
	return &Loader{store: store, registry: registry, clock: clock, cacheSize: cacheSize,
		accounts: newCache(cacheSize, account.StreamID, seedAccount, evolveAccount, account.Account.Clone),
		persons: newCache(cacheSize, person.StreamID, func(string) person.Person { return person.Person{} },
			func(p person.Person, payload any, _ event.Record) person.Person { return p.Evolve(payload) }, nil),
		subscriptions: newCache(cacheSize, subscription.StreamID, func(string) subscription.Subscription { return subscription.Subscription{} },
			evolveSubscription, subscription.Subscription.Clone),
		licenseKeys: newCache(cacheSize, licensekey.StreamID, func(string) licensekey.Key { return licensekey.Key{} }, evolveLicenseKey, nil),
		products:    newCache(cacheSize, product.StreamID, func(string) product.Product { return product.Product{} }, evolveProduct, nil),
		installations: newCache(cacheSize, installation.StreamID, func(string) installation.Installation { return installation.Installation{} },
			evolveInstallation, nil),
		rosters: newCache(1, staff.StreamID, func(string) staff.Roster { return staff.Roster{} },
			func(r staff.Roster, payload any, _ event.Record) staff.Roster { return r.Evolve(payload) }, staff.Roster.Clone),
	}, nil
}

// now is the time a command of meta decides at: its effective time, or
// the ledger's clock.
func (l *Loader) now(meta Meta) time.Time {
	if !meta.EffectiveAt.IsZero() {
		return meta.EffectiveAt
	}
	return l.clock.Now()
}

// account returns account id as of its stream's latest event: the state
// authorization decides from. It is shared; never evolve it.
func (l *Loader) account(ctx context.Context, id string) (account.Account, error) {
	a, _, err := l.accounts.current(ctx, l, id)
	return a, err
}

// authorize answers whether actor may do action in account id, from the
// account's latest events (rules MEM-5, MEM-8, X-5). A nil error allows.
func (l *Loader) authorize(ctx context.Context, actor event.Actor, id string, action account.Action) error {
	if err := l.backOfficeReads(ctx, actor); err != nil {
		return err
	}
	a, err := l.account(ctx, id)
	if err != nil {
		return err
	}
	return a.Authorize(actor, action)
}

// roster returns the back office as of its latest event (shared; never
// evolve it).
func (l *Loader) roster(ctx context.Context) (staff.Roster, error) {
	r, _, err := l.rosters.current(ctx, l, "")
	return r, err
}

// backOffice answers whether actor, of the back office, may do p: the
// one policy of the back office (staff.Roster.Authorize), asked of the
// roster's latest events, so that a removal, a new role or a revoked
// service account counts from the very next request (issue 23). Anyone
// else is refused with account.ErrForbidden.
func (l *Loader) backOffice(ctx context.Context, actor event.Actor, p staff.Permission) error {
	if actor.Kind != event.ActorBackOffice {
		return fmt.Errorf("%w: only the back office may do this", account.ErrForbidden)
	}
	r, err := l.roster(ctx)
	if err != nil {
		return err
	}
	return r.Authorize(actor, p)
}

// backOfficeReads lets a back-office actor read customers' data only as
// far as the roster lets it (staff.PermRead), asked again at every read,
// so that a live read (the account's event stream) ends when its staff
// person is removed; anyone else passes to the account's own policy.
func (l *Loader) backOfficeReads(ctx context.Context, actor event.Actor) error {
	if actor.Kind != event.ActorBackOffice {
		return nil
	}
	return l.backOffice(ctx, actor, staff.PermRead)
}

// person returns person id as of its latest event (shared; never evolve it).
func (l *Loader) person(ctx context.Context, id string) (person.Person, error) {
	p, _, err := l.persons.current(ctx, l, id)
	return p, err
}

// subscription returns subscription id as of its stream's latest event.
// It is shared; never evolve it.
func (l *Loader) subscription(ctx context.Context, id string) (subscription.Subscription, error) {
	s, _, err := l.subscriptions.current(ctx, l, id)
	return s, err
}

// authorizeSubscription answers whether actor may do action with
// subscription s (and key keyID, for ActionManageKey), from the latest
// events of the account it is registered to (rules MEM-5, MEM-6, X-5).
// The back office may view every subscription.
func (l *Loader) authorizeSubscription(ctx context.Context, actor event.Actor, s subscription.Subscription, action subscription.Action, keyID string) error {
	if actor.Kind == event.ActorBackOffice && action == subscription.ActionView {
		if err := l.backOfficeReads(ctx, actor); err != nil {
			return err
		}
		if !s.Exists() {
			return subscription.ErrNotFound // the back office sees every subscription, so may know which exist
		}
		return nil
	}
	var acct account.Account
	if s.AccountID() != "" {
		var err error
		if acct, err = l.account(ctx, s.AccountID()); err != nil {
			return err
		}
	}
	return s.Authorize(actor, acct, action, keyID)
}

// product returns product id of the catalog; product.ErrNotFound if it
// is not in it.
func (l *Loader) product(ctx context.Context, id string) (product.Product, error) {
	if !product.ValidID(id) {
		return product.Product{}, product.ErrNotFound
	}
	p, _, err := l.products.current(ctx, l, id)
	if err == nil && !p.Exists() {
		err = product.ErrNotFound
	}
	return p, err
}

// installation returns installation id as of its latest event;
// installation.ErrNotFound if there is none.
func (l *Loader) installation(ctx context.Context, id string) (installation.Installation, error) {
	i, _, err := l.installations.current(ctx, l, id)
	if err == nil && !i.Exists() {
		err = installation.ErrNotFound
	}
	return i, err
}

// seatsUsed returns the seats the installation bound to key keyID uses
// now (KEY-5, KEY-7): 0 when no installation holds it.
func (l *Loader) seatsUsed(ctx context.Context, keyID string) (int, error) {
	k, _, err := l.licenseKeys.current(ctx, l, keyID)
	if err != nil || k.Bound() == "" {
		return 0, err
	}
	i, err := l.installation(ctx, k.Bound())
	if err != nil || !i.HoldsKey() {
		return 0, err
	}
	return i.Seats(), nil
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
func update[A any](ctx context.Context, l *Loader, c *cache[A], id, command string, meta Meta,
	decide func(A, time.Time) ([]any, error)) (event.AppendResult, error) {
	return decideAndAppend(ctx, l, c, id, command, meta, true, decide)
}

// updateHot is update for streams that grow all day long (usage reports):
// it decides on the cached aggregate even with an idempotency key, and
// leaves recognising a retry to the event store, which answers an append
// of already-stored event IDs with their original result before it checks
// the version. A retry thus costs one small read, not a fold of the whole
// stream.
func updateHot[A any](ctx context.Context, l *Loader, c *cache[A], id, command string, meta Meta,
	decide func(A, time.Time) ([]any, error)) (event.AppendResult, error) {
	return decideAndAppend(ctx, l, c, id, command, meta, false, decide)
}

func decideAndAppend[A any](ctx context.Context, l *Loader, c *cache[A], id, command string, meta Meta, foldForRetry bool,
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
			agg, version, done, err = load(ctx, l, c, id, meta)
			if done != nil {
				return *done, nil
			}
		case !foldForRetry && attempt == 0:
			// Optimistic: the state read a moment ago (by the
			// credential's check) is most likely the latest; if not, the
			// exact-version append conflicts and the next attempt reads.
			agg, version, err = c.recent(ctx, l, id, hotFreshness)
		default:
			agg, version, err = c.current(ctx, l, id)
		}
		if err != nil {
			return event.AppendResult{}, err
		}
		payloads, err := decide(agg, l.now(meta))
		if err != nil {
			return event.AppendResult{}, err
		}
		if len(payloads) == 0 {
			return event.AppendResult{StreamID: stream, FirstVersion: version, LastVersion: version}, nil
		}
		proposed, err := l.encode(command, stream, meta, payloads)
		if err != nil {
			return event.AppendResult{}, err
		}
		res, err := l.store.Append(ctx, stream, event.Exact(version), proposed...)
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
func load[A any](ctx context.Context, l *Loader, c *cache[A], id string, meta Meta) (A, uint64, *event.AppendResult, error) {
	stream := c.stream(id)
	var (
		agg     = c.seed(id)
		version uint64
		done    *event.AppendResult
	)
	for from := uint64(1); ; {
		page, err := l.store.ReadStream(ctx, stream, from, readPage)
		if err != nil {
			return agg, 0, nil, fmt.Errorf("commands: load %q: %w", stream, err)
		}
		for _, rec := range page {
			payload, err := l.registry.Decode(rec)
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
func (l *Loader) encode(command, stream string, meta Meta, payloads []any) ([]event.Proposed, error) {
	out := make([]event.Proposed, len(payloads))
	for i, p := range payloads {
		name, ok := l.registry.NameOf(p)
		if !ok {
			return nil, fmt.Errorf("commands: %s decided an unregistered event %T", command, p)
		}
		data, version, err := l.registry.Encode(name, p)
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
