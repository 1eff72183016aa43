package commands_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/mdm"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
	"seatledger/infra/mdmca"
	"seatledger/infra/passwords"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/projections"
	"seatledger/queries"
)

// productPMM is the product "pmm" (managed computers, rule PROD-1).
var productPMM = product.Defined{ProductID: "pmm", Name: "Mac Management for SCCM", Model: product.ManagedComputers, MajorVersion: 8}

// mdmEnv is a handler with the MDM signing authority and the licenses
// read model as its entitlements, on one engine.
type mdmEnv struct {
	h     *commands.Set
	store eventstore.Store
	clk   *clock.Simulated
	ca    *mdmca.CA
	rt    *projection.Runtime
	db    *sqldb.DB
}

// forEachEngineMDM is forEachEngineClock with the MDM signing authority
// and the real licenses read model behind commands.Entitlements; sync
// brings the read model up to the log.
func forEachEngineMDM(t *testing.T, fn func(t *testing.T, e *mdmEnv)) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		db := sqldbtest.Open(t, target)
		clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		ca, err := mdmca.Generate(clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: []projections.Projection{projections.Licenses{}}})
		if err != nil {
			t.Fatal(err)
		}
		h := newSet(t, commands.Config{Store: store, Registry: registry(), Clock: clk,
			Passwords: passwords.Policy{Hasher: hasher}, Tokens: linkKey, Keys: keys, CA: ca, Entitlements: queries.Entitlements{DB: db}})
		fn(t, &mdmEnv{h: h, store: store, clk: clk, ca: ca, rt: rt, db: db})
	})
}

// sync brings the licenses read model up to the log.
func (e *mdmEnv) sync(t *testing.T) {
	t.Helper()
	if err := e.rt.Rebuild(context.Background(), "licenses", nil); err != nil {
		t.Fatal(err)
	}
}

// managedSubscription buys a year of "pmm" by order orderID and registers
// it to a new account acc whose admin is "ada"; it returns the
// subscription's ID.
func managedSubscription(t *testing.T, h *commands.Set, acc, orderID string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := h.Orders.DefineProduct(ctx, backOffice, productPMM); err != nil && !errors.Is(err, product.ErrNoChange) {
		t.Fatal(err)
	}
	p, err := h.Orders.Purchase(ctx, backOffice, subscription.Order{ID: orderID, ProductID: "pmm", Seats: 50, Period: subscription.Year,
		Channel: subscription.Online, SupportPlan: subscription.Standard})
	if err != nil {
		t.Fatal(err)
	}
	must(t)(h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: acc, Company: acme}))
	if _, err := h.Subscriptions.RegisterKey(ctx, as("ada"), commands.RegisterKey{Key: p.Key, AccountID: acc}); err != nil {
		t.Fatal(err)
	}
	return p.SubscriptionID
}

// newCSR returns a PEM certificate signing request for a fresh ECDSA P-256
// key, with common name cn.
func newCSR(t *testing.T, cn string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"Acme GmbH"}}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), k
}

