package subscription

import (
	"time"

	"seatledger/domain/event"
)

// Stable event type names of the subscription stream.
const (
	TypePurchased          = "subscription.purchased"
	TypeSeatsAdded         = "subscription.seats_added"
	TypeRenewed            = "subscription.renewed"
	TypeCancelled          = "subscription.cancelled"
	TypeRegistered         = "subscription.registered"
	TypeRenamed            = "subscription.renamed"
	TypeAutoRenewSet       = "subscription.auto_renew_set"
	TypeGraceStarted       = "subscription.grace_started"
	TypeExpired            = "subscription.expired"
	TypeSublicenseCreated  = "subscription.sublicense_created"
	TypeSublicenseChanged  = "subscription.sublicense_changed"
	TypeSublicenseRenamed  = "subscription.sublicense_renamed"
	TypeSublicenseDeleted  = "subscription.sublicense_deleted"
	TypeAdministratorSet   = "subscription.key_administrator_granted"
	TypeAdministratorUnset = "subscription.key_administrator_revoked"
	TypeExpiryReminded     = "subscription.expiry_reminded"
	TypeRenewalRequested   = "subscription.renewal_requested"
	// A sublicense's own expiry (KEY-3).
	TypeSublicenseGraceStarted = "subscription.sublicense_grace_started"
	TypeSublicenseExpired      = "subscription.sublicense_expired"
)

// SublicenseGraceStarted: a sublicense's own expiry date passed (KEY-3).
// Like a subscription's (SUB-6), its installations keep working for 30
// days of grace; a changed expiry in the future ends the grace with no
// interruption.
type SublicenseGraceStarted struct {
	KeyID     string    `json:"key_id"`
	KeyName   string    `json:"key_name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SublicenseExpired: a sublicense's grace ended (KEY-3): its key stops
// working, its installations are deactivated, and its Quota returns to
// the primary key (KEY-4).
type SublicenseExpired struct {
	KeyID     string    `json:"key_id"`
	KeyName   string    `json:"key_name"`
	ExpiresAt time.Time `json:"expires_at"`
	Quota     int       `json:"quota"`
}

// SealedKey is a license key as the ledger stores it (rule KEY-9): a hash
// to look it up by and an encrypted copy to show it again, never the key.
type SealedKey struct {
	KeyID  string `json:"key_id"`
	Lookup []byte `json:"lookup"` // keyed hash of the canonical key
	Sealed []byte `json:"sealed"` // the key, encrypted
	Hint   string `json:"hint"`   // the key's last group of symbols
}

// Purchased: the order system sold a subscription (rules SUB-1..4); it
// comes with its primary key (KEY-1).
type Purchased struct {
	SubscriptionID string      `json:"subscription_id"`
	OrderID        string      `json:"order_id"`
	OrderDigest    string      `json:"order_digest"`
	ProductID      string      `json:"product_id"`
	Seats          int         `json:"seats"`
	Period         Period      `json:"period"`
	Channel        Channel     `json:"channel"`
	SupportPlan    SupportPlan `json:"support_plan"`
	Start          time.Time   `json:"start"`
	End            time.Time   `json:"end"` // zero for a permanent license
	AutoRenew      bool        `json:"auto_renew"`
	PrimaryKey     SealedKey   `json:"primary_key"`
	// A permanent license's terms (SUB-9): the major version bought and
	// the end of its upgrade insurance (nil: none).
	LicensedMajor int        `json:"licensed_major,omitempty"`
	InsuranceEnd  *time.Time `json:"insurance_end,omitempty"`
}

// SeatsAdded: the order system added seats (SUB-4); they go to the primary key.
type SeatsAdded struct {
	OrderID     string `json:"order_id"`
	OrderDigest string `json:"order_digest"`
	Seats       int    `json:"seats"`
}

// Renewed: the order system renewed the subscription for a period (SUB-4,
// SUB-6: a renewal in grace returns it to active). For a permanent
// license it extends the upgrade insurance instead (SUB-9).
type Renewed struct {
	OrderID      string     `json:"order_id"`
	OrderDigest  string     `json:"order_digest"`
	Period       Period     `json:"period"`
	End          time.Time  `json:"end"`
	InsuranceEnd *time.Time `json:"insurance_end,omitempty"`
}

// Cancelled: the order system cancelled the subscription; it is not
// renewed and ends at its end date.
type Cancelled struct {
	OrderID     string `json:"order_id"`
	OrderDigest string `json:"order_digest"`
}

// Registered: a key was registered and the subscription attached to a
// business account (rules KEY-2, SUB-7).
type Registered struct {
	AccountID string `json:"account_id"`
	By        string `json:"by"`
}

// Renamed: an admin changed the display name (SUB-5).
type Renamed struct {
	Name string `json:"name"`
	By   string `json:"by"`
}

// AutoRenewSet: an admin turned auto-renewal on or off (SUB-2).
type AutoRenewSet struct {
	On bool   `json:"on"`
	By string `json:"by"`
}

// GraceStarted: the end date passed; installations keep working for the
// grace period (SUB-6).
type GraceStarted struct {
	End time.Time `json:"end"` // the end date that passed
}

// Expired: the grace period ended without a renewal (SUB-6).
type Expired struct {
	End time.Time `json:"end"`
}

// SublicenseCreated: an additional "Reserved" key with its own quota
// (KEY-3); its seats are taken from the primary key (KEY-4).
type SublicenseCreated struct {
	Key       SealedKey  `json:"key"`
	Name      string     `json:"name"`
	Quota     int        `json:"quota"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // nil: renews with the subscription
	By        string     `json:"by"`
}

