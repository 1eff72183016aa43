package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/mdm"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
)

// CertificateAuthority is the ledger's MDM signing authority (rule
// MISC-1); infra/mdmca implements it.
type CertificateAuthority interface {
	// ParseCSR reads an uploaded certificate signing request and checks
	// that the authority accepts it; each refusal wraps mdm.ErrCSR.
	ParseCSR(pemText string) (*x509.CertificateRequest, error)
	// Sign issues a client certificate for csr with serial, valid from
	// now for validity, and returns its DER.
	Sign(csr *x509.CertificateRequest, serial *big.Int, now time.Time, validity time.Duration) ([]byte, error)
	// CertificatePEM returns the authority's certificate, PEM-encoded.
	CertificatePEM() []byte
}

// Entitlements finds an account's subscriptions in the licenses read
// model; queries.Entitlements implements it.
//
// The write side has no index from an account to its subscriptions (the
// account's stream does not list them, and adding one would mean a second
// stream written by every registration), so the candidates come from the
// read model. Each candidate is then checked on the subscription's own
// latest events: a lagging read model can refuse a subscription registered
// a moment ago (the client retries, or sends X-Ledger-Min-Position), but
// can never grant a certificate on a subscription that has expired, moved
// or does not exist.
type Entitlements interface {
	// ActiveSubscriptions returns the IDs of the subscriptions registered
	// to accountID, active or in grace, of products with licensing model
	// model.
	ActiveSubscriptions(ctx context.Context, accountID string, model product.Model) ([]string, error)
}

// MDMHandler runs the use cases of MDM certificates (rule MISC-1).
type MDMHandler struct {
	loader       *Loader
	ca           CertificateAuthority
	entitlements Entitlements
	mdm          *cache[mdm.Certificates]
}

// NewMDMHandler returns an MDMHandler on loader that signs with ca the
// certificates of the accounts that entitlements proposes. It returns an
// error wrapping ErrMissingDependency if one of them is nil.
func NewMDMHandler(loader *Loader, ca CertificateAuthority, entitlements Entitlements) (*MDMHandler, error) {
	if err := dependencies("NewMDMHandler", dep{"a Loader", loader != nil}, dep{"a CertificateAuthority", ca != nil},
		dep{"Entitlements", entitlements != nil}); err != nil {
		return nil, err
	}
	return &MDMHandler{loader: loader, ca: ca, entitlements: entitlements, mdm: newCache(loader.cacheSize, mdm.StreamID,
		func(string) mdm.Certificates { return mdm.Certificates{} }, evolveMDM, mdm.Certificates.Clone)}, nil
}

// MDMCertificateValidity is how long an MDM certificate is valid (choice:
// a year, renewed by uploading a new request, like Apple's push
// certificates).
const MDMCertificateValidity = 365 * 24 * time.Hour

// IssuedCertificate is what IssueMDMCertificate returns.
type IssuedCertificate struct {
	event.AppendResult
	// Serial is the certificate's serial number in lower-case hex.
	Serial string
	// CertificatePEM is the issued certificate, PEM-encoded.
	CertificatePEM []byte
	// CACertificatePEM is the signing authority's certificate: the chain.
	CACertificatePEM []byte
}

func evolveMDM(c mdm.Certificates, payload any, rec event.Record) mdm.Certificates {
	return c.Evolve(payload, rec.Effective())
}

