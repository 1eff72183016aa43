package httpapi

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/person"
	"seatledger/domain/staff"
	"seatledger/infra/access"
	"seatledger/infra/attachments"
	"seatledger/infra/session"
	"seatledger/queries"
)

// SessionCookie is the name of the browser session's cookie.
const SessionCookie = "seatledger_session"

// PeopleConfig configures the /v1 API of people, accounts and members.
type PeopleConfig struct {
	// Commands runs the use cases and answers authorization from the
	// aggregates' latest events. Required.
	Commands *commands.Set
	// Reads is the read store the queries read. Required.
	Reads queries.DB
	// Sessions keeps browser sessions. Required.
	Sessions *session.Store
	// WaitFor blocks until projection has applied position (read your
	// writes); nil: queries never wait.
	WaitFor func(ctx context.Context, projection string, position uint64, timeout time.Duration) error
	// ProjectionStopped, if set, says whether read model projection is
	// stopped at an event it cannot apply (true) and why (for the log):
	// the reads that need it then answer 503 read-model-stopped naming it,
	// and every other request goes on (issue 16).
	ProjectionStopped func(ctx context.Context, projection string) (bool, string, error)
	// Limits bound trial activations and installations' calls; nil:
	// DefaultLimits.
	Limits *Limits
	// SecureCookies marks the session cookie Secure: set it when the
	// server is reached over TLS (directly or behind a proxy).
	SecureCookies bool
	// TermsVersion is the version of the terms of use that sign-up accepts.
	TermsVersion string
	// OfflinePublicKey is the key that verifies the ledger's offline
	// files, served to installations (ACT-2); nil: not configured.
	OfflinePublicKey ed25519.PublicKey
	// MDMCACertificate is the PEM certificate of the CA that signs MDM
	// certificates (MISC-1), served at GET /v1/mdm/ca.pem; nil: that
	// route answers 503.
	MDMCACertificate []byte
	// Attachments keeps the files attached to ticket replies (TKT-2);
	// nil: the ticket routes that upload or download files answer 503.
	Attachments *attachments.Store
	// FinanceLog reads the whole event log for finance reconciliations
	// (issue 7; eventstore.ScanLog over the store); nil: they answer 503.
	FinanceLog queries.LogScan
	// AuditLog serves the log's checkpoints, proofs and exports;
	// nil: the /v1/audit routes answer 503.
	AuditLog AuditLog
	// Audit answers the history and as-of reads of entities;
	// nil: those routes answer 503.
	Audit *queries.Audit
	// Access signs people up, in and out and guards their passwords
	// (MEM-1); give the portal the same one, so that both edges count
	// attempts together. nil: one built from Commands, Sessions,
	// PasswordResets and TermsVersion.
	Access *access.Desk
	// FeedWriteTimeout is how long a write to a live event feed's client
	// may take before the client is cut off as too slow (its events are
	// never buffered beyond one page). Default 10s.
	FeedWriteTimeout time.Duration
	// PasswordResets takes forgotten-password requests (MEM-1), served
	// after the answer, when Access is nil; nil: /v1/password/forgot
	// answers 503.
	PasswordResets PasswordResets
	// Queries are the query use cases the reads call; nil: built from
	// Commands, Reads, WaitFor and ProjectionStopped.
	Queries *queries.Reads
}

// PasswordResets queues forgotten-password requests (rule MEM-1).
type PasswordResets = access.PasswordResets

// principal is who makes a request: nobody, a person (by session cookie or
// personal API token), or the back office (the admin token).
type principal struct {
	actor     event.Actor
	sessionID string // the cookie's value, when signed in by cookie
	// installation is the installation a credential authenticated, as of
	// its latest event (ACT-1).
	installation installation.Installation
	// staffToken is the bearer token of a staff session, for signing out.
	staffToken string
}

type principalKey struct{}

