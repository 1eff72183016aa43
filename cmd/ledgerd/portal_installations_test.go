package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/offline"
	"seatledger/infra/sqldb/sqldbtest"
)

// The portal's installations pages (issue 8): the farms and proxy servers
// lists, an installation's details, the actions on selected rows and the
// offline activation page, through a browser without JavaScript.

// instSignIn signs ada (of installationsAccount) in through the portal's
// sign-in form.
func instSignIn(t *testing.T, m *Main) *page {
	t.Helper()
	p := newPage(t, m)
	p.Get("/signin").Want(200, "Sign in")
	p.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}})
	if strings.HasPrefix(p.URL, "/signin") {
		t.Fatalf("ada could not sign in:\n%s", p.HTML)
	}
	return p
}

// instFarm activates a farm with key through the installation API.
func instFarm(t *testing.T, m *Main, key, serverID, name string) farmclient.Activation {
	t.Helper()
	farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
	act, err := farm.Activate(context.Background(), key, farmclient.Identity{Kind: farmclient.KindFarm, ServerID: serverID, FarmName: name, AppVersion: "19.2"})
	if err != nil {
		t.Fatal(err)
	}
	return act
}

// instReport reports n seats of the farm with credential.
func instReport(t *testing.T, m *Main, credential string, n int) farmclient.ReportAnswer {
	t.Helper()
	farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
	r, err := farm.Report(context.Background(), credential, farmclient.SeatsReport(n, time.Time{}), "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// instWaitFor opens path until it shows every text: the installations
// reported elsewhere reach the portal's read model shortly after.
func instWaitFor(t *testing.T, p *page, path string, texts ...string) *page {
	t.Helper()
	eventually(t, path+" showing "+strings.Join(texts, ", "), func() bool {
		p.Get(path)
		for _, s := range texts {
			if !strings.Contains(p.HTML, s) {
				return false
			}
		}
		return p.Status == 200
	})
	return p
}

// instAnswer is a response the page client does not keep: a download.
type instAnswer struct {
	status int
	header http.Header
	body   string
}

func instDo(p *page, req *http.Request) instAnswer {
	p.t.Helper()
	resp, err := p.http.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		p.t.Errorf("%s %s = %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return instAnswer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// instPostForm sends a form with the page's CSRF token and returns the
// answer, after redirects, with its headers.
func instPostForm(p *page, path string, form url.Values) instAnswer {
	p.t.Helper()
	form.Set("csrf", p.csrf)
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return instDo(p, req)
}

// instUpload sends the offline page's multipart form with file (none if
// nil).
func instUpload(p *page, path string, file []byte) instAnswer {
	p.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", p.csrf)
	if file != nil {
		part, _ := mw.CreateFormFile("file", "request.txt")
		_, _ = part.Write(file)
	}
	_ = mw.Close()
	req, err := http.NewRequestWithContext(p.t.Context(), http.MethodPost, p.base+path, &body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return instDo(p, req)
}

var instRowBox = regexp.MustCompile(`name="installation" value="([^"]+)"`)

// instRows returns the IDs of the list's rows, in order.
func instRows(p *page) []string {
	var ids []string
	for _, m := range instRowBox.FindAllStringSubmatch(p.HTML, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// instBefore fails unless a shows before b on the page.
func instBefore(t *testing.T, p *page, a, b string) {
	t.Helper()
	i, j := strings.Index(p.HTML, a), strings.Index(p.HTML, b)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("%s: %q does not show before %q:\n%s", p.URL, a, b, p.HTML)
	}
}

// The farms list shows INST-1's columns, filters by INST-2's statuses,
// sorts by name and activation date, lets the person choose the columns,
// and exports the selected rows (or all of the filter) as CSV with the
// chosen columns (INST-3).
func TestPortalInstallations_farms_list_filter_sort_columns_export_INST1_INST2_INST3(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office, ada, key, acc, sub := installationsAccount(t, m, "ras", 10)
	paris := ada.must(201, "POST", "/v1/subscriptions/"+sub+"/keys", map[string]any{"name": "Paris", "quota": 4}).str("key")
	berlin := instFarm(t, m, key, "srv-berlin", "Berlin")
	advance(office, time.Hour) // Amsterdam is activated an hour later
	amsterdam := instFarm(t, m, paris, "srv-ams", "Amsterdam")
	instReport(t, m, berlin.Credential, 7)
	list := "/accounts/" + acc + "/farms"

	p := instSignIn(t, m)
	instWaitFor(t, p, list, "Berlin", "Amsterdam", ">7<")
	p.Want(200, `href="`+list+`" aria-current="page"`, // the header's current item
		// INST-1: every column of a farm.
		"Activation key", "Farm name", "Status", "Server ID", "App version", "Activation date", "Latest report date", "Peak usage", "Notes",
		"srv-berlin", "srv-ams", "19.2", `<span class="badge active">active</span>`,
		`href="/installations/`+berlin.InstallationID+`"`, // the name opens the details
		`data-select-all="installation"`, `name="action" value="deactivate"`, `name="action" value="export"`,
		`<form class="filters" method="get" action="`+list+`" data-autosubmit>`, `hx-boost="false"`)
	if strings.Contains(p.HTML, "Site code") {
		t.Error("INST-1: the farms list shows a proxy server's column")
	}
	// Newest activation first by default; by name either way.
	if ids := instRows(p); len(ids) != 2 || ids[0] != amsterdam.InstallationID {
		t.Fatalf("the default order is not the newest activation first: %v", ids)
	}
	p.Get(list+"?sort=name&dir=asc").Want(200, `aria-sort="ascending"`)
	if ids := instRows(p); len(ids) != 2 || ids[0] != amsterdam.InstallationID {
		t.Fatalf("sorted by name: %v", ids)
	}
	p.Get(list+"?sort=name&dir=desc").Want(200, `aria-sort="descending"`)
	if ids := instRows(p); len(ids) != 2 || ids[0] != berlin.InstallationID {
		t.Fatalf("sorted by name, descending: %v", ids)
	}
	// Cursor pages, a row at a time.
	p.Get(list+"?sort=name&dir=asc&limit=1").Want(200, "Amsterdam", `rel="next"`)
	if ids := instRows(p); len(ids) != 1 || ids[0] != amsterdam.InstallationID {
		t.Fatalf("the first page: %v", ids)
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.HTML)
	p.Get(html.UnescapeString(next[1])).Want(200, "Berlin", ">First page</a>")
	if ids := instRows(p); len(ids) != 1 || ids[0] != berlin.InstallationID || strings.Contains(p.HTML, `rel="next"`) {
		t.Fatalf("the second and last page: %v\n%s", ids, p.HTML)
	}
	// The header links sort the other way round, keeping the filter.
	p.Get(list+"?filter=active&sort=name&dir=asc").Want(200, `href="`+list+`?dir=desc&amp;filter=active&amp;sort=name"`)

	// INST-2: the filters.
	p.Get(list+"?filter=active").Want(200, `<option value="active" selected>`)
	if len(instRows(p)) != 2 {
		t.Fatalf("active farms: %v", instRows(p))
	}
	p.Get(list+"?filter=deactivated").Want(200, "No farm matches this filter.", `href="`+list+`">Show all Farms`)
	p.Get(list+"?filter=expired").Want(200, "No farm matches this filter.")
	p.Get(list+"?filter=someday").Want(400, "someday") // the API's problem, not a 500

	// The column chooser: the chosen columns only, in the list's order.
	p.Get(list+"?columns=peak_usage&columns=farm_name").Want(200, "Farm name", "Peak usage", `value="farm_name" checked`,
		`<input type="hidden" name="columns" value="farm_name">`)
	if strings.Contains(p.HTML, "srv-berlin") || strings.Contains(p.HTML, `value="server_id" checked`) || strings.Contains(p.HTML, ">Server ID</th>") {
		t.Fatalf("a column that was not chosen is shown:\n%s", p.HTML)
	}
	instBefore(t, p, ">Farm name", ">Peak usage")

	// INST-3: the selected rows with the chosen columns, as CSV.
	ret := list + "?columns=farm_name&columns=server_id&columns=peak_usage"
	p.Get(ret)
	csv := instPostForm(p, list+"/selection", url.Values{"action": {"export"}, "installation": {berlin.InstallationID}, "return": {ret}})
	if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csv.header.Get("Content-Disposition"), "attachment") ||
		csv.body != "Farm name,Server ID,Peak usage\nBerlin,srv-berlin,7\n" {
		t.Fatalf("INST-3: the export of the selected farm: %d %v\n%s", csv.status, csv.header, csv.body)
	}
	// Without a selection "Export selected" exports nothing, as
	// "Deactivate selected…" deactivates nothing: both say to tick rows
	// first (issue 20), and the buttons wait for a ticked row.
	for _, action := range []string{"export", "deactivate"} {
		none := instPostForm(p, list+"/selection", url.Values{"action": {action}, "return": {ret}})
		if none.status != 400 || !strings.Contains(none.body, "Nothing selected") || !strings.Contains(none.body, "tick the farms") ||
			strings.Contains(none.body, "srv-ams,0") {
			t.Fatalf("INST-3: %s without a selection: %d\n%s", action, none.status, none.body)
		}
	}
	p.Want(200, `value="export" class="secondary" data-needs-selection="installation"`, `value="deactivate" class="danger" data-needs-selection="installation"`)
	// Every row of the filter: the page's own link.
	link := regexp.MustCompile(`href="(/v1/accounts/[^"]+/farms/export[^"]*)" hx-boost="false"`).FindStringSubmatch(p.HTML)
	if link == nil {
		t.Fatalf("no export link:\n%s", p.HTML)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.base+html.UnescapeString(link[1]), nil)
	if got := instDo(p, req); got.status != 200 || !strings.HasPrefix(got.body, "Farm name,Server ID,Peak usage\n") || strings.Count(got.body, "\n") != 3 {
		t.Fatalf("INST-3: the export link %s: %d\n%s", link[1], got.status, got.body)
	}

	// Another account's member sees nothing of it.
	eve := newClient(t, m)
	eve.must(201, "POST", "/v1/signup", signUpBody("Eve", "eve@example.com"))
	pe := newPage(t, m)
	pe.Post("/signin", url.Values{"email": {"eve@example.com"}, "password": {pw}})
	pe.Get(list).Want(403)
	pe.Get("/installations/" + berlin.InstallationID)
	if pe.Status != 403 && pe.Status != 404 || strings.Contains(pe.HTML, "srv-berlin") {
		t.Fatalf("a stranger opened the farm: %d\n%s", pe.Status, pe.HTML)
	}
}

var instBar = regexp.MustCompile(`<rect class="bar( over)?"`)

// An installation's details (INST-4): its facts, its usage history as a
// chart of the peak per day against the quota in force that day, with
// the days over it marked (USE-2, USE-3), with a table of the same data, and its notes,
// which an admin edits; notes that are too long are refused next to the
// field and change nothing.
func TestPortalInstallations_details_chart_and_notes_INST4_USE2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office, _, key, acc, sub := installationsAccount(t, m, "ras", 10)
	berlin := instFarm(t, m, key, "srv-berlin", "Berlin")
	// Four days: 3 seats, then 12 of 10 (over the quota: the grace
	// starts, USE-3), then 8, then 12 again after 5 seats were bought:
	// within the new quota of 15, while the second day stays over its 10.
	instReport(t, m, berlin.Credential, 3)
	advance(office, 24*time.Hour)
	if r := instReport(t, m, berlin.Credential, 12); !r.OverQuota || r.GraceEnds == nil {
		t.Fatalf("12 of 10: %+v", r)
	}
	advance(office, 24*time.Hour)
	instReport(t, m, berlin.Credential, 8)
	advance(office, 24*time.Hour)
	office.must(200, "POST", "/v1/orders", map[string]any{"kind": "add_seats", "order_id": "inst-2", "subscription_id": sub, "seats": 5})
	if r := instReport(t, m, berlin.Credential, 12); r.OverQuota {
		t.Fatalf("12 of 15: %+v", r)
	}
	details := "/installations/" + berlin.InstallationID

	p := instSignIn(t, m)
	instWaitFor(t, p, details, "12 of 15")
	p.Want(200, "<dialog open", `aria-labelledby="inst-title"`, "Farm Berlin", "srv-berlin", "19.2", "…", // the key's hint only
		`<span class="badge active">active</span>`, "Overuse grace", "Peak usage</dt><dd>12 seats",
		`<a href="/accounts/`+acc+`/farms">Close</a>`, `<h2>Farms</h2>`, // the list behind the dialog
		`href="/accounts/`+acc+`/farms" aria-current="page"`,
		// The chart, drawn on the server, readable without it.
		`<svg class="chart"`, `role="img"`, `<title id="inst-chart-title">Peak usage per day</title>`, "<desc id=\"inst-chart-desc\">",
		`<path class="quota" d="M44 `, "quota 15", "peak 12 of 10, over the quota", "peak 12 of 15</title>",
		`<th scope="col" class="num">Quota</th>`, "Usage history as a table", `<th scope="col" class="num">Peak seats</th>`,
		"over the quota", `/history/installations/`+berlin.InstallationID)
	bars := instBar.FindAllStringSubmatch(p.HTML, -1)
	over := 0
	for _, b := range bars {
		if b[1] != "" {
			over++
		}
	}
	if len(bars) != 4 || over != 1 || bars[1][1] == "" {
		t.Fatalf("USE-2: the chart has %d bars, %d over the quota (want 4, the second over):\n%s", len(bars), over, p.HTML)
	}
	if strings.Contains(p.HTML, key) {
		t.Error("KEY-9: the details show the whole key")
	}

	// INST-4: notes.
	p.Post(details+"/notes", url.Values{"notes": {"rack 4, row B"}}).Want(200, "The notes are saved.", ">rack 4, row B</textarea>")
	if p.URL != details {
		t.Fatalf("after saving the notes the browser is at %s", p.URL)
	}
	p.Get("/accounts/"+acc+"/farms").Want(200, "rack 4, row B")
	long := strings.Repeat("n", 4001)
	p.Post(details+"/notes", url.Values{"notes": {long}}).Want(400, `id="e-notes"`, `aria-invalid="true"`, "longer than 4000 characters", ">"+long+"</textarea>")
	p.Get(details).Want(200, ">rack 4, row B</textarea>") // nothing changed

	// An installation that does not exist.
	p.Get("/installations/00000000-0000-4000-8000-000000000000")
	if p.Status != 403 && p.Status != 404 {
		t.Fatalf("an unknown installation: %d", p.Status)
	}
}

// Deactivating selected farms from the portal (ACT-7, INST-3, INST-2):
// the portal asks first, then each one's key is free at once, and the
// farm is listed under active, marked "deactivation pending", until its
// next contact, when it is deactivated. A selection the API refuses
// shows its problem and changes nothing.
func TestPortalInstallations_deactivate_selected_ACT7_INST3(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	_, ada, key, acc, sub := installationsAccount(t, m, "ras", 10)
	paris := ada.must(201, "POST", "/v1/subscriptions/"+sub+"/keys", map[string]any{"name": "Paris", "quota": 4}).str("key")
	berlin := instFarm(t, m, key, "srv-berlin", "Berlin")
	amsterdam := instFarm(t, m, paris, "srv-ams", "Amsterdam")
	list := "/accounts/" + acc + "/farms"
	ret := list + "?dir=asc&sort=name" // as the list writes its state

	p := instSignIn(t, m)
	instWaitFor(t, p, ret, "Berlin", "Amsterdam")

	// Nothing selected: a problem over the list, nothing sent.
	p.Post(list+"/selection", url.Values{"action": {"deactivate"}, "return": {ret}}).Want(400, `class="problem"`, "Nothing selected")
	// An installation that is not the account's: refused, nothing changes.
	p.Post(list+"/selection", url.Values{"action": {"deactivate"}, "confirm": {"yes"}, "return": {ret},
		"installation": {berlin.InstallationID, "00000000-0000-4000-8000-000000000000"}})
	if p.Status != 403 && p.Status != 404 || !strings.Contains(p.HTML, `class="problem"`) {
		t.Fatalf("a foreign installation in the selection: %d\n%s", p.Status, p.HTML)
	}
	p.Get(ret)
	if strings.Contains(p.HTML, `badge pending`) {
		t.Fatal("a refused selection changed something")
	}

	// The confirmation names the selection and changes nothing yet.
	p.Post(list+"/selection", url.Values{"action": {"deactivate"}, "return": {ret}, "installation": {berlin.InstallationID}}).
		Want(200, "<dialog open", "Deactivate 1 farm?", "<li>Berlin</li>", `name="confirm" value="yes"`,
			`<a href="`+html.EscapeString(ret)+`">Cancel</a>`)
	if strings.Contains(p.HTML, `badge pending`) {
		t.Fatal("asking to confirm deactivated the farm")
	}
	p.Post(list+"/selection", url.Values{"action": {"deactivate"}, "confirm": {"yes"}, "return": {ret}, "installation": {berlin.InstallationID}}).
		Want(200, "1 farm deactivated: the keys are free at once")
	if p.URL != ret {
		t.Fatalf("after the deactivation the browser is at %s, not the list it came from", p.URL)
	}
	// The API's answer names no log position to wait for: the list shows
	// the pending deactivation once the read model has it.
	instWaitFor(t, p, ret, `<span class="badge pending">deactivation pending</span>`, `<span class="badge pending">active, deactivation pending</span>`)
	// INST-2: under active, marked; not under deactivated yet.
	instWaitFor(t, p, list+"?filter=active", "Berlin", `<span class="badge pending">deactivation pending</span>`)
	p.Get(list + "?filter=deactivated")
	if strings.Contains(p.HTML, "Berlin") {
		t.Fatal("INST-2, ACT-7: a pending farm is listed as deactivated")
	}
	// INST-5: the dashboard counts both farms, one of them pending.
	instWaitFor(t, p, "/accounts/"+acc, `/farms">2</a> <span class="badge pending">1 deactivation pending</span>`)
	// ACT-7: at its next contact the farm is deactivated.
	farm := &farmclient.Client{BaseURL: "http://" + m.Addr()}
	if _, err := farm.Report(context.Background(), berlin.Credential, farmclient.SeatsReport(1, time.Time{}), ""); !farmclient.IsProblem(err, "deactivated") {
		t.Fatalf("the contact after the portal's deactivation: %v", err)
	}
	instWaitFor(t, p, list+"?filter=deactivated", "Berlin", `<span class="badge deactivated">deactivated</span>`)
	if strings.Contains(p.HTML, "Amsterdam") {
		t.Fatal("INST-2: an active farm is listed as deactivated")
	}

	// From the details: the same confirmation, back to the details.
	details := "/installations/" + amsterdam.InstallationID
	p.Get(details).Want(200, "Deactivate this farm")
	p.Post(list+"/selection", url.Values{"action": {"deactivate"}, "return": {details}, "installation": {amsterdam.InstallationID}}).
		Want(200, "Deactivate 1 farm?", `<a href="`+details+`">Cancel</a>`)
	p.Post(list+"/selection", url.Values{"action": {"deactivate"}, "confirm": {"yes"}, "return": {details}, "installation": {amsterdam.InstallationID}}).
		Want(200, "1 farm deactivated")
	if p.URL != details {
		t.Fatalf("after deactivating from the details the browser is at %s", p.URL)
	}
	instWaitFor(t, p, details, `<dd><span class="badge pending">active, deactivation pending</span>`, "its key is released and may activate another farm")
	if strings.Contains(p.HTML, "Deactivate this farm") {
		t.Fatalf("a pending farm can be deactivated again:\n%s", p.HTML)
	}
}

// Offline activation and validation from the proxy servers page (ACT-2,
// ACT-3): refused with the API's problem until the back office enables
// it, then the uploaded request file is answered with the signed file to
// import, as a download; a replayed or foreign file shows its problem
// next to the file field and changes nothing.
func TestPortalInstallations_offline_activation_ACT2_ACT3(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	office, _, key, acc, _ := installationsAccount(t, m, "ras-mdm", 5)
	state, request, now := offlineZurich(t, m, office, key)
	servers, page := "/accounts/"+acc+"/proxy-servers", "/accounts/"+acc+"/offline"

	p := instSignIn(t, m)
	p.Get(servers).Want(200, "No proxy servers yet", `href="`+page+`"`, `href="`+servers+`" aria-current="page"`)
	p.Get(page).Want(200, "Offline activation and validation", `enctype="multipart/form-data" hx-boost="false"`, `<label for="f-file">Request file`)

	// ACT-3: disabled until the back office enables it.
	got := instUpload(p, page, request)
	if got.status != 403 || !strings.Contains(got.body, "Offline activation not enabled") || !strings.Contains(got.body, `class="problem"`) {
		t.Fatalf("ACT-3: an upload while offline activation is disabled: %d\n%s", got.status, got.body)
	}
	// No file: refused before the API is called.
	if got := instUpload(p, page, nil); got.status != 400 || !strings.Contains(got.body, `id="e-file"`) {
		t.Fatalf("an upload without a file: %d\n%s", got.status, got.body)
	}
	office.must(200, "PUT", "/v1/accounts/"+acc+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})

	// ACT-2: the signed answer, as a download the installation imports.
	got = instUpload(p, page, request)
	if got.status != 200 || !strings.HasPrefix(got.header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(got.header.Get("Content-Type"), "text/plain") || got.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("ACT-2: the answer to the request: %d %v\n%s", got.status, got.header, got.body)
	}
	if kind, err := farmclient.Import(state, []byte(got.body), now()); err != nil || kind != offline.Activation || state.License.Seats != 5 {
		t.Fatalf("ACT-2: importing the answer: %s %v (%+v)", kind, err, state.License)
	}
	// A replayed request and a file that is no request: the API's problem
	// next to the file field, with its status.
	got = instUpload(p, page, request)
	if got.status != 409 || !strings.Contains(got.body, `id="e-file"`) || !strings.Contains(got.body, `aria-invalid="true"`) {
		t.Fatalf("ACT-2: a replayed request: %d\n%s", got.status, got.body)
	}
	got = instUpload(p, page, []byte("-----BEGIN SOMETHING ELSE-----\nhello\n-----END SOMETHING ELSE-----\n"))
	if got.status != 400 || !strings.Contains(got.body, `id="e-file"`) || !strings.Contains(got.body, "Not a valid offline file") {
		t.Fatalf("a file that is no request: %d\n%s", got.status, got.body)
	}

	// The proxy server is listed with its columns (INST-1), used offline.
	instWaitFor(t, p, servers, "px-zurich").Want(200, "Server name", "License key", "Site code", "Site description", "Offline use",
		"Max managed computers", "Registered computers", "ZRH", "Zurich office", ">yes<")
	if strings.Contains(p.HTML, "Farm name") {
		t.Error("INST-1: the proxy servers list shows a farm's column")
	}
	// Its details: a proxy server's facts, no usage reported yet.
	id := instRows(p)[0]
	p.Get("/installations/"+id).Want(200, "Proxy server px-zurich", "Site code", "Offline use</dt><dd>yes", "No usage reported yet.")
}
