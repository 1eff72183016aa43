package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"seatledger/infra/httpapi"
	"seatledger/infra/httpapi/openapitest"
	"seatledger/infra/sqldb/sqldbtest"
)

// fuzzServer boots the real ledgerd on a SQLite file with the sweep's
// fixture, once per fuzzing process.
func fuzzServer(f *testing.F) (*Main, sweepFixture, apiDoc) {
	m, _ := peopleServerWith(f, sqldbtest.SQLite(f), func(m *Main) { m.Limits = &httpapi.Limits{} })
	return m, sweepSetUp(f, m), fetchOpenAPI(f, m)
}

// fuzzSend sends one request and fails t on a server error or on a
// refusal that is not problem JSON. A request the client cannot send
// (a header net/http refuses) proves nothing and is skipped.
func fuzzSend(t *testing.T, c *client, method, path, contentType string, body []byte, header http.Header) {
	req, err := http.NewRequestWithContext(t.Context(), method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.bearer != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	openapitest.MarkInvalid(req.Header, "fuzzed")
	resp, err := c.http.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "invalid header") || strings.Contains(err.Error(), "invalid URL") {
			return
		}
		t.Fatalf("%s %s: %v", method, path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if resp.StatusCode >= 500 || resp.StatusCode >= 400 && ct != "application/problem+json" {
		t.Fatalf("%s %s with %q: %d %s %.300s", method, path, body, resp.StatusCode, ct, raw)
	}
}

// FuzzAPIRequestBody sends fuzzed JSON bodies to every operation of the
// served openapi.json that takes one, through the real handler on a real
// store, as the operation's documented caller (rule X-7, issue 16): no
// body may cause a 5xx, and every refusal is problem JSON. The first byte
// picks the operation, so every body type is fuzzed by one target.
func FuzzAPIRequestBody(f *testing.F) {
	m, fx, doc := fuzzServer(f)
	_ = m
	var ops []apiOperation
	for _, op := range doc.operations() {
		if _, ok := op.bodies["application/json"]; ok {
			ops = append(ops, op)
		}
	}
	for i, op := range ops {
		base := doc.jsonBase(op, fx)
		f.Add(uint8(i), base)
		f.Add(uint8(i), []byte(`null`))
		for _, c := range doc.jsonCases(op, fx, "", base)[:8] {
			f.Add(uint8(i), c.body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		op := ops[int(which)%len(ops)]
		path := op.path
		for _, p := range op.params {
			if p.In == "path" {
				path = strings.ReplaceAll(path, "{"+p.Name+"}", fx.ids[p.Name])
			}
		}
		fuzzSend(t, fx.caller(op), op.method, path, "application/json", body, nil)
	})
}

// FuzzInstallationCredential presents fuzzed credentials, as anything on
// the network may, to the installation endpoints through the real handler
// (ACT-1, issue 16): never a 5xx, every refusal problem JSON.
func FuzzInstallationCredential(f *testing.F) {
	m, fx, _ := fuzzServer(f)
	_ = m
	good := fx.callers["installationCredential"].bearer
	for _, seed := range []string{good, good[:len(good)-1], good + "x", "sli_", "sli_x.1.y", "sli_00000000-0000-0000-0000-000000000000.1.abc",
		"sli_" + strings.Repeat("a", 500), "slt_x", "Bearer", strings.ReplaceAll(good, ".1.", ".99999999999999999999.")} {
		f.Add(seed)
	}
	anonymous := fx.callers[""]
	f.Fuzz(func(t *testing.T, credential string) {
		h := http.Header{"Authorization": {"Bearer " + credential}}
		fuzzSend(t, anonymous, "GET", "/v1/installation/license", "", nil, h)
		fuzzSend(t, anonymous, "POST", "/v1/installation/usage", "application/json", []byte(`{"seats":1}`), h)
	})
}
