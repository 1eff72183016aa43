package offline

import (
	"fmt"

	"seatledger/infra/newfile"
)

// LoadOrCreateSigner returns the signer whose Ed25519 private key the PEM
// (PKCS #8) file at path holds, creating the file with a fresh key (mode
// 0600) on first start. Installations trust the public key of this file:
// losing it means every installation must be given the new one.
func LoadOrCreateSigner(path string) (*Signer, error) {
	key, err := newfile.LoadOrCreateEd25519Key(path)
	if err != nil {
		return nil, fmt.Errorf("offline: signing key %s: %w", path, err)
	}
	return NewSigner(key), nil
}
