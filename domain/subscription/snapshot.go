package subscription

import (
	"bytes"
	"maps"
	"time"
)

// Snapshot is a subscription as of the events folded into it, in exported
// fields: the storage form of an aggregate snapshot, from which a read of
// the state as of a past point (rule X-2, the auditors' queries) folds on
// instead of folding the whole stream. It is NOT an API view: its keys
// hold their lookup hashes and sealed copies, as the events do.
//
// Its times are the ones the events carried, in their locations; a
// snapshot of a fold of stored events restores exactly, after a JSON round
// trip too.
type Snapshot struct {
	ID            string      `json:"id"`
	AccountID     string      `json:"account_id"`
	ProductID     string      `json:"product_id"`
	Name          string      `json:"name"`
	Seats         int         `json:"seats"`
	Period        Period      `json:"period"`
	Channel       Channel     `json:"channel"`
	SupportPlan   SupportPlan `json:"support_plan"`
	Start         time.Time   `json:"start"`
	End           time.Time   `json:"end"` // zero for a permanent license
	LicensedMajor int         `json:"licensed_major"`
	InsuranceEnd  time.Time   `json:"insurance_end"`
	AutoRenew     bool        `json:"auto_renew"`
	Cancelled     bool        `json:"cancelled"`
	Status        Status      `json:"status"`
	// Orders maps each order ID applied to its digest (SUB-4).
	Orders map[string]string `json:"orders"`
	// PrimaryKeyID names the primary key among Keys.
	PrimaryKeyID string                 `json:"primary_key_id"`
	Keys         map[string]KeySnapshot `json:"keys"`
	Version      uint64                 `json:"version"`
}

// KeySnapshot is one key of a Snapshot: a Key with JSON names.
type KeySnapshot struct {
	ID             string          `json:"id"`
	Type           KeyType         `json:"type"`
	Name           string          `json:"name"`
	Quota          int             `json:"quota"`
	Lookup         []byte          `json:"lookup"`
	Sealed         []byte          `json:"sealed"`
	Hint           string          `json:"hint"`
	ExpiresAt      *time.Time      `json:"expires_at"`
	Administrators map[string]bool `json:"administrators"`
	InGrace        bool            `json:"in_grace,omitempty"`
	Expired        bool            `json:"expired,omitempty"`
}

// Snapshot returns the subscription's state. It shares nothing with s.
func (s Subscription) Snapshot() Snapshot {
	var keys map[string]KeySnapshot
	if s.keys != nil {
		keys = make(map[string]KeySnapshot, len(s.keys))
		for id, k := range s.keys {
			keys[id] = KeySnapshot{ID: k.ID, Type: k.Type, Name: k.Name, Quota: k.Quota,
				Lookup: bytes.Clone(k.Lookup), Sealed: bytes.Clone(k.Sealed), Hint: k.Hint,
				ExpiresAt: cloneTime(k.ExpiresAt), Administrators: maps.Clone(k.Administrators), InGrace: k.InGrace, Expired: k.Expired}
		}
	}
	return Snapshot{ID: s.id, AccountID: s.accountID, ProductID: s.productID, Name: s.name, Seats: s.seats,
		Period: s.period, Channel: s.channel, SupportPlan: s.supportPlan, Start: s.start, End: s.end,
		LicensedMajor: s.licensedMajor, InsuranceEnd: s.insuranceEnd, AutoRenew: s.autoRenew,
		Cancelled: s.cancelled, Status: s.status, Orders: maps.Clone(s.orders), PrimaryKeyID: s.primary,
		Keys: keys, Version: s.version}
}

// FromSnapshot returns the subscription a Snapshot was taken of. It
// shares nothing with sn, so it may be evolved like the zero Subscription.
func FromSnapshot(sn Snapshot) Subscription {
	var keys map[string]Key
	if sn.Keys != nil {
		keys = make(map[string]Key, len(sn.Keys))
		for id, k := range sn.Keys {
			keys[id] = Key{ID: k.ID, Type: k.Type, Name: k.Name, Quota: k.Quota,
				Lookup: bytes.Clone(k.Lookup), Sealed: bytes.Clone(k.Sealed), Hint: k.Hint,
				ExpiresAt: cloneTime(k.ExpiresAt), Administrators: maps.Clone(k.Administrators), InGrace: k.InGrace, Expired: k.Expired}
		}
	}
	return Subscription{id: sn.ID, accountID: sn.AccountID, productID: sn.ProductID, name: sn.Name, seats: sn.Seats,
		period: sn.Period, channel: sn.Channel, supportPlan: sn.SupportPlan, start: sn.Start, end: sn.End,
		licensedMajor: sn.LicensedMajor, insuranceEnd: sn.InsuranceEnd, autoRenew: sn.AutoRenew,
		cancelled: sn.Cancelled, status: sn.Status, orders: maps.Clone(sn.Orders), primary: sn.PrimaryKeyID,
		keys: keys, version: sn.Version}
}

// cloneTime copies a time held by pointer, so that neither side of a
// snapshot can move the other's.
func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
