package httpapi

import (
	"seatledger/domain/staff"

	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/event"
	"seatledger/domain/events"
	"seatledger/queries"
)

// financeRoutes mounts the back office's finance API (issue 7), inside
// peopleRoutes' authentication. Finance is the vendor's: only the admin
// token reconciles.
//
//	GET /v1/finance/reconciliation  requireBackOffice  reconciliation
func (s *Server) financeRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireBackOffice(staff.PermFinance))
		r.Get("/finance/reconciliation", s.reconciliation)
	})
}

// financeRegistry decodes the events a reconciliation reads; built once,
// it knows every event of the ledger.
var financeRegistry = sync.OnceValue(func() *event.Registry { return events.Registry() })

// csvMediaType is the media type of the CSV answers.
const csvMediaType = "text/csv"

// reconciliation answers GET /v1/finance/reconciliation?from=&to=
// [&subscription=][&format=json|csv][&part=]: the reconciliation of the
// period as JSON, or one part of it as CSV (format=csv, or Accept:
// text/csv without a format). Everything the request asks is checked
// before the log is read, so a bad request costs nothing.
func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	period, err := queries.ParsePeriod(q.Get("from"), q.Get("to"))
	if err != nil {
		var pe *queries.PeriodError
		if errors.As(err, &pe) {
			err = ProblemInvalidRequest.New("%s", pe.Reason).Field(pe.Field)
		}
		s.fail(w, r, err)
		return
	}
	format, err := reconciliationFormat(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	part := q.Get("part")
	switch {
	case part != "" && format != "csv":
		WriteProblem(w, r, ProblemInvalidRequest.New("part chooses a CSV table; ask for format=csv").Field("part"))
		return
	case part == "":
		part = queries.CSVSubscriptions
	case !slices.Contains(queries.CSVParts, part):
		WriteProblem(w, r, ProblemInvalidRequest.New("part is one of %s, not %q", strings.Join(queries.CSVParts, ", "), part).Field("part"))
		return
	}
	scan := s.cfg.People.FinanceLog
	if scan == nil {
		WriteProblem(w, r, ProblemUnavailable.New("finance reconciliation is not configured on this server"))
		return
	}
	query := queries.ReconciliationQuery{Period: period, SubscriptionID: strings.TrimSpace(q.Get("subscription"))}
	rec, err := queries.Reconcile(r.Context(), scan, financeRegistry(), query)
	if errors.Is(err, queries.ErrNotFound) {
		WriteProblem(w, r, ProblemNotFound.New("no subscription %q was purchased before %s", query.SubscriptionID,
			period.To.Format(time.RFC3339)).Field("subscription"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, rec)
		return
	}
	name := fmt.Sprintf("reconciliation-%s-%s-%s.csv", period.From.Format("20060102T150405Z"), period.To.Format("20060102T150405Z"), part)
	out := &lazyAttachment{w: w, contentType: csvMediaType + "; charset=utf-8", filename: name}
	if err := queries.WriteReconciliationCSV(out, rec, part); err != nil {
		if !out.started {
			s.fail(w, r, err)
			return
		}
		s.cfg.Logger.Warn("reconciliation CSV cut short", "error", err) // the client went away
	}
}

// reconciliationFormat is the format asked for: format=json|csv, else
// CSV when Accept names text/csv (and not JSON first), else JSON.
func reconciliationFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "json", "csv":
		return f, nil
	case "":
	default:
		return "", ProblemInvalidRequest.New("format is json or csv, not %q", f).Field("format")
	}
	for _, accepted := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(accepted))
		switch {
		case err != nil:
			continue
		case mt == csvMediaType:
			return "csv", nil
		case mt == "application/json":
			return "json", nil
		}
	}
	return "json", nil
}
