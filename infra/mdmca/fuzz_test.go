package mdmca_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"testing"

	"seatledger/domain/text"
	"seatledger/infra/mdmca"
)

// FuzzParseCSR feeds certificate signing requests, as an admin uploads
// them (MISC-1, issue 16), to ParseCSR: it never panics, refuses with
// ErrCSR, and what it accepts has a verified signature, a common name and
// a subject that is clean text (rule X-7).
func FuzzParseCSR(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	for _, cn := range []string{"mdm.example.com", "a\x00b", "Zoë", "x\u202ey"} {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"Acme"}}}, key)
		if err != nil {
			continue
		}
		f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	}
	f.Add("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
	f.Add("not pem")
	f.Fuzz(func(t *testing.T, pemText string) {
		csr, err := mdmca.ParseCSR(pemText)
		if err != nil {
			if !errors.Is(err, mdmca.ErrCSR) {
				t.Fatalf("refused with an unexpected error: %v", err)
			}
			return
		}
		if csr.CheckSignature() != nil || csr.Subject.CommonName == "" || !text.Valid(csr.Subject.String(), text.Name, mdmca.MaxSubjectLength) {
			t.Fatalf("accepted a request it should refuse: %+v", csr.Subject)
		}
	})
}