// Rule MISC-1: an account admin of a managed-computers subscription
// uploads a CSR and gets a certificate signed by the ledger's authority,
// which verifies against the CA certificate returned with it; the
// certificate is recorded with who asked and why, listed for the
// account, and a retry with the same idempotency key returns the same
// certificate.
func TestIssueMDMCertificate_admin_of_a_managed_computers_subscription_MISC1(t *testing.T) {
	forEachEngineMDM(t, func(t *testing.T, e *mdmEnv) {
		ctx := context.Background()
		sub := managedSubscription(t, e.h, "acc-1", "ord-pmm")
		e.sync(t)
		csr, key := newCSR(t, "mdm.acme.example")
		meta := as("ada")
		meta.IdempotencyKey = "upload-1"
		issued, err := e.h.MDM.IssueMDMCertificate(ctx, meta, "acc-1", csr)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(issued.CertificatePEM)
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("certificate PEM %q", issued.CertificatePEM)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(issued.CACertificatePEM) {
			t.Fatal("CA certificate PEM does not parse")
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: e.clk.Now().Add(time.Minute),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("does not verify against the CA: %v", err)
		}
		if !key.PublicKey.Equal(cert.PublicKey) || cert.Subject.CommonName != "mdm.acme.example" {
			t.Errorf("key or subject not the CSR's: %v", cert.Subject)
		}
		if hex.EncodeToString(cert.SerialNumber.Bytes()) != issued.Serial || cert.SerialNumber.BitLen() > 128 {
			t.Errorf("serial %s, certificate's %x", issued.Serial, cert.SerialNumber)
		}
		if !cert.NotAfter.Equal(cert.NotBefore.Add(commands.MDMCertificateValidity)) {
			t.Errorf("valid %v..%v", cert.NotBefore, cert.NotAfter)
		}

		recs, err := e.store.ReadStream(ctx, mdm.StreamID("acc-1"), 1, 10)
		if err != nil || len(recs) != 1 {
			t.Fatalf("%d events, %v", len(recs), err)
		}
		if md := recs[0].Metadata; recs[0].Type != mdm.TypeCertificateIssued || md.Actor.ID != "ada" || md.Command != "IssueMDMCertificate" {
			t.Errorf("event %s metadata %+v", recs[0].Type, md)
		}
		list, err := e.h.MDM.MDMCertificates(ctx, as("ada").Actor, "acc-1")
		if err != nil || len(list) != 1 {
			t.Fatalf("list %+v, %v", list, err)
		}
		sum := sha256.Sum256(block.Bytes)
		if c := list[0]; c.Serial != issued.Serial || c.FingerprintSHA256 != hex.EncodeToString(sum[:]) || c.IssuedBy != "ada" ||
			c.SubscriptionID != sub || !strings.Contains(c.Subject, "CN=mdm.acme.example") || !c.NotAfter.Equal(cert.NotAfter) {
			t.Errorf("listed %+v", c)
		}

		again, err := e.h.MDM.IssueMDMCertificate(ctx, meta, "acc-1", csr)
		if err != nil || again.Serial != issued.Serial || string(again.CertificatePEM) != string(issued.CertificatePEM) || again.LastVersion != issued.LastVersion {
			t.Errorf("retry answered %s (%v), first %s", again.Serial, err, issued.Serial)
		}
		second, err := e.h.MDM.IssueMDMCertificate(ctx, as("ada"), "acc-1", csr)
		if err != nil || second.Serial == issued.Serial {
			t.Errorf("a second upload: %s, %v", second.Serial, err)
		}
		if list, _ := e.h.MDM.MDMCertificates(ctx, as("ada").Actor, "acc-1"); len(list) != 2 {
			t.Errorf("%d certificates listed, want 2", len(list))
		}
	})
}

