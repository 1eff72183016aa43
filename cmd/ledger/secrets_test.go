package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"seatledger/infra/secret"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// `ledger secrets list` shows the fingerprints a ledger recorded (issue
// 18, one set of secrets); `ledger secrets forget NAME` drops one, the
// step that replaces a secret on purpose; an unknown name is a usage
// error in one line. On both engines.
func TestSecrets_list_and_forget_the_recorded_fingerprints(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		db := sqldbtest.Open(t, target)
		fp := secret.FingerprintOf(secret.NameAuditKey, []byte("public key"))
		if err := secret.CheckFingerprints(context.Background(), db, []secret.Fingerprint{{Name: secret.NameAuditKey, Value: fp}},
			time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"LEDGER_DATABASE_URL": target.DSN}
		code, out, errOut := runCLI(t, env, "secrets", "list")
		if code != exitOK || !strings.Contains(out, "audit-signing  "+fp+"  2026-03-01T09:00:00Z") || errOut != "" {
			t.Fatalf("list: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		code, out, _ = runCLI(t, env, "secrets", "forget", "audit-signing")
		if code != exitOK || !strings.HasPrefix(out, "forgot the fingerprint of audit-signing") {
			t.Fatalf("forget: exit %d, %q", code, out)
		}
		if recorded, err := secret.RecordedFingerprints(context.Background(), db); err != nil || len(recorded) != 0 {
			t.Fatalf("left %v, %v", recorded, err)
		}
		code, out, _ = runCLI(t, env, "secrets", "forget", "audit-signing")
		if code != exitOK || !strings.HasPrefix(out, "no fingerprint of audit-signing was recorded") {
			t.Fatalf("forget again: exit %d, %q", code, out)
		}
		code, _, errOut = runCLI(t, env, "secrets", "forget", "password")
		if code != exitUsage {
			t.Errorf("an unknown secret: exit %d", code)
		}
		wantOneLine(t, errOut, `ledger: secret: no such secret "password" (use one of link-key, keyring`)
	})
}
