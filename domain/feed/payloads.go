package feed

import (
	"time"

	"seatledger/domain/account"
	"seatledger/domain/installation"
	"seatledger/domain/mdm"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
)

// The public payloads. Each is built field by field from its internal
// event: hashes (invitation tokens), sealed keys and their lookup hashes,
// order digests, offline nonces and connection-list digests are never
// copied. A "by" is the person (ID) who acted, or "support:NAME".

// Company is an account's company details.
type Company struct {
	Name    string `json:"name"`
	Street  string `json:"street,omitempty"`
	City    string `json:"city,omitempty"`
	Country string `json:"country"`
	State   string `json:"state,omitempty"`
	ZIP     string `json:"zip"`
	Phone   string `json:"phone"`
}

func companyOf(c account.Company) Company {
	return Company{Name: c.Name, Street: c.Street, City: c.City, Country: c.Country, State: c.State, ZIP: c.ZIP, Phone: c.Phone}
}

// AccountCreated is account.created.
type AccountCreated struct {
	Company     Company `json:"company"`
	SupportCode string  `json:"support_code"`
	CreatedBy   string  `json:"created_by"`
}

// AccountProfileChanged is account.profile_changed.
type AccountProfileChanged struct {
	Company Company `json:"company"`
	By      string  `json:"by"`
}

// AccountOfflineActivationSet is account.offline_activation_set. The
// reason is published: it is the back office's account to the customer of
// why it turned a switch inside their account (issue 23), which the
// account's history shows its members too; it holds no secret.
type AccountOfflineActivationSet struct {
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
}

// MemberEvent is member.joined, member.blocked, member.unblocked,
// member.removed and member.left ("by" empty when the member acted).
type MemberEvent struct {
	PersonID string `json:"person_id"`
	By       string `json:"by,omitempty"`
}

// MemberRoleChanged is member.role_changed.
type MemberRoleChanged struct {
	PersonID string `json:"person_id"`
	Role     string `json:"role"`
	Note     string `json:"note,omitempty"`
	By       string `json:"by"`
}

// MemberInvited is member.invited (the link's token is never published).
type MemberInvited struct {
	InvitationID string    `json:"invitation_id"`
	Email        string    `json:"email"`
	Language     string    `json:"language"`
	ExpiresAt    time.Time `json:"expires_at"`
	By           string    `json:"by"`
}

// InvitationRevoked is member.invitation_revoked.
type InvitationRevoked struct {
	InvitationID string `json:"invitation_id"`
	By           string `json:"by"`
}

var accountEvents = []func() (string, publication){
	func() (string, publication) {
		return publish("account.created", func(e account.Created) any {
			return AccountCreated{Company: companyOf(e.Company), SupportCode: e.SupportCode, CreatedBy: e.CreatorID}
		})
	},
	func() (string, publication) {
		return publish("account.profile_changed", func(e account.ProfileChanged) any {
			return AccountProfileChanged{Company: companyOf(e.Company), By: e.By}
		})
	},
	func() (string, publication) {
		return publish("account.offline_activation_set", func(e account.OfflineActivationSet) any {
			return AccountOfflineActivationSet{Enabled: e.Enabled, Reason: e.Reason}
		})
	},
	func() (string, publication) {
		return publish("member.joined", func(e account.MemberJoined) any { return MemberEvent{PersonID: e.PersonID} })
	},
	func() (string, publication) {
		return publish("member.role_changed", func(e account.RoleChanged) any {
			return MemberRoleChanged{PersonID: e.PersonID, Role: e.Role.String(), Note: e.Note, By: e.By}
		})
	},
	func() (string, publication) {
		return publish("member.blocked", func(e account.MemberBlocked) any { return MemberEvent{PersonID: e.PersonID, By: e.By} })
	},
	func() (string, publication) {
		return publish("member.unblocked", func(e account.MemberUnblocked) any { return MemberEvent{PersonID: e.PersonID, By: e.By} })
	},
	func() (string, publication) {
		return publish("member.removed", func(e account.MemberRemoved) any { return MemberEvent{PersonID: e.PersonID, By: e.By} })
	},
	func() (string, publication) {
		return publish("member.left", func(e account.MemberLeft) any { return MemberEvent{PersonID: e.PersonID} })
	},
	func() (string, publication) {
		return publish("member.invited", func(e account.MemberInvited) any {
			return MemberInvited{InvitationID: e.InvitationID, Email: e.Email, Language: e.Language, ExpiresAt: e.ExpiresAt, By: e.InvitedBy}
		})
	},
	func() (string, publication) {
		return publish("member.invitation_revoked", func(e account.InvitationRevoked) any {
			return InvitationRevoked{InvitationID: e.InvitationID, By: e.By}
		})
	},
}

