// Package commands is the write side: one file per use case. Each loads an
// aggregate by folding its stream, asks it to decide, and appends the
// events it decided with the exact version it was decided on, so a
// decision is always made from consistent state. A concurrent change makes
// the append conflict; the use case then loads again and decides again.
//
// The use cases are grouped by the aggregate they decide on, one handler
// each (AccountsHandler, PeopleHandler, SubscriptionsHandler, …), with the
// dependencies it needs given to its constructor, which refuses a missing
// one. The handlers share one Loader, which reads the aggregates that
// several of them decide from (an account, to authorize) and appends what
// they decide. Set holds them all, built from one Config.
package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/offlinefile"
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

// Config is the write side's dependencies, from which NewSet builds every
// handler. All are required.
type Config struct {
	Store    EventStore
	Registry *event.Registry // must know every event the use cases read and write
	Clock    Clock
	// Passwords hashes and checks the passwords of people (PeopleHandler).
	Passwords Passwords
	// Tokens derives the tokens of mailed links and of installations'
	// credentials (PeopleHandler, AccountsHandler, InstallationsHandler).
	Tokens Tokens
	// Keys issues, seals and reopens license keys (SubscriptionsHandler,
	// OrdersHandler).
	Keys Keys
	// CA and Entitlements issue MDM certificates (MDMHandler, rule MISC-1).
	CA           CertificateAuthority
	Entitlements Entitlements
	// OfflineFormat reads offline request files, and OfflineSigner signs
	// the answers to them (OfflineHandler, rule ACT-2).
	OfflineFormat offlinefile.Format
	OfflineSigner offlinefile.Signer
	// WebhookAllowHTTP accepts http:// webhook URLs (tests, private
	// networks; LEDGER_WEBHOOK_ALLOW_HTTP); else only https://.
	WebhookAllowHTTP bool
	// CacheSize bounds how many aggregates of each kind stay in memory.
	// Zero: 10,000.
	CacheSize int
}

// Validate returns an error wrapping ErrMissingDependency for each
// dependency cfg lacks, joined; nil if it has them all.
func (cfg Config) Validate() error {
	return dependencies("Config",
		dep{"Store", cfg.Store != nil}, dep{"Registry", cfg.Registry != nil}, dep{"Clock", cfg.Clock != nil},
		dep{"Passwords", cfg.Passwords != nil}, dep{"Tokens", cfg.Tokens != nil}, dep{"Keys", cfg.Keys != nil},
		dep{"CA", cfg.CA != nil}, dep{"Entitlements", cfg.Entitlements != nil}, dep{"OfflineFormat", cfg.OfflineFormat != nil},
		dep{"OfflineSigner", cfg.OfflineSigner != nil})
}

// Set is the write side: one handler per aggregate, all sharing one
// Loader, so that an aggregate one handler appends to is the one the
// others read from. It is what the edges (the HTTP API, the portal, the
// timers) are given.
type Set struct {
	// Accounts: business accounts, members, invitations, and every
	// authorization that depends on an account.
	Accounts *AccountsHandler
	// People: sign-up, sign-in, passwords, profiles and API tokens.
	People *PeopleHandler
	// Subscriptions: registering keys, sublicenses, license
	// administrators, and the lifecycle's timers.
	Subscriptions *SubscriptionsHandler
	// Orders: the back office's product catalog and orders.
	Orders *OrdersHandler
	// Releases: the downloads catalog.
	Releases *ReleasesHandler
	// Installations: activation, usage, deactivation, and the overuse
	// timers.
	Installations *InstallationsHandler
	// Offline: the answers to offline request files.
	Offline *OfflineHandler
	// Tickets: support tickets.
	Tickets *TicketsHandler
	// MDM: MDM certificates.
	MDM *MDMHandler
	// Staff: the back office's staff people and service accounts, and
	// its authorization (issue 23).
	Staff *StaffHandler
	// Webhooks: an account's webhook endpoints (issue 22).
	Webhooks *WebhooksHandler
}

// NewSet builds every handler from cfg on one Loader. It returns cfg's
// Validate error if a dependency is missing.
func NewSet(cfg Config) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := NewLoader(cfg.Store, cfg.Registry, cfg.Clock, cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	s := &Set{}
	var errs [11]error
	s.People, errs[0] = NewPeopleHandler(l, cfg.Passwords, cfg.Tokens)
	s.Accounts, errs[1] = NewAccountsHandler(l, cfg.Tokens, s.People)
	s.Subscriptions, errs[2] = NewSubscriptionsHandler(l, cfg.Keys, s.Accounts)
	s.Orders, errs[3] = NewOrdersHandler(l, cfg.Keys)
	s.Releases, errs[4] = NewReleasesHandler(l)
	s.Installations, errs[5] = NewInstallationsHandler(l, cfg.Tokens, s.Subscriptions)
	s.Offline, errs[6] = NewOfflineHandler(l, cfg.OfflineFormat, cfg.OfflineSigner, s.Installations, s.Subscriptions)
	s.Tickets, errs[7] = NewTicketsHandler(l)
	s.MDM, errs[8] = NewMDMHandler(l, cfg.CA, cfg.Entitlements)
	s.Staff, errs[9] = NewStaffHandler(l, cfg.Passwords, cfg.Tokens, s.People)
	s.Webhooks, errs[10] = NewWebhooksHandler(l, cfg.Tokens, cfg.WebhookAllowHTTP)
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return s, nil
}

// ErrMissingDependency: a handler was built without a dependency it
// needs. The write side never finds a dependency missing while it runs a
// use case: its constructors refuse to build a handler without one.
var ErrMissingDependency = errors.New("commands: a required dependency is missing")

// dep is one dependency of a constructor, and whether it was given.
type dep struct {
	name  string
	given bool
}

// dependencies returns an error wrapping ErrMissingDependency for each
// dependency of constructor that was not given, joined; nil if all were.
func dependencies(constructor string, deps ...dep) error {
	var errs []error
	for _, d := range deps {
		if !d.given {
			errs = append(errs, fmt.Errorf("%w: %s needs %s", ErrMissingDependency, constructor, d.name))
		}
	}
	return errors.Join(errs...)
}
