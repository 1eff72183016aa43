package httpapi

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"seatledger/infra/mdmca"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
)

// Rule MISC-1: GET /v1/mdm/ca.pem serves the signing authority's
// certificate to anyone, as one PEM block that parses as a CA; a server
// without an authority answers 503, and a bad credential is still a 401.
func TestMDMCACertificate_is_public_PEM_MISC1(t *testing.T) {
	t.Parallel()
	ca, err := mdmca.Generate(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	server := func(pem []byte) *Server {
		s, _ := newTestServer(t, Config{People: &PeopleConfig{Commands: backOfficeCommands(t),
			Reads: (*sqldb.DB)(nil), Sessions: &session.Store{}, TermsVersion: "test", MDMCACertificate: pem}})
		return s
	}
	srv := server(ca.CertificatePEM())
	w := do(t, srv, http.MethodGet, "/v1/mdm/ca.pem", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("GET /v1/mdm/ca.pem = %d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	block, rest := pem.Decode(w.Body.Bytes())
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("not one PEM certificate: %q", w.Body)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA || !cert.Equal(ca.Certificate()) {
		t.Fatalf("served certificate: %v (CA %v)", err, cert != nil && cert.IsCA)
	}
	if w := do(t, srv, http.MethodGet, "/v1/mdm/ca.pem", nil, "Authorization", "Bearer slt_not-a-token"); w.Code != http.StatusUnauthorized {
		t.Errorf("with a bad token = %d, want 401", w.Code)
	}
	if w := do(t, server(nil), http.MethodGet, "/v1/mdm/ca.pem", nil); w.Code != http.StatusServiceUnavailable ||
		w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("without an authority = %d %s, want a 503 problem", w.Code, w.Header().Get("Content-Type"))
	}
}