// SubscriptionRegistered is subscription.registered: the first event of
// a subscription in its account's feed.
type SubscriptionRegistered struct {
	By string `json:"by"`
}

// SubscriptionOrder is subscription.seats_added, subscription.renewed and
// subscription.cancelled: an order of the vendor's order system.
type SubscriptionOrder struct {
	OrderID      string     `json:"order_id"`
	Seats        int        `json:"seats,omitempty"`
	Period       string     `json:"period,omitempty"`
	End          *time.Time `json:"end,omitempty"`
	InsuranceEnd *time.Time `json:"insurance_end,omitempty"`
}

// SubscriptionRenamed is subscription.renamed.
type SubscriptionRenamed struct {
	Name string `json:"name"`
	By   string `json:"by"`
}

// SubscriptionAutoRenewSet is subscription.auto_renew_set.
type SubscriptionAutoRenewSet struct {
	On bool   `json:"on"`
	By string `json:"by"`
}

// SubscriptionEnd is subscription.grace_started and subscription.expired.
type SubscriptionEnd struct {
	End time.Time `json:"end"`
}

// Sublicense is subscription.sublicense_created, _changed, _renamed and
// _deleted: only the key's last group (hint) is ever published.
type Sublicense struct {
	KeyID     string     `json:"key_id"`
	KeyHint   string     `json:"key_hint,omitempty"`
	Name      string     `json:"name,omitempty"`
	Quota     *int       `json:"quota,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	By        string     `json:"by,omitempty"`
}

// KeyAdministrator is subscription.key_administrator_granted and _revoked.
type KeyAdministrator struct {
	KeyID    string `json:"key_id"`
	PersonID string `json:"person_id"`
	By       string `json:"by"`
}

// ExpiryReminded is subscription.expiry_reminded (key_id set for a
// sublicense with its own expiry).
type ExpiryReminded struct {
	KeyID     string    `json:"key_id,omitempty"`
	KeyName   string    `json:"key_name,omitempty"`
	End       time.Time `json:"end"`
	DaysLeft  int       `json:"days_left"`
	AutoRenew bool      `json:"auto_renew"`
}

// RenewalRequested is subscription.renewal_requested.
type RenewalRequested struct {
	Seats  int       `json:"seats"`
	Period string    `json:"period"`
	End    time.Time `json:"end"`
}

// SublicenseLapse is subscription.sublicense_grace_started and
// subscription.sublicense_expired (quota: what returned to the primary key).
type SublicenseLapse struct {
	KeyID     string    `json:"key_id"`
	KeyName   string    `json:"key_name"`
	ExpiresAt time.Time `json:"expires_at"`
	Quota     *int      `json:"quota,omitempty"`
}

var subscriptionEvents = []func() (string, publication){
	func() (string, publication) {
		return publish("subscription.registered", func(e subscription.Registered) any { return SubscriptionRegistered{By: e.By} })
	},
	func() (string, publication) {
		return publish("subscription.seats_added", func(e subscription.SeatsAdded) any {
			return SubscriptionOrder{OrderID: e.OrderID, Seats: e.Seats}
		})
	},
	func() (string, publication) {
		return publish("subscription.renewed", func(e subscription.Renewed) any {
			return SubscriptionOrder{OrderID: e.OrderID, Period: string(e.Period), End: timeOrNil(e.End), InsuranceEnd: e.InsuranceEnd}
		})
	},
	func() (string, publication) {
		return publish("subscription.cancelled", func(e subscription.Cancelled) any { return SubscriptionOrder{OrderID: e.OrderID} })
	},
	func() (string, publication) {
		return publish("subscription.renamed", func(e subscription.Renamed) any { return SubscriptionRenamed(e) })
	},
	func() (string, publication) {
		return publish("subscription.auto_renew_set", func(e subscription.AutoRenewSet) any { return SubscriptionAutoRenewSet(e) })
	},
	func() (string, publication) {
		return publish("subscription.grace_started", func(e subscription.GraceStarted) any { return SubscriptionEnd(e) })
	},
	func() (string, publication) {
		return publish("subscription.expired", func(e subscription.Expired) any { return SubscriptionEnd(e) })
	},
	func() (string, publication) {
		return publish("subscription.sublicense_created", func(e subscription.SublicenseCreated) any {
			return Sublicense{KeyID: e.Key.KeyID, KeyHint: e.Key.Hint, Name: e.Name, Quota: &e.Quota, ExpiresAt: e.ExpiresAt, By: e.By}
		})
	},
	func() (string, publication) {
		return publish("subscription.sublicense_changed", func(e subscription.SublicenseChanged) any {
			return Sublicense{KeyID: e.KeyID, Quota: &e.Quota, ExpiresAt: e.ExpiresAt, By: e.By}
		})
	},
	func() (string, publication) {
		return publish("subscription.sublicense_renamed", func(e subscription.SublicenseRenamed) any {
			return Sublicense{KeyID: e.KeyID, Name: e.Name, By: e.By}
		})
	},
	func() (string, publication) {
		return publish("subscription.sublicense_deleted", func(e subscription.SublicenseDeleted) any {
			return Sublicense{KeyID: e.KeyID, By: e.By}
		})
	},
	func() (string, publication) {
		return publish("subscription.key_administrator_granted", func(e subscription.AdministratorGranted) any { return KeyAdministrator(e) })
	},
	func() (string, publication) {
		return publish("subscription.key_administrator_revoked", func(e subscription.AdministratorRevoked) any { return KeyAdministrator(e) })
	},
	func() (string, publication) {
		return publish("subscription.expiry_reminded", func(e subscription.ExpiryReminded) any { return ExpiryReminded(e) })
	},
	func() (string, publication) {
		return publish("subscription.renewal_requested", func(e subscription.RenewalRequested) any {
			return RenewalRequested{Seats: e.Seats, Period: string(e.Period), End: e.End}
		})
	},
	func() (string, publication) {
		return publish("subscription.sublicense_grace_started", func(e subscription.SublicenseGraceStarted) any {
			return SublicenseLapse{KeyID: e.KeyID, KeyName: e.KeyName, ExpiresAt: e.ExpiresAt}
		})
	},
	func() (string, publication) {
		return publish("subscription.sublicense_expired", func(e subscription.SublicenseExpired) any {
			return SublicenseLapse{KeyID: e.KeyID, KeyName: e.KeyName, ExpiresAt: e.ExpiresAt, Quota: &e.Quota}
		})
	},
}

// License is what an installation is licensed for.
type License struct {
	KeyID     string     `json:"key_id"`
	KeyHint   string     `json:"key_hint,omitempty"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end,omitempty"`
	Seats     int        `json:"seats"`
	Used      int        `json:"used"`
	Remaining int        `json:"remaining"`
}

