package offline_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"seatledger/infra/offline"
)

// kinds are every kind of offline file.
var kinds = []offline.Kind{offline.ActivationRequest, offline.RefreshRequest, offline.DeactivationRequest,
	offline.Activation, offline.SubscriptionInfo, offline.Deactivation}

// FuzzDecode feeds offline request and answer files, as an admin uploads
// them or an installation imports them (ACT-2, issue 16), to Decode,
// Verify and DecodeContent: they never panic, refuse with the package's
// errors, and what they accept round-trips through Encode and holds only
// clean header text.
func FuzzDecode(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	s := offline.NewSigner(key)
	signed, err := s.Sign(activation())
	if err != nil {
		f.Fatal(err)
	}
	req, err := offline.Encode(offline.File{Kind: offline.ActivationRequest, Issued: now, Nonce: "n-1", Server: "farm/srv-1",
		Content: []byte(`{"key":"7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5","identity":{"kind":"farm","server_id":"srv-1","farm_name":"F","app_version":"1"}}`)})
	if err != nil {
		f.Fatal(err)
	}
	for i := range kinds {
		f.Add(signed, uint8(i))
		f.Add(req, uint8(i))
	}
	f.Add([]byte("-----BEGIN SEATLEDGER ACTIVATION REQUEST FILE-----\nKind: activation-request\nNonce: n\x00\n\ne30=\n-----END SEATLEDGER ACTIVATION REQUEST FILE-----\n"), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, k uint8) {
		kind := kinds[int(k)%len(kinds)]
		file, err := offline.Decode(raw, kind)
		if err != nil {
			if !errors.Is(err, offline.ErrMalformed) && !errors.Is(err, offline.ErrKind) {
				t.Fatalf("Decode refused with an unexpected error: %v", err)
			}
			return
		}
		if again, err := offline.Encode(file); err == nil {
			back, err := offline.Decode(again, kind)
			if err != nil || back.Nonce != file.Nonce || back.Server != file.Server || !bytes.Equal(back.Content, file.Content) {
				t.Fatalf("a decoded file does not round-trip: %+v, %v", back, err)
			}
		}
		var content offline.ActivationRequestContent
		_ = offline.DecodeContent(file, &content) // must not panic; refusals are ErrMalformed
		if kind.Signed() {
			_, err := offline.Verify(raw, kind, key.Public().(ed25519.PublicKey), now, offline.DefaultDrift)
			if err != nil && !errors.Is(err, offline.ErrMalformed) && !errors.Is(err, offline.ErrKind) && !errors.Is(err, offline.ErrSignature) &&
				!errors.Is(err, offline.ErrExpired) && !errors.Is(err, offline.ErrFuture) {
				t.Fatalf("Verify refused with an unexpected error: %v", err)
			}
		}
	})
}
