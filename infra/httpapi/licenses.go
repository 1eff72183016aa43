package httpapi

import (
	"seatledger/domain/staff"

	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/queries"
)

// licenseRoutes mounts the /v1 API of products, orders, subscriptions and
// license keys (issue 4), inside peopleRoutes' authentication.
func (s *Server) licenseRoutes(r chi.Router) {
	r.With(s.requireBackOffice(staff.PermCatalog)).Put("/products/{productID}", s.defineProduct)
	r.With(s.requireBackOffice(staff.PermOrders)).Post("/orders", s.applyOrder)
	r.Group(func(r chi.Router) {
		r.Use(requirePerson)
		r.Post("/keys/register", s.registerKey)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.requireSignedIn)
		r.Get("/products", s.products)
		r.Get("/eligibility", s.eligibility)
		r.Get("/accounts/{accountID}/dashboard", s.dashboard)
		r.Get("/accounts/{accountID}/subscriptions", s.subscriptions)
		const sub = "/subscriptions/{subscriptionID}"
		r.Get(sub, s.subscriptionDetails)
		r.Put(sub+"/name", s.renameSubscription)
		r.Put(sub+"/auto-renew", s.setAutoRenew)
		r.Post(sub+"/keys", s.createSublicense)
		r.Patch(sub+"/keys/{keyID}", s.changeSublicense)
		r.Delete(sub+"/keys/{keyID}", s.deleteSublicense)
		r.Get(sub+"/keys/{keyID}/secret", s.revealKey)
		r.Put(sub+"/keys/{keyID}/administrators/{personID}", s.setKeyAdministrator(true))
		r.Delete(sub+"/keys/{keyID}/administrators/{personID}", s.setKeyAdministrator(false))
	})
}

// requireBackOffice lets through the back office's requests only (staff,
// service accounts, the bootstrap admin token): orders and the catalog
// come from the vendor's own systems. With permissions, the roster must
// grant the caller one of them (staff.Roster.Authorize); without, the use
// case behind authorizes.
func (s *Server) requireBackOffice(perms ...staff.Permission) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			actor := principalOf(r.Context()).actor
			switch actor.Kind {
			case event.ActorBackOffice:
			case event.ActorPerson, event.ActorInstallation:
				WriteProblem(w, r, ProblemForbidden.New("this endpoint is for the back office"))
				return
			default:
				unauthorized(w, r, "sign in as staff (POST /v1/staff/session) or send a service account's token")
				return
			}
			var err error
			for _, p := range perms {
				if err = s.cfg.People.Commands.Staff.Authorize(r.Context(), actor, p); err == nil {
					break
				}
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type productRequest struct {
	Name         string        `json:"name"`
	Model        product.Model `json:"model"`
	Trial        product.Trial `json:"trial,omitzero"`
	MajorVersion int           `json:"major_version,omitempty"`
}

func (s *Server) defineProduct(w http.ResponseWriter, r *http.Request) {
	var req productRequest
	if !s.decode(w, r, &req) {
		return
	}
	id := chi.URLParam(r, "productID")
	res, err := s.cfg.People.Commands.Orders.DefineProduct(r.Context(), meta(r), product.Defined{ProductID: id, Name: req.Name,
		Model: req.Model, Trial: req.Trial, MajorVersion: req.MajorVersion})
	if err != nil && !errors.Is(err, product.ErrNoChange) { // defining the same terms again is a retry
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"product_id": id})
}

// productsResponse is GET /v1/products.
type productsResponse struct {
	Products []queries.Product `json:"products"`
}

func (s *Server) products(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	list, err := s.reads.Products(r.Context(), v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, productsResponse{Products: list})
}

// orderRequest is an order from the order system (SUB-4): a purchase, or
// seats added to, a renewal or a cancellation of a subscription.
type orderRequest struct {
	Kind           string                   `json:"kind"`
	OrderID        string                   `json:"order_id"`
	SubscriptionID string                   `json:"subscription_id,omitempty"`
	ProductID      string                   `json:"product_id,omitempty"`
	Seats          int                      `json:"seats,omitempty"`
	Period         subscription.Period      `json:"period,omitempty"`
	Channel        subscription.Channel     `json:"channel,omitempty"`
	SupportPlan    subscription.SupportPlan `json:"support_plan,omitempty"`
	Insurance      subscription.Period      `json:"insurance,omitempty"`
}

// The kinds of orders.
const (
	orderPurchase     = "purchase"
	orderAddSeats     = "add_seats"
	orderRenewal      = "renewal"
	orderCancellation = "cancellation"
)

