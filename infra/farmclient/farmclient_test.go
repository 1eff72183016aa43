package farmclient_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"seatledger/domain/installation"
	"seatledger/domain/offlinefile"
	"seatledger/domain/subscription"
	"seatledger/infra/farmclient"
	"seatledger/infra/httpapi"
	"seatledger/infra/offline"
)

var now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newSigner(t *testing.T) *offline.Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return offline.NewSigner(key)
}

var farmID = farmclient.Identity{Kind: farmclient.KindFarm, ServerID: "srv-1", FarmName: "Main", AppVersion: "19.2"}

// freshState is an installation that never went online: it knows the
// ledger's public key and its own identity.
func freshState(signer *offline.Signer) *farmclient.State {
	s := &farmclient.State{Identity: farmID}
	s.SetLedgerKey(signer.PublicKey())
	return s
}

// ledger answers request file raw as the ledger would (commands.sign),
// with kind k, the given credential and status, signed at issued.
func answer(t *testing.T, signer *offline.Signer, raw []byte, k offline.Kind, installationID, credential, status string, issued time.Time) []byte {
	t.Helper()
	var req offline.File
	var err error
	for _, rk := range []offline.Kind{offline.ActivationRequest, offline.RefreshRequest, offline.DeactivationRequest} {
		if req, err = offline.Decode(raw, rk); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("not a request file: %v", err)
	}
	content, _ := json.Marshal(offline.AnswerContent{InstallationID: installationID, Credential: credential, Status: status,
		Identity: offline.Identity{Kind: "farm", ServerID: "srv-1", FarmName: "Main", AppVersion: "19.2"},
		License:  offline.License{KeyID: "key-1", KeyHint: "CW6Y5", Start: now, End: now.AddDate(1, 0, 0), Seats: 10, Used: 0, Remaining: 10}})
	file, err := signer.Sign(offline.File{Kind: k, Issued: issued, Expires: issued.Add(offline.AnswerValidity), Nonce: req.Nonce, Server: req.Server, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// activated is an installation activated offline.
func activated(t *testing.T, signer *offline.Signer) *farmclient.State {
	t.Helper()
	s := freshState(signer)
	req, err := farmclient.WriteRequest(s, offline.ActivationRequest, "7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := farmclient.Import(s, answer(t, signer, req, offline.Activation, "inst-1", "sli_inst-1.1.secret", "active", now), now); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestState_round_trip_in_a_0600_file_written_atomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "farm.json")
	end := now.AddDate(1, 0, 0)
	s := &farmclient.State{Server: "http://127.0.0.1:8080", Identity: farmID, InstallationID: "inst-1", Credential: "sli_inst-1.1.secret",
		Status: farmclient.StatusActive, License: &farmclient.License{KeyID: "k", KeyHint: "CW6Y5", Start: now, End: &end, Seats: 10, Remaining: 10},
		PublicKey: base64.StdEncoding.EncodeToString(make([]byte, 32)),
		Pending:   &farmclient.Pending{Kind: offline.RefreshRequest, Nonce: "n1", Issued: now}}
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	s.Status = farmclient.StatusSuspended // a second save replaces the file
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := farmclient.LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("loaded %+v\nsaved  %+v", got, s)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the state (no temporary file left)", len(entries))
	}
	if got.MaskedCredential() != "sli_…cret" || strings.Contains(got.MaskedCredential(), "secret") {
		t.Errorf("masked credential %q", got.MaskedCredential())
	}
}

func TestLoadState_refuses_a_missing_or_foreign_file(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := farmclient.LoadState(filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for name, content := range map[string]string{"garbage.json": "not json", "future.json": `{"version": 99}`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := farmclient.LoadState(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// ACT-2: an installation without a connection writes an activation
// request with the key and its identity, and imports the ledger's signed
// answer: the credential and license.
func TestOffline_activation_request_and_import_ACT2(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	s := freshState(signer)
	req, err := farmclient.WriteRequest(s, offline.ActivationRequest, "7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5", now.Add(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	f, err := offline.Decode(req, offline.ActivationRequest)
	if err != nil {
		t.Fatal(err)
	}
	var content offline.ActivationRequestContent
	if err := offline.DecodeContent(f, &content); err != nil {
		t.Fatal(err)
	}
	if content.Key != "7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5" || content.Identity.ServerID != "srv-1" || content.Identity.Kind != "farm" ||
		f.Server != "farm/srv-1" || !f.Issued.Equal(now.Add(time.Second)) {
		t.Fatalf("request %+v, content %+v", f, content)
	}
	if s.Pending == nil || s.Pending.Kind != offline.ActivationRequest || s.Pending.Nonce != f.Nonce || !s.Pending.Issued.Equal(f.Issued) {
		t.Fatalf("pending %+v", s.Pending)
	}

	kind, err := farmclient.Import(s, answer(t, signer, req, offline.Activation, "inst-1", "sli_inst-1.1.secret", "active", now.Add(time.Hour)), now.Add(2*time.Hour))
	if err != nil || kind != offline.Activation {
		t.Fatalf("import: %v, %v", kind, err)
	}
	if s.InstallationID != "inst-1" || s.Credential != "sli_inst-1.1.secret" || s.Status != farmclient.StatusActive || s.Pending != nil ||
		s.License == nil || s.License.Seats != 10 || s.License.KeyHint != "CW6Y5" || s.License.End == nil || !s.Active() {
		t.Fatalf("after import: %+v", s)
	}
}

// ACT-2, ACT-5: an answer is imported once; the same file again is
// refused as replayed, and so is an answer to an earlier request.
func TestOffline_replayed_answer_is_refused_ACT2_ACT5(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	s := activated(t, signer)

	first, err := farmclient.WriteRequest(s, offline.RefreshRequest, "", now)
	if err != nil {
		t.Fatal(err)
	}
	oldAnswer := answer(t, signer, first, offline.SubscriptionInfo, "inst-1", "", "active", now)
	second, err := farmclient.WriteRequest(s, offline.RefreshRequest, "", now) // replaces the first
	if err != nil {
		t.Fatal(err)
	}
	if _, err := farmclient.Import(s, oldAnswer, now); !errors.Is(err, farmclient.ErrReplayed) {
		t.Fatalf("the answer to a replaced request: %v", err)
	}
	current := answer(t, signer, second, offline.SubscriptionInfo, "inst-1", "", "active", now)
	if _, err := farmclient.Import(s, current, now); err != nil {
		t.Fatal(err)
	}
	before := *s
	_, err = farmclient.Import(s, current, now)
	if !errors.Is(err, farmclient.ErrReplayed) || !strings.Contains(err.Error(), "imported already") {
		t.Fatalf("imported twice: %v", err)
	}
	if !reflect.DeepEqual(*s, before) {
		t.Error("a refused import changed the state")
	}
	if _, err := farmclient.Import(s, answer(t, signer, second, offline.SubscriptionInfo, "inst-1", "", "active", now), now); !errors.Is(err, farmclient.ErrReplayed) {
		t.Errorf("a second answer to the same request: %v", err)
	}
}

// ACT-5: a refresh request proves the activation's credential and the
// answer updates the license.
func TestOffline_refresh_proves_the_credential_and_updates_the_license_ACT5(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	s := activated(t, signer)
	s.License.Seats = 3
	req, err := farmclient.WriteRequest(s, offline.RefreshRequest, "", now)
	if err != nil {
		t.Fatal(err)
	}
	f, err := offline.Decode(req, offline.RefreshRequest)
	if err != nil {
		t.Fatal(err)
	}
	var content offline.ProofRequestContent
	if err := offline.DecodeContent(f, &content); err != nil {
		t.Fatal(err)
	}
	if content.InstallationID != "inst-1" || !offlinefile.CheckProof(content.Proof, "sli_inst-1.1.secret", offline.RefreshRequest, f.Nonce, "farm/srv-1", "inst-1") {
		t.Fatalf("the proof does not check: %+v", content)
	}
	if strings.Contains(string(req), "secret") {
		t.Error("the request file carries the credential")
	}
	kind, err := farmclient.Import(s, answer(t, signer, req, offline.SubscriptionInfo, "inst-1", "", "active", now), now)
	if err != nil || kind != offline.SubscriptionInfo || s.License.Seats != 10 || s.Credential != "sli_inst-1.1.secret" {
		t.Fatalf("import: %v %v, state %+v", kind, err, s)
	}
}

// ACT-6: writing the deactivation request deactivates at once; the
// ledger's confirmation is imported once.
func TestOffline_deactivation_is_immediate_and_confirmed_by_the_answer_ACT6(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	s := activated(t, signer)
	req, err := farmclient.WriteRequest(s, offline.DeactivationRequest, "", now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != farmclient.StatusDeactivated || s.Active() {
		t.Fatalf("after writing the request: %+v", s)
	}
	if _, err := farmclient.WriteRequest(s, offline.RefreshRequest, "", now); err == nil {
		t.Error("a deactivated installation wrote a refresh request")
	}
	// The file got lost: written again, the new one is the one answered,
	// and an answer to the lost one is refused.
	lost := req
	if req, err = farmclient.WriteRequest(s, offline.DeactivationRequest, "", now); err != nil {
		t.Fatalf("writing the deactivation request again: %v", err)
	}
	if _, err := farmclient.Import(s, answer(t, signer, lost, offline.Deactivation, "inst-1", "", "deactivated", now), now); err == nil {
		t.Fatal("the answer to a superseded request was imported")
	}
	kind, err := farmclient.Import(s, answer(t, signer, req, offline.Deactivation, "inst-1", "", "deactivated", now), now)
	if err != nil || kind != offline.Deactivation {
		t.Fatalf("import: %v %v", kind, err)
	}
	if s.Status != farmclient.StatusDeactivated || s.Credential != "" || s.Pending != nil {
		t.Fatalf("after import: %+v", s)
	}
	if _, err := farmclient.WriteRequest(s, offline.DeactivationRequest, "", now); err == nil {
		t.Error("deactivated twice")
	}
}

// ACT-2, ACT-5, ACT-6: answers for another server or installation, altered
// answers, answers signed by another key, expired answers and answers of
// the wrong kind are refused and change nothing.
func TestOffline_foreign_tampered_and_expired_answers_are_refused_ACT2_ACT5_ACT6(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	for _, tc := range []struct {
		name string
		make func(t *testing.T, s *farmclient.State, req []byte) []byte
		at   time.Time
		want error
	}{
		{"foreign server", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			other := freshState(signer)
			other.Identity.ServerID = "srv-2"
			otherReq, err := farmclient.WriteRequest(other, offline.ActivationRequest, "K", now)
			if err != nil {
				t.Fatal(err)
			}
			s.Pending.Nonce = other.Pending.Nonce // even with the right nonce
			return answer(t, signer, otherReq, offline.Activation, "inst-2", "sli_x", "active", now)
		}, now, farmclient.ErrForeign},
		{"another request's answer", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			other := freshState(signer)
			otherReq, _ := farmclient.WriteRequest(other, offline.ActivationRequest, "K", now)
			return answer(t, signer, otherReq, offline.Activation, "inst-1", "sli_x", "active", now)
		}, now, farmclient.ErrReplayed},
		{"tampered", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			ans := answer(t, signer, req, offline.Activation, "inst-1", "sli_x", "active", now)
			return bytes.Replace(ans, []byte("Issued: 2026-03-01T09:00:00Z"), []byte("Issued: 2026-03-01T09:00:01Z"), 1)
		}, now, offline.ErrSignature},
		{"signed by another ledger", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			return answer(t, newSigner(t), req, offline.Activation, "inst-1", "sli_x", "active", now)
		}, now, offline.ErrSignature},
		{"expired", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			return answer(t, signer, req, offline.Activation, "inst-1", "sli_x", "active", now)
		}, now.Add(offline.AnswerValidity), offline.ErrExpired},
		{"issued in the future", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			return answer(t, signer, req, offline.Activation, "inst-1", "sli_x", "active", now.Add(time.Hour))
		}, now, offline.ErrFuture},
		{"wrong kind", func(t *testing.T, s *farmclient.State, req []byte) []byte {
			return answer(t, signer, req, offline.SubscriptionInfo, "inst-1", "", "active", now)
		}, now, offline.ErrKind},
		{"not a file", func(t *testing.T, s *farmclient.State, req []byte) []byte { return []byte("hello") }, now, offline.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := freshState(signer)
			req, err := farmclient.WriteRequest(s, offline.ActivationRequest, "K", now)
			if err != nil {
				t.Fatal(err)
			}
			raw := tc.make(t, s, req)
			before := *s
			if _, err := farmclient.Import(s, raw, tc.at); !errors.Is(err, tc.want) {
				t.Fatalf("import: %v, want %v", err, tc.want)
			}
			if !reflect.DeepEqual(*s, before) || s.Credential != "" {
				t.Error("a refused import changed the state")
			}
		})
	}
}

func TestOffline_refusals_before_any_verification(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	s := freshState(signer)
	if _, err := farmclient.Import(s, []byte("anything"), now); !errors.Is(err, farmclient.ErrNoPendingRequest) {
		t.Errorf("nothing pending: %v", err)
	}
	if _, err := farmclient.WriteRequest(s, offline.ActivationRequest, "", now); err == nil {
		t.Error("an activation request without a key")
	}
	if _, err := farmclient.WriteRequest(s, offline.RefreshRequest, "", now); err == nil {
		t.Error("a refresh request before activation")
	}
	if _, err := farmclient.WriteRequest(s, offline.Activation, "K", now); err == nil {
		t.Error("an answer kind written as a request")
	}
	noID := &farmclient.State{Identity: farmclient.Identity{Kind: "farm"}}
	if _, err := farmclient.WriteRequest(noID, offline.ActivationRequest, "K", now); err == nil {
		t.Error("a request without the identity")
	}
	noKey := &farmclient.State{Identity: farmID}
	if _, err := farmclient.WriteRequest(noKey, offline.ActivationRequest, "K", now); err != nil {
		t.Fatal(err)
	}
	if _, err := farmclient.Import(noKey, []byte("x"), now); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Errorf("no public key: %v", err)
	}
}

// client talks to a fake ledger that records the last request.
func client(t *testing.T, h http.HandlerFunc) *farmclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &farmclient.Client{BaseURL: srv.URL + "/", HTTP: srv.Client()}
}

func TestClient_sends_the_report_with_credential_and_idempotency_key(t *testing.T) {
	t.Parallel()
	var got struct {
		auth, key, path, ctype string
		body                   map[string]any
	}
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		got.auth, got.key, got.path, got.ctype = r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), r.URL.Path, r.Header.Get("Content-Type")
		raw, _ := io.ReadAll(r.Body)
		got.body = nil
		_ = json.Unmarshal(raw, &got.body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"installation_id":"inst-1","status":"active","seats":12,"quota":10,"peak":12,"over_quota":true,"grace_ends":"2026-03-08T09:00:00Z","position":7}`)
	})
	ans, err := c.Report(context.Background(), "sli_cred", farmclient.SeatsReport(12, now), "idem-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.auth != "Bearer sli_cred" || got.key != "idem-1" || got.path != "/v1/installation/usage" || got.ctype != "application/json" ||
		got.body["seats"] != 12.0 || got.body["observed_at"] != "2026-03-01T09:00:00Z" || len(got.body) != 2 {
		t.Errorf("request %+v", got)
	}
	if !ans.OverQuota || ans.Seats != 12 || ans.GraceEnds == nil || !ans.GraceEnds.Equal(now.AddDate(0, 0, 7)) || ans.Position != 7 {
		t.Errorf("answer %+v", ans)
	}
	// No one connected is a report too: an empty list, not a missing one.
	if _, err := c.Report(context.Background(), "sli_cred", farmclient.Report{Connections: []farmclient.Connection{}}, ""); err != nil {
		t.Fatal(err)
	}
	if conns, ok := got.body["connections"].([]any); !ok || len(conns) != 0 || got.key != "" || len(got.body) != 1 {
		t.Errorf("empty connections sent as %v (key %q)", got.body, got.key)
	}
	if _, err := c.Report(context.Background(), "sli_cred", farmclient.Report{}, ""); err == nil {
		t.Error("a report of nothing was sent")
	}
}

func TestClient_refusals_are_problem_errors_and_network_errors_are_wrapped(t *testing.T) {
	t.Parallel()
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/installation/license" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>proxy</html>")
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-ID", "req-9")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"type":"https://seatledger.dev/problems/key-in-use","title":"Key activates another installation","status":409,"detail":"farm \"Main\" (server srv-1)"}`)
	})
	_, err := c.Activate(context.Background(), "K", farmID)
	var p *farmclient.ProblemError
	if !errors.As(err, &p) || p.Status != 409 || p.Slug() != "key-in-use" || p.RequestID != "req-9" || !farmclient.IsProblem(err, "key-in-use") {
		t.Fatalf("refusal: %#v", err)
	}
	if want := `the ledger refused (409 key-in-use): Key activates another installation: farm "Main" (server srv-1) (request req-9)`; err.Error() != want {
		t.Errorf("message %q\nwant    %q", err, want)
	}
	_, err = c.License(context.Background(), "sli_x")
	if !errors.As(err, &p) || p.Status != 502 || p.Slug() != "" || p.Title != "Bad Gateway" {
		t.Errorf("a proxy's error page: %#v", err)
	}

	down := &farmclient.Client{BaseURL: "http://user:hunter2@127.0.0.1:1"}
	err = down.Deactivate(context.Background(), "sli_x")
	if err == nil || errors.As(err, &p) || !strings.Contains(err.Error(), "cannot reach the ledger at http://user:xxxxx@127.0.0.1:1") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("network error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.License(ctx, "sli_x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestClient_PublicKey_checks_what_the_ledger_serves(t *testing.T) {
	t.Parallel()
	signer := newSigner(t)
	pub := signer.PublicKey()
	serve := map[string]any{"algorithm": "Ed25519", "key_id": offline.KeyID(pub), "public_key": base64.StdEncoding.EncodeToString(pub)}
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(serve)
	})
	got, err := c.PublicKey(context.Background())
	if err != nil || !got.Equal(pub) {
		t.Fatalf("%x, %v", got, err)
	}
	serve["key_id"] = "0000000000000000"
	if _, err := c.PublicKey(context.Background()); err == nil {
		t.Error("a key that does not match its ID")
	}
	serve["public_key"] = "c2hvcnQ="
	if _, err := c.PublicKey(context.Background()); err == nil {
		t.Error("a short key")
	}
}

// Issue 20: a refusal names its title once. The ledger's detail of a
// domain error can begin with the title ("invalid request: …" under
// "Invalid request"), and a detail can be the title alone; the message
// said both ("Invalid request: invalid request: …").
func TestProblemError_says_the_title_once(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name  string
		write http.HandlerFunc
		want  string
	}{
		{"detail repeating the title", func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, logger, fmt.Errorf("%w: the subscription was cancelled", subscription.ErrInvalid))
		}, "the ledger refused (400 invalid-request): Invalid request: the subscription was cancelled"},
		{"detail that is the title", func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteProblem(w, r, httpapi.ProblemNotFound.New("not found"))
		}, "the ledger refused (404 not-found): Not found"},
		{"detail of its own", func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, logger, fmt.Errorf("%w: farm %q", installation.ErrDeactivated, "Main"))
		}, `the ledger refused (410 deactivated): Installation deactivated: the installation is deactivated: farm "Main"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := client(t, tc.write)
			_, err := c.License(context.Background(), "sli_x")
			if err == nil || err.Error() != tc.want {
				t.Errorf("message %q\nwant    %q", err, tc.want)
			}
		})
	}
}
