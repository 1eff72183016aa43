package commands

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/invalid"
	"seatledger/domain/licensekey"
	"seatledger/domain/subscription"
)

// The errors of the installations' use cases.
var (
	// ErrCredential: a missing, malformed, foreign or retired credential.
	ErrCredential = errors.New("commands: the installation's credential is not valid")
	// ErrOfflineDisabled: offline activation is off for the account (ACT-3).
	ErrOfflineDisabled = errors.New("commands: offline activation is not enabled for this business account; ask the vendor's back office")
	// ErrNoTrial: the product offers no trial (SUB-8).
	ErrNoTrial = errors.New("commands: the product offers no trial")
)

func evolveInstallation(i installation.Installation, payload any, rec event.Record) installation.Installation {
	return i.Evolve(payload, rec.Effective())
}

// InstallationsHandler runs the use cases of installations: activation,
// usage reports, enrollment, deactivation and notes (rules ACT-1..8,
// USE-1..6, INST-3, INST-4, SUB-8), and the overuse timers.
type InstallationsHandler struct {
	loader        *Loader
	tokens        Tokens
	subscriptions *SubscriptionsHandler // an activation looks its key up
}

// NewInstallationsHandler returns an InstallationsHandler on loader;
// tokens derives the installations' credentials, and subscriptions looks
// up the keys they activate with and authorizes people on them. It
// returns an error wrapping ErrMissingDependency if one of them is nil.
func NewInstallationsHandler(loader *Loader, tokens Tokens, subscriptions *SubscriptionsHandler) (*InstallationsHandler, error) {
	if err := dependencies("NewInstallationsHandler", dep{"a Loader", loader != nil}, dep{"Tokens", tokens != nil},
		dep{"a SubscriptionsHandler", subscriptions != nil}); err != nil {
		return nil, err
	}
	return &InstallationsHandler{loader: loader, tokens: tokens, subscriptions: subscriptions}, nil
}

// Installation returns installation id as of its latest event.
func (h *InstallationsHandler) Installation(ctx context.Context, id string) (installation.Installation, error) {
	return h.loader.installation(ctx, id)
}

// credentialPrefix starts every installation credential, so that a
// credential is told from a person's API token at a glance.
const credentialPrefix = "sli_"

// Credential returns the credential of installation i's current
// activation (rule ACT-1): its ID, its generation and a token the server's
// key derives from both. Nothing of it is stored; a new activation
// retires the credentials of earlier ones, and a repeated activation
// gets the same credential again.
func (h *InstallationsHandler) Credential(i installation.Installation) string {
	gen := strconv.Itoa(i.Generation())
	return credentialPrefix + i.ID() + "." + gen + "." + h.tokens.Token("installation-credential", i.ID()+"/"+gen)
}

// Authenticate returns the installation a credential belongs to, or
// ErrCredential.
func (h *InstallationsHandler) Authenticate(ctx context.Context, credential string) (installation.Installation, error) {
	rest, ok := strings.CutPrefix(credential, credentialPrefix)
	parts := strings.SplitN(rest, ".", 3)
	if !ok || len(parts) != 3 || !validUUID(parts[0]) {
		return installation.Installation{}, ErrCredential
	}
	// The installation as of a moment ago: this process folds what it
	// appends into its cache, so only another process's activation could
	// be missed, for at most hotFreshness; a decision on the installation
	// is appended under its exact version, and a report checks that its
	// credential's generation is still current.
	i, _, err := h.loader.installations.recent(ctx, h.loader, parts[0], hotFreshness)
	if err == nil && !i.Exists() {
		return i, ErrCredential
	}
	if err != nil {
		return i, err
	}
	if subtle.ConstantTimeCompare([]byte(credential), []byte(h.Credential(i))) != 1 {
		return installation.Installation{}, ErrCredential
	}
	return i, nil
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdef", r):
			return false
		}
	}
	return true
}

// Activate is an activation request (rules ACT-1, ACT-2, SUB-8): a key
// and the installation's identity, or, for a trial, a product and the
// identity.
type Activate struct {
	Key       string // empty for a trial
	ProductID string // a trial's product
	Identity  installation.Identity
	// Offline activations come from a request file that an admin of
	// AccountID uploaded (ACT-2); Nonce is the request's.
	Mode      installation.Mode
	Nonce     string
	AccountID string
}

