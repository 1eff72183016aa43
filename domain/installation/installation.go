// Package installation is one installation of a product — a farm
// (concurrent users) or a proxy server (managed computers) — as its
// events tell it (rules PROD-4, ACT-1..8, USE-1..7): activation with a
// key, usage reports, overuse grace and suspension, deactivation.
//
// The key's side of an activation — one installation per key, at most
// three changes over the key's life (KEY-8) — is decided on the key's own
// stream (domain/licensekey); this aggregate decides what happens to the
// installation itself.
package installation

import (
	"errors"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/product"
	"seatledger/domain/text"
)

// Kind is what an installation is (PROD-4).
type Kind string

// The kinds of installations.
const (
	Farm        Kind = "farm"         // concurrent users
	ProxyServer Kind = "proxy_server" // managed computers
)

// Model returns the licensing model the kind runs under (PROD-1).
func (k Kind) Model() Model {
	if k == ProxyServer {
		return product.ManagedComputers
	}
	return product.ConcurrentUsers
}

// Model is a licensing model (PROD-1).
type Model = product.Model

// Mode says how the installation talked to the ledger.
type Mode string

// The modes.
const (
	Online  Mode = "online"
	Offline Mode = "offline" // by request and answer files (ACT-2)
)

// Reason says why an installation was deactivated.
type Reason string

// The reasons.
const (
	ByInstallation  Reason = "installation" // ACT-6
	ByPortal        Reason = "portal"       // ACT-7
	KeyDeleted      Reason = "key_deleted"  // KEY-6
	SubscriptionEnd Reason = "expired"      // SUB-6
	TrialEnded      Reason = "trial_ended"  // SUB-8
)

// Status is an installation's state.
type Status string

// The statuses.
const (
	Active Status = "active"
	// Pending: deactivated in the portal (ACT-7); its key is free at once,
	// and it is told at its next contact. Listed as active, marked.
	Pending Status = "deactivation_pending"
	// Suspended: deactivated for overuse (USE-4); it keeps reporting and
	// is reactivated once within its quota.
	SuspendedStatus Status = "suspended"
	Inactive        Status = "deactivated"
)

// Limits on what an installation may send.
const (
	MaxField = 200       // characters of an identity field
	MaxSeats = 1_000_000 // a reported count beyond this is absurd
	// MaxConnections bounds the live connections one report lists. The
	// guides' farms are licensed for tens of concurrent users ("for 10
	// concurrent users", sublicense quotas of 1 to 10); 1,000 is a hundred
	// times that, and a larger farm reports a count of seats instead.
	MaxConnections = 1_000
	MaxNotes       = 4_000 // characters of notes
	// Drift is how far in the future an installation's clock may be.
	Drift = 5 * time.Minute
)

// Overuse timing (USE-3, USE-4, USE-6).
const (
	GracePeriod        = 7 * 24 * time.Hour
	DeactivationDelay  = time.Hour // suspended 1–2 hours after the excess is seen
	RevalidateInterval = 20 * time.Minute
	AlertInterval      = time.Hour
	// RefusedEvery is how often at most a deactivated installation's
	// report is recorded (ACT-8).
	RefusedEvery = time.Hour
)

// Identity is who an installation is (PROD-4): a farm by its server ID,
// farm name and app version; a proxy server by its server name, site code,
// site description, app version and whether it is used offline.
type Identity struct {
	Kind            Kind   `json:"kind"`
	ServerID        string `json:"server_id,omitempty"`
	FarmName        string `json:"farm_name,omitempty"`
	ServerName      string `json:"server_name,omitempty"`
	SiteCode        string `json:"site_code,omitempty"`
	SiteDescription string `json:"site_description,omitempty"`
	AppVersion      string `json:"app_version"`
	OfflineUse      bool   `json:"offline_use,omitempty"`
}