func licenseOf(l installation.License) License {
	return License{KeyID: l.KeyID, KeyHint: l.KeyHint, Start: l.Start, End: timeOrNil(l.End), Seats: l.Seats, Used: l.Used, Remaining: l.Remaining}
}

// InstallationActivated is installation.activated.
type InstallationActivated struct {
	Kind            string  `json:"kind"`
	ServerID        string  `json:"server_id,omitempty"`
	FarmName        string  `json:"farm_name,omitempty"`
	ServerName      string  `json:"server_name,omitempty"`
	SiteCode        string  `json:"site_code,omitempty"`
	SiteDescription string  `json:"site_description,omitempty"`
	AppVersion      string  `json:"app_version"`
	Mode            string  `json:"mode"`
	SubscriptionID  string  `json:"subscription_id"`
	ProductID       string  `json:"product_id"`
	License         License `json:"license"`
	By              string  `json:"by,omitempty"`
}

// InstallationRefreshed is installation.refreshed.
type InstallationRefreshed struct {
	Mode    string  `json:"mode"`
	License License `json:"license"`
}

// UsageReported is installation.usage_reported: current is false for a
// report older than the last one, which moves nothing.
type UsageReported struct {
	Seats      int       `json:"seats"`
	Quota      int       `json:"quota"`
	ObservedAt time.Time `json:"observed_at"`
	Current    bool      `json:"current"`
}

// InstallationBy is installation.deactivation_requested.
type InstallationBy struct {
	By string `json:"by"`
}

// InstallationDeactivated is installation.deactivated.
type InstallationDeactivated struct {
	Reason string `json:"reason"`
	Mode   string `json:"mode,omitempty"`
	By     string `json:"by,omitempty"`
}

// InstallationNotes is installation.notes_set.
type InstallationNotes struct {
	Notes string `json:"notes"`
	By    string `json:"by"`
}