// Activation is what an activation answers (ACT-1, ACT-4).
type Activation struct {
	event.AppendResult
	Installation installation.Installation
	Credential   string
	License      installation.License
}

// Activate activates an installation. With a key: the key's subscription
// must be registered (SUB-7) and not expired (SUB-6), the key's product
// must run under the installation's model (PROD-1, PROD-4), and the key
// must be free or already bound to this installation (KEY-8), decided on
// the key's stream under its exact version, so two installations racing
// for one key cannot both win. Without a key: a trial of the product,
// once per server (SUB-8).
func (h *InstallationsHandler) Activate(ctx context.Context, meta Meta, a Activate) (Activation, error) {
	if a.Mode == "" {
		a.Mode = installation.Online
	}
	if err := a.Identity.Check(); err != nil {
		return Activation{}, err
	}
	a.Identity.OfflineUse = a.Mode == installation.Offline
	if a.Key == "" {
		return h.activateTrial(ctx, meta, a)
	}
	s, keyID, err := h.subscriptions.LookUpKey(ctx, a.Key)
	if err != nil {
		return Activation{}, err
	}
	req, err := h.activation(ctx, s, keyID, a)
	if err != nil {
		return Activation{}, err
	}
	// Decide on the installation first, without recording: a request that
	// is bound to fail must not take the key.
	current, err := h.installationOrNew(ctx, req.ID)
	if err != nil {
		return Activation{}, err
	}
	if current.Status() == installation.Pending {
		// A portal deactivation takes effect at the next contact (ACT-7);
		// this activation is that contact, and then starts anew.
		if _, _, err := h.deactivate(ctx, meta, req.ID, "Activate", func(i installation.Installation, now time.Time) ([]any, error) {
			return i.Contact(now)
		}); err != nil && !errors.Is(err, installation.ErrDeactivated) {
			return Activation{}, err
		}
		if current, err = h.installationOrNew(ctx, req.ID); err != nil {
			return Activation{}, err
		}
	}
	if _, err := current.Activate(req); err != nil {
		return Activation{}, err
	}
	prev, err := h.bindKey(ctx, meta, keyID, req.ID)
	if err != nil {
		return Activation{}, err
	}
	act, err := h.recordActivation(ctx, meta, req)
	if err != nil {
		return act, err
	}
	// ACT-7: the key left an installation deactivated in the portal that
	// never called again (a damaged or stolen server); now that the key
	// activates another, that one is deactivated, listed so and refused
	// if it ever calls.
	if prev != "" && prev != req.ID {
		pos, _, err := h.deactivate(ctx, meta, prev, "Activate", func(i installation.Installation, _ time.Time) ([]any, error) {
			return i.Superseded()
		})
		if err != nil {
			return act, fmt.Errorf("deactivate the installation the key left: %w", err)
		}
		// A read after the activation sees the other one deactivated.
		act.Position = max(act.Position, pos)
	}
	return act, nil
}

// activation checks what the key's subscription allows and builds the
// activation to decide on.
func (h *InstallationsHandler) activation(ctx context.Context, s subscription.Subscription, keyID string, a Activate) (installation.Activation, error) {
	now := h.loader.clock.Now()
	k, _ := s.Key(keyID)
	switch {
	case s.AccountID() == "":
		return installation.Activation{}, subscription.ErrNotRegistered
	case a.Mode == installation.Offline && s.AccountID() != a.AccountID:
		return installation.Activation{}, fmt.Errorf("%w: the key is not registered to this business account", ErrUnknownKey)
	case s.StatusAt(now) == subscription.Ended:
		return installation.Activation{}, fmt.Errorf("%w: it ended on %s", subscription.ErrExpired, s.End().UTC().Format(time.DateOnly))
	case k.StatusAt(now) == subscription.KeyExpired:
		// KEY-3: like a subscription, a sublicense works through the 30
		// days of grace after its own expiry, and stops after them.
		return installation.Activation{}, fmt.Errorf("%w: the sublicense expired on %s and its 30 days of grace are over",
			subscription.ErrExpired, k.ExpiresAt.UTC().Format(time.DateOnly))
	}
	if a.Mode == installation.Offline {
		acct, err := h.loader.account(ctx, s.AccountID())
		if err != nil {
			return installation.Activation{}, err
		}
		if !acct.OfflineActivation() {
			return installation.Activation{}, ErrOfflineDisabled
		}
	}
	p, err := h.loader.product(ctx, s.ProductID())
	if err != nil {
		return installation.Activation{}, err
	}
	id := installation.ID(a.Identity.Server(), keyID)
	used := 0
	if i, err := h.installationOrNew(ctx, id); err != nil {
		return installation.Activation{}, err
	} else if i.Licensed() {
		used = i.Seats()
	}
	return installation.Activation{
		ID: id, Identity: a.Identity, Mode: a.Mode, Nonce: a.Nonce,
		KeyID: keyID, KeyHint: k.Hint, SubscriptionID: s.ID(), AccountID: s.AccountID(), ProductID: p.ID(), Model: p.Model(),
		License: licenseOf(s, k, used),
	}, nil
}

