package feed_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/feed"
	"seatledger/domain/installation"
	"seatledger/domain/subscription"
	"seatledger/domain/usage"
)

// Every internal event is either published under a public name or
// deliberately private, never both, and no public name is used twice:
// a new internal event fails this test until someone decides.
func TestFeed_every_internal_event_is_published_or_private(t *testing.T) {
	t.Parallel()
	for _, typ := range feed.Registered() {
		_, private := feed.Private[typ]
		if feed.Published(typ) == private {
			t.Errorf("internal event %s: published %v, private %v; it must be exactly one", typ, feed.Published(typ), private)
		}
	}
	known := map[string]bool{}
	for _, typ := range feed.Registered() {
		known[typ] = true
	}
	for typ := range feed.Private {
		if !known[typ] {
			t.Errorf("private %s is not a registered event", typ)
		}
	}
	names := feed.Names()
	if len(names) != len(feed.InternalTypes()) {
		t.Errorf("%d public names for %d published events", len(names), len(feed.InternalTypes()))
	}
	pattern := regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)
	for i, n := range names {
		if i > 0 && names[i-1] == n {
			t.Errorf("public name %s is used twice", n)
		}
		if !pattern.MatchString(n) || !feed.Known(n) {
			t.Errorf("public name %q is not of the form kind.what_happened", n)
		}
	}
}

// Secrets never reach a published payload (KEY-9, MEM-4): the sealed
// copy and lookup hash of a key, an invitation's token hash, an order's
// digest, an offline nonce and a connection list's digest.
func TestFeed_published_payloads_hold_no_secrets_KEY9(t *testing.T) {
	t.Parallel()
	secret := []byte("SECRET-BYTES-0123456789")
	secretText := "SECRET-TEXT-0123456789"
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		typ     string
		payload any
	}{
		{"subscription.sublicense_created", subscription.SublicenseCreated{Key: subscription.SealedKey{KeyID: "k1", Lookup: secret, Sealed: secret, Hint: "CW6Y5"}, Name: "Berlin", Quota: 3, By: "p1"}},
		{"account.member_invited", account.MemberInvited{InvitationID: "i1", Email: "bob@example.com", Language: "en", InvitedBy: "p1", ExpiresAt: at, TokenHash: secret}},
		{"subscription.seats_added", subscription.SeatsAdded{OrderID: "o1", OrderDigest: secretText, Seats: 5}},
		{"installation.refreshed", installation.Refreshed{Mode: "offline", Nonce: secretText, License: installation.License{KeyID: "k1", Start: at}}},
		{"installation.usage_reported", installation.UsageReported{Seats: 3, Connections: &usage.Summary{Connections: 3, SHA256: secretText}, ObservedAt: at, Current: true, Quota: 5}},
		{"installation.deactivated", installation.Deactivated{Reason: "portal", Mode: "offline", Nonce: secretText}},
	}
	for _, c := range cases {
		name, data, ok := feed.Publish(c.typ, c.payload)
		if !ok {
			t.Fatalf("%s is not published", c.typ)
		}
		raw, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		encoded, _ := json.Marshal(secret) // base64, as JSON holds bytes
		for _, s := range [][]byte{secret, []byte(secretText), bytes.Trim(encoded, `"`)} {
			if bytes.Contains(raw, s) {
				t.Errorf("%s (%s) publishes a secret: %s", c.typ, name, raw)
			}
		}
	}
}

// Subjects: the streams an account owns name what the event is about;
// others (people, products, keys) have none.
func TestFeed_subject_of_streams(t *testing.T) {
	t.Parallel()
	for stream, want := range map[string]feed.Subject{
		"account-a1": {Kind: "account", ID: "a1"}, "mdm-a1": {Kind: "account", ID: "a1"},
		"subscription-s1": {Kind: "subscription", ID: "s1"}, "installation-i1": {Kind: "installation", ID: "i1"},
		"ticket-T-1": {Kind: "ticket", ID: "T-1"},
	} {
		if got, ok := feed.SubjectOf(stream); !ok || got != want {
			t.Errorf("SubjectOf(%s) = %v %v, want %v", stream, got, ok, want)
		}
	}
	for _, stream := range []string{"person-p1", "licensekey-k1", "product-ras", "account-"} {
		if _, ok := feed.SubjectOf(stream); ok {
			t.Errorf("SubjectOf(%s) has a subject", stream)
		}
	}
}
