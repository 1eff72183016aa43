package farmclient

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"seatledger/infra/offline"
)

// StateVersion is the version of the state file's format.
const StateVersion = 1

// State is what one installation remembers between runs: where its ledger
// is, who it is, its activation (a secret credential), its license, the
// ledger's public key it trusts, and the offline request it waits an
// answer to. It is kept in a JSON file of mode 0600 (LoadState, Save).
type State struct {
	Version int `json:"version"`
	// Server is the ledger's base URL the installation was activated on.
	Server   string   `json:"server,omitempty"`
	Identity Identity `json:"identity"`
	// InstallationID and Credential come from the last activation; the
	// credential is a secret, cleared when the installation deactivates.
	InstallationID string `json:"installation_id,omitempty"`
	Credential     string `json:"credential,omitempty"`
	// Status is the installation's status as last known (StatusActive,
	// StatusDeactivated …); empty: never activated.
	Status  string   `json:"status,omitempty"`
	License *License `json:"license,omitempty"`
	// PublicKey is the ledger's Ed25519 key (standard base64) that
	// verifies offline answers: pinned at the first online use, or given
	// to an installation that never goes online.
	PublicKey string `json:"public_key,omitempty"`
	// Pending is the offline request written and not yet answered.
	Pending *Pending `json:"pending,omitempty"`
	// LastImported is the nonce of the last answer imported, to tell a
	// replayed answer from one that answers nothing written here.
	LastImported string `json:"last_imported,omitempty"`
}

// Pending is an offline request waiting for the ledger's answer.
type Pending struct {
	Kind   offline.Kind `json:"kind"`
	Nonce  string       `json:"nonce"`
	Issued time.Time    `json:"issued"`
}

// Active reports whether the installation holds an activation it may use:
// activated, and not deactivated since.
func (s *State) Active() bool {
	return s.InstallationID != "" && s.Credential != "" && s.Status != StatusDeactivated
}

// LedgerKey returns the pinned public key of the ledger.
func (s *State) LedgerKey() (ed25519.PublicKey, error) {
	if s.PublicKey == "" {
		return nil, errors.New("farmclient: the ledger's public key is not known to this installation; " +
			"pin it from an online call or give it (the ledger serves it at /v1/offline/public-key)")
	}
	return ParsePublicKey(s.PublicKey)
}

// SetLedgerKey pins pub as the ledger's public key.
func (s *State) SetLedgerKey(pub ed25519.PublicKey) {
	s.PublicKey = base64.StdEncoding.EncodeToString(pub)
}

// ApplyActivation records an online activation's answer.
func (s *State) ApplyActivation(a Activation) {
	lic := a.License
	s.InstallationID, s.Credential, s.Status, s.License = a.InstallationID, a.Credential, a.Status, &lic
}

// ApplyLicense records a refresh's answer.
func (s *State) ApplyLicense(l LicenseAnswer) {
	lic := l.License
	s.Status, s.License = l.Status, &lic
}

// MarkDeactivated records that the installation is deactivated: the
// credential is forgotten, since the ledger no longer accepts it.
func (s *State) MarkDeactivated() {
	s.Status, s.Credential = StatusDeactivated, ""
}

// MaskedCredential shows the credential without revealing it: its prefix
// and last four characters; empty without one.
func (s *State) MaskedCredential() string {
	c := s.Credential
	if c == "" {
		return ""
	}
	if len(c) <= 12 {
		return "sli_…"
	}
	return "sli_…" + c[len(c)-4:]
}

// LoadState reads the state file at path. A missing file is an error that
// wraps fs.ErrNotExist: the caller decides whether to start afresh.
func LoadState(path string) (*State, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("farmclient: state: %w", err)
	}
	var s State
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("farmclient: state %s is not a state file: %w", path, err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("farmclient: state %s has format version %d; this program reads version %d", path, s.Version, StateVersion)
	}
	return &s, nil
}

// Save writes the state to path atomically — a temporary file in the same
// directory, synced, then renamed over path — with mode 0600, since it
// holds the credential.
func (s *State) Save(path string) error {
	s.Version = StateVersion
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("farmclient: state: %w", err)
	}
	raw = append(raw, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("farmclient: saving state %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; say so for umasks and
	// platforms that differ.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("farmclient: saving state %s: %w", path, err)
	}
	if _, err := tmp.Write(raw); err != nil {
		return fmt.Errorf("farmclient: saving state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("farmclient: saving state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("farmclient: saving state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("farmclient: saving state %s: %w", path, err)
	}
	done = true
	// Make the rename durable; a directory that cannot be synced
	// (some file systems) still holds the file.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
