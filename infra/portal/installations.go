package portal

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// The installations pages (issue 8): an account's farms and proxy servers
// (INST-1, INST-2), the actions on the selected rows (INST-3: deactivate,
// ACT-7; export to CSV), one installation's details with its notes and
// usage history (INST-4, USE-2), and the offline activation and
// validation page that answers request files (ACT-2, ACT-3, ACT-5, ACT-6).
//
// The lists are GET forms and links (filter, sort, columns, cursor pages);
// the details and the confirmation of a deactivation are dialogs of their
// own URL over the list; the usage chart is an SVG drawn here.

func (p *Portal) installationPages(r chi.Router) {
	for _, k := range instKinds {
		r.Get("/accounts/{accountID}/"+k.Path, p.instListPage(k))
		r.Post("/accounts/{accountID}/"+k.Path+"/selection", p.instSelection(k))
	}
	r.Get("/installations/{installationID}", p.instDetailsPage)
	r.Post("/installations/{installationID}/notes", p.instNotes)
	r.Get("/accounts/{accountID}/offline", p.instOfflinePage)
	r.Post("/accounts/{accountID}/offline", p.instOfflineUpload)
}

// instKind is one of the two lists: farms (concurrent users) and proxy
// servers (managed computers), each with its columns (INST-1).
type instKind struct {
	Kind     string // the API's kind: farm | proxy_server
	Path     string // the list's path segment, also the API's
	Nav      string // the header's item
	Plural   string // "Farms"
	Singular string // "farm"
	Unit     string // what usage counts: "seats" | "computers"
	NameCol  string // the column that names a row (and links to it)
	Columns  []instColumn
}

// instColumn is a column of a list, named as the API's CSV export names
// it, so that the chosen columns go to the export as they are.
type instColumn struct {
	Name, Label string
	Sort        string // the API's sort key, "" if the column does not sort
	Num         bool
}

var instKinds = []instKind{
	{Kind: "farm", Path: "farms", Nav: "farms", Plural: "Farms", Singular: "farm", Unit: "seats", NameCol: "farm_name",
		Columns: []instColumn{
			{Name: "activation_key", Label: "Activation key"},
			{Name: "farm_name", Label: "Farm name", Sort: "name"},
			{Name: "status", Label: "Status"},
			{Name: "quota", Label: "Quota", Num: true},
			{Name: "used", Label: "Used", Num: true},
			{Name: "server_id", Label: "Server ID"},
			{Name: "app_version", Label: "App version"},
			{Name: "activation_date", Label: "Activation date", Sort: "activated"},
			{Name: "latest_report_date", Label: "Latest report date"},
			{Name: "peak_usage", Label: "Peak usage", Num: true},
			{Name: "notes", Label: "Notes"},
		}},
	{Kind: "proxy_server", Path: "proxy-servers", Nav: "proxy-servers", Plural: "Proxy servers", Singular: "proxy server", Unit: "computers",
		NameCol: "server_name",
		Columns: []instColumn{
			{Name: "server_name", Label: "Server name", Sort: "name"},
			{Name: "license_key", Label: "License key"},
			{Name: "site_code", Label: "Site code"},
			{Name: "site_description", Label: "Site description"},
			{Name: "offline_use", Label: "Offline use"},
			{Name: "app_version", Label: "App version"},
			{Name: "activation_date", Label: "Activation date", Sort: "activated"},
			{Name: "last_report_date", Label: "Last report date"},
			{Name: "max_managed_computers", Label: "Max managed computers", Num: true},
			{Name: "registered_computers", Label: "Registered computers", Num: true},
			{Name: "notes", Label: "Notes"},
		}},
}

// instKindOf returns the list of an API kind ("farm" when unknown).
func instKindOf(kind string) instKind {
	for _, k := range instKinds {
		if k.Kind == kind {
			return k
		}
	}
	return instKinds[0]
}

// instFilters are the list's filters (INST-2), the API's status values.
var instFilters = []struct{ Value, Label string }{
	{"all", "All"}, {"active", "Active"}, {"expiring", "Expiring soon"}, {"expired", "Expired"}, {"deactivated", "Deactivated"},
}