// Check refuses an identity that lacks what its kind needs, or whose
// fields are not clean, bounded text (rule X-7): the server ID, server
// name, site code and app version are identifiers; the farm name and site
// description are names. Each wrong field is named ("identity.server_id").
func (id Identity) Check() error {
	var problems invalid.List
	var required map[string]bool
	switch id.Kind {
	case Farm:
		required = map[string]bool{"server_id": true, "farm_name": true, "app_version": true}
	case ProxyServer:
		required = map[string]bool{"server_name": true, "site_code": true, "app_version": true}
	default:
		problems.Add("identity.kind", "the kind is %q or %q, not %q", Farm, ProxyServer, id.Kind)
	}
	for _, f := range []struct {
		name, value string
		kind        text.Kind
	}{
		{"server_id", id.ServerID, text.Identifier}, {"farm_name", id.FarmName, text.Name},
		{"server_name", id.ServerName, text.Identifier}, {"site_code", id.SiteCode, text.Identifier},
		{"site_description", id.SiteDescription, text.Name}, {"app_version", id.AppVersion, text.Identifier},
	} {
		if required[f.name] && f.value == "" {
			problems.Add("identity."+f.name, "a %s needs %s (%s is required)", id.Kind, id.needs(), f.name)
			continue
		}
		problems.AddReason("identity."+f.name, text.Check(f.name, f.value, f.kind, MaxField))
	}
	return problems.Err(ErrInvalid)
}

func (id Identity) needs() string {
	if id.Kind == ProxyServer {
		return "server_name, site_code and app_version"
	}
	return "server_id, farm_name and app_version"
}

// Server is the part of the identity that names the machine: a farm's
// server ID, a proxy server's site code and server name. The app version
// and names may change; this does not.
func (id Identity) Server() string {
	if id.Kind == ProxyServer {
		return string(ProxyServer) + "/" + id.SiteCode + "/" + id.ServerName
	}
	return string(Farm) + "/" + id.ServerID
}

// namespace is the UUID namespace of installation IDs.
var namespace = [16]byte{0x5d, 0x1e, 0x3c, 0x0a, 0x6f, 0x0b, 0x4d, 0x7e, 0x9a, 0x51, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70}

// ID is the installation of server on key keyID: the same machine
// activating the same key again is the same installation, so a repeated
// activation is no change of installation (KEY-8).
func ID(server, keyID string) string { return nameUUID("key/" + keyID + "/" + server) }

// TrialID is the trial installation of server for product: one per
// server and product (SUB-8).
func TrialID(server, productID string) string { return nameUUID("trial/" + productID + "/" + server) }

func nameUUID(name string) string { return event.NameUUID(namespace[:], name) }

// StreamID returns the stream of installation id.
func StreamID(id string) string { return "installation-" + id }

// The installation's domain errors.
var (
	ErrNotFound    = errors.New("installation: no such installation")
	ErrInvalid     = errors.New("installation: invalid request")
	ErrDeactivated = errors.New("installation: the installation is deactivated")
	ErrTrialUsed   = errors.New("installation: this server has had its trial")
	ErrTrialEnded  = errors.New("installation: the trial has ended")
	ErrReplayed    = errors.New("installation: this request file was already used")
	ErrOverLimit   = errors.New("installation: the license limit is reached")
	ErrNoChange    = errors.New("installation: nothing to change")
	ErrModel       = errors.New("installation: the key's product is licensed under another model")
)

// Installation is an installation as of the events folded into it.
type Installation struct {
	id             string
	identity       Identity
	keyID, keyHint string
	subscriptionID string
	accountID      string
	productID      string
	model          Model
	generation     int
	status         Status
	mode           Mode
	trial          bool
	trialEnd       time.Time
	activatedAt    time.Time
	license        License // as last certified: at activation or refresh
	notes          string
	nonces         map[string]bool

	lastObserved time.Time // the installation's time of the last current report
	lastReport   time.Time // when the ledger received it
	seats        int       // current usage (USE-2)
	peak         int

	// Overuse (USE-3..6).
	graceUsed    bool
	graceQuota   int // the quota when the grace was used (USE-5)
	graceEnds    time.Time
	detected     bool // an overuse seen after the grace awaits its deadline
	deactivateAt time.Time
	overLimit    bool
	alerts       int
	lastRefused  time.Time // when a deactivated installation's report was last recorded

	version uint64
}

// Exists reports whether the installation was ever activated.
func (i Installation) Exists() bool { return i.id != "" }

// ID returns the installation's ID.
func (i Installation) ID() string { return i.id }

