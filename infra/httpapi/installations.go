package httpapi

import (
	"seatledger/domain/staff"

	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/domain/account"
	"seatledger/queries"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/usage"
	"seatledger/infra/access"
	"seatledger/infra/offline"
)

// installationRoutes mounts the API the installations call (ACT-1, ACT-5,
// ACT-6, USE-1, USE-6) and the portal's actions on installations (ACT-2,
// ACT-3, ACT-7, INST-3, INST-4), inside peopleRoutes' authentication.
func (s *Server) installationRoutes(r chi.Router) {
	limits := DefaultLimits()
	if s.cfg.People.Limits != nil {
		limits = *s.cfg.People.Limits
	}
	trialsByAddr, trialsByServer := newRateLimiter(limits.TrialsPerAddress), newRateLimiter(limits.TrialsPerServer)
	calls := newRateLimiter(limits.InstallationCalls)
	// Activation needs no credential: the key is the secret.
	r.Post("/installations/activations", s.activate)
	r.Post("/installations/trials", func(w http.ResponseWriter, r *http.Request) { s.activateTrial(w, r, trialsByAddr, trialsByServer) })
	r.Get("/offline/public-key", s.offlinePublicKey)
	r.Group(func(r chi.Router) {
		r.Use(requireInstallation)
		// A refresh records an event only when the license it tells has
		// changed (installation.Refresh), and a deactivation once: neither
		// is limited; an installation may always leave.
		r.Get("/installation/license", s.installationLicense)
		r.Post("/installation/deactivation", s.deactivateSelf)
		r.Group(func(r chi.Router) {
			// Each of these may record an event: bounded per installation.
			r.Use(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if admit(calls, principalOf(r.Context()).installation.ID(), "usage reports and enrollment requests from this installation", w, r) {
						next.ServeHTTP(w, r)
					}
				})
			})
			r.Post("/installation/usage", s.reportUsage)
			r.Post("/installation/enrollments", s.enroll)
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(s.requireBackOffice(staff.PermSwitches))
		r.Put("/accounts/{accountID}/offline-activation", s.setOfflineActivation)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.requireSignedIn)
		for path, kind := range map[string]installation.Kind{"farms": installation.Farm, "proxy-servers": installation.ProxyServer} {
			r.Get("/accounts/{accountID}/"+path, s.listInstallations(kind))
			r.Get("/accounts/{accountID}/"+path+"/export", s.exportInstallations(kind))
		}
		r.Get("/installations/{installationID}", s.installationDetails)
	})
	r.Group(func(r chi.Router) {
		r.Use(requirePerson)
		r.Post("/accounts/{accountID}/offline-requests", s.answerOfflineRequest)
		r.Post("/accounts/{accountID}/installations/deactivate", s.deactivateSelected)
		r.Put("/installations/{installationID}/notes", s.setNotes)
	})
}

// identityRequest is an installation's identity as it sends it (PROD-4).
// The fields a kind does not use are optional; which ones a kind needs is
// the domain's rule (installation.Identity.Check).
type identityRequest struct {
	Kind            installation.Kind `json:"kind"`
	ServerID        string            `json:"server_id,omitempty"`
	FarmName        string            `json:"farm_name,omitempty"`
	ServerName      string            `json:"server_name,omitempty"`
	SiteCode        string            `json:"site_code,omitempty"`
	SiteDescription string            `json:"site_description,omitempty"`
	AppVersion      string            `json:"app_version"`
}

func (r identityRequest) identity() installation.Identity {
	return installation.Identity{Kind: r.Kind, ServerID: r.ServerID, FarmName: r.FarmName, ServerName: r.ServerName,
		SiteCode: r.SiteCode, SiteDescription: r.SiteDescription, AppVersion: r.AppVersion}
}

type activationRequest struct {
	Key      string          `json:"key"`
	Identity identityRequest `json:"identity"`
}

type trialRequest struct {
	ProductID string          `json:"product_id"`
	Identity  identityRequest `json:"identity"`
}

// licenseBody is the license as the API shows it (ACT-4).
type licenseBody struct {
	KeyID     string     `json:"key_id,omitempty"`
	KeyHint   string     `json:"key_hint,omitempty"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"` // null: a permanent license
	Seats     int        `json:"seats"`
	Used      int        `json:"used"`
	Remaining int        `json:"remaining"`
	Trial     bool       `json:"trial"`
}

