package installation

import (
	"maps"
	"time"
)

// Snapshot is an installation as of the events folded into it, in
// exported fields: the storage form of an aggregate snapshot, from which a
// read of the state as of a past point (rule X-2, the auditors' queries)
// folds on instead of folding the whole stream. It is NOT an API view: it
// holds the offline requests' nonces, as the events do.
//
// Its times are the ones the events and their records carried, in their
// locations; a snapshot of a fold of stored events restores exactly, after
// a JSON round trip too.
type Snapshot struct {
	ID              string          `json:"id"`
	Identity        Identity        `json:"identity"`
	KeyID           string          `json:"key_id"`
	KeyHint         string          `json:"key_hint"`
	SubscriptionID  string          `json:"subscription_id"`
	AccountID       string          `json:"account_id"`
	ProductID       string          `json:"product_id"`
	Model           Model           `json:"model"`
	Generation      int             `json:"generation"`
	Status          Status          `json:"status"`
	Mode            Mode            `json:"mode"`
	Trial           bool            `json:"trial"`
	TrialEnd        time.Time       `json:"trial_end"`
	ActivatedAt     time.Time       `json:"activated_at"`
	License         License         `json:"license"`
	Notes           string          `json:"notes"`
	Nonces          map[string]bool `json:"nonces"` // the offline requests used (ACT-2)
	LastObserved    time.Time       `json:"last_observed"`
	LastReport      time.Time       `json:"last_report"`
	Seats           int             `json:"seats"`
	Peak            int             `json:"peak"`
	GraceUsed       bool            `json:"grace_used"`
	GraceQuota      int             `json:"grace_quota"`
	GraceEnds       time.Time       `json:"grace_ends"`
	OveruseDetected bool            `json:"overuse_detected"`
	DeactivateAt    time.Time       `json:"deactivate_at"`
	OverLimit       bool            `json:"over_limit"`
	Alerts          int             `json:"alerts"`
	LastRefused     time.Time       `json:"last_refused"`
	Version         uint64          `json:"version"`
}

// Snapshot returns the installation's state. It shares nothing with i.
func (i Installation) Snapshot() Snapshot {
	return Snapshot{ID: i.id, Identity: i.identity, KeyID: i.keyID, KeyHint: i.keyHint, SubscriptionID: i.subscriptionID,
		AccountID: i.accountID, ProductID: i.productID, Model: i.model, Generation: i.generation, Status: i.status, Mode: i.mode,
		Trial: i.trial, TrialEnd: i.trialEnd, ActivatedAt: i.activatedAt, License: i.license, Notes: i.notes,
		Nonces: maps.Clone(i.nonces), LastObserved: i.lastObserved, LastReport: i.lastReport, Seats: i.seats, Peak: i.peak,
		GraceUsed: i.graceUsed, GraceQuota: i.graceQuota, GraceEnds: i.graceEnds, OveruseDetected: i.detected,
		DeactivateAt: i.deactivateAt, OverLimit: i.overLimit, Alerts: i.alerts, LastRefused: i.lastRefused, Version: i.version}
}

// FromSnapshot returns the installation a Snapshot was taken of. It shares
// nothing with s.
func FromSnapshot(s Snapshot) Installation {
	return Installation{id: s.ID, identity: s.Identity, keyID: s.KeyID, keyHint: s.KeyHint, subscriptionID: s.SubscriptionID,
		accountID: s.AccountID, productID: s.ProductID, model: s.Model, generation: s.Generation, status: s.Status, mode: s.Mode,
		trial: s.Trial, trialEnd: s.TrialEnd, activatedAt: s.ActivatedAt, license: s.License, notes: s.Notes,
		nonces: maps.Clone(s.Nonces), lastObserved: s.LastObserved, lastReport: s.LastReport, seats: s.Seats, peak: s.Peak,
		graceUsed: s.GraceUsed, graceQuota: s.GraceQuota, graceEnds: s.GraceEnds, detected: s.OveruseDetected,
		deactivateAt: s.DeactivateAt, overLimit: s.OverLimit, alerts: s.Alerts, lastRefused: s.LastRefused, version: s.Version}
}
