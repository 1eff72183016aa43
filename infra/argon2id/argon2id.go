// Package argon2id hashes passwords with Argon2id (RFC 9106) through
// golang.org/x/crypto/argon2, in the PHC string format that other tools
// read: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>.
package argon2id

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Passes    uint32
	Lanes     uint8
}

// Default follows OWASP's recommendation for Argon2id (19 MiB, 2 passes,
// 1 lane): about 30 ms per hash on our machines.
var Default = Params{MemoryKiB: 19 * 1024, Passes: 2, Lanes: 1}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// Hasher hashes and verifies passwords with its parameters.
type Hasher struct{ Params Params }

// ErrMalformed is returned for a stored hash that is not an Argon2id PHC string.
var ErrMalformed = errors.New("argon2id: malformed hash")

// Hash returns the PHC string of password with a new random salt.
func (h Hasher) Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id: salt: %w", err)
	}
	p := h.Params
	key := argon2.IDKey([]byte(password), salt, p.Passes, p.MemoryKiB, p.Lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Passes, p.Lanes,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, with the parameters
// stored in encoded (so that raising the defaults keeps old hashes valid).
// The comparison takes constant time.
func (h Hasher) Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("%w: version %q", ErrMalformed, parts[2])
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Passes, &p.Lanes); err != nil ||
		p.MemoryKiB == 0 || p.MemoryKiB > 4<<20 || p.Passes == 0 || p.Passes > 100 || p.Lanes == 0 {
		return false, fmt.Errorf("%w: parameters %q", ErrMalformed, parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, fmt.Errorf("%w: salt", ErrMalformed)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, fmt.Errorf("%w: key", ErrMalformed)
	}
	got := argon2.IDKey([]byte(password), salt, p.Passes, p.MemoryKiB, p.Lanes, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
