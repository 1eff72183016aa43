package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/release"
	"seatledger/queries"
)

// The downloads handlers (rule MISC-2). Routes, inside peopleRoutes'
// authentication:
//
//	PUT    /v1/products/{productID}/releases/{version}                requireBackOffice  publishRelease
//	DELETE /v1/products/{productID}/releases/{version}                requireBackOffice  withdrawRelease
//	GET    /v1/accounts/{accountID}/downloads                         requireSignedIn    downloadProducts
//	GET    /v1/accounts/{accountID}/downloads/{productID}             requireSignedIn    releases (?version= selects)
//	GET    /v1/accounts/{accountID}/downloads/{productID}/{version}   requireSignedIn    releaseFiles
//
// A product's downloads are for the members of an account with an active
// (or in-grace) subscription of it, and the back office.

// releaseRequest is a version to publish; the product and version are in
// the path.
type releaseRequest struct {
	// ReleasedAt is the release date shown; absent: now.
	ReleasedAt *time.Time     `json:"released_at,omitempty"`
	Notes      string         `json:"notes,omitempty"`
	Files      []release.File `json:"files"`
}

func (s *Server) publishRelease(w http.ResponseWriter, r *http.Request) {
	var req releaseRequest
	if !s.decode(w, r, &req) {
		return
	}
	productID, version := chi.URLParam(r, "productID"), chi.URLParam(r, "version")
	p := release.Published{Version: version, Notes: req.Notes, Files: req.Files}
	if req.ReleasedAt != nil {
		p.ReleasedAt = *req.ReleasedAt
	}
	res, err := s.cfg.People.Commands.Releases.PublishRelease(r.Context(), meta(r), productID, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The same version with the same contents again is a retry: 200 too.
	written(w, http.StatusOK, res, map[string]any{"product_id": productID, "version": version})
}

func (s *Server) withdrawRelease(w http.ResponseWriter, r *http.Request) {
	productID, version := chi.URLParam(r, "productID"), chi.URLParam(r, "version")
	res, err := s.cfg.People.Commands.Releases.WithdrawRelease(r.Context(), meta(r), productID, version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"product_id": productID, "version": version})
}

// downloadProductsResponse is GET /v1/accounts/{accountID}/downloads.
type downloadProductsResponse struct {
	Products []queries.DownloadProduct `json:"products"`
}

func (s *Server) downloadProducts(w http.ResponseWriter, r *http.Request) {
	list, err := s.reads.DownloadProducts(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, downloadProductsResponse{Products: list})
}

// releases answers the version selector: the product's versions, newest
// first, and the files of the version ?version= selects (default: the
// newest).
func (s *Server) releases(w http.ResponseWriter, r *http.Request) {
	rel, err := s.reads.Releases(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"), chi.URLParam(r, "productID"), r.URL.Query().Get("version"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rel)
}

// releaseFilesResponse is GET /v1/accounts/{accountID}/downloads/{productID}/{version}.
type releaseFilesResponse struct {
	ProductID string                `json:"product_id"`
	Version   string                `json:"version"`
	Files     []queries.ReleaseFile `json:"files"`
}

// releaseFiles lists the files of one version.
func (s *Server) releaseFiles(w http.ResponseWriter, r *http.Request) {
	productID, version := chi.URLParam(r, "productID"), chi.URLParam(r, "version")
	files, err := s.reads.ReleaseFiles(r.Context(), viewerOf(r), chi.URLParam(r, "accountID"), productID, version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, releaseFilesResponse{ProductID: productID, Version: version, Files: files})
}
