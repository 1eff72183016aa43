package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/ticket"
	"seatledger/infra/attachments"
	"seatledger/infra/clock"
	"seatledger/infra/commandstest"
	"seatledger/infra/eventstore"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/projection"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/projections"
)

// ticketsHarness mounts the ticket handlers as they are meant to be
// mounted, behind a stand-in for authentication that takes the actor
// from X-Test-Actor ("person:bob", "back_office:x").
type ticketsHarness struct {
	t      *testing.T
	router http.Handler
	h      *commands.Set
	store  eventstore.Store
	rt     *projection.Runtime
	db     *sqldb.DB
	// badInput marks the requests as invalid on purpose (see invalid).
	badInput bool
}

// invalid returns x sending its requests marked invalid on purpose: their
// responses are validated against the OpenAPI document, they are not.
func (x *ticketsHarness) invalid() *ticketsHarness {
	y := *x
	y.badInput = true
	return &y
}

func newTicketsHarness(t *testing.T) *ticketsHarness {
	t.Helper()
	ctx := context.Background()
	target := sqldbtest.SQLite(t)
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := event.NewRegistry()
	for _, register := range []func(*event.Registry){account.Register, person.Register, product.Register, ticket.Register} {
		register(reg)
	}
	h := commandstest.New(t, commands.Config{Store: store, Registry: reg, Clock: clk})
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: []projections.Projection{projections.Tickets{}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newTestServer(t, Config{People: &PeopleConfig{Commands: h, Reads: db, Sessions: &session.Store{}, TermsVersion: "test",
		Attachments: attachments.New(db, clk)}})
	r := supportRouter(s)
	return &ticketsHarness{t: t, router: r, h: h, store: store, rt: rt, db: db}
}

func (x *ticketsHarness) do(actor, method, path, contentType string, body io.Reader) *httptest.ResponseRecorder {
	x.t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("X-Test-Actor", actor)
	if x.badInput {
		openapitest.MarkInvalid(req.Header, "bad input on purpose")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	validated(x.t, x.router).ServeHTTP(w, req)
	return w
}

func (x *ticketsHarness) json(actor, method, path string, v any) *httptest.ResponseRecorder {
	x.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		x.t.Fatal(err)
	}
	return x.do(actor, method, path, "application/json", bytes.NewReader(b))
}

func (x *ticketsHarness) sync() {
	x.t.Helper()
	if err := x.rt.Rebuild(context.Background(), "tickets", nil); err != nil {
		x.t.Fatal(err)
	}
}

type file struct{ name, contentType, data string }

// reply posts a multipart reply.
func (x *ticketsHarness) reply(actor, id, body string, files ...file) *httptest.ResponseRecorder {
	x.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("body", body); err != nil {
		x.t.Fatal(err)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachments"; filename=%q`, f.name))
		h.Set("Content-Type", f.contentType)
		pw, err := mw.CreatePart(h)
		if err != nil {
			x.t.Fatal(err)
		}
		io.WriteString(pw, f.data)
	}
	mw.Close()
	return x.do(actor, http.MethodPost, "/v1/tickets/"+id+"/replies", mw.FormDataContentType(), &b)
}

func decodeBody[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return v
}

const pngBytes = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"

// Rules TKT-1..4 and X-5 over HTTP: a member opens a ticket and replies
// with files (multipart); forged, oversized and too many files are
// refused with their own problem types; the files are served as
// downloads with safe headers to those who may view the ticket only;
// support moves the status; the member rates the ticket; "My Tickets"
// lists it.
func TestTickets_handlers_TKT1_TKT2_TKT3_TKT4(t *testing.T) {
	t.Parallel()
	x := newTicketsHarness(t)
	ctx := context.Background()
	backOffice := commands.Meta{Actor: event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}}
	if _, err := x.h.Orders.DefineProduct(ctx, backOffice, product.Defined{ProductID: "ras", Name: "RAS", Model: product.ConcurrentUsers, MajorVersion: 19}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.h.Accounts.CreateBusinessAccount(ctx, commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: "ada"}},
		commands.CreateBusinessAccount{AccountID: "acc-1", Company: account.Company{Name: "Acme", Country: "DE", ZIP: "1", Phone: "1"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"bob", "eve"} {
		if _, err := x.store.Append(ctx, account.StreamID("acc-1"), event.Any(), event.Proposed{Type: account.TypeMemberJoined, SchemaVersion: 1,
			Data: []byte(`{"person_id":"` + p + `"}`), Metadata: event.Metadata{Actor: event.Actor{Kind: event.ActorProcess, ID: "test"}}}); err != nil {
			t.Fatal(err)
		}
	}

	w := x.json("person:bob", http.MethodPost, "/v1/accounts/acc-1/tickets", map[string]any{"product_id": "ras", "category": "activation",
		"description": "The farm does not activate.", "channel": map[string]any{"kind": "email"}})
	if w.Code != http.StatusCreated {
		t.Fatalf("open: %d %s", w.Code, w.Body)
	}
	id := decodeBody[struct {
		TicketID string `json:"ticket_id"`
	}](t, w).TicketID
	if !ticket.ValidID(id) || w.Header().Get("Location") != "/v1/tickets/"+id {
		t.Fatalf("ticket %q, Location %q", id, w.Header().Get("Location"))
	}
	if w := x.invalid().json("person:bob", http.MethodPost, "/v1/accounts/acc-1/tickets", map[string]any{"product_id": "ras", "category": "sales",
		"description": "x", "channel": map[string]any{"kind": "email"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "licensing, installation") {
		t.Errorf("unknown category: %d %s", w.Code, w.Body)
	}
	// Every wrong field is named, so that a form shows each next to its input.
	w = x.invalid().json("person:bob", http.MethodPost, "/v1/accounts/acc-1/tickets", map[string]any{"product_id": "ras", "category": "sales",
		"description": " ", "channel": map[string]any{"kind": "call"}})
	if p := problemOf(t, w); w.Code != http.StatusBadRequest || len(p.InvalidParams) != 3 ||
		p.InvalidParams[0].Name != "category" || p.InvalidParams[1].Name != "description" || p.InvalidParams[2].Name != "channel.call_at" ||
		!strings.Contains(p.InvalidParams[2].Reason, "needs call_at") {
		t.Errorf("several wrong fields: %d %+v", w.Code, p)
	}

	w = x.reply("person:bob", strings.ToLower(id), "Here are the log and a screenshot.",
		file{"farm.log", "text/plain", "2026-03-01 key refused\n"}, file{"Bildschirm – März.png", "image/png", pngBytes})
	if w.Code != http.StatusCreated {
		t.Fatalf("reply: %d %s", w.Code, w.Body)
	}
	replied := decodeBody[struct {
		Attachments []ticket.Attachment `json:"attachments"`
	}](t, w)
	if len(replied.Attachments) != 2 || replied.Attachments[1].ContentType != "image/png" {
		t.Fatalf("reply's attachments %+v", replied.Attachments)
	}
	for _, c := range []struct {
		name   string
		files  []file
		status int
		typ    ProblemType
		words  string
	}{
		{"a page posing as a picture", []file{{"cat.png", "image/png", "<html><script>alert(1)</script></html>"}},
			http.StatusUnsupportedMediaType, ProblemAttachmentType, "declared as image/png but its content is text/html"},
		{"an executable", []file{{"setup.exe", "application/x-msdownload", "MZ\x90\x00\x03\x00\x00\x00"}},
			http.StatusUnsupportedMediaType, ProblemAttachmentType, "accepted are"},
		{"a file over 5 MiB", []file{{"huge.log", "text/plain", strings.Repeat("a", attachments.MaxBytes+1)}},
			http.StatusRequestEntityTooLarge, ProblemAttachmentTooLarge, "5 MiB"},
		{"eleven files", func() []file {
			fs := make([]file, 11)
			for i := range fs {
				fs[i] = file{fmt.Sprintf("f%d.txt", i), "text/plain", "x"}
			}
			return fs
		}(), http.StatusBadRequest, ProblemAttachmentRejected, "at most 10 files"},
	} {
		w := x.invalid().reply("person:bob", id, "more", c.files...)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.typ.URI()) || !strings.Contains(w.Body.String(), c.words) {
			t.Errorf("%s: %d %s", c.name, w.Code, w.Body)
		}
	}
	// Files are stored as they arrive (one in memory at a time); a reply
	// refused after some were stored removes them again.
	var kept int
	if err := x.db.QueryRow(`SELECT COUNT(*) FROM ticket_attachments`).Scan(&kept); err != nil || kept != len(replied.Attachments) {
		t.Errorf("%d files stored after the refused replies (%v), want the %d of the accepted one", kept, err, len(replied.Attachments))
	}

	png := replied.Attachments[1]
	w = x.do("person:bob", http.MethodGet, "/v1/tickets/"+id+"/attachments/"+png.AttachmentID, "", nil)
	if w.Code != http.StatusOK || w.Body.String() != pngBytes {
		t.Fatalf("download: %d %q", w.Code, w.Body)
	}
	for header, want := range map[string]string{
		"Content-Type":            "image/png",
		"Content-Disposition":     `attachment; filename="Bildschirm _ M_rz.png"; filename*=UTF-8''Bildschirm%20%E2%80%93%20M%C3%A4rz.png`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "sandbox",
		"Cache-Control":           "private, no-store",
	} {
		if got := w.Header().Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	stranger := x.do("person:zed", http.MethodGet, "/v1/tickets/"+id+"/attachments/"+png.AttachmentID, "", nil)
	member := x.do("person:eve", http.MethodGet, "/v1/tickets/"+id+"/attachments/"+png.AttachmentID, "", nil)
	missing := x.do("person:zed", http.MethodGet, "/v1/tickets/T-0000-0000/attachments/"+png.AttachmentID, "", nil)
	for name, w := range map[string]*httptest.ResponseRecorder{"stranger": stranger, "another member": member, "missing ticket": missing} {
		if w.Code != http.StatusForbidden || decodeBody[Problem](t, w).Detail != decodeBody[Problem](t, stranger).Detail {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	if w := x.do("person:ada", http.MethodGet, "/v1/tickets/"+id+"/attachments/"+png.AttachmentID, "", nil); w.Code != http.StatusOK {
		t.Errorf("an admin downloads: %d %s", w.Code, w.Body)
	}
	if w := x.do("person:bob", http.MethodGet, "/v1/tickets/"+id+"/attachments/unreferenced", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("an attachment no reply references: %d %s", w.Code, w.Body)
	}

	if w := x.json("person:bob", http.MethodPut, "/v1/tickets/"+id+"/status", map[string]any{"status": "resolved"}); w.Code != http.StatusForbidden {
		t.Errorf("a member sets the status: %d %s", w.Code, w.Body)
	}
	if w := x.json("back_office:admin-token", http.MethodPost, "/v1/tickets/"+id+"/replies", map[string]any{"body": "Fixed.", "agent": "anna"}); w.Code != http.StatusCreated {
		t.Errorf("support replies: %d %s", w.Code, w.Body)
	}
	if w := x.json("person:bob", http.MethodPost, "/v1/tickets/"+id+"/survey", map[string]any{"rating": 5}); w.Code != http.StatusConflict ||
		!strings.Contains(w.Body.String(), ProblemTicketStatus.URI()) || !strings.Contains(w.Body.String(), "the ticket is open") {
		t.Errorf("survey of an open ticket: %d %s", w.Code, w.Body)
	}
	if w := x.json("back_office:admin-token", http.MethodPut, "/v1/tickets/"+id+"/status", map[string]any{"status": "resolved", "agent": "anna"}); w.Code != http.StatusOK {
		t.Fatalf("support resolves: %d %s", w.Code, w.Body)
	}
	if w := x.json("person:bob", http.MethodPost, "/v1/tickets/"+id+"/survey", map[string]any{"rating": 5, "feedback": "Fast."}); w.Code != http.StatusOK {
		t.Errorf("survey: %d %s", w.Code, w.Body)
	}
	if w := x.do("person:bob", http.MethodPut, "/v1/tickets/"+id+"/watchers/eve", "", nil); w.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(w.Body.String(), ProblemWatcherNotAdmin.URI()) {
		t.Errorf("a member as watcher: %d %s", w.Code, w.Body)
	}
	if w := x.do("person:bob", http.MethodPut, "/v1/tickets/"+id+"/watchers/ada", "", nil); w.Code != http.StatusOK {
		t.Errorf("an admin as watcher: %d %s", w.Code, w.Body)
	}

	x.sync()
	list := decodeBody[struct {
		Tickets []struct {
			TicketID string `json:"ticket_id"`
			Status   string `json:"status"`
		} `json:"tickets"`
	}](t, x.do("person:bob", http.MethodGet, "/v1/accounts/acc-1/tickets?status=closed", "", nil))
	if len(list.Tickets) != 1 || list.Tickets[0].TicketID != id || list.Tickets[0].Status != "resolved" {
		t.Errorf("bob's closed tickets: %+v", list)
	}
	if w := x.do("person:eve", http.MethodGet, "/v1/accounts/acc-1/tickets?scope=all", "", nil); w.Code != http.StatusForbidden {
		t.Errorf("a member asks for all tickets: %d %s", w.Code, w.Body)
	}
	if w := x.invalid().do("person:eve", http.MethodGet, "/v1/accounts/acc-1/tickets?status=whatever", "", nil); w.Code != http.StatusBadRequest {
		t.Errorf("an unknown status filter: %d %s", w.Code, w.Body)
	}
	d := decodeBody[struct {
		Status  string `json:"status"`
		Replies []struct {
			Attachments []ticket.Attachment `json:"attachments"`
		} `json:"replies"`
		Watchers []struct {
			PersonID string `json:"person_id"`
		} `json:"watchers"`
		Survey *struct {
			Rating int `json:"rating"`
		} `json:"survey"`
	}](t, x.do("person:ada", http.MethodGet, "/v1/tickets/"+id, "", nil))
	if d.Status != "resolved" || len(d.Replies) != 2 || len(d.Replies[0].Attachments) != 2 || len(d.Watchers) != 1 || d.Survey == nil || d.Survey.Rating != 5 {
		t.Errorf("details %+v", d)
	}
	if w := x.do("person:eve", http.MethodGet, "/v1/tickets/"+id, "", nil); w.Code != http.StatusForbidden {
		t.Errorf("another member reads the ticket: %d %s", w.Code, w.Body)
	}
}

// supportRouter serves the support routes as mounted in the server, with
// the caller named by the X-Test-Actor header ("person:ada",
// "back_office:agent-1") instead of a session or token.
func supportRouter(s *Server) chi.Router {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if kind, id, ok := strings.Cut(r.Header.Get("X-Test-Actor"), ":"); ok {
				k, _ := event.ParseActorKind(kind)
				r = r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{actor: event.Actor{Kind: k, ID: id}}))
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Route("/v1", s.supportRoutes)
	return r
}
