// Package mdmca is the ledger's MDM signing authority (rule MISC-1): a
// certificate authority that signs the certificate signing requests an
// account admin uploads, issuing client certificates for the account's
// Mac management server.
//
// The authority's certificate and key come from two PEM files. On first
// start LoadOrCreate makes them: an ECDSA P-256 key and a self-signed CA
// certificate valid for ten years, written atomically, the key readable by
// the owner only. An operator may configure a CA of their own instead (an
// intermediate of the company's PKI, say) by putting its files there.
// Losing the key means that certificates can no longer be issued under
// the same CA: back it up with the database.
package mdmca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strings"
	"time"

	"seatledger/domain/text"
	"seatledger/infra/newfile"

	"seatledger/domain/mdm"
)

// MaxSubjectLength bounds a request's subject, as its RFC 2253 string,
// in characters.
const MaxSubjectLength = 1024

// ErrCSR is matched by every error of ParseCSR: the request is malformed
// or not acceptable. It is the domain's mdm.ErrCSR, so the HTTP layer
// maps it without knowing this package.
var ErrCSR = mdm.ErrCSR

// MaxCSRBytes bounds the PEM text of a certificate signing request: a
// real one is a few KiB.
const MaxCSRBytes = 64 << 10

// The keys a request may carry.
const (
	MinRSABits = 2048
	MaxRSABits = 8192 // larger keys only make verification slow
)

// CACommonName is the subject of the CA that LoadOrCreate creates.
const CACommonName = "seatledger MDM CA"

// CAValidity is how long the CA that LoadOrCreate creates is valid.
const CAValidity = 10 * 365 * 24 * time.Hour

// CA is a signing authority. It is safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// Certificate returns the CA's certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertificatePEM returns the CA's certificate, PEM-encoded: the chain a
// client certificate is delivered with.
func (ca *CA) CertificatePEM() []byte { return bytes.Clone(ca.certPEM) }

// Generate returns a new CA: an ECDSA P-256 key and a self-signed
// certificate (CN CACommonName) valid from now for CAValidity.
func Generate(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mdmca: generate the key: %w", err)
	}
	serial, err := RandomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CACommonName},
		NotBefore:             now.UTC().Truncate(time.Second),
		NotAfter:              now.UTC().Truncate(time.Second).Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs client certificates only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("mdmca: self-sign the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("mdmca: %w", err)
	}
	return &CA{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

// Load returns the CA of a PEM certificate and its PEM private key
// (PKCS #8 "PRIVATE KEY", SEC 1 "EC PRIVATE KEY" or PKCS #1 "RSA PRIVATE
// KEY"). The certificate must be a CA allowed to sign certificates, and
// the key must be its key.
func Load(certPEM, keyPEM []byte) (*CA, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("mdmca: the CA certificate is not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("mdmca: the CA certificate: %w", err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("mdmca: the certificate is not a CA allowed to sign certificates (basic constraints CA and key usage certSign)")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("mdmca: the private key is not the CA certificate's key")
	}
	return &CA{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), key: key}, nil
}

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("mdmca: the CA key is not PEM")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("mdmca: the CA key is a PEM %q, not a PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("mdmca: the CA key: %w", err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("mdmca: the CA key is a %T, which cannot sign", key)
}

// LoadOrCreate returns the CA kept in the files certPath and keyPath. When
// neither exists, it generates one (Generate, from the wall clock) and
// writes both, creating their directories (mode 0700): the certificate
// mode 0644, the key 0600. Each file is written whole under a temporary
// name and then linked into place, so it appears complete or not at all,
// and an existing file is never replaced. When only one of them exists,
// that is an error naming the missing one: a CA without its key (or a key
// without its certificate) is restored from a backup, not silently
// replaced.
func LoadOrCreate(certPath, keyPath string) (*CA, error) {
	certExists, err := exists(certPath)
	if err != nil {
		return nil, err
	}
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, err
	}
	switch {
	case certExists && !keyExists:
		return nil, fmt.Errorf("mdmca: the CA certificate %s exists but its key %s does not; restore the key from a backup (or remove both to create a new CA)", certPath, keyPath)
	case keyExists && !certExists:
		return nil, fmt.Errorf("mdmca: the CA key %s exists but its certificate %s does not; restore the certificate from a backup (or remove both to create a new CA)", keyPath, certPath)
	case !certExists:
		if err := create(certPath, keyPath); err != nil {
			return nil, err
		}
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("mdmca: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("mdmca: %w", err)
	}
	ca, err := Load(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w (files %s and %s)", err, certPath, keyPath)
	}
	return ca, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("mdmca: %w", err)
}

