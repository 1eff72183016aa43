package farmclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"seatledger/domain/offlinefile"
	"seatledger/infra/offline"
)

// The refusals of Import; each error Import returns for them wraps one.
var (
	// ErrNoPendingRequest: no request waits for an answer here.
	ErrNoPendingRequest = errors.New("farmclient: no offline request is pending: write a request before importing its answer")
	// ErrReplayed: the answer was imported already, or answers another
	// request than the pending one (replayed or foreign file).
	ErrReplayed = errors.New("farmclient: replayed or foreign file")
	// ErrForeign: the answer is for another server or installation.
	ErrForeign = errors.New("farmclient: foreign file")
)

// AnswerKind returns the kind of the ledger's answer to a request of
// kind request, or "" if request is not a request kind.
func AnswerKind(request offline.Kind) offline.Kind {
	switch request {
	case offline.ActivationRequest:
		return offline.Activation
	case offline.RefreshRequest:
		return offline.SubscriptionInfo
	case offline.DeactivationRequest:
		return offline.Deactivation
	}
	return ""
}

// WriteRequest writes an offline request file of kind for the
// installation of state at now, and records it as state.Pending (a later
// request replaces it): an activation request carries key and the
// identity (ACT-2); a refresh or deactivation request proves the
// credential of the current activation (ACT-5, ACT-6). Writing a
// deactivation request deactivates the installation at once (ACT-6); the
// ledger releases the key when an admin uploads the file. The caller
// saves state, then hands the file to the admin.
func WriteRequest(state *State, kind offline.Kind, key string, now time.Time) ([]byte, error) {
	if err := state.Identity.Check(); err != nil {
		return nil, err
	}
	server := state.Identity.Server()
	nonce, err := offline.NewNonce()
	if err != nil {
		return nil, fmt.Errorf("farmclient: %s: %w", kind, err)
	}
	var content any
	switch kind {
	case offline.ActivationRequest:
		if key == "" {
			return nil, errors.New("farmclient: an activation request needs the license key")
		}
		if state.Active() {
			return nil, fmt.Errorf("farmclient: the installation is active already (%s); deactivate it before activating again", state.InstallationID)
		}
		content = offline.ActivationRequestContent{Key: key, Identity: state.Identity.offline()}
	case offline.RefreshRequest:
		if !state.Active() {
			return nil, errors.New("farmclient: a refresh request needs an active installation; activate first")
		}
		content = offline.ProofRequestContent{InstallationID: state.InstallationID,
			Proof: offlinefile.Proof(state.Credential, kind, nonce, server, state.InstallationID)}
	case offline.DeactivationRequest:
		// Deactivated already by an earlier deactivation request: write
		// it again (the first file may be lost); its answer is awaited.
		again := state.Status == StatusDeactivated && state.Pending != nil && state.Pending.Kind == offline.DeactivationRequest
		if state.InstallationID == "" || state.Credential == "" || (state.Status == StatusDeactivated && !again) {
			return nil, errors.New("farmclient: a deactivation request needs an active installation")
		}
		content = offline.ProofRequestContent{InstallationID: state.InstallationID,
			Proof: offlinefile.Proof(state.Credential, kind, nonce, server, state.InstallationID)}
	default:
		return nil, fmt.Errorf("farmclient: %q is not a request kind: write %s, %s or %s", kind,
			offline.ActivationRequest, offline.RefreshRequest, offline.DeactivationRequest)
	}
	body, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("farmclient: %s: %w", kind, err)
	}
	issued := now.UTC().Truncate(time.Second) // the file says seconds
	raw, err := offline.Encode(offline.File{Kind: kind, Issued: issued, Nonce: nonce, Server: server, Content: body})
	if err != nil {
		return nil, fmt.Errorf("farmclient: %s: %w", kind, err)
	}
	state.Pending = &Pending{Kind: kind, Nonce: nonce, Issued: issued}
	if kind == offline.DeactivationRequest {
		state.Status = StatusDeactivated // ACT-6: at once; the credential stays until the answer
	}
	return raw, nil
}

