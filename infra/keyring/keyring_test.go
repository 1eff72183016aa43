package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"seatledger/domain/subscription"
	"seatledger/infra/keyring"
)

// The keyring implements what the command handler needs.
var _ interface {
	Issue() (string, subscription.SealedKey, error)
	ID(canonical string) string
	Open(subscription.SealedKey) (string, error)
} = (*keyring.Keyring)(nil)

func newKeyring(t *testing.T, fill byte) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New(bytes.Repeat([]byte{fill}, keyring.MinSecretBytes))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t *testing.T, k *keyring.Keyring) (string, subscription.SealedKey) {
	t.Helper()
	key, sealed, err := k.Issue()
	if err != nil {
		t.Fatal(err)
	}
	return key, sealed
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Rule KEY-9: an issued key seals into an ID, a lookup hash, an encrypted
// copy and a hint, and opens back to the same key.
func TestIssue_seals_and_opens_back_KEY9(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 1)
	key, sealed := issue(t, k)
	if canonical, err := subscription.ParseKey(key); err != nil || canonical != key {
		t.Fatalf("issued key %q is not canonical (%q, %v)", key, canonical, err)
	}
	if !hexID.MatchString(sealed.KeyID) || sealed.KeyID != k.ID(key) {
		t.Errorf("key ID %q; want 32 lowercase hex digits equal to ID(key) %q", sealed.KeyID, k.ID(key))
	}
	if len(sealed.Lookup) != 32 || sealed.KeyID != hex.EncodeToString(sealed.Lookup[:16]) {
		t.Errorf("lookup %x is not a 32-byte hash starting with the key ID", sealed.Lookup)
	}
	if want := key[len(key)-5:]; sealed.Hint != want {
		t.Errorf("hint %q; want the last group %q", sealed.Hint, want)
	}
	opened, err := k.Open(sealed)
	if err != nil || opened != key {
		t.Fatalf("Open = %q, %v; want %q", opened, err, key)
	}
	other, _ := issue(t, k)
	if other == key {
		t.Error("two issued keys are equal")
	}
}

// Rule KEY-9: reading what is stored does not reveal the key: the sealed
// bytes (nor anything else stored but the hint) do not contain its text.
func TestSeal_stores_no_key_text_KEY9(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 2)
	for range 50 {
		key, sealed := issue(t, k)
		bare := strings.ReplaceAll(key, "-", "")
		for _, stored := range [][]byte{sealed.Sealed, sealed.Lookup, []byte(sealed.KeyID)} {
			for _, text := range []string{key, bare, key[:11], strings.ToLower(bare)} {
				if bytes.Contains(stored, []byte(text)) {
					t.Fatalf("stored bytes %x contain %q of key %s", stored, text, key)
				}
			}
		}
	}
}

// Rule KEY-9: sealing a key twice gives different ciphertexts (a fresh
// nonce each time) with the same ID, and both open.
func TestSeal_uses_a_fresh_nonce_KEY9(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 3)
	key, a := issue(t, k)
	b, err := k.Seal(key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Sealed, b.Sealed) || a.KeyID != b.KeyID || !bytes.Equal(a.Lookup, b.Lookup) {
		t.Errorf("sealed twice: %+v and %+v", a, b)
	}
	if got, err := k.Open(b); err != nil || got != key {
		t.Errorf("Open = %q, %v", got, err)
	}
}

// Rule KEY-9: the ID is a function of the key and the secret only, so a
// typed key finds its stream; another secret gives other IDs.
func TestID_is_stable_per_secret_KEY9(t *testing.T) {
	t.Parallel()
	key, err := subscription.NewKey(make([]byte, subscription.KeyRandomBytes))
	if err != nil {
		t.Fatal(err)
	}
	a, again, other := newKeyring(t, 4), newKeyring(t, 4), newKeyring(t, 5)
	if a.ID(key) != again.ID(key) {
		t.Error("one secret gives two IDs for one key")
	}
	if a.ID(key) == other.ID(key) {
		t.Error("two secrets give the same ID")
	}
	if !hexID.MatchString(a.ID(key)) {
		t.Errorf("ID %q is not 32 lowercase hex digits", a.ID(key))
	}
	typed, err := subscription.ParseKey(strings.ToLower(strings.ReplaceAll(key, "-", " ")))
	if err != nil || a.ID(typed) != a.ID(key) {
		t.Errorf("the typed key parses to %q (%v) with another ID", typed, err)
	}
}

// Rule KEY-9: Seal takes canonical keys only, so that the ID of a stored
// key is the ID of the same key typed in any form.
func TestSeal_refuses_non_canonical_keys_KEY9(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 6)
	key, _ := issue(t, k)
	for _, raw := range []string{strings.ToLower(key), strings.ReplaceAll(key, "-", ""), " " + key, "not a key", ""} {
		if _, err := k.Seal(raw); !errors.Is(err, subscription.ErrKeyFormat) {
			t.Errorf("Seal(%q) = %v; want ErrKeyFormat", raw, err)
		}
	}
}