// Overuse is installation.overuse_started (grace_ends: the end of its
// 7-day grace), overuse_detected (suspend_at), overuse_cleared,
// suspended, overuse_revalidated and reactivated.
type Overuse struct {
	Seats     int        `json:"seats"`
	Quota     int        `json:"quota"`
	GraceEnds *time.Time `json:"grace_ends,omitempty"`
	SuspendAt *time.Time `json:"suspend_at,omitempty"`
}

// OverLimit is installation.over_limit_started, _alerted (alert: the
// repeat's number) and _ended, and installation.computers_enrolled
// (enrolled: the computers just allowed).
type OverLimit struct {
	Computers int `json:"computers"`
	Quota     int `json:"quota"`
	Alert     int `json:"alert,omitempty"`
	Enrolled  int `json:"enrolled,omitempty"`
}

// ReportRefused is installation.usage_report_refused.
type ReportRefused struct {
	Seats      int       `json:"seats"`
	ObservedAt time.Time `json:"observed_at"`
	Reason     string    `json:"reason"`
}

var installationEvents = []func() (string, publication){
	func() (string, publication) {
		return publish("installation.activated", func(e installation.Activated) any {
			id := e.Identity
			return InstallationActivated{Kind: string(id.Kind), ServerID: id.ServerID, FarmName: id.FarmName, ServerName: id.ServerName,
				SiteCode: id.SiteCode, SiteDescription: id.SiteDescription, AppVersion: id.AppVersion, Mode: string(e.Mode),
				SubscriptionID: e.SubscriptionID, ProductID: e.ProductID, License: licenseOf(e.License), By: e.By}
		})
	},
	func() (string, publication) {
		return publish("installation.refreshed", func(e installation.Refreshed) any {
			return InstallationRefreshed{Mode: string(e.Mode), License: licenseOf(e.License)}
		})
	},
	func() (string, publication) {
		return publish("installation.usage_reported", func(e installation.UsageReported) any {
			return UsageReported{Seats: e.Seats, Quota: e.Quota, ObservedAt: e.ObservedAt, Current: e.Current}
		})
	},
	func() (string, publication) {
		return publish("installation.deactivation_requested", func(e installation.DeactivationRequested) any { return InstallationBy(e) })
	},
	func() (string, publication) {
		return publish("installation.deactivated", func(e installation.Deactivated) any {
			return InstallationDeactivated{Reason: string(e.Reason), Mode: string(e.Mode), By: e.By}
		})
	},
	func() (string, publication) {
		return publish("installation.notes_set", func(e installation.NotesSet) any { return InstallationNotes(e) })
	},
	func() (string, publication) {
		return publish("installation.overuse_started", func(e installation.GraceStarted) any {
			return Overuse{Seats: e.Seats, Quota: e.Quota, GraceEnds: &e.Ends}
		})
	},
	func() (string, publication) {
		return publish("installation.overuse_detected", func(e installation.OveruseDetected) any {
			return Overuse{Seats: e.Seats, Quota: e.Quota, SuspendAt: &e.DeactivateAt}
		})
	},
	func() (string, publication) {
		return publish("installation.overuse_cleared", func(e installation.OveruseCleared) any { return Overuse{Seats: e.Seats, Quota: e.Quota} })
	},
	func() (string, publication) {
		return publish("installation.suspended", func(e installation.Suspended) any { return Overuse{Seats: e.Seats, Quota: e.Quota} })
	},
	func() (string, publication) {
		return publish("installation.overuse_revalidated", func(e installation.Revalidated) any { return Overuse{Seats: e.Seats, Quota: e.Quota} })
	},
	func() (string, publication) {
		return publish("installation.reactivated", func(e installation.Resumed) any { return Overuse{Seats: e.Seats, Quota: e.Quota} })
	},
	func() (string, publication) {
		return publish("installation.over_limit_started", func(e installation.OverLimitStarted) any {
			return OverLimit{Computers: e.Computers, Quota: e.Quota}
		})
	},
	func() (string, publication) {
		return publish("installation.over_limit_alerted", func(e installation.OverLimitAlerted) any {
			return OverLimit{Computers: e.Computers, Quota: e.Quota, Alert: e.Alert}
		})
	},
	func() (string, publication) {
		return publish("installation.over_limit_ended", func(e installation.OverLimitEnded) any {
			return OverLimit{Computers: e.Computers, Quota: e.Quota}
		})
	},
	func() (string, publication) {
		return publish("installation.computers_enrolled", func(e installation.Enrolled) any {
			return OverLimit{Computers: e.Managed, Quota: e.Quota, Enrolled: e.Computers}
		})
	},
	func() (string, publication) {
		return publish("installation.usage_report_refused", func(e installation.ReportRefused) any { return ReportRefused(e) })
	},
}

