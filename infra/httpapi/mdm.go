package httpapi

import (
	"net/http"

	"seatledger/domain/mdm"
	"seatledger/queries"

	"github.com/go-chi/chi/v5"
)

// The MDM certificate handlers (rule MISC-1). Routes, inside
// peopleRoutes' authentication:
//
//	GET  /v1/mdm/ca.pem                             public           mdmCACertificate
//	POST /v1/accounts/{accountID}/mdm/certificates  requirePerson    issueMDMCertificate
//	GET  /v1/accounts/{accountID}/mdm/certificates  requireSignedIn  mdmCertificates
//
// The command decides who may (an admin of the account, with an active
// managed-computers subscription); the list is for its members and the
// back office.

// mdmCACertificate serves the signing authority's certificate as PEM, so
// that an MDM server can trust the CA before any certificate is issued
// (docs/formats.md, "MDM CA certificate").
func (s *Server) mdmCACertificate(w http.ResponseWriter, r *http.Request) {
	pem := s.cfg.People.MDMCACertificate
	if len(pem) == 0 {
		WriteProblem(w, r, ProblemUnavailable.New("the MDM signing authority is not configured on this server"))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="seatledger-mdm-ca.pem"`)
	_, _ = w.Write(pem)
}

// mdmCertificateRequest is an uploaded certificate signing request.
type mdmCertificateRequest struct {
	// CSR is the PEM text, "-----BEGIN CERTIFICATE REQUEST-----…".
	CSR string `json:"csr"`
}

func (s *Server) issueMDMCertificate(w http.ResponseWriter, r *http.Request) {
	var req mdmCertificateRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.CSR == "" {
		WriteProblem(w, r, ProblemInvalidCSR.New("csr is required: the PEM text of a certificate signing request").Field("csr"))
		return
	}
	// The entitling subscription is found in the licenses read model: a
	// client that has just registered its key sends its position.
	if err := s.reads.Await(r.Context(), viewerOf(r), queries.LicensesReadModel); err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "accountID")
	res, err := s.cfg.People.Commands.MDM.IssueMDMCertificate(r.Context(), meta(r), id, req.CSR)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusCreated, res.AppendResult, map[string]any{"account_id": id, "serial": res.Serial,
		"certificate": string(res.CertificatePEM), "ca_certificate": string(res.CACertificatePEM)})
}

func (s *Server) mdmCertificates(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.People.Commands.MDM.MDMCertificates(r.Context(), principalOf(r.Context()).actor, chi.URLParam(r, "accountID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []mdm.Certificate{} // an empty list, not null
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": list})
}
