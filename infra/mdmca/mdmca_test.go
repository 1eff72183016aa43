package mdmca_test

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
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"seatledger/domain/mdm"
	"seatledger/infra/mdmca"
)

var now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Test keys are made once: RSA generation is slow.
var (
	keysOnce sync.Once
	testKeys map[string]crypto.Signer
)

func key(t *testing.T, name string) crypto.Signer {
	t.Helper()
	keysOnce.Do(func() {
		testKeys = map[string]crypto.Signer{}
		must := func(k crypto.Signer, err error) crypto.Signer {
			if err != nil {
				panic(err)
			}
			return k
		}
		testKeys["rsa2048"] = must(rsa.GenerateKey(rand.Reader, 2048))
		testKeys["rsa1024"] = must(rsa.GenerateKey(rand.Reader, 1024))
		testKeys["p256"] = must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		testKeys["p384"] = must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		testKeys["ed25519"] = must(ed, err)
	})
	return testKeys[name]
}

// csrPEM returns a CSR of key with common name cn, PEM-encoded as type typ.
func csrPEM(t *testing.T, k crypto.Signer, cn, typ string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: cn, Organization: []string{"Acme GmbH"}},
		DNSNames: []string{"mdm.acme.example"},
	}, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// Rule MISC-1: a malformed or unacceptable CSR is refused with a clear
// error that names the reason; good ones parse.
func TestParseCSR_MISC1(t *testing.T) {
	t.Parallel()
	good := csrPEM(t, key(t, "p256"), "mdm.acme.example", "CERTIFICATE REQUEST")
	block, _ := pem.Decode([]byte(good))
	tampered := bytes.Clone(block.Bytes)
	tampered[len(tampered)-3] ^= 0x40 // inside the signature
	for name, c := range map[string]struct {
		pem  string
		want string // "" : accepted; else in the message
	}{
		"RSA 2048":                 {csrPEM(t, key(t, "rsa2048"), "mdm.acme.example", "CERTIFICATE REQUEST"), ""},
		"ECDSA P-256":              {good, ""},
		"old PEM type":             {csrPEM(t, key(t, "p256"), "mdm", "NEW CERTIFICATE REQUEST"), ""},
		"surrounding white space":  {"\n\n  " + good + "\n", ""},
		"RSA 1024":                 {csrPEM(t, key(t, "rsa1024"), "mdm", "CERTIFICATE REQUEST"), "RSA key of 1024 bits"},
		"ECDSA P-384":              {csrPEM(t, key(t, "p384"), "mdm", "CERTIFICATE REQUEST"), "ECDSA P-384 key (384 bits)"},
		"Ed25519":                  {csrPEM(t, key(t, "ed25519"), "mdm", "CERTIFICATE REQUEST"), "Ed25519 key"},
		"tampered signature":       {string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})), "signature does not verify"},
		"no common name":           {csrPEM(t, key(t, "p256"), "", "CERTIFICATE REQUEST"), "no common name"},
		"not PEM":                  {"MIIBszCCAVkCAQAwdzELMAkGA1UEBhMCREU=", "not PEM"},
		"empty":                    {"", "not PEM"},
		"wrong block type":         {strings.ReplaceAll(good, "CERTIFICATE REQUEST", "CERTIFICATE"), "is a CERTIFICATE, not a CERTIFICATE REQUEST"},
		"garbage in a PEM block":   {string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("garbage")})), "not a valid PKCS #10 request"},
		"two blocks":               {good + good, "one CERTIFICATE REQUEST block only"},
		"too long":                 {good + strings.Repeat(" ", mdmca.MaxCSRBytes), "more than the 64 KiB"},
		"a private key by mistake": {string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})), "is a PRIVATE KEY"},
	} {
		csr, err := mdmca.ParseCSR(c.pem)
		switch {
		case c.want == "" && (err != nil || csr == nil):
			t.Errorf("%s: refused: %v", name, err)
		case c.want != "" && (!errors.Is(err, mdmca.ErrCSR) || !errors.Is(err, mdm.ErrCSR)):
			t.Errorf("%s: err = %v, want ErrCSR", name, err)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: %q does not say %q", name, err, c.want)
		}
	}
}

