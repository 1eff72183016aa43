package newfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// LoadOrCreateEd25519Key returns the Ed25519 private key that the PEM
// (PKCS #8) file at path holds, creating the file with a fresh key (mode
// 0600) on first start. The server's signing keys (offline activation
// files, audit checkpoints) are kept this way: whoever trusts the public
// key depends on the file never being replaced, so it is written once
// (see LoadOrCreate) and a damaged file is an error, never regenerated.
func LoadOrCreateEd25519Key(path string) (ed25519.PrivateKey, error) {
	raw, err := LoadOrCreate(path, func() ([]byte, error) {
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
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PEM private key; restore it from a backup", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an Ed25519 key", path, parsed)
	}
	return key, nil
}