// SublicenseChanged: a sublicense's quota or expiry changed (KEY-5).
type SublicenseChanged struct {
	KeyID     string     `json:"key_id"`
	Quota     int        `json:"quota"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	By        string     `json:"by"`
}

// SublicenseRenamed: a sublicense was renamed (KEY-5).
type SublicenseRenamed struct {
	KeyID string `json:"key_id"`
	Name  string `json:"name"`
	By    string `json:"by"`
}

// SublicenseDeleted: a sublicense was deleted; its quota returns to the
// primary key (KEY-6).
type SublicenseDeleted struct {
	KeyID string `json:"key_id"`
	By    string `json:"by"`
}

// AdministratorGranted: an admin let a member manage one key (MEM-6).
type AdministratorGranted struct {
	KeyID    string `json:"key_id"`
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// AdministratorRevoked: an admin took that management away (MEM-6).
type AdministratorRevoked struct {
	KeyID    string `json:"key_id"`
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// ExpiryReminded: the subscription (KeyID empty) or a sublicense with its
// own expiry ends in DaysLeft days, at End; the account's admins are told.
type ExpiryReminded struct {
	KeyID     string    `json:"key_id,omitempty"`
	KeyName   string    `json:"key_name,omitempty"`
	End       time.Time `json:"end"`
	DaysLeft  int       `json:"days_left"`
	AutoRenew bool      `json:"auto_renew"` // the subscription renews itself
}

// RenewalRequested: the subscription renews automatically (SUB-2), so the
// ledger asked the order system to renew it for another period. The
// ledger never charges anything: the order system does, and answers with
// a renewal order (SUB-4). RequestID makes the request idempotent there.
type RenewalRequested struct {
	RequestID string    `json:"request_id"`
	ProductID string    `json:"product_id"`
	Seats     int       `json:"seats"`
	Period    Period    `json:"period"`
	End       time.Time `json:"end"` // the end date to renew from
}

// Register adds the subscription's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypePurchased, 1, Purchased{})
	reg.Register(TypeSeatsAdded, 1, SeatsAdded{})
	reg.Register(TypeRenewed, 1, Renewed{})
	reg.Register(TypeCancelled, 1, Cancelled{})
	reg.Register(TypeRegistered, 1, Registered{})
	reg.Register(TypeRenamed, 1, Renamed{})
	reg.Register(TypeAutoRenewSet, 1, AutoRenewSet{})
	reg.Register(TypeGraceStarted, 1, GraceStarted{})
	reg.Register(TypeExpired, 1, Expired{})
	reg.Register(TypeSublicenseCreated, 1, SublicenseCreated{})
	reg.Register(TypeSublicenseChanged, 1, SublicenseChanged{})
	reg.Register(TypeSublicenseRenamed, 1, SublicenseRenamed{})
	reg.Register(TypeSublicenseDeleted, 1, SublicenseDeleted{})
	reg.Register(TypeAdministratorSet, 1, AdministratorGranted{})
	reg.Register(TypeAdministratorUnset, 1, AdministratorRevoked{})
	reg.Register(TypeExpiryReminded, 1, ExpiryReminded{})
	reg.Register(TypeRenewalRequested, 1, RenewalRequested{})
	reg.Register(TypeSublicenseGraceStarted, 1, SublicenseGraceStarted{})
	reg.Register(TypeSublicenseExpired, 1, SublicenseExpired{})
}