// Import verifies the ledger's answer raw at now and applies it to state
// (ACT-2, ACT-5, ACT-6): the answer must be signed by the pinned public
// key, unexpired, of the kind that answers the pending request, for this
// server (and installation), and carry the pending request's nonce; else
// it is refused and state is unchanged. An activation stores the
// credential and license, a subscription information the license, a
// deactivation marks the installation deactivated. The pending request is
// cleared, so the same answer imported again is refused as replayed. It
// returns the kind imported; the caller saves state.
func Import(state *State, raw []byte, now time.Time) (offline.Kind, error) {
	if state.Pending == nil {
		if state.LastImported != "" && answerNonce(raw) == state.LastImported {
			return "", fmt.Errorf("%w: this answer was imported already", ErrReplayed)
		}
		return "", ErrNoPendingRequest
	}
	want := AnswerKind(state.Pending.Kind)
	if want == "" {
		return "", fmt.Errorf("farmclient: the pending request has the unknown kind %q; write a new request", state.Pending.Kind)
	}
	pub, err := state.LedgerKey()
	if err != nil {
		return "", err
	}
	f, err := offline.Verify(raw, want, pub, now, offline.DefaultDrift)
	if errors.Is(err, offline.ErrKind) {
		return "", fmt.Errorf("farmclient: the pending %s is answered by a %s file: %w", state.Pending.Kind, want, err)
	}
	if err != nil {
		return "", fmt.Errorf("farmclient: the %s file is refused: %w", want, err)
	}
	if server := state.Identity.Server(); f.Server != server {
		return "", fmt.Errorf("%w: the answer is for server %q, this installation is %q", ErrForeign, f.Server, server)
	}
	if f.Nonce != state.Pending.Nonce {
		if f.Nonce == state.LastImported {
			return "", fmt.Errorf("%w: this answer was imported already", ErrReplayed)
		}
		return "", fmt.Errorf("%w: the answer is not to the %s written on %s", ErrReplayed,
			state.Pending.Kind, state.Pending.Issued.UTC().Format(time.RFC3339))
	}
	var ans offline.AnswerContent
	if err := offline.DecodeContent(f, &ans); err != nil {
		return "", fmt.Errorf("farmclient: the %s file is refused: %w", want, err)
	}
	if want != offline.Activation && ans.InstallationID != state.InstallationID {
		return "", fmt.Errorf("%w: the answer is for installation %s, this one is %s", ErrForeign, ans.InstallationID, state.InstallationID)
	}
	lic := licenseOf(ans.License)
	switch want {
	case offline.Activation:
		if ans.InstallationID == "" || ans.Credential == "" {
			return "", fmt.Errorf("farmclient: the activation file is refused: %w: it names no installation or credential", offline.ErrMalformed)
		}
		state.InstallationID, state.Credential, state.Status, state.License = ans.InstallationID, ans.Credential, ans.Status, &lic
	case offline.SubscriptionInfo:
		state.Status, state.License = ans.Status, &lic
	case offline.Deactivation:
		state.License = &lic
		state.MarkDeactivated()
	}
	state.Pending, state.LastImported = nil, f.Nonce
	return f.Kind, nil
}

// answerNonce returns the Nonce header of an answer file of any kind,
// unverified ("" if raw is none): only to explain a refusal.
func answerNonce(raw []byte) string {
	for _, k := range []offline.Kind{offline.Activation, offline.SubscriptionInfo, offline.Deactivation} {
		if f, err := offline.Decode(raw, k); err == nil {
			return f.Nonce
		}
	}
	return ""
}

// licenseOf is an offline answer's license; a zero end is permanent.
func licenseOf(l offline.License) License {
	out := License{KeyID: l.KeyID, KeyHint: l.KeyHint, Start: l.Start, Seats: l.Seats, Used: l.Used, Remaining: l.Remaining}
	if !l.End.IsZero() {
		end := l.End
		out.End = &end
	}
	return out
}