func licenseOf(l installation.License) licenseBody {
	b := licenseBody{KeyID: l.KeyID, KeyHint: l.KeyHint, Start: l.Start, Seats: l.Seats, Used: l.Used, Remaining: l.Remaining, Trial: l.Trial}
	if !l.End.IsZero() {
		end := l.End
		b.End = &end
	}
	return b
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	var req activationRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Key == "" {
		WriteProblem(w, r, ProblemInvalidRequest.New("the key is required; a trial is activated at /v1/installations/trials").Field("key"))
		return
	}
	s.answerActivation(w, r, commands.Activate{Key: req.Key, Identity: req.Identity.identity()})
}

// activateTrial activates a trial (SUB-8). Nobody signs in for one, so
// trials are limited per client address and per server before anything is
// recorded (issue 16).
func (s *Server) activateTrial(w http.ResponseWriter, r *http.Request, byAddr, byServer *access.Limiter) {
	if !admit(byAddr, clientAddr(r), "trial activations from this address", w, r) {
		return
	}
	var req trialRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.ProductID == "" {
		WriteProblem(w, r, ProblemInvalidRequest.New("the product_id is required").Field("product_id"))
		return
	}
	id := req.Identity.identity()
	if err := id.Check(); err != nil { // bounded before it keys a limiter
		s.fail(w, r, err)
		return
	}
	if !admit(byServer, id.Server(), "trial activations for this server", w, r) {
		return
	}
	s.answerActivation(w, r, commands.Activate{ProductID: req.ProductID, Identity: id})
}

func (s *Server) answerActivation(w http.ResponseWriter, r *http.Request, cmd commands.Activate) {
	m := meta(r)
	m.Actor = installationActor(cmd)
	a, err := s.cfg.People.Commands.Installations.Activate(r.Context(), m, cmd)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, a.AppendResult, map[string]any{
		"installation_id": a.Installation.ID(), "credential": a.Credential, "status": a.Installation.Status(),
		"license": licenseOf(a.License),
	})
}

// installationActor is who an activation's events name (rule X-1): the
// installation, by the server it runs on.
func installationActor(cmd commands.Activate) event.Actor {
	return event.Actor{Kind: event.ActorInstallation, ID: cmd.Identity.Server()}
}

func (s *Server) installationLicense(w http.ResponseWriter, r *http.Request) {
	i := principalOf(r.Context()).installation
	lic, err := s.cfg.People.Commands.Installations.License(r.Context(), meta(r), i)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"installation_id": i.ID(), "status": i.Status(), "license": licenseOf(lic)})
}

// usageRequest is a usage report (PROD-3, USE-1): seats, or the live
// connections to count them from, as observed at the installation's time.
type usageRequest struct {
	ObservedAt  *time.Time         `json:"observed_at"`
	Seats       *int               `json:"seats"`
	Connections []usage.Connection `json:"connections,omitempty"`
}

// maxUsageBody bounds a usage report: installation.MaxConnections
// connections of a few hundred bytes each.
const maxUsageBody = 1 << 20

func (s *Server) reportUsage(w http.ResponseWriter, r *http.Request) {
	var req usageRequest
	if err := DecodeJSONLimit(w, r, &req, maxUsageBody); err != nil {
		s.fail(w, r, err)
		return
	}
	if (req.Seats == nil) == (req.Connections == nil) {
		WriteProblem(w, r, ProblemInvalidRequest.New("send either seats (a count) or connections (a list), not both or neither").Field("seats"))
		return
	}
	report := commands.UsageReport{Connections: req.Connections}
	if req.Seats != nil {
		report.Seats = *req.Seats
	}
	if req.ObservedAt != nil {
		report.ObservedAt = *req.ObservedAt
	}
	res, err := s.cfg.People.Commands.Installations.ReportUsage(r.Context(), meta(r), principalOf(r.Context()).installation, report)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	i := res.Installation
	body := usageAnswer{InstallationID: i.ID(), Status: i.Status(), Seats: i.Seats(), Quota: res.Quota,
		Peak: i.Peak(), OverQuota: i.Seats() > res.Quota, OverLimit: i.OverLimit(), Position: res.Position}
	if i.Model() == installation.Farm.Model() {
		// USE-3..5: the grace is available, running until …, or used.
		grace := &graceAnswer{State: res.Grace.State}
		switch res.Grace.State {
		case installation.GraceRunning:
			grace.Ends, body.GraceEnds = &res.Grace.Ends, &res.Grace.Ends
		case installation.GraceUsed:
			grace.Ended = &res.Grace.Ends
		}
		body.Grace = grace
	}
	writtenAs(w, http.StatusOK, res.Position, body)
}

