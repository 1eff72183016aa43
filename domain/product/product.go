// Package product is the product catalog the back office keeps (rules
// PROD-1, SUB-8, SUB-9): each product's name, its licensing model, its
// trial terms and its current major version.
package product

import (
	"errors"
	"fmt"
	"regexp"

	"seatledger/domain/invalid"
	"seatledger/domain/text"

	"seatledger/domain/event"
)

// Model is how a product counts seats (rule PROD-1).
type Model string

// The licensing models.
const (
	// ConcurrentUsers: a seat is a distinct user signed in at the same
	// time; installations are farms.
	ConcurrentUsers Model = "concurrent_users"
	// ManagedComputers: a seat is a computer under management;
	// installations are proxy servers.
	ManagedComputers Model = "managed_computers"
)

// Trial is a product's trial terms (rule SUB-8): an installation may run
// the product without a key for Days days with at most Seats seats, once
// per server. Days 0: the product has no trial.
type Trial struct {
	Days  int `json:"days"`
	Seats int `json:"seats"`
}

// Limits of the catalog's fields.
const (
	// MaxMajorVersion bounds a product's major version: a version number,
	// not a count, so a bound well beyond any real one.
	MaxMajorVersion = 1_000_000
	MaxTrialDays    = 90
	MaxTrialSeats   = 100
	maxName         = 100
)

// TypeDefined is the stable name of the catalog's one event.
const TypeDefined = "product.defined"

// Defined: the back office added a product to the catalog or changed its
// terms. The model never changes once defined: subscriptions count seats
// by it.
type Defined struct {
	ProductID    string `json:"product_id"`
	Name         string `json:"name"`
	Model        Model  `json:"model"`
	Trial        Trial  `json:"trial"`
	MajorVersion int    `json:"major_version"`
}

// Register adds the catalog's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypeDefined, 1, Defined{})
}

// The catalog's errors.
var (
	ErrInvalid  = errors.New("product: invalid product")
	ErrModel    = errors.New("product: a product's licensing model cannot change")
	ErrNotFound = errors.New("product: no such product")
	ErrNoChange = errors.New("product: nothing to change")
)

// Product is a catalog entry as of its events.
type Product struct {
	def     Defined
	version uint64
}

// StreamID returns the event stream of product id.
func StreamID(id string) string { return "product-" + id }

// Exists reports whether the product is in the catalog.
func (p Product) Exists() bool { return p.def.ProductID != "" }

// ID, Name, Model, Trial and MajorVersion return the product's terms.
func (p Product) ID() string { return p.def.ProductID }

// Name returns the product's name.
func (p Product) Name() string { return p.def.Name }

// Model returns the licensing model.
func (p Product) Model() Model { return p.def.Model }

// Trial returns the trial terms.
func (p Product) Trial() Trial { return p.def.Trial }

// MajorVersion returns the current major version.
func (p Product) MajorVersion() int { return p.def.MajorVersion }

// Evolve applies one event.
func (p Product) Evolve(payload any) Product {
	if e, ok := payload.(Defined); ok {
		p.def = e
	}
	p.version++
	return p
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// ValidID reports whether id is a product ID: 1 to 40 lower-case letters,
// digits and dashes, starting with a letter or digit.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Define adds the product to the catalog or changes its terms.
func (p Product) Define(d Defined) ([]any, error) {
	var problems invalid.List
	if !ValidID(d.ProductID) {
		problems.Add("product_id", "product_id %q must be 1 to 40 lower-case letters, digits and dashes", d.ProductID)
	}
	problems.AddReason("name", text.Required("name", d.Name, text.Name, maxName)) // rule X-7
	if d.Model != ConcurrentUsers && d.Model != ManagedComputers {
		problems.Add("model", "model %q must be concurrent_users or managed_computers", d.Model)
	}
	if d.Trial.Days < 0 || d.Trial.Days > MaxTrialDays {
		problems.Add("trial.days", "trial.days must be from 0 to %d, not %d", MaxTrialDays, d.Trial.Days)
	}
	if d.Trial.Days > 0 && (d.Trial.Seats < 1 || d.Trial.Seats > MaxTrialSeats) {
		problems.Add("trial.seats", "trial.seats must be from 1 to %d, not %d", MaxTrialSeats, d.Trial.Seats)
	}
	if d.Trial.Days == 0 && d.Trial.Seats != 0 {
		problems.Add("trial.seats", "trial.seats needs trial.days")
	}
	if d.MajorVersion < 0 || d.MajorVersion > MaxMajorVersion {
		problems.Add("major_version", "major_version must be from 0 to %d, not %d", MaxMajorVersion, d.MajorVersion)
	}
	if err := problems.Err(ErrInvalid); err != nil {
		return nil, err
	}
	switch {
	case p.Exists() && p.def.Model != d.Model:
		return nil, fmt.Errorf("%w: %s counts %s", ErrModel, p.def.ProductID, p.def.Model)
	case p.Exists() && p.def == d:
		return nil, ErrNoChange
	}
	return []any{d}, nil
}
