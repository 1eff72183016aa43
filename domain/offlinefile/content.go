package offlinefile

import "time"

// The contents of the files, as JSON. Requests name the installation by
// its identity (an activation) or by its ID and a proof that it holds the
// credential of its activation (a refresh or a deactivation): an offline
// installation cannot sign, but it can prove what it was given.

// Identity is an installation's identity as files carry it (rule PROD-4).
type Identity struct {
	Kind            string `json:"kind"`
	ServerID        string `json:"server_id,omitempty"`
	FarmName        string `json:"farm_name,omitempty"`
	ServerName      string `json:"server_name,omitempty"`
	SiteCode        string `json:"site_code,omitempty"`
	SiteDescription string `json:"site_description,omitempty"`
	AppVersion      string `json:"app_version"`
}

// License is the license an answer certifies (rule ACT-4).
type License struct {
	KeyID     string    `json:"key_id"`
	KeyHint   string    `json:"key_hint,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Seats     int       `json:"seats"`
	Used      int       `json:"used"`
	Remaining int       `json:"remaining"`
}

// ActivationRequestContent is what an activation request carries (ACT-2).
type ActivationRequestContent struct {
	Key      string   `json:"key"`
	Identity Identity `json:"identity"`
}

// ProofRequestContent is what a refresh or deactivation request carries
// (ACT-5, ACT-6).
type ProofRequestContent struct {
	InstallationID string `json:"installation_id"`
	Proof          string `json:"proof"`
}

// AnswerContent is what the ledger's signed answers carry: the
// installation, its license and status, and — in an activation file only —
// the credential of the activation.
type AnswerContent struct {
	InstallationID string   `json:"installation_id"`
	Identity       Identity `json:"identity"`
	Credential     string   `json:"credential,omitempty"`
	Status         string   `json:"status"`
	License        License  `json:"license"`
}