func (s *Server) applyOrder(w http.ResponseWriter, r *http.Request) {
	var req orderRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.OrderID == "" {
		WriteProblem(w, r, ProblemInvalidOrder.New("order_id is required").Field("order_id"))
		return
	}
	h, ctx, m := s.cfg.People.Commands, r.Context(), meta(r)
	if req.Kind == orderPurchase {
		p, err := h.Orders.Purchase(ctx, m, subscription.Order{ID: req.OrderID, ProductID: req.ProductID, Seats: req.Seats, Period: req.Period,
			Channel: req.Channel, SupportPlan: req.SupportPlan, Insurance: req.Insurance})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		written(w, http.StatusCreated, p.AppendResult, map[string]any{"subscription_id": p.SubscriptionID, "key": p.Key})
		return
	}
	if req.SubscriptionID == "" {
		WriteProblem(w, r, ProblemInvalidOrder.New("subscription_id is required for %s orders", req.Kind).Field("subscription_id"))
		return
	}
	var (
		res event.AppendResult
		err error
	)
	switch req.Kind {
	case orderAddSeats:
		res, err = h.Orders.AddSeats(ctx, m, req.SubscriptionID, req.OrderID, req.Seats)
	case orderRenewal:
		res, err = h.Orders.Renew(ctx, m, req.SubscriptionID, req.OrderID, req.Period)
	case orderCancellation:
		res, err = h.Orders.Cancel(ctx, m, req.SubscriptionID, req.OrderID)
	default:
		WriteProblem(w, r, ProblemInvalidOrder.New("kind %q must be purchase, add_seats, renewal or cancellation", req.Kind).Field("kind"))
		return
	}
	if errors.Is(err, subscription.ErrNotFound) {
		WriteProblem(w, r, ProblemNotFound.New("no subscription %s", req.SubscriptionID).Field("subscription_id"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"subscription_id": req.SubscriptionID})
}

type registerKeyRequest struct {
	Key       string           `json:"key"`
	AccountID string           `json:"account_id,omitempty"`
	Company   *account.Company `json:"company,omitempty"`
}

func (s *Server) registerKey(w http.ResponseWriter, r *http.Request) {
	var req registerKeyRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Subscriptions.RegisterKey(r.Context(), meta(r), commands.RegisterKey{Key: req.Key, AccountID: req.AccountID, Company: req.Company})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.AccountCreated {
		status = http.StatusCreated
	}
	written(w, status, res.AppendResult, map[string]any{"subscription_id": res.SubscriptionID, "account_id": res.AccountID,
		"account_created": res.AccountCreated})
}

func (s *Server) eligibility(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("key") == "" || q.Get("version") == "" {
		WriteProblem(w, r, ProblemInvalidRequest.New("give the key and the version, as in ?key=…&version=19.2").Field("key"))
		return
	}
	e, err := s.cfg.People.Commands.Subscriptions.Eligibility(r.Context(), principalOf(r.Context()).actor, q.Get("key"), q.Get("version"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// dashboardResponse is GET /v1/accounts/{accountID}/dashboard.
type dashboardResponse struct {
	Products []queries.ProductCard `json:"products"`
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	cards, err := s.reads.Dashboard(r.Context(), v, chi.URLParam(r, "accountID"), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dashboardResponse{Products: cards})
}

// subscriptionsResponse is GET /v1/accounts/{accountID}/subscriptions.
type subscriptionsResponse struct {
	Subscriptions []queries.SubscriptionSummary `json:"subscriptions"`
}

func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	q := r.URL.Query()
	list, err := s.reads.Subscriptions(r.Context(), v, queries.SubscriptionsFilter{AccountID: chi.URLParam(r, "accountID"), Status: q.Get("status"), Sort: q.Get("sort")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, subscriptionsResponse{Subscriptions: list})
}

func (s *Server) subscriptionDetails(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	d, err := s.reads.SubscriptionDetails(r.Context(), v, chi.URLParam(r, "subscriptionID"), r.URL.Query().Get("key_sort"), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) renameSubscription(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Subscriptions.RenameSubscription(r.Context(), meta(r), chi.URLParam(r, "subscriptionID"), req.Name)
	s.answer(w, r, res, err)
}

func (s *Server) setAutoRenew(w http.ResponseWriter, r *http.Request) {
	var req struct {
		On bool `json:"on"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Subscriptions.SetAutoRenew(r.Context(), meta(r), chi.URLParam(r, "subscriptionID"), req.On)
	s.answer(w, r, res, err)
}

// answer answers a command that returns only where its events are.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, res event.AppendResult, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, nil)
}

type sublicenseRequest struct {
	Name      string     `json:"name"`
	Quota     int        `json:"quota"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // absent: renews with the subscription
}

func (s *Server) createSublicense(w http.ResponseWriter, r *http.Request) {
	var req sublicenseRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Subscriptions.CreateSublicense(r.Context(), meta(r), chi.URLParam(r, "subscriptionID"),
		subscription.Sublicense{Name: req.Name, Quota: req.Quota, ExpiresAt: req.ExpiresAt})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"key_id": res.KeyID, "key": res.Key})
}

type changeSublicenseRequest struct {
	Name      *string    `json:"name,omitempty"`
	Quota     *int       `json:"quota,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// RenewWithSubscription drops a custom expiry.
	RenewWithSubscription bool `json:"renew_with_subscription,omitempty"`
}

func (s *Server) changeSublicense(w http.ResponseWriter, r *http.Request) {
	var req changeSublicenseRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.RenewWithSubscription && req.ExpiresAt != nil {
		WriteProblem(w, r, ProblemInvalidRequest.New("give expires_at or renew_with_subscription, not both").Field("expires_at"))
		return
	}
	res, err := s.cfg.People.Commands.Subscriptions.ChangeSublicense(r.Context(), meta(r), chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"),
		commands.ChangeSublicense{Name: req.Name, Quota: req.Quota, ExpiresAt: req.ExpiresAt, ClearExpiry: req.RenewWithSubscription})
	s.answer(w, r, res, err)
}

func (s *Server) deleteSublicense(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.People.Commands.Subscriptions.DeleteSublicense(r.Context(), meta(r), chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"))
	s.answer(w, r, res, err)
}

func (s *Server) revealKey(w http.ResponseWriter, r *http.Request) {
	key, err := s.cfg.People.Commands.Subscriptions.RevealKey(r.Context(), principalOf(r.Context()).actor, chi.URLParam(r, "subscriptionID"), chi.URLParam(r, "keyID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"key_id": chi.URLParam(r, "keyID"), "key": key})
}

func (s *Server) setKeyAdministrator(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := s.cfg.People.Commands.Subscriptions.SetKeyAdministrator(r.Context(), meta(r), chi.URLParam(r, "subscriptionID"),
			chi.URLParam(r, "keyID"), chi.URLParam(r, "personID"), on)
		s.answer(w, r, res, err)
	}
}
