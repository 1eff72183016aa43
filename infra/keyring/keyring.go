// Package keyring seals license keys for storage (rule KEY-9): the
// ledger keeps a key only as a keyed hash to look it up by and an
// encrypted copy to show it again, so that reading the database (or the
// event log) alone reveals no usable key.
//
// Both come from one server secret, through HKDF-SHA256 with a distinct
// label each:
//
//   - the lookup key: HMAC-SHA256 of the canonical key under it is the
//     key's Lookup hash, and its first 16 bytes in hex are the key's ID
//     (which names the key's stream, so typing a key finds it);
//   - the seal key: AES-256-GCM under it, with a random 12-byte nonce and
//     the key ID as additional data, is the key's Sealed copy.
//
// The secret comes from LEDGER_KEYRING_SECRET (ParseSecret) or from a
// file generated on first start (LoadFile). Losing it loses every key:
// typed keys no longer find their streams and stored keys can no longer
// be shown. Back it up with the database.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"seatledger/domain/subscription"
	"seatledger/infra/newfile"
	secretpkg "seatledger/infra/secret"
)

// MinSecretBytes is the shortest secret accepted.
const MinSecretBytes = 32

// HKDF labels of the two derived keys. Changing one changes every key ID
// or makes every sealed key unreadable: never do.
const (
	lookupInfo = "seatledger license-key lookup v1"
	sealInfo   = "seatledger license-key seal v1"
)

const (
	nonceBytes = 12
	idBytes    = 16
	hintLength = 5
)

// ErrSealed is matched by the error of Open for a sealed key that this
// keyring did not seal, or that was altered since.
var ErrSealed = errors.New("keyring: the sealed key does not open with this keyring (tampered, or sealed with another secret)")

// Keyring seals and opens license keys. It is safe for concurrent use.
// Its zero value is unusable; use New, LoadFile or ParseSecret and New.
type Keyring struct {
	lookup []byte
	aead   cipher.AEAD
	// fingerprint identifies the secret without revealing it.
	fingerprint string
}

// New derives a keyring from secret, at least MinSecretBytes long. The
// same secret always gives the same keyring.
func New(secret []byte) (*Keyring, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("keyring: the secret must be at least %d bytes, got %d", MinSecretBytes, len(secret))
	}
	lookup, err := hkdf.Key(sha256.New, secret, nil, lookupInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive the lookup key: %w", err)
	}
	seal, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive the seal key: %w", err)
	}
	block, err := aes.NewCipher(seal)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return &Keyring{lookup: lookup, aead: aead, fingerprint: secretpkg.FingerprintOf(secretpkg.NameKeyring, secret)}, nil
}

// Fingerprint identifies the keyring's secret without revealing it, so
// that a process started with another secret than the ledger's is
// refused (secret.CheckFingerprints).
func (k *Keyring) Fingerprint() string { return k.fingerprint }

// ParseSecret decodes the value of LEDGER_KEYRING_SECRET: base64 (standard
// or URL alphabet, padded or not) of at least MinSecretBytes bytes.
// Surrounding white space is ignored. The error never quotes the value.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) < MinSecretBytes {
			return nil, fmt.Errorf("keyring: the secret must be base64 of at least %d bytes, got %d (e.g. openssl rand -base64 32)", MinSecretBytes, len(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("keyring: the secret is not base64 (e.g. openssl rand -base64 32)")
}

// LoadFile returns the keyring of the secret kept in the file at path,
// whose bytes are the secret as they are (at least MinSecretBytes).
// When the file does not exist, it is created, with its parent directory
// (mode 0700), holding MinSecretBytes random bytes, mode 0600. Creation is
// atomic and never replaces a file: when two processes start at once, the
// first file written wins and both use it.
func LoadFile(path string) (*Keyring, error) {
	secret, err := newfile.LoadOrCreate(path, func() ([]byte, error) {
		secret := make([]byte, MinSecretBytes)
		_, err := rand.Read(secret)
		return secret, err
	})
	return fromFile(path, secret, err)
}

// ReadFile returns the keyring of the secret kept in the file at path, as
// LoadFile does, but never creates the file: for a reader of the ledger
// (the CLI finding a typed key's ID), a missing file is an error
// (fs.ErrNotExist), not a new secret.
func ReadFile(path string) (*Keyring, error) {
	secret, err := os.ReadFile(path)
	return fromFile(path, secret, err)
}

// fromFile checks the secret read from the file at path.
func fromFile(path string, secret []byte, err error) (*Keyring, error) {
	if err != nil {
		return nil, fmt.Errorf("keyring: secret file %s: %w", path, err)
	}
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("keyring: secret file %s holds %d bytes, fewer than %d; restore it from a backup (an empty or truncated file is never replaced, since that would lose every key)",
			path, len(secret), MinSecretBytes)
	}
	return New(secret)
}

