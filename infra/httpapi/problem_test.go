package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/person"
	"seatledger/infra/eventstore"
)

func TestProblemFor_maps_each_known_error_to_its_status_and_type(t *testing.T) {
	t.Parallel()
	conflict := &event.ConflictError{StreamID: "subscription-S-1", Expected: event.Exact(3), Actual: 4}
	for _, tc := range []struct {
		name   string
		err    error
		want   ProblemType
		detail string
	}{
		{"conflict", fmt.Errorf("add seats: %w", conflict), ProblemConflict, `expected version 3, actual 4`},
		{"duplicate event ID", fmt.Errorf("append: %w", event.ErrDuplicateID), ProblemDuplicateEventID, "already used"},
		{"invalid append", fmt.Errorf("%w: stream ID is empty", eventstore.ErrInvalid), ProblemInvalidRequest, "stream ID is empty"},
		{"store closed", eventstore.ErrClosed, ProblemUnavailable, "shutting down"},
		{"deadline", fmt.Errorf("load: %w", context.DeadlineExceeded), ProblemTimeout, "did not complete in time"},
		{"cancelled", context.Canceled, ProblemUnavailable, "cancelled"},
		{"problem passes through", fmt.Errorf("decode: %w", ProblemPayloadTooLarge.New("too big")), ProblemPayloadTooLarge, "too big"},
		// Rule X-8: a database restarting or failing over is a 503, never a 500.
		{"store unavailable", fmt.Errorf("append: %w: %w", eventstore.ErrUnavailable, io.ErrUnexpectedEOF), ProblemDatabaseUnavailable, "failing over"},
		{"read model connection lost", fmt.Errorf("list farms: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}),
			ProblemDatabaseUnavailable, "retry shortly"},
		{"standby is read-only", fmt.Errorf("save session: %w", &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}),
			ProblemDatabaseUnavailable, "retry shortly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, known := ProblemFor(tc.err)
			if !known {
				t.Fatal("mapped as unknown")
			}
			if p.Type != tc.want.URI() || p.Status != tc.want.Status() || p.Title != tc.want.Title() {
				t.Errorf("problem = %+v, want type %s status %d", p, tc.want.URI(), tc.want.Status())
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tc.detail)
			}
		})
	}
}

func TestProblemFor_hides_unknown_errors_behind_a_generic_500(t *testing.T) {
	t.Parallel()
	p, known := ProblemFor(errors.New("pq: password authentication failed for user ledger at 10.0.0.5"))
	if known || p.Status != http.StatusInternalServerError || p.Type != ProblemInternal.URI() {
		t.Fatalf("ProblemFor = %+v, %t; want an unknown 500", p, known)
	}
	if strings.Contains(p.Detail, "password") || strings.Contains(p.Detail, "10.0.0.5") {
		t.Errorf("detail leaks the error: %q", p.Detail)
	}
}

func TestWriteError_logs_the_unknown_cause_under_the_request_ID(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Config{})
	s.router.Get("/fail", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, s.cfg.Logger, errors.New("disk on fire"))
	})
	w := do(t, s, http.MethodGet, "/fail", nil, RequestIDHeader, "req-fire")
	p := problemOf(t, w)
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk on fire") || p.RequestID != "req-fire" || p.Instance != "/fail" {
		t.Fatalf("answer = %d %s", w.Code, w.Body)
	}
	found := false
	for _, l := range logs.lines(t) {
		if l["msg"] == "request failed" && l["error"] == "disk on fire" && l["request_id"] == "req-fire" {
			found = true
		}
	}
	if !found {
		t.Errorf("cause not logged with the request ID:\n%s", logs)
	}
}

func TestProblemTypes_have_unique_stable_URIs_listed_in_the_OpenAPI_document(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties struct {
						Type struct {
							Enum []string `json:"enum"`
						} `json:"type"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, u := range doc.Components.Schemas.Problem.Properties.Type.Enum {
		documented[u] = true
	}
	seen := map[string]bool{}
	for _, pt := range ProblemTypes() {
		u := pt.URI()
		if seen[u] {
			t.Errorf("type %s declared twice", u)
		}
		seen[u] = true
		if !strings.HasPrefix(u, ProblemTypeBase) || pt.Title() == "" || pt.Status() < 400 {
			t.Errorf("type %s: title %q status %d", u, pt.Title(), pt.Status())
		}
		if !documented[u] {
			t.Errorf("type %s is missing from openapi.json's Problem.type enum", u)
		}
	}
	for u := range documented {
		if !seen[u] {
			t.Errorf("openapi.json lists %s, which ProblemTypes does not", u)
		}
	}
}

// Rule X-8: a 503 tells the client when to retry.
func TestWriteProblem_503_carries_Retry_After_X8(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Config{})
	s.router.Get("/away", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, s.cfg.Logger, fmt.Errorf("read: %w", eventstore.ErrUnavailable))
	})
	w := do(t, s, http.MethodGet, "/away", nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After 1", w.Code, w.Header().Get("Retry-After"))
	}
}

// Issue 20: several problems reported at once (invalid.Join) are one
// problem of the first one's type, with every field any of them names.
func TestProblemFor_merges_several_problems_into_one(t *testing.T) {
	t.Parallel()
	_, badEmail := person.NormalizeEmail("")
	err := invalid.Join(badEmail, person.ErrTerms, fmt.Errorf("%w: at least 12 characters", person.ErrWeakPassword))
	p, known := ProblemFor(err)
	if !known || p.Status != http.StatusBadRequest || !strings.HasSuffix(p.Type, "/invalid-request") {
		t.Fatalf("%+v (known %v)", p, known)
	}
	var names []string
	for _, ip := range p.InvalidParams {
		names = append(names, ip.Name)
	}
	if got := strings.Join(names, " "); got != "email accept_terms password" {
		t.Fatalf("invalid_params name %q, want email accept_terms password", got)
	}
	if _, known := ProblemFor(invalid.Join(person.ErrTerms, errors.New("disk on fire"))); known {
		t.Fatal("an unknown error among several was mapped to a client's problem")
	}
}
