package portal

import (
	"errors"
	"net/http"
	"strconv"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/infra/httpapi"
	"seatledger/infra/session"
	"seatledger/queries"
)

// The portal is a sibling of the JSON API, not its client: its pages call
// the same command and query use cases (Config.Commands, Config.Queries),
// which own authorization, read-your-writes and validation, and render
// their typed results. Errors become problems through the API's one
// table (httpapi.ProblemFor), so both edges say the same thing.

// positionCookie remembers the log position of the browser's last write,
// so that the pages read after it wait for the read models to show it
// (read your writes).
const positionCookie = "seatledger_seen"

// errSignIn: nobody is signed in (or the session has ended); the page
// sends the browser to sign in.
var errSignIn = errors.New("portal: sign-in required")

// viewer is who the browser's session signs in, with the position of its
// last write, and the session. A cookie that names no live session is
// dropped (as the API does) and errSignIn returned.
func (p *Portal) viewer(w http.ResponseWriter, r *http.Request) (queries.Viewer, session.Session, error) {
	c, err := r.Cookie(httpapi.SessionCookie)
	if err != nil || c.Value == "" {
		return queries.Viewer{}, session.Session{}, errSignIn
	}
	sess, err := p.session(r, c.Value)
	if errors.Is(err, session.ErrNoSession) {
		dropSessionCookie(w, r, p.cfg.SecureCookies)
		return queries.Viewer{}, session.Session{}, errSignIn
	}
	if err != nil {
		return queries.Viewer{}, session.Session{}, err
	}
	v := queries.Viewer{Actor: event.Actor{Kind: event.ActorPerson, ID: sess.PersonID}}
	if c, err := r.Cookie(positionCookie); err == nil {
		if _, err := strconv.ParseUint(c.Value, 10, 64); err == nil {
			v.MinPosition = c.Value
		}
	}
	return v, sess, nil
}

// sessionKey is the request context's key of the session checkCSRF
// looked up for a form.
type sessionKey struct{}

// session returns the live session of the cookie value: the one checkCSRF
// already looked up for this request, else from the store.
func (p *Portal) session(r *http.Request, cookie string) (session.Session, error) {
	if sess, ok := r.Context().Value(sessionKey{}).(session.Session); ok {
		return sess, nil
	}
	return p.cfg.Sessions.Lookup(r.Context(), cookie)
}

// meta is the metadata of a command the page's person sends: the request
// ID is its correlation ID (rule X-1), as in the API.
func (v *View) meta(r *http.Request) commands.Meta {
	return commands.Meta{Actor: v.viewer.Actor, CorrelationID: httpapi.RequestID(r.Context())}
}

// wrote remembers a command's position in the browser, so that the pages
// after it read their own writes.
func (p *Portal) wrote(w http.ResponseWriter, res event.AppendResult) {
	if res.Position == 0 {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: positionCookie, Value: strconv.FormatUint(res.Position, 10), Path: "/", HttpOnly: true,
		Secure: p.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// problemOf is the problem a use case's error is shown as: the API's
// table of domain errors, so that a page says what the API would.
func problemOf(err error) *httpapi.Problem {
	p, _ := httpapi.ProblemFor(err)
	return p
}
