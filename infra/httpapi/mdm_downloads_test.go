package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/licensekey"
	"seatledger/domain/mdm"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/release"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/infra/clock"
	"seatledger/infra/commandstest"
	"seatledger/infra/keyring"
	"seatledger/infra/mdmca"
	"seatledger/infra/projection"
	"seatledger/infra/session"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
	"seatledger/projections"
	"seatledger/queries"
)

// mdmDownloadsRouter mounts the MDM and downloads handlers as the lead is
// to mount them, behind a stand-in for authentication that takes the
// actor from X-Test-Actor ("person:ada", "back_office:x"). It returns the
// router, the handler, and a function that brings the read models up to
// the log.
func mdmDownloadsRouter(t *testing.T) (http.Handler, *commands.Set, func()) {
	t.Helper()
	ctx := context.Background()
	target := sqldbtest.SQLite(t)
	db := sqldbtest.Open(t, target)
	clk := clock.NewSimulated(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, err := storage.OpenStore(ctx, db, storage.Options{Database: target, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := event.NewRegistry()
	for _, register := range []func(*event.Registry){account.Register, person.Register, product.Register, subscription.Register,
		licensekey.Register, mdm.Register, release.Register} {
		register(reg)
	}
	ca, err := mdmca.Generate(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := keyring.New([]byte("fedcba9876543210fedcba9876543210"))
	h := commandstest.New(t, commands.Config{Store: store, Registry: reg, Clock: clk, Keys: keys, CA: ca, Entitlements: queries.Entitlements{DB: db}})
	rt, err := projection.New(ctx, projection.Config{DB: db, Log: store, Projections: []projections.Projection{projections.Licenses{}, projections.Downloads{}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sync := func() {
		t.Helper()
		for _, name := range []string{"licenses", "downloads"} {
			if err := rt.Rebuild(ctx, name, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, _ := newTestServer(t, Config{People: &PeopleConfig{Commands: h, Reads: db, Sessions: &session.Store{}, TermsVersion: "test"}})
	r := supportRouter(s)
	return r, h, sync
}

func jsonBody(t *testing.T, v any) *strings.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

// Rules MISC-1, MISC-2 over HTTP: an admin uploads a CSR and gets the
// certificate and the CA certificate (201); a malformed CSR is a 400
// invalid-csr naming the reason; a member is refused (403 forbidden);
// an account without a managed-computers subscription 403 no-entitlement.
// The back office publishes releases; a member lists the downloads of
// the account's products with the version selector, newest first.
func TestMDM_and_downloads_handlers_MISC1_MISC2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	router, h, sync := mdmDownloadsRouter(t)
	bo := commands.Meta{Actor: staff.AdminToken}
	ada := commands.Meta{Actor: event.Actor{Kind: event.ActorPerson, ID: "ada"}}
	acme := account.Company{Name: "Acme GmbH", Country: "DE", ZIP: "8200", Phone: "+41 52 672 20 30"}
	for _, p := range []product.Defined{
		{ProductID: "pmm", Name: "Mac Management", Model: product.ManagedComputers, MajorVersion: 8},
		{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19},
	} {
		if _, err := h.Orders.DefineProduct(ctx, bo, p); err != nil {
			t.Fatal(err)
		}
	}
	for acc, prod := range map[string]string{"acc-pmm": "pmm", "acc-ras": "ras"} {
		p, err := h.Orders.Purchase(ctx, bo, subscription.Order{ID: "ord-" + acc, ProductID: prod, Seats: 5, Period: subscription.Year,
			Channel: subscription.Online, SupportPlan: subscription.Standard})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.CreateBusinessAccount(ctx, ada, commands.CreateBusinessAccount{AccountID: acc, Company: acme}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Subscriptions.RegisterKey(ctx, ada, commands.RegisterKey{Key: p.Key, AccountID: acc}); err != nil {
			t.Fatal(err)
		}
	}
	sync()

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "mdm.acme.example"}}, key)
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	asAda := []string{"X-Test-Actor", "person:ada", "Content-Type", "application/json"}

	w := do(t, router, http.MethodPost, "/v1/accounts/acc-pmm/mdm/certificates", jsonBody(t, map[string]string{"csr": csr}), asAda...)
	if w.Code != http.StatusCreated {
		t.Fatalf("issue: %d %s", w.Code, w.Body)
	}
	var issued struct {
		Serial        string `json:"serial"`
		Certificate   string `json:"certificate"`
		CACertificate string `json:"ca_certificate"`
		Position      uint64 `json:"position"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &issued); err != nil || issued.Serial == "" || issued.Position == 0 ||
		!strings.HasPrefix(issued.Certificate, "-----BEGIN CERTIFICATE-----") || !strings.HasPrefix(issued.CACertificate, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("issued %+v, %v", issued, err)
	}
	w = do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/mdm/certificates", nil, asAda...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), issued.Serial) || strings.Contains(w.Body.String(), "BEGIN") {
		t.Errorf("list: %d %s", w.Code, w.Body)
	}
	for name, c := range map[string]struct {
		path, csr, actor string
		status           int
		typ, detail      string
	}{
		"malformed CSR":   {"/v1/accounts/acc-pmm/mdm/certificates", "not a csr", "person:ada", 400, "invalid-csr", "not PEM"},
		"no CSR":          {"/v1/accounts/acc-pmm/mdm/certificates", "", "person:ada", 400, "invalid-csr", "csr is required"},
		"a stranger":      {"/v1/accounts/acc-pmm/mdm/certificates", csr, "person:eve", 403, "forbidden", ""},
		"concurrent only": {"/v1/accounts/acc-ras/mdm/certificates", csr, "person:ada", 403, "no-entitlement", "managed-computers"},
	} {
		header := []string{"X-Test-Actor", c.actor, "Content-Type", "application/json"}
		if c.typ == "invalid-csr" {
			header = append(header, badInput...)
		}
		w := do(t, router, http.MethodPost, c.path, jsonBody(t, map[string]string{"csr": c.csr}), header...)
		p := problemOf(t, w)
		if w.Code != c.status || p.Type != ProblemTypeBase+c.typ || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %d %s: %s", name, w.Code, p.Type, p.Detail)
		}
		if c.typ == "invalid-csr" && (len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != "csr") {
			t.Errorf("%s: invalid params %+v", name, p.InvalidParams)
		}
	}

	// Downloads.
	asBO := []string{"X-Test-Actor", "back_office:admin-token", "Content-Type", "application/json"}
	for _, v := range []string{"8.9", "8.10", "8.2"} {
		body := jsonBody(t, map[string]any{"notes": "v" + v, "files": []map[string]any{{"name": "pmm.msi", "kind": "installer", "size": 10,
			"sha256": strings.Repeat("ab", 32), "url": "https://dl.example.com/" + v + "/pmm.msi"}}})
		if w := do(t, router, http.MethodPut, "/v1/products/pmm/releases/"+v, body, asBO...); w.Code != http.StatusOK {
			t.Fatalf("publish %s: %d %s", v, w.Code, w.Body)
		}
	}
	changed := jsonBody(t, map[string]any{"notes": "other", "files": []map[string]any{{"name": "pmm.msi", "kind": "installer", "size": 10,
		"sha256": strings.Repeat("ab", 32), "url": "https://dl.example.com/x.msi"}}})
	if w := do(t, router, http.MethodPut, "/v1/products/pmm/releases/8.9", changed, asBO...); problemOf(t, w).Type != ProblemReleaseImmutable.URI() {
		t.Errorf("republish with other contents: %d %s", w.Code, w.Body)
	}
	changed = jsonBody(t, map[string]any{"notes": "other", "files": []map[string]any{{"name": "pmm.msi", "kind": "installer", "size": 10,
		"sha256": strings.Repeat("ab", 32), "url": "https://dl.example.com/x.msi"}}})
	if w := do(t, router, http.MethodPut, "/v1/products/pmm/releases/8.11", changed, asAda...); w.Code != http.StatusForbidden {
		t.Errorf("a person publishing: %d", w.Code)
	}
	sync()
	w = do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/downloads", nil, asAda...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"latest_version":"8.10"`) {
		t.Errorf("downloads: %d %s", w.Code, w.Body)
	}
	var selector struct {
		Versions []struct {
			Version string `json:"version"`
		} `json:"versions"`
		Version string                `json:"version"`
		Files   []queries.ReleaseFile `json:"files"`
	}
	w = do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/downloads/pmm", nil, asAda...)
	if err := json.Unmarshal(w.Body.Bytes(), &selector); err != nil || w.Code != http.StatusOK || len(selector.Versions) != 3 ||
		selector.Versions[0].Version != "8.10" || selector.Versions[2].Version != "8.2" || selector.Version != "8.10" ||
		len(selector.Files) != 1 || selector.Files[0].URL != "https://dl.example.com/8.10/pmm.msi" {
		t.Errorf("selector: %d %s", w.Code, w.Body)
	}
	w = do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/downloads/pmm?version=8.2", nil, asAda...)
	if !strings.Contains(w.Body.String(), "https://dl.example.com/8.2/pmm.msi") {
		t.Errorf("selecting 8.2: %d %s", w.Code, w.Body)
	}
	if w := do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/downloads/pmm/8.9", nil, asAda...); w.Code != http.StatusOK ||
		!strings.Contains(w.Body.String(), "https://dl.example.com/8.9/pmm.msi") {
		t.Errorf("files of 8.9: %d %s", w.Code, w.Body)
	}
	if w := do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/downloads/pmm/7", nil, asAda...); problemOf(t, w).Type != ProblemNotFound.URI() {
		t.Errorf("files of 7: %d %s", w.Code, w.Body)
	}
	if w := do(t, router, http.MethodGet, "/v1/accounts/acc-ras/downloads/pmm", nil, asAda...); problemOf(t, w).Type != ProblemNoEntitlement.URI() {
		t.Errorf("an account without pmm: %d %s", w.Code, w.Body)
	}
	if w := do(t, router, http.MethodGet, "/v1/accounts/acc-pmm/downloads/pmm", nil, "X-Test-Actor", "person:eve"); w.Code != http.StatusForbidden {
		t.Errorf("a stranger: %d %s", w.Code, w.Body)
	}
}