// IssueMDMCertificate signs an account admin's certificate signing request
// with the ledger's signing authority (rule MISC-1) and records the
// certificate on the account's MDM stream. The actor must be an admin of
// account accountID, and the account must have a managed-computers
// subscription that is active or in grace. A malformed or unacceptable
// request is refused with an error wrapping mdm.ErrCSR that says why; an
// account without the subscription with mdm.ErrNoEntitlement.
//
// With an idempotency key, a retry returns the certificate the first
// request issued.
func (h *MDMHandler) IssueMDMCertificate(ctx context.Context, meta Meta, accountID, csrPEM string) (IssuedCertificate, error) {
	var issued *mdm.CertificateIssued // what the last decision appended
	res, err := update(ctx, h.loader, h.mdm, accountID, "IssueMDMCertificate", meta, func(c mdm.Certificates, now time.Time) ([]any, error) {
		acct, err := h.loader.account(ctx, accountID)
		if err != nil {
			return nil, err
		}
		if err := acct.Authorize(meta.Actor, account.ActionManage); err != nil {
			return nil, err
		}
		sub, err := h.managedSubscription(ctx, accountID, now)
		if err != nil {
			return nil, err
		}
		csr, err := h.ca.ParseCSR(csrPEM)
		if err != nil {
			return nil, err
		}
		e, err := h.signMDM(csr, meta.Actor.ID, sub, now)
		if err != nil {
			return nil, err
		}
		issued = &e
		return c.Issue(e)
	})
	if err != nil {
		return IssuedCertificate{}, err
	}
	if issued == nil || meta.IdempotencyKey != "" {
		// Perhaps a retry of a request that took effect, answered without
		// deciding: answer with the certificate the stream holds.
		c, _, err := h.mdm.current(ctx, h.loader, accountID)
		if err != nil {
			return IssuedCertificate{}, err
		}
		cert, ok := c.At(res.LastVersion)
		if !ok {
			return IssuedCertificate{}, fmt.Errorf("commands: IssueMDMCertificate: no certificate at version %d of %s", res.LastVersion, mdm.StreamID(accountID))
		}
		issued = &mdm.CertificateIssued{Serial: cert.Serial, Certificate: cert.DER}
	}
	return IssuedCertificate{AppendResult: res, Serial: issued.Serial,
		CertificatePEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issued.Certificate}),
		CACertificatePEM: h.ca.CertificatePEM()}, nil
}

// signMDM has the authority sign csr and returns the event recording it.
func (h *MDMHandler) signMDM(csr *x509.CertificateRequest, by, subscriptionID string, now time.Time) (mdm.CertificateIssued, error) {
	serial, err := randomSerial()
	if err != nil {
		return mdm.CertificateIssued{}, err
	}
	der, err := h.ca.Sign(csr, serial, now, MDMCertificateValidity)
	if err != nil {
		return mdm.CertificateIssued{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return mdm.CertificateIssued{}, fmt.Errorf("commands: the signing authority issued an unreadable certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	return mdm.CertificateIssued{Serial: hex.EncodeToString(serial.Bytes()), Subject: cert.Subject.String(),
		NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(), FingerprintSHA256: hex.EncodeToString(sum[:]),
		By: by, SubscriptionID: subscriptionID, Certificate: der}, nil
}

// serialBytes is the length of an MDM certificate's serial: 128 random bits.
const serialBytes = 16

// randomSerial draws a positive serial number of 128 random bits.
func randomSerial() (*big.Int, error) {
	b := make([]byte, serialBytes)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("commands: serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// managedSubscription returns a subscription of accountID that entitles it
// to MDM certificates at now: registered to it, of a managed-computers
// product, active or in grace (SUB-6: in grace, installations keep
// working, and so does their management). The read model proposes, the
// subscriptions' latest events decide (see Entitlements).
func (h *MDMHandler) managedSubscription(ctx context.Context, accountID string, now time.Time) (string, error) {
	ids, err := h.entitlements.ActiveSubscriptions(ctx, accountID, product.ManagedComputers)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		s, err := h.loader.subscription(ctx, id)
		if err != nil {
			return "", err
		}
		if !s.Exists() || s.AccountID() != accountID {
			continue
		}
		if st := s.StatusAt(now); st != subscription.Active && st != subscription.InGrace {
			continue
		}
		p, err := h.loader.product(ctx, s.ProductID())
		if errors.Is(err, product.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if p.Model() == product.ManagedComputers {
			return id, nil
		}
	}
	return "", mdm.ErrNoEntitlement
}

// MDMCertificates lists the MDM certificates issued to account accountID,
// oldest first, for a member of the account (or the back office). The list
// is read from the account's MDM stream, not from a read model: an account
// has a handful of certificates, and an admin sees the one just issued.
func (h *MDMHandler) MDMCertificates(ctx context.Context, actor event.Actor, accountID string) ([]mdm.Certificate, error) {
	if err := h.loader.authorize(ctx, actor, accountID, account.ActionView); err != nil {
		return nil, err
	}
	c, _, err := h.mdm.current(ctx, h.loader, accountID)
	if err != nil {
		return nil, err
	}
	return c.List(), nil
}