// instQuery is a list's state in its URL: filter, sort, direction,
// chosen columns, the page's size and its cursor. Only these keys are
// kept.
type instQuery struct {
	Filter, Sort, Dir, Limit, After string
	Columns                         []string // as chosen; empty means all
}

func instQueryOf(q url.Values) instQuery {
	return instQuery{Filter: q.Get("filter"), Sort: q.Get("sort"), Dir: q.Get("dir"), Limit: q.Get("limit"), After: q.Get("after"),
		Columns: q["columns"]}
}

// values encodes the state; what is default is left out.
func (s instQuery) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("filter", s.Filter)
	set("sort", s.Sort)
	set("dir", s.Dir)
	set("limit", s.Limit)
	set("after", s.After)
	for _, c := range s.Columns {
		q.Add("columns", c)
	}
	return q
}

// apiSort is the API's sort of the state: "name", "-activated" …
func (s instQuery) apiSort() string {
	if s.Sort == "" && s.Dir == "" {
		return ""
	}
	sort := s.Sort
	if sort == "" {
		sort = "activated"
	}
	if s.Dir == "desc" {
		return "-" + sort
	}
	return sort
}

// filter is the query's filter of the state: account acc's
// installations of kind k as of now (the page size is s.Limit).
func (s instQuery) filter(acc string, k instKind, now time.Time) queries.InstallationsFilter {
	return queries.InstallationsFilter{AccountID: acc, Kind: k.Kind, Status: s.Filter, Sort: s.apiSort(), After: s.After, Now: now}
}

// apiQuery is the API's query of the state (status, sort, cursor).
func (s instQuery) apiQuery() url.Values {
	q := url.Values{}
	if s.Filter != "" {
		q.Set("status", s.Filter)
	}
	if sort := s.apiSort(); sort != "" {
		q.Set("sort", sort)
	}
	if s.Limit != "" {
		q.Set("limit", s.Limit)
	}
	if s.After != "" {
		q.Set("after", s.After)
	}
	return q
}

// instList is what the list template shows.
type instList struct {
	Kind    instKind
	Account string
	// Path is the list's URL without query; URL with its state.
	Path, URL string
	Query     instQuery
	Filter    string // the filter in effect ("all" by default)
	Columns   []instColumn
	Choices   []instChoice
	Headers   []instHeader
	Rows      []instRow
	// Next is the next page's URL, First the first page's (when paged).
	Next, First string
	// ExportAll downloads every row of the filter with the chosen columns.
	ExportAll string
	// Filtered: a filter other than "all" is in effect.
	Filtered bool
	// Confirm holds the rows a deactivation asks to confirm (ACT-7).
	Confirm *instConfirm
	Filters []instFilterOption
}

type instFilterOption struct {
	Value, Label string
	Selected     bool
}

type instChoice struct {
	instColumn
	Shown bool
}

type instHeader struct {
	instColumn
	// Href sorts by the column (the other direction when sorted by it);
	// AriaSort is "ascending" or "descending" when sorted by it.
	Href, AriaSort string
}

type instRow struct {
	ID, Name string
	Cells    []instCell
}

type instCell struct {
	Text, Href, Badge, Time string
	// Marker is a badge beside the name, whatever columns are shown, and
	// MarkerClass its class: the "deactivation pending" of ACT-7, a proxy
	// server's "over the limit" (USE-6).
	Marker, MarkerClass string
	// Over marks a usage above the quota: "3 over" (USE-3, USE-6).
	Over string
	Num  bool
}

type instConfirm struct {
	// What is how many of what: "2 farms".
	What  string
	IDs   []string
	Names []string
	// Return is where the dialog's Cancel and the success go.
	Return string
}

// instListPage is the farms or proxy servers list of an account.
func (p *Portal) instListPage(k instKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, k.Plural, k.Nav)
		if v == nil {
			return
		}
		list, err := p.instLoadList(r, v, v.AccountID, k, instQueryOf(r.URL.Query()))
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		v.Page = &instPage{List: list}
		p.render(w, r, "installations-list.html", v)
	}
}