// licenseOf is key k's license (ACT-4) with used seats in use.
func licenseOf(s subscription.Subscription, k subscription.Key, used int) installation.License {
	end := s.End()
	if k.ExpiresAt != nil {
		end = *k.ExpiresAt
	}
	return installation.LicenseOf(k.ID, k.Hint, s.Start(), end, k.Quota, used, false)
}

func (h *InstallationsHandler) activateTrial(ctx context.Context, meta Meta, a Activate) (Activation, error) {
	if a.Mode != installation.Online {
		return Activation{}, fmt.Errorf("%w: a trial is activated online", installation.ErrInvalid)
	}
	p, err := h.loader.product(ctx, a.ProductID)
	if err != nil {
		return Activation{}, err
	}
	if p.Trial().Days == 0 {
		return Activation{}, ErrNoTrial
	}
	id := installation.TrialID(a.Identity.Server(), p.ID())
	i, err := h.installationOrNew(ctx, id)
	if err != nil {
		return Activation{}, err
	}
	lic := i.License()
	if !i.Exists() {
		now := h.loader.clock.Now().UTC()
		end := now.AddDate(0, 0, p.Trial().Days)
		lic = installation.LicenseOf("", "", now, end, p.Trial().Seats, 0, true)
	}
	return h.recordActivation(ctx, meta, installation.Activation{
		ID: id, Identity: a.Identity, Mode: a.Mode, ProductID: p.ID(), Model: p.Model(), License: lic, TrialEnd: lic.End,
	})
}

// recordActivation appends the activation and answers with the
// installation's credential and license.
func (h *InstallationsHandler) recordActivation(ctx context.Context, meta Meta, req installation.Activation) (Activation, error) {
	res, err := update(ctx, h.loader, h.loader.installations, req.ID, "Activate", meta, func(i installation.Installation, _ time.Time) ([]any, error) {
		return i.Activate(req)
	})
	if err != nil {
		return Activation{}, err
	}
	i, err := h.loader.installation(ctx, req.ID)
	if err != nil {
		return Activation{}, err
	}
	lic := req.License
	lic.Used, lic.Remaining = i.Seats(), max(lic.Seats-i.Seats(), 0)
	return Activation{AppendResult: res, Installation: i, Credential: h.Credential(i), License: lic}, nil
}

func (h *InstallationsHandler) installationOrNew(ctx context.Context, id string) (installation.Installation, error) {
	i, _, err := h.loader.installations.current(ctx, h.loader, id)
	return i, err
}

// abandonedBinding is how long a key may stay bound to an installation
// whose activation was never recorded (the process stopped between the
// two appends) before another installation may take the key.
const abandonedBinding = time.Minute

// bindKey binds key keyID to installation id on the key's stream (rule
// KEY-8) and returns the installation the key was bound to before ("" for
// none). A key still bound to an installation that no longer holds it —
// deactivated with its release interrupted, pending a portal deactivation
// recorded before ACT-7 released keys at once, or whose activation was
// abandoned — is released first, in the same append.
func (h *InstallationsHandler) bindKey(ctx context.Context, meta Meta, keyID, id string) (string, error) {
	var prev string
	_, err := update(ctx, h.loader, h.loader.licenseKeys, keyID, "Activate", Meta{Actor: meta.Actor, CorrelationID: meta.CorrelationID, EffectiveAt: meta.EffectiveAt},
		func(k licensekey.Key, now time.Time) ([]any, error) {
			prev = k.Last()
			out, err := k.Bind(id)
			if !errors.Is(err, licensekey.ErrInUse) {
				return out, err
			}
			other, err := h.loader.installation(ctx, k.Bound())
			switch {
			case errors.Is(err, installation.ErrNotFound) && now.Sub(k.BoundAt()) < abandonedBinding:
				return nil, fmt.Errorf("%w: another installation is being activated with it", licensekey.ErrInUse)
			case errors.Is(err, installation.ErrNotFound):
				// abandoned: released below
			case err != nil:
				return nil, err
			case other.HoldsKey():
				return nil, fmt.Errorf("%w: %s", licensekey.ErrInUse, describe(other))
			}
			reason := "deactivated"
			switch {
			case !other.Exists():
				reason = "activation abandoned"
			case other.Status() == installation.Pending:
				reason = string(installation.ByPortal)
			}
			released, _ := k.Release(k.Bound(), reason)
			bound, err := k.Evolve(released[0]).Bind(id)
			return append(released, bound...), err
		})
	return prev, err
}