// Identity returns who the installation is.
func (i Installation) Identity() Identity { return i.identity }

// KeyID returns the key it was activated with ("" for a trial).
func (i Installation) KeyID() string { return i.keyID }

// KeyHint returns the last group of its key.
func (i Installation) KeyHint() string { return i.keyHint }

// SubscriptionID returns the subscription of its key.
func (i Installation) SubscriptionID() string { return i.subscriptionID }

// AccountID returns the business account it belongs to ("" for a trial).
func (i Installation) AccountID() string { return i.accountID }

// ProductID returns the product installed.
func (i Installation) ProductID() string { return i.productID }

// Model returns the licensing model it runs under.
func (i Installation) Model() Model { return i.model }

// Generation returns the number of its current activation.
func (i Installation) Generation() int { return i.generation }

// Status returns its state.
func (i Installation) Status() Status { return i.status }

// Mode returns how it was last activated.
func (i Installation) Mode() Mode { return i.mode }

// Trial reports whether it runs as a trial (SUB-8).
func (i Installation) Trial() bool { return i.trial }

// TrialEnd returns when a trial ends.
func (i Installation) TrialEnd() time.Time { return i.trialEnd }

// ActivatedAt returns when it was last activated.
func (i Installation) ActivatedAt() time.Time { return i.activatedAt }

// License returns the license last certified to the installation, at its
// activation or last refresh (ACT-4, ACT-5).
func (i Installation) License() License { return i.license }

// Notes returns the admins' notes (INST-4).
func (i Installation) Notes() string { return i.notes }

// Seats returns the current usage (USE-2).
func (i Installation) Seats() int { return i.seats }

// Peak returns the peak usage overall (USE-2).
func (i Installation) Peak() int { return i.peak }

// LastReport returns when the last current report was received.
func (i Installation) LastReport() time.Time { return i.lastReport }

// GraceEnds returns when the overuse grace ends (zero: never started).
func (i Installation) GraceEnds() time.Time { return i.graceEnds }

// GraceState is where a farm's 7-day overuse grace stands (USE-3..5).
type GraceState string

// The grace states.
const (
	// GraceAvailable: the next excess starts a grace — none began yet, or
	// seats were bought since the last one (USE-5).
	GraceAvailable GraceState = "available"
	// GraceRunning: a grace runs; more users than the quota may connect.
	GraceRunning GraceState = "running"
	// GraceUsed: the grace ran out and no seats were bought since: an
	// excess now suspends the farm within 1–2 hours (USE-4).
	GraceUsed GraceState = "used"
)

// Grace is the state of a farm's overuse grace at one moment.
type Grace struct {
	State GraceState
	// Ends is when a running grace ends, or when a used one ended; zero
	// when available.
	Ends time.Time
}

// Grace returns the state of the overuse grace at now, under the key's
// quota now (USE-3..5): a grace that ran out is available again once the
// quota has grown past the one it was used at.
func (i Installation) Grace(quota int, now time.Time) Grace {
	switch {
	case !i.graceUsed || quota > i.graceQuota:
		return Grace{State: GraceAvailable}
	case now.Before(i.graceEnds):
		return Grace{State: GraceRunning, Ends: i.graceEnds}
	}
	return Grace{State: GraceUsed, Ends: i.graceEnds}
}

// OverLimit reports whether a proxy server is over its limit (USE-6).
func (i Installation) OverLimit() bool { return i.overLimit }

// Version returns how many events were folded.
func (i Installation) Version() uint64 { return i.version }

// Licensed reports whether the installation is not deactivated yet: it is
// active, suspended for overuse (USE-4) or pending a portal deactivation
// (ACT-7), which takes effect at its next contact.
func (i Installation) Licensed() bool {
	return i.status == Active || i.status == SuspendedStatus || i.status == Pending
}

// HoldsKey reports whether the installation holds its key: it is active
// or suspended for overuse (it keeps its key, USE-4). One pending a portal
// deactivation has let its key go already (ACT-7): the key may activate
// another installation, and its seats no longer count as the key's.
func (i Installation) HoldsKey() bool {
	return i.status == Active || i.status == SuspendedStatus
}