// instPage is the installations list page's data: the list, and the
// dialog open over it ("confirm" or "details") with its details.
type instPage struct {
	List    *instList
	Dialog  string
	Details *instDetails
}

// instLoadList reads a page of the list and prepares it.
func (p *Portal) instLoadList(r *http.Request, v *View, acc string, k instKind, q instQuery) (*instList, error) {
	path := "/accounts/" + url.PathEscape(acc) + "/" + k.Path
	page, err := p.cfg.Queries.Installations(r.Context(), v.viewer, q.filter(acc, k, p.cfg.Now()), q.Limit)
	if err != nil {
		return nil, err
	}
	l := &instList{Kind: k, Account: acc, Path: path, Query: q, Filter: q.Filter}
	if l.Filter == "" {
		l.Filter = "all"
	}
	l.Filtered = l.Filter != "all"
	for _, f := range instFilters {
		l.Filters = append(l.Filters, instFilterOption{Value: f.Value, Label: f.Label, Selected: f.Value == l.Filter})
	}
	l.URL = instURL(path, q.values())
	// The columns shown: the chosen ones in the list's order; none (or
	// none known) means all.
	for _, c := range k.Columns {
		if slices.Contains(q.Columns, c.Name) {
			l.Columns = append(l.Columns, c)
		}
	}
	if len(l.Columns) == 0 {
		l.Columns = k.Columns
		l.Query.Columns = nil
	}
	for _, c := range k.Columns {
		l.Choices = append(l.Choices, instChoice{instColumn: c, Shown: slices.ContainsFunc(l.Columns, func(s instColumn) bool { return s.Name == c.Name })})
	}
	sort := q.apiSort()
	if sort == "" {
		sort = "-activated"
	}
	for _, c := range l.Columns {
		h := instHeader{instColumn: c}
		if c.Sort != "" {
			next := instQuery{Filter: q.Filter, Sort: c.Sort, Dir: "asc", Limit: q.Limit, Columns: l.Query.Columns}
			switch sort {
			case c.Sort:
				h.AriaSort, next.Dir = "ascending", "desc"
			case "-" + c.Sort:
				h.AriaSort = "descending"
			default:
				if c.Sort == "activated" {
					next.Dir = "desc" // newest first is what one wants first
				}
			}
			h.Href = instURL(path, next.values())
		}
		l.Headers = append(l.Headers, h)
	}
	linkCol := k.NameCol
	if !slices.ContainsFunc(l.Columns, func(c instColumn) bool { return c.Name == k.NameCol }) {
		linkCol = l.Columns[0].Name
	}
	for i := range page.Installations {
		l.Rows = append(l.Rows, instRowOf(&page.Installations[i], l.Columns, linkCol))
	}
	if page.Next != "" {
		next := l.Query
		next.After = page.Next
		l.Next = instURL(path, next.values())
	}
	if q.After != "" {
		first := l.Query
		first.After = ""
		l.First = instURL(path, first.values())
	}
	l.ExportAll = instExportURL(acc, k, l.Query, nil)
	return l, nil
}