// usageAnswer is the answer to a usage report, the API's most frequent
// call: a struct costs a fraction of a map's encoding (issue 21). Its
// fields are in the order encoding/json writes a map's keys, so the bytes
// are the map's.
type usageAnswer struct {
	Grace          *graceAnswer        `json:"grace,omitempty"`
	GraceEnds      *time.Time          `json:"grace_ends,omitempty"`
	InstallationID string              `json:"installation_id"`
	OverLimit      bool                `json:"over_limit,omitempty"`
	OverQuota      bool                `json:"over_quota"`
	Peak           int                 `json:"peak"`
	Position       uint64              `json:"position"`
	Quota          int                 `json:"quota"`
	Seats          int                 `json:"seats"`
	Status         installation.Status `json:"status"`
}

// graceAnswer is a farm's overuse grace in a usageAnswer (USE-3..5).
type graceAnswer struct {
	Ended *time.Time              `json:"ended,omitempty"`
	Ends  *time.Time              `json:"ends,omitempty"`
	State installation.GraceState `json:"state"`
}

func (s *Server) deactivateSelf(w http.ResponseWriter, r *http.Request) {
	i := principalOf(r.Context()).installation
	if err := s.cfg.People.Commands.Installations.DeactivateSelf(r.Context(), meta(r), i); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"installation_id": i.ID(), "status": installation.Inactive})
}

type enrollRequest struct {
	Computers int `json:"computers"`
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var req enrollRequest
	if !s.decode(w, r, &req) {
		return
	}
	i := principalOf(r.Context()).installation
	e, err := s.cfg.People.Commands.Installations.Enroll(r.Context(), meta(r), i, req.Computers)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// USE-6: the enrolled computers count at once; managed includes them.
	written(w, http.StatusOK, e.AppendResult, map[string]any{"allowed": true, "managed": e.Managed, "limit": e.Quota})
}

func (s *Server) offlinePublicKey(w http.ResponseWriter, r *http.Request) {
	pub := s.cfg.People.OfflinePublicKey
	if pub == nil {
		WriteProblem(w, r, ProblemUnavailable.New("offline activation is not configured on this server"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"algorithm": "Ed25519", "key_id": offline.KeyID(pub),
		"public_key": base64.StdEncoding.EncodeToString(pub)})
}

type offlineActivationRequest struct {
	Enabled bool `json:"enabled"`
	// Reason is why the switch is turned (required, issue 23).
	Reason string `json:"reason"`
}

func (s *Server) setOfflineActivation(w http.ResponseWriter, r *http.Request) {
	var req offlineActivationRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Accounts.SetOfflineActivation(r.Context(), meta(r), chi.URLParam(r, "accountID"), req.Enabled, req.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"enabled": req.Enabled})
}

// answerOfflineRequest takes an offline request file, uploaded as the
// body, and answers with the signed file to import (ACT-2, ACT-5, ACT-6).
func (s *Server) answerOfflineRequest(w http.ResponseWriter, r *http.Request) {
	raw, err := ReadOfflineRequest(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ans, err := s.cfg.People.Commands.Offline.AnswerOfflineRequest(r.Context(), meta(r), chi.URLParam(r, "accountID"), raw)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ServeOfflineAnswer(w, ans)
}

// ReadOfflineRequest reads an uploaded offline request file, at most
// offline.MaxSize bytes; the portal reads its uploads the same way.
func ReadOfflineRequest(body io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(body, offline.MaxSize+1))
	switch {
	case err != nil:
		return nil, ProblemInvalidRequest.New("the request file could not be read").Field("file")
	case len(raw) > offline.MaxSize:
		return nil, ProblemPayloadTooLarge.New("an offline request file has at most %d bytes", offline.MaxSize).Field("file")
	}
	return raw, nil
}