// describe names an installation in an error message.
func describe(i installation.Installation) string {
	id := i.Identity()
	if id.Kind == installation.ProxyServer {
		return fmt.Sprintf("proxy server %q of site %q", id.ServerName, id.SiteCode)
	}
	return fmt.Sprintf("farm %q (server %s)", id.FarmName, id.ServerID)
}

// releaseKey lets installation i's key go (ACT-6..8); the key's stream
// records it, so the key may activate another installation.
func (h *InstallationsHandler) releaseKey(ctx context.Context, meta Meta, i installation.Installation, reason installation.Reason) (event.AppendResult, error) {
	if i.KeyID() == "" {
		return event.AppendResult{}, nil // a trial holds no key
	}
	return update(ctx, h.loader, h.loader.licenseKeys, i.KeyID(), "ReleaseKey", Meta{Actor: meta.Actor, CorrelationID: meta.CorrelationID, EffectiveAt: meta.EffectiveAt},
		func(k licensekey.Key, _ time.Time) ([]any, error) { return k.Release(i.ID(), string(reason)) })
}

// deactivate records what decide decides on installation id and, if
// that deactivated it, releases its key. It reports whether this call
// deactivated the installation, and the position of its last append (the
// key's release if any), which a read after it waits for.
func (h *InstallationsHandler) deactivate(ctx context.Context, meta Meta, id, command string, decide func(installation.Installation, time.Time) ([]any, error)) (uint64, bool, error) {
	deactivated := false
	res, err := update(ctx, h.loader, h.loader.installations, id, command, meta, func(i installation.Installation, now time.Time) ([]any, error) {
		out, err := decide(i, now)
		deactivated = hasDeactivation(out)
		return out, err
	})
	if err != nil || !deactivated {
		return res.Position, false, err
	}
	i, err := h.loader.installation(ctx, id)
	if err != nil {
		return res.Position, true, err
	}
	released, err := h.releaseKey(ctx, meta, i, "")
	return max(res.Position, released.Position), true, err
}

func hasDeactivation(events []any) bool {
	for _, e := range events {
		if _, ok := e.(installation.Deactivated); ok {
			return true
		}
	}
	return false
}

// contact makes a pending deactivation or an ended trial take effect at
// an installation's call (ACT-7, SUB-8): it returns
// installation.ErrDeactivated if the installation is (now) deactivated.
func (h *InstallationsHandler) contact(ctx context.Context, meta Meta, i installation.Installation) error {
	out, err := i.Contact(h.loader.clock.Now())
	if err != nil || len(out) == 0 {
		return err
	}
	_, deactivated, err := h.deactivate(ctx, meta, i.ID(), "Contact", func(i installation.Installation, now time.Time) ([]any, error) {
		return i.Contact(now)
	})
	if err == nil && deactivated {
		err = installation.ErrDeactivated // the installation learns it now
	}
	return err
}

// terms returns the quota and license of installation i's key now: from
// its subscription as read at most hotFreshness ago, or a trial's own. A
// deleted key has no seats.
func (h *InstallationsHandler) terms(ctx context.Context, i installation.Installation) (int, installation.License, error) {
	return h.termsAsOf(ctx, i, hotFreshness)
}

