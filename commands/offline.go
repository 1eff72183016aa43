package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/installation"
	"seatledger/domain/subscription"
	"seatledger/infra/offline"
)

// OfflineSigner signs the ledger's answers to offline requests with the
// ledger's Ed25519 key (infra/offline).
type OfflineSigner interface {
	Sign(f offline.File) ([]byte, error)
}

// OfflineHandler answers the request files of installations without a
// connection, which people upload in the portal (rules ACT-2, ACT-3,
// ACT-5, ACT-6).
type OfflineHandler struct {
	loader        *Loader
	signer        OfflineSigner
	installations *InstallationsHandler
	subscriptions *SubscriptionsHandler
}

// NewOfflineHandler returns an OfflineHandler on loader that signs its
// answers with signer, and activates, refreshes and deactivates through
// installations, looking keys up with subscriptions. It returns an error
// wrapping ErrMissingDependency if one of them is nil.
func NewOfflineHandler(loader *Loader, signer OfflineSigner, installations *InstallationsHandler, subscriptions *SubscriptionsHandler) (*OfflineHandler, error) {
	if err := dependencies("NewOfflineHandler", dep{"a Loader", loader != nil}, dep{"an OfflineSigner", signer != nil},
		dep{"an InstallationsHandler", installations != nil}, dep{"a SubscriptionsHandler", subscriptions != nil}); err != nil {
		return nil, err
	}
	return &OfflineHandler{loader: loader, signer: signer, installations: installations, subscriptions: subscriptions}, nil
}

// MaxRequestAge is how old an offline request file may be when it is
// uploaded.
const MaxRequestAge = 30 * 24 * time.Hour

// OfflineAnswer is the signed file that answers an offline request.
type OfflineAnswer struct {
	Kind           offline.Kind
	File           []byte
	InstallationID string
	// Position is the log position of the request's changes (0: none), for
	// a read that must see them (X-Ledger-Min-Position).
	Position uint64
}

// requestKinds are the files an installation writes.
var requestKinds = []offline.Kind{offline.ActivationRequest, offline.RefreshRequest, offline.DeactivationRequest}

// AnswerOfflineRequest answers a request file that a person uploaded to
// business account accountID in the portal (rules ACT-2, ACT-3, ACT-5,
// ACT-6): an activation request activates and answers with an activation
// file; a refresh request answers with a subscription-information file;
// a deactivation request deactivates the installation, releases its key
// and answers with a confirmation. Each answer is signed, bound to the
// request's nonce and server, and valid for offline.AnswerValidity. A
// nonce is answered once: a replayed request is refused.
func (h *OfflineHandler) AnswerOfflineRequest(ctx context.Context, meta Meta, accountID string, raw []byte) (OfflineAnswer, error) {
	// Who may upload to the account is checked before the file is read.
	if err := h.loader.authorize(ctx, meta.Actor, accountID, account.ActionView); err != nil {
		return OfflineAnswer{}, err
	}
	f, err := decodeRequest(raw)
	if err != nil {
		return OfflineAnswer{}, err
	}
	now := h.loader.clock.Now()
	switch {
	case f.Issued.After(now.Add(offline.DefaultDrift)):
		return OfflineAnswer{}, fmt.Errorf("%w: the request is dated %s, in the future", offline.ErrFuture, f.Issued.Format(time.RFC3339))
	case now.Sub(f.Issued) > MaxRequestAge:
		return OfflineAnswer{}, fmt.Errorf("%w: the request was written on %s; write a new one", offline.ErrExpired, f.Issued.Format(time.DateOnly))
	}
	if f.Kind == offline.ActivationRequest {
		return h.answerActivation(ctx, meta, accountID, f)
	}
	var req offline.ProofRequestContent
	if err := offline.DecodeContent(f, &req); err != nil {
		return OfflineAnswer{}, err
	}
	i, err := h.installations.AuthorizeInstallation(ctx, meta.Actor, req.InstallationID, true)
	if err == nil && i.AccountID() != accountID {
		err = installation.ErrNotFound
	}
	if err != nil {
		return OfflineAnswer{}, err
	}
	if err := h.offlineAllowed(ctx, accountID); err != nil {
		return OfflineAnswer{}, err
	}
	if f.Server != i.Identity().Server() || !offline.CheckProof(req.Proof, h.installations.Credential(i), f.Kind, f.Nonce, f.Server, i.ID()) {
		return OfflineAnswer{}, fmt.Errorf("%w: the request was not written by this installation's current activation", offline.ErrSignature)
	}
	if f.Kind == offline.RefreshRequest {
		return h.answerRefresh(ctx, meta, f, i)
	}
	return h.answerDeactivation(ctx, meta, f, i)
}

func decodeRequest(raw []byte) (offline.File, error) {
	for _, k := range requestKinds {
		f, err := offline.Decode(raw, k)
		if !errors.Is(err, offline.ErrKind) {
			return f, err
		}
	}
	return offline.File{}, fmt.Errorf("%w: not an activation, refresh or deactivation request file", offline.ErrKind)
}

