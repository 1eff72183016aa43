package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// View is what every page's template is executed with: who is signed in,
// the accounts they can switch between, the form as sent, the problem of
// a failed use case and the page's own typed data (Page).
type View struct {
	// Title is the page's title (also its <h1>).
	Title string
	// Nav names the header's current item ("dashboard", "subscriptions" …).
	Nav string
	// Me is the signed-in person; nil when nobody is.
	Me *queries.Me
	// Accounts are the accounts the person can switch between (MEM-2).
	Accounts []queries.AccountSummary
	// Account is the account the page is about, one of Accounts.
	Account *queries.AccountSummary
	// AccountID is Account's ID.
	AccountID string
	// CSRF is the token every form of a signed-in person carries.
	CSRF string
	// Flash is the one-off message of the action that led here.
	Flash string
	// Form is the form as the browser sent it, shown again after a problem.
	Form url.Values
	// Problem is the API's answer to a failed form, or a page's error.
	Problem *httpapi.Problem
	// Status is the HTTP status the page is answered with.
	Status int
	// Page is the page's own typed view model (dashboardView …).
	Page any
	// Lang is the page's language ("" is English): an invitation's page
	// speaks the invitation's (MEM-4).
	Lang string
	// Staff is the staff person signed in to the staff console; nil on
	// the customers' pages (staff.go).
	Staff *StaffMe
	// Path is the request's path and query, for links back here.
	Path string
	// JS is the URL of the portal's script, with its content hash.
	JS, HTMX, CSS, Icon string

	// viewer is who asks the page's use cases.
	viewer queries.Viewer
	// placed are the fields that show the problem's reasons next to
	// themselves (set by Unplaced).
	placed []string
	// lastAccount is the account the person used last (their session's
	// LastAccount), "" when none is remembered.
	lastAccount string
	// framed: the page is the person's own, shown in an account's header
	// and menu without being about the account (acctContext), so showing
	// it is no use of the account.
	framed bool
}

// fail records a failed call: a problem is shown as it is, any other
// error as the problem the API's table maps it to (an unknown error is a
// generic one; the page's handler logs the real one).
func (v *View) fail(err error) {
	var p *httpapi.Problem
	switch {
	case errors.As(err, &p):
		v.Problem = p
	case errors.Is(err, errSignIn):
		v.Problem = &httpapi.Problem{Status: http.StatusUnauthorized, Title: "Sign-in required", Detail: "your session has ended; sign in again"}
	default:
		v.Problem = problemOf(err)
	}
	v.Status = v.Problem.Status
}

// Err returns the API's reason for field name, or "".
func (v *View) Err(name string) string {
	if v.Problem == nil {
		return ""
	}
	for _, p := range v.Problem.InvalidParams {
		if p.Name == name {
			return p.Reason
		}
	}
	return ""
}

// Unplaced reports whether the problem has something that none of the
// form's fields shows (a reason of no field, or of a field the form does
// not have), so that the page shows it at the top; the fields show the
// rest next to themselves. Leftover lists what the top shows.
func (v *View) Unplaced(fields ...string) bool {
	if v.Problem == nil {
		return false
	}
	v.placed = fields
	return len(v.Problem.InvalidParams) == 0 || len(v.Leftover()) > 0
}

// Leftover is the problem's reasons that no field of the form shows (see
// Unplaced), their fields named as people read them.
func (v *View) Leftover() []httpapi.InvalidParam {
	if v.Problem == nil {
		return nil
	}
	var out []httpapi.InvalidParam
	for _, p := range v.Problem.InvalidParams {
		if !slices.Contains(v.placed, p.Name) {
			out = append(out, httpapi.InvalidParam{Name: label(p.Name), Reason: humanReason(p.Reason, p.Name, label(p.Name), v.Value(p.Name))})
		}
	}
	return out
}

// Placed reports whether some field of the form shows a reason of the
// problem: the top then shows only its title and the Leftover.
func (v *View) Placed() bool {
	return len(v.placed) > 0 && len(v.Leftover()) < len(v.Problem.InvalidParams)
}

// humanReason says a field's problem in the form's words: the request's
// name of the field ("first_name") becomes its label ("First name"), and a
// field left empty reads "<label> is required" rather than `"" is not …`.
func humanReason(reason, name, label, value string) string {
	if reason == "" {
		return ""
	}
	// A form's field may be a request field's path ("company.zip"); its
	// reasons name the last part ("zip is required").
	short := name[strings.LastIndex(name, ".")+1:]
	if strings.TrimSpace(value) == "" && (strings.Contains(reason, `""`) || strings.HasSuffix(reason, short+" is required") || strings.Contains(reason, short+" is required:")) {
		return label + " is required."
	}
	if short != "" {
		reason = jsonName(short).ReplaceAllString(reason, "${1}"+strings.ToLower(label[:1])+label[1:]+"${2}")
	}
	return strings.ToUpper(reason[:1]) + reason[1:]
}

