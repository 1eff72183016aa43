package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/ticket"
	"seatledger/infra/attachments"
	"seatledger/queries"
)

// MaxReplyBytes bounds a reply's request body: ten files of 5 MiB and the
// text, with room for the multipart framing.
const MaxReplyBytes = 60 << 20

// maxFormField bounds a reply's text fields in a multipart body.
const maxFormField = 64 << 10

type channelRequest struct {
	Kind string `json:"kind"`
	// CallAt is the booked time of a call (kind "call" only).
	CallAt *time.Time `json:"call_at,omitempty"`
}

type openTicketRequest struct {
	ProductID   string         `json:"product_id"`
	Category    string         `json:"category"`
	Subject     string         `json:"subject,omitempty"`
	Description string         `json:"description"`
	Channel     channelRequest `json:"channel"`
}

// openTicket opens a ticket in an account for the signed-in member (TKT-1).
func (s *Server) openTicket(w http.ResponseWriter, r *http.Request) {
	var req openTicketRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Tickets.OpenTicket(r.Context(), meta(r), commands.OpenTicket{AccountID: chi.URLParam(r, "accountID"),
		ProductID: req.ProductID, Category: req.Category, Subject: req.Subject, Description: req.Description,
		Channel: req.Channel.Kind, CallAt: req.Channel.CallAt})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/tickets/"+res.TicketID)
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"ticket_id": res.TicketID})
}

// listTickets is "My Tickets" of an account (TKT-4): a member's own
// tickets; for the account's admins and the back office all of the
// account's (TKT-3), or with ?scope=mine their own. ?status= is a status,
// current or closed; ?limit= and ?after= page.
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	q := r.URL.Query()
	page, err := s.reads.Tickets(r.Context(), v, queries.TicketsQuery{AccountID: chi.URLParam(r, "accountID"), Scope: q.Get("scope"),
		Status: q.Get("status"), Limit: q.Get("limit"), After: q.Get("after")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// ticketDetails is one ticket with its replies, attachments' metadata,
// watchers and survey, for those who may view it (TKT-3, X-5).
func (s *Server) ticketDetails(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	d, err := s.reads.TicketDetails(r.Context(), v, chi.URLParam(r, "ticketID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

type replyRequest struct {
	Body string `json:"body"`
	// Agent signs a support reply (back office only).
	Agent string `json:"agent,omitempty"`
}

// replyToTicket adds a reply (TKT-2): a person replies as the customer,
// the back office as support. The body is multipart/form-data with a
// "body" field, an optional "agent" field (back office) and up to ten
// files named "attachments"; a reply without files may be sent as JSON
// too. The caller is authorized before the body is read; each file is
// checked and stored as it arrives, so that at most one file (5 MiB) is
// held in memory, and the files are stored before the reply's event that
// references them. When the reply fails, its files are removed again.
func (s *Server) replyToTicket(w http.ResponseWriter, r *http.Request) {
	ctx, h := r.Context(), s.cfg.People.Commands
	t, err := h.Tickets.AuthorizeTicket(ctx, principalOf(ctx).actor, chi.URLParam(r, "ticketID"), ticket.ActionReply)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req replyRequest
	upload := s.cfg.People.Attachments.Upload(t.ID())
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		if req, err = s.readReplyForm(w, r, upload); err != nil {
			s.discard(r, upload)
			s.fail(w, r, err)
			return
		}
	case mt == "application/json":
		if !s.decode(w, r, &req) {
			return
		}
	default:
		WriteProblem(w, r, ProblemUnsupportedMediaType.New("send the reply as multipart/form-data (field body, files attachments) or, without files, as application/json"))
		return
	}
	res, err := h.Tickets.ReplyToTicket(ctx, meta(r), t.ID(), commands.ReplyToTicket{Body: req.Body, Attachments: upload.Files(), Agent: req.Agent})
	if err != nil {
		s.discard(r, upload)
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"ticket_id": t.ID(), "reply_id": res.ReplyID, "attachments": upload.Files()})
}

// readReplyForm reads a multipart reply, at most MaxReplyBytes: its text
// fields, and its files, which upload checks and stores one by one.
func (s *Server) readReplyForm(w http.ResponseWriter, r *http.Request, upload *attachments.Upload) (replyRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxReplyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return replyRequest{}, ProblemInvalidRequest.New("the multipart body cannot be read: %v", err).Field("body")
	}
	var req replyRequest
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return req, nil
		}
		if err != nil {
			return req, multipartProblem(err)
		}
		switch part.FormName() {
		case "body", "agent":
			b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return req, multipartProblem(err)
			}
			if len(b) > maxFormField {
				return req, ProblemInvalidRequest.New("field %s is longer than %d bytes", part.FormName(), maxFormField).Field(part.FormName())
			}
			if part.FormName() == "body" {
				req.Body = string(b)
			} else {
				req.Agent = string(b)
			}
		case "attachments":
			err := upload.Add(r.Context(), part.FileName(), part.Header.Get("Content-Type"), part)
			if errors.Is(err, attachments.ErrRead) {
				return req, multipartProblem(err)
			}
			if err != nil {
				return req, err
			}
		default:
			return req, ProblemInvalidRequest.New("unknown field %q: send body, agent and attachments", part.FormName()).Field(part.FormName())
		}
	}
}

