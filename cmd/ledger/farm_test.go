package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"seatledger/infra/farmclient"
	"seatledger/infra/httpapi"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/logtest"
)

// lockedBuffer collects a server's log while the test reads it.
type lockedBuffer = logtest.Buffer

// startLedgerd builds and starts the real ledgerd on a fresh SQLite file
// and the real clock, and returns its base URL; it is stopped (SIGTERM)
// when the test ends.
func startLedgerd(t *testing.T) string {
	t.Helper()
	return startLedgerdIn(t, t.TempDir())
}

// startLedgerdIn is startLedgerd in dir, its SQLite file data/ledger.db,
// with the settings env (KEY=value) added.
func startLedgerdIn(t *testing.T, dir string, env ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs ledgerd")
	}
	bin := filepath.Join(dir, "ledgerd")
	if out, err := exec.Command("go", "build", "-o", bin, "seatledger/cmd/ledgerd").CombinedOutput(); err != nil {
		t.Fatalf("go build ledgerd: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir // anything relative lands in the test's directory
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEDGER_") { // nothing of a developer's own ledger
			cmd.Env = append(cmd.Env, kv)
		}
	}
	data := filepath.Join(dir, "data")
	cmd.Env = append(cmd.Env, "LEDGER_ADDR=127.0.0.1:0", "LEDGER_ADMIN_TOKEN="+adminToken,
		"LEDGER_DATABASE_URL="+filepath.Join(data, "ledger.db"), "LEDGER_MAIL_DIR="+filepath.Join(data, "mail"),
		"LEDGER_KEYRING_FILE="+filepath.Join(data, "keyring.secret"), "LEDGER_OFFLINE_KEY="+filepath.Join(data, "offline.key"),
		"LEDGER_MDM_CA_CERT="+filepath.Join(data, "mdm-ca.crt"), "LEDGER_MDM_CA_KEY="+filepath.Join(data, "mdm-ca.key"))
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	lines := bufio.NewScanner(stderr)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	addr := ""
	for addr == "" && lines.Scan() {
		logs.Write(append(lines.Bytes(), '\n'))
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "listening" {
			addr = l.Addr
		}
	}
	drained := make(chan struct{})
	go func() { // keep reading, or the server blocks on a full pipe
		defer close(drained)
		for lines.Scan() {
			logs.Write(append(lines.Bytes(), '\n'))
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { <-drained; done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("ledgerd log:\n%s", logs)
		}
	})
	if addr == "" {
		t.Fatalf("ledgerd did not start:\n%s", logs)
	}
	return validatingProxy(t, "http://"+addr)
}

// validatingProxy serves base through a reverse proxy that validates
// every exchange against the OpenAPI document base serves (issue 19), and
// returns the proxy's URL; the mismatches fail t when it ends.
func validatingProxy(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d %v", resp.StatusCode, err)
	}
	v, err := openapitest.Load(doc)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	report := openapitest.Collect(t)
	proxy := httptest.NewServer(v.Handler(httputil.NewSingleHostReverseProxy(target), report))
	t.Cleanup(proxy.Close)
	return proxy.URL
}

// httpCaller calls the API as the back office or a person.
type httpCaller struct {
	t      *testing.T
	base   string
	bearer string
	// minPosition, if set, is sent as X-Ledger-Min-Position: the reads
	// wait until the read models have applied the caller's last write.
	minPosition string
}