func (h *OfflineHandler) offlineAllowed(ctx context.Context, accountID string) error {
	a, err := h.loader.account(ctx, accountID)
	if err != nil {
		return err
	}
	if !a.OfflineActivation() {
		return ErrOfflineDisabled
	}
	return nil
}

func (h *OfflineHandler) answerActivation(ctx context.Context, meta Meta, accountID string, f offline.File) (OfflineAnswer, error) {
	var req offline.ActivationRequestContent
	if err := offline.DecodeContent(f, &req); err != nil {
		return OfflineAnswer{}, err
	}
	id := installation.Identity{Kind: installation.Kind(req.Identity.Kind), ServerID: req.Identity.ServerID, FarmName: req.Identity.FarmName,
		ServerName: req.Identity.ServerName, SiteCode: req.Identity.SiteCode, SiteDescription: req.Identity.SiteDescription,
		AppVersion: req.Identity.AppVersion}
	if err := id.Check(); err != nil {
		return OfflineAnswer{}, err
	}
	if f.Server != id.Server() {
		return OfflineAnswer{}, fmt.Errorf("%w: the Server header %q is not the identity's %q", offline.ErrMalformed, f.Server, id.Server())
	}
	s, keyID, err := h.subscriptions.LookUpKey(ctx, req.Key)
	if err != nil {
		return OfflineAnswer{}, err
	}
	if s.AccountID() != accountID {
		return OfflineAnswer{}, fmt.Errorf("%w: the key is not registered to this business account", ErrUnknownKey)
	}
	if err := h.loader.authorizeSubscription(ctx, meta.Actor, s, subscription.ActionManageKey, keyID); err != nil {
		return OfflineAnswer{}, err
	}
	act, err := h.installations.Activate(ctx, meta, Activate{Key: req.Key, Identity: id, Mode: installation.Offline, Nonce: f.Nonce, AccountID: accountID})
	if err != nil {
		return OfflineAnswer{}, err
	}
	return h.sign(offline.Activation, f, act.Installation, act.Credential, act.License, act.Position)
}

func (h *OfflineHandler) answerRefresh(ctx context.Context, meta Meta, f offline.File, i installation.Installation) (OfflineAnswer, error) {
	if err := h.installations.contact(ctx, meta, i); err != nil {
		return OfflineAnswer{}, err
	}
	var lic installation.License
	res, err := update(ctx, h.loader, h.loader.installations, i.ID(), "Refresh", meta, func(i installation.Installation, _ time.Time) ([]any, error) {
		var err error
		if _, lic, err = h.installations.terms(ctx, i); err != nil {
			return nil, err
		}
		return i.Refresh(installation.Offline, f.Nonce, lic, meta.Actor.ID)
	})
	if err != nil {
		return OfflineAnswer{}, err
	}
	return h.sign(offline.SubscriptionInfo, f, i, "", lic, res.Position)
}

func (h *OfflineHandler) answerDeactivation(ctx context.Context, meta Meta, f offline.File, i installation.Installation) (OfflineAnswer, error) {
	position, deactivated, err := h.installations.deactivate(ctx, meta, i.ID(), "Deactivate", func(i installation.Installation, now time.Time) ([]any, error) {
		return i.Deactivate(installation.ByInstallation, installation.Offline, f.Nonce, meta.Actor.ID)
	})
	if err == nil && !deactivated {
		err = installation.ErrDeactivated
	}
	if err != nil {
		return OfflineAnswer{}, err
	}
	after, err := h.loader.installation(ctx, i.ID())
	if err != nil {
		return OfflineAnswer{}, err
	}
	return h.sign(offline.Deactivation, f, after, "", after.License(), position)
}

// sign answers request f with a signed file of kind k; position is where
// the request's changes end in the log.
func (h *OfflineHandler) sign(k offline.Kind, f offline.File, i installation.Installation, credential string, lic installation.License, position uint64) (OfflineAnswer, error) {
	id := i.Identity()
	content, err := json.Marshal(offline.AnswerContent{
		InstallationID: i.ID(), Credential: credential, Status: string(i.Status()),
		Identity: offline.Identity{Kind: string(id.Kind), ServerID: id.ServerID, FarmName: id.FarmName, ServerName: id.ServerName,
			SiteCode: id.SiteCode, SiteDescription: id.SiteDescription, AppVersion: id.AppVersion},
		License: offline.License{KeyID: lic.KeyID, KeyHint: lic.KeyHint, Start: lic.Start, End: lic.End, Seats: lic.Seats, Used: lic.Used, Remaining: lic.Remaining},
	})
	if err != nil {
		return OfflineAnswer{}, err
	}
	now := h.loader.clock.Now().UTC().Truncate(time.Second)
	raw, err := h.signer.Sign(offline.File{Kind: k, Issued: now, Expires: now.Add(offline.AnswerValidity), Nonce: f.Nonce, Server: f.Server, Content: content})
	if err != nil {
		return OfflineAnswer{}, err
	}
	return OfflineAnswer{Kind: k, File: raw, InstallationID: i.ID(), Position: position}, nil
}