// termsAsOf is terms from the subscription as read at most maxAge ago; 0
// reads it up to its stream's head. A timer decides on the head (rule
// seats bought just before a clock advance must count at the
// timers it steps through, whatever the wall clock says.
func (h *InstallationsHandler) termsAsOf(ctx context.Context, i installation.Installation, maxAge time.Duration) (int, installation.License, error) {
	if i.Trial() {
		lic := i.License()
		lic.Used, lic.Remaining = i.Seats(), max(lic.Seats-i.Seats(), 0)
		return lic.Seats, lic, nil
	}
	s, _, err := h.loader.subscriptions.recent(ctx, h.loader, i.SubscriptionID(), maxAge)
	if err != nil {
		return 0, installation.License{}, err
	}
	k, ok := s.Key(i.KeyID())
	if !ok {
		k = subscription.Key{ID: i.KeyID(), Hint: i.KeyHint()}
	}
	lic := licenseOf(s, k, i.Seats())
	return lic.Seats, lic, nil
}

// License re-reads the license of the installation (rule ACT-5): the
// answer of an online refresh, recorded, so that added seats take effect
// at once and auditors see what the installation was told.
func (h *InstallationsHandler) License(ctx context.Context, meta Meta, i installation.Installation) (installation.License, error) {
	if err := h.contact(ctx, meta, i); err != nil {
		return installation.License{}, err
	}
	var lic installation.License
	_, err := update(ctx, h.loader, h.loader.installations, i.ID(), "Refresh", meta, func(i installation.Installation, _ time.Time) ([]any, error) {
		var err error
		if _, lic, err = h.terms(ctx, i); err != nil {
			return nil, err
		}
		return i.Refresh(installation.Online, "", lic, "")
	})
	return lic, err
}

// UsageReport is a usage report as an installation sends it (PROD-3).
type UsageReport = installation.Report

// UsageRecorded is what ReportUsage answers.
type UsageRecorded struct {
	event.AppendResult
	Installation installation.Installation // after the report
	Quota        int
	// Grace is the farm's overuse grace after the report (USE-3..5).
	Grace installation.Grace
}

// ReportUsage records a usage report of installation i (rules USE-1..6):
// a deactivated installation cannot report (ACT-8), and one whose portal
// deactivation was pending learns here that it is deactivated (ACT-7).
// With an idempotency key (rule X-4), a retried report is recorded once.
func (h *InstallationsHandler) ReportUsage(ctx context.Context, meta Meta, i installation.Installation, r UsageReport) (res UsageRecorded, err error) {
	defer func() {
		if errors.Is(err, installation.ErrDeactivated) {
			h.recordRefusal(ctx, meta, i.ID(), r)
		}
	}()
	if err := h.contact(ctx, meta, i); err != nil {
		return UsageRecorded{}, err
	}
	var (
		quota int
		after installation.Installation
		grace installation.Grace
	)
	generation := i.Generation()
	appended, err := updateHot(ctx, h.loader, h.loader.installations, i.ID(), "ReportUsage", meta, func(i installation.Installation, now time.Time) ([]any, error) {
		if i.Generation() != generation {
			return nil, ErrCredential // activated again since the credential was checked
		}
		var err error
		if quota, _, err = h.terms(ctx, i); err != nil {
			return nil, err
		}
		r.Quota = quota
		out, err := i.Report(r, now)
		after = i
		for _, e := range out {
			after = after.Evolve(e, now)
		}
		grace = after.Grace(quota, now)
		return out, err
	})
	return UsageRecorded{AppendResult: appended, Installation: after, Quota: quota, Grace: grace}, err
}

// recordRefusal records, for the auditors, that a deactivated
// installation reported usage (ACT-8). The report is refused either way:
// a failure to record does not change the answer, and the installation's
// next report tries again.
func (h *InstallationsHandler) recordRefusal(ctx context.Context, meta Meta, id string, r UsageReport) {
	meta.IdempotencyKey = "" // the refusal is not the report
	_, _ = update(ctx, h.loader, h.loader.installations, id, "ReportUsage", meta, func(i installation.Installation, now time.Time) ([]any, error) {
		return i.RefuseReport(r, now)
	})
}

// Enrollment is what Enroll answers.
type Enrollment struct {
	event.AppendResult
	// Managed is the computers managed with the enrolled ones.
	Managed int
	Quota   int
}

