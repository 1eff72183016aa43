// Package passwords is the ledger's password policy and storage in one
// value for the write side (commands.Passwords): argon2id hashing
// (infra/argon2id) and the check that a new password is not easy to guess,
// with zxcvbn (github.com/ccojocar/zxcvbn-go): its lists of common
// passwords (about 7,000 seen most often in breaches), words, names,
// keyboard patterns, sequences, repeats and dates, and the person's own
// name and address as hints.
package passwords

import (
	"strings"

	"github.com/ccojocar/zxcvbn-go"
	"github.com/ccojocar/zxcvbn-go/frequency"

	"seatledger/infra/argon2id"
)

// MinScore is the lowest zxcvbn score accepted (0–4): 3 means about 10^10
// guesses, "safely unguessable" against an offline attack on a slow hash.
const MinScore = 3

// Policy hashes with argon2id and refuses guessable passwords.
type Policy struct {
	argon2id.Hasher
}

// New returns a policy hashing with params.
func New(params argon2id.Params) Policy { return Policy{Hasher: argon2id.Hasher{Params: params}} }

var common = func() map[string]struct{} {
	list := frequency.Lists["Passwords"].List
	m := make(map[string]struct{}, len(list))
	for _, p := range list {
		m[strings.ToLower(p)] = struct{}{}
	}
	return m
}()

// Guessable reports whether password is a common password (ignoring case)
// or scores below MinScore, given hints such as the person's name and
// email address.
func (Policy) Guessable(password string, hints []string) bool {
	if _, ok := common[strings.ToLower(password)]; ok {
		return true
	}
	return zxcvbn.PasswordStrength(password, hints).Score < MinScore
}
