package event

import (
	"crypto/sha1"
	"encoding/hex"
)

// NameUUID returns the name-based (version 5, RFC 9562) UUID of name in
// namespace: the same name always gives the same ID. The ledger derives
// the IDs of what must come out the same on a retry or a replay from it —
// an idempotent command's events, a timer's events, an installation.
// A nil namespace hashes the name alone.
func NameUUID(namespace []byte, name string) string {
	h := sha1.New()
	h.Write(namespace)
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	b := hex.EncodeToString(u[:])
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}
