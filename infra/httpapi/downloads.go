package httpapi

import (
	"errors"
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

// downloadsReadModel is the projection the downloads reads wait for.
const downloadsReadModel = "downloads"

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

func (s *Server) downloadProducts(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "accountID")
	if !s.authorizeAccountRead(w, r, id, downloadsReadModel) {
		return
	}
	list, err := queries.DownloadProducts(r.Context(), s.cfg.People.Reads, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": list})
}

// authorizeDownloads lets a member of account accountID (or the back
// office) read product productID's downloads if the account has an
// active or in-grace subscription of it, once both read models have
// reached the client's position. It answers the request itself and
// returns false when the read may not go on.
func (s *Server) authorizeDownloads(w http.ResponseWriter, r *http.Request, accountID, productID string) bool {
	if !s.authorizeAccountRead(w, r, accountID, downloadsReadModel) {
		return false
	}
	ok, err := queries.HasActiveSubscription(r.Context(), s.cfg.People.Reads, accountID, productID)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	if !ok {
		WriteProblem(w, r, ProblemNoEntitlement.New("the account has no active subscription of %s, whose downloads these are", productID))
		return false
	}
	return true
}

// releases answers the version selector: the product's versions, newest
// first, and the files of the version ?version= selects (default: the
// newest).
func (s *Server) releases(w http.ResponseWriter, r *http.Request) {
	accountID, productID := chi.URLParam(r, "accountID"), chi.URLParam(r, "productID")
	if !s.authorizeDownloads(w, r, accountID, productID) {
		return
	}
	versions, err := queries.Releases(r.Context(), s.cfg.People.Reads, productID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	selected := r.URL.Query().Get("version")
	if selected == "" && len(versions) > 0 {
		selected = versions[0].Version
	}
	files := []queries.ReleaseFile{}
	if selected != "" {
		if files, err = queries.ReleaseFiles(r.Context(), s.cfg.People.Reads, productID, selected); err != nil {
			s.failRelease(w, r, err, productID, selected)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"product_id": productID, "versions": versions, "version": selected, "files": files})
}

// releaseFiles lists the files of one version.
func (s *Server) releaseFiles(w http.ResponseWriter, r *http.Request) {
	accountID, productID, version := chi.URLParam(r, "accountID"), chi.URLParam(r, "productID"), chi.URLParam(r, "version")
	if !s.authorizeDownloads(w, r, accountID, productID) {
		return
	}
	files, err := queries.ReleaseFiles(r.Context(), s.cfg.People.Reads, productID, version)
	if err != nil {
		s.failRelease(w, r, err, productID, version)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"product_id": productID, "version": version, "files": files})
}

func (s *Server) failRelease(w http.ResponseWriter, r *http.Request, err error, productID, version string) {
	if errors.Is(err, queries.ErrNotFound) {
		WriteProblem(w, r, ProblemNotFound.New("%s has no version %s to download", productID, version).Field("version"))
		return
	}
	s.fail(w, r, err)
}
