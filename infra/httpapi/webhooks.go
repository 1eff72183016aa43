package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
)

// webhookRoutes mounts an account's webhook endpoints (issue 22): the
// account's admins manage them; they and the back office read them.
func (s *Server) webhookRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireSignedIn)
		const hooks = "/accounts/{accountID}/webhooks"
		r.Get(hooks, s.webhooks)
		r.Post(hooks, s.createWebhook)
		r.Get(hooks+"/{webhookID}", s.webhook)
		r.Patch(hooks+"/{webhookID}", s.updateWebhook)
		r.Delete(hooks+"/{webhookID}", s.deleteWebhook)
		r.Post(hooks+"/{webhookID}/rotate-secret", s.rotateWebhookSecret)
		r.Post(hooks+"/{webhookID}/enable", s.setWebhookEnabled(true))
		r.Post(hooks+"/{webhookID}/disable", s.setWebhookEnabled(false))
		r.Get(hooks+"/{webhookID}/deliveries", s.webhookDeliveries)
		r.Post(hooks+"/{webhookID}/deliveries/{deliveryID}/resend", s.resendWebhookDelivery)
	})
}

type webhookRequest struct {
	URL   *string   `json:"url"`
	Types *[]string `json:"types"`
}

func (s *Server) webhooks(w http.ResponseWriter, r *http.Request) {
	list, err := s.reads.Webhooks(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.reads.Webhook(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"), chi.URLParam(r, "webhookID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hook)
}

// createWebhook answers with the endpoint's ID and its secret, shown this
// once.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.URL == nil {
		WriteProblem(w, r, ProblemInvalidRequest.New("url is required: the https:// URL to deliver to").Field("url"))
		return
	}
	in := commands.WebhookInput{URL: *req.URL}
	if req.Types != nil {
		in.Types = *req.Types
	}
	res, err := s.cfg.People.Commands.Webhooks.CreateWebhook(r.Context(), meta(r), chi.URLParam(r, "accountID"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"id": res.EndpointID, "secret": res.Secret})
}

// updateWebhook changes the URL, the types, or both; what is left out
// stays.
func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.URL == nil && req.Types == nil {
		WriteProblem(w, r, ProblemInvalidRequest.New("give url, types or both").Field("url"))
		return
	}
	id, hookID := chi.URLParam(r, "accountID"), chi.URLParam(r, "webhookID")
	res, err := s.cfg.People.Commands.Webhooks.UpdateWebhook(r.Context(), meta(r), id, hookID, commands.WebhookChange{URL: req.URL, Types: req.Types})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"id": hookID})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	hookID := chi.URLParam(r, "webhookID")
	res, err := s.cfg.People.Commands.Webhooks.DeleteWebhook(r.Context(), meta(r), chi.URLParam(r, "accountID"), hookID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"id": hookID})
}

// rotateWebhookSecret answers with the new secret, shown this once.
func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Webhooks.RotateWebhookSecret(r.Context(), meta(r), chi.URLParam(r, "accountID"), chi.URLParam(r, "webhookID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res.AppendResult, map[string]any{"id": res.EndpointID, "secret": res.Secret})
}

func (s *Server) setWebhookEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hookID := chi.URLParam(r, "webhookID")
		res, err := s.cfg.People.Commands.Webhooks.SetWebhookEnabled(r.Context(), meta(r), chi.URLParam(r, "accountID"), hookID, enabled)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		written(w, http.StatusOK, res, map[string]any{"id": hookID, "enabled": enabled})
	}
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := s.reads.WebhookDeliveries(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"), chi.URLParam(r, "webhookID"),
		q.Get("before"), q.Get("limit"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// resendWebhookDelivery queues a past delivery again, with the same
// webhook-id; it is sent before the endpoint's next new event.
func (s *Server) resendWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	id, hookID := chi.URLParam(r, "accountID"), chi.URLParam(r, "webhookID")
	target, err := s.reads.WebhookResendTarget(r.Context(), v, id, hookID, chi.URLParam(r, "deliveryID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.cfg.People.Commands.Webhooks.ResendWebhook(r.Context(), meta(r), id, hookID, target.DeliveryID, target.EventID, target.Position)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusAccepted, res, map[string]any{"id": hookID, "delivery_id": target.DeliveryID, "event_id": target.EventID})
}
