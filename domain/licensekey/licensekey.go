// Package licensekey is a license key's own stream: which subscription
// issued it (the lookup from a key someone typed to its subscription,
// rules KEY-2, KEY-9), and — as installations arrive — what it is bound
// to (KEY-8). Its ID is derived from the key by a keyed hash, so typing a
// key finds its stream without any read model, consistently, the moment
// the key exists.
package licensekey

import (
	"errors"

	"seatledger/domain/event"
)

// TypeIssued is the stable name of the key's first event.
const TypeIssued = "license_key.issued"

// Issued: a subscription issued the key, as its primary key or as a
// sublicense. It is appended before the subscription's event that holds
// the key; a key whose subscription event never followed (the process
// died in between) leads nowhere, since lookups check the subscription.
type Issued struct {
	KeyID          string `json:"key_id"`
	SubscriptionID string `json:"subscription_id"`
}

// Register adds the key stream's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeIssued, 1, Issued{})
}

// ErrTaken: the key ID belongs to another subscription (a collision of
// 120 random bits: never in practice, refused all the same).
var ErrTaken = errors.New("licensekey: the key was issued to another subscription")

// Key is a license key's stream folded.
type Key struct {
	id, subscriptionID string
	version            uint64
}

// StreamID returns the stream of key id.
func StreamID(id string) string { return "licensekey-" + id }

// Exists reports whether the key was issued.
func (k Key) Exists() bool { return k.id != "" }

// SubscriptionID returns the subscription that issued the key.
func (k Key) SubscriptionID() string { return k.subscriptionID }

// Evolve applies one event.
func (k Key) Evolve(payload any) Key {
	if e, ok := payload.(Issued); ok {
		k.id, k.subscriptionID = e.KeyID, e.SubscriptionID
	}
	k.version++
	return k
}

// Issue records that subscription issued key id; issuing it again to the
// same subscription changes nothing.
func (k Key) Issue(id, subscription string) ([]any, error) {
	switch {
	case k.Exists() && k.subscriptionID == subscription:
		return nil, nil
	case k.Exists():
		return nil, ErrTaken
	}
	return []any{Issued{KeyID: id, SubscriptionID: subscription}}, nil
}
