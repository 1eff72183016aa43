package httpapi

import (
	"seatledger/domain/staff"

	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/audit"
)

// AuditLog is the log's tamper evidence (rule X-2) as the /v1/audit
// routes need it; infra/audit.Service implements it.
type AuditLog interface {
	PublicKey() string
	Checkpoint(ctx context.Context, size uint64) (audit.StoredCheckpoint, error)
	InclusionProof(ctx context.Context, position, size uint64) (audit.InclusionProof, error)
	ConsistencyProof(ctx context.Context, from, to uint64) (audit.ConsistencyProof, error)
	Export(ctx context.Context, w io.Writer, f audit.Filter, size uint64) (audit.ExportReport, error)
}

var _ AuditLog = (*audit.Service)(nil)

// auditLogRoutes mounts the tamper-evidence API (rule X-2), inside
// peopleRoutes' authentication:
//
//	GET /v1/audit/public-key          public             the checkpoints' note verifier key
//	GET /v1/audit/checkpoint          requireBackOffice  the latest (or ?size=N) signed checkpoint
//	GET /v1/audit/proofs/inclusion    requireBackOffice  ?position=P[&size=N]
//	GET /v1/audit/proofs/consistency  requireBackOffice  ?from=M&to=N
//	GET /v1/audit/export              requireBackOffice  NDJSON, streamed
//
// The public key is public: it is what makes a checkpoint worth anything
// to whoever holds one. Checkpoints, proofs and exports reveal the log's
// size and contents, so they are the back office's (auditors get them
// from it).
func (s *Server) auditLogRoutes(r chi.Router) {
	r.Get("/audit/public-key", s.auditPublicKey)
	r.Group(func(r chi.Router) {
		r.Use(s.requireBackOffice(staff.PermAudit))
		r.Get("/audit/checkpoint", s.auditCheckpoint)
		r.Get("/audit/proofs/inclusion", s.auditInclusion)
		r.Get("/audit/proofs/consistency", s.auditConsistency)
		r.Get("/audit/export", s.auditExport)
	})
}

// auditLog returns the configured service, or answers 503.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) (AuditLog, bool) {
	if s.cfg.People.AuditLog == nil {
		WriteProblem(w, r, ProblemUnavailable.New("the audit log is not configured on this server"))
		return nil, false
	}
	return s.cfg.People.AuditLog, true
}

// auditError answers an error of the audit service: an unknown size or
// position is a 404, a bad query a 400, anything else the usual mapping.
func (s *Server) auditError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, audit.ErrNotFound):
		WriteProblem(w, r, ProblemNotFound.New("%s", trimAuditPrefix(err)))
	default:
		s.fail(w, r, err)
	}
}

func trimAuditPrefix(err error) string {
	msg := err.Error()
	const p = "audit: "
	for len(msg) > len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
	}
	return msg
}

// queryUint reads an integer parameter of at least least (0 or 1);
// absent, it is 0 unless required. ok is false when the problem was
// answered.
func queryUint(w http.ResponseWriter, r *http.Request, name string, required bool, least uint64) (uint64, bool) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		if required {
			WriteProblem(w, r, ProblemAuditQuery.New("%s is required", name).Field(name))
			return 0, false
		}
		return 0, true
	}
	v, err := strconv.ParseUint(raw, 10, 63)
	if err != nil || v < least {
		what := "a positive whole number"
		if least == 0 {
			what = "a whole number"
		}
		WriteProblem(w, r, ProblemAuditQuery.New("%s must be %s, not %q", name, what, raw).Field(name))
		return 0, false
	}
	return v, true
}

func (s *Server) auditPublicKey(w http.ResponseWriter, r *http.Request) {
	a, ok := s.auditLog(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, a.PublicKey()+"\n")
}

func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request) {
	a, ok := s.auditLog(w, r)
	if !ok {
		return
	}
	size, ok := queryUint(w, r, "size", false, 1)
	if !ok {
		return
	}
	cp, err := a.Checkpoint(r.Context(), size)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Ledger-Tree-Size", strconv.FormatUint(cp.Size, 10))
	w.Header().Set("Last-Modified", cp.CreatedAt.UTC().Format(http.TimeFormat))
	_, _ = w.Write(cp.Note)
}

func (s *Server) auditInclusion(w http.ResponseWriter, r *http.Request) {
	a, ok := s.auditLog(w, r)
	if !ok {
		return
	}
	position, ok := queryUint(w, r, "position", true, 1)
	if !ok {
		return
	}
	size, ok := queryUint(w, r, "size", false, 1)
	if !ok {
		return
	}
	p, err := a.InclusionProof(r.Context(), position, size)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) auditConsistency(w http.ResponseWriter, r *http.Request) {
	a, ok := s.auditLog(w, r)
	if !ok {
		return
	}
	// from may be 0: the empty tree, whose checkpoint the log signs first,
	// is consistent with every tree by an empty proof.
	from, ok := queryUint(w, r, "from", true, 0)
	if !ok {
		return
	}
	to, ok := queryUint(w, r, "to", true, 1)
	if !ok {
		return
	}
	if from > to {
		WriteProblem(w, r, ProblemAuditQuery.New("from (%d) must not be larger than to (%d)", from, to).Field("from"))
		return
	}
	p, err := a.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request) {
	a, ok := s.auditLog(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := audit.Filter{StreamID: q.Get("stream"), StreamPrefix: q.Get("stream_prefix"), Type: q.Get("type")}
	for _, p := range []struct {
		name string
		dst  *uint64
	}{{"from_position", &f.FromPosition}, {"to_position", &f.ToPosition}, {"size", nil}} {
		v, ok := queryUint(w, r, p.name, false, 1)
		if !ok {
			return
		}
		if p.dst != nil {
			*p.dst = v
		}
	}
	size, _ := strconv.ParseUint(q.Get("size"), 10, 63) // checked above
	if err := f.Validate(); err != nil {
		WriteProblem(w, r, ProblemAuditQuery.New("%s", trimAuditPrefix(err)))
		return
	}
	// The checkpoint is looked up before the first byte, so that an
	// unknown size is still a 404; afterwards the status is sent.
	if _, err := a.Checkpoint(r.Context(), size); err != nil {
		s.auditError(w, r, err)
		return
	}
	// An export of a large log takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := a.Export(r.Context(), flushing{w}, f, size); err != nil && r.Context().Err() == nil {
		// The status is sent: the client sees a truncated export, which
		// fails verification; the log says why.
		s.cfg.Logger.ErrorContext(r.Context(), "audit export failed", "request_id", RequestID(r.Context()), "error", err)
	}
}

// flushing sends each write to the client at once, so that an export
// streams rather than collecting in the server's buffers.
type flushing struct{ w http.ResponseWriter }

func (f flushing) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}
