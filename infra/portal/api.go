package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/go-chi/chi/v5"

	"seatledger/infra/httpapi"
)

// The portal is a client of the JSON API: every page reads, and every form
// writes, through the same routes, authorization and problem details that
// the API's other clients get. The calls are made in process, carrying
// the browser's cookies, so there is one policy and no second session.

// reply is the API's answer to one in-process call.
type reply struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *reply) Header() http.Header { return r.header }
func (r *reply) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *reply) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// ok reports whether the call succeeded (2xx).
func (r *reply) ok() bool { return r.status >= 200 && r.status < 300 }

// problem decodes the API's problem details; a reply that is not one
// becomes a generic problem with its status.
func (r *reply) problem() *httpapi.Problem {
	var p httpapi.Problem
	if err := json.Unmarshal(r.body.Bytes(), &p); err != nil || p.Status == 0 {
		return &httpapi.Problem{Status: r.status, Title: http.StatusText(r.status)}
	}
	return &p
}

// decode reads the JSON body into out; numbers stay json.Number, so that
// templates print them as the API wrote them.
func (r *reply) decode(out any) error {
	if out == nil || r.body.Len() == 0 {
		return nil
	}
	dec := json.NewDecoder(&r.body)
	dec.UseNumber()
	return dec.Decode(out)
}

// request is one call to the API on behalf of the browser's request from.
type request struct {
	method, path string
	contentType  string
	body         io.Reader
}

// jsonRequest encodes body as the JSON a call sends.
func jsonRequest(method, path string, body any) request {
	req := request{method: method, path: path}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil { // the portal's own maps and structs always encode
			panic(fmt.Sprintf("portal: encoding a request body: %v", err))
		}
		req.contentType, req.body = "application/json", bytes.NewReader(b)
	}
	return req
}

// multipartRequest re-encodes the fields and files of a browser form that
// the portal has parsed (to check its CSRF token) as the multipart body of
// an API call. The body is streamed: the files, which the form's parsing
// left in temporary files beyond a small part in memory, are copied into
// the call as the API reads it, never gathered in memory. A file that
// cannot be read fails the call's body, which the API answers as a
// problem.
func multipartRequest(method, path string, fields map[string]string, fileField string, files []*multipart.FileHeader) (request, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeMultipart(mw, fields, fileField, files))
	}()
	return request{method: method, path: path, contentType: mw.FormDataContentType(), body: pr}, nil
}

// writeMultipart writes the fields and files into mw and closes it.
func writeMultipart(mw *multipart.Writer, fields map[string]string, fileField string, files []*multipart.FileHeader) error {
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	for _, fh := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, fileField, fh.Filename))
		ct := fh.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		part, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(part, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

// call sends req to the API as the browser of from: with its cookies, its
// address (rate limits count per client) and the page's request ID (the
// API's log lines join the page's). Reads wait for the position of the
// browser's last write. Cookies the API sets (sign-in, sign-out, an
// expired session) are passed on to the browser through w.
func (p *Portal) call(w http.ResponseWriter, from *http.Request, req request) *reply {
	body := req.body
	if body == nil {
		body = http.NoBody
	}
	// The call is routed afresh: the page's chi routing context must not
	// make the API's router take it for a sub-route of the page.
	ctx := context.WithValue(from.Context(), chi.RouteCtxKey, (*chi.Context)(nil))
	in, err := http.NewRequestWithContext(ctx, req.method, req.path, body)
	if err != nil { // a path the portal built from a route's own parameters
		return &reply{status: http.StatusBadRequest, header: http.Header{}}
	}
	in.RemoteAddr = from.RemoteAddr
	in.Host = from.Host
	for _, h := range []string{"Cookie", "User-Agent", "Accept-Language", "X-Forwarded-For"} {
		if v := from.Header.Values(h); len(v) > 0 {
			in.Header[h] = v
		}
	}
	in.Header.Set(httpapi.RequestIDHeader, httpapi.RequestID(from.Context()))
	in.Header.Set("Accept", "application/json")
	if req.contentType != "" {
		in.Header.Set("Content-Type", req.contentType)
	}
	if req.method == http.MethodGet {
		if c, err := from.Cookie(positionCookie); err == nil {
			if _, err := strconv.ParseUint(c.Value, 10, 64); err == nil {
				in.Header.Set("X-Ledger-Min-Position", c.Value)
			}
		}
	}
	rep := &reply{header: http.Header{}}
	p.cfg.API.ServeHTTP(rep, in)
	if c, ok := req.body.(io.Closer); ok {
		c.Close() // a streamed body the API did not read to its end stops being written
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	for _, c := range rep.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	if pos := rep.header.Get("X-Ledger-Position"); pos != "" && rep.ok() {
		http.SetCookie(w, &http.Cookie{Name: positionCookie, Value: pos, Path: "/", HttpOnly: true,
			Secure: p.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	}
	return rep
}

// result turns a reply into out or an error.
func (p *Portal) result(rep *reply, out any) error {
	if !rep.ok() {
		prob := rep.problem()
		// A 401 of a form (a wrong password) is the form's problem; any
		// other 401 means the session is gone.
		if rep.status == http.StatusUnauthorized && prob.Type != httpapi.ProblemBadCredentials.URI() {
			return errSignIn
		}
		return prob
	}
	if err := rep.decode(out); err != nil {
		return fmt.Errorf("portal: decoding the API's answer: %w", err)
	}
	return nil
}

// submit sends a form's command to the API. On success it decodes the
// answer into out and returns true; on a problem it records it in v (the
// page shows it next to the fields it names) and returns false.
func (p *Portal) submit(w http.ResponseWriter, r *http.Request, v *View, req request, out any) bool {
	err := p.result(p.call(w, r, req), out)
	if err == nil {
		return true
	}
	v.fail(err)
	return false
}
