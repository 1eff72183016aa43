package orderhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"seatledger/infra/orderhook"
	"seatledger/projections"
)

// The test vectors of docs/formats.md ("Order-webhook signature"):
// testdata/vectors/order-webhook.json holds a secret, a renewal request's
// body, the signature header the ledger sends, the bytes it MACs, and
// deliveries a receiver must refuse. This test recomputes them with the
// real code; `go test ./infra/orderhook -run Vectors -update-vectors`
// rewrites the file after a deliberate format change.

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors/order-webhook.json from the code")

const webhookVectorFile = "../../testdata/vectors/order-webhook.json"

type webhookCase struct {
	Name   string `json:"name"`
	Header string `json:"header"`
	Body   string `json:"body"`
	// Now is the receiver's clock, Unix seconds.
	Now   int64 `json:"now"`
	Valid bool  `json:"valid"`
}

type webhookVectors struct {
	Comment string `json:"comment"`
	// Secret is LEDGER_ORDER_WEBHOOK_SECRET's bytes (UTF-8 text).
	Secret      string `json:"secret"`
	OtherSecret string `json:"other_secret"`
	// SentAt is when the ledger signed the delivery, Unix seconds.
	SentAt int64 `json:"sent_at"`
	// Body is the POSTed JSON, byte for byte.
	Body          string `json:"body"`
	Tolerance     string `json:"tolerance"`
	MACInput      string `json:"mac_input"`
	MACHex        string `json:"mac_hex"`
	Header        string `json:"header"`
	HeaderName    string `json:"header_name"`
	IdempotencyOf string `json:"idempotency_key_header"`
	EventHeader   string `json:"event_header"`
	// Cases are deliveries as a receiver gets them, with the verdict.
	Cases []webhookCase `json:"cases"`
}

func webhookVectorInputs() webhookVectors {
	end := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	requested := time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)
	body, _ := json.Marshal(projections.RenewalRequest{Type: "subscription.renewal_requested", RequestID: "7b1e4a90-3c2d-5e6f-8a9b-0c1d2e3f4a5b",
		SubscriptionID: "0f3c6a52-1a3e-5d7b-9c41-7e2f60a8b913", ProductID: "ras", Seats: 20, Period: "1y", End: end, RequestedAt: requested})
	return webhookVectors{
		Comment:     "Test vectors of docs/formats.md, section 'Order-webhook signature'. Checked against the code by infra/orderhook/vectors_test.go.",
		Secret:      "test-vector-webhook-secret-0123456789",
		OtherSecret: "the-previous-webhook-secret-98765",
		SentAt:      requested.Unix(),
		Body:        string(body),
	}
}

