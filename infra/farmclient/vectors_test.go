package farmclient_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/offline"
)

// offlineVerifyVectors is the part of testdata/vectors/offline.json an
// installation's import is checked against: the pinned key and every
// verification case with the request it answers.
type offlineVerifyVectors struct {
	Key struct {
		PublicKey string `json:"public_key_base64"`
	} `json:"key"`
	Verify []struct {
		Name    string       `json:"name"`
		Kind    offline.Kind `json:"kind"`
		Now     string       `json:"now"`
		File    string       `json:"file"`
		Error   string       `json:"error"`
		Pending struct {
			RequestKind    offline.Kind `json:"request_kind"`
			Nonce          string       `json:"nonce"`
			Server         string       `json:"server"`
			InstallationID string       `json:"installation_id"`
		} `json:"pending"`
	} `json:"verify"`
}

// reasonOf names an Import refusal as docs/formats.md's "Verifying an
// answer" does.
func reasonOf(err error) string {
	for reason, target := range map[string]error{"malformed": offline.ErrMalformed, "kind": offline.ErrKind, "signature": offline.ErrSignature,
		"future": offline.ErrFuture, "expired": offline.ErrExpired, "foreign": farmclient.ErrForeign, "replayed": farmclient.ErrReplayed} {
		if errors.Is(err, target) {
			return reason
		}
	}
	if err != nil {
		return "unnamed: " + err.Error()
	}
	return ""
}

// identityOf is an identity whose server identity is server
// ("farm/<server_id>" or "proxy_server/<site_code>/<server_name>").
func identityOf(t *testing.T, server string) farmclient.Identity {
	t.Helper()
	parts := strings.Split(server, "/")
	switch {
	case len(parts) == 2 && parts[0] == "farm":
		return farmclient.Identity{Kind: farmclient.KindFarm, ServerID: parts[1], FarmName: "Berlin", AppVersion: "19.2"}
	case len(parts) == 3 && parts[0] == "proxy_server":
		return farmclient.Identity{Kind: farmclient.KindProxyServer, SiteCode: parts[1], ServerName: parts[2], AppVersion: "19.2"}
	}
	t.Fatalf("server identity %q", server)
	return farmclient.Identity{}
}

// TestVectors_offline_import_ACT2_ACT5_ACT6 runs every verification case
// of testdata/vectors/offline.json through Import, as an installation
// waiting for the case's pending request: all six steps of
// docs/formats.md's "Verifying an answer" in their order, the last one
// (nonce, server, installation) included, must give the stated reason.
func TestVectors_offline_import_ACT2_ACT5_ACT6(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../testdata/vectors/offline.json")
	if err != nil {
		t.Fatal(err)
	}
	var v offlineVerifyVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	steps := map[string]int{}
	for _, c := range v.Verify {
		now, err := time.Parse(time.RFC3339, c.Now)
		if err != nil {
			t.Fatalf("%s: now: %v", c.Name, err)
		}
		state := &farmclient.State{Identity: identityOf(t, c.Pending.Server), InstallationID: c.Pending.InstallationID,
			PublicKey: v.Key.PublicKey, Pending: &farmclient.Pending{Kind: c.Pending.RequestKind, Nonce: c.Pending.Nonce, Issued: now}}
		if c.Pending.InstallationID != "" {
			state.Credential, state.Status = "sli_test", farmclient.StatusActive
		}
		if want := farmclient.AnswerKind(c.Pending.RequestKind); want != c.Kind {
			t.Errorf("%s: the pending %s is answered by %s, the case expects %s", c.Name, c.Pending.RequestKind, want, c.Kind)
		}
		kind, err := farmclient.Import(state, []byte(c.File), now)
		if got := reasonOf(err); got != c.Error {
			t.Errorf("%s: Import refuses with %q (%v), the vector says %q", c.Name, got, err, c.Error)
			continue
		}
		if err == nil && (kind != c.Kind || state.Pending != nil) {
			t.Errorf("%s: imported %s, pending %+v", c.Name, kind, state.Pending)
		}
		steps[c.Error]++
	}
	for _, reason := range []string{"", "malformed", "kind", "signature", "future", "expired", "foreign", "replayed"} {
		if steps[reason] == 0 {
			t.Errorf("no verification case ends in %q", reason)
		}
	}
}
