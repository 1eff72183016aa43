package commands

import (
	"context"
	"errors"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/product"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
)

// OrdersHandler runs the back office's use cases of the product catalog
// and of orders: purchases, added seats, renewals and cancellations (rules
// PROD-1, SUB-1..9, KEY-1).
type OrdersHandler struct {
	loader *Loader
	keys   Keys
}

// NewOrdersHandler returns an OrdersHandler on loader; keys issues the
// primary keys of purchases. It returns an error wrapping
// ErrMissingDependency if one of them is nil.
func NewOrdersHandler(loader *Loader, keys Keys) (*OrdersHandler, error) {
	if err := dependencies("NewOrdersHandler", dep{"a Loader", loader != nil}, dep{"Keys", keys != nil}); err != nil {
		return nil, err
	}
	return &OrdersHandler{loader: loader, keys: keys}, nil
}

// DefineProduct adds a product to the catalog or changes its terms (rules
// PROD-1, SUB-8): the back office's.
func (h *OrdersHandler) DefineProduct(ctx context.Context, meta Meta, d product.Defined) (event.AppendResult, error) {
	if err := h.loader.backOffice(ctx, meta.Actor, staff.PermCatalog); err != nil {
		return event.AppendResult{}, err
	}
	if !product.ValidID(d.ProductID) {
		return event.AppendResult{}, invalid.New(product.ErrInvalid, "product_id", "product_id %q must be 1 to 40 lower-case letters, digits and dashes", d.ProductID)
	}
	return update(ctx, h.loader, h.loader.products, d.ProductID, "DefineProduct", meta,
		func(p product.Product, _ time.Time) ([]any, error) { return p.Define(d) })
}

// Product returns product id of the catalog; product.ErrNotFound if it
// is not in it.
func (h *OrdersHandler) Product(ctx context.Context, id string) (product.Product, error) {
	return h.loader.product(ctx, id)
}

// Purchased is what Purchase returns: the subscription and its primary
// key in full, for the order system to deliver to the customer.
type Purchased struct {
	event.AppendResult
	SubscriptionID string
	Key            string
}

// Purchase applies a purchase order (rules SUB-1..4, SUB-9, KEY-1): it
// issues a subscription, whose ID the order ID names, with its primary
// key. The same order again returns the same subscription and key and
// changes nothing; the same order ID with other contents is refused.
func (h *OrdersHandler) Purchase(ctx context.Context, meta Meta, o subscription.Order) (Purchased, error) {
	if err := h.loader.backOffice(ctx, meta.Actor, staff.PermOrders); err != nil {
		return Purchased{}, err
	}
	if o.ID == "" {
		return Purchased{}, invalid.New(subscription.ErrInvalidOrder, "order_id", "order_id is required")
	}
	id := SubscriptionID(o.ID)
	p, err := h.loader.product(ctx, o.ProductID)
	known := err == nil
	if err != nil && !errors.Is(err, product.ErrNotFound) {
		return Purchased{}, err
	}
	if o.Period == subscription.Permanent {
		o.LicensedMajor = p.MajorVersion()
	}
	s, err := h.loader.subscription(ctx, id)
	if err != nil {
		return Purchased{}, err
	}
	if s.Exists() { // a retry, or a reused order ID: the domain tells which
		if _, err := s.Purchase(id, o, known, s.PrimaryKey().Stored(), h.loader.clock.Now()); err != nil {
			return Purchased{}, err
		}
		return h.purchased(s, id)
	}
	if _, err := (subscription.Subscription{}).Purchase(id, o, known, placeholderKey, h.loader.clock.Now()); err != nil {
		return Purchased{}, err // refuse bad orders before a key is issued for them
	}
	key, sealed, err := issueKey(ctx, h.loader, h.keys, meta, "Purchase", id)
	if err != nil {
		return Purchased{}, err
	}
	res, err := update(ctx, h.loader, h.loader.subscriptions, id, "Purchase", meta, func(s subscription.Subscription, now time.Time) ([]any, error) {
		return s.Purchase(id, o, known, sealed, now)
	})
	if err != nil {
		return Purchased{}, err
	}
	if res.FirstVersion != 1 { // a concurrent retry won: answer with its key
		if s, err = h.loader.subscription(ctx, id); err != nil {
			return Purchased{}, err
		}
		return h.purchased(s, id)
	}
	return Purchased{AppendResult: res, SubscriptionID: id, Key: key}, nil
}

// placeholderKey lets Purchase validate an order before issuing its key.
var placeholderKey = subscription.SealedKey{KeyID: "-", Lookup: []byte{0}, Sealed: []byte{0}}

// purchased answers a purchase that had taken effect already.
func (h *OrdersHandler) purchased(s subscription.Subscription, id string) (Purchased, error) {
	key, err := h.keys.Open(s.PrimaryKey().Stored())
	if err != nil {
		return Purchased{}, err
	}
	return Purchased{AppendResult: event.AppendResult{StreamID: subscription.StreamID(id), FirstVersion: s.Version(), LastVersion: s.Version()},
		SubscriptionID: id, Key: key}, nil
}

// AddSeats applies an order adding seats (SUB-4).
func (h *OrdersHandler) AddSeats(ctx context.Context, meta Meta, id, orderID string, seats int) (event.AppendResult, error) {
	return h.order(ctx, meta, "AddSeats", id, func(s subscription.Subscription, _ time.Time) ([]any, error) {
		return s.AddSeats(orderID, seats)
	})
}

// Renew applies a renewal order (SUB-4, SUB-6, SUB-9).
func (h *OrdersHandler) Renew(ctx context.Context, meta Meta, id, orderID string, period subscription.Period) (event.AppendResult, error) {
	return h.order(ctx, meta, "Renew", id, func(s subscription.Subscription, now time.Time) ([]any, error) {
		return s.Renew(orderID, period, now)
	})
}

// Cancel applies a cancellation order: no more renewals.
func (h *OrdersHandler) Cancel(ctx context.Context, meta Meta, id, orderID string) (event.AppendResult, error) {
	return h.order(ctx, meta, "Cancel", id, func(s subscription.Subscription, _ time.Time) ([]any, error) {
		return s.Cancel(orderID)
	})
}

func (h *OrdersHandler) order(ctx context.Context, meta Meta, command, id string, decide func(subscription.Subscription, time.Time) ([]any, error)) (event.AppendResult, error) {
	if err := h.loader.backOffice(ctx, meta.Actor, staff.PermOrders); err != nil {
		return event.AppendResult{}, err
	}
	return update(ctx, h.loader, h.loader.subscriptions, id, command, meta, decide)
}