// Enroll lets proxy server i enroll adding more computers (USE-6), or
// refuses with installation.ErrOverLimit at its limit. An accepted
// enrollment is recorded and counts at once, decided under the
// installation's exact version: two enrollments cannot both take the last
// seats. With an idempotency key (rule X-4), a retry is recorded once.
func (h *InstallationsHandler) Enroll(ctx context.Context, meta Meta, i installation.Installation, adding int) (Enrollment, error) {
	if err := h.contact(ctx, meta, i); err != nil {
		return Enrollment{}, err
	}
	var out Enrollment
	generation := i.Generation()
	res, err := update(ctx, h.loader, h.loader.installations, i.ID(), "Enroll", meta, func(i installation.Installation, _ time.Time) ([]any, error) {
		if i.Generation() != generation {
			return nil, ErrCredential // activated again since the credential was checked
		}
		quota, _, err := h.terms(ctx, i)
		if err != nil {
			return nil, err
		}
		events, err := i.Enroll(adding, quota)
		out.Managed, out.Quota = i.Seats(), quota
		for _, e := range events {
			out.Managed = e.(installation.Enrolled).Managed
		}
		return events, err
	})
	out.AppendResult = res
	return out, err
}

// DeactivateSelf is a deactivation by the installation, online (ACT-6):
// its key is released at once.
func (h *InstallationsHandler) DeactivateSelf(ctx context.Context, meta Meta, i installation.Installation) error {
	_, _, err := h.deactivate(ctx, meta, i.ID(), "Deactivate", func(i installation.Installation, now time.Time) ([]any, error) {
		if out, err := i.Contact(now); err != nil || len(out) > 0 {
			return out, err
		}
		return i.Deactivate(installation.ByInstallation, installation.Online, "", "")
	})
	if errors.Is(err, installation.ErrDeactivated) {
		return nil // deactivated already, as asked
	}
	return err
}

// DeactivateInstallation deactivates installation id now for reason, on
// behalf of the process manager (KEY-6, SUB-6, SUB-8); an installation
// already deactivated stays as it is.
func (h *InstallationsHandler) DeactivateInstallation(ctx context.Context, meta Meta, id string, reason installation.Reason) error {
	_, _, err := h.deactivate(ctx, meta, id, "DeactivateInstallation", func(i installation.Installation, now time.Time) ([]any, error) {
		switch {
		case !i.Exists():
			return nil, installation.ErrNotFound
		case !i.Licensed():
			return nil, nil
		case reason == installation.TrialEnded && now.Before(i.TrialEnd()):
			return nil, nil // a stale timer
		}
		return i.Deactivate(reason, "", "", "")
	})
	if errors.Is(err, installation.ErrDeactivated) {
		return nil
	}
	return err
}

// AuthorizeInstallation answers whether actor may view (manage false) or
// manage installation id: the account's members may view it, its admins
// and the license administrators of its key may manage it (MEM-5, MEM-6),
// and the back office may view every one. An installation that does not
// exist, or is a trial (no account's), is refused like a foreign one.
func (h *InstallationsHandler) AuthorizeInstallation(ctx context.Context, actor event.Actor, id string, manage bool) (installation.Installation, error) {
	unknown := installation.ErrNotFound // the back office sees every installation, so may know which exist
	if actor.Kind != event.ActorBackOffice {
		unknown = account.ErrForbidden
	}
	if !validUUID(id) {
		return installation.Installation{}, unknown
	}
	i, err := h.loader.installation(ctx, id)
	if errors.Is(err, installation.ErrNotFound) || (err == nil && i.Trial()) {
		return installation.Installation{}, unknown
	}
	if err != nil {
		return i, err
	}
	action := subscription.ActionView
	if manage {
		action = subscription.ActionManageKey
	}
	if _, err := h.subscriptions.AuthorizeSubscription(ctx, actor, i.SubscriptionID(), action, i.KeyID()); err != nil {
		if errors.Is(err, subscription.ErrNotFound) {
			err = installation.ErrNotFound
		}
		return installation.Installation{}, err
	}
	return i, nil
}