// discard removes the files of a reply that failed; a failure is only
// logged (see attachments.Upload.Discard).
func (s *Server) discard(r *http.Request, upload *attachments.Upload) {
	if err := upload.Discard(r.Context()); err != nil {
		s.cfg.Logger.WarnContext(r.Context(), "removing the files of a failed reply", "request_id", RequestID(r.Context()), "error", err)
	}
}

// multipartProblem explains an error reading a multipart body.
func multipartProblem(err error) *Problem {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return ProblemPayloadTooLarge.New("the body is larger than %d bytes", tooLarge.Limit)
	}
	return ProblemInvalidRequest.New("the multipart body cannot be read: %v", err).Field("body")
}

// changeTicketStatus moves a ticket as support works on it (TKT-2): the
// back office's.
func (s *Server) changeTicketStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
		Agent  string `json:"agent,omitempty"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Tickets.ChangeTicketStatus(r.Context(), meta(r), chi.URLParam(r, "ticketID"), req.Status, req.Agent)
	s.answer(w, r, res, err)
}

// closeTicket closes a current ticket (TKT-2).
func (s *Server) closeTicket(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Tickets.CloseTicket(r.Context(), meta(r), chi.URLParam(r, "ticketID"))
	s.answer(w, r, res, err)
}

// reopenTicket reopens a resolved ticket (TKT-2).
func (s *Server) reopenTicket(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Tickets.ReopenTicket(r.Context(), meta(r), chi.URLParam(r, "ticketID"))
	s.answer(w, r, res, err)
}

// submitSurvey rates a resolved ticket, once (TKT-2).
func (s *Server) submitSurvey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Rating   int    `json:"rating"`
		Feedback string `json:"feedback,omitempty"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Tickets.SubmitSurvey(r.Context(), meta(r), chi.URLParam(r, "ticketID"), req.Rating, req.Feedback)
	s.answer(w, r, res, err)
}

// addWatcher makes an admin of the account a watcher (TKT-3): the owner's.
func (s *Server) addWatcher(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Tickets.AddWatcher(r.Context(), meta(r), chi.URLParam(r, "ticketID"), chi.URLParam(r, "personID"))
	s.answer(w, r, res, err)
}

// removeWatcher removes a watcher (TKT-3): the owner's.
func (s *Server) removeWatcher(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Tickets.RemoveWatcher(r.Context(), meta(r), chi.URLParam(r, "ticketID"), chi.URLParam(r, "personID"))
	s.answer(w, r, res, err)
}

// downloadAttachment serves a file of one of the ticket's replies to
// those who may view the ticket. Only files a reply references are
// served. The answer is a download that a browser neither renders in the
// portal's origin nor sniffs: attachment disposition, nosniff, a
// sandboxing CSP, and no caching.
func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.cfg.People.Commands.Tickets.AuthorizeTicket(ctx, principalOf(ctx).actor, chi.URLParam(r, "ticketID"), ticket.ActionView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "attachmentID")
	if _, ok := t.Attachment(id); !ok {
		WriteProblem(w, r, ProblemNotFound.New("ticket %s has no attachment %s", t.ID(), id))
		return
	}
	if s.cfg.People.Attachments == nil {
		WriteProblem(w, r, ProblemUnavailable.New("attachments cannot be read on this server"))
		return
	}
	a, data, err := s.cfg.People.Attachments.Get(ctx, t.ID(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	contentType := a.ContentType
	if contentType == "text/plain" {
		contentType += "; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Disposition", contentDisposition(a.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "private, no-store")
	if sum, err := hex.DecodeString(a.SHA256); err == nil {
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":") // RFC 9530
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data) // the status is sent; a failed write has nowhere to go
}

// contentDisposition makes an attachment's Content-Disposition: an ASCII
// fallback name for old clients, and the exact name as RFC 8187's
// filename* (UTF-8, percent-encoded).
func contentDisposition(name string) string {
	var ascii, encoded strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r > 0x7e || r == '"' || r == '\\':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			encoded.WriteByte(b)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", b)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + encoded.String()
}

// isAttrChar reports whether b may stand unencoded in an RFC 8187 value.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