// jsonName matches name as a word of a reason.
func jsonName(name string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^a-z_])` + regexp.QuoteMeta(name) + `($|[^a-z_])`)
}

// label is a request field's name as people read it: "product_id" →
// "Product", "call_at" → "Call at".
func label(name string) string {
	if name == "" {
		return ""
	}
	name = name[strings.LastIndex(name, ".")+1:]
	if plural, ok := strings.CutSuffix(name, "_ids"); ok {
		name = plural + "s"
	}
	name = strings.TrimSuffix(name, "_id")
	name = strings.ReplaceAll(name, "_", " ")
	return strings.ToUpper(name[:1]) + name[1:]
}

// Value returns the form's value of name, as sent.
func (v *View) Value(name string) string { return v.Form.Get(name) }

// Checked reports whether the form's checkbox name is ticked.
func (v *View) Checked(name string) bool { return v.Form.Get(name) != "" }

// Field is one labelled form control, rendered by the "field" template:
// its label, its value as sent and the API's reason next to it.
type Field struct {
	Name, Label, Type, Value, Error, Hint, Autocomplete string
	Required, Autofocus                                 bool
}

// field builds a Field of the view's form: field $ "email" "Email address" "email" ["required"] ["autofocus"] ["hint=…"] ["ac=…"].
func field(v *View, name, label, typ string, opts ...string) Field {
	f := Field{Name: name, Label: label, Type: typ, Value: v.Value(name), Error: v.Err(name)}
	if typ != "checkbox" {
		f.Error = humanReason(f.Error, name, label, f.Value)
	} else if f.Error != "" {
		f.Error = strings.ToUpper(f.Error[:1]) + f.Error[1:]
	}
	if typ == "password" {
		f.Value = "" // never sent back
	}
	for _, o := range opts {
		switch {
		case o == "required":
			f.Required = true
		case o == "autofocus":
			f.Autofocus = true
		case strings.HasPrefix(o, "hint="):
			f.Hint = strings.TrimPrefix(o, "hint=")
		case strings.HasPrefix(o, "ac="):
			f.Autocomplete = strings.TrimPrefix(o, "ac=")
		case strings.HasPrefix(o, "value="):
			if f.Value == "" {
				f.Value = strings.TrimPrefix(o, "value=")
			}
		}
	}
	if f.Error != "" {
		f.Autofocus = true
	}
	return f
}

// templates holds one parsed template per page: the layout, the shared
// partials and the page's own file.
type templates map[string]*template.Template

// parseTemplates parses every page under pages/ with the layout.
func parseTemplates(files fs.FS) (templates, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html",
		"templates/staff_layout.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := templates{}
	for _, p := range pages {
		t, err := template.Must(base.Clone()).ParseFS(files, p)
		if err != nil {
			return nil, err
		}
		out[path.Base(p)] = t
	}
	return out, nil
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"field": field,
	"date":  func(v any) string { return formatTime(v, "2 Jan 2006") },
	"datetime": func(v any) string {
		return formatTime(v, "2 Jan 2006 15:04 MST")
	},
	// seconds is a time to the second (a delivery log's).
	"seconds": func(v any) string { return formatTime(v, "2 Jan 2006 15:04:05 MST") },
	"isodate": func(v any) string { return formatTime(v, "2006-01-02") },
	// rfc3339 is a time as the API's JSON writes it.
	"rfc3339": func(v any) string { return formatTime(v, time.RFC3339Nano) },
	// str prints a JSON value; nil is "".
	"str": str,
	// query returns the current query with keys set to values ("" removes).
	"query": func(base string, kv ...string) string {
		u, err := url.Parse(base)
		if err != nil {
			return base
		}
		q := u.Query()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	},
	"list": func(v any) []any { l, _ := v.([]any); return l },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"has": func(list any, s string) bool {
		switch l := list.(type) {
		case []string:
			for _, x := range l {
				if x == s {
					return true
				}
			}
		case []any:
			for _, x := range l {
				if str(x) == s {
					return true
				}
			}
		}
		return false
	},
	"json": func(v any) string { b, _ := json.MarshalIndent(v, "", "  "); return string(b) },
	"add":  func(a, b int) int { return a + b },
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// formatTime formats a time: a time.Time (a zero one is ""), a
// *time.Time (nil is ""), or an RFC 3339 text; anything else is printed
// as it is.
func formatTime(v any, layout string) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	default:
		s := str(v)
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return s
		}
	}
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layout)
}

// render executes page with v and sends it with v.Status (200 if unset).
// It renders into a buffer first: a template that fails sends an error
// page, never half a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, page string, v *View) {
	p.renderIn(w, r, "layout.html", page, v)
}

// renderIn is render with the layout named layout: "layout.html" for the
// customers' pages, "staff-layout" for the staff console's (staff.go).
func (p *Portal) renderIn(w http.ResponseWriter, r *http.Request, layout, page string, v *View) {
	t, ok := p.pages[page]
	if !ok {
		p.cfg.Logger.ErrorContext(r.Context(), "portal: no such page template", "page", page)
		http.Error(w, "page not found", http.StatusInternalServerError)
		return
	}
	v.Path = r.URL.RequestURI()
	v.JS, v.HTMX, v.CSS, v.Icon = p.assets.url("portal.js"), p.assets.url("htmx.min.js"), p.assets.url("portal.css"), p.assets.url("favicon.svg")
	if v.Status == 0 {
		v.Status = http.StatusOK
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, layout, v); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "portal: rendering a page failed", "page", page, "error", err,
			"request_id", httpapi.RequestID(r.Context()))
		http.Error(w, "the page could not be rendered; quote the request ID "+httpapi.RequestID(r.Context()), http.StatusInternalServerError)
		return
	}
	p.rememberAccount(r, v)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "HX-Request")
	if r.Header.Get("HX-Request") == "true" && r.Method == http.MethodGet {
		h.Set("HX-Push-Url", v.Path) // after a redirect, the address bar shows where the browser ended
	}
	w.WriteHeader(v.Status)
	_, _ = buf.WriteTo(w)
}