// Rule KEY-9: a sealed key altered in any part, or sealed under another
// secret, does not open.
func TestOpen_refuses_tampered_and_foreign_sealed_keys_KEY9(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 7)
	_, sealed := issue(t, k)
	_, another := issue(t, k)
	clone := func(s subscription.SealedKey) subscription.SealedKey {
		s.Sealed = bytes.Clone(s.Sealed)
		s.Lookup = bytes.Clone(s.Lookup)
		return s
	}
	cases := map[string]subscription.SealedKey{}
	for what, i := range map[string]int{"nonce": 0, "nonce end": 11, "ciphertext": 12, "tag": len(sealed.Sealed) - 1} {
		s := clone(sealed)
		s.Sealed[i] ^= 1
		cases["flipped bit in "+what] = s
	}
	swapped := clone(sealed)
	swapped.KeyID = another.KeyID
	cases["swapped key ID"] = swapped
	swappedCopy := clone(another)
	swappedCopy.Sealed = sealed.Sealed
	cases["another key's copy"] = swappedCopy
	lookup := clone(sealed)
	lookup.Lookup[0] ^= 1
	cases["altered lookup"] = lookup
	short := clone(sealed)
	short.Sealed = short.Sealed[:20]
	cases["truncated"] = short
	cases["empty"] = subscription.SealedKey{KeyID: sealed.KeyID}
	for name, s := range cases {
		if got, err := k.Open(s); !errors.Is(err, keyring.ErrSealed) {
			t.Errorf("%s: Open = %q, %v; want ErrSealed", name, got, err)
		}
	}
	if got, err := newKeyring(t, 8).Open(sealed); !errors.Is(err, keyring.ErrSealed) {
		t.Errorf("another keyring opened the key: %q, %v", got, err)
	}
}

func TestNew_refuses_short_secrets(t *testing.T) {
	t.Parallel()
	if _, err := keyring.New(make([]byte, keyring.MinSecretBytes-1)); err == nil {
		t.Fatal("a 31-byte secret was accepted")
	}
}

// Rule KEY-9: the secret file is created once, private, and reused, so
// that keys sealed before a restart open and keep their IDs after it.
func TestLoadFile_creates_the_secret_once_and_reuses_it_KEY9(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "keys", "keyring.secret")
	first, err := keyring.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, sealed := issue(t, first)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || info.Size() != keyring.MinSecretBytes {
		t.Errorf("secret file mode %v, size %d; want 0600, %d bytes", info.Mode().Perm(), info.Size(), keyring.MinSecretBytes)
	}
	if dir, err := os.Stat(filepath.Dir(path)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("secret directory: %v, %v; want mode 0700", dir.Mode().Perm(), err)
	}
	written, _ := os.ReadFile(path)

	reloaded, err := keyring.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.ID(key) != first.ID(key) {
		t.Error("the reloaded keyring gives another ID")
	}
	if got, err := reloaded.Open(sealed); err != nil || got != key {
		t.Errorf("the reloaded keyring opens %q, %v; want %q", got, err, key)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, written) {
		t.Error("reloading rewrote the secret")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries; want the secret only (no temporary files)", len(entries))
	}
}

// Processes starting at once on an empty data directory agree on one
// secret.
func TestLoadFile_racing_processes_agree(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring.secret")
	key, err := subscription.NewKey(bytes.Repeat([]byte{9}, subscription.KeyRandomBytes))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := keyring.LoadFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID(key)
		})
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("loader %d derived ID %s, loader 0 %s", i, id, ids[0])
		}
	}
}

// A damaged secret file is never silently replaced: that would lose every
// key sealed under it.
func TestLoadFile_refuses_a_short_or_unreadable_file(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	short := filepath.Join(dir, "short.secret")
	if err := os.WriteFile(short, make([]byte, 31), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadFile(short); err == nil || !strings.Contains(err.Error(), short) {
		t.Errorf("short file: %v; want an error naming %s", err, short)
	}
	if got, _ := os.ReadFile(short); len(got) != 31 {
		t.Error("the short file was rewritten")
	}
	empty := filepath.Join(dir, "empty.secret")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadFile(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty file: %v; want an error naming %s", err, empty)
	}
	// A directory where the file should be cannot be read.
	if _, err := keyring.LoadFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v; want an error naming %s", err, dir)
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 33)
	for i := range raw {
		raw[i] = byte(250 - i) // bytes that differ between the alphabets
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s := enc.EncodeToString(raw)
		got, err := keyring.ParseSecret(s + "\n")
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseSecret(%q) = %x, %v; want %x", s, got, err, raw)
		}
	}
	for name, s := range map[string]string{
		"short":       base64.StdEncoding.EncodeToString(make([]byte, 31)),
		"not base64":  strings.Repeat("secret!", 8),
		"empty":       "",
		"hex, 32 hex": strings.Repeat("ab", 16) + "=",
	} {
		_, err := keyring.ParseSecret(s)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("%s: the error quotes the secret: %v", name, err)
		}
	}
}

// ReadFile reads the keyring LoadFile created (the same IDs) and never
// creates one: a reader given the wrong path must not make a new secret.
func TestReadFile_reads_the_secret_and_never_creates_one_KEY9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "data", "keyring.secret")
	if _, err := keyring.ReadFile(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile created the folder: %v", err)
	}
	path := filepath.Join(dir, "keyring.secret")
	created, err := keyring.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := issue(t, created)
	read, err := keyring.ReadFile(path)
	if err != nil || read.ID(key) != created.ID(key) || read.Fingerprint() != created.Fingerprint() {
		t.Fatalf("ReadFile: %v", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.ReadFile(path); err == nil || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Errorf("a short file: %v", err)
	}
}
