package offline

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"seatledger/infra/strictjson"
)

// NewNonce returns a fresh random nonce for a request.
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("offline: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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
