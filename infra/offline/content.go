package offline

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"seatledger/infra/strictjson"
)

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

// AnswerValidity is how long a signed answer may wait to be imported.
const AnswerValidity = 14 * 24 * time.Hour

// NewNonce returns a fresh random nonce for a request.
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("offline: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Proof is what a request of kind k proves with credential: an
// HMAC-SHA256 under the credential of the kind, the nonce, the server and
// the installation, so a proof fits one request only.
func Proof(credential string, k Kind, nonce, server, installationID string) string {
	m := hmac.New(sha256.New, []byte(credential))
	fmt.Fprintf(m, "seatledger offline proof v1\n%s\n%s\n%s\n%s", k, nonce, server, installationID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckProof reports whether proof is Proof's answer for these inputs, in
// constant time.
func CheckProof(proof, credential string, k Kind, nonce, server, installationID string) bool {
	return hmac.Equal([]byte(proof), []byte(Proof(credential, k, nonce, server, installationID)))
}

// DecodeContent reads f's content into v strictly (rule X-7, package
// strictjson): one JSON object of v's shape, unknown fields refused, and
// invalid UTF-8 refused rather than replaced.
func DecodeContent(f File, v any) error {
	if err := strictjson.Decode(f.Content, v); err != nil {
		return fmt.Errorf("%w: the content is not the JSON of a %s file: %v", ErrMalformed, f.Kind, err)
	}
	return nil
}