// instURL is path with query q.
func instURL(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// instExportURL is the API's CSV export of the list's filter, sort and
// chosen columns, restricted to ids when some are selected (INST-3).
func instExportURL(acc string, k instKind, q instQuery, ids []string) string {
	aq := q.apiQuery()
	aq.Del("after")
	aq.Del("limit")
	if len(q.Columns) > 0 {
		aq.Set("columns", strings.Join(q.Columns, ","))
	}
	if len(ids) > 0 {
		aq.Set("ids", strings.Join(ids, ","))
	}
	return instURL("/v1/accounts/"+url.PathEscape(acc)+"/"+k.Path+"/export", aq)
}

// instName is what an installation is called (its farm's or server's
// name, or else its server).
func instName(i *queries.InstallationSummary) string { return i.DisplayName() }

// standingBadge is a standing's badge class and words (USE-3..6,
// ACT-7): a farm in its grace is never a green "active".
func standingBadge(st queries.Standing) (class, text string) {
	switch st {
	case queries.StandingPending:
		// ACT-7: listed as active until it learns of it, marked.
		return "pending", "active, deactivation pending"
	case queries.StandingSuspended:
		return "suspended", "suspended for overuse"
	case queries.StandingGrace:
		return "grace", "in overuse grace"
	case queries.StandingOveruse:
		return "overuse", "over quota, suspension due"
	case queries.StandingOverLimit:
		return "overuse", "over the limit"
	}
	return string(st), string(st)
}

// instStanding is an installation's badge class and words; a grace says
// when it ends.
func instStanding(i *queries.InstallationSummary) (class, text string) {
	if i.Standing == queries.StandingGrace {
		return "grace", "in grace until " + formatTime(i.GraceEnds, "2 Jan 15:04 MST")
	}
	return standingBadge(i.Standing)
}

// instOver is "3 over" while the usage exceeds the quota, else "".
func instOver(i *queries.InstallationSummary) string {
	if i.Over == 0 {
		return ""
	}
	return strconv.Itoa(i.Over) + " over"
}

// instKeyHint shows a key by its last group (KEY-9), a trial as such.
func instKeyHint(i *queries.InstallationSummary) string {
	if i.KeyHint != "" {
		return "…" + i.KeyHint
	}
	if i.Trial {
		return "trial"
	}
	return ""
}

func instRowOf(i *queries.InstallationSummary, cols []instColumn, linkCol string) instRow {
	id := i.InstallationID
	row := instRow{ID: id, Name: instName(i)}
	for _, c := range cols {
		var cell instCell
		switch c.Name {
		case "activation_key", "license_key":
			cell.Text = instKeyHint(i)
		case "farm_name", "server_name":
			cell.Text = row.Name
			switch i.Standing {
			case queries.StandingPending:
				cell.Marker, cell.MarkerClass = "deactivation pending", "pending"
			case queries.StandingOverLimit:
				// A proxy server's list has no status column (INST-1).
				cell.Marker, cell.MarkerClass = "over the limit", "overuse"
			}
		case "status":
			cell.Badge, cell.Text = instStanding(i)
		case "server_id":
			cell.Text = i.ServerID
		case "app_version":
			cell.Text = i.AppVersion
		case "site_code":
			cell.Text = i.SiteCode
		case "site_description":
			cell.Text = i.SiteDescription
		case "offline_use":
			cell.Text = "no"
			if i.OfflineUse {
				cell.Text = "yes"
			}
		case "activation_date":
			cell.Text, cell.Time = formatTime(i.ActivatedAt, "2 Jan 2006"), formatTime(i.ActivatedAt, time.RFC3339)
		case "latest_report_date", "last_report_date":
			cell.Text, cell.Time = formatTime(i.LastReportAt, "2 Jan 2006"), formatTime(i.LastReportAt, time.RFC3339)
			if cell.Text == "" {
				cell.Text, cell.Time = "never", ""
			}
		case "peak_usage":
			cell.Text = strconv.Itoa(i.PeakUsage)
		case "quota", "max_managed_computers":
			cell.Text = strconv.Itoa(i.Quota)
		case "used", "registered_computers":
			cell.Text, cell.Over = strconv.Itoa(i.CurrentUsage), instOver(i)
		case "notes":
			cell.Text = instShorten(i.Notes, 80)
		}
		cell.Num = c.Num
		if c.Name == linkCol {
			cell.Href = "/installations/" + url.PathEscape(id)
			if cell.Text == "" {
				cell.Text = row.Name
			}
			cell.Badge = "" // a link, not a badge
		}
		row.Cells = append(row.Cells, cell)
	}
	return row
}

// instShorten cuts s to n characters.
func instShorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// instReturn checks where a form returns to: the list (with its state)
// or an installation's page; anything else becomes the list.
func instReturn(raw, listPath string) (target string, q instQuery) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return listPath, instQuery{}
	}
	switch {
	case u.Path == listPath:
		q = instQueryOf(u.Query())
		return instURL(listPath, q.values()), q
	case strings.HasPrefix(u.Path, "/installations/") && !strings.Contains(strings.TrimPrefix(u.Path, "/installations/"), "/"):
		return u.Path, instQuery{}
	}
	return listPath, instQuery{}
}