// mac returns HMAC-SHA256 of canonical under the lookup key.
func (k *Keyring) mac(canonical string) []byte {
	m := hmac.New(sha256.New, k.lookup)
	m.Write([]byte(canonical))
	return m.Sum(nil)
}

// ID returns the ID of a canonical key (as subscription.ParseKey returns
// it): lowercase hex of the first 16 bytes of its lookup hash.
func (k *Keyring) ID(canonical string) string {
	return hex.EncodeToString(k.mac(canonical)[:idBytes])
}

// Seal returns the stored form of a canonical key. It refuses a key that
// is not canonical, since its ID would not match the one of the same key
// typed later.
func (k *Keyring) Seal(canonical string) (subscription.SealedKey, error) {
	parsed, err := subscription.ParseKey(canonical)
	if err != nil {
		return subscription.SealedKey{}, fmt.Errorf("keyring: seal: %w", err)
	}
	if parsed != canonical {
		return subscription.SealedKey{}, fmt.Errorf("keyring: seal: %w: the key is not in its canonical form", subscription.ErrKeyFormat)
	}
	lookup := k.mac(canonical)
	id := hex.EncodeToString(lookup[:idBytes])
	nonce := make([]byte, nonceBytes, nonceBytes+len(canonical)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return subscription.SealedKey{}, fmt.Errorf("keyring: seal: %w", err)
	}
	return subscription.SealedKey{
		KeyID:  id,
		Lookup: lookup,
		Sealed: k.aead.Seal(nonce, nonce, []byte(canonical), []byte(id)),
		Hint:   canonical[len(canonical)-hintLength:],
	}, nil
}

// Issue draws a fresh key from crypto/rand and returns it (canonical)
// with its sealed form.
func (k *Keyring) Issue() (key string, sealed subscription.SealedKey, err error) {
	random := make([]byte, subscription.KeyRandomBytes)
	if _, err := rand.Read(random); err != nil {
		return "", subscription.SealedKey{}, fmt.Errorf("keyring: issue: %w", err)
	}
	key, err = subscription.NewKey(random)
	if err != nil {
		return "", subscription.SealedKey{}, fmt.Errorf("keyring: issue: %w", err)
	}
	sealed, err = k.Seal(key)
	if err != nil {
		return "", subscription.SealedKey{}, err
	}
	return key, sealed, nil
}

// Open returns the canonical key that s holds. A sealed key that this
// keyring did not seal, or that was altered (ciphertext, key ID or lookup
// hash), is refused with an error matching ErrSealed.
func (k *Keyring) Open(s subscription.SealedKey) (string, error) {
	if len(s.Sealed) < nonceBytes+k.aead.Overhead() {
		return "", fmt.Errorf("%w: key %s: too short", ErrSealed, s.KeyID)
	}
	plain, err := k.aead.Open(nil, s.Sealed[:nonceBytes], s.Sealed[nonceBytes:], []byte(s.KeyID))
	if err != nil {
		return "", fmt.Errorf("%w: key %s", ErrSealed, s.KeyID)
	}
	key := string(plain)
	lookup := k.mac(key)
	if !hmac.Equal([]byte(hex.EncodeToString(lookup[:idBytes])), []byte(s.KeyID)) {
		return "", fmt.Errorf("%w: key %s: the key does not match its ID", ErrSealed, s.KeyID)
	}
	if len(s.Lookup) > 0 && !hmac.Equal(lookup, s.Lookup) {
		return "", fmt.Errorf("%w: key %s: the key does not match its lookup hash", ErrSealed, s.KeyID)
	}
	return key, nil
}
