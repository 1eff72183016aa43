package queries

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/person"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
)

// The read models the query use cases wait for, by projection name.
const (
	// DirectoryReadModel holds people, accounts and members.
	DirectoryReadModel = "directory"
	// LicensesReadModel holds products, subscriptions and license keys.
	LicensesReadModel = "licenses"
	// InstallationsReadModel holds farms and proxy servers.
	InstallationsReadModel = "installations"
	// TicketsReadModel holds support tickets.
	TicketsReadModel = "tickets"
)

// DefaultReadWait bounds how long a read waits for its read models to
// reach the position its caller has seen (read your writes).
const DefaultReadWait = 5 * time.Second

// Viewer is who asks a query use case: the actor authorization is
// decided for, and the log position of their last write, which the read
// models must have applied before the read (read your writes; 0: none).
type Viewer struct {
	Actor event.Actor
	// MinPosition is the position the read must see, as the client sent
	// it (X-Ledger-Min-Position in the API, the portal's cookie of the
	// browser's last write): a whole number, or "" for none. It is read
	// only once the viewer is authorized; one that is not a position is a
	// *PositionError.
	MinPosition string
}

// PositionError is the error of a read whose Viewer.MinPosition is not a
// log position; the edge names where it came from.
type PositionError struct{ Raw string }

func (e *PositionError) Error() string {
	return fmt.Sprintf("queries: the position to read at must be a log position (a whole number), not %q", e.Raw)
}

// InputError is a refused input of a query use case: it names the field
// and matches Kind (ErrInvalidFilter, ErrInvalidAuditQuery …). Inputs are
// checked after the viewer is authorized, so that a caller who may not
// read learns nothing from them.
type InputError struct {
	Field string
	Kind  error
	// Err is the reason; its message is the error's.
	Err error
}

func (e *InputError) Error() string { return e.Err.Error() }

// Is matches Kind.
func (e *InputError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the reason.
func (e *InputError) Unwrap() error { return e.Err }

// InvalidField names the input.
func (e *InputError) InvalidField() string { return e.Field }

// invalidInput is an InputError of field, of kind, with a message.
func invalidInput(field string, kind error, format string, args ...any) error {
	return &InputError{Field: field, Kind: kind, Err: fmt.Errorf("queries: "+format, args...)}
}

// parseLimit reads a page size sent as text ("" is 0: the default).
func parseLimit(raw string, maxPage int) (int, error) {
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || (maxPage > 0 && n > maxPage) {
		return 0, errors.New(raw)
	}
	return n, nil
}

// The authorization the query use cases ask for, from the aggregates'
// latest events (consistent state), never from a lagging read model. The
// command side's handlers implement them, one per aggregate.

// AccountAuthorizer decides who may act on an account.
type AccountAuthorizer interface {
	// Authorize returns nil when actor may take action on account id, an
	// error matching account.ErrForbidden (or ErrNotFound) otherwise.
	Authorize(ctx context.Context, actor event.Actor, id string, action account.Action) error
}

// SubscriptionAuthorizer decides who may act on a subscription.
type SubscriptionAuthorizer interface {
	// AuthorizeSubscription returns the subscription id when actor may
	// take action on it (on key keyID, when given).
	AuthorizeSubscription(ctx context.Context, actor event.Actor, id string, action subscription.Action, keyID string) (subscription.Subscription, error)
}

// InstallationAuthorizer decides who may see an installation.
type InstallationAuthorizer interface {
	// AuthorizeInstallation returns installation id when actor may view it
	// (manage: act on it).
	AuthorizeInstallation(ctx context.Context, actor event.Actor, id string, manage bool) (installation.Installation, error)
}

// TicketAuthorizer decides who may act on a support ticket.
type TicketAuthorizer interface {
	// AuthorizeTicket returns ticket id when actor may take action on it.
	AuthorizeTicket(ctx context.Context, actor event.Actor, id string, action ticket.Action) (ticket.Ticket, error)
}

// People reads a person from their events (consistent state).
type People interface {
	// Person returns person id, or an error matching person.ErrNotFound.
	Person(ctx context.Context, id string) (person.Person, error)
}

// ReadModels tells where the projections stand.
type ReadModels interface {
	// WaitFor blocks until projection has applied position, or timeout
	// has passed (an error).
	WaitFor(ctx context.Context, projection string, position uint64, timeout time.Duration) error
	// Stopped says whether projection is stopped at an event it cannot
	// apply, and why (for the log).
	Stopped(ctx context.Context, projection string) (bool, string, error)
}

// ReadsConfig gives the query use cases their dependencies.
type ReadsConfig struct {
	// DB is the read store. Required.
	DB DB
	// Accounts, Subscriptions, Installations and Tickets answer who may
	// read what. Required.
	Accounts      AccountAuthorizer
	Subscriptions SubscriptionAuthorizer
	Installations InstallationAuthorizer
	Tickets       TicketAuthorizer
	// People reads the signed-in person. Required.
	People People
	// ReadModels waits for the projections. Required.
	ReadModels ReadModels
	// Wait bounds a read's wait for its read models; default
	// DefaultReadWait.
	Wait time.Duration
	// Audit answers the histories and as-of states of entities (X-1,
	// X-2); nil: those reads answer ErrAuditUnavailable.
	Audit *Audit
	// Feed tunes the live follow of the account event feed.
	Feed FeedConfig
	// BackOffice is the back office's policy, which the staff console's
	// reads ask (staff_console.go); nil: they are refused.
	BackOffice BackOfficeAuthorizer
}

// Validate reports every missing dependency.
func (c ReadsConfig) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.DB is required"))
	}
	if c.Accounts == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.Accounts is required"))
	}
	if c.Subscriptions == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.Subscriptions is required"))
	}
	if c.Installations == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.Installations is required"))
	}
	if c.Tickets == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.Tickets is required"))
	}
	if c.People == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.People is required"))
	}
	if c.ReadModels == nil {
		errs = append(errs, errors.New("queries: ReadsConfig.ReadModels is required"))
	}
	return errors.Join(errs...)
}