// Rules MISC-1, MEM-5, X-5: only the account's admins may have a
// certificate signed; a plain member, a stranger and the back office are
// refused, and a malformed request is refused naming the reason. Refusals
// append nothing.
func TestIssueMDMCertificate_refuses_members_and_malformed_requests_MISC1(t *testing.T) {
	forEachEngineMDM(t, func(t *testing.T, e *mdmEnv) {
		ctx := context.Background()
		managedSubscription(t, e.h, "acc-1", "ord-pmm")
		joinMember(t, e.h, e.store, "acc-1", "carl")
		e.sync(t)
		head, _ := e.store.Head(ctx)
		csr, _ := newCSR(t, "mdm.acme.example")
		for name, meta := range map[string]commands.Meta{"a member": as("carl"), "a stranger": as("eve"), "the back office": backOffice} {
			if _, err := e.h.MDM.IssueMDMCertificate(ctx, meta, "acc-1", csr); !errors.Is(err, account.ErrForbidden) {
				t.Errorf("%s: %v, want ErrForbidden", name, err)
			}
		}
		if _, err := e.h.MDM.MDMCertificates(ctx, as("eve").Actor, "acc-1"); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a stranger listing: %v", err)
		}
		if list, err := e.h.MDM.MDMCertificates(ctx, as("carl").Actor, "acc-1"); err != nil || len(list) != 0 {
			t.Errorf("a member listing: %v %v", list, err)
		}
		for name, c := range map[string]struct{ pem, want string }{
			"not PEM":          {"hello", "not PEM"},
			"a certificate":    {strings.ReplaceAll(csr, "CERTIFICATE REQUEST", "CERTIFICATE"), "not a CERTIFICATE REQUEST"},
			"garbage in a PEM": {"-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----\n", "not a valid PKCS #10"},
		} {
			_, err := e.h.MDM.IssueMDMCertificate(ctx, as("ada"), "acc-1", c.pem)
			if !errors.Is(err, mdm.ErrCSR) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want ErrCSR saying %q", name, err, c.want)
			}
		}
		if now, _ := e.store.Head(ctx); now != head {
			t.Errorf("refusals appended %d events", now-head)
		}
	})
}

// Rules MISC-1, SUB-6: the certificate comes with a managed-computers
// subscription that is active or in grace. An account with only a
// concurrent-users subscription is refused, and so is one whose
// subscription has expired — even while the read model, whose lifecycle
// timer has not run, still lists it as active: the subscription's own
// events decide.
func TestIssueMDMCertificate_needs_an_active_managed_computers_subscription_MISC1(t *testing.T) {
	forEachEngineMDM(t, func(t *testing.T, e *mdmEnv) {
		ctx := context.Background()
		registeredSubscription(t, e.h, yearly, "acc-ras") // concurrent users
		sub := managedSubscription(t, e.h, "acc-pmm", "ord-pmm")
		must(t)(e.h.Accounts.CreateBusinessAccount(ctx, as("ada"), commands.CreateBusinessAccount{AccountID: "acc-none", Company: acme}))
		e.sync(t)
		csr, _ := newCSR(t, "mdm.acme.example")
		for _, acc := range []string{"acc-ras", "acc-none"} {
			if _, err := e.h.MDM.IssueMDMCertificate(ctx, as("ada"), acc, csr); !errors.Is(err, mdm.ErrNoEntitlement) {
				t.Errorf("%s: %v, want ErrNoEntitlement", acc, err)
			}
		}

		s, _ := e.h.Subscriptions.Subscription(ctx, sub)
		// SUB-6: in grace, the subscription still entitles.
		if err := e.clk.Set(s.End().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.MDM.IssueMDMCertificate(ctx, as("ada"), "acc-pmm", csr); err != nil {
			t.Errorf("in grace: %v", err)
		}
		// Expired, with the read model still saying active.
		if err := e.clk.Set(s.End().Add(subscription.GracePeriod + time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ids, err := (queries.Entitlements{DB: e.db}).ActiveSubscriptions(ctx, "acc-pmm", product.ManagedComputers); err != nil || len(ids) != 1 {
			t.Fatalf("the read model lists %v, %v; want the subscription still", ids, err)
		}
		if _, err := e.h.MDM.IssueMDMCertificate(ctx, as("ada"), "acc-pmm", csr); !errors.Is(err, mdm.ErrNoEntitlement) {
			t.Errorf("expired, read model stale: %v", err)
		}
		// And once the lifecycle has recorded it.
		must(t)(e.h.Subscriptions.LapseSubscription(ctx, commands.Meta{Actor: event.Actor{Kind: event.ActorProcess, ID: "lifecycle"}}, sub))
		e.sync(t)
		if _, err := e.h.MDM.IssueMDMCertificate(ctx, as("ada"), "acc-pmm", csr); !errors.Is(err, mdm.ErrNoEntitlement) {
			t.Errorf("expired: %v", err)
		}
	})
}
