package queries

import (
	"context"
	"errors"
	"strconv"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/subscription"
)

// ErrAuditUnavailable is the error of an entity's history or state on a
// server whose audit reads are not configured.
var ErrAuditUnavailable = errors.New("queries: the audit reads are not configured on this server")

// HistoryRequest is a page of an entity's history as the client asked
// for it: as-of point, cursor and page size as text ("": none), and the
// field to keep (see HistoryQuery).
type HistoryRequest struct {
	AsOf, After, Limit, Field string
}

// History is the use case of an entity's history: v must be
// allowed to read kind/id (from the entities' latest events); then the
// request is read (an *InputError naming as_of, after or limit when one
// is not what it must be), and the page is read from the log itself, so
// it is never stale.
func (q *Reads) History(ctx context.Context, v Viewer, kind EntityKind, id string, req HistoryRequest) (HistoryPage, error) {
	if err := q.authorizeAudit(ctx, v.Actor, kind, id); err != nil {
		return HistoryPage{}, err
	}
	hq, err := parseHistoryRequest(req)
	if err != nil {
		return HistoryPage{}, err
	}
	return q.audit.History(ctx, kind, id, hq)
}

// parseHistoryRequest reads a page of history as the client asked for it
// (an *InputError naming as_of, after or limit when one is not what it
// must be); a limit it does not give is 0.
func parseHistoryRequest(req HistoryRequest) (HistoryQuery, error) {
	hq := HistoryQuery{Field: req.Field}
	var err error
	if hq.AsOf, err = ParseAsOf(req.AsOf); err != nil {
		return hq, &InputError{Field: "as_of", Kind: ErrInvalidAuditQuery, Err: err}
	}
	if req.After != "" {
		if hq.After, err = strconv.ParseUint(req.After, 10, 64); err != nil {
			return hq, invalidInput("after", ErrInvalidFilter, "after must be a log position (a whole number), not %q", req.After)
		}
	}
	if hq.Limit, err = parseLimit(req.Limit, 1000); err != nil {
		return hq, invalidInput("limit", ErrInvalidFilter, "limit must be a whole number from 1 to 1000, not %q", req.Limit)
	}
	return hq, nil
}

// EntityState is the use case of an entity's state as of a point of the
// log (X-2, asOf as the client sent it), authorized as History.
func (q *Reads) EntityState(ctx context.Context, v Viewer, kind EntityKind, id string, asOf string) (EntityState, error) {
	if err := q.authorizeAudit(ctx, v.Actor, kind, id); err != nil {
		return EntityState{}, err
	}
	at, err := ParseAsOf(asOf)
	if err != nil {
		return EntityState{}, &InputError{Field: "as_of", Kind: ErrInvalidAuditQuery, Err: err}
	}
	return q.audit.State(ctx, kind, id, at)
}

// Audited reports whether the audit reads are configured (else History
// and EntityState answer ErrAuditUnavailable).
func (q *Reads) Audited() bool { return q.audit != nil }

// unknownToAuthorization are the errors of an entity that does not exist:
// to a caller other than the back office, it is refused as forbidden, so
// that nobody learns which entities exist.
var unknownToAuthorization = []error{subscription.ErrNotFound, subscription.ErrNoKey, installation.ErrNotFound,
	account.ErrNotFound, ErrUnknownEntity, ErrNotFound}

// authorizeAudit decides, from the entities' latest events, whether actor
// may read the history of kind/id.
func (q *Reads) authorizeAudit(ctx context.Context, actor event.Actor, kind EntityKind, id string) error {
	if q.audit == nil {
		return ErrAuditUnavailable
	}
	var err error
	switch kind {
	case KindSubscription:
		_, err = q.subscriptions.AuthorizeSubscription(ctx, actor, id, subscription.ActionView, "")
	case KindKey:
		var sub string
		if sub, err = q.audit.KeySubscription(ctx, id); err == nil {
			_, err = q.subscriptions.AuthorizeSubscription(ctx, actor, sub, subscription.ActionView, id)
		}
	case KindInstallation:
		_, err = q.installations.AuthorizeInstallation(ctx, actor, id, false)
	case KindAccount:
		err = q.accounts.Authorize(ctx, actor, id, account.ActionView)
	case KindPerson:
		if actor.Kind != event.ActorBackOffice && (actor.Kind != event.ActorPerson || actor.ID != id) {
			err = account.ErrForbidden
		}
	}
	if err != nil && actor.Kind != event.ActorBackOffice {
		for _, unknown := range unknownToAuthorization {
			if errors.Is(err, unknown) {
				return account.ErrForbidden
			}
		}
	}
	return err
}