// call sends body (JSON, or raw bytes) and fails the test unless the
// answer's status is want; it returns the answer's body.
func (c httpCaller) call(want int, method, path string, body any) []byte {
	c.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "text/plain"
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.minPosition != "" {
		req.Header.Set("X-Ledger-Min-Position", c.minPosition)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return raw
}

// json calls and decodes a JSON answer.
func (c httpCaller) json(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	var v map[string]any
	if err := json.Unmarshal(c.call(want, method, path, body), &v); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return v
}

// vendorAndCustomer sets up what an installation needs over HTTP: the
// products ras (concurrent users) and mdm (managed computers), purchases,
// and a person whose business account registers every key. It returns the
// keys by order ID, the account and the person.
func vendorAndCustomer(t *testing.T, base string, orders map[string]string) (map[string]string, string, httpCaller) {
	t.Helper()
	office := httpCaller{t: t, base: base, bearer: adminToken}
	office.call(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	office.call(200, "PUT", "/v1/products/mdm", map[string]any{"name": "Mobile Device Management", "model": "managed_computers",
		"trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	keys := map[string]string{}
	for id, spec := range orders {
		product, seats, _ := strings.Cut(spec, ":")
		keys[id] = office.json(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": id, "product_id": product,
			"seats": json.Number(seats), "period": "1y", "channel": "online", "support_plan": "standard"})["key"].(string)
	}

	person := httpCaller{t: t, base: base}
	person.call(201, "POST", "/v1/signup", map[string]any{"first_name": "Ada", "last_name": "Tester", "email": "ada@example.com",
		"password": "correct horse battery", "accept_terms": true})
	// A token, not a session: the session's cookie would need a jar.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/v1/session",
		strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("sign-in set no cookie")
	}
	req, _ = http.NewRequestWithContext(t.Context(), "POST", base+"/v1/me/tokens", strings.NewReader(`{"name":"farm e2e"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(cookies[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("token: %v %v", resp, err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	person.bearer = tok.Token

	account := ""
	for id, key := range keys {
		body, status := map[string]any{"key": key, "account_id": account}, 200
		if account == "" { // the first key creates the business account
			body, status = map[string]any{"key": key, "company": map[string]any{"name": "Acme GmbH", "country": "DE", "zip": "8200",
				"phone": "+41 52 672 20 30"}}, 201
		}
		reg := person.json(status, "POST", "/v1/keys/register", body)
		if p, ok := reg["position"].(float64); ok { // the reads that follow see the registration
			person.minPosition = strconv.FormatInt(int64(p), 10)
		}
		if account == "" {
			account = reg["account_id"].(string)
		}
		if account == "" {
			t.Fatalf("order %s registered to no account", id)
		}
	}
	return keys, account, person
}

// wantLines fails unless out holds every line.
func wantLines(t *testing.T, what, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains("\n"+out, "\n"+l+"\n") {
			t.Errorf("%s: no line %q in:\n%s", what, l, out)
		}
	}
}

// ok runs the CLI and fails the test unless it succeeds.
func ok(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, env, args...)
	if code != exitOK {
		t.Fatalf("ledger %s: exit %d, stderr %q, stdout %q", strings.Join(args, " "), code, errOut, out)
	}
	return out
}

// refused runs the CLI and fails the test unless it fails (exit 1) with
// one line on stderr that holds want.
func refused(t *testing.T, env map[string]string, want string, args ...string) {
	t.Helper()
	code, _, errOut := runCLI(t, env, args...)
	if code != exitFailure || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
		t.Errorf("ledger %s: exit %d, stderr %q; want exit 1 and one line with %q", strings.Join(args, " "), code, errOut, want)
	}
}

// The installation's online and offline journeys against the real
// ledgerd: online activation, usage reports (retried with the same
// idempotency key), refresh, a second server refused the key while the
// first holds it, online deactivation releasing it, enrollment of a proxy
// server up to its limit, and the offline round trip — activation,
// refresh and deactivation files uploaded by the account's admin and
// imported once (rules ACT-1, ACT-2, ACT-3, ACT-4, ACT-5, ACT-6, ACT-8,
// KEY-8, USE-1, USE-6, X-4).
func TestFarm_online_and_offline_journeys_against_ledgerd_ACT1_ACT2_ACT4_ACT5_ACT6_ACT8_KEY8_USE1_USE6(t *testing.T) {
	t.Parallel()
	base := startLedgerd(t)
	keys, account, admin := vendorAndCustomer(t, base, map[string]string{"farm-1": "ras:10", "farm-2": "ras:4", "proxy-1": "mdm:3"})
	dir := t.TempDir()
	env := map[string]string{"LEDGER_URL": base}
	s1, s2, px, off := filepath.Join(dir, "s1.json"), filepath.Join(dir, "s2.json"), filepath.Join(dir, "px.json"), filepath.Join(dir, "off.json")
	k1, k2 := keys["farm-1"], keys["farm-2"]
	hint1 := k1[strings.LastIndexByte(k1, '-')+1:]

	// ACT-1, ACT-4: online activation prints the license.
	out := ok(t, env, "farm", "activate", "--state", s1, "--key", k1, "--server-id", "srv-1", "--farm-name", "Main", "--app-version", "19.2")
	wantLines(t, "activate", out, "status: active", "key: …-"+hint1, "seats: 10", "used: 0", "remaining: 10")
	st, err := farmclient.LoadState(s1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Credential, "sli_") || st.Server != base || st.PublicKey == "" {
		t.Fatalf("state after activation: server %q, key pinned %v, credential set %v", st.Server, st.PublicKey != "", st.Credential != "")
	}
	if fi, _ := os.Stat(s1); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", fi.Mode().Perm())
	}
	out = ok(t, env, "farm", "show", "--state", s1)
	wantLines(t, "show", out, "installation: "+st.InstallationID, "status: active", "credential: "+st.MaskedCredential(), "server id: srv-1")
	if strings.Contains(out, st.Credential) {
		t.Error("show prints the credential")
	}

	// USE-1, X-4: reports; a retry under the same idempotency key counts once.
	out = ok(t, env, "farm", "report", "--state", s1, "--seats", "3")
	wantLines(t, "report", out, "status: active", "seats: 3", "quota: 10", "over quota: no")
	var first, again map[string]any
	_ = json.Unmarshal([]byte(ok(t, env, "farm", "report", "--state", s1, "--seats", "4", "--idempotency-key", "retry-1", "--json")), &first)
	_ = json.Unmarshal([]byte(ok(t, env, "farm", "report", "--state", s1, "--seats", "4", "--idempotency-key", "retry-1", "--json")), &again)
	if first["seats"] != 4.0 || first["idempotency_key"] != "retry-1" || first["position"] != again["position"] {
		t.Errorf("a retried report: %v, then %v", first, again)
	}
	conns := filepath.Join(dir, "conns.json")
	_ = os.WriteFile(conns, []byte(`[{"user":"alice","type":"published_app","host":"h1"},{"user":"alice","type":"published_desktop","host":"h2"},
		{"user":"bob","type":"rdp_app","host":"h1"},{"user":"root","type":"published_desktop","admin":true,"host":"h1"}]`), 0o600)
	out = ok(t, env, "farm", "report", "--state", s1, "--connections", conns)
	wantLines(t, "report connections", out, "seats: 2", "peak: 4")

	// ACT-5: refresh.
	out = ok(t, env, "farm", "refresh", "--state", s1)
	wantLines(t, "refresh", out, "status: active", "seats: 10", "used: 2", "remaining: 8")

	// KEY-8: the key activates one installation at a time.
	refused(t, env, "key-in-use", "farm", "activate", "--state", s2, "--key", k1, "--server-id", "srv-2", "--farm-name", "Second", "--app-version", "19.2")
	// USE-6: enrollment is for proxy servers.
	refused(t, env, "enrollment is for proxy servers", "farm", "enroll", "--state", s1, "--computers", "1")

	// ACT-6: online deactivation releases the key at once; ACT-8: a
	// deactivated installation reports nothing.
	out = ok(t, env, "farm", "deactivate", "--state", s1)
	wantLines(t, "deactivate", out, "status: deactivated")
	refused(t, env, "is deactivated", "farm", "report", "--state", s1, "--seats", "1")
	out = ok(t, env, "farm", "activate", "--state", s2, "--key", k1, "--server-id", "srv-2", "--farm-name", "Second", "--app-version", "19.2")
	wantLines(t, "activate on the second server", out, "status: active")

	// USE-6: a proxy server enrolls computers up to its limit.
	ok(t, env, "farm", "activate", "--state", px, "--kind", "proxy_server", "--key", keys["proxy-1"], "--server-name", "px1",
		"--site-code", "ZRH", "--site-description", "Zurich", "--app-version", "19.2")
	wantLines(t, "enroll", ok(t, env, "farm", "enroll", "--state", px, "--computers", "3"), "allowed: yes", "limit: 3")
	ok(t, env, "farm", "report", "--state", px, "--seats", "3")
	refused(t, env, "over-limit", "farm", "enroll", "--state", px, "--computers", "1")

	// ACT-2: an installation that never goes online. Its admin uploads the
	// request; offline activation is off until the back office enables it (ACT-3).
	pub := httpCaller{t: t, base: base}.json(200, "GET", "/v1/offline/public-key", nil)["public_key"].(string)
	reqFile, ansFile := filepath.Join(dir, "request.txt"), filepath.Join(dir, "answer.txt")
	offEnv := map[string]string{} // no server at all
	out = ok(t, offEnv, "farm", "request", "--state", off, "--kind", "activation", "--key", k2, "--server-id", "srv-off",
		"--farm-name", "Offline", "--app-version", "19.2", "--public-key", pub, "--out", reqFile)
	if !strings.Contains(out, "wrote activation-request for farm/srv-off to "+reqFile) {
		t.Errorf("request: %q", out)
	}
	request, _ := os.ReadFile(reqFile)
	upload := "/v1/accounts/" + account + "/offline-requests"
	admin.call(403, "POST", upload, request)
	httpCaller{t: t, base: base, bearer: adminToken}.call(200, "PUT", "/v1/accounts/"+account+"/offline-activation", map[string]any{"enabled": true, "reason": "air-gapped site"})
	_ = os.WriteFile(ansFile, admin.call(200, "POST", upload, request), 0o600)
	out = ok(t, offEnv, "farm", "import", "--state", off, ansFile)
	wantLines(t, "import activation", out, "imported: activation", "status: active", "seats: 4", "key: …-"+k2[strings.LastIndexByte(k2, '-')+1:])
	refused(t, offEnv, "replayed", "farm", "import", "--state", off, ansFile)
	refused(t, offEnv, "no offline request is pending", "farm", "import", "--state", s2, ansFile)

	// ACT-5 offline: a refresh file and its subscription information.
	ok(t, offEnv, "farm", "request", "--state", off, "--kind", "refresh", "--out", reqFile)
	request, _ = os.ReadFile(reqFile)
	_ = os.WriteFile(ansFile, admin.call(200, "POST", upload, request), 0o600)
	wantLines(t, "import refresh", ok(t, offEnv, "farm", "import", "--state", off, ansFile), "imported: subscription-information", "status: active")

	// ACT-6 offline: deactivated at once; the key is released only when
	// the file is uploaded.
	out = ok(t, offEnv, "farm", "request", "--state", off, "--kind", "deactivation", "--out", reqFile)
	wantLines(t, "deactivation request", out, "status: deactivated (the ledger releases the key when the file is uploaded)")
	refused(t, offEnv, "is deactivated", "farm", "refresh", "--state", off)
	s3 := filepath.Join(dir, "s3.json")
	online := []string{"farm", "activate", "--state", s3, "--key", k2, "--server-id", "srv-3", "--farm-name", "Third", "--app-version", "19.2"}
	refused(t, env, "key-in-use", online...)
	request, _ = os.ReadFile(reqFile)
	_ = os.WriteFile(ansFile, admin.call(200, "POST", upload, request), 0o600)
	wantLines(t, "import deactivation", ok(t, offEnv, "farm", "import", "--state", off, ansFile), "imported: deactivation", "status: deactivated")
	wantLines(t, "activation after the offline deactivation", ok(t, env, online...), "status: active")
	if st, _ := farmclient.LoadState(off); st.Credential != "" || st.Pending != nil {
		t.Errorf("after the deactivation: credential kept %v, pending %+v", st.Credential != "", st.Pending)
	}
}

// A trial needs no key (SUB-8).
func TestFarm_trial_activation_SUB8(t *testing.T) {
	t.Parallel()
	base := startLedgerd(t)
	httpCaller{t: t, base: base, bearer: adminToken}.call(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server",
		"model": "concurrent_users", "trial": map[string]any{"days": 30, "seats": 5}, "major_version": 19})
	state := filepath.Join(t.TempDir(), "trial.json")
	out := ok(t, nil, "farm", "activate", "--server", base, "--state", state, "--trial", "--product", "ras",
		"--server-id", "srv-t", "--farm-name", "Trial", "--app-version", "19.2")
	wantLines(t, "trial", out, "status: active", "key: none (trial)", "seats: 5")
	var v map[string]any
	if err := json.Unmarshal([]byte(ok(t, nil, "farm", "show", "--state", state, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if c, _ := v["credential"].(string); !strings.HasPrefix(c, "sli_…") || len(c) > 12 {
		t.Errorf("show --json credential %q", c)
	}
	// The state remembers the server: no --server needed any more.
	wantLines(t, "report", ok(t, nil, "farm", "report", "--state", state, "--seats", "6"), "over quota: yes")
}

func TestFarm_usage_errors_exit_2_with_one_line(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conns := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(conns, []byte(`{"users": 3}`), 0o600)
	st := filepath.Join(dir, "st.json")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"farm"}, "ledger: ledger farm needs a subcommand: activate, deactivate, enroll, import, refresh, report, request, show"},
		{"no key", []string{"farm", "activate", "--server-id", "s"}, "ledger: --key is required"},
		{"key and trial", []string{"farm", "activate", "--key", "K", "--trial"}, "ledger: --key and --trial exclude each other"},
		{"missing identity", []string{"farm", "activate", "--key", "K", "--server-id", "s"}, "ledger: a farm needs --farm-name, --app-version"},
		{"bad kind", []string{"farm", "activate", "--key", "K", "--kind", "desktop"}, `ledger: --kind: "desktop" is not farm or proxy_server`},
		{"bad server", []string{"farm", "activate", "--key", "K", "--server-id", "s", "--farm-name", "f", "--app-version", "1", "--server", "localhost:8080"},
			`ledger: --server: "localhost:8080" is not an http:// or https:// URL`},
		{"seats and connections", []string{"farm", "report", "--seats", "1", "--connections", conns}, "ledger: give --seats N or --connections FILE.json"},
		{"bad connections", []string{"farm", "report", "--connections", conns}, "ledger: --connections: "},
		{"bad observed-at", []string{"farm", "report", "--seats", "1", "--observed-at", "yesterday"}, `ledger: --observed-at: "yesterday" is not an RFC 3339 time`},
		{"no computers", []string{"farm", "enroll"}, "ledger: --computers: enroll at least 1 computer"},
		{"bad request kind", []string{"farm", "request", "--kind", "renewal", "--out", "x"}, `ledger: --kind: "renewal" is not activation, refresh or deactivation`},
		{"activation without key", []string{"farm", "request", "--kind", "activation", "--out", "x"}, "ledger: --kind activation needs --key"},
		{"no public key", []string{"farm", "request", "--kind", "activation", "--key", "K", "--out", "x"}, "ledger: the ledger's public key is not pinned"},
		{"bad public key", []string{"farm", "request", "--kind", "activation", "--key", "K", "--out", "x", "--public-key", "abc"}, "ledger: --public-key: the ledger's public key is the base64 of 32 bytes"},
		{"import without file", []string{"farm", "import"}, "ledger: accepts 1 arg(s), received 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runCLI(t, nil, append(tc.args, "--state", st)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			wantOneLine(t, errOut, tc.want)
		})
	}
	if _, err := os.Stat(st); err == nil {
		t.Error("a refused command wrote the state file")
	}
}

func TestFarm_failures_exit_1_with_one_line(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.json")
	refused(t, nil, "no installation state at "+missing, "farm", "report", "--state", missing, "--seats", "1")
	refused(t, nil, "no installation state at "+missing, "farm", "show", "--state", missing)
	// A server that is not there: the network error, and nothing saved.
	refused(t, nil, "cannot reach the ledger at http://127.0.0.1:1", "farm", "activate", "--state", missing, "--server", "http://127.0.0.1:1",
		"--key", "K", "--server-id", "s", "--farm-name", "f", "--app-version", "1")
	if _, err := os.Stat(missing); err == nil {
		t.Error("a failed activation wrote the state")
	}
}

// The CLI quotes the ledger's refusal: its type, title and detail.
func TestFarm_refusals_quote_the_problem(t *testing.T) {
	t.Parallel()
	srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteProblem(w, r, httpapi.ProblemUnknownKey.New("no such key"))
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	state := filepath.Join(t.TempDir(), "s.json")
	refused(t, nil, "ledger: the ledger refused (404 unknown-key): Unknown license key: no such key", "farm", "activate", "--state", state, "--server", ts.URL,
		"--key", "K", "--server-id", "s", "--farm-name", "f", "--app-version", "1")
}