// Rule MISC-1: the certificate Sign issues chains to the CA, carries the
// CSR's key and subject, is for client authentication, and takes nothing
// else from the request.
func TestSign_issues_a_client_certificate_that_verifies_against_the_CA_MISC1(t *testing.T) {
	t.Parallel()
	ca, err := mdmca.Generate(now)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"p256", "rsa2048"} {
		csr, err := mdmca.ParseCSR(csrPEM(t, key(t, k), "mdm.acme.example", "CERTIFICATE REQUEST"))
		if err != nil {
			t.Fatal(err)
		}
		serial, err := mdmca.RandomSerial()
		if err != nil {
			t.Fatal(err)
		}
		der, err := ca.Sign(csr, serial, now, 365*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(ca.CertificatePEM()) {
			t.Fatal("the CA's PEM does not parse")
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(time.Hour),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: does not verify: %v", k, err)
		}
		if !key(t, k).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Errorf("%s: not the CSR's key", k)
		}
		if cert.Subject.CommonName != "mdm.acme.example" || cert.Subject.Organization[0] != "Acme GmbH" || cert.SerialNumber.Cmp(serial) != 0 {
			t.Errorf("%s: subject %v serial %v", k, cert.Subject, cert.SerialNumber)
		}
		if len(cert.DNSNames) != 0 || cert.IsCA || !cert.NotBefore.Equal(now) || !cert.NotAfter.Equal(now.Add(365*24*time.Hour)) {
			t.Errorf("%s: names %v, CA %v, valid %v..%v", k, cert.DNSNames, cert.IsCA, cert.NotBefore, cert.NotAfter)
		}
		if serial.BitLen() > 128 || serial.Sign() <= 0 {
			t.Errorf("serial %v", serial)
		}
	}
	if ca.Certificate().Subject.CommonName != mdmca.CACommonName || !ca.Certificate().IsCA ||
		ca.Certificate().KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA %+v", ca.Certificate().Subject)
	}
	// A certificate never outlives its CA.
	csr, _ := mdmca.ParseCSR(csrPEM(t, key(t, "p256"), "late", "CERTIFICATE REQUEST"))
	late := now.Add(mdmca.CAValidity - 24*time.Hour)
	der, err := ca.Sign(csr, serial(t), late, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert, _ := x509.ParseCertificate(der); !cert.NotAfter.Equal(ca.Certificate().NotAfter) {
		t.Errorf("ends %v, after the CA's %v", cert.NotAfter, ca.Certificate().NotAfter)
	}
	if _, err := ca.Sign(csr, serial(t), now.Add(mdmca.CAValidity+time.Hour), time.Hour); err == nil {
		t.Error("signed with an ended CA")
	}
}

// Rule MISC-1: LoadOrCreate makes the CA once and reloads the same one;
// it never replaces a file, and one file without the other is an error
// naming the missing one.
func TestLoadOrCreate_creates_once_and_reloads_MISC1(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	certPath, keyPath := filepath.Join(dir, "mdm-ca.crt"), filepath.Join(dir, "mdm-ca.key")
	first, err := mdmca.LoadOrCreate(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v: %v", fi.Mode(), err)
	}
	again, err := mdmca.LoadOrCreate(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.CertificatePEM(), again.CertificatePEM()) {
		t.Fatal("a second start made another CA")
	}
	// The reloaded key signs for the same CA.
	csr, _ := mdmca.ParseCSR(csrPEM(t, key(t, "p256"), "mdm", "CERTIFICATE REQUEST"))
	der, err := again.Sign(csr, serial(t), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := cert.CheckSignatureFrom(first.Certificate()); err != nil {
		t.Errorf("signed by another key: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left temporary files: %v", entries)
	}

	// One without the other.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if _, err := mdmca.LoadOrCreate(certPath, keyPath); err == nil || !strings.Contains(err.Error(), keyPath) {
		t.Errorf("certificate without key: %v", err)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Error("a key was made for an existing certificate")
	}
	if _, err := mdmca.LoadOrCreate(filepath.Join(dir, "other.crt"), certPath); err == nil || !strings.Contains(err.Error(), "other.crt") {
		t.Errorf("key without certificate: %v", err)
	}

	// A configured CA: the files of another CA load as they are; a key
	// that is not the certificate's is refused.
	other, err := mdmca.Generate(now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mdmca.Load(other.CertificatePEM(), []byte("junk")); err == nil {
		t.Error("junk key loaded")
	}
	if _, err := mdmca.Load(first.CertificatePEM(), mustKeyPEM(t)); err == nil || !strings.Contains(err.Error(), "not the CA certificate's key") {
		t.Errorf("mismatched key: %v", err)
	}
}

func mustKeyPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key(t, "p256"))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := mdmca.RandomSerial()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