// instSelection is the list's selection form: export the selected rows
// as CSV, or deactivate them after a confirmation (INST-3, ACT-7).
func (p *Portal) instSelection(k instKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.accountPage(w, r, k.Plural, k.Nav)
		if v == nil {
			return
		}
		path := "/accounts/" + url.PathEscape(v.AccountID) + "/" + k.Path
		back, q := instReturn(v.Form.Get("return"), path)
		ids := v.Form["installation"]
		if len(ids) == 0 {
			// Both actions act on the selected rows only: an export of
			// nothing is not an export of everything.
			instNothingSelected(v, k)
			p.instRenderList(w, r, v, k, q, nil)
			return
		}
		if v.Form.Get("action") == "export" {
			// The browser downloads the export from the API itself: its
			// session authorizes it, and the rows stream.
			http.Redirect(w, r, instExportURL(v.AccountID, k, q, ids), http.StatusSeeOther)
			return
		}
		if v.Form.Get("confirm") == "yes" {
			res, err := p.cfg.Commands.Installations.RequestDeactivation(r.Context(), v.meta(r), v.AccountID, ids)
			if p.done(w, v, res, err) {
				p.redirect(w, r, back, fmt.Sprintf("%s deactivated: the keys are free at once and may activate other installations; each is told the next time it contacts the ledger (ACT-7).",
					instCount(len(ids), k)))
				return
			}
			// The problem, shown over the list as it was.
			p.instRenderList(w, r, v, k, q, nil)
			return
		}
		// Ask first: name the selected rows (those of this account).
		page, err := p.cfg.Queries.Installations(r.Context(), v.viewer, queries.InstallationsFilter{AccountID: v.AccountID, Kind: k.Kind,
			IDs: ids, Now: p.cfg.Now()}, "500")
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		c := &instConfirm{What: instCount(len(ids), k), IDs: ids, Return: back}
		for i := range page.Installations {
			c.Names = append(c.Names, instName(&page.Installations[i]))
		}
		v.Title = "Deactivate " + k.Plural
		p.instRenderList(w, r, v, k, q, c)
	}
}

// instNothingSelected records the problem of an action on no row.
func instNothingSelected(v *View, k instKind) {
	v.Problem = &httpapi.Problem{Status: http.StatusBadRequest, Title: "Nothing selected",
		Detail: "tick the " + strings.ToLower(k.Plural) + " to export or deactivate first, or export all shown by the filter"}
	v.Status = http.StatusBadRequest
}

// instCount is "1 farm", "2 farms" …
func instCount(n int, k instKind) string {
	if n == 1 {
		return "1 " + k.Singular
	}
	return strconv.Itoa(n) + " " + strings.ToLower(k.Plural)
}

// instRenderList renders the list with state q, with the problem v holds
// and the confirmation c, if any.
func (p *Portal) instRenderList(w http.ResponseWriter, r *http.Request, v *View, k instKind, q instQuery, c *instConfirm) {
	list, err := p.instLoadList(r, v, v.AccountID, k, q)
	if err != nil {
		if v.Problem != nil { // the action's problem matters more than the list's
			p.fail(w, r, v, v.Problem)
			return
		}
		p.fail(w, r, v, err)
		return
	}
	list.Confirm = c
	page := &instPage{List: list}
	if c != nil {
		page.Dialog = "confirm"
	}
	v.Page = page
	p.render(w, r, "installations-list.html", v)
}

// instDetailsPage is one installation (INST-4): a dialog over its list.
func (p *Portal) instDetailsPage(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Installation", "")
	if v == nil {
		return
	}
	p.instRenderDetails(w, r, v)
}

