package licensekey

import "time"

// Snapshot is a key stream as of the events folded into it, in exported
// fields: the storage form of an aggregate snapshot, from which a read of
// the state as of a past point (rule X-2, the auditors' queries) folds on
// instead of folding the whole stream. It is not an API view.
//
// BoundAt is the record time EvolveAt was given, in its location; a
// snapshot of a fold of stored events (UTC record times) restores exactly,
// after a JSON round trip too.
type Snapshot struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	// Bound is the installation the key activates, or ""; Last the last
	// one it ever activated (KEY-8).
	Bound   string    `json:"bound"`
	Last    string    `json:"last"`
	Changes int       `json:"changes"`
	BoundAt time.Time `json:"bound_at"`
	Version uint64    `json:"version"`
}

// Snapshot returns the key's state.
func (k Key) Snapshot() Snapshot {
	return Snapshot{ID: k.id, SubscriptionID: k.subscriptionID, Bound: k.bound, Last: k.last, Changes: k.changes,
		BoundAt: k.boundAt, Version: k.version}
}

// FromSnapshot returns the key a Snapshot was taken of.
func FromSnapshot(s Snapshot) Key {
	return Key{id: s.ID, subscriptionID: s.SubscriptionID, bound: s.Bound, last: s.Last, changes: s.Changes,
		boundAt: s.BoundAt, version: s.Version}
}
