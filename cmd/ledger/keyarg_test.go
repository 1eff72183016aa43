package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 20: `ledger state key` and `ledger history key` take the license
// key a customer holds, not only its 32-hex ID: the ID is found with the
// ledger's keyring, read and never created, and checked against the one
// the ledger recorded. A mistyped key is named as such; a missing or
// foreign keyring too, each in one line (KEY-9: the database alone finds
// no key).
func TestStateAndHistory_take_the_license_key_itself_KEY9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := startLedgerdIn(t, dir)
	keys, account, person := vendorAndCustomer(t, base, map[string]string{"order-1": "ras:10"})
	key := keys["order-1"]
	subs := person.json(200, "GET", "/v1/accounts/"+account+"/subscriptions", nil)["subscriptions"].([]any)
	sub := subs[0].(map[string]any)["subscription_id"].(string)
	id := person.json(200, "GET", "/v1/subscriptions/"+sub, nil)["keys"].([]any)[0].(map[string]any)["key_id"].(string)

	data := filepath.Join(dir, "data")
	env := map[string]string{"LEDGER_DATABASE_URL": filepath.Join(data, "ledger.db"), "LEDGER_KEYRING_FILE": filepath.Join(data, "keyring.secret")}
	byID := ok(t, env, "state", "key", id)
	for _, typed := range []string{key, strings.ToLower(strings.ReplaceAll(key, "-", ""))} {
		if got := ok(t, env, "state", "key", typed); got != byID {
			t.Errorf("state of key %s:\n%s\nwant (by its ID %s):\n%s", typed, got, id, byID)
		}
	}
	var st struct{ Exists bool }
	if json.Unmarshal([]byte(byID), &st) != nil || !st.Exists {
		t.Fatalf("state by ID: %s", byID)
	}
	for _, view := range []string{"--json", "--raw", "--json=false"} { // the stored events, and the history for people
		if got, want := ok(t, env, "history", "key", key, view), ok(t, env, "history", "key", id, view); got != want || got == "" {
			t.Errorf("history %s of the key as typed:\n%s\nwant:\n%s", view, got, want)
		}
	}

	// A typo: the check symbol catches it; said so, not "never existed".
	typo := []byte(key)
	typo[0] = map[bool]byte{true: 'A', false: 'B'}[typo[0] != 'A']
	usage(t, env, "ledger: not a license key: the check symbol does not match; look for a typo", "state", "key", string(typo))
	// No keyring where it is looked for: one line, and none is created.
	missing := filepath.Join(dir, "elsewhere", "keyring.secret")
	usage(t, env, "ledger: finding a license key takes the ledger's keyring, and "+missing+" (--keyring-file) does not exist",
		"history", "key", key, "--keyring-file", missing)
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("a keyring was created: %v", err)
	}
	// Another ledger's keyring: named, rather than the key unknown.
	other := map[string]string{"LEDGER_DATABASE_URL": env["LEDGER_DATABASE_URL"], "LEDGER_KEYRING_SECRET": "c2VjcmV0LW9mLWFub3RoZXItbGVkZ2VyLTAxMjM0NTY3ODk="}
	usage(t, other, "ledger: the keyring of LEDGER_KEYRING_SECRET is not this ledger's", "state", "key", key)
}

// usage runs the CLI and fails the test unless it is a usage error (exit
// 2) in one line starting with want.
func usage(t *testing.T, env map[string]string, want string, args ...string) {
	t.Helper()
	code, _, errOut := runCLI(t, env, args...)
	if code != exitUsage {
		t.Errorf("ledger %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
	}
	wantOneLine(t, errOut, want)
}
