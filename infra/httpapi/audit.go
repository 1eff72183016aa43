package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/subscription"
	"seatledger/queries"
)

// historyRoutes mounts the auditors' reads of one entity (rules X-1,
// its history with who, when, why and what changed, and its state
// as of a past time or log position. The caller must be allowed to see
// the entity now: the back office sees everything; a member sees their
// account's subscriptions, keys, installations and the account; a person
// sees their own person. Anything else is refused like a foreign entity,
// so that nobody learns which IDs exist.
func (s *Server) historyRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(requireSignedIn)
		r.Get("/history/{kind}/{id}", s.entityHistory)
		r.Get("/history/{kind}/{id}/state", s.entityState)
	})
}

// entityHistory answers GET /v1/history/{kind}/{id}?as_of=&after=&limit=&field=.
func (s *Server) entityHistory(w http.ResponseWriter, r *http.Request) {
	kind, id, ok := s.auditTarget(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	hq := queries.HistoryQuery{Field: q.Get("field")}
	var err error
	if hq.AsOf, err = queries.ParseAsOf(q.Get("as_of")); err != nil {
		WriteProblem(w, r, domainProblem(err).Field("as_of"))
		return
	}
	if raw := q.Get("after"); raw != "" {
		if hq.After, err = strconv.ParseUint(raw, 10, 64); err != nil {
			WriteProblem(w, r, ProblemInvalidRequest.New("after must be a log position (a whole number), not %q", raw).Field("after"))
			return
		}
	}
	if raw := q.Get("limit"); raw != "" {
		if hq.Limit, err = strconv.Atoi(raw); err != nil || hq.Limit < 1 || hq.Limit > 1000 {
			WriteProblem(w, r, ProblemInvalidRequest.New("limit must be a whole number from 1 to 1000, not %q", raw).Field("limit"))
			return
		}
	}
	page, err := s.cfg.People.Audit.History(r.Context(), kind, id, hq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// entityState answers GET /v1/history/{kind}/{id}/state?as_of=. An
// entity that did not exist yet at that point is a 200 answer saying so
// and when it began, not an error.
func (s *Server) entityState(w http.ResponseWriter, r *http.Request) {
	kind, id, ok := s.auditTarget(w, r)
	if !ok {
		return
	}
	asOf, err := queries.ParseAsOf(r.URL.Query().Get("as_of"))
	if err != nil {
		WriteProblem(w, r, domainProblem(err).Field("as_of"))
		return
	}
	st, err := s.cfg.People.Audit.State(r.Context(), kind, id, asOf)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// auditTarget reads the entity of the path and checks that the caller
// may see it; it answers the problem and reports false otherwise.
func (s *Server) auditTarget(w http.ResponseWriter, r *http.Request) (queries.EntityKind, string, bool) {
	if s.cfg.People.Audit == nil {
		WriteProblem(w, r, ProblemUnavailable.New("the audit reads are not configured on this server"))
		return "", "", false
	}
	kind, err := queries.ParseEntityKind(chi.URLParam(r, "kind"))
	if err != nil {
		p := domainProblem(err)
		p.Type, p.Title, p.Status = ProblemNotFound.URI(), ProblemNotFound.Title(), ProblemNotFound.Status()
		WriteProblem(w, r, p)
		return "", "", false
	}
	id := chi.URLParam(r, "id")
	if err := s.authorizeAudit(r.Context(), principalOf(r.Context()).actor, kind, id); err != nil {
		s.fail(w, r, err)
		return "", "", false
	}
	return kind, id, true
}

// authorizeAudit decides, from the entities' latest events, whether actor
// may read the history of kind/id. An entity unknown to a caller other
// than the back office is refused as forbidden.
func (s *Server) authorizeAudit(ctx context.Context, actor event.Actor, kind queries.EntityKind, id string) error {
	c := s.cfg.People.Commands
	var err error
	switch kind {
	case queries.KindSubscription:
		_, err = c.Subscriptions.AuthorizeSubscription(ctx, actor, id, subscription.ActionView, "")
	case queries.KindKey:
		var sub string
		if sub, err = s.cfg.People.Audit.KeySubscription(ctx, id); err == nil {
			_, err = c.Subscriptions.AuthorizeSubscription(ctx, actor, sub, subscription.ActionView, id)
		}
	case queries.KindInstallation:
		_, err = c.Installations.AuthorizeInstallation(ctx, actor, id, false)
	case queries.KindAccount:
		err = c.Accounts.Authorize(ctx, actor, id, account.ActionView)
	case queries.KindPerson:
		if actor.Kind != event.ActorBackOffice && (actor.Kind != event.ActorPerson || actor.ID != id) {
			err = account.ErrForbidden
		}
	}
	if err != nil && actor.Kind != event.ActorBackOffice {
		if p := domainProblem(err); p != nil && p.Status == http.StatusNotFound {
			return account.ErrForbidden
		}
	}
	return err
}
