package subscription

import (
	"errors"
	"fmt"
	"strings"
)

// License keys (rule KEY-9) look like "7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5":
// 25 symbols of Crockford's base-32 alphabet in groups of five. The
// first 24 are random (120 bits: unguessable), the last is a Luhn mod 32
// check symbol, which catches every mistyped symbol and almost every swap
// of two neighbours before any lookup. Crockford's alphabet has no I, L,
// O or U, and reading accepts i/l as 1 and o as 0, so what people read
// out over the phone still parses.

// keyAlphabet is Crockford's base-32 alphabet.
const keyAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// KeyRandomBytes is how many random bytes NewKey needs (120 bits).
const KeyRandomBytes = 15

const keySymbols = 25

// ErrKeyFormat: a key that is not 25 symbols of the alphabet, or whose
// check symbol does not match (a typo).
var ErrKeyFormat = errors.New("subscription: not a license key")

// NewKey formats random (KeyRandomBytes bytes from crypto/rand) as a key.
func NewKey(random []byte) (string, error) {
	if len(random) != KeyRandomBytes {
		return "", fmt.Errorf("subscription: a key needs %d random bytes, got %d", KeyRandomBytes, len(random))
	}
	symbols := make([]int, 0, keySymbols)
	var acc, bits uint
	for _, b := range random {
		acc, bits = acc<<8|uint(b), bits+8
		for bits >= 5 {
			bits -= 5
			symbols = append(symbols, int(acc>>bits)&31)
		}
	}
	symbols = append(symbols, luhnCheck(symbols))
	return format(symbols), nil
}

// ParseKey reads a key as a person typed it (any case, with or without
// dashes and spaces) and returns it in its canonical form, or
// ErrKeyFormat naming what is wrong.
func ParseKey(raw string) (string, error) {
	symbols := make([]int, 0, keySymbols)
	for _, r := range strings.ToUpper(raw) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		i := strings.IndexRune(keyAlphabet, r)
		if i < 0 {
			return "", fmt.Errorf("%w: %q is not a key symbol", ErrKeyFormat, r)
		}
		symbols = append(symbols, i)
		if len(symbols) > keySymbols {
			break // too long already: no need to read the rest
		}
	}
	if len(symbols) != keySymbols {
		return "", fmt.Errorf("%w: a key has %d symbols, this has %d", ErrKeyFormat, keySymbols, len(symbols))
	}
	if luhnCheck(symbols[:keySymbols-1]) != symbols[keySymbols-1] {
		return "", fmt.Errorf("%w: the check symbol does not match; look for a typo", ErrKeyFormat)
	}
	return format(symbols), nil
}

func format(symbols []int) string {
	var b strings.Builder
	for i, s := range symbols {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(keyAlphabet[s])
	}
	return b.String()
}

// luhnCheck is the Luhn mod 32 check symbol of symbols.
func luhnCheck(symbols []int) int {
	const n = 32
	factor, sum := 2, 0
	for i := len(symbols) - 1; i >= 0; i-- {
		addend := factor * symbols[i]
		factor = 3 - factor // 2, 1, 2, 1 … from the right
		sum += addend/n + addend%n
	}
	return (n - sum%n) % n
}