// TicketOpened is ticket.opened.
type TicketOpened struct {
	Owner       string     `json:"owner"`
	ProductID   string     `json:"product_id"`
	Category    string     `json:"category"`
	Subject     string     `json:"subject"`
	Description string     `json:"description"`
	Channel     string     `json:"channel"`
	CallAt      *time.Time `json:"call_at,omitempty"`
}

// Attachment is a file of a ticket's reply (its bytes are downloaded
// from the ticket's API).
type Attachment struct {
	AttachmentID string `json:"attachment_id"`
	Name         string `json:"name"`
	ContentType  string `json:"content_type"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
}

// TicketReplied is ticket.replied.
type TicketReplied struct {
	ReplyID     string       `json:"reply_id"`
	Author      string       `json:"author"`
	FromSupport bool         `json:"from_support"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
}

// TicketChange is ticket.status_changed (status set), ticket.closed,
// ticket.reopened, ticket.watcher_added and ticket.watcher_removed
// (person_id set).
type TicketChange struct {
	Status   string `json:"status,omitempty"`
	PersonID string `json:"person_id,omitempty"`
	By       string `json:"by"`
}

// TicketSurvey is ticket.survey_submitted.
type TicketSurvey struct {
	Rating   int    `json:"rating"`
	Feedback string `json:"feedback,omitempty"`
	By       string `json:"by"`
}

var ticketEvents = []func() (string, publication){
	func() (string, publication) {
		return publish("ticket.opened", func(e ticket.Opened) any {
			return TicketOpened{Owner: e.Owner, ProductID: e.ProductID, Category: e.Category.String(), Subject: e.Subject,
				Description: e.Description, Channel: e.Channel.Kind.String(), CallAt: e.Channel.CallAt}
		})
	},
	func() (string, publication) {
		return publish("ticket.replied", func(e ticket.Replied) any {
			files := make([]Attachment, len(e.Attachments))
			for i, a := range e.Attachments {
				files[i] = Attachment(a)
			}
			return TicketReplied{ReplyID: e.ReplyID, Author: e.Author, FromSupport: e.FromSupport, Body: e.Body, Attachments: files}
		})
	},
	func() (string, publication) {
		return publish("ticket.status_changed", func(e ticket.StatusChanged) any { return TicketChange{Status: e.Status.String(), By: e.By} })
	},
	func() (string, publication) {
		return publish("ticket.closed", func(e ticket.Closed) any { return TicketChange{By: e.By} })
	},
	func() (string, publication) {
		return publish("ticket.reopened", func(e ticket.Reopened) any { return TicketChange{By: e.By} })
	},
	func() (string, publication) {
		return publish("ticket.survey_submitted", func(e ticket.SurveySubmitted) any { return TicketSurvey(e) })
	},
	func() (string, publication) {
		return publish("ticket.watcher_added", func(e ticket.WatcherAdded) any { return TicketChange{PersonID: e.PersonID, By: e.By} })
	},
	func() (string, publication) {
		return publish("ticket.watcher_removed", func(e ticket.WatcherRemoved) any { return TicketChange{PersonID: e.PersonID, By: e.By} })
	},
}

// CertificateIssued is mdm.certificate_issued (the certificate itself is
// the admin's download; its fingerprint identifies it).
type CertificateIssued struct {
	Serial            string    `json:"serial"`
	Subject           string    `json:"subject"`
	NotBefore         time.Time `json:"not_before"`
	NotAfter          time.Time `json:"not_after"`
	FingerprintSHA256 string    `json:"fingerprint_sha256"`
	SubscriptionID    string    `json:"subscription_id,omitempty"`
	By                string    `json:"by"`
}

var mdmEvents = []func() (string, publication){
	func() (string, publication) {
		return publish("mdm.certificate_issued", func(e mdm.CertificateIssued) any {
			return CertificateIssued{Serial: e.Serial, Subject: e.Subject, NotBefore: e.NotBefore, NotAfter: e.NotAfter,
				FingerprintSHA256: e.FingerprintSHA256, SubscriptionID: e.SubscriptionID, By: e.By}
		})
	},
}

// timeOrNil is nil for the zero time (a permanent license's end).
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
