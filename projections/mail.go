package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// TimerKindMail is the kind of the timers that carry outgoing mail: the
// notifier schedules one per message in its transaction (the outbox), and
// infra/mail's handler renders and sends it when it fires.
const TimerKindMail = "mail.send"

// Mail is one notification to send, as the notifier decides it: who gets
// it, which template in which language, and the template's fields. It is
// the payload of a TimerKindMail timer, so its JSON shape is stable.
//
// A mail never holds a secret: a link that needs one names the token's
// purpose and subject, and the sender derives the token with the server's
// key when it renders the mail (see Link). The outbox therefore holds no
// usable link, and a retry mails the same link.
type Mail struct {
	// To is the recipient's address.
	To string `json:"to"`
	// Language is the template language (e.g. "en", "de"); the sender
	// falls back to English when it has no template in that language.
	Language string `json:"language"`
	// Template names the message (TemplateVerifyEmail, …).
	Template string `json:"template"`
	// Data are the template's fields (names, company, note …).
	Data map[string]string `json:"data,omitempty"`
	// Link, if set, is the action link the message carries.
	Link *Link `json:"link,omitempty"`
}

// Link is a link into the portal: the public base URL, Path, the Query
// parameters, and a "token" parameter derived from TokenPurpose and
// TokenSubject with the server's key (HMAC), the same token the command
// stored the hash of.
type Link struct {
	Path         string            `json:"path"`
	Query        map[string]string `json:"query,omitempty"`
	TokenPurpose string            `json:"token_purpose,omitempty"`
	TokenSubject string            `json:"token_subject,omitempty"`
}

// The templates the notifier uses. Each exists in English at least.
const (
	TemplateVerifyEmail     = "verify_email"
	TemplatePasswordReset   = "password_reset"
	TemplateInvitation      = "invitation"
	TemplateMemberBlocked   = "member_blocked"
	TemplateMemberUnblocked = "member_unblocked"
	TemplateMemberRemoved   = "member_removed"
	// TemplateSubscriptionEnding: a subscription or a sublicense with its
	// own expiry ends soon (rule SUB-6).
	TemplateSubscriptionEnding = "subscription_ending"
	// TemplateSubscriptionGrace: a subscription's end date (or a
	// sublicense's own expiry: Data "key") passed; its grace period runs
	// (SUB-6, KEY-3).
	TemplateSubscriptionGrace = "subscription_grace"
	// TemplateTicketUpdate: support replied to a ticket or changed its
	// status; to the owner and the watchers (rule TKT-3).
	TemplateTicketUpdate = "ticket_update"
	// TemplateTicketWatcher: the owner added a watcher to a ticket; to
	// the owner and the watchers, the new one included (rule TKT-3).
	TemplateTicketWatcher = "ticket_watcher"
	// TemplateInstallationGrace: a farm's usage first exceeded its key's
	// quota and a 7-day grace began (rule USE-3); to the account's admins.
	TemplateInstallationGrace = "installation_grace"
	// TemplateInstallationSuspended: after the grace, a farm stayed over
	// its quota and was deactivated for overuse until usage is back within
	// it (USE-4); to the account's admins.
	TemplateInstallationSuspended = "installation_suspended"
	// TemplateInstallationOverLimit: a proxy server manages more computers
	// than its license allows, when it starts and every hour while it
	// lasts (USE-6); to the account's admins.
	TemplateInstallationOverLimit = "installation_over_limit"
	// TemplateWebhookDisabled: a webhook endpoint failed to take an
	// event for three days of retries and was disabled (issue 22); to
	// the account's admins.
	TemplateWebhookDisabled = "webhook_disabled"
)

// scheduleMail puts m in the outbox: a mail timer, due when the event
// that caused it took effect (at once, or at once after a late timer's
// event: rule X-6), whose ID is derived from that event (so a replay never
// mails twice). The sender dates the mail by the due time: ledger time.
func scheduleMail(ctx context.Context, tx Tx, s Scheduler, id string, due time.Time, m Mail) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notifier: encode mail %s: %w", id, err)
	}
	return s.Schedule(ctx, tx, Timer{ID: "mail/" + id, Kind: TimerKindMail, Due: due, Payload: payload})
}