// Reads is the application's query side: each method is one query use
// case that owns its whole story — authorization from consistent state,
// read-your-writes waiting and the read — with a typed result. The API
// and the portal both call it; neither repeats those steps.
type Reads struct {
	db            DB
	accounts      AccountAuthorizer
	subscriptions SubscriptionAuthorizer
	installations InstallationAuthorizer
	tickets       TicketAuthorizer
	people        People
	models        ReadModels
	wait          time.Duration
	audit         *Audit
	feed          FeedConfig
	backOffice    BackOfficeAuthorizer
}

// NewReads returns the query use cases over cfg, or the error of
// cfg.Validate.
func NewReads(cfg ReadsConfig) (*Reads, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultReadWait
	}
	cfg.Feed.setDefaults()
	return &Reads{db: cfg.DB, accounts: cfg.Accounts, subscriptions: cfg.Subscriptions, installations: cfg.Installations, tickets: cfg.Tickets,
		people: cfg.People, models: cfg.ReadModels, wait: cfg.Wait, audit: cfg.Audit, feed: cfg.Feed, backOffice: cfg.BackOffice}, nil
}

// ErrReadModelStopped is matched by the error of a read whose read model
// is stopped at an event it cannot apply (issue 16): that read is refused
// until the operator resumes it; other reads and all writes go on.
var ErrReadModelStopped = errors.New("queries: read model stopped")

// StoppedError is the error of a read refused because ReadModel is stopped.
type StoppedError struct {
	// ReadModel is the stopped projection; Why is its reason, for the log.
	ReadModel, Why string
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("queries: the read model %q this read needs is stopped at an event it cannot apply; "+
		"the operator has been told and resumes it once the cause is fixed (ledger projections retry %s); other reads and all writes go on",
		e.ReadModel, e.ReadModel)
}

// Is makes a StoppedError match ErrReadModelStopped.
func (e *StoppedError) Is(target error) bool { return target == ErrReadModelStopped }

// ErrNotCaughtUp is matched by the error of a read whose read model has not
// reached what the viewer has seen yet; retrying shortly helps.
var ErrNotCaughtUp = errors.New("queries: read model behind")

// notCaughtUp is an ErrNotCaughtUp with a message for the person.
type notCaughtUp struct{ msg string }

func (e notCaughtUp) Error() string        { return "queries: " + e.msg }
func (e notCaughtUp) Is(target error) bool { return target == ErrNotCaughtUp }

// await makes sure the read models a read needs can answer it: none of
// them is stopped (a *StoppedError: a stopped projection degrades only
// the reads that need it), and each has applied v.MinPosition (read your
// writes; an error matching ErrNotCaughtUp after the wait).
func (q *Reads) await(ctx context.Context, v Viewer, readModels ...string) error {
	for _, p := range readModels {
		halted, why, err := q.models.Stopped(ctx, p)
		if err != nil {
			return fmt.Errorf("queries: is read model %s stopped: %w", p, err)
		}
		if halted {
			return &StoppedError{ReadModel: p, Why: why}
		}
	}
	if v.MinPosition == "" {
		return nil
	}
	pos, err := strconv.ParseUint(v.MinPosition, 10, 64)
	if err != nil {
		return &PositionError{Raw: v.MinPosition}
	}
	for _, p := range readModels {
		if err := q.models.WaitFor(ctx, p, pos, q.wait); err != nil {
			return notCaughtUp{fmt.Sprintf("the read model has not reached position %d yet; retry shortly", pos)}
		}
	}
	return nil
}

// authorizeAccount lets v read account id (from its events) and waits
// for readModels.
func (q *Reads) authorizeAccount(ctx context.Context, v Viewer, id string, readModels ...string) error {
	if err := q.accounts.Authorize(ctx, v.Actor, id, account.ActionView); err != nil {
		return err
	}
	return q.await(ctx, v, readModels...)
}

// ReadModelFuncs adapts two functions to ReadModels. A nil WaitForFunc
// never waits (a store without projections running behind it); a nil
// StoppedFunc finds no read model stopped.
type ReadModelFuncs struct {
	WaitForFunc func(ctx context.Context, projection string, position uint64, timeout time.Duration) error
	StoppedFunc func(ctx context.Context, projection string) (bool, string, error)
}

// WaitFor calls f.WaitForFunc, if set.
func (f ReadModelFuncs) WaitFor(ctx context.Context, projection string, position uint64, timeout time.Duration) error {
	if f.WaitForFunc == nil {
		return nil
	}
	return f.WaitForFunc(ctx, projection, position, timeout)
}

// Stopped calls f.StoppedFunc, if set.
func (f ReadModelFuncs) Stopped(ctx context.Context, projection string) (bool, string, error) {
	if f.StoppedFunc == nil {
		return false, "", nil
	}
	return f.StoppedFunc(ctx, projection)
}

// Await is read your writes for a command that decides from a read model
// (an MDM certificate's entitling subscription): it returns once
// readModels can answer and have applied v.MinPosition, with the errors
// of the query use cases (*StoppedError, *PositionError, ErrNotCaughtUp).
func (q *Reads) Await(ctx context.Context, v Viewer, readModels ...string) error {
	return q.await(ctx, v, readModels...)
}
