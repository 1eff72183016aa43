package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/staff"
	"seatledger/infra/audit"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// The console's audit pages (issue 23, rules ): what an auditor
// (and finance, and an owner) reads: an entity's history (the history for
// people, naming who of the back office did what, or the raw events with
// actor, command and correlation), the log's verification against a
// signed checkpoint, and the finance reconciliation of a period. They are
// read-only: nothing here changes the ledger (the one form that posts
// carries a saved checkpoint to verify, too long for a query), and the
// console's mutating forms refuse these roles by the roster's policy.

func init() {
	registerStaffPages(func(p *Portal, r chi.Router) {
		r.Get("/staff/audit", p.staffAuditPage)
		r.Get("/staff/audit/history", p.staffAuditHistory)
		r.Get("/staff/audit/verify", p.staffAuditVerify)
		// A saved checkpoint is several lines, which no query parameter
		// may hold: it is sent in a form's body. Verifying writes
		// nothing.
		r.Post("/staff/audit/verify", p.staffAuditVerify)
		r.Get("/staff/audit/reconciliation", p.staffAuditReconciliation)
	})
	registerStaffNav(StaffNavItem{Order: 70, Path: "/staff/audit", Label: "Audit", Nav: "audit", Perm: staff.PermAudit,
		Description: "Read any entity's history, verify the log against a signed checkpoint, and reconcile a period."})
}

// StaffAudit is what the console's audit pages read besides the query use
// cases: the tamper evidence and the reconciliation, both over the whole
// log (cmd/ledgerd wires them). The pages authorize the staff person
// first; these functions do not.
type StaffAudit struct {
	// Verify checks the log against the signed checkpoint note (the
	// ledger's latest when note is empty): every stream's hash chain and
	// the Merkle root. It returns the checkpoint verified against and the
	// report, a *audit.TamperError naming the first altered, removed or
	// reordered event, or an error matching audit.ErrMalformedCheckpoint
	// or audit.ErrUntrustedCheckpoint for a note that is not the ledger's,
	// or audit.ErrNotFound when no checkpoint is signed yet.
	Verify func(ctx context.Context, note []byte) (audit.Checkpoint, audit.VerifyReport, error)
	// Reconcile reconciles a period over the log (queries.Reconcile).
	Reconcile func(ctx context.Context, q queries.ReconciliationQuery) (queries.Reconciliation, error)
}

// staffAuditView is the audit pages' data.
type staffAuditView struct {
	Kinds []string
	// History is the history looked up, if any.
	History *historyView
	// Verified is the verification's outcome, if one ran.
	Verified *staffVerification
	// Reconciliation is the period's reconciliation, if one ran; CSV links
	// its parts.
	Reconciliation *queries.Reconciliation
	CSV            map[string]string
	Parts          []string
}

// staffVerification is what a verification found.
type staffVerification struct {
	Checkpoint string
	Report     audit.VerifyReport
	// Tamper is the first event that differs from what was checkpointed.
	Tamper *audit.TamperError
}

func (p *Portal) staffAuditView(v *View) *staffAuditView {
	view := &staffAuditView{Parts: queries.CSVParts}
	for _, k := range queries.EntityKinds {
		view.Kinds = append(view.Kinds, string(k))
	}
	v.Page = view
	return view
}

func (p *Portal) staffAuditPage(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Audit", "audit", staff.PermAudit)
	if v == nil {
		return
	}
	p.staffAuditView(v)
	p.renderStaff(w, r, "staff_audit.html", v)
}

// staffAuditHistory shows kind/id's history: for people (names, labels)
// or, with raw=1, the events as the log holds them.
func (p *Portal) staffAuditHistory(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Audit", "audit", staff.PermAudit)
	if v == nil {
		return
	}
	view := p.staffAuditView(v)
	kind, id := v.Value("kind"), strings.TrimSpace(v.Value("id"))
	entityKind, err := queries.ParseEntityKind(kind)
	if err != nil {
		v.fail(&httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: err.Error(),
			InvalidParams: []httpapi.InvalidParam{{Name: "kind", Reason: "choose one of " + strings.Join(view.Kinds, ", ")}}})
		p.renderStaff(w, r, "staff_audit.html", v)
		return
	}
	if id == "" {
		v.fail(&httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: "id is required",
			InvalidParams: []httpapi.InvalidParam{{Name: "id", Reason: "the ID of the " + kind + " is required"}}})
		p.renderStaff(w, r, "staff_audit.html", v)
		return
	}
	raw, after := v.Value("raw") == "1", v.Value("after")
	req := queries.HistoryRequest{After: after, Limit: strconv.Itoa(historyPageSize)}
	h := &historyView{Raw: raw, Label: kind + " " + id}
	var next uint64
	if raw {
		page, err := p.cfg.Queries.History(r.Context(), v.viewer, entityKind, id, req)
		if err != nil {
			p.staffAuditFail(w, r, v, err)
			return
		}
		h.Events, next = rawEvents(page), page.NextAfter
	} else {
		if h.HistoryView, err = p.cfg.Queries.HistoryView(r.Context(), v.viewer, entityKind, id, req); err != nil {
			p.staffAuditFail(w, r, v, err)
			return
		}
		next = h.NextAfter
	}
	link := func(raw bool, after uint64) string {
		q := url.Values{"kind": {kind}, "id": {id}}
		if raw {
			q.Set("raw", "1")
		}
		if after > 0 {
			q.Set("after", strconv.FormatUint(after, 10))
		}
		return "/staff/audit/history?" + q.Encode()
	}
	if next != 0 {
		h.Next = link(raw, next)
	}
	if after != "" {
		h.First = link(raw, 0)
	}
	h.Toggle = link(!raw, 0)
	view.History = h
	v.Title = "History of " + h.Label
	p.renderStaff(w, r, "staff_audit.html", v)
}