// instRenderDetails reads the installation and renders its dialog, with
// the problem of a failed form, if any.
func (p *Portal) instRenderDetails(w http.ResponseWriter, r *http.Request, v *View) {
	id := chi.URLParam(r, "installationID")
	problem, status := v.Problem, v.Status
	d, err := p.cfg.Queries.InstallationDetails(r.Context(), v.viewer, id, p.cfg.Now())
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	v.Problem, v.Status = problem, status
	k := instKindOf(d.Kind)
	v.Nav = k.Nav
	v.setAccount(d.AccountID)
	name := instName(&d.InstallationSummary)
	v.Title = strings.ToUpper(k.Singular[:1]) + k.Singular[1:] + " " + name
	details := instDetailsOf(k, d, p.cfg.Now())
	page := &instPage{Details: &details, Dialog: "details"}
	// The list behind the dialog; without it the dialog stands alone.
	if v.AccountID != "" {
		if list, err := p.instLoadList(r, v, v.AccountID, k, instQuery{}); err == nil {
			page.List = list
		}
	}
	v.Page = page
	p.render(w, r, "installations-list.html", v)
}

// instDetails is what the details dialog shows.
type instDetails struct {
	ID, Name, AccountID, SubscriptionID string
	Kind                                instKind
	// Detail is the installation as the query answered it.
	Detail                  queries.InstallationDetail
	StatusClass, StatusText string
	Key                     string
	Used, Quota, Peak       string
	// Over is "3 over" while the usage exceeds the quota (USE-3, USE-6).
	Over  string
	Notes string
	// Grace says where a farm's overuse grace stands, once one began
	// (USE-3..5); "" if none did.
	Grace string
	Chart *instChart
	// Return is the details page, where its forms come back.
	Return   string
	Inactive bool // deactivated or pending already: no deactivate button
}

func instDetailsOf(k instKind, d queries.InstallationDetail, now time.Time) instDetails {
	id := d.InstallationID
	x := instDetails{ID: id, Name: instName(&d.InstallationSummary), AccountID: d.AccountID, SubscriptionID: d.SubscriptionID,
		Kind: k, Detail: d, Key: instKeyHint(&d.InstallationSummary), Used: strconv.Itoa(d.CurrentUsage), Quota: strconv.Itoa(d.Quota),
		Peak: strconv.Itoa(d.PeakUsage), Notes: d.Notes, Return: "/installations/" + url.PathEscape(id)}
	x.StatusClass, x.StatusText = instStanding(&d.InstallationSummary)
	x.Inactive = d.Status == "deactivated" || d.Status == "deactivation_pending"
	x.Over = instOver(&d.InstallationSummary)
	x.Grace = instGrace(&d.InstallationSummary, now)
	x.Chart = instChartOf(k, d.Usage, d.Quota)
	return x
}

// instGrace says where a farm's overuse grace stands at now (USE-3..5):
// running until its end, ended on its day, or available again since
// seats were bought; "" if none began.
func instGrace(i *queries.InstallationSummary, now time.Time) string {
	ends := formatTime(i.GraceEnds, "2 Jan 2006 15:04 MST")
	switch {
	case i.GraceEnds == nil:
		return ""
	case i.Standing == queries.StandingGrace:
		return "The 7-day grace that began when usage first exceeded the quota ends on " + ends +
			"; until then more users than the quota may connect. Buy seats or reduce usage before it ends."
	case i.GraceUsed() && !now.Before(*i.GraceEnds):
		return "The 7-day grace ended on " + ends + ": usage over the quota now suspends the farm within 1–2 hours, until more seats are bought."
	}
	return "Seats were bought since the last grace began (it ran until " + ends + "), so the next excess over the quota starts a new 7-day grace."
}

