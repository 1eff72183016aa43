package commands

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/event"
	"seatledger/domain/licensekey"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
)

// Keys issues, seals and reopens license keys (rule KEY-9); infra/keyring
// implements it. The ledger stores a key only sealed: a keyed hash to look
// it up by, and an encrypted copy to show it again.
type Keys interface {
	// Issue draws a fresh key and returns it with its sealed form.
	Issue() (key string, sealed subscription.SealedKey, err error)
	// ID returns the ID of a canonical key: the key's stream is named by it.
	ID(canonical string) string
	// Open returns the key a sealed key holds.
	Open(sealed subscription.SealedKey) (string, error)
}

// ErrUnknownKey: a well-formed key that the ledger never issued, or whose
// sublicense was deleted.
var ErrUnknownKey = errors.New("commands: no license key matches; check the key")

// subscriptionIDs is the namespace of subscription IDs, which are derived
// from the purchase's order ID so that a retried purchase names the same
// subscription.
var subscriptionIDs = uuid.MustParse("3f0b6c3e-5a51-4b8e-9a0c-2d2f1f7e6a10")

// SubscriptionID returns the ID of the subscription that purchase order
// orderID issues: a name-based UUID of the order ID.
func SubscriptionID(orderID string) string {
	return uuid.NewSHA1(subscriptionIDs, []byte(orderID)).String()
}

func evolveSubscription(s subscription.Subscription, payload any, _ event.Record) subscription.Subscription {
	return s.Evolve(payload)
}

func evolveLicenseKey(k licensekey.Key, payload any, rec event.Record) licensekey.Key {
	return k.EvolveAt(payload, rec.RecordedAt)
}

func evolveProduct(p product.Product, payload any, _ event.Record) product.Product {
	return p.Evolve(payload)
}

// SubscriptionsHandler runs the use cases of subscriptions and their
// keys: registering a key to an account, naming, renewal settings, license
// administrators and sublicenses (rules SUB-2..9, KEY-1..9, MEM-6), and
// the lifecycle's timers (SUB-6, KEY-3).
type SubscriptionsHandler struct {
	loader   *Loader
	keys     Keys
	accounts *AccountsHandler // registering a key may create an account
}

// NewSubscriptionsHandler returns a SubscriptionsHandler on loader; keys
// issues and reopens license keys, and accounts creates the business
// account a key is registered to. It returns an error wrapping
// ErrMissingDependency if one of them is nil.
func NewSubscriptionsHandler(loader *Loader, keys Keys, accounts *AccountsHandler) (*SubscriptionsHandler, error) {
	if err := dependencies("NewSubscriptionsHandler", dep{"a Loader", loader != nil}, dep{"Keys", keys != nil},
		dep{"an AccountsHandler", accounts != nil}); err != nil {
		return nil, err
	}
	return &SubscriptionsHandler{loader: loader, keys: keys, accounts: accounts}, nil
}

// Subscription returns subscription id as of its stream's latest event.
// It is shared; never evolve it.
func (h *SubscriptionsHandler) Subscription(ctx context.Context, id string) (subscription.Subscription, error) {
	return h.loader.subscription(ctx, id)
}

// AuthorizeSubscription answers whether actor may do action with
// subscription id (and key keyID, for ActionManageKey), from the latest
// events of the subscription and of the account it is registered to
// (rules MEM-5, MEM-6, X-5), and returns the subscription it decided on.
// The back office may view every subscription. A subscription that does
// not exist is refused like a foreign one.
func (h *SubscriptionsHandler) AuthorizeSubscription(ctx context.Context, actor event.Actor, id string, action subscription.Action, keyID string) (subscription.Subscription, error) {
	s, err := h.loader.subscription(ctx, id)
	if err != nil {
		return s, err
	}
	return s, h.loader.authorizeSubscription(ctx, actor, s, action, keyID)
}

