package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/installation"
	"seatledger/domain/offlinefile"
	"seatledger/domain/subscription"
)

// OfflineHandler answers the request files of installations without a
// connection, which people upload in the portal (rules ACT-2, ACT-3,
// ACT-5, ACT-6).
type OfflineHandler struct {
	loader        *Loader
	format        offlinefile.Format
	signer        offlinefile.Signer
	installations *InstallationsHandler
	subscriptions *SubscriptionsHandler
}

// NewOfflineHandler returns an OfflineHandler on loader that reads
// request files with format and signs its answers with signer, and
// activates, refreshes and deactivates through installations, looking
// keys up with subscriptions. It returns an error wrapping
// ErrMissingDependency if one of them is nil.
func NewOfflineHandler(loader *Loader, format offlinefile.Format, signer offlinefile.Signer, installations *InstallationsHandler,
	subscriptions *SubscriptionsHandler) (*OfflineHandler, error) {
	if err := dependencies("NewOfflineHandler", dep{"a Loader", loader != nil}, dep{"an offlinefile.Format", format != nil},
		dep{"an offlinefile.Signer", signer != nil}, dep{"an InstallationsHandler", installations != nil},
		dep{"a SubscriptionsHandler", subscriptions != nil}); err != nil {
		return nil, err
	}
	return &OfflineHandler{loader: loader, format: format, signer: signer, installations: installations, subscriptions: subscriptions}, nil
}

// OfflineAnswer is the signed file that answers an offline request.
type OfflineAnswer struct {
	Kind           offlinefile.Kind
	File           []byte
	InstallationID string
	// Position is the log position of the request's changes (0: none), for
	// a read that must see them (X-Ledger-Min-Position).
	Position uint64
}

// AnswerOfflineRequest answers a request file that a person uploaded to
// business account accountID in the portal (rules ACT-2, ACT-3, ACT-5,
// ACT-6): an activation request activates and answers with an activation
// file; a refresh request answers with a subscription-information file;
// a deactivation request deactivates the installation, releases its key
// and answers with a confirmation. Each answer is signed, bound to the
// request's nonce and server, and valid for offlinefile.AnswerValidity. A
// nonce is answered once: a replayed request is refused.
func (h *OfflineHandler) AnswerOfflineRequest(ctx context.Context, meta Meta, accountID string, raw []byte) (OfflineAnswer, error) {
	// Who may upload to the account is checked before the file is read.
	if err := h.loader.authorize(ctx, meta.Actor, accountID, account.ActionView); err != nil {
		return OfflineAnswer{}, err
	}
	f, err := offlinefile.ReadRequest(h.format, raw, h.loader.clock.Now())
	if err != nil {
		return OfflineAnswer{}, err
	}
	if f.Kind == offlinefile.ActivationRequest {
		return h.answerActivation(ctx, meta, accountID, f)
	}
	var req offlinefile.ProofRequestContent
	if err := h.format.DecodeContent(f, &req); err != nil {
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
	if f.Server != i.Identity().Server() || !offlinefile.CheckProof(req.Proof, h.installations.Credential(i), f.Kind, f.Nonce, f.Server, i.ID()) {
		return OfflineAnswer{}, fmt.Errorf("%w: the request was not written by this installation's current activation", offlinefile.ErrSignature)
	}
	if f.Kind == offlinefile.RefreshRequest {
		return h.answerRefresh(ctx, meta, f, i)
	}
	return h.answerDeactivation(ctx, meta, f, i)
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

func (h *OfflineHandler) answerActivation(ctx context.Context, meta Meta, accountID string, f offlinefile.File) (OfflineAnswer, error) {
	var req offlinefile.ActivationRequestContent
	if err := h.format.DecodeContent(f, &req); err != nil {
		return OfflineAnswer{}, err
	}
	id := installation.Identity{Kind: installation.Kind(req.Identity.Kind), ServerID: req.Identity.ServerID, FarmName: req.Identity.FarmName,
		ServerName: req.Identity.ServerName, SiteCode: req.Identity.SiteCode, SiteDescription: req.Identity.SiteDescription,
		AppVersion: req.Identity.AppVersion}
	if err := id.Check(); err != nil {
		return OfflineAnswer{}, err
	}
	if f.Server != id.Server() {
		return OfflineAnswer{}, fmt.Errorf("%w: the Server header %q is not the identity's %q", offlinefile.ErrMalformed, f.Server, id.Server())
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
	return h.sign(offlinefile.Activation, f, act.Installation, act.Credential, act.License, act.Position)
}

func (h *OfflineHandler) answerRefresh(ctx context.Context, meta Meta, f offlinefile.File, i installation.Installation) (OfflineAnswer, error) {
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
	return h.sign(offlinefile.SubscriptionInfo, f, i, "", lic, res.Position)
}

func (h *OfflineHandler) answerDeactivation(ctx context.Context, meta Meta, f offlinefile.File, i installation.Installation) (OfflineAnswer, error) {
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
	return h.sign(offlinefile.Deactivation, f, after, "", after.License(), position)
}

// sign answers request f with a signed file of kind k; position is where
// the request's changes end in the log.
func (h *OfflineHandler) sign(k offlinefile.Kind, f offlinefile.File, i installation.Installation, credential string, lic installation.License, position uint64) (OfflineAnswer, error) {
	id := i.Identity()
	content, err := json.Marshal(offlinefile.AnswerContent{
		InstallationID: i.ID(), Credential: credential, Status: string(i.Status()),
		Identity: offlinefile.Identity{Kind: string(id.Kind), ServerID: id.ServerID, FarmName: id.FarmName, ServerName: id.ServerName,
			SiteCode: id.SiteCode, SiteDescription: id.SiteDescription, AppVersion: id.AppVersion},
		License: offlinefile.License{KeyID: lic.KeyID, KeyHint: lic.KeyHint, Start: lic.Start, End: lic.End, Seats: lic.Seats, Used: lic.Used, Remaining: lic.Remaining},
	})
	if err != nil {
		return OfflineAnswer{}, err
	}
	answer, err := offlinefile.Answer(k, f, content, h.loader.clock.Now())
	if err != nil {
		return OfflineAnswer{}, err
	}
	raw, err := h.signer.Sign(answer)
	if err != nil {
		return OfflineAnswer{}, err
	}
	return OfflineAnswer{Kind: k, File: raw, InstallationID: i.ID(), Position: position}, nil
}