func principalOf(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// authenticate finds who makes the request. A bearer token is the admin
// token or a personal API token; without one, the session cookie counts,
// and then unsafe methods must come from the portal's own origin (CSRF,
// checked by net/http's CrossOriginProtection: Sec-Fetch-Site and Origin
// headers). Bad credentials are a 401 at once, never treated as anonymous.
func (s *Server) authenticate(next http.Handler) http.Handler {
	isAdmin := adminTokenMatcher(s.cfg.AdminToken)
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, ProblemCSRF.New("a cross-origin %s with the session cookie was refused; the portal sends requests from its own origin", r.Method))
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, ok := strings.Cut(h, " ")
			token = strings.TrimSpace(token)
			if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
				unauthorized(w, r, "send a token as Authorization: Bearer <token>")
				return
			}
			if strings.HasPrefix(token, "sli_") {
				s.authenticateInstallation(w, r, next, token)
				return
			}
			if isAdmin(token) {
				s.authenticateAdminToken(w, r, next)
				return
			}
			if commands.IsStaffToken(token) || commands.IsServiceToken(token) {
				s.authenticateBackOffice(w, r, next, token)
				return
			}
			p, err := s.cfg.People.Commands.People.AuthenticateAPIToken(ctx, token)
			if errors.Is(err, person.ErrBadCredentials) {
				unauthorized(w, r, "the bearer token is not valid or was revoked")
				return
			}
			if err != nil {
				WriteError(w, r, s.cfg.Logger, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, principalKey{}, principal{actor: personActor(p.ID())})))
			return
		}
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := s.cfg.People.Sessions.Lookup(ctx, c.Value)
		if errors.Is(err, session.ErrNoSession) {
			ClearSessionCookie(w, s.cfg.People.SecureCookies)
			unauthorized(w, r, "the session has expired; sign in again")
			return
		}
		if err != nil {
			WriteError(w, r, s.cfg.Logger, err)
			return
		}
		ctx = context.WithValue(ctx, principalKey{}, principal{actor: personActor(sess.PersonID), sessionID: c.Value})
		csrf.Handler(next).ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticateAdminToken serves a request made with LEDGER_ADMIN_TOKEN:
// it bootstraps the back office, so once the back office has an owner it
// is refused unless the server was told to keep it (issue 23); its events
// say admin-token.
func (s *Server) authenticateAdminToken(w http.ResponseWriter, r *http.Request, next http.Handler) {
	roster, err := s.cfg.People.Commands.Staff.Roster(r.Context())
	if err != nil {
		WriteError(w, r, s.cfg.Logger, err)
		return
	}
	if !roster.AdminTokenAccepted(s.cfg.KeepAdminToken) {
		WriteProblem(w, r, ProblemForbidden.New("the admin token only bootstraps the back office, which has an owner now: sign in as staff (POST /v1/staff/session) or use a service account's token"))
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{actor: staff.AdminToken})))
}

// authenticateBackOffice serves a request made with a staff session's or
// a service account's token, checked against the roster's latest events.
func (s *Server) authenticateBackOffice(w http.ResponseWriter, r *http.Request, next http.Handler, token string) {
	authenticate := s.cfg.People.Commands.Staff.AuthenticateService
	if commands.IsStaffToken(token) {
		authenticate = s.cfg.People.Commands.Staff.AuthenticateStaff
	}
	actor, err := authenticate(r.Context(), token)
	if errors.Is(err, staff.ErrBadCredentials) {
		unauthorized(w, r, "the back office's token is not valid, has expired or was revoked")
		return
	}
	if err != nil {
		WriteError(w, r, s.cfg.Logger, err)
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{actor: actor, staffToken: token})))
}

// authenticateInstallation serves a request made with an installation's
// credential (ACT-1).
func (s *Server) authenticateInstallation(w http.ResponseWriter, r *http.Request, next http.Handler, credential string) {
	i, err := s.cfg.People.Commands.Installations.Authenticate(r.Context(), credential)
	if errors.Is(err, commands.ErrCredential) {
		unauthorized(w, r, "the installation's credential is not valid, or a later activation replaced it; activate again")
		return
	}
	if err != nil {
		WriteError(w, r, s.cfg.Logger, err)
		return
	}
	p := principal{actor: event.Actor{Kind: event.ActorInstallation, ID: i.ID()}, installation: i}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
}

// requireInstallation lets through requests made with an installation's
// credential.
func requireInstallation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch principalOf(r.Context()).actor.Kind {
		case event.ActorInstallation:
			next.ServeHTTP(w, r)
		case event.ActorPerson, event.ActorBackOffice:
			WriteProblem(w, r, ProblemForbidden.New("this endpoint is for installations; send the installation's credential"))
		default:
			unauthorized(w, r, "send the installation's credential as Authorization: Bearer sli_…")
		}
	})
}

func personActor(id string) event.Actor { return event.Actor{Kind: event.ActorPerson, ID: id} }

func unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="seatledger"`)
	WriteProblem(w, r, ProblemUnauthorized.New("%s", detail))
}

// requirePerson lets through requests made by a signed-in person.
func requirePerson(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		switch p.actor.Kind {
		case event.ActorPerson:
			next.ServeHTTP(w, r)
		case event.ActorBackOffice:
			WriteProblem(w, r, ProblemForbidden.New("this endpoint is for people; the back office token cannot act as one"))
		case event.ActorInstallation:
			WriteProblem(w, r, ProblemForbidden.New("this endpoint is for people; an installation's credential cannot act as one"))
		default:
			unauthorized(w, r, "sign in (POST /v1/session) or send a personal API token")
		}
	})
}

// requireSignedIn lets through requests made by a person or the back
// office. The back office reads here only as far as the roster lets it
// (staff.PermRead: not a service account); what it changes, the use case
// authorizes.
func (s *Server) requireSignedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := principalOf(r.Context()).actor
		switch actor.Kind {
		case event.ActorInstallation:
			WriteProblem(w, r, ProblemForbidden.New("this endpoint is for people; an installation's credential cannot act as one"))
			return
		case event.ActorKind{}:
			unauthorized(w, r, "sign in (POST /v1/session) or send a personal API token")
			return
		case event.ActorBackOffice:
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if err := s.cfg.People.Commands.Staff.Authorize(r.Context(), actor, staff.PermRead); err != nil {
					s.fail(w, r, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// meta is the command metadata of a request: who, and the request ID as
// the correlation ID (rule X-1); an Idempotency-Key header makes the
// command safe to retry (rule X-4).
func meta(r *http.Request) commands.Meta {
	actor := principalOf(r.Context()).actor
	if actor.Kind.IsZero() {
		actor = access.Anonymous
	}
	return commands.Meta{Actor: actor, CorrelationID: RequestID(r.Context()), IdempotencyKey: r.Header.Get("Idempotency-Key")}
}

// ClientAddr is the client's IP address, for the limits of an edge
// mounted under the API (the portal): see clientAddr.
func ClientAddr(r *http.Request) string { return clientAddr(r) }

// clientAddr is the client's IP address, for rate limits: the one the
// resolveClient middleware found (X-Forwarded-For counts only as far as
// trusted proxies wrote it), or else the connection's peer.
func clientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return a
	}
	return peerAddr(r)
}

type clientAddrKey struct{}

// peerAddr is the IP address of the connection's other end.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// resolveClient finds the client's address once per request, for
// clientAddr. Behind a reverse proxy every request comes from the proxy,
// so limits per client address would put every client in one bucket; a
// proxy names the client in X-Forwarded-For. Anybody can send that
// header, so it counts only when the peer is a trusted proxy, and then
// only as far as trusted proxies wrote it: the list is read from its
// right end (the hop the nearest proxy added) leftwards, past trusted
// addresses, and the first untrusted one is the client. A malformed hop
// ends the walk at the last proxy.
func resolveClient(trusted []netip.Prefix) func(http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client := peerAddr(r)
			if peer, err := netip.ParseAddr(client); err == nil && len(trusted) > 0 && isTrusted(peer) {
				client = forwardedClient(r.Header.Values("X-Forwarded-For"), peer.Unmap(), isTrusted)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, client)))
		})
	}
}

// forwardedClient walks the X-Forwarded-For hops from the right, starting
// at the trusted peer; see resolveClient.
func forwardedClient(headers []string, peer netip.Addr, isTrusted func(netip.Addr) bool) string {
	var hops []string
	for _, h := range headers {
		for _, hop := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			ap, perr := netip.ParseAddrPort(hops[i]) // "203.0.113.7:1234", "[2001:db8::1]:1234"
			if perr != nil {
				return last.String()
			}
			a = ap.Addr()
		}
		a = a.Unmap()
		if !isTrusted(a) {
			return a.String()
		}
		last = a
	}
	return last.String()
}

// SetSessionCookie gives the browser the cookie of an opened session.
func SetSessionCookie(w http.ResponseWriter, value string, sess session.Session, secure bool) {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if sess.Persistent { // "keep me signed in": the cookie outlives the browser
		c.MaxAge = int(session.PersistentLifetime.Seconds())
	}
	http.SetCookie(w, c)
}

// ClearSessionCookie tells the browser to forget its session cookie.
func ClearSessionCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
