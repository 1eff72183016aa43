// Package licensekey is a license key's own stream: which subscription
// issued it (the lookup from a key someone typed to its subscription,
// rules KEY-2, KEY-9), and — as installations arrive — what it is bound
// to (KEY-8). Its ID is derived from the key by a keyed hash, so typing a
// key finds its stream without any read model, consistently, the moment
// the key exists.
package licensekey

import (
	"errors"
	"fmt"
	"time"

	"seatledger/domain/event"
)

// Stable event type names of the key stream.
const (
	TypeIssued   = "license_key.issued"
	TypeBound    = "license_key.bound"
	TypeReleased = "license_key.released"
)

// MaxChanges is how often the installation bound to a key may change
// over the key's life (KEY-8); the first activation is not a change.
const MaxChanges = 3

// Issued: a subscription issued the key, as its primary key or as a
// sublicense. It is appended before the subscription's event that holds
// the key; a key whose subscription event never followed (the process
// died in between) leads nowhere, since lookups check the subscription.
type Issued struct {
	KeyID          string `json:"key_id"`
	SubscriptionID string `json:"subscription_id"`
}

// Bound: the key now activates installation InstallationID (KEY-8).
// Change says whether it replaced another installation; Changes counts
// the changes so far, this one included.
type Bound struct {
	InstallationID string `json:"installation_id"`
	Change         bool   `json:"change"`
	Changes        int    `json:"changes"`
}

// Released: the installation bound to the key was deactivated and let the
// key go (ACT-6..8); the key may activate another.
type Released struct {
	InstallationID string `json:"installation_id"`
	Reason         string `json:"reason"`
}

// Register adds the key stream's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeIssued, 1, Issued{})
	reg.Register(TypeBound, 1, Bound{})
	reg.Register(TypeReleased, 1, Released{})
}

// ErrTaken: the key ID belongs to another subscription (a collision of
// 120 random bits: never in practice, refused all the same).
var ErrTaken = errors.New("licensekey: the key was issued to another subscription")

// The binding's errors (KEY-8).
var (
	ErrInUse         = errors.New("licensekey: the key activates another installation")
	ErrChangesUsedUp = errors.New("licensekey: the key's changes of installation are used up")
	ErrNotIssued     = errors.New("licensekey: no such key")
)

// Key is a license key's stream folded.
type Key struct {
	id, subscriptionID string
	bound, last        string // the bound installation; the last one ever bound
	changes            int
	boundAt            time.Time
	version            uint64
}

// StreamID returns the stream of key id.
func StreamID(id string) string { return "licensekey-" + id }

// Exists reports whether the key was issued.
func (k Key) Exists() bool { return k.id != "" }

// SubscriptionID returns the subscription that issued the key.
func (k Key) SubscriptionID() string { return k.subscriptionID }

// Bound returns the installation the key activates, or "".
func (k Key) Bound() string { return k.bound }

// Last returns the installation the key was last bound to, bound still or
// released since ("" before its first activation).
func (k Key) Last() string { return k.last }

// Changes returns how often its installation changed (KEY-8).
func (k Key) Changes() int { return k.changes }

// Version returns how many events were folded.
func (k Key) Version() uint64 { return k.version }

// BoundAt returns when the key was bound to its installation.
func (k Key) BoundAt() time.Time { return k.boundAt }

// Evolve applies one event, recorded at an unknown time.
func (k Key) Evolve(payload any) Key { return k.EvolveAt(payload, time.Time{}) }

// EvolveAt applies one event recorded at at.
func (k Key) EvolveAt(payload any, at time.Time) Key {
	switch e := payload.(type) {
	case Issued:
		k.id, k.subscriptionID = e.KeyID, e.SubscriptionID
	case Bound:
		k.bound, k.last, k.changes, k.boundAt = e.InstallationID, e.InstallationID, e.Changes, at
	case Released:
		if k.bound == e.InstallationID {
			k.bound = ""
		}
	}
	k.version++
	return k
}

// Bind lets the key activate installation (KEY-8): one installation at a
// time, and at most MaxChanges changes of installation over the key's
// life. Binding the installation it already activates is no change and
// records nothing; so is binding again the last one it released.
func (k Key) Bind(installation string) ([]any, error) {
	switch {
	case !k.Exists():
		return nil, ErrNotIssued
	case k.bound == installation:
		return nil, nil
	case k.bound != "":
		return nil, ErrInUse
	}
	change := k.last != "" && k.last != installation
	changes := k.changes
	if change {
		changes++
	}
	if changes > MaxChanges {
		return nil, fmt.Errorf("%w: %d of %d changes used", ErrChangesUsedUp, k.changes, MaxChanges)
	}
	return []any{Bound{InstallationID: installation, Change: change, Changes: changes}}, nil
}

// Release lets the key go from installation; a key bound to another
// installation, or to none, stays as it is.
func (k Key) Release(installation, reason string) ([]any, error) {
	if k.bound == "" || k.bound != installation {
		return nil, nil
	}
	return []any{Released{InstallationID: installation, Reason: reason}}, nil
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
