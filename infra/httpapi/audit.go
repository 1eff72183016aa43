package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

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
		r.Use(s.requireSignedIn)
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
	page, err := s.reads.History(r.Context(), viewerOf(r), kind, id,
		queries.HistoryRequest{AsOf: q.Get("as_of"), After: q.Get("after"), Limit: q.Get("limit"), Field: q.Get("field")})
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
	st, err := s.reads.EntityState(r.Context(), viewerOf(r), kind, id, r.URL.Query().Get("as_of"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// auditTarget reads the entity of the path; it answers the problem and
// reports false when the audit reads are not configured or the kind is
// unknown. Who may read the entity is the query use case's.
func (s *Server) auditTarget(w http.ResponseWriter, r *http.Request) (queries.EntityKind, string, bool) {
	if !s.reads.Audited() {
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
	return kind, chi.URLParam(r, "id"), true
}
