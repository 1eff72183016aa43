package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/infra/access"
	"seatledger/infra/eventstore"
	"seatledger/infra/sqldb"
)

// ProblemTypeBase prefixes every problem type URI. The URIs are stable:
// clients switch on them, so a slug is never renamed or reused.
const ProblemTypeBase = "https://seatledger.dev/problems/"

// ProblemType is one kind of problem: a stable type URI, a title that
// does not change from occurrence to occurrence (RFC 9457 §3.1.3), and the
// HTTP status it is answered with. It is a closed set declared here.
type ProblemType struct {
	slug, title string
	status      int
}

// The problem types the API answers with.
var (
	ProblemInvalidRequest       = ProblemType{"invalid-request", "Invalid request", http.StatusBadRequest}
	ProblemMalformedJSON        = ProblemType{"malformed-json", "Malformed JSON", http.StatusBadRequest}
	ProblemUnauthorized         = ProblemType{"unauthorized", "Authentication required", http.StatusUnauthorized}
	ProblemForbidden            = ProblemType{"forbidden", "Forbidden", http.StatusForbidden}
	ProblemNotFound             = ProblemType{"not-found", "Not found", http.StatusNotFound}
	ProblemMethodNotAllowed     = ProblemType{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	ProblemConflict             = ProblemType{"conflict", "Concurrent change", http.StatusConflict}
	ProblemDuplicateEventID     = ProblemType{"duplicate-event-id", "Event ID already used", http.StatusConflict}
	ProblemClockIsReal          = ProblemType{"clock-is-real", "Clock is real", http.StatusConflict}
	ProblemClockStopped         = ProblemType{"clock-advance-stopped", "Clock advance stopped", http.StatusServiceUnavailable}
	ProblemPayloadTooLarge      = ProblemType{"payload-too-large", "Request body too large", http.StatusRequestEntityTooLarge}
	ProblemUnsupportedMediaType = ProblemType{"unsupported-media-type", "Unsupported media type", http.StatusUnsupportedMediaType}
	ProblemInternal             = ProblemType{"internal", "Internal server error", http.StatusInternalServerError}
	ProblemUnavailable          = ProblemType{"unavailable", "Service unavailable", http.StatusServiceUnavailable}
	ProblemDatabaseUnavailable  = ProblemType{"database-unavailable", "Database unavailable", http.StatusServiceUnavailable}
	ProblemTimeout              = ProblemType{"timeout", "Request timed out", http.StatusGatewayTimeout}
	// ProblemReadModelStopped: a read model this read needs is stopped at
	// an event it cannot apply, until an operator fixes the cause and
	// retries it; the detail names it. Other reads and all writes go on.
	ProblemReadModelStopped = ProblemType{"read-model-stopped", "Read model stopped", http.StatusServiceUnavailable}
	ProblemCSRF             = ProblemType{"cross-origin-request", "Cross-origin request refused", http.StatusForbidden}
	ProblemTooManyRequests  = ProblemType{"too-many-requests", "Too many requests", http.StatusTooManyRequests}
	ProblemBadCredentials   = ProblemType{"bad-credentials", "Sign-in failed", http.StatusUnauthorized}
	ProblemEmailTaken       = ProblemType{"email-taken", "Email address taken", http.StatusConflict}
	ProblemWeakPassword     = ProblemType{"weak-password", "Password too weak", http.StatusBadRequest}
	ProblemTermsNotAccepted = ProblemType{"terms-not-accepted", "Terms of use not accepted", http.StatusBadRequest}
	ProblemInvalidLink      = ProblemType{"invalid-link", "Link not valid", http.StatusBadRequest}
	ProblemLinkUsed         = ProblemType{"link-used", "Link used already", http.StatusGone}
	ProblemLinkExpired      = ProblemType{"link-expired", "Link expired", http.StatusGone}
	// ProblemInvitationAddress: an invitation is for its address; the
	// person accepting it does not own that address, verified (MEM-4).
	ProblemInvitationAddress = ProblemType{"invitation-address", "Invitation for another address", http.StatusForbidden}
	ProblemLastAdmin         = ProblemType{"last-admin", "Last account admin", http.StatusConflict}
	ProblemLastOwner         = ProblemType{"last-owner", "Last owner of the back office", http.StatusConflict}
	ProblemAlreadyMember     = ProblemType{"already-member", "Already a member", http.StatusConflict}
	ProblemNotMember         = ProblemType{"not-member", "Not a member", http.StatusNotFound}
	ProblemNoChange          = ProblemType{"no-change", "Nothing to change", http.StatusConflict}
	ProblemTooManyTokens     = ProblemType{"too-many-tokens", "Too many API tokens", http.StatusConflict}
	ProblemExists            = ProblemType{"exists", "Exists already", http.StatusConflict}
	ProblemInvalidOrder      = ProblemType{"invalid-order", "Invalid order", http.StatusUnprocessableEntity}
	ProblemOrderMismatch     = ProblemType{"order-mismatch", "Order ID used with other contents", http.StatusConflict}
	ProblemKeyFormat         = ProblemType{"key-format", "Not a license key", http.StatusBadRequest}
	ProblemUnknownKey        = ProblemType{"unknown-key", "Unknown license key", http.StatusNotFound}
	ProblemKeyRegistered     = ProblemType{"key-registered", "Key registered to another account", http.StatusConflict}
	ProblemNotRegistered     = ProblemType{"not-registered", "Subscription not registered", http.StatusConflict}
	ProblemQuota             = ProblemType{"quota", "Not enough free seats", http.StatusConflict}
	ProblemReseller          = ProblemType{"reseller", "Sold through a reseller", http.StatusConflict}
	ProblemExpired           = ProblemType{"expired", "Subscription expired", http.StatusConflict}
	ProblemPermanent         = ProblemType{"permanent-license", "Permanent license", http.StatusConflict}
	ProblemModelFixed        = ProblemType{"model-fixed", "Licensing model cannot change", http.StatusConflict}
	// ProblemInvalidCSR: the uploaded certificate signing request is
	// malformed or not acceptable (MISC-1); the detail says why.
	ProblemInvalidCSR = ProblemType{"invalid-csr", "Invalid certificate signing request", http.StatusBadRequest}
	// ProblemNoEntitlement: the account has no active subscription that
	// comes with what was asked (MDM certificates, a product's downloads).
	// 403: the request is well-formed and the caller may act in the
	// account, but the account is not entitled; buying or renewing, not
	// retrying, changes the answer.
	ProblemNoEntitlement = ProblemType{"no-entitlement", "No entitling subscription", http.StatusForbidden}
	// ProblemReleaseImmutable: a published version cannot change or come
	// back once withdrawn (MISC-2).
	ProblemReleaseImmutable = ProblemType{"release-immutable", "Published version cannot change", http.StatusConflict}
	// ProblemTicketStatus: the action is not possible in the ticket's
	// status (TKT-2); the detail names the status.
	ProblemTicketStatus = ProblemType{"ticket-status", "Not possible in the ticket's status", http.StatusConflict}
	// ProblemWatcherNotAdmin: a ticket's watcher must be an unblocked
	// admin of its business account (TKT-3).
	ProblemWatcherNotAdmin = ProblemType{"watcher-not-admin", "Watcher must be an account admin", http.StatusUnprocessableEntity}
	// ProblemAttachmentTooLarge: a file attached to a reply is larger
	// than 5 MiB (TKT-2).
	ProblemAttachmentTooLarge = ProblemType{"attachment-too-large", "Attachment too large", http.StatusRequestEntityTooLarge}
	// ProblemAttachmentType: a file's type is not accepted, or its
	// declared type disagrees with its content (TKT-2).
	ProblemAttachmentType = ProblemType{"attachment-type", "Attachment type not accepted", http.StatusUnsupportedMediaType}
	// ProblemAttachmentRejected: a reply has too many files, or an empty
	// one (TKT-2).
	ProblemAttachmentRejected = ProblemType{"attachment-rejected", "Attachment rejected", http.StatusBadRequest}

	// The installations' problems (issue 5).
	ProblemDeactivated     = ProblemType{"deactivated", "Installation deactivated", http.StatusGone}
	ProblemKeyInUse        = ProblemType{"key-in-use", "Key activates another installation", http.StatusConflict}
	ProblemKeyChanges      = ProblemType{"key-changes-used-up", "Key's changes of installation used up", http.StatusConflict}
	ProblemOverLimit       = ProblemType{"over-limit", "License limit reached", http.StatusConflict}
	ProblemTrialUsed       = ProblemType{"trial-used", "Trial used", http.StatusConflict}
	ProblemNoTrial         = ProblemType{"no-trial", "No trial", http.StatusConflict}
	ProblemModelMismatch   = ProblemType{"model-mismatch", "Key for another licensing model", http.StatusConflict}
	ProblemOfflineDisabled = ProblemType{"offline-disabled", "Offline activation not enabled", http.StatusForbidden}
	ProblemOfflineFile     = ProblemType{"offline-file", "Not a valid offline file", http.StatusBadRequest}
	ProblemOfflineRejected = ProblemType{"offline-file-rejected", "Offline file rejected", http.StatusUnprocessableEntity}
	ProblemReplayed        = ProblemType{"replayed", "Request file already used", http.StatusConflict}

	// ProblemAuditQuery: a query parameter of the audit log's routes
	// (checkpoint size, position, filter) is not valid (rule X-2).
	ProblemAuditQuery = ProblemType{"invalid-audit-query", "Invalid audit query", http.StatusBadRequest}
	// ProblemTooManyWebhooks: the account has as many webhook endpoints
	// as it may keep (issue 22); delete one first.
	ProblemTooManyWebhooks = ProblemType{"too-many-webhooks", "Too many webhook endpoints", http.StatusConflict}
)

// ProblemTypes lists every problem type, for documentation and tests.
func ProblemTypes() []ProblemType {
	return []ProblemType{
		ProblemInvalidRequest, ProblemMalformedJSON, ProblemUnauthorized, ProblemForbidden, ProblemNotFound,
		ProblemMethodNotAllowed, ProblemConflict, ProblemDuplicateEventID, ProblemClockIsReal, ProblemClockStopped,
		ProblemPayloadTooLarge, ProblemUnsupportedMediaType, ProblemInternal, ProblemUnavailable, ProblemTimeout,
		ProblemCSRF, ProblemTooManyRequests, ProblemBadCredentials, ProblemEmailTaken, ProblemWeakPassword,
		ProblemTermsNotAccepted, ProblemInvalidLink, ProblemLinkUsed, ProblemLinkExpired, ProblemInvitationAddress, ProblemLastAdmin, ProblemLastOwner,
		ProblemAlreadyMember, ProblemNotMember, ProblemNoChange, ProblemTooManyTokens, ProblemExists,
		ProblemInvalidOrder, ProblemOrderMismatch, ProblemKeyFormat, ProblemUnknownKey, ProblemKeyRegistered,
		ProblemNotRegistered, ProblemQuota, ProblemReseller, ProblemExpired, ProblemPermanent, ProblemModelFixed,
		ProblemInvalidCSR, ProblemNoEntitlement, ProblemReleaseImmutable,
		ProblemTicketStatus, ProblemWatcherNotAdmin, ProblemAttachmentTooLarge, ProblemAttachmentType, ProblemAttachmentRejected,
		ProblemDeactivated, ProblemKeyInUse, ProblemKeyChanges, ProblemOverLimit, ProblemTrialUsed, ProblemNoTrial,
		ProblemModelMismatch, ProblemOfflineDisabled, ProblemOfflineFile, ProblemOfflineRejected, ProblemReplayed,
		ProblemAuditQuery, ProblemReadModelStopped, ProblemTooManyWebhooks,
	}
}

// URI returns the type's stable URI.
func (t ProblemType) URI() string { return ProblemTypeBase + t.slug }

// Title returns the type's human-readable summary.
func (t ProblemType) Title() string { return t.title }

// Status returns the HTTP status the type is answered with.
func (t ProblemType) Status() int { return t.status }

// New returns a problem of type t whose detail is the formatted message.
// The detail is shown to the client: it explains this occurrence in words
// a person can act on, and holds nothing internal.
func (t ProblemType) New(format string, args ...any) *Problem {
	return &Problem{Type: t.URI(), Title: t.title, Status: t.status, Detail: fmt.Sprintf(format, args...)}
}

// Problem is an RFC 9457 problem details object. It is also an error, so
// that a handler or helper can return a problem it has already decided on.
type Problem struct {
	// Type is the problem type's URI (see ProblemType).
	Type string `json:"type"`
	// Title summarises the problem type.
	Title string `json:"title"`
	// Status repeats the response's HTTP status.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Instance is the request's path.
	Instance string `json:"instance,omitempty"`
	// InvalidParams names the fields of the request that are wrong, and why.
	InvalidParams []InvalidParam `json:"invalid_params,omitempty"`
	// RequestID is the request's X-Request-ID, to quote to support and to
	// find the request's log lines.
	RequestID string `json:"request_id,omitempty"`
}

// InvalidParam is one wrong field of a request.
type InvalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Field returns p naming field as the wrong one, with the detail as reason.
func (p *Problem) Field(name string) *Problem {
	p.InvalidParams = append(p.InvalidParams, InvalidParam{Name: name, Reason: p.Detail})
	return p
}

// Error renders the problem as "title: detail".
func (p *Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// genericInternalDetail is all a client learns of an unexpected error; the
// error itself goes to the log under the request ID.
const genericInternalDetail = "the server failed to handle the request; quote the request ID when reporting it"

// ProblemFor maps an error to the problem the client is answered with. It
// is the one place where errors become HTTP statuses: domain errors get a
// case here as they are written. The second result is false for errors
// the mapping does not know, whose detail is generic: the real error is for
// the log only, never for the client.
func ProblemFor(err error) (*Problem, bool) {
	var (
		p       *Problem
		tooMany *access.TooManyAttemptsError
	)
	if several := (*invalid.Several)(nil); errors.As(err, &several) {
		return severalProblem(several.Errs)
	}
	switch {
	case errors.As(err, &p):
		cp := *p
		return &cp, true
	case domainProblem(err) != nil:
		return domainProblem(err), true
	case errors.As(err, &tooMany):
		return ProblemTooManyRequests.New("%v", tooMany), true
	case errors.Is(err, event.ErrConflict):
		return ProblemConflict.New("%v", err), true
	case errors.Is(err, event.ErrDuplicateID):
		return ProblemDuplicateEventID.New("%v", err), true
	case errors.Is(err, eventstore.ErrInvalid):
		return ProblemInvalidRequest.New("%v", err), true
	case errors.Is(err, eventstore.ErrClosed):
		return ProblemUnavailable.New("the server is shutting down; retry shortly"), true
	case errors.Is(err, context.DeadlineExceeded):
		return ProblemTimeout.New("the request did not complete in time; it may still take effect, so retry with the same IDs"), true
	case errors.Is(err, context.Canceled):
		// The client went away (or the server is stopping): nobody reads
		// this answer, but it must not count as a server failure.
		return ProblemUnavailable.New("the request was cancelled before it completed"), true
	case errors.Is(err, eventstore.ErrUnavailable), sqldb.IsUnavailable(err):
		// Rule X-8: the database is restarting or failing over to its
		// standby and did not come back in time. Not a server bug: the
		// client retries, with the same idempotency key if it sent one.
		return ProblemDatabaseUnavailable.New("the database is unavailable (restarting or failing over); retry shortly with the same request"), true
	}
	return ProblemInternal.New(genericInternalDetail), false
}

// severalProblem is the one problem of several errors (invalid.Join): a
// request's problems reported at once. It has the first error's type and
// status, every detail, and every field any of them names. An error the
// mapping does not know makes the whole a generic 500.
func severalProblem(errs []error) (*Problem, bool) {
	var (
		out     *Problem
		details []string
	)
	for _, err := range errs {
		p, known := ProblemFor(err)
		if !known {
			return p, false
		}
		if out == nil {
			out = p
		} else {
			out.InvalidParams = append(out.InvalidParams, p.InvalidParams...)
		}
		details = append(details, p.Detail)
	}
	out.Detail = strings.Join(details, "; ")
	return out, true
}

// problemContentType is the media type of RFC 9457 problem documents.
const problemContentType = "application/problem+json"

// WriteProblem sends p, filling in the request's path and ID.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	cp := *p
	cp.Instance = r.URL.Path
	cp.RequestID = RequestID(r.Context())
	w.Header().Set("Content-Type", problemContentType)
	w.Header().Set("Cache-Control", "no-store")
	if cp.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	if cp.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="seatledger"`) // RFC 9110: every 401 names a scheme
	}
	w.WriteHeader(cp.Status)
	_ = json.NewEncoder(w).Encode(cp) // the status is sent; a failed write has nowhere to go
}

// WriteError answers the request with the problem err maps to. An error
// the mapping does not know is logged in full with the request ID, and
// the client only gets a generic 500.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p, known := ProblemFor(err)
	var tooMany *access.TooManyAttemptsError
	if errors.As(err, &tooMany) {
		w.Header().Set("Retry-After", strconv.Itoa(tooMany.Seconds()))
	}
	if !known {
		log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "error", err)
	}
	WriteProblem(w, r, p)
}