// instNotes saves an installation's notes (INST-4).
func (p *Portal) instNotes(w http.ResponseWriter, r *http.Request) {
	v := p.page(w, r, "Installation", "")
	if v == nil {
		return
	}
	id := chi.URLParam(r, "installationID")
	res, err := p.cfg.Commands.Installations.SetInstallationNotes(r.Context(), v.meta(r), id, v.Form.Get("notes"))
	if !p.done(w, v, res, err) {
		p.instRenderDetails(w, r, v)
		return
	}
	p.redirect(w, r, "/installations/"+url.PathEscape(id), "The notes are saved.")
}

// instChart is the usage history drawn as bars (USE-2, INST-4): the peak
// of each day, the quota in force each day as a dashed step line, the days
// over their quota marked.
type instChart struct {
	Width, Height         int
	Left, Right, Top, Bot float64
	Bars                  []instBar
	Quota                 int    // the last day's quota, labelled at the line's end
	QuotaPath             string // the step line: each day's quota across its slot
	QuotaLabelY           float64
	YTicks, XTicks        []instTick
	Title, Desc           string
	// Summary says how many days were over their quota, in words.
	Summary    string
	Unit       string
	Days, Over int
}

type instBar struct {
	X, Y, W, H   float64
	Day, Label   string
	Peak, Quota  int
	Over         bool
	LastReportAt string
}

type instTick struct {
	X, Y  float64
	Label string
}

// instChartOf draws the days of the usage history against the quota in
// force each day; a day recorded before the ledger kept it is drawn
// against current, today's quota. Nil when nothing was reported yet.
func instChartOf(k instKind, days []queries.UsageDay, current int) *instChart {
	if len(days) == 0 {
		return nil
	}
	c := &instChart{Width: 640, Height: 240, Left: 44, Right: 630, Top: 14, Bot: 206, Unit: k.Unit, Days: len(days)}
	peaks, quotas := make([]int, len(days)), make([]int, len(days))
	top := 1
	for i, d := range days {
		peaks[i] = d.Peak
		quotas[i] = current
		if d.Quota != nil {
			quotas[i] = *d.Quota
		}
		top = max(top, peaks[i], quotas[i])
	}
	top = instNiceCeil(top)
	round := func(f float64) float64 { return math.Round(f*10) / 10 }
	y := func(n int) float64 { return round(c.Bot - float64(n)/float64(top)*(c.Bot-c.Top)) }
	slot := (c.Right - c.Left) / float64(len(days))
	gap := min(slot*0.2, 8)
	// A bar is at most instMaxBar wide, centred in its day's slot: a
	// history of one or two days is not drawn as wide blocks.
	gap = max(gap, slot-instMaxBar)
	var path strings.Builder
	for i, d := range days {
		n, q := peaks[i], quotas[i]
		b := instBar{Day: d.Day, Peak: n, Quota: q, Over: n > q, LastReportAt: formatTime(d.LastReportAt, "2 Jan 2006 15:04 MST"),
			X: round(c.Left + float64(i)*slot + gap/2), W: round(max(slot-gap, 1)), Y: y(n)}
		if i == 0 {
			fmt.Fprintf(&path, "M%g %g", c.Left, y(q))
		} else {
			fmt.Fprintf(&path, " V%g", y(q))
		}
		fmt.Fprintf(&path, " H%g", round(c.Left+float64(i+1)*slot))
		b.H = round(c.Bot - b.Y)
		b.Label = b.Day
		if t, err := time.Parse(time.DateOnly, b.Day); err == nil {
			b.Label = t.Format("2 Jan 2006")
		}
		if b.Over {
			c.Over++
		}
		c.Bars = append(c.Bars, b)
	}
	c.Quota, c.QuotaPath = quotas[len(quotas)-1], path.String()
	c.QuotaLabelY = max(y(c.Quota)-4, c.Top-2)
	for _, n := range []int{0, top / 2, top} {
		c.YTicks = append(c.YTicks, instTick{X: c.Left - 6, Y: y(n) + 4, Label: strconv.Itoa(n)})
	}
	// At most 6 day labels, the first and the last among them.
	step := max(1, int(math.Ceil(float64(len(days))/6)))
	for i := 0; i < len(days); i += step {
		c.XTicks = append(c.XTicks, instTick{X: round(c.Left + (float64(i)+0.5)*slot), Y: c.Bot + 18, Label: instShortDay(c.Bars[i].Day)})
	}
	if last := len(days) - 1; last%step != 0 {
		c.XTicks = append(c.XTicks, instTick{X: round(c.Left + (float64(last)+0.5)*slot), Y: c.Bot + 18, Label: instShortDay(c.Bars[last].Day)})
	}
	c.Title = "Peak usage per day"
	c.Summary = instOverDays(c.Over, len(days))
	if len(days) == 1 {
		c.Desc = fmt.Sprintf("A bar: the highest number of %s used on %s. Dashed line: the quota in force that day, %d %s. %s",
			k.Unit, c.Bars[0].Label, c.Quota, k.Unit, c.Summary)
	} else {
		c.Desc = fmt.Sprintf("Bars: the highest number of %s used on each of %d days from %s to %s. Dashed line: the quota in force each day, %d %s on the last. %s",
			k.Unit, len(days), c.Bars[0].Label, c.Bars[len(days)-1].Label, c.Quota, k.Unit, c.Summary)
	}
	return c
}

