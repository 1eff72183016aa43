package offline_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"seatledger/infra/offline"
)

var now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func signer(t *testing.T) *offline.Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return offline.NewSigner(key)
}

func activation() offline.File {
	return offline.File{Kind: offline.Activation, Issued: now, Expires: now.AddDate(0, 0, 30), Nonce: "n-1", Server: "srv-1",
		Content: []byte(`{"key":"7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5","seats":10}`)}
}

// Rules ACT-2, ACT-3: a signed answer round-trips and verifies offline.
func TestSignAndVerify_ACT2_ACT3(t *testing.T) {
	t.Parallel()
	s := signer(t)
	raw, err := s.Sign(activation())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("-----BEGIN SEATLEDGER ACTIVATION FILE-----\n")) {
		t.Fatalf("armor:\n%s", raw)
	}
	f, err := offline.Verify(raw, offline.Activation, s.PublicKey(), now.Add(time.Hour), offline.DefaultDrift)
	if err != nil {
		t.Fatal(err)
	}
	if f.Nonce != "n-1" || f.Server != "srv-1" || string(f.Content) != string(activation().Content) {
		t.Fatalf("file %+v", f)
	}
	// Windows line ends and surrounding space survive a mail client.
	crlf := bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	if _, err := offline.Verify(append([]byte("  \r\n"), crlf...), offline.Activation, s.PublicKey(), now, offline.DefaultDrift); err != nil {
		t.Errorf("CRLF: %v", err)
	}
}

// Rules ACT-2, ACT-3, ACT-6: a tampered, foreign, expired, future or
// other-kind file is refused with its reason.
func TestVerify_refuses_ACT2_ACT3_ACT6(t *testing.T) {
	t.Parallel()
	s := signer(t)
	raw, _ := s.Sign(activation())
	info := activation()
	info.Kind = offline.SubscriptionInfo
	infoRaw, _ := s.Sign(info)
	body := bytes.Index(raw, []byte("\n\n")) + 2
	flipped := bytes.Clone(raw)
	flipped[body] = map[bool]byte{true: 'f', false: 'e'}[flipped[body] != 'f']
	relabelled := bytes.ReplaceAll(infoRaw, []byte("SUBSCRIPTION INFORMATION"), []byte("ACTIVATION"))
	relabelled = bytes.Replace(relabelled, []byte("Kind: subscription-information"), []byte("Kind: activation"), 1)
	for _, c := range []struct {
		name string
		raw  []byte
		pub  ed25519.PublicKey
		at   time.Time
		want error
	}{
		{"content not base64", bytes.Replace(raw, []byte("\n\n"), []byte("\n\nA"), 1), s.PublicKey(), now, offline.ErrMalformed},
		{"tampered content", flipped, s.PublicKey(), now, offline.ErrSignature},
		{"tampered header", bytes.Replace(raw, []byte("Server: srv-1"), []byte("Server: srv-2"), 1), s.PublicKey(), now, offline.ErrSignature},
		{"longer validity", bytes.Replace(raw, []byte("Expires: 2026-03-31"), []byte("Expires: 2027-03-31"), 1), s.PublicKey(), now, offline.ErrSignature},
		{"foreign ledger", raw, signer(t).PublicKey(), now, offline.ErrSignature},
		{"expired", raw, s.PublicKey(), now.AddDate(0, 0, 30), offline.ErrExpired},
		{"issued in the future", raw, s.PublicKey(), now.Add(-offline.DefaultDrift - time.Second), offline.ErrFuture},
		{"another kind", infoRaw, s.PublicKey(), now, offline.ErrKind},
		{"another kind relabelled", relabelled, s.PublicKey(), now, offline.ErrSignature},
		{"garbage", []byte("hello"), s.PublicKey(), now, offline.ErrMalformed},
		{"too large", bytes.Repeat([]byte("A"), offline.MaxSize+1), s.PublicKey(), now, offline.ErrMalformed},
	} {
		if _, err := offline.Verify(c.raw, offline.Activation, c.pub, c.at, offline.DefaultDrift); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := offline.Verify(raw, offline.Activation, s.PublicKey(), now.Add(-offline.DefaultDrift+time.Second), offline.DefaultDrift); err != nil {
		t.Errorf("within the drift: %v", err)
	}
}

// Rule ACT-2: requests are unsigned files that decode by kind.
func TestRequests_ACT2(t *testing.T) {
	t.Parallel()
	raw, err := offline.Encode(offline.File{Kind: offline.ActivationRequest, Issued: now, Nonce: "n-2", Server: "srv-9", Content: []byte(`{"farm":"Berlin"}`)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := offline.Decode(raw, offline.ActivationRequest)
	if err != nil || f.Server != "srv-9" || !strings.Contains(string(f.Content), "Berlin") {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := offline.Decode(raw, offline.DeactivationRequest); !errors.Is(err, offline.ErrKind) {
		t.Errorf("a request of another kind: %v", err)
	}
	if _, err := offline.Encode(activation()); !errors.Is(err, offline.ErrKind) {
		t.Errorf("encoding an answer unsigned: %v", err)
	}
	if _, err := signer(t).Sign(offline.File{Kind: offline.ActivationRequest, Issued: now, Nonce: "n", Server: "s"}); !errors.Is(err, offline.ErrKind) {
		t.Errorf("signing a request: %v", err)
	}
}

// Rule ACT-2: the ledger's signing key is created once and kept: a second
// start signs with the same key, so installations keep trusting it.
func TestLoadOrCreateSigner_keeps_its_key_ACT2(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/offline.key"
	first, err := offline.LoadOrCreateSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := offline.LoadOrCreateSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	if !first.PublicKey().Equal(again.PublicKey()) {
		t.Fatal("a second start made a new key")
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := offline.LoadOrCreateSigner(path); err == nil {
		t.Fatal("a damaged key file was accepted")
	}
}