// create writes a new CA to the two files. The key goes first: a crash in
// between leaves a key without a certificate, which LoadOrCreate reports
// rather than replaces. When another process created a file first, its
// file wins and this CA is dropped; LoadOrCreate then loads what is there
// and refuses a certificate and key that do not belong together.
func create(certPath, keyPath string) error {
	ca, err := Generate(time.Now())
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return fmt.Errorf("mdmca: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	created, err := writeNew(keyPath, keyPEM, 0o600)
	if err != nil || !created {
		return err
	}
	_, err = writeNew(certPath, ca.certPEM, 0o644)
	return err
}

// writeNew writes data to path with mode unless path exists, and reports
// whether it did.
func writeNew(path string, data []byte, mode os.FileMode) (bool, error) {
	created, err := newfile.Write(path, data, mode)
	if err != nil {
		return false, fmt.Errorf("mdmca: %w", err)
	}
	return created, nil
}

// RandomSerial returns a serial number of 128 random bits (RFC 5280
// asks for a positive number of at most 20 octets, CA/B rules for at
// least 64 random bits).
func RandomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("mdmca: serial: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// Sign issues a client certificate for csr (as ParseCSR returned it):
// the CSR's subject and public key, the given serial, valid from now for
// validity but never beyond the CA's own end, for TLS client
// authentication (the MDM server's identity), signed by the CA. It
// returns the certificate's DER.
//
// Only the subject is taken from the request: extensions it asks for
// (names, usages, CA rights) are never copied, so a request cannot widen
// what the certificate allows.
func (ca *CA) Sign(csr *x509.CertificateRequest, serial *big.Int, now time.Time, validity time.Duration) ([]byte, error) {
	switch {
	case csr == nil:
		return nil, errors.New("mdmca: sign: no request")
	case serial == nil || serial.Sign() <= 0 || serial.BitLen() > 159:
		return nil, errors.New("mdmca: sign: the serial must be positive and at most 20 octets")
	case validity <= 0:
		return nil, errors.New("mdmca: sign: the validity must be positive")
	}
	notBefore := now.UTC().Truncate(time.Second)
	notAfter := notBefore.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("mdmca: sign: the CA certificate ended at %s; configure a new CA", ca.cert.NotAfter.Format(time.RFC3339))
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := csr.PublicKey.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment // RSA key exchange in TLS
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               csr.Subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("mdmca: sign: %w", err)
	}
	return der, nil
}

// ParseCSR is ParseCSR, for the command handler's port.
func (ca *CA) ParseCSR(pemText string) (*x509.CertificateRequest, error) { return ParseCSR(pemText) }

// ParseCSR reads a certificate signing request as an admin uploads it:
// one PEM block "CERTIFICATE REQUEST" (or the older "NEW CERTIFICATE
// REQUEST") of a PKCS #10 request whose signature verifies, for an RSA key
// of MinRSABits to MaxRSABits bits or an ECDSA P-256 key, with a subject
// common name. Each refusal wraps ErrCSR and says what is wrong.
func ParseCSR(pemText string) (*x509.CertificateRequest, error) {
	if len(pemText) > MaxCSRBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d KiB a request may have", ErrCSR, len(pemText), MaxCSRBytes>>10)
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(pemText)))
	switch {
	case block == nil:
		return nil, fmt.Errorf("%w: not PEM; upload the text that starts with -----BEGIN CERTIFICATE REQUEST-----", ErrCSR)
	case block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST":
		return nil, fmt.Errorf("%w: the PEM block is a %s, not a CERTIFICATE REQUEST", ErrCSR, block.Type)
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, fmt.Errorf("%w: more follows the request; upload one CERTIFICATE REQUEST block only", ErrCSR)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid PKCS #10 request (%v)", ErrCSR, err)
	}
	// The key is checked before the signature, so that an oversized key
	// costs nothing to refuse.
	if err := checkKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: its signature does not verify; the request was altered or is corrupt", ErrCSR)
	}
	if strings.TrimSpace(csr.Subject.CommonName) == "" {
		return nil, fmt.Errorf("%w: the subject has no common name (CN)", ErrCSR)
	}
	// rule X-7: the subject is recorded and shown; ASN.1 strings may hold
	// NUL and other control or invisible characters that no read model on
	// PostgreSQL could store and no admin could see.
	if reason := text.Check("the subject", csr.Subject.String(), text.Name, MaxSubjectLength); reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrCSR, reason)
	}
	return csr, nil
}

func checkKey(pub any) error {
	const want = "use an RSA key of 2048 to 8192 bits or an ECDSA P-256 key"
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return fmt.Errorf("%w: an RSA key of %d bits is not accepted; %s", ErrCSR, bits, want)
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			p := k.Curve.Params()
			return fmt.Errorf("%w: an ECDSA %s key (%d bits) is not accepted; %s", ErrCSR, p.Name, p.BitSize, want)
		}
		return nil
	case ed25519.PublicKey:
		return fmt.Errorf("%w: an Ed25519 key (256 bits) is not accepted; %s", ErrCSR, want)
	case nil:
		return fmt.Errorf("%w: the request's key is of an unknown algorithm; %s", ErrCSR, want)
	}
	return fmt.Errorf("%w: a %T key is not accepted; %s", ErrCSR, pub, want)
}
