package httpapi

import (
	"github.com/go-chi/chi/v5"

	"seatledger/domain/staff"
)

// supportRoutes mounts the /v1 API of support tickets, MDM certificates
// and downloads (issue 6), inside peopleRoutes' authentication.
func (s *Server) supportRoutes(r chi.Router) {
	// Public, like the other public keys: the CA certificate is what an
	// MDM server must trust before any certificate is issued, and every
	// issued certificate carries it anyway.
	r.Get("/mdm/ca.pem", s.mdmCACertificate)
	r.With(s.requireBackOffice(staff.PermSupport)).Put("/tickets/{ticketID}/status", s.changeTicketStatus)
	r.Group(func(r chi.Router) {
		r.Use(s.requireBackOffice(staff.PermCatalog))
		r.Put("/products/{productID}/releases/{version}", s.publishRelease)
		r.Delete("/products/{productID}/releases/{version}", s.withdrawRelease)
	})
	r.Group(func(r chi.Router) {
		r.Use(requirePerson)
		r.Post("/accounts/{accountID}/tickets", s.openTicket)
		r.Post("/tickets/{ticketID}/close", s.closeTicket)
		r.Post("/tickets/{ticketID}/reopen", s.reopenTicket)
		r.Post("/tickets/{ticketID}/survey", s.submitSurvey)
		r.Put("/tickets/{ticketID}/watchers/{personID}", s.addWatcher)
		r.Delete("/tickets/{ticketID}/watchers/{personID}", s.removeWatcher)
		r.Post("/accounts/{accountID}/mdm/certificates", s.issueMDMCertificate)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.requireSignedIn)
		r.Get("/accounts/{accountID}/tickets", s.listTickets)
		r.Get("/tickets/{ticketID}", s.ticketDetails)
		r.Post("/tickets/{ticketID}/replies", s.replyToTicket)
		r.Get("/tickets/{ticketID}/attachments/{attachmentID}", s.downloadAttachment)
		r.Get("/accounts/{accountID}/mdm/certificates", s.mdmCertificates)
		r.Get("/accounts/{accountID}/downloads", s.downloadProducts)
		r.Get("/accounts/{accountID}/downloads/{productID}", s.releases)
		r.Get("/accounts/{accountID}/downloads/{productID}/{version}", s.releaseFiles)
	})
}