// RequestDeactivation deactivates installations from the portal (ACT-7,
// INST-3): each one's key is released at once and may activate another
// installation; the installation is told at its next contact. Every
// installation is checked before any is changed, so a selection with one
// foreign installation, or one of another of the actor's accounts than
// accountID, changes nothing. The result is the last append's (the
// highest position), for a read of the change to wait for.
func (h *InstallationsHandler) RequestDeactivation(ctx context.Context, meta Meta, accountID string, ids []string) (event.AppendResult, error) {
	var last event.AppendResult
	if len(ids) == 0 || len(ids) > 500 {
		return last, invalid.New(installation.ErrInvalid, "installation_ids", "select 1 to 500 installations, not %d", len(ids))
	}
	for _, id := range ids {
		i, err := h.AuthorizeInstallation(ctx, meta.Actor, id, true)
		if err == nil && i.AccountID() != accountID {
			err = installation.ErrNotFound
		}
		if err != nil {
			return last, fmt.Errorf("installation %s: %w", id, err)
		}
		if _, err := i.RequestDeactivation(meta.Actor.ID); err != nil {
			return last, fmt.Errorf("installation %s: %w", id, err)
		}
	}
	for _, id := range ids {
		res, err := update(ctx, h.loader, h.loader.installations, id, "RequestDeactivation", meta, func(i installation.Installation, _ time.Time) ([]any, error) {
			return i.RequestDeactivation(meta.Actor.ID)
		})
		if errors.Is(err, installation.ErrDeactivated) {
			continue
		}
		if err != nil {
			return last, fmt.Errorf("installation %s: %w", id, err)
		}
		if res.Position > last.Position {
			last = res
		}
		// ACT-7: the key is free at once, so that it can leave a server
		// that will never call again; a retry releases nothing twice.
		i, err := h.loader.installation(ctx, id)
		if err != nil {
			return last, fmt.Errorf("installation %s: %w", id, err)
		}
		if i.Status() != installation.Pending {
			continue // it contacted the ledger meanwhile: deactivated, its key released
		}
		released, err := h.releaseKey(ctx, meta, i, installation.ByPortal)
		if err != nil {
			return last, fmt.Errorf("release the key of installation %s: %w", id, err)
		}
		if released.Position > last.Position {
			last = released
		}
	}
	return last, nil
}

// SetInstallationNotes replaces an installation's notes (INST-4).
func (h *InstallationsHandler) SetInstallationNotes(ctx context.Context, meta Meta, id, notes string) (event.AppendResult, error) {
	if _, err := h.AuthorizeInstallation(ctx, meta.Actor, id, true); err != nil {
		return event.AppendResult{}, err
	}
	return update(ctx, h.loader, h.loader.installations, id, "SetInstallationNotes", meta, func(i installation.Installation, _ time.Time) ([]any, error) {
		return i.SetNotes(notes, meta.Actor.ID)
	})
}

// The overuse timers' use cases (USE-3..6): each decides from the
// installation's latest events and its key's quota now, so a timer made
// stale by later events records nothing.

// InstallationGraceEnded runs at the end of an overuse grace (USE-4).
func (h *InstallationsHandler) InstallationGraceEnded(ctx context.Context, meta Meta, id string) error {
	return h.overuse(ctx, meta, id, "GraceEnded", installation.Installation.GraceEnded)
}

// InstallationDeactivationDue runs when a detected overuse reaches its
// deadline (USE-4).
func (h *InstallationsHandler) InstallationDeactivationDue(ctx context.Context, meta Meta, id string) error {
	return h.overuse(ctx, meta, id, "DeactivationDue", installation.Installation.DeactivationDue)
}

// RevalidateInstallation is the 20-minute check of a suspended farm (USE-4).
func (h *InstallationsHandler) RevalidateInstallation(ctx context.Context, meta Meta, id string) error {
	return h.overuse(ctx, meta, id, "Revalidate", func(i installation.Installation, quota int, _ time.Time) ([]any, error) {
		return i.Revalidate(quota)
	})
}

// AlertOverLimit is the hourly check of a proxy server over its limit (USE-6).
func (h *InstallationsHandler) AlertOverLimit(ctx context.Context, meta Meta, id string) error {
	return h.overuse(ctx, meta, id, "AlertOverLimit", func(i installation.Installation, quota int, _ time.Time) ([]any, error) {
		return i.AlertOverLimit(quota)
	})
}

func (h *InstallationsHandler) overuse(ctx context.Context, meta Meta, id, command string, decide func(installation.Installation, int, time.Time) ([]any, error)) error {
	_, err := update(ctx, h.loader, h.loader.installations, id, command, meta, func(i installation.Installation, now time.Time) ([]any, error) {
		if !i.Exists() {
			return nil, installation.ErrNotFound
		}
		quota, _, err := h.termsAsOf(ctx, i, 0)
		if err != nil {
			return nil, err
		}
		return decide(i, quota, now)
	})
	return err
}