func computeWebhookVectors(in webhookVectors) webhookVectors {
	out := in
	at := time.Unix(in.SentAt, 0)
	body := []byte(in.Body)
	ts := strconv.FormatInt(in.SentAt, 10)
	out.Tolerance = orderhook.DefaultTolerance.String()
	out.MACInput = ts + "." + in.Body
	out.Header = orderhook.Sign([]byte(in.Secret), at, body)
	out.HeaderName, out.IdempotencyOf, out.EventHeader = orderhook.HeaderSignature, orderhook.HeaderIdempotencyKey, orderhook.HeaderEvent
	out.MACHex = strings.TrimPrefix(out.Header, "t="+ts+",v1=")
	old := orderhook.Sign([]byte(in.OtherSecret), at, body)
	oldV1 := old[strings.Index(old, "v1="):]
	tol := int64(orderhook.DefaultTolerance / time.Second)
	otherTS := strconv.FormatInt(in.SentAt+60, 10)
	out.Cases = []webhookCase{
		{Name: "as sent", Header: out.Header, Body: in.Body, Now: in.SentAt, Valid: true},
		{Name: "received at the end of the tolerance", Header: out.Header, Body: in.Body, Now: in.SentAt + tol, Valid: true},
		{Name: "received a second after the tolerance", Header: out.Header, Body: in.Body, Now: in.SentAt + tol + 1},
		{Name: "received before it was sent, beyond the tolerance", Header: out.Header, Body: in.Body, Now: in.SentAt - tol - 1},
		{Name: "body altered (seats 20 -> 21)", Header: out.Header, Body: strings.Replace(in.Body, `"seats":20`, `"seats":21`, 1), Now: in.SentAt},
		{Name: "body re-serialized with a space", Header: out.Header, Body: strings.Replace(in.Body, `,"seats"`, `, "seats"`, 1), Now: in.SentAt},
		{Name: "timestamp moved a minute on", Header: strings.Replace(out.Header, "t="+ts, "t="+otherTS, 1), Body: in.Body, Now: in.SentAt + 60},
		{Name: "signed with another secret", Header: old, Body: in.Body, Now: in.SentAt},
		{Name: "two v1 signatures during a rotation, one of them valid", Header: out.Header + "," + oldV1, Body: in.Body, Now: in.SentAt, Valid: true},
		{Name: "an unknown scheme beside v1 is ignored", Header: "t=" + ts + ",v0=abc," + out.Header[len("t="+ts+","):], Body: in.Body, Now: in.SentAt, Valid: true},
		{Name: "no v1 signature", Header: "t=" + ts, Body: in.Body, Now: in.SentAt},
		{Name: "v1 in upper-case hex", Header: "t=" + ts + ",v1=" + strings.ToUpper(out.MACHex), Body: in.Body, Now: in.SentAt, Valid: true},
		{Name: "spaces around the entries (trimmed)", Header: " t=" + ts + " , v1=" + out.MACHex + " ", Body: in.Body, Now: in.SentAt, Valid: true},
		{Name: "two t entries", Header: "t=" + ts + ",t=" + ts + ",v1=" + out.MACHex, Body: in.Body, Now: in.SentAt},
		{Name: "an empty t, then the valid t (two t entries)", Header: "t=," + out.Header, Body: in.Body, Now: in.SentAt},
		{Name: "no t entry", Header: "v1=" + out.MACHex, Body: in.Body, Now: in.SentAt},
		{Name: "t with a sign, MACed as written", Header: signedAt(in.Secret, "+"+ts, body), Body: in.Body, Now: in.SentAt},
		{Name: "t not a number", Header: "t=" + ts + "x,v1=" + out.MACHex, Body: in.Body, Now: in.SentAt},
		{Name: "a malformed v1 beside a valid one", Header: out.Header + ",v1=xyz", Body: in.Body, Now: in.SentAt},
		{Name: "an empty entry (a trailing comma)", Header: out.Header + ",", Body: in.Body, Now: in.SentAt},
		{Name: "an entry without '='", Header: out.Header + ",v2", Body: in.Body, Now: in.SentAt},
		{Name: "the key in upper case (T= is another scheme: no t)", Header: "T=" + ts + ",v1=" + out.MACHex, Body: in.Body, Now: in.SentAt},
	}
	return out
}

// signedAt is a header whose t is ts exactly as given, with its v1 the
// HMAC of that text: a sender's odd spelling of t, signed consistently.
func signedAt(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// TestVectors_order_webhook_signature checks
// testdata/vectors/order-webhook.json against Sign and Verify: the header
// is recomputed from the secret, time and body, it is the HMAC of the
// stated input, and every delivery case gets the stated verdict.
func TestVectors_order_webhook_signature(t *testing.T) {
	t.Parallel()
	if *updateVectors {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(computeWebhookVectors(webhookVectorInputs())); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(webhookVectorFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(webhookVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var stored webhookVectors
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	got := computeWebhookVectors(stored)
	if !reflect.DeepEqual(got, stored) {
		gj, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("the code computes\n%s", gj)
	}
	m := hmac.New(sha256.New, []byte(stored.Secret))
	m.Write([]byte(stored.MACInput))
	if hex.EncodeToString(m.Sum(nil)) != stored.MACHex {
		t.Errorf("mac_hex is not HMAC-SHA256(secret, mac_input)")
	}
	for _, c := range stored.Cases {
		err := orderhook.Verify([]byte(stored.Secret), c.Header, []byte(c.Body), time.Unix(c.Now, 0), 0)
		if (err == nil) != c.Valid {
			t.Errorf("%s: %v, want valid=%v", c.Name, err, c.Valid)
		}
	}
}
