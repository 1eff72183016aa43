package offline

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"seatledger/infra/newfile"
)

// LoadOrCreateSigner returns the signer whose Ed25519 private key the PEM
// (PKCS #8) file at path holds, creating the file with a fresh key (mode
// 0600) on first start. Installations trust the public key of this file:
// losing it means every installation must be given the new one.
func LoadOrCreateSigner(path string) (*Signer, error) {
	raw, err := newfile.LoadOrCreate(path, func() ([]byte, error) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	})
	if err != nil {
		return nil, fmt.Errorf("offline: signing key %s: %w", path, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("offline: signing key %s holds no PEM private key; restore it from a backup", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("offline: signing key %s: %w", path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("offline: signing key %s is a %T, not an Ed25519 key", path, parsed)
	}
	return NewSigner(key), nil
}