// updateSubscription runs decide on subscription id as of its latest
// event, once actor may do action (with key keyID) there.
func (h *SubscriptionsHandler) updateSubscription(ctx context.Context, command, id string, meta Meta, action subscription.Action, keyID string,
	decide func(subscription.Subscription, time.Time) ([]any, error)) (event.AppendResult, error) {
	return update(ctx, h.loader, h.loader.subscriptions, id, command, meta, func(s subscription.Subscription, now time.Time) ([]any, error) {
		if err := h.loader.authorizeSubscription(ctx, meta.Actor, s, action, keyID); err != nil {
			return nil, err
		}
		return decide(s, now)
	})
}

// issueKey draws a key with keys for subscription subscriptionID and records it on the key's
// own stream, before the subscription's event that holds it, so that the
// key can be looked up the moment it exists. A fresh key's stream is new:
// it is appended without reading it first, expecting no stream; 120
// random bits never collide, but if they did, another key is drawn.
func issueKey(ctx context.Context, l *Loader, keys Keys, meta Meta, command, subscriptionID string) (string, subscription.SealedKey, error) {
	for range maxAttempts {
		key, sealed, err := keys.Issue()
		if err != nil {
			return "", sealed, err
		}
		stream := licensekey.StreamID(sealed.KeyID)
		issued, err := l.encode(command, stream, Meta{Actor: meta.Actor, CorrelationID: meta.CorrelationID},
			[]any{licensekey.Issued{KeyID: sealed.KeyID, SubscriptionID: subscriptionID}})
		if err != nil {
			return "", sealed, err
		}
		_, err = l.store.Append(ctx, stream, event.Exact(0), issued...)
		if !errors.Is(err, event.ErrConflict) {
			return key, sealed, err
		}
	}
	return "", subscription.SealedKey{}, licensekey.ErrTaken
}

// LookUpKey finds the subscription of a key as someone typed it (rules
// KEY-2, KEY-9): subscription.ErrKeyFormat for a typo, ErrUnknownKey for
// a key the ledger does not know. It returns the subscription and the
// key's ID.
func (h *SubscriptionsHandler) LookUpKey(ctx context.Context, raw string) (subscription.Subscription, string, error) {
	canonical, err := subscription.ParseKey(raw)
	if err != nil {
		return subscription.Subscription{}, "", err
	}
	id := h.keys.ID(canonical)
	k, _, err := h.loader.licenseKeys.current(ctx, h.loader, id)
	if err != nil || !k.Exists() {
		return subscription.Subscription{}, "", errors.Join(err, ErrUnknownKey)
	}
	s, err := h.loader.subscription(ctx, k.SubscriptionID())
	if err != nil {
		return s, "", err
	}
	if _, ok := s.Key(id); !ok {
		return subscription.Subscription{}, "", ErrUnknownKey
	}
	return s, id, nil
}

// RevealKey returns key keyID of subscription id in full (rule KEY-9): to
// the account's admins and the key's license administrators only.
func (h *SubscriptionsHandler) RevealKey(ctx context.Context, actor event.Actor, id, keyID string) (string, error) {
	s, err := h.AuthorizeSubscription(ctx, actor, id, subscription.ActionManageKey, keyID)
	if err != nil {
		return "", err
	}
	k, ok := s.Key(keyID)
	if !ok {
		return "", subscription.ErrNoKey
	}
	return h.keys.Open(k.Stored())
}

// Eligibility answers "may this key run version V?" (rule SUB-9) for
// someone who may view its subscription.
func (h *SubscriptionsHandler) Eligibility(ctx context.Context, actor event.Actor, rawKey, version string) (subscription.Eligibility, error) {
	major, err := subscription.MajorOf(version)
	if err != nil {
		return subscription.Eligibility{}, err
	}
	s, keyID, err := h.LookUpKey(ctx, rawKey)
	if err != nil {
		return subscription.Eligibility{}, err
	}
	if err := h.loader.authorizeSubscription(ctx, actor, s, subscription.ActionView, ""); err != nil {
		return subscription.Eligibility{}, err
	}
	return s.Eligible(keyID, major, h.loader.clock.Now())
}