// staffAuditFail shows a refused read on the audit page itself (a bad
// cursor, an unknown entity), or the error page for anything else.
func (p *Portal) staffAuditFail(w http.ResponseWriter, r *http.Request, v *View, err error) {
	v.fail(err)
	if v.Status >= 500 || v.Status == http.StatusForbidden {
		p.staffFail(w, r, v, err)
		return
	}
	p.renderStaff(w, r, "staff_audit.html", v)
}

// staffAuditVerify verifies the log against the checkpoint the posted
// form carries (one the auditor saved earlier), else the latest signed.
func (p *Portal) staffAuditVerify(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Audit", "audit", staff.PermAudit)
	if v == nil {
		return
	}
	view := p.staffAuditView(v)
	if p.cfg.Audit == nil || p.cfg.Audit.Verify == nil {
		p.staffFail(w, r, v, &httpapi.Problem{Status: http.StatusServiceUnavailable, Title: "Unavailable",
			Detail: "the audit log is not configured on this server"})
		return
	}
	note := strings.TrimSpace(strings.ReplaceAll(v.Value("checkpoint"), "\r\n", "\n"))
	if note != "" {
		note += "\n"
	}
	if len(note) > audit.MaxNoteSize {
		p.staffCheckpointProblem(w, r, v, "the checkpoint is larger than a signed checkpoint can be")
		return
	}
	cp, rep, err := p.cfg.Audit.Verify(r.Context(), []byte(note))
	var tamper *audit.TamperError
	switch {
	case errors.As(err, &tamper):
		view.Verified = &staffVerification{Checkpoint: cp.String(), Tamper: tamper}
		v.Status = http.StatusOK // the verification ran; its finding is the answer
	case errors.Is(err, audit.ErrMalformedCheckpoint), errors.Is(err, audit.ErrUntrustedCheckpoint):
		p.staffCheckpointProblem(w, r, v, strings.TrimPrefix(err.Error(), "audit: "))
		return
	case errors.Is(err, audit.ErrNotFound):
		p.staffFail(w, r, v, &httpapi.Problem{Status: http.StatusNotFound, Title: "No checkpoint yet",
			Detail: "the ledger has not signed a checkpoint yet; try again after the next checkpoint interval"})
		return
	case err != nil:
		p.staffFail(w, r, v, err)
		return
	default:
		view.Verified = &staffVerification{Checkpoint: cp.String(), Report: rep}
	}
	v.Title = "Verification"
	p.renderStaff(w, r, "staff_audit.html", v)
}

func (p *Portal) staffCheckpointProblem(w http.ResponseWriter, r *http.Request, v *View, reason string) {
	v.fail(&httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid checkpoint", Detail: reason,
		InvalidParams: []httpapi.InvalidParam{{Name: "checkpoint", Reason: reason}}})
	p.renderStaff(w, r, "staff_audit.html", v)
}

// staffAuditReconciliation reconciles the period of the form, as a table
// or, with format=csv, one part as a CSV file.
func (p *Portal) staffAuditReconciliation(w http.ResponseWriter, r *http.Request) {
	v := p.staffPage(w, r, "Audit", "audit", staff.PermFinance)
	if v == nil {
		return
	}
	view := p.staffAuditView(v)
	if p.cfg.Audit == nil || p.cfg.Audit.Reconcile == nil {
		p.staffFail(w, r, v, &httpapi.Problem{Status: http.StatusServiceUnavailable, Title: "Unavailable",
			Detail: "the finance reconciliation is not configured on this server"})
		return
	}
	period, err := queries.ParsePeriod(v.Value("from"), v.Value("to"))
	var pe *queries.PeriodError
	if errors.As(err, &pe) {
		v.fail(&httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid period", Detail: pe.Reason,
			InvalidParams: []httpapi.InvalidParam{{Name: pe.Field, Reason: pe.Reason}}})
		p.renderStaff(w, r, "staff_audit.html", v)
		return
	}
	csvPart := ""
	if v.Value("format") == "csv" {
		csvPart = v.Value("part")
		if csvPart == "" {
			csvPart = queries.CSVSubscriptions
		}
		if !slices.Contains(queries.CSVParts, csvPart) {
			v.fail(&httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: "unknown part",
				InvalidParams: []httpapi.InvalidParam{{Name: "part", Reason: "part is one of " + strings.Join(queries.CSVParts, ", ")}}})
			p.renderStaff(w, r, "staff_audit.html", v)
			return
		}
	}
	rec, err := p.cfg.Audit.Reconcile(r.Context(), queries.ReconciliationQuery{Period: period, SubscriptionID: strings.TrimSpace(v.Value("subscription"))})
	if err != nil {
		p.staffAuditFail(w, r, v, err)
		return
	}
	if csvPart != "" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="reconciliation-`+csvPart+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		if err := queries.WriteReconciliationCSV(w, rec, csvPart); err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "portal: writing a reconciliation failed", "error", err, "request_id", httpapi.RequestID(r.Context()))
		}
		return
	}
	view.Reconciliation = &rec
	view.CSV = map[string]string{}
	for _, part := range queries.CSVParts {
		q := url.Values{"from": {v.Value("from")}, "to": {v.Value("to")}, "format": {"csv"}, "part": {part}}
		if s := strings.TrimSpace(v.Value("subscription")); s != "" {
			q.Set("subscription", s)
		}
		view.CSV[part] = "/staff/audit/reconciliation?" + q.Encode()
	}
	v.Title = "Reconciliation"
	p.renderStaff(w, r, "staff_audit.html", v)
}