// ServeOfflineAnswer sends the file that answers an offline request as a
// download, with the installation it is for and the log position of its
// changes; the portal serves it the same way.
func ServeOfflineAnswer(w http.ResponseWriter, ans commands.OfflineAnswer) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.txt"`, ans.Kind, ans.InstallationID))
	w.Header().Set("X-Installation-ID", ans.InstallationID)
	if ans.Position > 0 {
		w.Header().Set("X-Ledger-Position", strconv.FormatUint(ans.Position, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ans.File)
}

type deactivateSelectedRequest struct {
	InstallationIDs []string `json:"installation_ids"`
}

// deactivateSelected deactivates the selected installations of an
// account from the portal (ACT-7, INST-3): pending until each one's next
// contact.
func (s *Server) deactivateSelected(w http.ResponseWriter, r *http.Request) {
	acc := chi.URLParam(r, "accountID")
	if err := s.cfg.People.Commands.Accounts.Authorize(r.Context(), principalOf(r.Context()).actor, acc, account.ActionView); err != nil {
		s.fail(w, r, err) // who may act on the account is checked before what they send
		return
	}
	var req deactivateSelectedRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Installations.RequestDeactivation(r.Context(), meta(r), acc, req.InstallationIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"installation_ids": req.InstallationIDs, "status": installation.Pending})
}

type notesRequest struct {
	Notes string `json:"notes"`
}

func (s *Server) setNotes(w http.ResponseWriter, r *http.Request) {
	var req notesRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.cfg.People.Commands.Installations.SetInstallationNotes(r.Context(), meta(r), chi.URLParam(r, "installationID"), req.Notes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	written(w, http.StatusOK, res, map[string]any{"notes": req.Notes})
}

// installationsFilter reads a list's or an export's query: status, sort,
// a selection of IDs (comma-separated), and the page.
func (s *Server) installationsFilter(r *http.Request, kind installation.Kind) queries.InstallationsFilter {
	q := r.URL.Query()
	f := queries.InstallationsFilter{AccountID: chi.URLParam(r, "accountID"), Kind: string(kind), Status: q.Get("status"),
		Sort: q.Get("sort"), After: q.Get("after"), Now: s.cfg.Clock.Now()}
	if ids := q.Get("ids"); ids != "" {
		f.IDs = strings.Split(ids, ",")
	}
	return f
}

// listInstallations answers an account's farms or proxy servers (INST-1,
// INST-2): every member of the account may see them.
func (s *Server) listInstallations(kind installation.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		page, err := s.reads.Installations(r.Context(), v, s.installationsFilter(r, kind), r.URL.Query().Get("limit"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page)
	}
}

// exportInstallations streams the selected rows as CSV with the chosen
// columns (INST-3), however many there are.
func (s *Server) exportInstallations(kind installation.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		f := s.installationsFilter(r, kind)
		var columns []string
		if raw := r.URL.Query().Get("columns"); raw != "" {
			columns = strings.Split(raw, ",")
		}
		// The export checks the columns and the filter before it writes
		// its first byte; the headers go out with that byte, so a refusal
		// is still a problem document.
		out := &lazyAttachment{w: w, contentType: "text/csv; charset=utf-8", filename: string(kind) + "s.csv"}
		err := s.reads.ExportInstallationsCSV(r.Context(), v, f, r.URL.Query().Get("limit"), columns, out)
		switch {
		case err != nil && !out.started:
			s.fail(w, r, err)
		case err != nil:
			s.cfg.Logger.Warn("installations export cut short", "account", f.AccountID, "error", err)
		}
	}
}

// lazyAttachment sends its headers with the first byte written to it.
type lazyAttachment struct {
	w                     http.ResponseWriter
	contentType, filename string
	started               bool
}

func (a *lazyAttachment) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.w.Header().Set("Content-Type", a.contentType)
		a.w.Header().Set("Cache-Control", "no-store")
		a.w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, a.filename))
		a.w.WriteHeader(http.StatusOK)
	}
	return a.w.Write(p)
}

// installationDetails answers one installation with its notes and usage
// history (INST-4).
func (s *Server) installationDetails(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	d, err := s.reads.InstallationDetails(r.Context(), v, chi.URLParam(r, "installationID"), s.cfg.Clock.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