// instMaxBar is the widest a day's bar is drawn.
const instMaxBar = 48

// instOverDays says how many of n days were over their quota, in words.
func instOverDays(over, n int) string {
	switch {
	case n == 1 && over == 1:
		return "The day was over its quota."
	case n == 1:
		return "The day was within its quota."
	case n == 2 && over == 0:
		return "Neither day was over its quota."
	case n == 2 && over == 2:
		return "Both days were over their quota."
	case over == 0:
		return fmt.Sprintf("None of the %d days was over its quota.", n)
	case over == n:
		return fmt.Sprintf("All %d days were over their quota.", n)
	case over == 1:
		return fmt.Sprintf("1 of the %d days was over its quota.", n)
	}
	return fmt.Sprintf("%d of the %d days were over their quota.", over, n)
}

// instNiceCeil rounds n up to a round number for the chart's axis.
func instNiceCeil(n int) int {
	if n <= 10 {
		return max(n, 1)
	}
	p := int(math.Pow(10, math.Floor(math.Log10(float64(n)))))
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= n {
			return m * p
		}
	}
	return n
}

func instShortDay(day string) string {
	if t, err := time.Parse(time.DateOnly, day); err == nil {
		return t.Format("2 Jan")
	}
	return day
}

// instOfflinePage explains offline activation and validation and takes a
// request file (ACT-2, ACT-5, ACT-6).
func (p *Portal) instOfflinePage(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Offline activation and validation", "proxy-servers")
	if v == nil {
		return
	}
	p.render(w, r, "installations-offline.html", v)
}

// instOfflineUpload sends the request file to the API as the body it
// expects and answers its signed file as a download; a refusal (offline
// not enabled, replayed, tampered …) is shown on the page with its status.
func (p *Portal) instOfflineUpload(w http.ResponseWriter, r *http.Request) {
	v := p.accountPage(w, r, "Offline activation and validation", "proxy-servers")
	if v == nil {
		return
	}
	var file io.ReadCloser
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 {
			f, err := fhs[0].Open()
			if err == nil {
				file = f
				defer f.Close()
			}
		}
	}
	if file == nil {
		v.Problem = &httpapi.Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: "no request file was sent",
			InvalidParams: []httpapi.InvalidParam{{Name: "file", Reason: "choose the request file your installation saved"}}}
		v.Status = http.StatusBadRequest
		p.render(w, r, "installations-offline.html", v)
		return
	}
	raw, err := httpapi.ReadOfflineRequest(file)
	var ans commands.OfflineAnswer
	if err == nil {
		ans, err = p.cfg.Commands.Offline.AnswerOfflineRequest(r.Context(), v.meta(r), v.AccountID, raw)
	}
	if !p.done(w, v, event.AppendResult{Position: ans.Position}, err) {
		p.render(w, r, "installations-offline.html", v)
		return
	}
	httpapi.ServeOfflineAnswer(w, ans)
}
